//! Hostile peers: well-formed datagrams crafted to exhaust memory or wedge a node (endless new
//! identities, huge node lists, huge values, counters near `u64::MAX`, digests claiming
//! everything, floods from one or from many sources). The configurable limits keep what a node
//! stores bounded ([`Core::footprint`] is the deterministic size account), rejections are
//! typed, the node's own state never changes, and honest nodes keep converging.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use gossip_core::wire::{Change, DeltaKind, Message, NodeDelta, Update};
use gossip_core::{Config, Core, Footprint, GossipMode, Limits, NodeId, NodeSummary, RejectReason};
use gossip_sim::{NetModel, Sim};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use support::*;

/// Small limits so that the tests reach them quickly.
fn small_limits() -> Limits {
    Limits {
        max_nodes: 8,
        max_keys_per_node: 6,
        max_value_len: 64,
        max_key_len: 16,
        max_name_len: 16,
        max_datagrams_per_peer_per_sec: 50,
        max_tracked_peers: 32,
    }
}

fn core_limited(limits: Limits) -> Core<ChaCha8Rng> {
    let mut c = config("a", 1);
    c.limits = limits;
    c.mtu = 1_400;
    core_with(c)
}

/// The bound the limits put on a footprint (the node's own state is bounded the same way,
/// by the local write checks).
fn assert_within(f: &Footprint, l: &Limits) {
    assert!(
        f.nodes + f.forgotten <= l.max_nodes,
        "{} nodes + {} forgotten > max_nodes {}",
        f.nodes,
        f.forgotten,
        l.max_nodes
    );
    assert!(
        f.max_entries_per_node <= l.max_keys_per_node,
        "{} entries for one node > {}",
        f.max_entries_per_node,
        l.max_keys_per_node
    );
    let per_node = l.max_name_len + l.max_keys_per_node * (l.max_key_len + l.max_value_len);
    assert!(
        f.bytes <= l.max_nodes * per_node,
        "{} bytes held > bound {}",
        f.bytes,
        l.max_nodes * per_node
    );
    assert!(f.tracked_peers <= l.max_tracked_peers);
}

fn src(i: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i)), 7000)
}

fn hostile_id(i: u32) -> NodeId {
    NodeId::new(format!("evil{i}"), src(i))
}

fn fresh(node: NodeId, generation: u64, heartbeat: u64, updates: Vec<Update>) -> NodeDelta {
    let watermark_after = updates.last().map_or(0, |u| u.version);
    NodeDelta {
        attestation: None,
        node,
        generation,
        heartbeat,
        kind: DeltaKind::Incremental { from: 0 },
        updates,
        watermark_after,
    }
}

fn set(version: u64, key: &str, len: usize) -> Update {
    Update {
        sig: None,
        version,
        change: Change::Set {
            key: key.into(),
            value: vec![0xab; len],
        },
    }
}

#[test]
fn endless_new_identities_never_grow_the_view_and_forgotten_records_beyond_max_nodes() {
    let l = small_limits();
    let mut a = core_limited(Limits {
        max_datagrams_per_peer_per_sec: 0,
        ..l.clone()
    });
    let mut t = Duration::ZERO;
    for i in 0..2_000u32 {
        t += Duration::from_millis(10);
        let _ = a.handle_datagram(src(i), &ack(vec![fresh(hostile_id(i), 1, 1, vec![])]), t);
        // Whatever got in dies and is forgotten (what the failure detector does after
        // dead_grace_period), leaving a forgotten record each time.
        if i % 7 == 0 {
            let ids: Vec<NodeId> = a.node_ids().filter(|n| *n != a.id()).cloned().collect();
            for n in ids {
                a.forget(&n, t);
            }
        }
        assert_within(&a.footprint(), &l);
    }
    let f = a.footprint();
    assert_eq!(f.nodes + f.forgotten, l.max_nodes, "{f:?}");
    assert!(a.stats().dropped_nodes > 1_900);
    // Once the forgotten records expire (forgotten_retention), new nodes are admitted again.
    let later = t + a.config().forgotten_retention + Duration::from_secs(1);
    a.handle_timeout(later);
    a.handle_datagram(
        src(99_999),
        &ack(vec![fresh(hostile_id(99_999), 1, 1, vec![])]),
        later,
    )
    .unwrap();
    assert!(a.node_ids().any(|n| *n == hostile_id(99_999)));
}

