//! The state-space reduction `GossipConfig::prune_dead_messages` is sound: on small
//! configurations, the reduced model reaches exactly the unreduced model's reachable states with
//! the dead messages removed (so it reaches no state the protocol cannot reach, and misses no
//! node state), every property has the same verdict with and without it, the state count
//! shrinks, and every seeded bug is still caught by its property.

use std::collections::HashSet;

use gossip_model::{Expected, GossipConfig, GossipState, NetworkConfig};
use stateright::{Checker, Model};

mod common;

/// The abstraction the reduction claims to compute, written out independently: drop every
/// message to a node that is down while no restart is left.
fn without_dead_messages(cfg: &GossipConfig, s: &GossipState) -> GossipState {
    let mut t = s.clone();
    if s.restarts >= cfg.restarts {
        t.network.retain(|e| s.nodes[e.to as usize].up);
    }
    t
}

fn pruned(cfg: &GossipConfig) -> GossipConfig {
    GossipConfig {
        prune_dead_messages: true,
        ..cfg.clone()
    }
}

/// Small configurations with crashes, every network kind.
fn configs() -> Vec<(&'static str, GossipConfig)> {
    let base = common::two_nodes_one_write_one_crash();
    vec![
        (
            "2 nodes, loss, 2 in flight, 1 crash",
            GossipConfig {
                network: NetworkConfig {
                    lossy: true,
                    duplicating: false,
                    ordered: false,
                    max_in_flight: 2,
                    redeliver: false,
                },
                ..base.clone()
            },
        ),
        (
            "2 nodes, FIFO links with duplication and no loss, 2 in flight, 1 crash",
            GossipConfig {
                network: NetworkConfig {
                    lossy: false,
                    duplicating: true,
                    ordered: true,
                    max_in_flight: 2,
                    redeliver: false,
                },
                ..base.clone()
            },
        ),
        (
            "2 nodes, loss, 2 crashes and 1 restart (dead only after the restart is used)",
            GossipConfig {
                crashes: 2,
                restarts: 1,
                network: NetworkConfig {
                    lossy: true,
                    duplicating: false,
                    ordered: false,
                    max_in_flight: 1,
                    redeliver: false,
                },
                ..base.clone()
            },
        ),
        (
            "3 nodes, loss, 1 in flight, 1 crash, forget",
            GossipConfig {
                nodes: 3,
                writes_per_node: 0,
                forget: true,
                ..base.clone()
            },
        ),
    ]
}

/// Every property's result (violated / holds / found / not found) by exhaustive BFS, and the
/// unique state count.
fn verdicts(cfg: &GossipConfig) -> (Vec<(&'static str, Expected)>, usize) {
    let model = cfg.clone().into_model();
    let checker = model.clone().checker().threads(1).spawn_bfs().join();
    assert!(checker.is_done());
    let d = checker.discoveries();
    let v = model
        .properties()
        .into_iter()
        .map(|p| {
            let got = match (p.expectation.discovery_is_failure(), d.contains_key(p.name)) {
                (true, true) => Expected::Violated,
                (true, false) => Expected::Holds,
                (false, true) => Expected::Found,
                (false, false) => Expected::NotFound,
            };
            (p.name, got)
        })
        .collect();
    (v, checker.unique_state_count())
}

#[test]
fn pruning_dead_messages_reaches_exactly_the_abstracted_reachable_states() {
    for (name, cfg) in configs() {
        let full = cfg.clone().into_model().reachable_states();
        let reduced = pruned(&cfg).into_model().reachable_states();
        let abstracted: HashSet<GossipState> = full
            .iter()
            .map(|s| without_dead_messages(&cfg, s))
            .collect();
        assert_eq!(reduced.len(), abstracted.len(), "{name}");
        assert!(reduced == abstracted, "{name}");
        // Every reduced state is a reachable state of the unreduced model.
        assert!(reduced.is_subset(&full), "{name}");
        assert!(reduced.len() < full.len(), "{name}: nothing pruned");
        println!(
            "{name}: {} -> {} states ({:.2}x)",
            full.len(),
            reduced.len(),
            full.len() as f64 / reduced.len() as f64
        );
    }
}

#[test]
fn pruning_dead_messages_keeps_every_property_verdict() {
    for (name, cfg) in configs() {
        let (full, n_full) = verdicts(&cfg);
        let (reduced, n_reduced) = verdicts(&pruned(&cfg));
        assert_eq!(full, reduced, "{name}");
        assert!(n_reduced < n_full, "{name}");
    }
}

#[test]
fn pruning_dead_messages_is_a_no_op_without_crashes_or_while_a_restart_is_left() {
    // No crash: nothing is ever dead.
    let cfg = GossipConfig {
        nodes: 2,
        crashes: 0,
        ..GossipConfig::default()
    };
    assert_eq!(verdicts(&cfg).1, verdicts(&pruned(&cfg)).1);
    // A crashed node that may still restart keeps its messages.
    let cfg = GossipConfig {
        nodes: 2,
        crashes: 1,
        restarts: 1,
        ..GossipConfig::default()
    };
    assert_eq!(verdicts(&cfg).1, verdicts(&pruned(&cfg)).1);
}

#[test]
fn every_seeded_bug_is_still_caught_with_dead_messages_pruned() {
    common::assert_every_seeded_bug_caught("pruning", pruned);
}

/// The default configuration (3 nodes, 1 crash, no restart): same verdicts, fewer states.
/// About 40 s in release, so ignored in CI; run with
/// `cargo test --release -p gossip-model --test reductions -- --ignored --nocapture`.
#[test]
#[ignore]
fn pruning_dead_messages_keeps_the_default_configurations_verdicts() {
    let cfg = GossipConfig::default();
    let (full, n_full) = verdicts(&cfg);
    let (reduced, n_reduced) = verdicts(&pruned(&cfg));
    assert_eq!(full, reduced);
    assert_eq!(n_full, 708_632);
    println!(
        "default: {n_full} -> {n_reduced} states ({:.2}x)",
        n_full as f64 / n_reduced as f64
    );
}
