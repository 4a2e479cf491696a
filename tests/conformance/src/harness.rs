//! The proptest state-machine harness: the **reference is the stateright model** (its own
//! `actions` and `next_state`), the **system under test is a [`Cluster`] of cores**.
//!
//! Transitions are drawn from `model.actions(state)`, so only operations the model allows are
//! generated; `preconditions`
//! re-check membership in `model.actions(state)` only to keep shrinking honest. Every step is
//! checked by [`crate::check::check_step`] (a property violated by the model's own state is a
//! failure too); a failure panics with the shrunk trace rendered as gossip-check renders
//! counterexamples.
//!
//! **Configurations**: in-process cores get every mode, fanout 2 and small `max_heartbeat`
//! ([`broad_config_strategy`]); adapters of the conformance kit the push-pull, fanout-1
//! configurations of [`config_strategy`].
//!
//! **Steering** (where gossip bugs live: stale messages reordered after a state change).
//! The reference state remembers when each in-flight message was sent and when the last
//! *disruption* happened (crash, restart, convict, forget, tombstone collection, delete,
//! leave). Disruptions are drawn 3× as often as other faults, and a delivery or duplication
//! of a message sent *before* the last disruption is drawn 5× as often as a fresh delivery,
//! so that old digests, replies and deltas arrive after the receiver's or sender's state has
//! changed under them. Configurations favour restarts, deletes with GC and a small
//! `max_delta` (see [`config_strategy`]).
//!
//! **Scenario templates** ([`crate::scenario`]): in 3 cases of 5 a template (a version gap
//! of one after the receiver restarts, a stale generation after the owner restarts, a
//! duplicated delete delivered again after its tombstone was collected) gets 4× the weight of
//! all other actions together at each step, so that the situations a random walk almost never
//! builds are built in a good share of the cases, interleaved with random noise.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use gossip_model::{
    Envelope, GossipAction, GossipConfig, GossipModel, GossipState, Mode, NetworkConfig, Variant,
};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use stateright::Model;

use crate::check::{Counters, StepFailure, check_step, correct_model};
use crate::cluster::Cluster;
use crate::driver::Backend;
use crate::scenario::{Plan, Scenario};

/// The model state together with the model (the configuration is part of the reference state,
/// since `ReferenceStateMachine` has no `self`).
#[derive(Clone)]
pub struct RefState {
    /// The model.
    pub model: Arc<GossipModel>,
    /// Its state.
    pub state: GossipState,
    /// Steps applied so far.
    pub step: u32,
    /// The step at which each message now in flight was (first) sent.
    pub born: BTreeMap<Envelope, u32>,
    /// The step of the last disruption (see the module documentation), if any.
    pub disrupted: Option<u32>,
    /// The case's scenario template and how far it got ([`crate::scenario`]).
    pub plan: Plan,
}

impl fmt::Debug for RefState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config {} (template {:?})",
            serde_json::to_string(&self.model.cfg).unwrap_or_default(),
            self.plan.scenario
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

/// A fixed walk of `len` steps of `model` from its initial state (step `i` takes the enabled
/// action at index `7919 i` modulo their number): a correct run, for tests of replay.
pub fn fixed_walk(model: &GossipModel, len: usize) -> Vec<GossipAction> {
    let mut s = model.init_states().remove(0);
    let mut actions = Vec::with_capacity(len);
    for i in 0..len {
        let mut enabled = Vec::new();
        model.actions(&s, &mut enabled);
        let a = enabled[(i * 7919) % enabled.len()].clone();
        s = model.next_state(&s, a.clone()).expect("enabled");
        actions.push(a);
    }
    actions
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
        writers: None,
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
            redeliver: false,
        },
        convict: true,
        forget: true,
        leave: true,
        gc: true,
        max_heartbeat: 100,
        seeds: vec![0],
        variant: gossip_model::Variant::Correct,
        prune_dead_messages: false,
        // Not driven by the harness: complete digests, no record expiry.
        digest_entries: None,
        expire: false,
    }
}

/// The configurations the harness draws from for an adapter of the conformance kit: 2 to 4
/// nodes (2 and 3 twice as often as 4, so that every pair interacts), `max_delta` 1 to 3 (1
/// half of the time: cut deltas, resets and gaps), 2 to 5 messages in flight (room for stale
/// ones), unordered network three times as often as per-link FIFO (reordering); push-pull,
/// fanout 1. Every configuration has crashes, restarts, deletes, GC, convict, forget and leave.
pub fn config_strategy() -> BoxedStrategy<GossipConfig> {
    let nodes = prop_oneof![2 => Just(2usize), 2 => Just(3usize), 1 => Just(4usize)];
    let max_delta = prop_oneof![3 => Just(1usize), 2 => Just(2usize), 1 => Just(3usize)];
    let ordered = prop_oneof![3 => Just(false), 1 => Just(true)];
    (nodes, max_delta, 2usize..=5, ordered)
        .prop_map(|(n, d, f, o)| conformance_config(n, d, f, o))
        .boxed()
}

