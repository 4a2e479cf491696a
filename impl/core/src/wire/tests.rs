//! Unit tests of the wire format: sizes against the encoder, round trips, the example of
//! docs/spec/wire.md byte for byte.

use super::*;
use crate::error::DatagramError;
use crate::id::NodeId;
use proptest::prelude::*;

fn arb_id() -> impl Strategy<Value = NodeId> {
    ("[a-z]{1,40}", any::<[u8; 4]>(), any::<u16>(), any::<bool>()).prop_map(
        |(name, ip, port, v6)| {
            let addr = if v6 {
                std::net::SocketAddr::from(([ip[0] as u16, 0, 0, 0, 0, 0, 0, 1], port))
            } else {
                std::net::SocketAddr::from((ip, port))
            };
            NodeId::new(name, addr)
        },
    )
}

fn arb_update() -> impl Strategy<Value = Update> {
    (
        any::<u64>(),
        0u8..3,
        "[a-z]{0,300}",
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(version, tag, key, value)| Update {
            sig: (version % 3 == 0).then_some([version as u8; 64]),
            version,
            change: match tag {
                0 => Change::Set { key, value },
                1 => Change::Delete { key },
                _ => Change::Leave,
            },
        })
}

fn arb_node_delta() -> impl Strategy<Value = NodeDelta> {
    (
        arb_id(),
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
        any::<u64>(),
        proptest::collection::vec(arb_update(), 0..20),
        any::<u64>(),
    )
        .prop_map(
            |(node, generation, heartbeat, reset, k, updates, watermark_after)| NodeDelta {
                node,
                generation,
                heartbeat,
                kind: if reset {
                    DeltaKind::Reset { gc_floor: k }
                } else {
                    DeltaKind::Incremental { from: k }
                },
                updates,
                watermark_after,
                attestation: (generation % 2 == 0).then_some(Attestation {
                    watermark: heartbeat ^ generation,
                    sig: [7; 64],
                }),
            },
        )
}

fn arb_digest() -> impl Strategy<Value = Digest> {
    (
        proptest::option::of((arb_id(), arb_id())),
        proptest::collection::vec((arb_id(), any::<u64>(), any::<u64>(), any::<u64>()), 0..40),
    )
        .prop_map(|(range, entries)| Digest {
            range: range.map(|(start, end)| DigestRange { start, end }),
            entries: entries
                .into_iter()
                .map(|(node, generation, heartbeat, watermark)| DigestEntry {
                    node,
                    generation,
                    heartbeat,
                    watermark,
                })
                .collect(),
        })
}

fn arb_envelope() -> impl Strategy<Value = Envelope> {
    let delta = proptest::collection::vec(arb_node_delta(), 0..20);
    (
        "[a-z]{0,40}",
        0u8..3,
        0u8..3,
        proptest::option::of(arb_digest()),
        delta,
    )
        .prop_map(|(cluster_id, tag, mode, digest, delta)| Envelope {
            cluster_id,
            message: match tag {
                0 => Message::Syn {
                    mode: GossipMode::from_u8(mode).unwrap(),
                    digest,
                    delta,
                },
                1 => Message::SynAck { digest, delta },
                _ => Message::Ack { delta },
            },
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn the_computed_size_is_the_encoded_size_and_decoding_round_trips(env in arb_envelope()) {
        let bytes = encode(&env);
        prop_assert_eq!(bytes.len(), env.encoded_len());
        let back = decode(&bytes, usize::MAX).unwrap();
        prop_assert_eq!(&back, &env);
        let frame = compress_with_level(&bytes, COMPRESSION_LEVEL);
        prop_assert_eq!(inflate(&frame[1..], bytes.len()).unwrap(), bytes.clone());
        prop_assert!(inflate(&frame[1..], bytes.len() - 1).is_err());
        if let Some(frame) = compress(&bytes) {
            prop_assert!(frame.len() < bytes.len());
            prop_assert_eq!(decode(&frame, usize::MAX).unwrap(), env);
        }
    }
}

#[test]
fn the_example_syn_of_wire_md_is_byte_exact() {
    let a = NodeId::new("a", "10.0.0.1:7000".parse().unwrap());
    let env = Envelope {
        cluster_id: "test".into(),
        message: Message::Syn {
            mode: GossipMode::PushPull,
            digest: Some(Digest {
                range: None,
                entries: vec![DigestEntry {
                    node: a,
                    generation: 1,
                    heartbeat: 1,
                    watermark: 0,
                }],
            }),
            delta: vec![],
        },
    };
    let expected: Vec<u8> = vec![
        0x01, 0x93, 0xa4, b't', b'e', b's', b't', 0x00, 0x93, 0x00, 0x92, 0xc0, 0x91, 0x94, 0x92,
        0xa1, b'a', 0xc4, 0x06, 0x0a, 0x00, 0x00, 0x01, 0x1b, 0x58, 0x01, 0x01, 0x00, 0x90,
    ];
    assert_eq!(encode(&env), expected);
}

#[test]
fn a_value_must_be_bin_not_an_array_of_integers_or_a_str() {
    let env = Envelope {
        cluster_id: "test".into(),
        message: Message::Ack {
            delta: vec![NodeDelta {
                node: NodeId::new("a", "10.0.0.1:7000".parse().unwrap()),
                generation: 1,
                heartbeat: 1,
                kind: DeltaKind::Incremental { from: 0 },
                updates: vec![Update {
                    version: 1,
                    change: Change::Set {
                        key: "k".into(),
                        value: vec![0x05],
                    },
                    sig: None,
                }],
                watermark_after: 1,
                attestation: None,
            }],
        },
    };
    let bytes = encode(&env);
    assert!(decode(&bytes, 1400).is_ok());
    let bin = [0xc4, 0x01, 0x05];
    let at = bytes.windows(3).position(|w| w == bin).unwrap();
    for other in [&[0x91, 0x05][..], &[0xa1, 0x05][..]] {
        let mut b = bytes[..at].to_vec();
        b.extend_from_slice(other);
        b.extend_from_slice(&bytes[at + 3..]);
        assert!(
            matches!(decode(&b, 1400), Err(DatagramError::Malformed(_))),
            "{other:02x?} accepted as a value"
        );
    }
}

#[test]
fn a_range_wraps_around_the_largest_id() {
    let id = |n: &str| NodeId::new(n, "10.0.0.1:1".parse().unwrap());
    let r = DigestRange {
        start: id("m"),
        end: id("c"),
    };
    assert!(r.contains(&id("z")) && r.contains(&id("a")) && r.contains(&id("m")));
    assert!(!r.contains(&id("c")) && !r.contains(&id("d")));
}
