//! Engine-style tests: feed one input to a core, assert the exact list of outputs (decoded
//! datagrams and events).

mod support;

use gossip_core::wire::{Change, DeltaKind, Digest, DigestRange, Message, NodeDelta, Update};
use gossip_core::{Event, GossipMode, NodeSummary, Status, WriteError};
use support::*;

#[test]
fn a_new_core_knows_only_itself_and_is_due_to_gossip_immediately() {
    let a = core_a();
    let v = a.view();
    assert_eq!(v.nodes.len(), 1);
    assert_eq!(v.nodes[0].id, id("a", 1));
    assert_eq!(v.nodes[0].generation, 1);
    assert_eq!((v.nodes[0].heartbeat, v.nodes[0].watermark), (0, 0));
    assert_eq!(a.poll_timeout(), Some(secs(0)));
}

#[test]
fn an_isolated_node_gossips_with_a_seed() {
    let mut c = config("a", 1);
    c.seeds = vec![addr(9)];
    let mut a = core_with(c);
    a.handle_timeout(secs(0));
    let a_id = id("a", 1);
    assert_sent_one(
        &mut a,
        addr(9),
        syn_of(
            GossipMode::PushPull,
            Some(vec![entry(&a_id, 1, 1, 0)]),
            vec![],
        ),
    );
    assert_eq!(a.poll_timeout(), Some(secs(1)));
    assert!(events(&mut a).is_empty());
}

#[test]
fn a_syn_from_a_peer_that_lacks_a_write_gets_a_synack_carrying_it() {
    let mut a = core_a();
    assert_eq!(a.set("k", b"v", secs(0)), Ok(1));
    let b = id("b", 2);
    a.handle_datagram(addr(2), &syn(vec![entry(&b, 1, 3, 0)]), secs(0))
        .unwrap();
    let a_id = id("a", 1);
    assert_sent_one(
        &mut a,
        addr(2),
        synack_of(
            vec![entry(&a_id, 1, 0, 1)],
            vec![nd(&a_id, 1, 0, INC0, vec![set(1, "k", b"v")], 1)],
        ),
    );
    assert!(events(&mut a).is_empty(), "a syn carries no delta");
}

#[test]
fn a_syn_from_a_peer_missing_only_later_versions_gets_an_incremental_delta_from_its_watermark() {
    let mut a = core_a();
    a.set("x", b"1", secs(0)).unwrap();
    a.set("y", b"2", secs(0)).unwrap();
    a.set("x", b"3", secs(0)).unwrap();
    let a_id = id("a", 1);
    a.handle_datagram(addr(2), &syn(vec![entry(&a_id, 1, 0, 1)]), secs(0))
        .unwrap();
    let out = sent(&mut a);
    let Message::SynAck { delta, .. } = &out[0].1 else {
        panic!("{out:?}")
    };
    // x@1 was superseded by x@3; y@2 and x@3 are sent, in version order.
    assert_eq!(
        delta,
        &vec![nd(
            &a_id,
            1,
            0,
            DeltaKind::Incremental { from: 1 },
            vec![set(2, "y", b"2"), set(3, "x", b"3")],
            3
        )]
    );
}

#[test]
fn a_synack_is_applied_and_answered_with_an_ack_carrying_what_the_peer_lacks() {
    let mut a = core_a();
    let (a_id, b) = (id("a", 1), id("b", 2));
    let synack = encode(synack_of(
        vec![entry(&b, 1, 3, 2)],
        vec![nd(
            &b,
            1,
            3,
            INC0,
            vec![set(1, "x", b"1"), set(2, "y", b"2")],
            2,
        )],
    ));
    a.handle_datagram(addr(2), &synack, secs(5)).unwrap();
    assert_eq!(
        events(&mut a),
        vec![
            Event::NodeJoined {
                node: b.clone(),
                generation: 1
            },
            Event::KeySet {
                node: b.clone(),
                key: "x".into(),
                version: 1
            },
            Event::KeySet {
                node: b.clone(),
                key: "y".into(),
                version: 2
            },
        ]
    );
    assert_sent_one(
        &mut a,
        addr(2),
        Message::Ack {
            delta: vec![nd(&a_id, 1, 0, INC0, vec![], 0)],
        },
    );
    let v = a.view();
    let bv = v.node(&b).unwrap();
    assert_eq!((bv.generation, bv.heartbeat, bv.watermark), (1, 3, 2));
    assert_eq!(bv.status, Status::Alive);
}

#[test]
fn in_pull_mode_the_synack_carries_no_digest_and_gets_no_ack() {
    let mut a = core_a();
    let b = id("b", 2);
    let syn = encode(syn_of(
        GossipMode::Pull,
        Some(vec![entry(&b, 1, 1, 0)]),
        vec![],
    ));
    a.handle_datagram(addr(2), &syn, secs(0)).unwrap();
    let a_id = id("a", 1);
    assert_sent_one(
        &mut a,
        addr(2),
        Message::SynAck {
            digest: None,
            delta: vec![nd(&a_id, 1, 0, INC0, vec![], 0)],
        },
    );
    let synack = encode(Message::SynAck {
        digest: None,
        delta: vec![nd(&b, 1, 1, INC0, vec![], 0)],
    });
    a.handle_datagram(addr(2), &synack, secs(0)).unwrap();
    assert!(sent(&mut a).is_empty());
}

#[test]
fn in_push_mode_a_syn_carries_a_delta_and_gets_no_reply() {
    let mut a = core_in_mode(GossipMode::Push);
    a.set("k", b"v", secs(0)).unwrap();
    a.start_round_with(addr(2), secs(0));
    let a_id = id("a", 1);
    assert_sent_one(
        &mut a,
        addr(2),
        syn_of(
            GossipMode::Push,
            None,
            vec![nd(&a_id, 1, 1, INC0, vec![set(1, "k", b"v")], 1)],
        ),
    );
    let b = id("b", 2);
    let push = encode(syn_of(
        GossipMode::Push,
        None,
        vec![nd(&b, 1, 1, INC0, vec![set(1, "x", b"y")], 1)],
    ));
    a.handle_datagram(addr(2), &push, secs(0)).unwrap();
    assert!(sent(&mut a).is_empty());
    assert_eq!(a.get(&b, "x").unwrap().value, Some(&b"y"[..]));
}

#[test]
fn a_peer_behind_the_gc_floor_gets_a_reset_not_an_incremental_delta() {
    let mut a = core_a();
    a.set("k", b"v", secs(0)).unwrap();
    a.delete("k", secs(0)).unwrap();
    a.handle_timeout(secs(3600)); // tombstone grace period: 1 h
    let v = a.view();
    assert_eq!((v.nodes[0].watermark, v.nodes[0].gc_floor), (2, 2));
    assert!(v.nodes[0].entries.is_empty());
    let (a_id, b) = (id("a", 1), id("b", 2));
    a.handle_datagram(
        addr(2),
        &syn(vec![entry(&a_id, 1, 0, 1), entry(&b, 1, 1, 0)]),
        secs(3600),
    )
    .unwrap();
    assert_sent_one(
        &mut a,
        addr(2),
        synack_of(
            vec![entry(&a_id, 1, 1, 2)],
            vec![nd(&a_id, 1, 1, DeltaKind::Reset { gc_floor: 2 }, vec![], 2)],
        ),
    );
    assert_eq!(a.stats().resets_sent, 1);
}