/// The configurations the harness draws from for in-process cores: those of
/// [`config_strategy`] in every mode (a third each), with `max_heartbeat` 2 or 3 in half of
/// them (saturated heartbeats, [`crate::check`] refinement 4), and with fanout 2 in half of
/// the 3-node configurations (rounds from the cores' own gossip timers; `leave` off, see
/// [`crate::cluster`]). The scenario templates set push-pull and fanout 1 again
/// ([`Scenario::adjust`]), so the modes and fanout 2 are in the plain random walks.
pub fn broad_config_strategy() -> BoxedStrategy<GossipConfig> {
    let mode = prop_oneof![Just(Mode::PushPull), Just(Mode::Push), Just(Mode::Pull)];
    let fanout2 = prop_oneof![Just(false), Just(true)];
    let max_heartbeat = prop_oneof![2 => Just(100u8), 1 => Just(2u8), 1 => Just(3u8)];
    (config_strategy(), mode, fanout2, max_heartbeat)
        .prop_map(|(mut cfg, mode, fanout2, max_heartbeat)| {
            cfg.mode = mode;
            cfg.max_heartbeat = max_heartbeat;
            if mode == Mode::Push {
                // A push delta starts from version 0 every time (there is no digest), so a cut
                // delta re-sends the same prefix forever: push mode converges only if a whole
                // view fits one delta (protocol.md §6, docs/spec/guarantees.md), and the
                // quiescence-conditioned properties fail otherwise. No cut in push mode.
                let per_node = usize::from(cfg.writes_per_node)
                    + usize::from(cfg.deletes_per_node)
                    + usize::from(cfg.leave);
                cfg.max_delta = cfg.nodes * per_node;
            }
            if fanout2 && cfg.nodes == 3 {
                cfg.fanout = 2;
                cfg.leave = false;
            }
            cfg
        })
        .boxed()
}

/// Whether an action changes a node's knowledge under the messages in flight.
fn disrupts(a: &GossipAction) -> bool {
    matches!(
        a,
        GossipAction::Crash { .. }
            | GossipAction::Restart { .. }
            | GossipAction::Convict { .. }
            | GossipAction::Forget { .. }
            | GossipAction::CollectTombstones { .. }
            | GossipAction::Delete { .. }
            | GossipAction::Leave { .. }
    )
}

/// The weight of an action in state `s` (see the module documentation).
fn weight(s: &RefState, a: &GossipAction) -> usize {
    let stale = |e: &Envelope| match (s.born.get(e), s.disrupted) {
        (Some(b), Some(d)) => *b < d,
        _ => false,
    };
    match a {
        GossipAction::Deliver(e) if stale(e) => 40,
        GossipAction::Deliver(_) => 8,
        GossipAction::Duplicate(e) if stale(e) => 4,
        // A round with two peers (fanout 2) needs a node that knows both others: rare in a
        // random walk, so it is taken whenever it can be.
        GossipAction::Gossip { to, .. } if to.len() > 1 => 40,
        GossipAction::Gossip { .. } => 4,
        GossipAction::Write { .. } => 2,
        a if disrupts(a) => 3,
        _ => 1,
    }
}

/// Actions the harness does not generate although the model enables them: convicting a node
/// whose own heartbeat reached `max_heartbeat` (the model already allows it only for a crashed
/// node). Above the bound the implementation's heartbeats keep growing while the model's stay,
/// so a stale message could revive the convicted node in the implementation and not in the
/// model ([`crate::check`], refinement 4). Only reachable with a small `max_heartbeat`.
pub fn excluded(s: &GossipState, cfg: &GossipConfig, a: &GossipAction) -> bool {
    matches!(a, GossipAction::Convict { subject, .. }
        if s.nodes[*subject as usize].view[subject].heartbeat >= cfg.max_heartbeat)
}

/// When an in-flight message was sent (the current step for one not yet recorded).
fn born(s: &RefState, e: &Envelope) -> u32 {
    s.born.get(e).copied().unwrap_or(s.step)
}