#[test]
fn a_datagram_listing_as_many_nodes_as_fit_is_bounded_by_max_nodes() {
    let l = small_limits();
    let mut a = core_limited(l.clone());
    let delta: Vec<NodeDelta> = (0..55)
        .map(|i| fresh(hostile_id(i), 1, 1, vec![]))
        .collect();
    let d = ack(delta);
    assert!(d.len() <= 1_400, "{}", d.len());
    a.handle_datagram(src(1), &d, secs(1)).unwrap();
    assert_within(&a.footprint(), &l);
    assert_eq!(a.footprint().nodes, l.max_nodes);
    assert_eq!(a.stats().dropped_nodes, 55 - (l.max_nodes as u64 - 1));
}

#[test]
fn huge_values_are_rejected_and_many_keys_are_cut_at_max_keys_per_node() {
    let l = small_limits();
    let mut a = core_limited(l.clone());
    let too_big = ack(vec![fresh(hostile_id(1), 1, 1, vec![set(1, "k", 65)])]);
    assert_eq!(
        a.handle_datagram(src(1), &too_big, secs(1))
            .unwrap_err()
            .reason(),
        RejectReason::LimitExceeded
    );
    let many: Vec<Update> = (1..=12).map(|v| set(v, &format!("k{v}"), 64)).collect();
    a.handle_datagram(
        src(1),
        &ack(vec![fresh(hostile_id(1), 1, 1, many)]),
        secs(1),
    )
    .unwrap();
    let f = a.footprint();
    assert_within(&f, &l);
    assert_eq!(f.max_entries_per_node, l.max_keys_per_node);
}

#[test]
fn a_flood_from_one_source_is_rate_limited_and_other_peers_still_get_through() {
    let l = small_limits();
    let mut a = core_limited(l.clone());
    let d = syn(vec![entry(&hostile_id(1), 1, 1, 0)]);
    let mut accepted = 0;
    for _ in 0..10_000 {
        if a.handle_datagram(src(1), &d, secs(1)).is_ok() {
            accepted += 1;
        }
        while a.poll_transmit().is_some() {}
    }
    assert_eq!(accepted, l.max_datagrams_per_peer_per_sec);
    assert_eq!(a.stats().rejected.rate_limited, 10_000 - 50);
    // Another peer is not affected, and the flooder gets its rate back as time passes.
    a.handle_datagram(src(2), &d, secs(1)).unwrap();
    let half = Duration::from_millis(1_500);
    let mut later = 0;
    for _ in 0..100 {
        if a.handle_datagram(src(1), &d, half).is_ok() {
            later += 1;
        }
    }
    assert_eq!(later, 25, "half a second refills half the bucket");
}

#[test]
fn a_flood_of_spoofed_sources_keeps_the_rate_limiter_table_bounded() {
    let l = small_limits();
    let mut a = core_limited(l.clone());
    let d = syn(vec![]);
    for i in 0..20_000u32 {
        let _ = a.handle_datagram(src(i), &d, secs(1));
        while a.poll_transmit().is_some() {}
        assert!(a.footprint().tracked_peers <= l.max_tracked_peers);
    }
    // The table is full (every bucket spent a token this second, so none can be evicted).
    assert_eq!(a.footprint().tracked_peers, l.max_tracked_peers);
    // After a second of quiet every bucket is full again: new sources are admitted.
    a.handle_datagram(src(1_000_000), &d, secs(3)).unwrap();
}

#[test]
fn a_digest_claiming_everything_draws_one_bounded_answer_and_changes_nothing() {
    let mut a = core_limited(small_limits());
    a.set("k", b"v", secs(0)).unwrap();
    let before = a.view();
    let entries: Vec<_> = (0..30)
        .map(|i| entry(&hostile_id(i), u64::MAX, u64::MAX, u64::MAX))
        .chain([entry(a.id(), 0, 0, 0)])
        .collect();
    a.handle_datagram(src(1), &syn(entries), secs(1)).unwrap();
    assert_eq!(a.view(), before, "a digest is a claim, never stored");
    let out = sent(&mut a); // checks every datagram fits the MTU and decodes
    assert_eq!(out.len(), 1);
    let Message::SynAck { delta, .. } = &out[0].1 else {
        panic!("{out:?}")
    };
    assert_eq!(delta.len(), 1, "only our own state is news to the peer");
}