#[test]
fn a_peer_at_the_gc_floor_gets_an_incremental_delta() {
    let mut a = core_a();
    a.set("k", b"v", secs(0)).unwrap();
    a.delete("k", secs(0)).unwrap();
    a.set("z", b"1", secs(3000)).unwrap();
    a.handle_timeout(secs(3600));
    let a_id = id("a", 1);
    a.handle_datagram(addr(2), &syn(vec![entry(&a_id, 1, 1, 2)]), secs(3600))
        .unwrap();
    let out = sent(&mut a);
    let Message::SynAck { delta, .. } = &out[0].1 else {
        panic!()
    };
    assert_eq!(
        delta,
        &vec![nd(
            &a_id,
            1,
            1,
            DeltaKind::Incremental { from: 2 },
            vec![set(3, "z", b"1")],
            3
        )]
    );
}

#[test]
fn a_reset_replaces_the_entries_and_drops_keys_whose_tombstones_were_collected() {
    let mut a = core_a();
    let b = id("b", 2);
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 1, 1, INC0, vec![set(1, "k", b"v")], 1)],
        secs(0),
    );
    events(&mut a);
    deliver_ack_from_b(
        &mut a,
        vec![nd(
            &b,
            1,
            2,
            DeltaKind::Reset { gc_floor: 2 },
            vec![set(3, "z", b"1")],
            3,
        )],
        secs(1),
    );
    assert_eq!(
        events(&mut a),
        vec![
            Event::KeySet {
                node: b.clone(),
                key: "z".into(),
                version: 3
            },
            Event::KeyDeleted {
                node: b.clone(),
                key: "k".into(),
                version: 2
            },
        ]
    );
    let v = a.view();
    let bv = v.node(&b).unwrap();
    assert_eq!((bv.watermark, bv.gc_floor), (3, 2));
    assert_eq!(bv.entries.keys().collect::<Vec<_>>(), vec!["z"]);
    assert_eq!(a.stats().resets_applied, 1);
}

#[test]
fn an_incremental_delta_beyond_the_watermark_is_a_gap_and_is_ignored() {
    let mut a = core_a();
    let b = id("b", 2);
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 1, INC0, vec![], 0)], secs(0));
    events(&mut a);
    deliver_ack_from_b(
        &mut a,
        vec![nd(
            &b,
            1,
            1,
            DeltaKind::Incremental { from: 5 },
            vec![set(6, "k", b"v")],
            6,
        )],
        secs(0),
    );
    assert!(events(&mut a).is_empty());
    assert_eq!(a.view().node(&b).unwrap().watermark, 0);
    assert_eq!(a.stats().gaps, 1);
    // A node delta of an unknown node that does not start from scratch is a gap too.
    let unknown = nd(
        &id("c", 3),
        1,
        1,
        DeltaKind::Incremental { from: 2 },
        vec![],
        2,
    );
    deliver_ack(&mut a, addr(3), vec![unknown], secs(0));
    assert_eq!(a.stats().gaps, 2);
    assert!(a.view().node(&id("c", 3)).is_none());
}

#[test]
fn an_unknown_node_is_learned_only_from_a_delta_starting_at_zero() {
    let mut a = core_a();
    let b = id("b", 2);
    deliver_ack_from_b(
        &mut a,
        vec![nd(
            &b,
            1,
            1,
            DeltaKind::Incremental { from: 1 },
            vec![set(2, "k", b"v")],
            2,
        )],
        secs(0),
    );
    assert!(a.view().node(&b).is_none());
    assert!(events(&mut a).is_empty());
}

#[test]
fn an_equal_version_is_the_same_change_and_is_not_applied_twice() {
    let mut a = core_a();
    let b = id("b", 2);
    let d = ack(vec![nd(&b, 1, 1, INC0, vec![set(1, "k", b"v")], 1)]);
    a.handle_datagram(addr(2), &d, secs(0)).unwrap();
    assert_eq!(events(&mut a).len(), 2);
    a.handle_datagram(addr(2), &d, secs(0)).unwrap();
    assert!(events(&mut a).is_empty());
}

#[test]
fn a_newer_generation_replaces_the_node_and_an_older_one_is_ignored() {
    let mut a = core_a();
    let b = id("b", 2);
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 5, 9, INC0, vec![set(1, "old", b"1")], 1)],
        secs(0),
    );
    events(&mut a);
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 6, 1, INC0, vec![set(1, "new", b"2")], 1)],
        secs(1),
    );
    assert_eq!(
        events(&mut a),
        vec![
            Event::NodeJoined {
                node: b.clone(),
                generation: 6
            },
            Event::KeySet {
                node: b.clone(),
                key: "new".into(),
                version: 1
            },
        ]
    );
    // The previous generation, even with a higher heartbeat, never overwrites the newer one.
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 5, 100, INC0, vec![set(2, "old2", b"1")], 2)],
        secs(2),
    );
    assert!(events(&mut a).is_empty());
    let v = a.view();
    let bv = v.node(&b).unwrap();
    assert_eq!((bv.generation, bv.heartbeat), (6, 1));
    assert_eq!(bv.entries.keys().collect::<Vec<_>>(), vec!["new"]);
}

#[test]
fn gossip_about_the_node_itself_is_ignored() {
    let mut a = core_a();
    let a_id = id("a", 1);
    deliver_ack_from_b(
        &mut a,
        vec![nd(&a_id, 9, 9, INC0, vec![set(1, "k", b"v")], 1)],
        secs(0),
    );
    let v = a.view();
    assert_eq!(v.nodes.len(), 1);
    assert_eq!((v.nodes[0].generation, v.nodes[0].watermark), (1, 0));
    assert!(events(&mut a).is_empty());
}

#[test]
fn a_silent_node_is_suspected_then_dead_then_forgotten_and_stale_gossip_does_not_revive_it() {
    let mut c = config("a", 1);
    c.dead_grace_period = secs(60);
    let mut a = core_with(c);
    let b = id("b", 2);
    let stale = ack(vec![nd(&b, 1, 1, INC0, vec![], 0)]);
    a.handle_datagram(addr(2), &stale, secs(0)).unwrap();
    assert_eq!(
        events(&mut a),
        vec![Event::NodeJoined {
            node: b.clone(),
            generation: 1
        }]
    );
    a.handle_timeout(secs(2));
    assert!(
        events(&mut a).is_empty(),
        "φ is low 2 s after the last heartbeat"
    );
    a.handle_timeout(secs(10));
    assert_eq!(
        events(&mut a),
        vec![Event::NodeSuspected { node: b.clone() }]
    );
    a.handle_timeout(secs(19));
    assert!(events(&mut a).is_empty());
    a.handle_timeout(secs(20));
    assert_eq!(events(&mut a), vec![Event::NodeDead { node: b.clone() }]);
    a.handle_timeout(secs(79));
    assert!(events(&mut a).is_empty());
    a.handle_timeout(secs(80));
    assert_eq!(
        events(&mut a),
        vec![Event::NodeForgotten {
            node: b.clone(),
            generation: 1
        }]
    );
    let v = a.view();
    assert!(v.node(&b).is_none());
    assert_eq!(v.forgotten.len(), 1);
    assert_eq!(
        (v.forgotten[0].generation, v.forgotten[0].heartbeat),
        (1, 1)
    );
    // No zombie: the same (generation, heartbeat) is not evidence of life.
    a.handle_datagram(addr(3), &stale, secs(81)).unwrap();
    assert!(events(&mut a).is_empty());
    assert!(a.view().node(&b).is_none());
    assert_eq!(a.stats().zombies_ignored, 1);
    // A fresh heartbeat is.
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 2, INC0, vec![], 0)], secs(82));
    assert_eq!(
        events(&mut a),
        vec![Event::NodeJoined {
            node: b.clone(),
            generation: 1
        }]
    );
    assert!(a.view().forgotten.is_empty());
}

