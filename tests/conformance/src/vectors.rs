//! Test vectors (`docs/spec/test-vectors.md`): `tests/vectors/wire.json` (every message type and
//! encoding edge case as structured fields + hex, and receive cases with the typed rejection)
//! and `tests/vectors/deltas.json` (given a node's history, as conformance kit requests, and one
//! last request — typically a digest received — the exact datagrams the node must send).
//!
//! [`generate`] builds both from `gossip-core` (`gossip-vectors generate`); [`check_encoding`]
//! checks a codec against the encode vectors, and [`check_adapter`] ([`check_receive`] and
//! [`check_deltas`]) checks an implementation against the rest: in process (`gossip-core`) or
//! through any conformance kit adapter ([`Endpoint`]).

use gossip_core::wire::{
    self, Change, DeltaKind, Digest, DigestEntry, DigestRange, Envelope, Message, NodeDelta, Update,
};
use std::path::{Path, PathBuf};

use gossip_core::{Config, GossipMode, NodeId};
use serde::{Deserialize, Serialize};

use crate::driver::{Backend, Subprocess};
use crate::kit::{
    KIT_VERSION, KitConfig, KitNode, KitNodeId, Request, Response, from_hex, mode_name, parse_addr,
    some_option, to_hex,
};

/// The `format` of `wire.json`.
pub const WIRE_FORMAT: &str = "gossip-vectors/wire/1";
/// The `format` of `deltas.json`.
pub const DELTAS_FORMAT: &str = "gossip-vectors/deltas/1";

// ---------------------------------------------------------------------------------------------
// the structured (language-neutral) form of a datagram

/// A node id: name and `ip:port`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VId {
    /// Name.
    pub name: String,
    /// Address (`ip:port`, `[ipv6]:port`).
    pub addr: String,
}

/// A digest entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VDigestEntry {
    /// The node.
    pub node: VId,
    /// Generation.
    pub generation: u64,
    /// Heartbeat.
    pub heartbeat: u64,
    /// Watermark.
    pub watermark: u64,
}

/// A partial digest's range `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VRange {
    /// First id covered.
    pub start: VId,
    /// First id not covered.
    pub end: VId,
}

/// A digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VDigest {
    /// `null` for a complete digest.
    pub range: Option<VRange>,
    /// Entries.
    pub entries: Vec<VDigestEntry>,
}

/// A node delta's kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum VKind {
    /// `incremental { from }`.
    Incremental {
        /// Exclusive lower bound.
        from: u64,
    },
    /// `reset { gc_floor }`.
    Reset {
        /// The sender's gc_floor.
        gc_floor: u64,
    },
}

/// An update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VUpdate {
    /// Version.
    pub version: u64,
    /// `set`, `delete` or `leave`.
    pub op: String,
    /// Key (`set`, `delete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Value, hex (`set`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A node delta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VNodeDelta {
    /// The node.
    pub node: VId,
    /// Generation.
    pub generation: u64,
    /// Heartbeat.
    pub heartbeat: u64,
    /// Kind.
    pub kind: VKind,
    /// Updates.
    pub updates: Vec<VUpdate>,
    /// Watermark after.
    pub watermark_after: u64,
}

/// A datagram's content: cluster id and message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VMessage {
    /// Cluster id.
    pub cluster_id: String,
    /// `Syn`, `SynAck` or `Ack`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `push-pull`, `pull` or `push` (Syn only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The digest (Syn, SynAck; `null` when absent; omitted for Ack).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_option"
    )]
    pub digest: Option<Option<VDigest>>,
    /// The delta.
    pub delta: Vec<VNodeDelta>,
}

fn vid(id: &NodeId) -> VId {
    VId {
        name: id.name.clone(),
        addr: id.addr.to_string(),
    }
}

fn vdigest(d: &Digest) -> VDigest {
    VDigest {
        range: d.range.as_ref().map(|r| VRange {
            start: vid(&r.start),
            end: vid(&r.end),
        }),
        entries: d
            .entries
            .iter()
            .map(|e| VDigestEntry {
                node: vid(&e.node),
                generation: e.generation,
                heartbeat: e.heartbeat,
                watermark: e.watermark,
            })
            .collect(),
    }
}

fn vdelta(delta: &[NodeDelta]) -> Vec<VNodeDelta> {
    delta
        .iter()
        .map(|nd| VNodeDelta {
            node: vid(&nd.node),
            generation: nd.generation,
            heartbeat: nd.heartbeat,
            kind: match nd.kind {
                DeltaKind::Incremental { from } => VKind::Incremental { from },
                DeltaKind::Reset { gc_floor } => VKind::Reset { gc_floor },
            },
            updates: nd
                .updates
                .iter()
                .map(|u| match &u.change {
                    Change::Set { key, value } => VUpdate {
                        version: u.version,
                        op: "set".into(),
                        key: Some(key.clone()),
                        value: Some(to_hex(value)),
                    },
                    Change::Delete { key } => VUpdate {
                        version: u.version,
                        op: "delete".into(),
                        key: Some(key.clone()),
                        value: None,
                    },
                    Change::Leave => VUpdate {
                        version: u.version,
                        op: "leave".into(),
                        key: None,
                        value: None,
                    },
                })
                .collect(),
            watermark_after: nd.watermark_after,
        })
        .collect()
}

impl VMessage {
    /// The structured form of an envelope.
    pub fn from_envelope(env: &Envelope) -> VMessage {
        let (kind, mode, digest, delta) = match &env.message {
            Message::Syn {
                mode,
                digest,
                delta,
            } => (
                "Syn",
                Some(mode_name(*mode).to_owned()),
                Some(digest.as_ref().map(vdigest)),
                delta,
            ),
            Message::SynAck { digest, delta } => {
                ("SynAck", None, Some(digest.as_ref().map(vdigest)), delta)
            }
            Message::Ack { delta } => ("Ack", None, None, delta),
        };
        VMessage {
            cluster_id: env.cluster_id.clone(),
            kind: kind.to_owned(),
            mode,
            digest,
            delta: vdelta(delta),
        }
    }

