//! A core holding some state (own keys, a peer with keys and a tombstone, a forgotten node).

use std::net::SocketAddr;
use std::time::Duration;

use gossip_core::wire::{self, Change, DeltaKind, Envelope, Message, NodeDelta, Update};
use gossip_core::{Config, Core, Limits, NodeId};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub const CLUSTER: &str = "fuzz";

pub fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, last], 7000))
}

pub fn id(name: &str, last: u8) -> NodeId {
    NodeId::new(name, addr(last))
}

pub fn limits() -> Limits {
    Limits {
        max_nodes: 8,
        max_keys_per_node: 6,
        max_value_len: 64,
        max_key_len: 16,
        max_name_len: 16,
        max_datagrams_per_peer_per_sec: 1_000,
        max_tracked_peers: 16,
    }
}

pub fn encode(message: Message) -> Vec<u8> {
    wire::encode(&Envelope {
        cluster_id: CLUSTER.into(),
        message,
    })
}

pub fn core_with_state() -> Core<ChaCha8Rng> {
    let mut c = Config::new("a", addr(1));
    c.cluster_id = CLUSTER.into();
    c.limits = limits();
    let mut a = Core::new(c, ChaCha8Rng::seed_from_u64(1), Duration::ZERO).expect("valid");
    let t = Duration::from_secs(1);
    a.set("k", b"v", t).unwrap();
    a.delete("gone", t).unwrap();
    for (name, last) in [("b", 2), ("c", 3)] {
        let d = encode(Message::Ack {
            delta: vec![NodeDelta {
                node: id(name, last),
                generation: 5,
                heartbeat: 7,
                kind: DeltaKind::Incremental { from: 0 },
                updates: vec![
                    Update {
                        version: 1,
                        change: Change::Set {
                            key: "x".into(),
                            value: b"y".to_vec(),
                        },
                        sig: None,
                    },
                    Update {
                        version: 2,
                        change: Change::Delete { key: "z".into() },
                        sig: None,
                    },
                ],
                watermark_after: 2,
                attestation: None,
            }],
        });
        a.handle_datagram(addr(last), &d, t).unwrap();
    }
    a.forget(&id("c", 3), t);
    while a.poll_transmit().is_some() {}
    while a.poll_event().is_some() {}
    a
}