#[test]
fn counters_near_u64_max_do_not_overflow_or_wedge_the_node() {
    let mut a = core_a();
    let m = u64::MAX;
    let d = ack(vec![
        // A peer claiming the largest generation, heartbeat and versions for itself.
        NodeDelta {
            attestation: None,
            node: id("b", 2),
            generation: m,
            heartbeat: m,
            kind: DeltaKind::Incremental { from: 0 },
            updates: vec![set(m - 1, "x", 3)],
            watermark_after: m,
        },
        // ... and for a third node (without signatures nothing tells a forgery apart).
        NodeDelta {
            attestation: None,
            node: id("c", 3),
            generation: m,
            heartbeat: m,
            kind: DeltaKind::Reset { gc_floor: m },
            updates: vec![],
            watermark_after: m,
        },
    ]);
    a.handle_datagram(addr(2), &d, secs(1)).unwrap();
    // Every counter at u64::MAX.
    let wedged = Some(NodeSummary {
        generation: m,
        heartbeat: m,
        watermark: m,
    });
    assert_eq!(a.summary(&id("b", 2)), wedged);
    // The node keeps working: rounds, writes, answers, all within the MTU.
    for s in 2..20 {
        a.handle_timeout(secs(s));
        a.set("k", &[s as u8], secs(s)).unwrap();
        a.handle_datagram(addr(2), &syn(vec![entry(&id("b", 2), m, m, m)]), secs(s))
            .unwrap();
        sent(&mut a);
    }
    assert_eq!(a.summary(a.id()).map(|s| s.watermark), Some(18));
    // Larger claims cannot exist: the record is wedged at u64::MAX until it is forgotten
    // (documented in docs/spec/wire.md; signatures close it for members).
    let d = ack(vec![fresh(id("b", 2), m, m, vec![])]);
    a.handle_datagram(addr(2), &d, secs(30)).unwrap();
    assert_eq!(a.summary(&id("b", 2)), wedged);
}

#[test]
fn a_clock_jump_to_the_end_of_time_does_not_overflow_the_timer() {
    let mut a = core_a();
    a.handle_timeout(secs(1));
    a.handle_timeout(Duration::MAX);
    assert_eq!(a.poll_timeout(), Some(Duration::MAX));
    a.handle_timeout(Duration::MAX);
    a.set("k", b"v", Duration::MAX).unwrap();
    // A backwards clock is treated as the largest time seen: nothing breaks.
    a.handle_timeout(secs(2));
    a.handle_datagram(addr(2), &syn(vec![]), secs(3)).unwrap();
    sent(&mut a);
}

#[test]
fn honest_nodes_keep_converging_while_an_attacker_floods_them() {
    let limits = Limits {
        max_nodes: 16,
        max_keys_per_node: 32,
        max_datagrams_per_peer_per_sec: 20,
        max_tracked_peers: 64,
        ..Limits::default()
    };
    let mut sim = Sim::cluster(5, NetModel::default(), 7, |c| {
        c.limits = limits.clone();
        c.gossip_interval = Duration::from_millis(200);
    });
    assert!(sim.run_until(secs(30), |s| s.converged()));
    let mut n = 0u32;
    for round in 0..200u64 {
        // Honest writes continue ...
        if round % 10 == 0 {
            sim.set((round as usize / 10) % 5, &format!("k{round}"), b"honest");
        }
        // ... while the attacker floods every node with new identities at u64::MAX, huge
        // values, full key sets, and a datagram storm from one source.
        for i in 0..5 {
            let mut batch = Vec::new();
            for _ in 0..8 {
                n += 1;
                let keys = (1..=40).map(|v| set(v, &format!("x{v}"), 1)).collect();
                batch.push(ack(vec![fresh(hostile_id(n), u64::MAX, u64::MAX, keys)]));
            }
            batch.push(ack(vec![fresh(
                hostile_id(n),
                1,
                1,
                vec![set(1, "k", 513)],
            )]));
            for _ in 0..50 {
                batch.push(syn(vec![]));
            }
            sim.with_core(i, |core, now| {
                for (j, d) in batch.iter().enumerate() {
                    let _ = core.handle_datagram(src(n + j as u32 % 4), d, now);
                }
                assert_within(&core.footprint(), &limits);
            });
        }
        sim.run_for(Duration::from_millis(100));
    }
    assert!(
        sim.run_until(secs(30), |s| s.views_agree()),
        "honest nodes did not converge under attack"
    );
    for i in 0..5 {
        assert_within(&sim.core(i).footprint(), &limits);
    }
}