#[test]
fn a_fresh_heartbeat_revives_a_suspected_node() {
    let mut a = core_a();
    let b = id("b", 2);
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 1, INC0, vec![], 0)], secs(0));
    a.handle_timeout(secs(10));
    events(&mut a);
    assert_eq!(a.status(&b), Some(Status::Suspected));
    // The same heartbeat again is not fresh.
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 1, INC0, vec![], 0)], secs(11));
    assert_eq!(a.status(&b), Some(Status::Suspected));
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 2, INC0, vec![], 0)], secs(11));
    assert_eq!(events(&mut a), vec![Event::NodeUp { node: b.clone() }]);
    assert_eq!(a.status(&b), Some(Status::Alive));
}

#[test]
fn a_leave_marker_makes_the_node_left_and_heartbeats_do_not_revive_it() {
    let mut a = core_a();
    let b = id("b", 2);
    let leave = Update {
        version: 2,
        change: Change::Leave,
        sig: None,
    };
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 1, 1, INC0, vec![set(1, "k", b"v"), leave], 2)],
        secs(0),
    );
    assert_eq!(
        events(&mut a),
        vec![
            Event::NodeJoined {
                node: b.clone(),
                generation: 1
            },
            Event::KeySet {
                node: b.clone(),
                key: "k".into(),
                version: 1
            },
            Event::NodeLeft { node: b.clone() },
        ]
    );
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 1, 5, DeltaKind::Incremental { from: 2 }, vec![], 2)],
        secs(1),
    );
    assert!(events(&mut a).is_empty());
    assert_eq!(a.status(&b), Some(Status::Left));
    a.handle_timeout(secs(100));
    assert!(events(&mut a).is_empty(), "a left node is not suspected");
    // It is not chosen as a gossip peer.
    assert!(sent(&mut a).is_empty());
}

#[test]
fn leaving_stops_the_heartbeat_and_is_acknowledged_by_a_peer_digest() {
    let mut a = core_a();
    let a_id = id("a", 1);
    a.set("k", b"v", secs(0)).unwrap();
    assert_eq!(a.leave(secs(0)), Ok(2));
    assert_eq!(a.leave(secs(0)), Err(WriteError::Left));
    assert_eq!(a.set("k", b"w", secs(0)), Err(WriteError::Left));
    a.start_round_with(addr(2), secs(0));
    let out = sent(&mut a);
    let Message::Syn { digest, .. } = &out[0].1 else {
        panic!()
    };
    assert_eq!(
        digest.as_ref().unwrap().entries,
        vec![entry(&a_id, 1, 0, 2)]
    );
    assert!(!a.left_acknowledged());
    a.handle_datagram(addr(2), &syn(vec![entry(&a_id, 1, 0, 1)]), secs(1))
        .unwrap();
    assert!(
        !a.left_acknowledged(),
        "watermark 1 does not cover the leave"
    );
    a.handle_datagram(addr(2), &syn(vec![entry(&a_id, 1, 0, 2)]), secs(1))
        .unwrap();
    assert!(a.left_acknowledged());
}

#[test]
fn writes_beyond_the_limits_are_refused_without_consuming_a_version() {
    let mut c = config("a", 1);
    c.limits.max_keys_per_node = 1;
    let mut a = core_with(c);
    assert_eq!(a.set("", b"v", secs(0)), Err(WriteError::EmptyKey));
    assert!(matches!(
        a.set(&"k".repeat(200), b"v", secs(0)),
        Err(WriteError::KeyTooLong { .. })
    ));
    assert!(matches!(
        a.set("k", &[0; 600], secs(0)),
        Err(WriteError::ValueTooLong { .. })
    ));
    assert_eq!(a.set("k", b"v", secs(0)), Ok(1));
    assert_eq!(a.set("j", b"v", secs(0)), Err(WriteError::TooManyKeys));
    assert_eq!(a.set("k", b"w", secs(0)), Ok(2));
}

#[test]
fn max_delta_updates_cuts_the_delta_and_lowers_watermark_after() {
    let mut c = config("a", 1);
    c.max_delta_updates = Some(2);
    let mut a = core_with(c);
    for k in ["p", "q", "r"] {
        a.set(k, b"v", secs(0)).unwrap();
    }
    let (a_id, b) = (id("a", 1), id("b", 2));
    a.handle_datagram(addr(2), &syn(vec![entry(&b, 1, 0, 0)]), secs(0))
        .unwrap();
    let out = sent(&mut a);
    let Message::SynAck { delta, .. } = &out[0].1 else {
        panic!()
    };
    assert_eq!(
        delta,
        &vec![nd(
            &a_id,
            1,
            0,
            INC0,
            vec![set(1, "p", b"v"), set(2, "q", b"v")],
            2
        )]
    );
    assert_eq!(a.stats().deltas_cut, 1);
}

#[test]
fn the_mtu_cuts_the_delta_at_a_prefix_in_version_order() {
    let mut a = core_a();
    for i in 0..10 {
        a.set(&format!("k{i}"), &[i as u8; 400], secs(0)).unwrap();
    }
    let (a_id, b) = (id("a", 1), id("b", 2));
    a.handle_datagram(addr(2), &syn(vec![entry(&b, 1, 0, 0)]), secs(0))
        .unwrap();
    let out = sent(&mut a);
    let Message::SynAck { delta, .. } = &out[0].1 else {
        panic!()
    };
    assert_eq!(delta.len(), 1);
    let d = &delta[0];
    let versions: Vec<u64> = d.updates.iter().map(|u| u.version).collect();
    // Three 400-byte values fit in 1,400 bytes next to the digest; the fourth does not.
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(d.watermark_after, 3);
    assert_eq!(d.node, a_id);
}

#[test]
fn a_digest_that_does_not_fit_is_partial_and_its_range_rotates_over_every_node() {
    let mut a = core_a();
    let n = 200u32;
    let mut ids = vec![id("a", 1)];
    for i in 0..n {
        let node = gossip_core::NodeId::new(
            format!("node-with-a-long-name-{i:04}"),
            std::net::SocketAddr::from(([10, 1, (i / 250) as u8, (i % 250) as u8], 7000)),
        );
        deliver_ack_from_b(&mut a, vec![nd(&node, 1, 1, INC0, vec![], 0)], secs(0));
        ids.push(node);
    }
    ids.sort();
    let mut seen = std::collections::BTreeSet::new();
    let mut prev_end: Option<gossip_core::NodeId> = None;
    let mut rounds = 0;
    while seen.len() < ids.len() {
        rounds += 1;
        assert!(rounds < 50, "the rotation does not cover every node");
        a.start_round_with(addr(2), secs(0));
        let out = sent(&mut a);
        let Message::Syn {
            digest: Some(Digest { range, entries }),
            ..
        } = &out[0].1
        else {
            panic!()
        };
        let DigestRange { start, end } = range.clone().expect("partial digest");
        if let Some(p) = &prev_end {
            assert_eq!(&start, p, "consecutive ranges are contiguous");
        }
        // The own entry comes first (node.md §5), then hot nodes, then the range's entries.
        assert_eq!(entries[0].node, ids[0]);
        for e in entries {
            if range.as_ref().unwrap().contains(&e.node) {
                seen.insert(e.node.clone());
            }
        }
        prev_end = Some(end);
    }
    // The 200 nodes just learned are hot (node.md §5): they hold up to half of each digest
    // while their marks last, so the range advances by fewer ids per round than it would alone.
    let per = ids.len().div_ceil(rounds);
    assert!(rounds >= 2 && per > 5, "rounds {rounds}");
}

