//! Duplication as redelivery (`NetworkConfig::redeliver`, `GossipAction::Redeliver`) replays on
//! the implementation: seeded random walks of the redelivering model, each with several
//! redeliveries, are exported as traces and replayed strictly (the harness hands the receiver a
//! copy of the matched datagram and keeps the datagram in flight); the implementation follows
//! the model at every step.

use gossip_conformance::harness::conformance_config;
use gossip_conformance::trace::{from_actions, replay};
use gossip_model::{GossipAction, GossipConfig};
use stateright::Model;

/// A small deterministic generator (xorshift), so the walks are the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The conformance harness's configuration (3 nodes, `max_delta` 2, crashes, restarts,
/// deletes, gc, convict, forget, leave; heartbeats unbounded) with one message in flight and
/// duplication as redelivery.
fn config(ordered: bool) -> GossipConfig {
    let mut cfg = conformance_config(3, 2, 1, ordered);
    cfg.network.redeliver = true;
    cfg
}

/// A walk of `len` steps that takes a redelivery whenever one is enabled and the coin says so.
fn walk(cfg: &GossipConfig, seed: u64, len: usize) -> Vec<GossipAction> {
    let model = cfg.clone().into_model();
    let mut rng = Rng(seed);
    let mut s = model.init_states().remove(0);
    let mut out = Vec::new();
    let mut enabled = Vec::new();
    for _ in 0..len {
        enabled.clear();
        model.actions(&s, &mut enabled);
        if enabled.is_empty() {
            break;
        }
        let redeliveries: Vec<&GossipAction> = enabled
            .iter()
            .filter(|a| matches!(a, GossipAction::Redeliver(_)))
            .collect();
        let a = if !redeliveries.is_empty() && rng.below(2) == 0 {
            redeliveries[rng.below(redeliveries.len())].clone()
        } else {
            enabled[rng.below(enabled.len())].clone()
        };
        s = model.next_state(&s, a.clone()).expect("enabled");
        out.push(a);
    }
    out
}

#[test]
fn redelivered_datagrams_replay_on_the_implementation() {
    let mut redeliveries = 0;
    for ordered in [true, false] {
        let cfg = config(ordered);
        let model = cfg.clone().into_model();
        for seed in 1..=20u64 {
            let actions = walk(&cfg, seed * 7919, 60);
            redeliveries += actions
                .iter()
                .filter(|a| matches!(a, GossipAction::Redeliver(_)))
                .count();
            let trace = from_actions(&model, &actions, true, Some(format!("walk {seed}")));
            let report = replay(&trace).expect("replayable");
            assert!(
                report.divergence.is_none(),
                "ordered {ordered}, seed {seed}: {:?}\n{}",
                report.divergence,
                gossip_model::format::run(&model, &actions)
            );
            assert_eq!(report.steps, actions.len());
        }
    }
    assert!(redeliveries >= 40, "only {redeliveries} redeliveries");
}
