//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use gossip_core::wire::{
    self, Change, DeltaKind, Digest, DigestEntry, Envelope, Message, NodeDelta, Update,
};
use gossip_core::{Config, Core, DetectorSettings, Event, GossipMode, NodeId, RejectReason};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub const CLUSTER: &str = "test";

pub fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, last], 7000))
}

pub fn id(name: &str, last: u8) -> NodeId {
    NodeId::new(name, addr(last))
}

pub fn config(name: &str, last: u8) -> Config {
    let mut c = Config::new(name, addr(last));
    c.cluster_id = CLUSTER.into();
    c
}

/// Node "a" with small limits (8-byte names, 16-byte keys, 64-byte values) and the given MTU,
/// so that the MTU sweeps can start at small MTUs.
pub fn small_config(mtu: usize) -> Config {
    let mut c = config("a", 1);
    c.limits.max_name_len = 8;
    c.limits.max_key_len = 16;
    c.limits.max_value_len = 64;
    c.mtu = mtu;
    c
}

pub fn core_with(config: Config) -> Core<ChaCha8Rng> {
    Core::new(config, ChaCha8Rng::seed_from_u64(1), Duration::ZERO).expect("valid config")
}

/// Node "a" at 10.0.0.1 gossiping in `mode`.
pub fn core_in_mode(mode: GossipMode) -> Core<ChaCha8Rng> {
    let mut c = config("a", 1);
    c.mode = mode;
    core_with(c)
}

/// Node "a" at 10.0.0.1.
pub fn core_a() -> Core<ChaCha8Rng> {
    core_with(config("a", 1))
}