/// Starts a round of pull-mode node "a" (own watermark `watermark`) with node b and asserts
/// the Syn it sends: its digest entry and its own node delta carrying only `k = v` (version 1).
#[track_caller]
fn assert_pull_syn_carries_only_k<R: rand::RngCore>(a: &mut gossip_core::Core<R>, watermark: u64) {
    a.start_round_with(addr(2), secs(0));
    let a_id = id("a", 1);
    assert_sent_one(
        a,
        addr(2),
        syn_of(
            GossipMode::Pull,
            Some(vec![entry(&a_id, 1, 1, watermark)]),
            vec![nd(&a_id, 1, 1, INC0, vec![set(1, "k", b"v")], 1)],
        ),
    );
}

#[test]
fn in_pull_mode_a_syn_also_carries_the_senders_own_node_delta() {
    let mut a = core_in_mode(GossipMode::Pull);
    a.set("k", b"v", secs(0)).unwrap();
    assert_pull_syn_carries_only_k(&mut a, 1);
}

#[test]
fn in_pull_mode_the_senders_own_node_delta_is_cut_by_max_delta_updates() {
    let mut c = config("a", 1);
    c.mode = GossipMode::Pull;
    c.max_delta_updates = Some(1);
    let mut a = core_with(c);
    a.set("k", b"v", secs(0)).unwrap();
    a.set("l", b"w", secs(0)).unwrap();
    assert_pull_syn_carries_only_k(&mut a, 2);
}

#[test]
fn an_ack_with_nothing_to_carry_is_not_sent() {
    let mut a = core_a();
    let (a_id, b) = (id("a", 1), id("b", 2));
    let synack = encode(synack_of(
        vec![entry(&b, 1, 3, 0), entry(&a_id, 1, 0, 0)],
        vec![nd(&b, 1, 3, INC0, vec![], 0)],
    ));
    a.handle_datagram(addr(2), &synack, secs(0)).unwrap();
    assert!(sent(&mut a).is_empty());
}

#[test]
fn a_forgotten_node_that_had_left_never_returns_without_a_higher_generation() {
    let mut c = config("a", 1);
    c.dead_grace_period = secs(60);
    let mut a = core_with(c);
    let b = id("b", 2);
    let leave = Update {
        version: 1,
        change: Change::Leave,
        sig: None,
    };
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 4, INC0, vec![leave], 1)], secs(0));
    a.handle_timeout(secs(60));
    events(&mut a);
    assert!(a.view().forgotten[0].left);
    // A fresher heartbeat of the same generation, still circulating: ignored.
    deliver_ack(
        &mut a,
        addr(3),
        vec![nd(&b, 1, 9, INC0, vec![], 0)],
        secs(61),
    );
    assert!(a.node(&b).is_none());
    assert!(events(&mut a).is_empty());
    // A restart (higher generation) does come back.
    deliver_ack_from_b(&mut a, vec![nd(&b, 2, 1, INC0, vec![], 0)], secs(62));
    assert_eq!(
        events(&mut a),
        vec![Event::NodeJoined {
            node: b.clone(),
            generation: 2
        }]
    );
}

/// A node `a` (max one update per delta) holding its own write and b's versions 1 and 2,
/// answering a Syn (`mode`) whose digest lacks a entirely and holds b only up to version 1,
/// with b's heartbeat older than a's. Returns the SynAck's delta.
fn synack_delta_after_a_cut(mode: GossipMode) -> Vec<NodeDelta> {
    let mut c = config("a", 1);
    c.max_delta_updates = Some(1);
    let mut a = core_with(c);
    let b = id("b", 2);
    deliver_ack_from_b(
        &mut a,
        vec![nd(
            &b,
            1,
            5,
            INC0,
            vec![set(1, "x", b"1"), set(2, "y", b"2")],
            2,
        )],
        secs(0),
    );
    a.set("k", b"v", secs(0)).unwrap();
    let c_id = id("c", 3);
    let syn = encode(Message::Syn {
        mode,
        digest: Some(full_digest(vec![entry(&b, 1, 4, 1), entry(&c_id, 1, 1, 0)])),
        delta: vec![],
    });
    a.handle_datagram(addr(3), &syn, secs(0)).unwrap();
    let out = sent(&mut a);
    let Message::SynAck { delta, .. } = &out[0].1 else {
        panic!()
    };
    delta.clone()
}

#[test]
fn after_a_cut_a_pull_synack_sends_nodes_needing_updates_as_heartbeat_only_node_deltas() {
    assert_eq!(
        synack_delta_after_a_cut(GossipMode::Pull),
        vec![
            nd(&id("a", 1), 1, 0, INC0, vec![set(1, "k", b"v")], 1),
            nd(
                &id("b", 2),
                1,
                5,
                DeltaKind::Incremental { from: 1 },
                vec![],
                1
            ),
        ]
    );
}

#[test]
fn after_a_cut_a_push_pull_synack_omits_node_deltas_that_would_carry_only_the_heartbeat() {
    // The peer holds b's generation: b's heartbeat travels in the SynAck's digest instead.
    assert_eq!(
        synack_delta_after_a_cut(GossipMode::PushPull),
        vec![nd(&id("a", 1), 1, 0, INC0, vec![set(1, "k", b"v")], 1)]
    );
}

#[test]
fn after_a_reset_only_the_keys_whose_version_changed_are_reported() {
    let mut a = core_a();
    let b = id("b", 2);
    deliver_ack_from_b(
        &mut a,
        vec![nd(
            &b,
            1,
            1,
            INC0,
            vec![set(1, "p", b"1"), set(2, "q", b"1")],
            2,
        )],
        secs(0),
    );
    events(&mut a);
    // b overwrote q (version 3) and collected the tombstone of a key a never saw (version 4):
    // the reset carries p unchanged and q's new version.
    deliver_ack_from_b(
        &mut a,
        vec![nd(
            &b,
            1,
            2,
            DeltaKind::Reset { gc_floor: 4 },
            vec![set(1, "p", b"1"), set(3, "q", b"2")],
            4,
        )],
        secs(1),
    );
    assert_eq!(
        events(&mut a),
        vec![Event::KeySet {
            node: b.clone(),
            key: "q".into(),
            version: 3
        }]
    );
    let v = a.view();
    let bv = v.node(&b).unwrap();
    assert_eq!((bv.watermark, bv.gc_floor), (4, 4));
    assert_eq!(a.stats().resets_applied, 1);
}

#[test]
fn a_reset_that_brings_nothing_new_is_ignored_and_drops_no_updates() {
    let mut a = core_a();
    let b = id("b", 2);
    let updates = vec![set(1, "p", b"1"), set(2, "q", b"1")];
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 1, 1, INC0, updates.clone(), 2)],
        secs(0),
    );
    events(&mut a);
    let before = a.view().node(&b).unwrap().clone();
    // The same state as a reset (a peer that believed a was behind b's GC floor).
    deliver_ack_from_b(
        &mut a,
        vec![nd(&b, 1, 1, DeltaKind::Reset { gc_floor: 1 }, updates, 2)],
        secs(1),
    );
    assert!(events(&mut a).is_empty());
    assert_eq!(a.view().node(&b).unwrap(), &before);
    assert_eq!(a.stats().resets_applied, 0);
    // Nothing was refused by a limit: the updates were already held.
    assert_eq!(a.stats().dropped_updates, 0);
}

