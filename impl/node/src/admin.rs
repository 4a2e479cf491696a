//! The admin HTTP/JSON API that `gossipd` serves on a loopback address.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health` | `200 {"phase":"running"}`; `503` once leaving or stopped |
//! | `GET /members` | JSON array: `name`, `addr`, `generation`, `heartbeat`, `status`, `watermark`, `keys`, `is_self` |
//! | `GET /kv` | JSON object: node name → key → value (UTF-8 values as strings, others as `{"hex": ".."}`); tombstones omitted |
//! | `GET /kv/{node}/{key}` | the raw value (`application/octet-stream`), `404` if unknown or deleted |
//! | `PUT /kv/{key}` | body = value; `200 {"version":n}`, `400` if refused (limits, left), `503` if stopped |
//! | `DELETE /kv/{key}` | `200 {"version":n}` (same errors) |
//! | `POST /leave` | graceful leave (10 s timeout): `200 {"outcome":"acknowledged"\|"timed_out"}` |
//! | `GET /metrics` | Prometheus text format (see [`render_metrics`]) |
//! | `GET /stats` | the core's counters as JSON (`rejected` holds the drops per reason) |
//! | `GET /keys` | `{"keys":[{"fingerprint","primary"}], "public_key", "roster":{name: public key}}`: fingerprints only, never key material |
//! | `POST /keys` | body = a cluster key (64 hex digits or base64); installs it (not primary); `400` bad key, `409` full or no keyring |
//! | `PUT /keys/primary` | body = a fingerprint; makes that key primary; `404` unknown |
//! | `DELETE /keys/{fingerprint}` | uninstalls a key; `404` unknown, `409` if it is the primary |
//! | `PUT /roster/{name}` | body = a public key (64 hex digits); binds `name` to it; `400` bad key, `409` no roster |
//! | `DELETE /roster/{name}` | unbinds `name` |
//!
//! The JSON bodies are the types of [`api`]; [`client`] reads them.

pub mod api;
pub mod client;

use std::fmt::Write as _;
use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use gossip_core::Status;
use gossip_core::security::{self, ClusterKey, Fingerprint, KeyringError};

use crate::node::{NodeError, NodeHandle, NodeSnapshot, SecurityOp};
use gossip_sync::Phase;

/// The admin API's routes over `handle`.
pub fn router(handle: NodeHandle) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/members", get(members))
        .route("/kv", get(kv_all))
        .route("/kv/{node}/{key}", get(kv_get))
        .route("/kv/{key}", put(kv_put).delete(kv_delete))
        .route("/leave", post(leave))
        .route("/metrics", get(metrics))
        .route("/stats", get(stats))
        .route("/keys", get(keys_list).post(keys_add))
        .route("/keys/primary", put(keys_use))
        .route("/keys/{fingerprint}", delete(keys_remove))
        .route("/roster/{name}", put(roster_set).delete(roster_remove))
        .with_state(handle)
}

/// Serves the admin API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: NodeHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(handle))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn health(State(h): State<NodeHandle>) -> Response {
    let phase = h.phase();
    let code = if phase == Phase::Running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(api::Health { phase })).into_response()
}

async fn members(State(h): State<NodeHandle>) -> Response {
    Json(api::Member::all(&h.snapshot())).into_response()
}

async fn kv_all(State(h): State<NodeHandle>) -> Response {
    Json(api::kv(&h.snapshot())).into_response()
}

