//! The gossip model under the fairness-aware engine with strong fairness of deliveries and
//! gossip timers (fair-loss links): liveness holds for the correct protocol at small bounds,
//! and `push-once` has a convergence lasso that is strongly fair and replays.

use gossip_model::{GossipConfig, GossipState, Variant};
use gossip_proofs::gossip::{FairGossip, base_config};
use stateright::Model;
use stateright_fair::{FairChecker, FairModel, Fairness, Status};
use std::collections::HashSet;

const CONVERGE: &str = "all live nodes eventually converge, and know each other while a seed is up";
const LEAVE: &str = "a node that left is eventually seen as left by every live node that knows it";
const CRASH: &str = "a crashed node is eventually seen dead by every live node that knows it";

fn two_nodes_lossy(crashes: u8) -> GossipConfig {
    let mut cfg = GossipConfig {
        nodes: 2,
        crashes,
        ..GossipConfig::default()
    };
    cfg.network.lossy = true;
    cfg
}

fn check(cfg: GossipConfig) -> stateright_fair::FairReport<FairGossip> {
    let m = FairGossip::new(cfg.into_model());
    FairChecker::new(&m).threads(2).run().expect("run")
}

#[test]
fn the_correct_protocol_converges_and_detects_crashes_on_a_lossy_network_under_fair_loss() {
    for crashes in [0, 1] {
        let r = check(two_nodes_lossy(crashes));
        assert!(r.complete);
        for name in [CONVERGE, LEAVE, CRASH] {
            assert_eq!(
                r.status(name),
                Some(Status::Holds),
                "{name}, {crashes} crashes"
            );
        }
        assert!(r.strong_classes > 0);
    }
}

#[test]
fn the_correct_protocol_sees_a_leave_on_a_lossy_network_under_fair_loss() {
    let mut cfg = two_nodes_lossy(0);
    cfg.leave = true;
    cfg.forget = true;
    let r = check(cfg);
    for name in [CONVERGE, LEAVE, CRASH] {
        assert_eq!(r.status(name), Some(Status::Holds), "{name}");
    }
}

#[test]
fn push_once_has_a_strongly_fair_convergence_lasso() {
    let mut cfg = base_config(Some(Variant::PushOnce));
    cfg.nodes = 2;
    cfg.network.lossy = true;
    let m = FairGossip::new(cfg.into_model());
    let r = FairChecker::new(&m).threads(2).run().expect("run");
    assert_eq!(r.status(CONVERGE), Some(Status::Violated));
    let l = r
        .property(CONVERGE)
        .and_then(|p| p.lasso.as_ref())
        .expect("lasso");
    // Independent check: replay, closure, and strong fairness of the cycle.
    let mut states: Vec<&GossipState> = l.prefix.iter().map(|(s, _)| s).collect();
    states.push(&l.loop_start);
    assert!(m.init_states().contains(states[0]));
    for (i, (s, a)) in l.prefix.iter().enumerate() {
        assert_eq!(m.next_state(s, a.clone()).as_ref(), Some(states[i + 1]));
    }
    assert!(!l.cycle.is_empty());
    for (i, (s, a)) in l.cycle.iter().enumerate() {
        let next = l.cycle.get(i + 1).map_or(&l.loop_start, |(t, _)| t);
        assert_eq!(m.next_state(s, a.clone()).as_ref(), Some(next));
    }
    let taken: HashSet<u64> = l
        .cycle
        .iter()
        .filter_map(|(s, a)| m.fairness(s, a).map(|f| f.class().0))
        .collect();
    for (s, _) in &l.cycle {
        let mut acts = Vec::new();
        m.actions(s, &mut acts);
        for a in acts {
            if let Some(Fairness::Strong(c)) = m.fairness(s, &a)
                && m.next_state(s, a).is_some()
            {
                assert!(
                    taken.contains(&c.0),
                    "strong class {c:?} enabled, never taken"
                );
            }
        }
    }
    let q =
        |s: &GossipState| gossip_model::properties::agree(s) && gossip_model::properties::joined(s);
    assert!(l.cycle.iter().all(|(s, _)| !q(s)));
}

/// Measurement for docs/checking.md (`## Fair liveness`): throughput against stateright's BFS
/// and the symmetry reduction on a 3-node lossy configuration. Run with
/// `cargo test --release --test fair_gossip -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, about a minute"]
fn measure_the_engine_against_stateright_and_symmetry_on_three_nodes() {
    let mut cfg = GossipConfig {
        nodes: 3,
        crashes: 0,
        ..GossipConfig::default()
    };
    cfg.network.lossy = true;
    let m = FairGossip::new(cfg.clone().into_model());
    let c = stateright_fair::compare_with_stateright(&m, 2).expect("compare");
    println!("{c}");
    cfg.max_delta = 3; // symmetry is sound only when no delta is cut (GossipModel::symmetric_nodes)
    let model = cfg.into_model();
    let n = model.symmetric_nodes();
    let m = FairGossip::new(model);
    let s = FairChecker::new(&m)
        .threads(2)
        .symmetry(gossip_model::GossipModel::representative)
        .symmetry_report(n)
        .expect("symmetry");
    println!("{s:?}");
}