/// The MessagePack array header of a delta grows from 1 byte (fixarray, up to 15 node deltas)
/// to 3 bytes (array16) at the 16th node delta: the budget must count the header of the array
/// the next node delta would make.
#[test]
fn a_delta_of_sixteen_node_deltas_filled_to_the_byte_stays_within_the_mtu() {
    let peers: Vec<gossip_core::NodeId> =
        (0..19).map(|i| id(&format!("n{i:02}"), 100 + i)).collect();
    let mut boundary_cases = 0;
    // Node deltas of ~45 bytes: sweeping the MTU byte by byte over a few of them puts the
    // end of the 16th node delta at every offset from the budget's end.
    for mtu in 600..=1_000 {
        let mut c = config("a", 1);
        c.mtu = mtu;
        // Small limits, so that these MTUs are valid configurations.
        c.limits.max_name_len = 8;
        c.limits.max_key_len = 16;
        c.limits.max_value_len = 64;
        c.max_digest_len = 200;
        let Ok(mut a) = gossip_core::Core::new(
            c,
            <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1),
            secs(0),
        ) else {
            continue;
        };
        for (i, p) in peers.iter().enumerate() {
            let d = ack(vec![nd(
                p,
                1,
                1,
                INC0,
                vec![set(1, "k", &[i as u8; 20])],
                1,
            )]);
            a.handle_datagram(addr(100 + i as u8), &d, secs(0)).unwrap();
        }
        assert_eq!(a.view().nodes.len(), 20);
        // A pull-mode Syn from a peer that knows nothing: the SynAck is a delta only, and
        // every node delta is wanted.
        let syn = encode(syn_of(GossipMode::Pull, Some(vec![]), vec![]));
        a.handle_datagram(addr(2), &syn, secs(0)).unwrap();
        let t = a.poll_transmit().expect("the SynAck is sent");
        assert!(t.payload.len() <= mtu, "{} > mtu {mtu}", t.payload.len());
        let env = gossip_core::wire::decode(&t.payload, mtu).unwrap();
        let Message::SynAck {
            digest: None,
            delta,
        } = env.message
        else {
            panic!("expected a SynAck without digest")
        };
        // Filled to within 2 bytes: a 1-byte header budget would have let the 16th in.
        if delta.len() == 16 && t.payload.len() + 2 >= mtu {
            boundary_cases += 1;
        }
    }
    assert!(
        boundary_cases > 0,
        "the sweep never filled 16 node deltas to the byte"
    );
}

#[test]
fn with_live_peers_a_seed_is_added_to_about_one_round_in_live_plus_one() {
    let mut c = config("a", 1);
    let seed = addr(9); // not a node of the view
    c.seeds = vec![seed];
    let mut a = core_with(c);
    let peers = [id("b", 2), id("c", 3), id("d", 4)];
    let rounds = 200u64;
    let mut seed_rounds = 0;
    for r in 0..rounds {
        // Fresh heartbeats keep the three peers alive: live = 3 in every round.
        let d = ack(peers
            .iter()
            .map(|p| nd(p, 1, r + 1, INC0, vec![], 0))
            .collect());
        a.handle_datagram(addr(2), &d, secs(r)).unwrap();
        a.handle_timeout(secs(r));
        if sent(&mut a).iter().any(|(dst, _)| *dst == seed) {
            seed_rounds += 1;
        }
    }
    assert_eq!(a.stats().rounds, rounds);
    // node.md §4 step 4: probability 1 / (1 + live) = 1/4, so about 50 of 200 rounds.
    assert!(
        (30..=70).contains(&seed_rounds),
        "seed in {seed_rounds} of {rounds} rounds"
    );
}

#[test]
fn the_footprint_counts_exactly_what_the_core_holds() {
    let mut c = config("a", 1);
    c.dead_grace_period = secs(60);
    let mut a = core_with(c);
    let (bb, ccc) = (id("bb", 2), id("ccc", 3));
    // bb goes silent: suspected, dead, then forgotten (a forgotten record).
    deliver_ack_from_b(&mut a, vec![nd(&bb, 1, 1, INC0, vec![], 0)], secs(0));
    for t in [10, 20, 80] {
        a.handle_timeout(secs(t));
    }
    assert_eq!(a.view().forgotten.len(), 1);
    a.set("key", b"value", secs(80)).unwrap();
    a.set("k2", b"v", secs(80)).unwrap();
    a.delete("k2", secs(80)).unwrap(); // a tombstone: its key, no value
    while a.poll_transmit().is_some() {}
    events(&mut a);
    let updates = vec![set(1, "x", b"yy"), set(2, "zz", b""), set(3, "w", b"1234")];
    deliver_ack(
        &mut a,
        addr(3),
        vec![nd(&ccc, 1, 1, INC0, updates, 3)],
        secs(80),
    );
    a.handle_timeout(secs(81)); // a gossip round: one Syn, to ccc
    let f = a.footprint();
    assert_eq!((f.nodes, f.forgotten), (2, 1));
    assert_eq!((f.entries, f.max_entries_per_node), (5, 3));
    // Names a, ccc and the forgotten bb; a's key+value and k2; ccc's x+yy, zz and w+1234.
    assert_eq!(f.bytes, 1 + 3 + 2 + (3 + 5) + 2 + (1 + 2) + 2 + (1 + 4));
    assert_eq!(f.tracked_peers, 2);
    // Queued: the Syn, and NodeJoined plus three KeySet events.
    let transmits = std::iter::from_fn(|| a.poll_transmit()).count();
    assert_eq!((transmits, events(&mut a).len()), (1, 4));
    assert_eq!(f.queued, 5);
    assert_eq!(a.footprint().queued, 0);
}

#[test]
fn in_pull_mode_the_senders_own_node_delta_is_cut_to_a_quarter_of_the_datagram() {
    let mut a = core_in_mode(GossipMode::Pull);
    for i in 0..10u8 {
        a.set(&format!("k{i}"), &[i; 100], secs(0)).unwrap();
    }
    a.start_round_with(addr(2), secs(0));
    let out = sent(&mut a);
    let Message::Syn { delta, .. } = &out[0].1 else {
        panic!("{out:?}")
    };
    // A quarter of the space (~347 bytes) holds the node delta's header and two of the
    // ~110-byte updates, the first two in version order.
    assert_eq!(delta.len(), 1);
    let versions: Vec<u64> = delta[0].updates.iter().map(|u| u.version).collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(delta[0].watermark_after, 2);
    let third = delta[0].encoded_len() + delta[0].updates[1].encoded_len();
    assert!(third > 1_400 / 4 - 10, "a third update would not fit");
    assert!(delta[0].encoded_len() < 1_400 / 4);
}

#[test]
fn a_synack_whose_delta_fills_its_share_still_carries_the_complete_digest_when_it_fits_a_quarter() {
    let (a_id, b) = (id("a", 1), id("b", 2));
    let mut complete_deltas = 0;
    // 19 values of 60 bytes and a 20th of every length in the sweep. A node delta of 16 or
    // more updates has no slack in its size estimate (array16 header), so some delta ends
    // exactly at the space left after reserving the complete digest (protocol.md §3: the
    // SynAck digest gets up to a quarter of the space, the delta the rest).
    for len in 0..=200usize {
        let mut a = core_a();
        for i in 0..19u8 {
            a.set(&format!("k{i:02}"), &[i; 60], secs(0)).unwrap();
        }
        a.set("zz", &vec![9; len], secs(0)).unwrap();
        a.handle_datagram(addr(2), &syn(vec![entry(&b, 1, 1, 0)]), secs(0))
            .unwrap();
        let out = sent(&mut a);
        assert_eq!(
            out.len(),
            1,
            "one SynAck within the MTU (value of {len} bytes)"
        );
        let (d, delta) = synack_parts(&out[0].1);
        assert_eq!(
            d,
            &full_digest(vec![entry(&a_id, 1, 0, 20)]),
            "value of {len} bytes"
        );
        if delta[0].updates.len() == 20 {
            complete_deltas += 1;
        }
    }
    assert!(
        complete_deltas > 0 && complete_deltas < 201,
        "the sweep crosses the cut"
    );
}