/// A structurally valid message from a hostile peer: ids from a small pool (so that they
/// collide), counters at both ends of the range, keys from a pool, values around the limit.
fn hostile_message() -> impl Strategy<Value = (u32, Message)> {
    let counter = prop_oneof![0..4u64, Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()];
    // Sometimes the receiver itself ("a"): gossip about a node from others is never applied.
    let node = prop_oneof![5 => (0..40u32).prop_map(hostile_id), 1 => Just(id("a", 1))];
    let update = (
        1..12u64,
        0..10u8,
        prop_oneof![0..70usize, Just(64)],
        any::<bool>(),
    );
    let node_delta = (
        node.clone(),
        counter.clone(),
        counter.clone(),
        any::<bool>(),
        0..3u64,
        proptest::collection::vec(update, 0..10),
    )
        .prop_map(|(node, generation, heartbeat, reset, from, ups)| {
            let mut updates: Vec<Update> = Vec::new();
            let mut v = from;
            for (step, key, len, del) in ups {
                v = v.saturating_add(step);
                let key = format!("k{key}");
                updates.push(Update {
                    sig: None,
                    version: v,
                    change: if del {
                        Change::Delete { key }
                    } else {
                        Change::Set {
                            key,
                            value: vec![1; len],
                        }
                    },
                });
            }
            NodeDelta {
                attestation: None,
                node,
                generation,
                heartbeat,
                kind: if reset {
                    DeltaKind::Reset { gc_floor: from }
                } else {
                    DeltaKind::Incremental { from }
                },
                watermark_after: v,
                updates,
            }
        });
    let delta = proptest::collection::vec(node_delta, 0..6);
    let digest_entries = proptest::collection::vec(
        (node, counter.clone(), counter.clone(), counter)
            .prop_map(|(n, g, h, w)| entry(&n, g, h, w)),
        0..12,
    );
    (
        0..4u32,
        prop_oneof![
            (digest_entries.clone(), delta.clone()).prop_map(|(e, delta)| Message::Syn {
                mode: GossipMode::PushPull,
                digest: Some(full_digest(e)),
                delta,
            }),
            (digest_entries, delta.clone()).prop_map(|(e, delta)| Message::SynAck {
                digest: Some(full_digest(e)),
                delta,
            }),
            delta.prop_map(|delta| Message::Ack { delta }),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn structurally_valid_hostile_sequences_keep_memory_bounded_and_own_state_intact(
        msgs in proptest::collection::vec(hostile_message(), 1..40),
    ) {
        let l = small_limits();
        let mut a = core_limited(l.clone());
        a.set("mine", b"1", secs(0)).unwrap();
        let own = a.node(a.id());
        let mut t = secs(0);
        for (k, (from, m)) in msgs.into_iter().enumerate() {
            t += Duration::from_millis(30);
            let bytes = encode(m);
            if bytes.len() > 1_400 {
                continue;
            }
            if let Err(e) = a.handle_datagram(src(from), &bytes, t) {
                // Our own encoder wrote it: only the semantic checks can refuse it.
                prop_assert!(
                    matches!(
                        e.reason(),
                        RejectReason::Invalid | RejectReason::LimitExceeded | RejectReason::RateLimited
                    ),
                    "{}", e
                );
            }
            sent(&mut a);
            if k % 5 == 0 {
                a.handle_timeout(t);
                sent(&mut a);
            }
            prop_assert_eq!(a.node(a.id()).map(|n| n.entries), own.clone().map(|n| n.entries));
            assert_within(&a.footprint(), &l);
        }
        // The node still answers an honest peer, within the MTU.
        a.handle_datagram(addr(9), &syn(vec![]), t + secs(1)).unwrap();
        prop_assert_eq!(sent(&mut a).len(), 1);
    }
}

#[test]
fn the_default_limits_validate_with_the_default_mtu() {
    Config::new("a", addr(1)).validate().unwrap();
}