/// The failure detector settings configured in `c` (what a core uses while `P = 1`).
pub fn configured_detector(c: &Config) -> DetectorSettings {
    DetectorSettings {
        min_std_dev: c.min_std_dev,
        initial_interval_estimate: c.initial_interval_estimate,
        dead_after: c.dead_after,
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn encode(message: Message) -> Vec<u8> {
    wire::encode(&Envelope {
        cluster_id: CLUSTER.into(),
        message,
    })
}

pub fn entry(node: &NodeId, generation: u64, heartbeat: u64, watermark: u64) -> DigestEntry {
    DigestEntry {
        node: node.clone(),
        generation,
        heartbeat,
        watermark,
    }
}

/// The node delta of generation 1 that makes a peer learn `node` from scratch (incremental from
/// 0), with `updates` and watermark `watermark_after`.
pub fn learned(
    node: &NodeId,
    heartbeat: u64,
    updates: Vec<Update>,
    watermark_after: u64,
) -> NodeDelta {
    NodeDelta {
        node: node.clone(),
        generation: 1,
        heartbeat,
        kind: DeltaKind::Incremental { from: 0 },
        updates,
        watermark_after,
        attestation: None,
    }
}

/// The unsigned update `key = value` at `version`.
pub fn set(version: u64, key: &str, value: &[u8]) -> Update {
    Update {
        version,
        change: Change::Set {
            key: key.into(),
            value: value.to_vec(),
        },
        sig: None,
    }
}

/// An unsigned node delta.
pub fn nd(
    node: &NodeId,
    generation: u64,
    heartbeat: u64,
    kind: DeltaKind,
    updates: Vec<Update>,
    watermark_after: u64,
) -> NodeDelta {
    NodeDelta {
        node: node.clone(),
        generation,
        heartbeat,
        kind,
        updates,
        watermark_after,
        attestation: None,
    }
}

/// `incremental { from: 0 }`: a node delta from scratch.
pub const INC0: DeltaKind = DeltaKind::Incremental { from: 0 };

pub fn full_digest(entries: Vec<DigestEntry>) -> Digest {
    Digest {
        range: None,
        entries,
    }
}

pub fn syn(entries: Vec<DigestEntry>) -> Vec<u8> {
    encode(Message::Syn {
        mode: GossipMode::PushPull,
        digest: Some(full_digest(entries)),
        delta: vec![],
    })
}

pub fn ack(delta: Vec<NodeDelta>) -> Vec<u8> {
    encode(Message::Ack { delta })
}

/// A SynAck carrying the complete digest of `entries` and `delta`.
pub fn synack_of(entries: Vec<DigestEntry>, delta: Vec<NodeDelta>) -> Message {
    Message::SynAck {
        digest: Some(full_digest(entries)),
        delta,
    }
}

/// A Syn in `mode` carrying the complete digest of `entries` (none if `None`) and `delta`.
pub fn syn_of(
    mode: GossipMode,
    entries: Option<Vec<DigestEntry>>,
    delta: Vec<NodeDelta>,
) -> Message {
    Message::Syn {
        mode,
        digest: entries.map(full_digest),
        delta,
    }
}

/// The digest and delta of a SynAck that carries a digest; panics on any other message.
#[track_caller]
pub fn synack_parts(message: &Message) -> (&Digest, &Vec<NodeDelta>) {
    match message {
        Message::SynAck {
            digest: Some(d),
            delta,
        } => (d, delta),
        other => panic!("expected a SynAck with a digest: {other:?}"),
    }
}

/// Delivers an Ack carrying `delta` from `src`; it must be accepted.
#[track_caller]
pub fn deliver_ack<R: rand::RngCore>(
    core: &mut Core<R>,
    src: SocketAddr,
    delta: Vec<NodeDelta>,
    now: Duration,
) {
    core.handle_datagram(src, &ack(delta), now)
        .expect("the ack is accepted");
}

/// Every pending transmit, decoded.
pub fn sent<R: rand::RngCore>(core: &mut Core<R>) -> Vec<(SocketAddr, Message)> {
    let mut out = Vec::new();
    while let Some(t) = core.poll_transmit() {
        assert!(
            t.payload.len() <= core.config().mtu,
            "datagram over the MTU"
        );
        let env = wire::decode(&t.payload, core.config().mtu).expect("own datagrams decode");
        assert_eq!(env.cluster_id, core.config().cluster_id);
        out.push((t.dst, env.message));
    }
    out
}

/// Asserts that the only pending transmit is `message` to `dst`.
#[track_caller]
pub fn assert_sent_one<R: rand::RngCore>(core: &mut Core<R>, dst: SocketAddr, message: Message) {
    assert_eq!(sent(core), vec![(dst, message)]);
}

/// Delivers an Ack carrying `delta` from node "b"'s address (10.0.0.2); it must be accepted.
#[track_caller]
pub fn deliver_ack_from_b<R: rand::RngCore>(
    core: &mut Core<R>,
    delta: Vec<NodeDelta>,
    now: Duration,
) {
    deliver_ack(core, addr(2), delta, now);
}

/// Every pending event.
pub fn events<R: rand::RngCore>(core: &mut Core<R>) -> Vec<Event> {
    std::iter::from_fn(|| core.poll_event()).collect()
}

/// Feeds `bytes` from `from` to `core` at `now`, expects the rejection `reason`, and checks that
/// only its counter changed: same view, nothing sent, no event.
pub fn assert_dropped<R: rand::RngCore>(
    core: &mut Core<R>,
    from: SocketAddr,
    bytes: &[u8],
    now: Duration,
    reason: RejectReason,
) {
    let view = core.view();
    let before = core.stats().rejected.get(reason);
    let total = core.stats().rejected.total();
    let err = core
        .handle_datagram(from, bytes, now)
        .expect_err("must be rejected");
    assert_eq!(err.reason(), reason, "{err}");
    assert_eq!(core.stats().rejected.get(reason), before + 1);
    assert_eq!(core.stats().rejected.total(), total + 1);
    assert_eq!(core.view(), view, "a rejected datagram changed the view");
    assert!(core.poll_transmit().is_none() && core.poll_event().is_none());
}