#[test]
fn of_two_leave_markers_the_later_version_is_held() {
    let mut a = core_a();
    let b = id("b", 2);
    let leave = |version| Update {
        version,
        change: Change::Leave,
        sig: None,
    };
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 1, INC0, vec![leave(1)], 1)], secs(0));
    assert_eq!(a.view().node(&b).unwrap().left, Some(1));
    // Every update above the watermark is applied (protocol.md §5 rule 6), a second leave too.
    deliver_ack_from_b(
        &mut a,
        vec![nd(
            &b,
            1,
            1,
            DeltaKind::Incremental { from: 1 },
            vec![set(2, "k", b"v"), leave(3)],
            3,
        )],
        secs(1),
    );
    let v = a.view();
    let bv = v.node(&b).unwrap();
    assert_eq!(
        (bv.left, bv.watermark, bv.status),
        (Some(3), 3, Status::Left)
    );
}

#[test]
fn a_value_of_exactly_max_value_len_is_accepted_and_one_byte_more_is_refused() {
    let mut a = core_a();
    let max = a.config().limits.max_value_len;
    assert_eq!(a.set("k", &vec![0; max], secs(0)), Ok(1));
    assert!(matches!(
        a.set("k", &vec![0; max + 1], secs(0)),
        Err(WriteError::ValueTooLong { .. })
    ));
}

#[test]
fn in_pull_mode_a_syn_carries_the_senders_own_node_delta_even_when_it_fills_its_quarter() {
    let a_id = id("a", 1);
    let mut with_update = 0;
    // One value of every length in the sweep: some own node delta ends exactly at the
    // quarter of the space it may take.
    for len in 250..=400usize {
        let mut a = core_in_mode(GossipMode::Pull);
        a.set("k", &vec![7; len], secs(0)).unwrap();
        a.start_round_with(addr(2), secs(0));
        let out = sent(&mut a);
        let Message::Syn { delta, .. } = &out[0].1 else {
            panic!("{out:?}")
        };
        assert_eq!(delta.len(), 1, "value of {len} bytes");
        assert_eq!(delta[0].node, a_id);
        if delta[0].updates.len() == 1 {
            with_update += 1;
        }
    }
    assert!(
        with_update > 0 && with_update < 151,
        "the sweep crosses the cut"
    );
}

#[test]
fn a_key_of_exactly_max_key_len_is_accepted_and_one_byte_more_is_refused() {
    let mut a = core_a();
    let max = a.config().limits.max_key_len;
    assert_eq!(a.set(&"k".repeat(max), b"v", secs(0)), Ok(1));
    assert!(matches!(
        a.set(&"k".repeat(max + 1), b"v", secs(0)),
        Err(WriteError::KeyTooLong { .. })
    ));
}

#[test]
fn the_syn_datagram_and_byte_counters_count_exactly_what_was_sent() {
    let mut a = core_a();
    a.set("k", b"v", secs(0)).unwrap();
    let (mut datagrams, mut bytes) = (0u64, 0u64);
    for (i, peer) in [2u8, 3, 4].into_iter().enumerate() {
        a.start_round_with(addr(peer), secs(i as u64));
        while let Some(t) = a.poll_transmit() {
            datagrams += 1;
            bytes += t.payload.len() as u64;
        }
    }
    assert_eq!(datagrams, 3);
    assert_eq!(a.stats().syns_sent, 3);
    assert_eq!(a.stats().datagrams_out, datagrams);
    assert_eq!(a.stats().bytes_out, bytes);
}

#[test]
fn when_every_known_peer_is_dead_every_round_also_contacts_a_seed() {
    let mut c = config("a", 1);
    let seed = addr(9); // not a node of the view
    c.seeds = vec![seed];
    c.dead_grace_period = secs(3_600); // the dead peers stay in the view
    let mut a = core_with(c);
    let peers = [id("b", 2), id("c", 3)];
    let d = ack(peers.iter().map(|p| nd(p, 1, 1, INC0, vec![], 0)).collect());
    a.handle_datagram(addr(2), &d, secs(0)).unwrap();
    for p in &peers {
        assert!(a.convict(p, secs(1)));
        assert_eq!(a.status(p), Some(Status::Dead));
    }
    // node.md §4 step 4: with no live peer, the seed is added with probability 1.
    for r in 2..42 {
        a.handle_timeout(secs(r));
        let out = sent(&mut a);
        assert!(
            out.iter().any(|(dst, _)| *dst == seed),
            "round at {r} s: no seed among {:?}",
            out.iter().map(|(dst, _)| dst).collect::<Vec<_>>()
        );
    }
}

#[test]
fn after_a_cut_delta_the_next_delta_starts_after_the_node_that_was_cut() {
    let mut c = config("a", 1);
    c.mode = GossipMode::Push;
    c.max_delta_updates = Some(1);
    let mut a = core_with(c);
    let names = ["b", "c", "d", "e", "f"];
    let learned: Vec<NodeDelta> = names
        .iter()
        .enumerate()
        .map(|(i, n)| nd(&id(n, 2 + i as u8), 1, 1, INC0, vec![set(1, "k", b"v")], 1))
        .collect();
    deliver_ack_from_b(&mut a, learned, secs(0));
    sent(&mut a);
    // Per round, the nodes whose node delta carries an update (one update per delta).
    let mut carried = Vec::new();
    for r in 1..=6 {
        a.start_round_with(addr(9), secs(r));
        let out = sent(&mut a);
        let Message::Syn { delta, .. } = &out[0].1 else {
            panic!("{out:?}")
        };
        let with_updates: Vec<String> = delta
            .iter()
            .filter(|d| !d.updates.is_empty())
            .map(|d| d.node.name.clone())
            .collect();
        carried.push(with_updates.join(","));
    }
    // Order a, b, c, d, e, f: the first delta carries b's update and is cut at c, so the next
    // starts after c (at d), and so on: every node gets its turn.
    assert_eq!(carried, ["b", "d", "f", "c", "e", "b"]);
}

#[test]
fn after_an_mtu_cut_a_later_node_delta_is_sent_without_its_updates() {
    let mut a = core_in_mode(GossipMode::Push);
    let (b, cc, d) = (id("b", 2), id("c", 3), id("d", 4));
    let big = |v: u64, k: &str| set(v, k, &[1; 480]);
    let first = vec![nd(&b, 1, 1, INC0, vec![big(1, "k1"), big(2, "k2")], 2)];
    deliver_ack_from_b(&mut a, first, secs(0));
    let second = vec![
        nd(
            &b,
            1,
            1,
            DeltaKind::Incremental { from: 2 },
            vec![big(3, "k3")],
            3,
        ),
        nd(&cc, 1, 1, INC0, vec![set(1, "k", b"v")], 1),
        nd(
            &d,
            1,
            1,
            INC0,
            vec![set(1, "k", b"v"), set(2, "l", b"v")],
            2,
        ),
    ];
    deliver_ack_from_b(&mut a, second, secs(0));
    sent(&mut a);
    a.start_round_with(addr(9), secs(1));
    let out = sent(&mut a);
    let Message::Syn { delta, .. } = &out[0].1 else {
        panic!("{out:?}")
    };
    let of = |n: &gossip_core::NodeId| delta.iter().find(|d| d.node == *n).unwrap();
    // b's three 480-byte updates do not fit a 1,400-byte datagram: cut after the second.
    assert_eq!(of(&b).updates.len(), 2);
    assert_eq!(of(&b).watermark_after, 2);
    // c's one small update and d's two would fit, but after a cut a node delta carries no
    // updates (protocol.md §4, as the model does): heartbeat only.
    for later in [&cc, &d] {
        assert_eq!(of(later).updates, vec![]);
        assert_eq!(of(later).kind, DeltaKind::Incremental { from: 0 });
        assert_eq!(of(later).watermark_after, 0);
    }
}

