//! The proptest state-machine harness: the **reference is the stateright model** (its own
//! `actions` and `next_state`), the **system under test is a [`Cluster`] of cores**.
//!
//! Transitions are drawn from `model.actions(state)`, so only operations the model allows are
//! generated (weighted: deliveries and gossip rounds more often than faults); `preconditions`
//! re-check membership in `model.actions(state)` only to keep shrinking honest. Every step is
//! checked by [`crate::check::check_step`]; a failure panics with the shrunk trace rendered as
//! gossip-check renders counterexamples.

use std::fmt;
use std::sync::Arc;

use gossip_model::{GossipAction, GossipConfig, GossipModel, GossipState, Mode, NetworkConfig};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use stateright::Model;

use crate::check::{Counters, check_step, correct_model, render_trace};
use crate::cluster::Cluster;

/// The model state together with the model (the configuration is part of the reference state,
/// since `ReferenceStateMachine` has no `self`).
#[derive(Clone)]
pub struct RefState {
    /// The model.
    pub model: Arc<GossipModel>,
    /// Its state.
    pub state: GossipState,
}

impl fmt::Debug for RefState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config {}",
            serde_json::to_string(&self.model.cfg).unwrap_or_default()
        )
    }
}

/// One model action; printed as the model's protocol event.
#[derive(Clone, PartialEq)]
pub struct Step(pub GossipAction);

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&gossip_model::format::action(&self.0))
    }
}

/// A conformance configuration: every feature and fault enabled, fanout 1, push-pull, a
/// heartbeat bound a 50-step trace cannot reach.
pub fn conformance_config(
    nodes: usize,
    max_delta: usize,
    max_in_flight: usize,
    ordered: bool,
) -> GossipConfig {
    let crashes = (nodes as u8 - 1).min(2);
    GossipConfig {
        nodes,
        keys: 2,
        values: 2,
        writes_per_node: 3,
        deletes_per_node: 2,
        restarts: crashes,
        crashes,
        max_delta,
        fanout: 1,
        mode: Mode::PushPull,
        network: NetworkConfig {
            lossy: true,
            duplicating: true,
            ordered,
            max_in_flight,
        },
        convict: true,
        forget: true,
        leave: true,
        gc: true,
        max_heartbeat: 100,
        seeds: vec![0],
        variant: gossip_model::Variant::Correct,
    }
}

/// The configurations the harness draws from: 2 to 4 nodes, `max_delta` 1 to 3, 2 to 4
/// messages in flight, unordered or per-link FIFO network.
pub fn config_strategy() -> BoxedStrategy<GossipConfig> {
    (2usize..=4, 1usize..=3, 2usize..=4, any::<bool>())
        .prop_map(|(n, d, f, o)| conformance_config(n, d, f, o))
        .boxed()
}

fn weight(a: &GossipAction) -> usize {
    match a {
        GossipAction::Deliver(_) => 8,
        GossipAction::Gossip { .. } => 4,
        GossipAction::Write { .. } | GossipAction::Delete { .. } => 2,
        _ => 1,
    }
}

/// The reference state machine: the stateright model.
pub struct ModelReference;

impl ReferenceStateMachine for ModelReference {
    type State = RefState;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<RefState> {
        config_strategy()
            .prop_map(|cfg| {
                let model = cfg.into_model();
                let state = model.init_states().remove(0);
                RefState {
                    model: Arc::new(model),
                    state,
                }
            })
            .boxed()
    }

    fn transitions(s: &RefState) -> BoxedStrategy<Step> {
        let mut actions = Vec::new();
        s.model.actions(&s.state, &mut actions);
        let mut weighted = Vec::new();
        for a in actions {
            for _ in 0..weight(&a) {
                weighted.push(Step(a.clone()));
            }
        }
        assert!(
            !weighted.is_empty(),
            "the conformance configurations never deadlock"
        );
        proptest::sample::select(weighted).boxed()
    }

    fn apply(mut s: RefState, t: &Step) -> RefState {
        s.state = s
            .model
            .next_state(&s.state, t.0.clone())
            .expect("generated actions are enabled");
        s
    }

    fn preconditions(s: &RefState, t: &Step) -> bool {
        let mut actions = Vec::new();
        s.model.actions(&s.state, &mut actions);
        actions.contains(&t.0)
    }
}

/// The system under test with what a failure report needs.
pub struct Sut {
    /// The cores and their network.
    pub cluster: Cluster,
    /// The model the properties are evaluated with.
    pub correct: GossipModel,
    /// The model that produced the reference (for the failure report).
    pub model: Arc<GossipModel>,
    /// The actions applied so far.
    pub trace: Vec<GossipAction>,
    /// Counters.
    pub counters: Counters,
}

/// The conformance test: the model as reference, a cluster of cores as system under test.
pub struct Conformance;

impl StateMachineTest for Conformance {
    type SystemUnderTest = Sut;
    type Reference = ModelReference;

    fn init_test(r: &RefState) -> Sut {
        let cluster = Cluster::new(&r.model.cfg);
        Sut {
            cluster,
            correct: correct_model(&r.model),
            model: r.model.clone(),
            trace: Vec::new(),
            counters: Counters::default(),
        }
    }

    fn apply(mut sut: Sut, r: &RefState, t: Step) -> Sut {
        sut.trace.push(t.0.clone());
        let res = sut
            .cluster
            .apply(&t.0, false)
            .and_then(|_| check_step(&mut sut.cluster, &sut.correct, &r.state, &mut sut.counters));
        if let Err(e) = res {
            panic!(
                "the implementation diverges from the model at step {} ({}):\n  {e}\n\ntrace ({} steps; config {}):\n{}",
                sut.trace.len(),
                gossip_model::format::action(&t.0),
                sut.trace.len(),
                serde_json::to_string(&sut.model.cfg).unwrap_or_default(),
                render_trace(&sut.model, &sut.trace)
            );
        }
        STEPS.with(|c| c.set(c.get() + 1));
        sut
    }
}

thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Conformance steps checked on this thread so far (for throughput measurements).
pub fn steps_checked() -> u64 {
    STEPS.with(|c| c.get())
}