/// The scenario templates ([`crate::scenario`]): a plain random walk in 2 cases of 5, each of
/// the three templates in 1 of 5.
pub fn scenario_strategy() -> BoxedStrategy<Scenario> {
    prop_oneof![
        2 => Just(Scenario::None),
        1 => Just(Scenario::GapAfterRestart),
        1 => Just(Scenario::StaleGeneration),
        1 => Just(Scenario::ReapplyAfterCollect),
    ]
    .boxed()
}

/// The reference state machine: the stateright model.
pub struct ModelReference;

impl ReferenceStateMachine for ModelReference {
    type State = RefState;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<RefState> {
        let configs = if BACKEND.with(|b| b.borrow().in_process()) {
            broad_config_strategy()
        } else {
            config_strategy()
        };
        (configs, scenario_strategy(), 0u8..3, 0u32..6)
            .prop_map(|(mut cfg, scenario, b, start)| {
                scenario.adjust(&mut cfg);
                cfg.variant = REFERENCE_VARIANT.with(|v| v.get());
                let plan = Plan {
                    scenario,
                    b: 1 + b % (cfg.nodes as u8 - 1),
                    start,
                    next: 0,
                };
                let model = cfg.into_model();
                let state = model.init_states().remove(0);
                RefState {
                    model: Arc::new(model),
                    state,
                    step: 0,
                    born: BTreeMap::new(),
                    disrupted: None,
                    plan,
                }
            })
            .boxed()
    }

    fn transitions(s: &RefState) -> BoxedStrategy<Step> {
        let mut actions = Vec::new();
        s.model.actions(&s.state, &mut actions);
        actions.retain(|a| !excluded(&s.state, &s.model.cfg, a));
        let mut weighted = Vec::new();
        for a in &actions {
            for _ in 0..weight(s, a) {
                weighted.push(Step(a.clone()));
            }
        }
        assert!(
            !weighted.is_empty(),
            "the conformance configurations never deadlock"
        );
        // The template's current intent: its actions together weigh 4× all the others.
        if let Some((_, targets)) = s.plan.current(s.step, &actions, &|e| born(s, e)) {
            let each = (4 * weighted.len()).div_ceil(targets.len());
            for a in targets {
                for _ in 0..each {
                    weighted.push(Step(a.clone()));
                }
            }
        }
        proptest::sample::select(weighted).boxed()
    }

    fn apply(mut s: RefState, t: &Step) -> RefState {
        if s.plan.scenario != Scenario::None {
            let mut actions = Vec::new();
            s.model.actions(&s.state, &mut actions);
            if let Some((i, targets)) = s.plan.current(s.step, &actions, &|e| born(&s, e))
                && targets.contains(&t.0)
            {
                s.plan.next = i + 1;
            }
        }
        s.state = s
            .model
            .next_state(&s.state, t.0.clone())
            .expect("generated actions are enabled");
        s.step += 1;
        if disrupts(&t.0) {
            s.disrupted = Some(s.step);
        }
        let step = s.step;
        let old = std::mem::take(&mut s.born);
        s.born = s
            .state
            .network
            .iter()
            .map(|e| (e.clone(), old.get(e).copied().unwrap_or(step)))
            .collect();
        s
    }

    fn preconditions(s: &RefState, t: &Step) -> bool {
        let mut actions = Vec::new();
        s.model.actions(&s.state, &mut actions);
        actions.contains(&t.0) && !excluded(&s.state, &s.model.cfg, &t.0)
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
        let backend = BACKEND.with(|b| b.borrow().clone());
        let cluster = match Cluster::with_backend(&r.model.cfg, &backend) {
            Ok(c) => c,
            Err(e) => {
                let reason = format!("the nodes cannot be started: {e}");
                record_failure(&r.model, &[], reason.clone());
                panic!("{reason}");
            }
        };
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
            .map_err(StepFailure::from)
            .and_then(|_| check_step(&mut sut.cluster, &sut.correct, &r.state, &mut sut.counters));
        if let Err(e) = res {
            record_failure(&sut.model, &sut.trace, e.to_string());
            panic!(
                "the implementation diverges from the model at step {} ({}):\n  {e}\n\ntrace ({} steps; config {}):\n{}",
                sut.trace.len(),
                gossip_model::format::action(&t.0),
                sut.trace.len(),
                serde_json::to_string(&sut.model.cfg).unwrap_or_default(),
                gossip_model::format::run(&sut.model, &sut.trace)
            );
        }
        STEPS.with(|c| c.set(c.get() + 1));
        sut
    }
}

thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static BACKEND: std::cell::RefCell<Backend> = const { std::cell::RefCell::new(Backend::InProcess) };
    static REFERENCE_VARIANT: std::cell::Cell<Variant> = const { std::cell::Cell::new(Variant::Correct) };
    static LAST_FAILURE: std::cell::RefCell<Option<Failure>> = const { std::cell::RefCell::new(None) };
}

