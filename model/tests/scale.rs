//! The implementation's scale rules in the model: partial digests
//! (`GossipConfig::digest_entries`: own entry, rotating range, range-aware deltas) and the
//! expiry of forgotten records (`GossipConfig::expire`, past the expiry horizon). The seeded
//! bugs of these rules are in `seeded_bugs.rs`'s table.

use std::collections::BTreeMap;

use gossip_model::properties::names::*;
use gossip_model::protocol::{build_delta, digest};
use gossip_model::{
    ConfigError, DigestEntry, DigestRange, GossipConfig, GossipState, Node, NodeId, NodeView,
    Variant,
};
use stateright::{Checker, Model};

/// 3 nodes, 1 write each, a perfect network, no crash: the base of the partial-digest checks.
fn three_nodes(digest_entries: Option<usize>) -> GossipConfig {
    correct(GossipConfig {
        digest_entries,
        ..Variant::RotationNeverAdvances.witness_config()
    })
}

/// `cfg` with the correct protocol.
fn correct(cfg: GossipConfig) -> GossipConfig {
    GossipConfig {
        variant: Variant::Correct,
        ..cfg
    }
}

/// A node that knows `ids`, each at generation 1 and heartbeat 1, with nothing written.
fn node_knowing(ids: &[NodeId]) -> Node {
    let view: BTreeMap<NodeId, NodeView> =
        ids.iter().map(|&n| (n, NodeView::empty(1, 1))).collect();
    Node {
        up: true,
        seed: false,
        view,
        forgotten: BTreeMap::new(),
        writes: 0,
        deletes: 0,
        pushed: 0,
        digest_cursor: None,
    }
}

fn listed(d: &[DigestEntry]) -> Vec<NodeId> {
    d.iter().map(|e| e.node).collect()
}

#[test]
fn the_new_options_are_off_by_default() {
    let c = GossipConfig::default();
    assert_eq!(c.digest_entries, None);
    assert!(!c.expire);
}

#[test]
fn a_digest_bound_the_view_fits_changes_nothing() {
    let small = GossipConfig {
        nodes: 2,
        ..three_nodes(None)
    };
    let bounded = GossipConfig {
        digest_entries: Some(2),
        ..small.clone()
    };
    assert_eq!(
        small.into_model().reachable_states(),
        bounded.into_model().reachable_states()
    );
}

#[test]
fn bounds_that_would_list_hot_nodes_and_a_zero_bound_are_refused() {
    let c = |nodes, n| {
        GossipConfig {
            nodes,
            digest_entries: Some(n),
            ..GossipConfig::default()
        }
        .validate()
    };
    assert_eq!(c(3, 0), Err(ConfigError::ZeroDigestEntries));
    assert_eq!(
        c(5, 4),
        Err(ConfigError::HotNodesNotModelled {
            entries: 4,
            nodes: 5
        })
    );
    assert_eq!(c(5, 3), Ok(()));
    assert_eq!(c(4, 4), Ok(()));
}

#[test]
fn a_two_entry_digest_lists_the_own_entry_then_a_range_that_rotates_over_every_id() {
    let cfg = three_nodes(Some(2));
    let mut n1 = node_knowing(&[0, 1, 2]);
    // From the smallest id: n1's own entry, then n0; n1 is passed over, n2 does not fit.
    let (d, r) = digest(&cfg, 1, &mut n1);
    assert_eq!(listed(&d), vec![1, 0]);
    assert_eq!(r, Some(DigestRange { start: 0, end: 2 }));
    assert_eq!(n1.digest_cursor, Some(2));
    // The next one starts at the cursor and wraps.
    let (d, r) = digest(&cfg, 1, &mut n1);
    assert_eq!(listed(&d), vec![1, 2]);
    assert_eq!(r, Some(DigestRange { start: 2, end: 0 }));
    let (d, _) = digest(&cfg, 1, &mut n1);
    assert_eq!(listed(&d), vec![1, 0]);
}

#[test]
fn a_one_entry_digest_lists_no_own_entry_and_walks_one_id_at_a_time() {
    let cfg = three_nodes(Some(1));
    let mut n1 = node_knowing(&[0, 1, 2]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (d, r) = digest(&cfg, 1, &mut n1);
        let r = r.expect("partial");
        assert_eq!(d.len(), 1);
        assert_eq!((r.start, d[0].node), (d[0].node, d[0].node));
        seen.push((r.start, r.end));
    }
    assert_eq!(seen, vec![(0, 1), (1, 2), (2, 0)]);
}