/// Per MTU from `lo` to `hi`: how many of `b`'s updates (twelve of 60 bytes) a push Syn
/// carries, and the Syn's length.
fn updates_carried_per_mtu(lo: usize, hi: usize) -> Vec<(usize, usize, usize)> {
    let mut rows = Vec::new();
    for mtu in lo..=hi {
        let mut c = config("a", 1);
        c.mode = GossipMode::Push;
        c.limits.max_name_len = 8;
        c.limits.max_key_len = 16;
        c.limits.max_value_len = 64;
        c.mtu = mtu;
        let mut a = gossip_core::Core::new(
            c,
            <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1),
            secs(0),
        )
        .expect("a valid MTU");
        let b = id("b", 2);
        for from in [0, 4, 8] {
            let updates = (from + 1..=from + 4)
                .map(|v| set(v, &format!("k{v}"), &[1; 60]))
                .collect();
            let kind = DeltaKind::Incremental { from };
            let learned = vec![nd(&b, 1, 1, kind, updates, from + 4)];
            deliver_ack_from_b(&mut a, learned, secs(0));
        }
        sent(&mut a);
        a.start_round_with(addr(9), secs(1));
        let t = a.poll_transmit().unwrap();
        let Ok(gossip_core::wire::Envelope {
            message: Message::Syn { delta, .. },
            ..
        }) = gossip_core::wire::decode(&t.payload, mtu)
        else {
            panic!("not a Syn")
        };
        let carried = delta
            .iter()
            .find(|d| d.node == b)
            .map_or(0, |d| d.updates.len());
        rows.push((mtu, carried, t.payload.len()));
    }
    rows
}

#[test]
fn an_update_is_sent_at_the_first_mtu_its_conservative_size_fits_exactly() {
    let rows = updates_carried_per_mtu(501, 900);
    let mut steps = 0;
    for w in rows.windows(2) {
        let ((_, before, _), (mtu, after, len)) = (w[0], w[1]);
        if after > before {
            steps += 1;
            // The budget counts the updates array header as 3 bytes (1 here, under 16
            // updates): the next update is sent as soon as that conservative size fits.
            assert_eq!(
                mtu - len,
                2,
                "{after} updates first at mtu {mtu}, Syn {len} bytes"
            );
        }
    }
    assert!(steps >= 2, "the sweep crosses update boundaries: {rows:?}");
}

#[test]
fn the_datagram_and_byte_counters_count_every_received_datagram_even_rejected_ones() {
    let mut a = core_a();
    let b = id("b", 2);
    let good = ack(vec![nd(&b, 1, 1, INC0, vec![], 0)]);
    let garbage = vec![0xc1u8; 10];
    a.handle_datagram(addr(2), &good, secs(0)).unwrap();
    assert!(a.handle_datagram(addr(2), &garbage, secs(0)).is_err());
    assert_eq!(a.stats().datagrams_in, 2);
    assert_eq!(a.stats().bytes_in, (good.len() + garbage.len()) as u64);
}

#[test]
fn after_its_tombstones_are_collected_a_node_is_sent_from_scratch_as_a_reset() {
    for mode in [GossipMode::Pull, GossipMode::PushPull] {
        let mut c = config("a", 1);
        c.mode = mode;
        let mut a = core_with(c);
        a.set("k", b"v", secs(0)).unwrap();
        a.set("gone", b"v", secs(0)).unwrap();
        a.delete("gone", secs(0)).unwrap();
        assert_eq!(a.collect_tombstones(&id("a", 1), secs(0)), 1);
        let own_delta = |out: &[(std::net::SocketAddr, Message)]| match &out[0].1 {
            Message::Syn { delta, .. } | Message::SynAck { delta, .. } => delta
                .iter()
                .find(|d| d.node == id("a", 1))
                .cloned()
                .expect("a's node delta"),
            m => panic!("{m:?}"),
        };
        let d = if mode == GossipMode::Pull {
            // A pull Syn carries the sender's own node delta (node.md §4.1).
            a.start_round_with(addr(2), secs(1));
            own_delta(&sent(&mut a))
        } else {
            // A peer that has never heard of a gets a from scratch.
            a.handle_datagram(addr(2), &syn(vec![entry(&id("b", 2), 1, 1, 0)]), secs(1))
                .unwrap();
            own_delta(&sent(&mut a))
        };
        assert_eq!(d.kind, DeltaKind::Reset { gc_floor: 3 }, "{mode:?}");
        assert_eq!(d.updates.len(), 1, "{mode:?}: k only");
        assert_eq!(d.watermark_after, 3, "{mode:?}");
    }
}

/// Per MTU from `lo` to `hi`: how many of its own updates (twelve of 60 bytes) a pull Syn
/// carries.
fn own_updates_in_a_pull_syn_per_mtu(lo: usize, hi: usize) -> Vec<(usize, usize)> {
    let mut rows = Vec::new();
    for mtu in lo..=hi {
        let mut c = config("a", 1);
        c.mode = GossipMode::Pull;
        c.limits.max_name_len = 8;
        c.limits.max_key_len = 16;
        c.limits.max_value_len = 64;
        c.mtu = mtu;
        let mut a = core_with(c);
        for v in 1..=12 {
            a.set(&format!("k{v:02}"), &[1; 60], secs(0)).unwrap();
        }
        a.start_round_with(addr(2), secs(1));
        let out = sent(&mut a);
        let Message::Syn { delta, .. } = &out[0].1 else {
            panic!("{out:?}")
        };
        rows.push((mtu, delta.first().map_or(0, |d| d.updates.len())));
    }
    rows
}

#[test]
fn a_pull_syns_own_node_delta_takes_updates_up_to_a_quarter_of_the_datagram_to_the_byte() {
    let rows = own_updates_in_a_pull_syn_per_mtu(501, 1400);
    let steps: Vec<(usize, usize)> = rows
        .windows(2)
        .filter(|w| w[1].1 > w[0].1)
        .map(|w| w[1])
        .collect();
    // Each update is 69 bytes: one more fits every 4 × 69 = 276 bytes of MTU. Pinned: the
    // MTUs at which the count first rises (a quarter of the datagram after the envelope,
    // minus the node delta's header counted with a 3-byte updates array header).
    assert_eq!(steps, vec![(658, 2), (934, 3), (1210, 4)], "{rows:?}");
}

#[test]
fn an_ack_filled_by_many_small_updates_stays_within_the_mtu_at_every_mtu() {
    let mut carried = std::collections::BTreeSet::new();
    for mtu in 501..=760 {
        let c = small_config(mtu);
        let mut a = core_with(c);
        for v in 0..60 {
            a.set(&format!("k{v:02}"), &[1; 10], secs(0)).unwrap();
        }
        // The peer's SynAck shows it lacks all of a's updates.
        let synack = encode(synack_of(vec![entry(&id("a", 1), 1, 0, 0)], vec![]));
        a.handle_datagram(addr(2), &synack, secs(1)).unwrap();
        let out = sent(&mut a); // asserts every datagram is within the MTU
        assert_eq!(a.stats().acks_sent, 1);
        let Message::Ack { delta } = &out[0].1 else {
            panic!("{out:?}")
        };
        carried.insert(delta[0].updates.len());
    }
    // The sweep covers Acks of more than 15 updates (a 3-byte array header, no slack).
    assert!(carried.iter().any(|&n| n >= 16), "{carried:?}");
    assert!(carried.len() >= 10, "{carried:?}");
}