    /// The envelope.
    pub fn to_envelope(&self) -> Result<Envelope, String> {
        let id = |v: &VId| -> Result<NodeId, String> {
            Ok(NodeId::new(v.name.clone(), parse_addr(&v.addr)?))
        };
        let digest = |d: &Option<Option<VDigest>>| -> Result<Option<Digest>, String> {
            let Some(Some(d)) = d else { return Ok(None) };
            Ok(Some(Digest {
                range: d
                    .range
                    .as_ref()
                    .map(|r| -> Result<DigestRange, String> {
                        Ok(DigestRange {
                            start: id(&r.start)?,
                            end: id(&r.end)?,
                        })
                    })
                    .transpose()?,
                entries: d
                    .entries
                    .iter()
                    .map(|e| {
                        Ok(DigestEntry {
                            node: id(&e.node)?,
                            generation: e.generation,
                            heartbeat: e.heartbeat,
                            watermark: e.watermark,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            }))
        };
        let mut delta = Vec::new();
        for nd in &self.delta {
            let mut updates = Vec::new();
            for u in &nd.updates {
                let key = || u.key.clone().ok_or("an update without key");
                let change = match u.op.as_str() {
                    "set" => Change::Set {
                        key: key()?,
                        value: from_hex(u.value.as_deref().ok_or("a set without value")?)?,
                    },
                    "delete" => Change::Delete { key: key()? },
                    "leave" => Change::Leave,
                    op => return Err(format!("unknown update op {op:?}")),
                };
                updates.push(Update {
                    sig: None,
                    version: u.version,
                    change,
                });
            }
            delta.push(NodeDelta {
                attestation: None,
                node: id(&nd.node)?,
                generation: nd.generation,
                heartbeat: nd.heartbeat,
                kind: match nd.kind {
                    VKind::Incremental { from } => DeltaKind::Incremental { from },
                    VKind::Reset { gc_floor } => DeltaKind::Reset { gc_floor },
                },
                updates,
                watermark_after: nd.watermark_after,
            });
        }
        let message = match self.kind.as_str() {
            "Syn" => Message::Syn {
                mode: match self.mode.as_deref() {
                    Some("push-pull") => GossipMode::PushPull,
                    Some("pull") => GossipMode::Pull,
                    Some("push") => GossipMode::Push,
                    m => return Err(format!("bad Syn mode {m:?}")),
                },
                digest: digest(&self.digest)?,
                delta,
            },
            "SynAck" => Message::SynAck {
                digest: digest(&self.digest)?,
                delta,
            },
            "Ack" => Message::Ack { delta },
            k => return Err(format!("unknown message type {k:?}")),
        };
        Ok(Envelope {
            cluster_id: self.cluster_id.clone(),
            message,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// the files

/// A valid datagram: its fields and its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodeVector {
    /// Identifier.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The fields.
    pub message: VMessage,
    /// The datagram (version byte included), lowercase hex.
    pub hex: String,
}

/// A datagram given to a fresh node: accepted, or rejected with a typed reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiveVector {
    /// Identifier.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The receiving node's configuration (a conformance kit `init` config).
    pub receiver: KitConfig,
    /// The sender's address.
    pub from: String,
    /// The datagram, hex.
    pub hex: String,
    /// `null`: accepted; else the rejection name (`Oversize`, `Truncated`, `UnknownVersion`,
    /// `Malformed`, `WrongCluster`, `Invalid`, `LimitExceeded`), and the view is unchanged.
    pub rejected: Option<String>,
}

/// `tests/vectors/wire.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireVectors {
    /// [`WIRE_FORMAT`].
    pub format: String,
    /// What the file is.
    pub description: String,
    /// Valid datagrams.
    pub encode: Vec<EncodeVector>,
    /// Receive cases.
    pub receive: Vec<ReceiveVector>,
}

/// A datagram a node must send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedSend {
    /// Destination.
    pub to: String,
    /// The exact datagram, hex.
    pub hex: String,
    /// Its fields (informative: `hex` is normative).
    pub message: VMessage,
}

/// Given a node's history and one last request, what it must send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaVector {
    /// Identifier.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Conformance kit requests: the first is `init`; the datagrams the node sends in answer to
    /// all but the last are not part of the vector.
    pub requests: Vec<Request>,
    /// The datagrams the node must send in answer to the last request, in order.
    pub expect: Vec<ExpectedSend>,
}

/// `tests/vectors/deltas.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaVectors {
    /// [`DELTAS_FORMAT`].
    pub format: String,
    /// What the file is.
    pub description: String,
    /// The vectors.
    pub vectors: Vec<DeltaVector>,
}

// ---------------------------------------------------------------------------------------------
// endpoints: what runs the requests

/// Something that answers conformance kit requests: the Rust adapter logic in process, or an
/// adapter process.
pub trait Endpoint {
    /// One request, one response.
    fn request(&mut self, req: &Request) -> Result<Response, String>;
}

impl Endpoint for KitNode {
    fn request(&mut self, req: &Request) -> Result<Response, String> {
        let r = self.handle(req.clone());
        if r.ok {
            Ok(r)
        } else {
            Err(r.error.unwrap_or_default())
        }
    }
}

impl Endpoint for Subprocess {
    fn request(&mut self, req: &Request) -> Result<Response, String> {
        Subprocess::request(self, req)
    }
}

// ---------------------------------------------------------------------------------------------
// checking

/// Checks the encode vectors against `gossip-core`'s encoder and decoder (in process): the
/// fields encode to exactly the bytes, and the bytes decode to exactly the fields. Returns
/// one line per failure.
pub fn check_encoding(v: &WireVectors) -> Vec<String> {
    let mut bad = Vec::new();
    for e in &v.encode {
        let env = match e.message.to_envelope() {
            Ok(env) => env,
            Err(err) => {
                bad.push(format!("{}: bad vector: {err}", e.name));
                continue;
            }
        };
        let hex = to_hex(&wire::encode(&env));
        if hex != e.hex {
            bad.push(format!(
                "{}: encodes to\n    {hex}\n  expected\n    {}",
                e.name, e.hex
            ));
        }
        match from_hex(&e.hex).and_then(|b| wire::decode(&b, usize::MAX).map_err(|x| x.to_string()))
        {
            Ok(d) if VMessage::from_envelope(&d) == e.message => {}
            Ok(d) => bad.push(format!(
                "{}: decodes to {}",
                e.name,
                serde_json::to_string(&VMessage::from_envelope(&d)).unwrap_or_default()
            )),
            Err(err) => bad.push(format!("{}: does not decode: {err}", e.name)),
        }
    }
    bad
}

fn init(cfg: &KitConfig) -> Request {
    Request::Init {
        kit: KIT_VERSION.to_owned(),
        now_ms: 0,
        config: Box::new(cfg.clone()),
    }
}

/// Runs `check` on every item with a node from `fresh`, reused from item to item (every check
/// starts with an `init`, which starts a node from scratch) and replaced after an error.
/// Returns one line per failure, prefixed with the item's name.
fn check_each<T>(
    items: &[T],
    name: impl Fn(&T) -> &str,
    fresh: &mut dyn FnMut() -> Result<Box<dyn Endpoint>, String>,
    check: impl Fn(&mut dyn Endpoint, &T) -> Result<Option<String>, String>,
) -> Vec<String> {
    let mut bad = Vec::new();
    let mut kept: Option<Box<dyn Endpoint>> = None;
    for item in items {
        let node = match &mut kept {
            Some(n) => Ok(n),
            None => fresh().map(|n| kept.insert(n)),
        };
        match node.and_then(|n| check(n.as_mut(), item)) {
            Ok(None) => {}
            Ok(Some(why)) => bad.push(format!("{}: {why}", name(item))),
            Err(e) => {
                kept = None;
                bad.push(format!("{}: {e}", name(item)));
            }
        }
    }
    bad
}

/// Checks the receive vectors against a node (`fresh` makes one; it is reused from vector to
/// vector, since `init` starts a node from scratch, and replaced after an error): the
/// datagram is accepted or rejected with the expected reason, and a rejection leaves the view
/// unchanged. Returns one line per failure.
pub fn check_receive(
    v: &WireVectors,
    fresh: &mut dyn FnMut() -> Result<Box<dyn Endpoint>, String>,
) -> Vec<String> {
    check_each(
        &v.receive,
        |r| &r.name,
        fresh,
        |node, r| {
            let before = node.request(&init(&r.receiver))?.view;
            let resp = node.request(&Request::Datagram {
                now_ms: 1,
                from: r.from.clone(),
                hex: r.hex.clone(),
            })?;
            let got = resp.rejected.ok_or("no \"rejected\" field")?;
            if got != r.rejected {
                return Ok(Some(format!("rejected {got:?}, expected {:?}", r.rejected)));
            }
            if got.is_some() && resp.view != before {
                return Ok(Some("a rejected datagram changed the view".into()));
            }
            Ok(None)
        },
    )
}

/// Checks the delta vectors against a node (`fresh` makes one, reused as for
/// [`check_receive`]): after the requests, the datagrams sent in answer to the last one are
/// exactly the expected ones.
pub fn check_deltas(
    v: &DeltaVectors,
    fresh: &mut dyn FnMut() -> Result<Box<dyn Endpoint>, String>,
) -> Vec<String> {
    check_each(
        &v.vectors,
        |d| &d.name,
        fresh,
        |node, d| {
            let mut last = None;
            for req in &d.requests {
                last = Some(node.request(req)?);
            }
            let sent = last.and_then(|r| r.sent).unwrap_or_default();
            let got: Vec<(String, String)> = sent.into_iter().map(|s| (s.to, s.hex)).collect();
            let want: Vec<(String, String)> = d
                .expect
                .iter()
                .map(|e| (e.to.clone(), e.hex.clone()))
                .collect();
            if got == want {
                return Ok(None);
            }
            let show = |v: &[(String, String)]| {
                v.iter()
                    .map(|(to, hex)| {
                        let msg = from_hex(hex)
                            .ok()
                            .and_then(|b| wire::decode(&b, usize::MAX).ok())
                            .map(|e| {
                                serde_json::to_string(&VMessage::from_envelope(&e))
                                    .unwrap_or_default()
                            })
                            .unwrap_or_else(|| "(undecodable)".into());
                        format!("\n      to {to}: {hex}\n        {msg}")
                    })
                    .collect::<String>()
            };
            Ok(Some(format!(
                "sent{}\n    expected{}",
                show(&got),
                show(&want)
            )))
        },
    )
}

/// What an adapter can be checked against: [`check_receive`] and then [`check_deltas`] (the
/// encode vectors are for an implementation's own codec tests: [`check_encoding`]).
pub fn check_adapter(
    w: &WireVectors,
    d: &DeltaVectors,
    fresh: &mut dyn FnMut() -> Result<Box<dyn Endpoint>, String>,
) -> Vec<String> {
    let mut bad = check_receive(w, fresh);
    bad.extend(check_deltas(d, fresh));
    bad
}

/// This repository's vector files: `tests/vectors/`.
pub fn repository_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// Reads `DIR/wire.json` and `DIR/deltas.json`.
pub fn load(dir: &Path) -> Result<(WireVectors, DeltaVectors), String> {
    fn read<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T, String> {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", p.display()))
    }
    Ok((
        read(&dir.join("wire.json"))?,
        read(&dir.join("deltas.json"))?,
    ))
}

/// A fresh in-process node (the Rust adapter logic over `gossip-core`).
pub fn in_process() -> Result<Box<dyn Endpoint>, String> {
    Ok(Box::new(KitNode::new(None)))
}

/// A fresh adapter process running `cmd`.
pub fn adapter(cmd: &str, env: &[(String, String)]) -> Result<Box<dyn Endpoint>, String> {
    Ok(Box::new(Subprocess::spawn(cmd, env)?))
}

/// A fresh node of `backend`: [`in_process`] or [`adapter`].
pub fn endpoint(backend: &Backend) -> Result<Box<dyn Endpoint>, String> {
    match backend {
        Backend::InProcess => in_process(),
        Backend::Command { cmd, env } => adapter(cmd, env),
        // The vectors speak the kit protocol itself; a driver mutation does not apply.
        Backend::Mutated { inner, .. } => endpoint(inner),
    }
}

// ---------------------------------------------------------------------------------------------
// generation

fn id(name: &str, addr: &str) -> NodeId {
    NodeId::new(name, addr.parse().expect("literal address"))
}

fn set(version: u64, key: &str, value: &[u8]) -> Update {
    Update {
        sig: None,
        version,
        change: Change::Set {
            key: key.into(),
            value: value.to_vec(),
        },
    }
}

fn del(version: u64, key: &str) -> Update {
    Update {
        sig: None,
        version,
        change: Change::Delete { key: key.into() },
    }
}

fn leave(version: u64) -> Update {
    Update {
        sig: None,
        version,
        change: Change::Leave,
    }
}

fn inc(node: &NodeId, g: u64, h: u64, from: u64, updates: Vec<Update>, wa: u64) -> NodeDelta {
    NodeDelta {
        attestation: None,
        node: node.clone(),
        generation: g,
        heartbeat: h,
        kind: DeltaKind::Incremental { from },
        updates,
        watermark_after: wa,
    }
}

fn entry(node: &NodeId, g: u64, h: u64, w: u64) -> DigestEntry {
    DigestEntry {
        node: node.clone(),
        generation: g,
        heartbeat: h,
        watermark: w,
    }
}

fn env(cluster: &str, message: Message) -> Envelope {
    Envelope {
        cluster_id: cluster.into(),
        message,
    }
}

fn syn(mode: GossipMode, digest: Option<Digest>, delta: Vec<NodeDelta>) -> Message {
    Message::Syn {
        mode,
        digest,
        delta,
    }
}

fn ack(cluster: &str, delta: Vec<NodeDelta>) -> Envelope {
    env(cluster, Message::Ack { delta })
}

/// A partial digest covering `[start, end)`.
fn partial(start: &NodeId, end: &NodeId, entries: Vec<DigestEntry>) -> Option<Digest> {
    Some(Digest {
        range: Some(DigestRange {
            start: start.clone(),
            end: end.clone(),
        }),
        entries,
    })
}

fn complete(entries: Vec<DigestEntry>) -> Option<Digest> {
    Some(Digest {
        range: None,
        entries,
    })
}

fn encode_vector(name: &str, description: &str, e: &Envelope) -> EncodeVector {
    EncodeVector {
        name: name.into(),
        description: description.into(),
        message: VMessage::from_envelope(e),
        hex: to_hex(&wire::encode(e)),
    }
}

/// The receiver of the receive vectors: node `r` at 10.0.0.9:7000 in cluster `test`, defaults
/// otherwise (MTU 1,400; limits: names 64, keys 128, values 512 bytes).
pub fn receiver_config() -> KitConfig {
    let mut c = Config::new("r", "10.0.0.9:7000".parse().expect("literal"));
    c.cluster_id = "test".into();
    // The default until 2026-11-29; pinned so that the vectors did not change with it.
    c.max_digest_len = 700;
    KitConfig::from_config(&c)
}

/// The node under test of the delta vectors: `a` at 10.0.0.1:7000 in cluster `test`, deltas
/// starting at the smallest node id (`rotate_delta_start: false`), a failure detector that
/// never fires within the vectors' few milliseconds, other values the defaults.
pub fn node_config() -> Config {
    let mut c = Config::new("a", "10.0.0.1:7000".parse().expect("literal"));
    c.cluster_id = "test".into();
    c.rotate_delta_start = false;
    // The default until 2026-11-29; pinned so that the vectors did not change with it.
    c.max_digest_len = 700;
    c
}

/// `hex` with the first occurrence of `from` replaced (which must occur).
fn must_replace(hex: &str, from: &str, to: &str) -> String {
    assert!(hex.contains(from), "{from} not in {hex}");
    hex.replacen(from, to, 1)
}

fn hexb(e: &Envelope) -> String {
    to_hex(&wire::encode(e))
}

/// Builds both vector files from `gossip-core`.
pub fn generate() -> Result<(WireVectors, DeltaVectors), String> {
    Ok((generate_wire(), generate_deltas()?))
}

fn generate_wire() -> WireVectors {
    let a = id("a", "10.0.0.1:7000");
    let b = id("b", "10.0.0.2:7000");
    let c = id("c", "10.0.0.3:7000");
    let v6 = id("v6", "[2001:db8::1]:7946");
    let t = "test";
    let mut enc = Vec::new();
    let mut push = |n: &str, d: &str, e: Envelope| enc.push(encode_vector(n, d, &e));
    push(
        "syn-push-pull-wire-md-example",
        "The example of wire.md: the push-pull Syn of a@10.0.0.1:7000 (generation 1, heartbeat 1, watermark 0) knowing only itself.",
        env(
            t,
            syn(
                GossipMode::PushPull,
                complete(vec![entry(&a, 1, 1, 0)]),
                vec![],
            ),
        ),
    );
    push(
        "syn-pull-with-own-node-delta",
        "A pull-mode Syn: a complete digest and the sender's own node delta, incremental from 0.",
        env(
            t,
            syn(
                GossipMode::Pull,
                complete(vec![entry(&a, 1, 2, 1), entry(&b, 3, 9, 0)]),
                vec![inc(&a, 1, 2, 0, vec![set(1, "k", b"v")], 1)],
            ),
        ),
    );
    push(
        "syn-push-without-digest",
        "A push-mode Syn: digest nil, a delta of everything (two nodes).",
        env(
            t,
            syn(
                GossipMode::Push,
                None,
                vec![
                    inc(&a, 1, 4, 0, vec![set(1, "x", b"1"), del(2, "y")], 2),
                    inc(&b, 2, 1, 0, vec![], 0),
                ],
            ),
        ),
    );
    push(
        "synack-push-pull",
        "A SynAck with the answerer's digest and a delta carrying every update kind (set, delete, leave).",
        env(
            t,
            Message::SynAck {
                digest: complete(vec![entry(&a, 1, 1, 0), entry(&b, 1, 5, 3)]),
                delta: vec![inc(
                    &b,
                    1,
                    5,
                    0,
                    vec![set(1, "k0", b"hello"), del(2, "k1"), leave(3)],
                    3,
                )],
            },
        ),
    );
    push(
        "synack-pull-without-digest",
        "A SynAck answering a pull Syn: digest nil (no Ack wanted).",
        env(
            t,
            Message::SynAck {
                digest: None,
                delta: vec![inc(&b, 1, 2, 1, vec![set(2, "k", b"")], 2)],
            },
        ),
    );
    push(
        "ack-with-delta",
        "An Ack carrying an incremental node delta above the peer's watermark.",
        ack(
            t,
            vec![inc(
                &a,
                1,
                7,
                2,
                vec![set(3, "k", b"z"), set(4, "l", b"w")],
                4,
            )],
        ),
    );
    push(
        "ack-empty-delta",
        "An Ack with an empty delta (valid on the wire; senders may omit it).",
        ack(t, vec![]),
    );
    push(
        "reset-node-delta",
        "A reset node delta (gc_floor 4): the sender's whole node state, tombstones included, versions above 0.",
        ack(
            t,
            vec![NodeDelta {
                attestation: None,
                node: c.clone(),
                generation: 2,
                heartbeat: 11,
                kind: DeltaKind::Reset { gc_floor: 4 },
                updates: vec![set(5, "k0", b"v"), del(6, "k1")],
                watermark_after: 6,
            }],
        ),
    );
    push(
        "update-less-node-delta",
        "A heartbeat-only node delta (incremental from 3, no updates, watermark_after 3), as sent after a cut.",
        ack(t, vec![inc(&b, 1, 12, 3, vec![], 3)]),
    );
    push(
        "ipv6-node-id",
        "A node id with an IPv6 address: the address is bin(18) (16 address bytes, 2 port bytes big-endian).",
        env(
            t,
            syn(
                GossipMode::PushPull,
                complete(vec![entry(&v6, 1, 1, 0)]),
                vec![],
            ),
        ),
    );
    push(
        "partial-digest-with-range",
        "A partial digest: range [b, a) wraps past the largest id (covers b, c, ...; not a).",
        env(
            t,
            syn(
                GossipMode::PushPull,
                partial(&b, &a, vec![entry(&b, 1, 3, 1), entry(&c, 1, 2, 0)]),
                vec![],
            ),
        ),
    );
    push(
        "complete-digest-no-entries",
        "A digest with no entries (valid on the wire).",
        env(t, syn(GossipMode::PushPull, complete(vec![]), vec![])),
    );
    push(
        "integer-widths",
        "Integers at every MessagePack width: 127 (fixint), 128 (uint8), 256 (uint16), 65,536 (uint32), 2^32 (uint64), a millisecond-timestamp generation.",
        env(
            t,
            syn(
                GossipMode::PushPull,
                complete(vec![
                    entry(&a, 1_764_355_200_000, 127, 128),
                    entry(&b, 65_536, 256, 4_294_967_296),
                ]),
                vec![],
            ),
        ),
    );
    push(
        "string-and-bin-widths",
        "A 32-byte key (str8, not fixstr), a 256-byte value (bin16), an empty value (bin8 of length 0).",
        ack(
            t,
            vec![inc(
                &a,
                1,
                1,
                0,
                vec![set(1, &"k".repeat(32), &[7u8; 256]), set(2, "e", b"")],
                2,
            )],
        ),
    );
    push(
        "sixteen-entries-array16",
        "A digest of 16 entries: the entries array needs an array16 header (fixarray holds at most 15).",
        env(
            t,
            syn(
                GossipMode::PushPull,
                complete(
                    (0..16)
                        .map(|i| entry(&id(&format!("n{i:02}"), "10.0.1.1:7000"), 1, i, 0))
                        .collect(),
                ),
                vec![],
            ),
        ),
    );
    let max = at_mtu(t, &a, 1_400);
    push(
        "maximum-size-datagram",
        "An Ack of exactly 1,400 bytes (the default MTU), version byte included.",
        max.clone(),
    );

    // receive cases
    let rc = receiver_config();
    let from = "10.0.0.2:7000".to_owned();
    let mut rec = Vec::new();
    let mut r = |n: &str, d: &str, hex: String, rejected: Option<&str>| {
        rec.push(ReceiveVector {
            name: n.into(),
            description: d.into(),
            receiver: rc.clone(),
            from: from.clone(),
            hex,
            rejected: rejected.map(str::to_owned),
        })
    };
    let good = ack(t, vec![inc(&b, 1, 2, 0, vec![set(1, "k", b"v")], 1)]);
    let good_hex = hexb(&good);
    r(
        "accepted-ack",
        "A valid Ack about a new node: accepted.",
        good_hex.clone(),
        None,
    );
    r(
        "accepted-at-the-mtu",
        "A datagram of exactly the receiver's MTU (1,400 bytes): accepted.",
        hexb(&max),
        None,
    );
    r(
        "oversize",
        "One byte over the MTU (1,401 bytes): rejected before decoding.",
        hexb(&at_mtu(t, &a, 1_401)),
        Some("Oversize"),
    );
    r(
        "empty",
        "An empty datagram.",
        String::new(),
        Some("Truncated"),
    );
    for (v, why) in [
        (0u8, "Protocol version byte 0"),
        (
            4,
            "Protocol version byte 4 (1 is the plaintext datagram; 2 and 3 are taken by security.md's encrypted frame and wire.md's compressed frame)",
        ),
        (0xff, "Protocol version byte 0xff"),
    ] {
        r(
            &format!("unknown-version-{v}"),
            &format!("{why} in front of a valid body."),
            format!("{v:02x}{}", &good_hex[2..]),
            Some("UnknownVersion"),
        );
    }
    r(
        "version-byte-only",
        "Only the version byte: the body ends at once.",
        "01".into(),
        Some("Truncated"),
    );
    r(
        "truncated",
        "A valid datagram without its last byte.",
        good_hex[..good_hex.len() - 2].to_owned(),
        Some("Truncated"),
    );
    r(
        "wrong-cluster",
        "A valid Ack of cluster \"prod\".",
        hexb(&env("prod", good.message.clone())),
        Some("WrongCluster"),
    );
    r(
        "trailing-bytes",
        "A valid datagram followed by one extra byte.",
        format!("{good_hex}00"),
        Some("Malformed"),
    );
    r(
        "unknown-message-tag",
        "Message tag 7 (only 0 Syn, 1 SynAck, 2 Ack exist).",
        {
            // 01 | 93 | a4 "test" | tag
            let mut b = from_hex(&good_hex).expect("hex");
            b[7] = 7;
            to_hex(&b)
        },
        Some("Malformed"),
    );
    r(
        "bad-address-length",
        "A node address of 5 bytes (only 6 for IPv4 and 18 for IPv6 exist).",
        must_replace(&good_hex, "c4060a0000021b58", "c4050a0000021b"),
        Some("Malformed"),
    );
    r(
        "string-for-integer",
        "A generation encoded as the string \"1\".",
        {
            // the node delta [b, generation 1, ...]: ... 1b58 01 02 ...
            must_replace(&good_hex, "1b580102", "1b58a1310102")
        },
        Some("Malformed"),
    );
    r(
        "unknown-update-tag",
        "An update with change tag 3 (only 0 set, 1 delete, 2 leave exist).",
        must_replace(&good_hex, "940100a16b", "940103a16b"),
        Some("Malformed"),
    );
    r(
        "unknown-syn-mode",
        "A Syn with mode 3.",
        must_replace(
            &hexb(&env(
                t,
                syn(
                    GossipMode::PushPull,
                    complete(vec![entry(&b, 1, 1, 0)]),
                    vec![],
                ),
            )),
            "930092c0",
            "930392c0",
        ),
        Some("Malformed"),
    );
    r(
        "node-name-too-long",
        "A node name of 65 bytes (max_name_len 64).",
        hexb(&ack(
            t,
            vec![inc(
                &id(&"n".repeat(65), "10.0.0.2:7000"),
                1,
                1,
                0,
                vec![],
                0,
            )],
        )),
        Some("LimitExceeded"),
    );
    r(
        "key-too-long",
        "A key of 129 bytes (max_key_len 128).",
        hexb(&ack(
            t,
            vec![inc(&b, 1, 1, 0, vec![set(1, &"k".repeat(129), b"v")], 1)],
        )),
        Some("LimitExceeded"),
    );
    r(
        "value-too-long",
        "A value of 513 bytes (max_value_len 512).",
        hexb(&ack(
            t,
            vec![inc(&b, 1, 1, 0, vec![set(1, "k", &[0u8; 513])], 1)],
        )),
        Some("LimitExceeded"),
    );
    r(
        "empty-node-name",
        "A node delta about a node with an empty name.",
        hexb(&ack(
            t,
            vec![inc(&id("", "10.0.0.2:7000"), 1, 1, 0, vec![], 0)],
        )),
        Some("Invalid"),
    );
    r(
        "push-pull-syn-without-digest",
        "A push-pull Syn whose digest is nil.",
        hexb(&env(t, syn(GossipMode::PushPull, None, vec![]))),
        Some("Invalid"),
    );
    r(
        "from-above-watermark-after",
        "An incremental node delta with from 3 > watermark_after 2.",
        hexb(&ack(t, vec![inc(&b, 1, 1, 3, vec![], 2)])),
        Some("Invalid"),
    );
    r(
        "updates-not-increasing",
        "Updates with versions 2 then 2.",
        hexb(&ack(
            t,
            vec![inc(
                &b,
                1,
                1,
                0,
                vec![set(2, "k", b"v"), set(2, "l", b"w")],
                2,
            )],
        )),
        Some("Invalid"),
    );
    r(
        "update-at-from",
        "An update whose version equals from (must be above it).",
        hexb(&ack(t, vec![inc(&b, 1, 1, 1, vec![set(1, "k", b"v")], 1)])),
        Some("Invalid"),
    );
    r(
        "update-above-watermark-after",
        "An update with version 3 > watermark_after 2.",
        hexb(&ack(t, vec![inc(&b, 1, 1, 0, vec![set(3, "k", b"v")], 2)])),
        Some("Invalid"),
    );
    // compressed frames (wire.md "Compressed frame"); the frames are miniz_oxide's, but any
    // valid raw DEFLATE stream must be accepted (the stored-block case checks that).
    let z = |d: &[u8], level: u8| to_hex(&wire::compress_with_level(d, level));
    let max_bytes = wire::encode(&max);
    r(
        "compressed-at-the-mtu",
        "The compressed frame (raw DEFLATE, level 6) of the 1,400-byte datagram `accepted-at-the-mtu`: decompresses to exactly the MTU, accepted.",
        z(&max_bytes, 6),
        None,
    );
    r(
        "compressed-stored-blocks",
        "The datagram of `accepted-ack` in a compressed frame made of stored (uncompressed) DEFLATE blocks: any valid stream is accepted.",
        z(&wire::encode(&good), 0),
        None,
    );
    r(
        "compressed-over-the-mtu",
        "The compressed frame of a 1,401-byte datagram (`oversize`): decompression stops at the MTU.",
        z(&wire::encode(&at_mtu(t, &a, 1_401)), 6),
        Some("LimitExceeded"),
    );
    let mut zeros = vec![0u8; 1 << 20];
    zeros[0] = wire::PROTOCOL_VERSION;
    r(
        "compressed-bomb",
        "A compressed frame of about 1 KiB encoding 1 MiB (a version byte, then zeros): decompression stops at the MTU.",
        z(&zeros, 9),
        Some("LimitExceeded"),
    );
    let zgood = wire::compress_with_level(&max_bytes, 6);
    r(
        "compressed-truncated",
        "`compressed-at-the-mtu` without its last byte: the stream ends before its final block.",
        to_hex(&zgood[..zgood.len() - 1]),
        Some("Malformed"),
    );
    r(
        "compressed-trailing-byte",
        "`compressed-at-the-mtu` followed by one byte after the end of the final block.",
        format!("{}00", to_hex(&zgood)),
        Some("Malformed"),
    );
    r(
        "compressed-empty-stream",
        "The frame type 0x03 alone: an empty stream has no final block.",
        "03".into(),
        Some("Malformed"),
    );
    r(
        "compressed-reserved-block-type",
        "A final block of the reserved type 3 (first stream byte 0x07).",
        "03070000".into(),
        Some("Malformed"),
    );
    r(
        "compressed-stored-block-bad-nlen",
        "A final stored block whose NLEN (0x0000) is not the one's complement of LEN (0x0001).",
        "0301010000000001".into(),
        Some("Malformed"),
    );
    r(
        "compressed-nested",
        "A compressed frame whose decompressed bytes are themselves a compressed frame: frames do not nest.",
        z(&wire::compress_with_level(&max_bytes, 6), 6),
        Some("UnknownVersion"),
    );
    r(
        "compressed-wrong-cluster",
        "The compressed frame of `wrong-cluster`: what a frame holds is validated as a datagram.",
        z(&wire::encode(&env("prod", good.message.clone())), 6),
        Some("WrongCluster"),
    );
    WireVectors {
        format: WIRE_FORMAT.into(),
        description: "Wire format test vectors (docs/spec/wire.md, docs/spec/test-vectors.md). `encode`: the fields of a datagram and its exact bytes (both directions must hold). `receive`: a datagram given to a fresh node configured as `receiver` (a conformance kit init config): accepted (`rejected: null`) or rejected with that reason, the view unchanged.".into(),
        encode: enc,
        receive: rec,
    }
}

/// An Ack of exactly `len` bytes: a's node delta with three set updates whose values
/// (at most 512 bytes each, `max_value_len`) are sized to fill the datagram.
fn at_mtu(cluster: &str, a: &NodeId, len: usize) -> Envelope {
    let mk = |x: usize, m: usize| {
        ack(
            cluster,
            vec![inc(
                a,
                1,
                1,
                0,
                vec![
                    set(1, "k1", &vec![b'x'; 512]),
                    set(2, "k2", &vec![b'y'; x]),
                    set(3, "k3", &vec![b'z'; m]),
                ],
                3,
            )],
        )
    };
    for x in (400..=512).rev() {
        for m in 0..=512 {
            let e = mk(x, m);
            if wire::encode(&e).len() == len {
                return e;
            }
        }
    }
    panic!("no Ack of exactly {len} bytes")
}

/// The state of the delta vectors: requests with a clock.
struct Script {
    reqs: Vec<Request>,
    now: u64,
}

impl Script {
    fn new(cfg: &Config) -> Script {
        Script {
            reqs: vec![Request::Init {
                kit: KIT_VERSION.into(),
                now_ms: 0,
                config: Box::new(KitConfig::from_config(cfg)),
            }],
            now: 0,
        }
    }
    fn t(&mut self) -> u64 {
        self.now += 1;
        self.now
    }
    fn set(mut self, k: &str, v: &[u8]) -> Self {
        let now_ms = self.t();
        self.reqs.push(Request::Set {
            now_ms,
            key: k.into(),
            value: to_hex(v),
        });
        self
    }
    fn delete(mut self, k: &str) -> Self {
        let now_ms = self.t();
        self.reqs.push(Request::Delete {
            now_ms,
            key: k.into(),
        });
        self
    }
    fn leave(mut self) -> Self {
        let now_ms = self.t();
        self.reqs.push(Request::Leave { now_ms });
        self
    }
    fn collect(mut self, n: &NodeId) -> Self {
        let now_ms = self.t();
        self.reqs.push(Request::CollectTombstones {
            now_ms,
            node: KitNodeId::from_id(n),
        });
        self
    }
    fn gossip(mut self, peer: &str) -> Self {
        let now_ms = self.t();
        self.reqs.push(Request::Gossip {
            now_ms,
            peer: peer.into(),
        });
        self
    }
    fn recv(mut self, from: &str, e: &Envelope) -> Self {
        let now_ms = self.t();
        self.reqs.push(Request::Datagram {
            now_ms,
            from: from.into(),
            hex: hexb(e),
        });
        self
    }
}

fn generate_deltas() -> Result<DeltaVectors, String> {
    let a = id("a", "10.0.0.1:7000");
    let b = id("b", "10.0.0.2:7000");
    let c = id("c", "10.0.0.3:7000");
    let d = id("d", "10.0.0.4:7000");
    let p = id("p", "10.0.0.16:7000");
    let pa = "10.0.0.16:7000";
    let qa = "10.0.0.17:7000";
    let q = id("q", qa);
    let t = "test";
    let base = node_config();
    let pp =
        |entries: Vec<DigestEntry>| env(t, syn(GossipMode::PushPull, complete(entries), vec![]));
    // what p tells a about b, c, d: b wrote 3 keys, c deleted one, d is heartbeat-only
    let learn = env(
        t,
        syn(
            GossipMode::Push,
            None,
            vec![
                inc(
                    &b,
                    1,
                    5,
                    0,
                    vec![set(1, "x", b"1"), set(2, "y", b"2"), set(3, "z", b"3")],
                    3,
                ),
                inc(&c, 2, 7, 0, vec![set(1, "x", b"c"), del(2, "x")], 2),
                inc(&d, 1, 3, 0, vec![], 0),
            ],
        ),
    );
    let writes = |cfg: &Config| {
        Script::new(cfg)
            .set("k0", b"v0")
            .set("k1", b"v1")
            .set("k2", b"v2")
    };
    let mut out: Vec<(String, String, Script)> = Vec::new();
    let mut add = |n: &str, dsc: &str, s: Script| out.push((n.into(), dsc.into(), s));

    add(
        "synack-to-a-peer-that-knows-nothing-of-us",
        "a wrote k0, k1, k2 (versions 1-3); p's push-pull Syn knows only p. a answers with its complete digest and a delta: its own node delta incremental from 0 with every update. (p's own node is not in the delta: a knows nothing p lacks.)",
        writes(&base).recv(pa, &pp(vec![entry(&p, 1, 1, 0)])),
    );
    add(
        "synack-incremental-above-the-peers-watermark",
        "p already has a's changes up to version 2: the node delta is incremental from 2 with the one update above it.",
        writes(&base).recv(pa, &pp(vec![entry(&a, 1, 0, 2), entry(&p, 1, 1, 0)])),
    );
    add(
        "synack-nothing-to-send",
        "p's digest equals a's state (heartbeat and watermark): the SynAck carries a's digest and an empty delta.",
        writes(&base).recv(pa, &pp(vec![entry(&a, 1, 0, 3), entry(&p, 1, 1, 0)])),
    );
    let pull = |entries: Vec<DigestEntry>| env(t, syn(GossipMode::Pull, complete(entries), vec![]));
    // a gossiped twice (heartbeat 2); p has all of a's changes
    let after_two_rounds = |digest: &Envelope| writes(&base).gossip(pa).gossip(pa).recv(pa, digest);
    let up_to_date = vec![entry(&a, 1, 0, 3), entry(&p, 1, 1, 0)];
    add(
        "heartbeat-only-node-delta",
        "p's pull Syn: p has all of a's changes but an older heartbeat (a gossiped twice, heartbeat 2). The pull SynAck has no digest, so the node delta carries the heartbeat: incremental from 3 with no updates and watermark_after 3.",
        after_two_rounds(&pull(up_to_date.clone())),
    );
    add(
        "push-pull-heartbeat-news-travels-in-the-digest",
        "The same as a push-pull Syn: a's heartbeat 2 is in the SynAck's digest, so the delta is empty (protocol.md §4: no heartbeat-only node deltas in push-pull).",
        after_two_rounds(&pp(up_to_date)),
    );
    add(
        "digest-heartbeats-are-received",
        "a learned b (generation 1, heartbeat 5) and c (generation 2, heartbeat 7) from p's push. p's push-pull Syn lists b at heartbeat 9 and c at generation 3, heartbeat 9: a takes b's heartbeat (its SynAck's digest shows b at 9) but not c's (another generation; c's generation 3 is learned only from a node delta). Nothing else changes.",
        Script::new(&base).recv(pa, &learn).recv(
            pa,
            &pp(vec![
                entry(&a, 1, 0, 0),
                entry(&b, 1, 9, 3),
                entry(&c, 3, 9, 0),
                entry(&d, 1, 3, 0),
                entry(&p, 1, 1, 0),
            ]),
        ),
    );
    let mut cut2 = base.clone();
    cut2.max_delta_updates = Some(2);
    add(
        "delta-cut-by-max-delta-updates",
        "max_delta_updates = 2 and a has 3 updates p lacks: the node delta is cut to a prefix (versions 1, 2, watermark_after 2).",
        writes(&cut2).recv(pa, &pp(vec![entry(&p, 1, 1, 0)])),
    );
    let mut cut1 = base.clone();
    cut1.max_delta_updates = Some(1);
    // q's digest, behind on every node a knows, with c at generation `cg`
    let behind = |cg: u64| {
        vec![
            entry(&b, 1, 1, 1),
            entry(&c, cg, 1, 0),
            entry(&d, 1, 1, 0),
            entry(&q, 1, 1, 0),
        ]
    };
    add(
        "update-less-node-deltas-after-a-cut",
        "max_delta_updates = 1; a knows b, c, d (from p's push) and has its own 3 updates; q's pull digest is behind on every node. The first node delta (a, the smallest id) is cut after 1 update; the others get update-less node deltas (incremental from the peer's digest watermark) carrying only their heartbeat.",
        writes(&cut1).recv(pa, &learn).recv(qa, &pull(behind(2))),
    );
    add(
        "push-pull-after-a-cut-only-missing-generations-get-update-less-node-deltas",
        "The same state, q's push-pull digest behind on every node but holding c at generation 1 (a holds 2). a's node delta is cut after 1 update; b (behind, same generation) and d (heartbeat only) get nothing, their heartbeats being in a's digest; c, whose generation q lacks, gets an update-less node delta incremental from 0 (watermark_after 0) that carries the generation.",
        writes(&cut1).recv(pa, &learn).recv(qa, &pp(behind(1))),
    );
    add(
        "learned-nodes-in-id-order",
        "a forwards what it learned about b, c, d to q, who knows none of them, in ascending node id order (a, b, c, d), c with its tombstone.",
        Script::new(&base)
            .set("k0", b"v0")
            .recv(pa, &learn)
            .recv(qa, &pp(vec![entry(&q, 1, 1, 0)])),
    );
    // a sets k0 (v1), deletes it (v2), sets k1 (v3), collects its tombstones (gc_floor 2)
    let collected = || {
        Script::new(&base)
            .set("k0", b"v0")
            .delete("k0")
            .set("k1", b"v1")
            .collect(&a)
    };
    add(
        "reset-after-tombstone-collection",
        "a set k0 (v1), deleted it (v2), set k1 (v3), then collected its tombstones (gc_floor 2). p's watermark for a is 1, below the gc_floor: a sends a reset (gc_floor 2) with its whole node state (k1 at version 3).",
        collected().recv(pa, &pp(vec![entry(&a, 1, 0, 1), entry(&p, 1, 1, 0)])),
    );
    add(
        "incremental-at-the-gc-floor",
        "As above, but p's watermark for a is 2 (= the gc_floor): an incremental node delta from 2 suffices.",
        collected().recv(pa, &pp(vec![entry(&a, 1, 0, 2), entry(&p, 1, 1, 0)])),
    );
    add(
        "reset-of-a-learned-node-after-gc",
        "a learned c's tombstone (c: set x v1, delete x v2) and collected c's tombstones (gc_floor 2); q lacks c: a sends c as a reset (gc_floor 2, no updates, watermark_after 2).",
        Script::new(&base).recv(pa, &learn).collect(&c).recv(
            qa,
            &pp(vec![
                entry(&a, 1, 0, 0),
                entry(&b, 1, 5, 3),
                entry(&d, 1, 3, 0),
                entry(&q, 1, 1, 0),
            ]),
        ),
    );
    add(
        "leave-update",
        "a wrote k0 and left (leave marker version 2); p lacks both.",
        Script::new(&base)
            .set("k0", b"v0")
            .leave()
            .recv(pa, &pp(vec![entry(&p, 1, 1, 0)])),
    );
    add(
        "ack-after-synack",
        "a gossips with p (Syn); p's SynAck shows p lacks a's version 3: a answers with an Ack carrying it.",
        writes(&base).gossip(pa).recv(
            pa,
            &env(
                t,
                Message::SynAck {
                    digest: complete(vec![entry(&a, 1, 1, 2), entry(&p, 1, 4, 0)]),
                    delta: vec![inc(&p, 1, 4, 0, vec![], 0)],
                },
            ),
        ),
    );
    add(
        "syn-push-pull-round",
        "a gossips with p: the heartbeat goes to 1 and the Syn carries a's complete digest (push-pull, empty delta).",
        writes(&base).recv(pa, &learn).gossip(pa),
    );
    let mut pull = base.clone();
    pull.mode = GossipMode::Pull;
    add(
        "syn-pull-round",
        "Pull mode: a's Syn carries its digest and its own node delta (incremental from 0).",
        writes(&pull).gossip(pa),
    );
    add(
        "synack-to-a-pull-syn",
        "a receives p's pull Syn (digest + p's own node delta): it applies p's node delta and answers with a SynAck without digest (no Ack wanted) carrying what p lacks.",
        writes(&base).recv(
            pa,
            &env(
                t,
                syn(
                    GossipMode::Pull,
                    complete(vec![entry(&p, 1, 1, 1)]),
                    vec![inc(&p, 1, 1, 0, vec![set(1, "pk", b"pv")], 1)],
                ),
            ),
        ),
    );
    let mut pushm = base.clone();
    pushm.mode = GossipMode::Push;
    add(
        "syn-push-round",
        "Push mode: a's Syn has no digest and a delta of everything it holds (a, b, c, d).",
        writes(&pushm).recv(pa, &learn).gossip(pa),
    );
    let mut mtu = base.clone();
    mtu.max_digest_len = 700;
    add(
        "delta-cut-by-the-mtu",
        "a holds 5 values of 400 bytes (versions 1-5) and p lacks them: only what fits in 1,400 bytes next to a's digest is sent (a cut prefix).",
        Script::new(&mtu)
            .set("k0", &[b'0'; 400])
            .set("k1", &[b'1'; 400])
            .set("k2", &[b'2'; 400])
            .set("k3", &[b'3'; 400])
            .set("k4", &[b'4'; 400])
            .recv(pa, &pp(vec![entry(&p, 1, 1, 0)])),
    );
    // many nodes: partial digests
    let many: Vec<NodeId> = (0..40)
        .map(|i| id(&format!("n{i:02}"), &format!("10.0.1.{}:7000", i + 1)))
        .collect();
    let learn_many = env(
        t,
        syn(
            GossipMode::Push,
            None,
            many.iter().map(|n| inc(n, 1, 2, 0, vec![], 0)).collect(),
        ),
    );
    let mut small = base.clone();
    small.max_digest_len = 300;
    add(
        "partial-digest-first-round",
        "a knows 41 nodes and max_digest_len = 300: its Syn carries a partial digest of the first ids (from the smallest), with range [start, end) where end is the first id not sent.",
        Script::new(&small).recv(pa, &learn_many).gossip(pa),
    );
    add(
        "partial-digest-second-round",
        "The next round's digest continues at the previous range's end.",
        Script::new(&small)
            .recv(pa, &learn_many)
            .gossip(pa)
            .gossip(pa),
    );
    add(
        "delta-only-inside-a-partial-digests-range",
        "p sends a partial digest covering [n10, n13) with an entry for n10 only: a's delta carries n11 and n12 (p lacks them) and nothing outside the range.",
        Script::new(&base).recv(pa, &learn_many).recv(
            pa,
            &env(
                t,
                syn(
                    GossipMode::PushPull,
                    partial(&many[10], &many[13], vec![entry(&many[10], 1, 2, 0)]),
                    vec![],
                ),
            ),
        ),
    );
    add(
        "partial-digest-lists-hot-nodes-first",
        "a learns 40 nodes (each becomes hot: a new node state is news), then a write of n05 (hot again, most recently). a's partial Syn digest lists its own entry, then its hot nodes most recently marked first (n05, n39, n38, ...) within half of max_digest_len, then the range from the cursor, passing over the ids already listed (node.md §5).",
        Script::new(&small)
            .recv(pa, &learn_many)
            .recv(
                pa,
                &env(
                    t,
                    syn(
                        GossipMode::Push,
                        None,
                        vec![inc(&many[5], 1, 3, 0, vec![set(1, "k", b"v")], 1)],
                    ),
                ),
            )
            .gossip(pa),
    );
    add(
        "delta-covers-listed-entries-outside-the-range",
        "p sends a partial digest covering [n10, n13) with an entry for n10, and lists n30 (watermark 0) outside its range: a's delta carries n11 and n12 (p lacks them) and n30's update above watermark 0 (a listed entry is covered, node.md §5), nothing else.",
        Script::new(&base)
            .recv(pa, &learn_many)
            .recv(
                pa,
                &env(
                    t,
                    syn(
                        GossipMode::Push,
                        None,
                        vec![inc(&many[30], 1, 3, 0, vec![set(1, "k", b"v")], 1)],
                    ),
                ),
            )
            .recv(
                pa,
                &env(
                    t,
                    syn(
                        GossipMode::PushPull,
                        partial(
                            &many[10],
                            &many[13],
                            vec![entry(&many[10], 1, 2, 0), entry(&many[30], 1, 3, 0)],
                        ),
                        vec![],
                    ),
                ),
            ),
    );
    let stranger = id("zz", "10.0.2.1:7000");
    add(
        "partial-synack-digest-asks-for-unknown-ids",
        "a wrote three 300-byte values and knows 41 nodes; p's push-pull Syn covers [a, n01) (a lacks nothing there but p lacks a's writes, so the delta is large and a's SynAck digest partial) and also lists p and zz, which a does not know: a's partial SynAck digest lists its own entry, then placeholder entries (p, 0, 0, 0) and (zz, 0, 0, 0) asking for them, then its hot nodes, within half the digest budget, then its range (node.md §5; a SynAck's digest budget is what its delta leaves).",
        Script::new(&small)
            .set("k0", &[b'0'; 300])
            .set("k1", &[b'1'; 300])
            .set("k2", &[b'2'; 300])
            .recv(pa, &learn_many)
            .recv(
                pa,
                &env(
                    t,
                    syn(
                        GossipMode::PushPull,
                        partial(
                            &a,
                            &many[1],
                            vec![
                                entry(&many[0], 1, 2, 0),
                                entry(&p, 1, 1, 0),
                                entry(&stranger, 1, 1, 0),
                            ],
                        ),
                        vec![],
                    ),
                ),
            ),
    );

    let mut vectors = Vec::new();
    for (name, description, script) in out {
        let mut node = KitNode::new(None);
        let mut last = None;
        for r in &script.reqs {
            let resp = node.handle(r.clone());
            if !resp.ok {
                return Err(format!("{name}: {:?}", resp.error));
            }
            last = Some(resp);
        }
        let sent = last.and_then(|r| r.sent).unwrap_or_default();
        let mut expect = Vec::new();
        for s in sent {
            let bytes = from_hex(&s.hex)?;
            let e = wire::decode(&bytes, usize::MAX).map_err(|e| e.to_string())?;
            expect.push(ExpectedSend {
                to: s.to,
                hex: s.hex,
                message: VMessage::from_envelope(&e),
            });
        }
        vectors.push(DeltaVector {
            name,
            description,
            requests: script.reqs,
            expect,
        });
    }
    Ok(DeltaVectors {
        format: DELTAS_FORMAT.into(),
        description: "Delta construction vectors (protocol.md §3-§6, wire.md \"Partial digests and cuts\", docs/spec/test-vectors.md). Each vector is a list of conformance kit requests (docs/spec/conformance-kit.md) to one node, the first an init; the node must answer the last request by sending exactly the datagrams of `expect`, in order (`hex` is normative; `message` is its decoded form).".into(),
        vectors,
    })
}