/// Installs (once) a panic hook that stays silent on threads running [`run_cases`] quietly and
/// delegates to the previous hook everywhere else.
fn silence_panics_on_this_thread() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
}

/// Selects the model variant [`ModelReference`] generates its reference from on this thread
/// (the correct protocol unless set). A seeded bug as reference shows that the harness fails
/// on the model's own property violations, not only on divergences.
pub fn set_reference_variant(v: Variant) {
    REFERENCE_VARIANT.with(|x| x.set(v));
}

/// Selects the implementation [`Conformance`] drives on this thread (in-process cores unless
/// set; the conformance kit sets an adapter command).
pub fn set_backend(b: Backend) {
    BACKEND.with(|x| *x.borrow_mut() = b);
}

/// A divergence found by [`Conformance`]: the model, the actions up to and including the
/// diverging one, and what differs.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The model of the case's configuration.
    pub model: Arc<GossipModel>,
    /// The actions applied, the last one diverging (empty: the nodes could not be started).
    pub actions: Vec<GossipAction>,
    /// What differs.
    pub reason: String,
}

fn record_failure(model: &Arc<GossipModel>, actions: &[GossipAction], reason: String) {
    LAST_FAILURE.with(|f| {
        *f.borrow_mut() = Some(Failure {
            model: model.clone(),
            actions: actions.to_vec(),
            reason,
        })
    });
}

/// The last divergence found on this thread (after proptest's shrinking, the shrunk one: the
/// shrinker's last failing run is its final, minimal case), taken.
pub fn take_last_failure() -> Option<Failure> {
    LAST_FAILURE.with(|f| f.borrow_mut().take())
}

/// Conformance steps checked on this thread so far (for throughput measurements).
pub fn steps_checked() -> u64 {
    STEPS.with(|c| c.get())
}

/// The result of [`run_cases`].
#[derive(Debug)]
pub enum RunResult {
    /// Every case conformed.
    Pass {
        /// Cases run.
        cases: u32,
        /// Steps checked.
        steps: u64,
    },
    /// A divergence, shrunk.
    Fail(Failure),
}

/// Runs `cases` random traces (1 to `max_steps` actions each) of the conformance test against
/// `backend`, from a fixed `seed`, shrinking the first divergence (at most `max_shrink_iters`
/// shrinking runs). This is the conformance kit's engine (`gossip-kit`). With `quiet`, the
/// panic messages of the failing runs (one per shrinking step) are not printed; the
/// divergence is in the result.
pub fn run_cases(
    backend: Backend,
    cases: u32,
    seed: u64,
    max_steps: usize,
    max_shrink_iters: u32,
    quiet: bool,
) -> RunResult {
    run_cases_against(
        Variant::Correct,
        backend,
        cases,
        seed,
        max_steps,
        max_shrink_iters,
        quiet,
    )
}

/// [`run_cases`] with the reference generated from model `variant` (see
/// [`set_reference_variant`]); the properties are always the correct model's.
pub fn run_cases_against(
    variant: Variant,
    backend: Backend,
    cases: u32,
    seed: u64,
    max_steps: usize,
    max_shrink_iters: u32,
    quiet: bool,
) -> RunResult {
    use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
    set_backend(backend);
    set_reference_variant(variant);
    take_last_failure();
    let config = Config {
        cases,
        max_shrink_iters,
        failure_persistence: None,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    for (i, b) in seed_bytes.iter_mut().enumerate() {
        *b = seed.to_le_bytes()[i % 8] ^ (i as u8);
    }
    let mut runner = TestRunner::new_with_rng(
        config.clone(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let before = steps_checked();
    if quiet {
        silence_panics_on_this_thread();
    }
    QUIET.with(|q| q.set(quiet));
    let result = runner.run(
        &ModelReference::sequential_strategy(1..max_steps.max(2)),
        |(init, transitions, seen)| {
            Conformance::test_sequential(config.clone(), init, transitions, seen);
            Ok(())
        },
    );
    QUIET.with(|q| q.set(false));
    set_backend(Backend::InProcess);
    set_reference_variant(Variant::Correct);
    match result {
        Ok(()) => RunResult::Pass {
            cases,
            steps: steps_checked() - before,
        },
        Err(e) => RunResult::Fail(take_last_failure().unwrap_or_else(|| {
            let reason = match e {
                TestError::Abort(r) | TestError::Fail(r, _) => r.to_string(),
            };
            Failure {
                model: Arc::new(conformance_config(2, 1, 2, false).into_model()),
                actions: Vec::new(),
                reason,
            }
        })),
    }
}