async fn kv_get(
    State(h): State<NodeHandle>,
    Path((node, key)): Path<(String, String)>,
) -> Response {
    match h.get(&node, &key) {
        Some(v) => ([(header::CONTENT_TYPE, "application/octet-stream")], v).into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

fn write_result(r: Result<u64, NodeError>) -> Response {
    match r {
        Ok(version) => Json(api::Written { version }).into_response(),
        Err(NodeError::Stopped) => {
            (StatusCode::SERVICE_UNAVAILABLE, "node stopped\n").into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

async fn kv_put(State(h): State<NodeHandle>, Path(key): Path<String>, body: Bytes) -> Response {
    write_result(h.set(key, body.to_vec()).await)
}

async fn kv_delete(State(h): State<NodeHandle>, Path(key): Path<String>) -> Response {
    write_result(h.delete(key).await)
}

async fn leave(State(h): State<NodeHandle>) -> Response {
    match h.leave(Duration::from_secs(10)).await {
        Ok(outcome) => Json(api::Left { outcome }).into_response(),
        Err(e) => (StatusCode::CONFLICT, format!("{e}\n")).into_response(),
    }
}

async fn stats(State(h): State<NodeHandle>) -> Response {
    Json(&h.snapshot().stats).into_response()
}

async fn keys_list(State(h): State<NodeHandle>) -> Response {
    Json(api::Keys::new(&h.snapshot())).into_response()
}

async fn security_op(h: &NodeHandle, op: SecurityOp) -> Response {
    match h.security(op).await {
        Ok(()) => Json(api::Keys::new(&h.snapshot())).into_response(),
        Err(NodeError::Keyring(e @ KeyringError::UnknownKey(_))) => {
            (StatusCode::NOT_FOUND, format!("{e}\n")).into_response()
        }
        Err(NodeError::Stopped) => {
            (StatusCode::SERVICE_UNAVAILABLE, "node stopped\n").into_response()
        }
        Err(e) => (StatusCode::CONFLICT, format!("{e}\n")).into_response(),
    }
}

fn bad_request(msg: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, format!("{msg}\n")).into_response()
}

async fn keys_add(State(h): State<NodeHandle>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad_request("the key must be text (hex or base64)");
    };
    match ClusterKey::parse(text) {
        Ok(k) => security_op(&h, SecurityOp::AddKey(k)).await,
        Err(e) => bad_request(e),
    }
}

fn parse_fingerprint(text: &[u8]) -> Option<Fingerprint> {
    std::str::from_utf8(text).ok().and_then(|t| t.parse().ok())
}

const BAD_FINGERPRINT: &str = "a fingerprint is 16 hex digits";

async fn keys_use(State(h): State<NodeHandle>, body: Bytes) -> Response {
    match parse_fingerprint(&body) {
        Some(fp) => security_op(&h, SecurityOp::UseKey(fp)).await,
        None => bad_request(BAD_FINGERPRINT),
    }
}

async fn keys_remove(State(h): State<NodeHandle>, Path(fp): Path<String>) -> Response {
    match parse_fingerprint(fp.as_bytes()) {
        Some(fp) => security_op(&h, SecurityOp::RemoveKey(fp)).await,
        None => bad_request(BAD_FINGERPRINT),
    }
}

async fn roster_set(
    State(h): State<NodeHandle>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let key = std::str::from_utf8(&body)
        .ok()
        .and_then(|t| security::parse_public_key(&name, t).ok());
    match key {
        Some(k) => security_op(&h, SecurityOp::SetSigner(name, k)).await,
        None => bad_request("a public key is 64 hex digits of an Ed25519 public key"),
    }
}

async fn roster_remove(State(h): State<NodeHandle>, Path(name): Path<String>) -> Response {
    security_op(&h, SecurityOp::RemoveSigner(name)).await
}

async fn metrics(State(h): State<NodeHandle>) -> Response {
    let snap = h.snapshot();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_metrics(&snap),
    )
        .into_response()
}

/// Renders a snapshot in the Prometheus text exposition format. The metric families are
/// listed in `docs/implementation.md` (section *Node*, *Metrics*).
pub fn render_metrics(snap: &NodeSnapshot) -> String {
    let mut m = String::new();
    let s = &snap.stats;
    let mut counter = |name: &str, help: &str, v: u64| {
        let _ = writeln!(m, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
    };
    counter(
        "gossip_datagrams_in_total",
        "Datagrams received and handed to the core (accepted or rejected).",
        s.datagrams_in,
    );
    counter(
        "gossip_bytes_in_total",
        "Bytes of those datagrams.",
        s.bytes_in,
    );
    counter(
        "gossip_datagrams_out_total",
        "Datagrams produced by the core for sending.",
        s.datagrams_out,
    );
    counter(
        "gossip_bytes_out_total",
        "Bytes of those datagrams.",
        s.bytes_out,
    );
    counter("gossip_rounds_total", "Gossip rounds started.", s.rounds);
    counter(
        "gossip_resets_sent_total",
        "Reset node deltas sent.",
        s.resets_sent,
    );
    counter(
        "gossip_resets_applied_total",
        "Reset node deltas applied.",
        s.resets_applied,
    );
    counter(
        "gossip_deltas_cut_total",
        "Deltas cut to fit the MTU.",
        s.deltas_cut,
    );
    counter(
        "gossip_gaps_total",
        "Node deltas ignored because of a version gap.",
        s.gaps,
    );
    counter(
        "gossip_zombies_ignored_total",
        "Node deltas about forgotten nodes ignored as stale.",
        s.zombies_ignored,
    );
    counter(
        "gossip_dropped_nodes_total",
        "New nodes dropped because of limits.max_nodes.",
        s.dropped_nodes,
    );
    counter(
        "gossip_dropped_updates_total",
        "Updates dropped because of limits.max_keys_per_node.",
        s.dropped_updates,
    );
    counter(
        "gossip_compressed_datagrams_sent_total",
        "Datagrams sent as compressed frames.",
        s.compressed_out,
    );
    counter(
        "gossip_compression_saved_bytes_total",
        "Bytes compression saved on the datagrams sent.",
        s.compression_saved_bytes,
    );
    counter(
        "gossip_compressed_datagrams_received_total",
        "Compressed frames received and accepted.",
        s.compressed_in,
    );
    counter(
        "gossip_send_errors_total",
        "Datagrams the socket failed to send (dropped).",
        snap.io.send_errors,
    );
    counter(
        "gossip_recv_errors_total",
        "Errors returned by the socket on receive.",
        snap.io.recv_errors,
    );

    let _ = writeln!(
        m,
        "# HELP gossip_messages_sent_total Gossip messages sent, by type.\n\
         # TYPE gossip_messages_sent_total counter"
    );
    for (t, v) in [
        ("syn", s.syns_sent),
        ("synack", s.synacks_sent),
        ("ack", s.acks_sent),
    ] {
        let _ = writeln!(m, "gossip_messages_sent_total{{type=\"{t}\"}} {v}");
    }

    let r = &s.rejected;
    let _ = writeln!(
        m,
        "# HELP gossip_datagrams_rejected_total Datagrams rejected by the core, by reason.\n\
         # TYPE gossip_datagrams_rejected_total counter"
    );
    for (reason, v) in [
        ("oversize", r.oversize),
        ("truncated", r.truncated),
        ("unknown_version", r.unknown_version),
        ("malformed", r.malformed),
        ("wrong_cluster", r.wrong_cluster),
        ("invalid", r.invalid),
        ("limit_exceeded", r.limit_exceeded),
        ("no_key", r.no_key),
        ("decrypt_failed", r.decrypt_failed),
        ("unencrypted", r.unencrypted),
        ("unsigned", r.unsigned),
        ("unknown_signer", r.unknown_signer),
        ("bad_signature", r.bad_signature),
        ("rate_limited", r.rate_limited),
    ] {
        let _ = writeln!(
            m,
            "gossip_datagrams_rejected_total{{reason=\"{reason}\"}} {v}"
        );
    }

    let _ = writeln!(
        m,
        "# HELP gossip_members Nodes in this node's view (itself included), by status.\n\
         # TYPE gossip_members gauge"
    );
    for st in Status::ALL {
        let n = snap.view.nodes.iter().filter(|n| n.status == st).count();
        let _ = writeln!(m, "gossip_members{{status=\"{}\"}} {n}", st.as_str());
    }
    let mut gauge = |name: &str, help: &str, v: String| {
        let _ = writeln!(m, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    };
    gauge(
        "gossip_forgotten_nodes",
        "Forgotten records held.",
        snap.view.forgotten.len().to_string(),
    );
    let me = snap.view.self_id.as_ref().and_then(|id| snap.view.node(id));
    gauge(
        "gossip_generation",
        "This run's generation.",
        me.map_or(0, |n| n.generation).to_string(),
    );
    gauge(
        "gossip_heartbeat",
        "This node's own heartbeat.",
        me.map_or(0, |n| n.heartbeat).to_string(),
    );
    gauge(
        "gossip_version",
        "This node's own latest version (its watermark).",
        me.map_or(0, |n| n.watermark).to_string(),
    );
    gauge(
        "gossip_keys_held",
        "Live keys held, all nodes together (tombstones excluded).",
        snap.view
            .nodes
            .iter()
            .map(|n| n.entries.values().filter(|e| e.value.is_some()).count())
            .sum::<usize>()
            .to_string(),
    );
    gauge(
        "gossip_max_heartbeat_age_seconds",
        "Over the peers this node sees as alive: the longest time since it last saw one's \
         heartbeat advance (0 with no peer). Bounds how stale this node's news of its live peers \
         is, dissemination delay plus up to one gossip interval; it does not measure how long a \
         write takes to spread.",
        format!(
            "{:.3}",
            snap.max_alive_heartbeat_age()
                .unwrap_or_default()
                .as_secs_f64()
        ),
    );
    gauge(
        "gossip_up",
        "1 while the node is running, 0 once it is leaving or stopped.",
        u8::from(snap.phase == Phase::Running).to_string(),
    );
    m
}