#[test]
fn heartbeat_only_node_deltas_fill_a_pull_synack_to_the_byte() {
    let nodes: Vec<gossip_core::NodeId> = (0..40u8)
        .map(|i| id(&format!("n{i:02}"), 100 + i))
        .collect();
    let mut steps = Vec::new();
    let mut last = 0;
    for mtu in 760..=1000 {
        let c = small_config(mtu);
        let mut a = core_with(c);
        for part in nodes.chunks(20) {
            let learned = ack(part
                .iter()
                .map(|n| nd(n, 1, 1_000, INC0, vec![], 0))
                .collect());
            a.handle_datagram(addr(3), &learned, secs(0)).unwrap();
        }
        sent(&mut a);
        // A pull Syn whose complete digest shows every node at an older heartbeat.
        let mut entries: Vec<_> = nodes.iter().map(|n| entry(n, 1, 1, 0)).collect();
        entries.push(entry(&id("a", 1), 1, 1, 0));
        let syn = encode(syn_of(GossipMode::Pull, Some(entries), vec![]));
        a.handle_datagram(addr(2), &syn, secs(0)).unwrap();
        assert_eq!(a.stats().synacks_sent, 1);
        let t = a.poll_transmit().unwrap();
        let env = gossip_core::wire::decode(&t.payload, mtu).unwrap();
        let Message::SynAck { delta, .. } = env.message else {
            panic!("{env:?}")
        };
        if delta.len() > last {
            steps.push((mtu, delta.len(), t.payload.len()));
        }
        last = delta.len();
    }
    // Heartbeat-only node deltas have an exact size: each one more is sent at the first MTU
    // where it fits, and the SynAck then fills the datagram to the byte.
    assert!(steps.len() >= 6, "{steps:?}");
    for &(mtu, n, len) in &steps[1..] {
        assert_eq!(len, mtu, "{n} node deltas first at mtu {mtu}: {steps:?}");
    }
}

#[test]
fn convict_and_forget_change_only_live_peers_and_move_the_view_epoch() {
    let mut a = core_a();
    let b = id("b", 2);
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 1, INC0, vec![], 0)], secs(0));
    events(&mut a);
    // The node itself and unknown nodes are never convicted or forgotten.
    assert!(!a.convict(&id("a", 1), secs(1)));
    assert!(!a.convict(&id("zz", 9), secs(1)));
    assert!(!a.forget(&id("a", 1), secs(1)));
    assert_eq!(a.status(&id("a", 1)), Some(Status::Alive));
    let e0 = a.view_epoch();
    assert!(a.convict(&b, secs(1)));
    assert_eq!(a.status(&b), Some(Status::Dead));
    assert_eq!(events(&mut a), vec![Event::NodeDead { node: b.clone() }]);
    let e1 = a.view_epoch();
    assert!(e1 > e0, "convicting moved the epoch {e0} -> {e1}");
    // Already dead: nothing changes.
    assert!(!a.convict(&b, secs(2)));
    assert_eq!(a.view_epoch(), e1);
    assert!(a.forget(&b, secs(3)));
    assert!(a.view_epoch() > e1, "forgetting moved the epoch");
    assert!(a.status(&b).is_none());
    assert_eq!(a.view().forgotten.len(), 1);
    assert!(!a.forget(&b, secs(3)));
}

#[test]
fn a_forgotten_record_is_kept_for_exactly_forgotten_retention() {
    let mut c = config("a", 1);
    c.forgotten_retention = secs(100);
    let mut a = core_with(c);
    let b = id("b", 2);
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 1, INC0, vec![], 0)], secs(0));
    assert!(a.forget(&b, secs(10)));
    a.handle_timeout(secs(110) - std::time::Duration::from_millis(1));
    assert_eq!(
        a.view().forgotten.len(),
        1,
        "kept just before the retention ends"
    );
    a.handle_timeout(secs(110));
    assert_eq!(a.view().forgotten.len(), 0, "dropped when it ends");
}

#[test]
fn a_node_that_left_sends_its_writes_then_its_leave_marker_in_version_order() {
    let mut a = core_in_mode(GossipMode::Push);
    assert_eq!(a.set("k", b"v", secs(0)), Ok(1));
    assert_eq!(a.set("l", b"v", secs(0)), Ok(2));
    assert_eq!(a.leave(secs(0)), Ok(3));
    a.start_round_with(addr(2), secs(1));
    let out = sent(&mut a);
    let Message::Syn { delta, .. } = &out[0].1 else {
        panic!("{out:?}")
    };
    let own = delta.iter().find(|d| d.node == id("a", 1)).unwrap();
    let versions: Vec<u64> = own.updates.iter().map(|u| u.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(own.updates[2].change, Change::Leave);
}

#[test]
fn a_digest_heartbeat_of_the_held_generation_is_a_heartbeat_arrival_that_revives_a_suspected_node()
{
    let mut a = core_a();
    let (a_id, b, c_id) = (id("a", 1), id("b", 2), id("c", 3));
    deliver_ack_from_b(&mut a, vec![nd(&b, 1, 1, INC0, vec![], 0)], secs(0));
    a.handle_timeout(secs(10));
    events(&mut a);
    assert_eq!(a.status(&b), Some(Status::Suspected));
    let epoch = a.view_epoch();
    let own_heartbeat = a.summary(&a_id).map(|s| s.heartbeat);
    // The same heartbeat, and a newer one of another generation, are not arrivals.
    a.handle_datagram(addr(3), &syn(vec![entry(&b, 1, 1, 0)]), secs(11))
        .unwrap();
    a.handle_datagram(addr(3), &syn(vec![entry(&b, 2, 7, 0)]), secs(11))
        .unwrap();
    assert_eq!(a.status(&b), Some(Status::Suspected));
    assert_eq!(
        a.summary(&b),
        Some(NodeSummary {
            generation: 1,
            heartbeat: 1,
            watermark: 0
        })
    );
    // A fresher heartbeat of the held generation, in a Syn's digest, is.
    a.handle_datagram(
        addr(3),
        &syn(vec![
            entry(&b, 1, 4, 0),
            entry(&a_id, 1, 9, 0),
            entry(&c_id, 1, 3, 0),
        ]),
        secs(12),
    )
    .unwrap();
    assert_eq!(events(&mut a), vec![Event::NodeUp { node: b.clone() }]);
    assert_eq!(a.status(&b), Some(Status::Alive));
    assert_eq!(
        a.summary(&b),
        Some(NodeSummary {
            generation: 1,
            heartbeat: 4,
            watermark: 0
        })
    );
    assert!(a.view_epoch() > epoch, "the status changed");
    // The own entry and an unknown node are not taken from a digest (the unknown node is
    // learned from a node delta, §5.4).
    assert_eq!(a.summary(&a_id).map(|s| s.heartbeat), own_heartbeat);
    assert_eq!(a.summary(&c_id), None);
}

#[test]
fn a_synacks_digest_heartbeats_reach_the_syn_sender_and_its_ack_omits_heartbeat_only_news() {
    let mut a = core_a();
    let (b, c_id) = (id("b", 2), id("c", 3));
    deliver_ack_from_b(
        &mut a,
        vec![
            nd(&b, 1, 1, INC0, vec![], 0),
            nd(&c_id, 1, 6, INC0, vec![], 0),
        ],
        secs(0),
    );
    // b's SynAck: a newer heartbeat for b itself, an older one for c (a holds 6).
    let synack = encode(synack_of(
        vec![
            entry(&id("a", 1), 1, 0, 0),
            entry(&b, 1, 5, 0),
            entry(&c_id, 1, 2, 0),
        ],
        vec![],
    ));
    a.handle_datagram(addr(2), &synack, secs(1)).unwrap();
    assert_eq!(
        a.summary(&b),
        Some(NodeSummary {
            generation: 1,
            heartbeat: 5,
            watermark: 0
        })
    );
    // c's fresher heartbeat reached b in a's Syn digest: no Ack carries it.
    assert!(sent(&mut a).is_empty());
    assert_eq!(a.stats().acks_sent, 0);
}