#[test]
fn a_view_that_fits_the_bound_gets_a_complete_digest_and_keeps_no_cursor() {
    let cfg = three_nodes(Some(2));
    let mut n0 = node_knowing(&[0, 2]);
    let (d, r) = digest(&cfg, 0, &mut n0);
    assert_eq!((listed(&d), r, n0.digest_cursor), (vec![0, 2], None, None));
}

#[test]
fn a_delta_answers_only_what_a_partial_digest_covers() {
    let cfg = three_nodes(Some(1));
    // The peer lists n0 with an older heartbeat; n1 and n2 it does not list.
    let peer = [DigestEntry {
        node: 0,
        generation: 1,
        heartbeat: 0,
        watermark: 0,
    }];
    let me = node_knowing(&[0, 1, 2]);
    let covered = |start, end| {
        let range = Some(DigestRange { start, end });
        // Without `by_digest`, so that n0's heartbeat-only node delta shows.
        let d = build_delta(&cfg, 1, &mut me.clone(), Some(&peer), range, false);
        d.iter().map(|x| x.node).collect::<Vec<_>>()
    };
    // [0, 1): n1 and n2 lie outside and are not listed: nothing is said about them.
    assert_eq!(covered(0, 1), vec![0]);
    // [0, 2): n1 is inside and absent, so the peer does not know it: it is sent.
    assert_eq!(covered(0, 2), vec![0, 1]);
    // [1, 0) wraps: n1 and n2 are inside; n0 is outside but listed.
    assert_eq!(covered(1, 0), vec![0, 1, 2]);
    // [2, 2) covers every id.
    assert_eq!(covered(2, 2), vec![0, 1, 2]);
}

/// Every property as expected for the correct protocol, exhaustively (one-thread BFS).
fn assert_correct(cfg: GossipConfig) -> usize {
    let model = cfg.clone().into_model();
    let checker = model.clone().checker().threads(1).spawn_bfs().join();
    assert!(checker.is_done());
    for p in model.properties() {
        let found = checker.discovery(p.name).is_some();
        let expected = model.expected(p.name);
        let ok = match expected {
            gossip_model::Expected::Holds | gossip_model::Expected::NotFound => !found,
            gossip_model::Expected::Violated | gossip_model::Expected::Found => found,
        };
        assert!(ok, "{cfg:?}: {:?} expected {expected:?}", p.name);
    }
    checker.unique_state_count()
}

#[test]
fn the_correct_protocol_meets_every_expectation_with_one_and_two_entry_digests() {
    // Convergence and join hold at quiescence, and quiescence is reached ("all live nodes
    // converge after a write" is found), so they do not hold vacuously.
    for n in [1, 2] {
        let cfg = three_nodes(Some(n));
        assert_eq!(
            cfg.clone().into_model().expected(R_CONVERGED_AFTER_WRITE),
            gossip_model::Expected::Found
        );
        assert_correct(cfg);
    }
}

/// 3 nodes, a crash, convictions, forgetting and expiry: n0 forgets a crashed node, or one it
/// falsely convicted, while other nodes and messages may still carry its state.
fn expiry_config() -> GossipConfig {
    correct(GossipConfig {
        nodes: 3,
        writes_per_node: 0,
        ..Variant::ExpireEarly.witness_config()
    })
}

fn some_record_expired(s: &GossipState) -> bool {
    s.ghost.forgotten.keys().any(|&(x, n)| {
        let x = &s.nodes[x as usize];
        !x.forgotten.contains_key(&n) && !x.view.contains_key(&n)
    })
}

#[test]
fn past_the_expiry_horizon_no_zombie_comes_back_and_records_do_expire() {
    for cfg in [
        expiry_config(),
        correct(Variant::ExpireEarly.witness_config()),
    ] {
        assert_correct(cfg.clone());
        let model = cfg.into_model();
        assert!(model.reachable_states().iter().any(some_record_expired));
    }
}

#[test]
fn without_the_horizon_the_same_configuration_has_a_zombie() {
    let cfg = GossipConfig {
        variant: Variant::ExpireEarly,
        ..expiry_config()
    };
    let checker = cfg.into_model().checker().threads(1).spawn_bfs().join();
    assert!(checker.discovery(NO_ZOMBIE).is_some());
}
