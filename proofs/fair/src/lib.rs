#![doc = include_str!("../README.md")]
//!
//! # Why
//!
//! Stateright's `eventually` is unsound for cyclic models: a path that ends in a cycle (or merely
//! revisits a state) counts as satisfying the property, and a state whose successors are cut by
//! a boundary counts as a violation. It also has no fairness, so a periodic timer or a lossy
//! network makes every liveness property either vacuous or false. This crate is a separate
//! engine for any [`stateright::Model`] that adds **weak and strong fairness**, **leads-to** properties and
//! an exact fair-cycle search, and that stores the state graph compactly: 25–41 bytes per state
//! (fingerprint table, edge offsets, predicate bits) plus 8 bytes per edge, with full states
//! only in the BFS frontier (stateright's BFS queues every state with its full action path).
//! `always` and `sometimes` properties are checked too, so it is also a complete safety
//! checker. The design, its validation and measurements are in `docs/fair-checking.md` of the
//! repository.
//!
//! # Declaring fairness
//!
//! A model implements [`FairModel`]: [`FairModel::fair_class`] maps each action (at a state) to
//! an optional [`FairClass`], and [`FairModel::leads_to`] lists [`LeadsTo`] properties.
//! `eventually`, `always` and `sometimes` come from the model's own `properties()`.
//! `within_boundary` and the other `Model` defaults are **not** used: the engine explores every
//! state reachable through `init_states`, `actions` and `next_state`.
//!
//! # Semantics
//!
//! * A **step** is an action whose `next_state` is `Some` (self-loops included; `None` is not a
//!   step, exactly as in stateright).
//! * A fair class `k` is **enabled** at a state iff some action of class `k` is a step there.
//!   An action whose class is `None` (message loss, crash, duplication, a stutter) is never
//!   forced.
//! * A state with no steps at all is a **deadlock**. A behaviour that reaches it stutters there
//!   forever; nothing is enabled, so it is trivially fair.
//! * **Weak fairness**, per class: an infinite behaviour is fair iff every class that is enabled
//!   at every state from some point on is taken infinitely often. For the lasso-shaped
//!   behaviours that matter in a finite graph: a cycle is fair iff every class enabled at *all*
//!   states of the cycle is taken on some edge of the cycle.
//! * `eventually P` is **violated** iff there is a path from an initial state, all of whose
//!   states satisfy ¬P, that ends in a fair cycle or in a deadlock.
//! * `P leads-to Q` (`LeadsTo { p, q }`) is **violated** iff some reachable state satisfies
//!   P ∧ ¬Q and from it a path of ¬Q states reaches a fair ¬Q cycle or a ¬Q deadlock.
//! * `always P` is violated iff a reachable state satisfies ¬P; `sometimes P` is found iff a
//!   reachable state satisfies P. Their traces are shortest (BFS).
//!
//! * **Strong fairness**, per class declared [`Fairness::Strong`]: a behaviour in which the
//!   class is enabled infinitely often takes it infinitely often. For lassos: every strong
//!   class enabled at *some* state of the cycle is taken on the cycle. This is the fair-loss
//!   link assumption (a message that the network keeps dropping and resending is eventually
//!   delivered) and the right one for a lock that is free infinitely often.
//!
//! # Algorithm
//!
//! 1. **Explore** ([`FairChecker::run`]): a parallel, level-synchronous BFS. Each state is
//!    canonicalised (optional symmetry representative), fingerprinted (64-bit aHash with fixed seeds) and
//!    mapped to a dense `u32` index in a sharded open-addressing table; edges are stored in CSR
//!    form as `(target: u32, class: u32)` with the model's `FairClass` interned. Full states are
//!    kept only in the current BFS frontier; each predicate is stored as one bit per state.
//! 2. **Safety**: a deterministic BFS tree over the stored edges (visiting edges in action
//!    order) gives the shortest trace to the first violating / witnessing state.
//! 3. **Liveness**, per property: restrict to the ¬goal region reachable from the sources
//!    (initial states for `eventually`, P ∧ ¬Q states for leads-to), compute its SCCs with an
//!    **iterative** Tarjan (no recursion) and judge each SCC `C` when it is popped:
//!    a single state without steps is a deadlock (bad); otherwise `C` must have an internal
//!    edge, and it is bad (contains a fair cycle) iff every class enabled at *all* states of
//!    `C` (counting every outgoing step, including those leaving `C` or the region) is taken by
//!    some edge internal to `C`.
//!
//!    With strong classes, an SCC `C` is first given the **strong test** (Emerson–Lei / Streett
//!    refinement): if some strong class is enabled at some state of `C` but taken on no edge
//!    internal to `C`, the states of `C` where such a class is enabled are removed and the rest
//!    is decomposed again (a work list, no recursion); only an SCC that passes the strong test
//!    goes on to the weak test below. No fair cycle can visit a removed state (it would see
//!    the class enabled infinitely often and never take it), so every fair cycle survives.
//!    See `docs/fair-checking.md`.
//!
//!    *Why the per-SCC test is exact for weak fairness.* (⇐) If the test passes, take a closed
//!    walk through `C` that visits every state of `C` and traverses, for each class enabled at
//!    all of `C`, one internal edge of that class (possible because `C` is strongly connected).
//!    A class enabled at every state of this walk is enabled at every state of `C`, so it is
//!    taken: the walk is a fair cycle. (⇒) If some class `k` is enabled at all of `C` but no
//!    internal edge has class `k`, then every cycle inside `C` visits only states where `k` is
//!    enabled and never takes `k`: no cycle inside `C` is fair, and every cycle lies inside one
//!    SCC. (Strong fairness needs the Emerson–Lei refinement above; weak does not.)
//! 4. **Counterexample**: the loop start is the first bad state in BFS order from the sources;
//!    the prefix is a shortest path to it (for leads-to: a shortest path to the P ∧ ¬Q source,
//!    then a shortest ¬Q path). The cycle is built greedily inside `C`: while some class is
//!    enabled at every state of the walk so far and not yet taken, walk to the nearest state
//!    where it is disabled or take one of its internal edges; while some strong class enabled
//!    at some state of the walk is not yet taken, walk to one of its internal edges and take
//!    it; then return to the start (and repeat if the way back enabled a new strong class). Both
//!    are recorded as index paths and **replayed** with `next_state` from the initial state
//!    (matching successor fingerprints and classes), so no full states are stored.
//!
//! # Symmetry
//!
//! [`FairChecker::symmetry`] takes a representative function (like stateright's
//! `symmetry_fn`) and canonicalises every state before fingerprinting. It is used **for safety
//! only**: with symmetry on, `eventually` and leads-to properties report [`Status::Unknown`]
//! and [`FairResult::liveness_checked`] is `false`. The reason: a cycle in the quotient graph
//! corresponds to a concrete path that returns to a *permuted* state, and fair classes such as
//! "deliver message m to node 2" must be mapped through that permutation before the
//! "enabled everywhere / taken somewhere" test is meaningful; a bare `fn(&S) -> S`
//! representative does not reveal the permutation, so the quotient test could be unsound (a
//! class taken at one node of the quotient is a different concrete class at another).
//! `always`/`sometimes` are sound under symmetry when their predicates are symmetric, and
//! their traces are replayed on concrete states (each step matches the successor's
//! representative), so the traces are real behaviours.
//!
//! # Simulation
//!
//! [`FairChecker::simulate`] runs seeded random walks (a SplitMix64 generator, no `rand`). A
//! walk stops at a deadlock, at a revisited state (a lasso) or at the step bound. A lasso is
//! used only if its cycle is fair by the same test; it then violates `eventually P` if no state
//! of the walk satisfies P. Simulation never proves anything: properties without a
//! counterexample/example report [`Status::Unknown`].
//!
//! # Caveats
//!
//! Fingerprints are 64-bit hashes (hash compaction, like stateright and TLC): a collision would
//! merge two states; with `n` states the probability is about `n² / 2^65` (≈3·10⁻⁶ for 10⁷
//! states). `init_states`, `actions` and `next_state` must be deterministic (as stateright
//! requires for its own path replay); otherwise [`FairError::Replay`] is returned. State
//! indices are assigned in a thread-dependent order, but every reported path is derived from
//! BFS over edges in action order and is therefore reproducible.

mod analysis;
pub mod compare;
mod explore;
mod limits;
mod mem;
mod safety;
mod simulate;
mod store;

/// The crate under its own name, for the textbook models in `tests/models`, which the unit
/// tests include as they are (`use stateright_fair::…`).
#[cfg(test)]
extern crate self as stateright_fair;
/// The textbook models of the integration tests (`tests/models/mod.rs`), for the unit tests.
#[cfg(test)]
#[path = "../tests/models/mod.rs"]
#[allow(dead_code)]
mod test_models;

pub use compare::{Comparison, compare_with_stateright};
pub use limits::StopReason;
pub use simulate::SplitMix64;

use analysis::{GlobalBfs, find_fair_lasso, lasso_of, trace_to};
use explore::{Cfg, Pred, explore};
use stateright::{Expectation, Model};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// A fairness class: a small id chosen by the model, e.g. "deliver message m" or "the
/// gossip timer of node n". Actions of the same class share one fairness obligation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FairClass(pub u64);

impl FairClass {
    /// A class derived from any hashable value (deterministic within a build).
    pub fn of<T: Hash + ?Sized>(value: &T) -> Self {
        FairClass(store::fingerprint(value))
    }
}

/// A symmetry representative function, as in stateright's `symmetry_fn`: maps a state to the
/// canonical member of its orbit.
pub type Representative<S> = fn(&S) -> S;

/// A leads-to property `p ~> q`: whenever `p` holds, `q` eventually holds (possibly at once).
pub struct LeadsTo<M: Model> {
    /// The property's name.
    pub name: &'static str,
    /// The trigger.
    pub p: fn(&M, &M::State) -> bool,
    /// The response.
    pub q: fn(&M, &M::State) -> bool,
}

impl<M: Model> LeadsTo<M> {
    /// A leads-to property.
    pub fn new(
        name: &'static str,
        p: fn(&M, &M::State) -> bool,
        q: fn(&M, &M::State) -> bool,
    ) -> Self {
        LeadsTo { name, p, q }
    }
}

impl<M: Model> Clone for LeadsTo<M> {
    fn clone(&self) -> Self {
        LeadsTo { ..*self }
    }
}

/// The fairness of an action's class: weak (continuously enabled ⇒ taken infinitely often)
/// or strong (enabled infinitely often ⇒ taken infinitely often).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fairness {
    /// Weak fairness of the class: a behaviour in which the class is enabled at every state
    /// from some point on takes it infinitely often.
    Weak(FairClass),
    /// Strong fairness of the class: a behaviour in which the class is enabled infinitely
    /// often takes it infinitely often (fair-loss links, a lock that is free infinitely often).
    Strong(FairClass),
}

impl Fairness {
    /// The class.
    pub fn class(self) -> FairClass {
        match self {
            Fairness::Weak(c) | Fairness::Strong(c) => c,
        }
    }

    /// Whether the class is strongly fair.
    pub fn is_strong(self) -> bool {
        matches!(self, Fairness::Strong(_))
    }
}

/// The fairness extension of [`Model`] that this engine needs.
///
/// Implement [`fair_class`](Self::fair_class) for weak fairness only, or
/// [`fairness`](Self::fairness) to mix weak and strong classes (the engine calls only
/// `fairness`, whose default wraps `fair_class` in [`Fairness::Weak`]).
pub trait FairModel: Model {
    /// The weak-fairness class of `action` at `state`, or `None` if the action is never forced
    /// (message loss, crash, duplication, stutter). Called (through the default
    /// [`fairness`](Self::fairness)) before `next_state`, for every action; the class matters
    /// only when the action is a step. The default is `None` (for models that implement
    /// `fairness` instead).
    fn fair_class(&self, state: &Self::State, action: &Self::Action) -> Option<FairClass> {
        let _ = (state, action);
        None
    }

    /// The fairness of `action` at `state`: its class and whether that class is weakly or
    /// strongly fair, or `None` if it is never forced. A class should be declared with one
    /// strength; if it is declared strong anywhere, the engine treats it as strong everywhere.
    fn fairness(&self, state: &Self::State, action: &Self::Action) -> Option<Fairness> {
        self.fair_class(state, action).map(Fairness::Weak)
    }

    /// A sentence naming the fairness assumption the liveness verdicts are sound under (for
    /// reports), e.g. "strong fairness of message delivery". `None` by default.
    fn fairness_assumption(&self) -> Option<&'static str> {
        None
    }

    /// Leads-to properties (none by default).
    fn leads_to(&self) -> Vec<LeadsTo<Self>> {
        Vec::new()
    }
}

/// The kind of a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PropertyKind {
    /// `Expectation::Always`.
    Always,
    /// `Expectation::Sometimes`.
    Sometimes,
    /// `Expectation::Eventually`, under the declared (weak and strong) fairness.
    Eventually,
    /// A [`LeadsTo`] property, under the declared (weak and strong) fairness.
    LeadsTo,
}

/// The verdict on a property (serialised in `snake_case`: `holds`, `not_found`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// An `always`, `eventually` or leads-to property holds (exhaustive run only).
    Holds,
    /// A counterexample was found (a trace or a lasso).
    Violated,
    /// A `sometimes` property has an example.
    Found,
    /// A `sometimes` property has no example (exhaustive run only).
    NotFound,
    /// Not decided: the run was incomplete, a simulation, or liveness under symmetry.
    Unknown,
}

impl Status {
    /// The verdict in words, for human-readable reports.
    pub fn as_text(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::Violated => "violated",
            Status::Found => "example found",
            Status::NotFound => "not found",
            Status::Unknown => "unknown",
        }
    }
}

/// A finite trace: `steps[i] = (state, action taken from it)`, ending in `last`.
#[derive(Clone, Debug)]
pub struct Trace<S, A> {
    /// The steps.
    pub steps: Vec<(S, A)>,
    /// The final state (the violating or witnessing one).
    pub last: S,
}

/// A lasso-shaped behaviour: `prefix` leads from an initial state to `loop_start`; `cycle`
/// leads from `loop_start` back to it. An empty `cycle` means `loop_start` is a deadlock (the
/// behaviour stutters there).
#[derive(Clone, Debug)]
pub struct Lasso<S, A> {
    /// Steps from an initial state; the state after the last one is `loop_start`.
    pub prefix: Vec<(S, A)>,
    /// The first state of the cycle (or the deadlock).
    pub loop_start: S,
    /// Steps of the cycle: `cycle[0].0 == loop_start`, and the last action returns to it.
    pub cycle: Vec<(S, A)>,
}

impl<S, A> Lasso<S, A> {
    /// Whether the lasso ends in a deadlock rather than a cycle.
    pub fn is_deadlock(&self) -> bool {
        self.cycle.is_empty()
    }
}

/// The result for one property.
#[derive(Clone, Debug)]
pub struct PropertyResult<S, A> {
    /// The property's name.
    pub name: &'static str,
    /// Its kind.
    pub kind: PropertyKind,
    /// The verdict.
    pub status: Status,
    /// For `always` violations and `sometimes` examples: a shortest trace.
    pub trace: Option<Trace<S, A>>,
    /// For `eventually` and leads-to violations: a fair lasso.
    pub lasso: Option<Lasso<S, A>>,
    /// Why the status is `Unknown`, if it is.
    pub note: Option<String>,
}

/// Whether a result comes from exhaustive checking or simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// [`FairChecker::run`].
    Exhaustive,
    /// [`FairChecker::simulate`].
    Simulation,
}

/// Counters of a simulation run.
#[derive(Clone, Debug, Default)]
pub struct SimulationStats {
    /// Walks started.
    pub walks: u64,
    /// Steps taken.
    pub steps: u64,
    /// Walks that ended in a deadlock.
    pub deadlocks: u64,
    /// Walks that closed a fair cycle (weakly and strongly).
    pub fair_lassos: u64,
    /// Walks that closed an unfair cycle (ignored for liveness).
    pub unfair_lassos: u64,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct FairResult<S, A> {
    /// Exhaustive or simulation.
    pub mode: Mode,
    /// One entry per property: the model's `properties()` in order, then its `leads_to()`.
    pub properties: Vec<PropertyResult<S, A>>,
    /// Whether every reachable state was explored (false when `max_states` stopped the run,
    /// and always false for simulation).
    pub complete: bool,
    /// Unique states stored (for simulation: distinct states visited).
    pub unique_states: u64,
    /// Stored edges: distinct `(source, target, class)` triples (for simulation: steps).
    pub edges: u64,
    /// Largest BFS depth (steps from an initial state; for simulation, longest walk).
    pub max_depth: u32,
    /// Wall-clock seconds for the whole run.
    pub seconds: f64,
    /// Wall-clock seconds of the exploration phase.
    pub explore_seconds: f64,
    /// `unique_states / seconds` (for simulation: steps per second).
    pub states_per_sec: f64,
    /// Bytes of the persistent per-state structures (fingerprint table, edge offsets,
    /// predicate bits) divided by the states, edges excluded.
    pub bytes_per_state: f64,
    /// Bytes of the edge array.
    pub edge_bytes: u64,
    /// Peak transient bytes per state of the analysis phase (BFS tree, Tarjan arrays),
    /// allocated after exploration and freed per property.
    pub analysis_bytes_per_state: f64,
    /// Peak RSS of the process (`VmHWM`), if readable.
    pub peak_rss_bytes: Option<u64>,
    /// Number of distinct fair classes seen.
    pub fair_classes: u64,
    /// How many of them are strongly fair (the rest are weakly fair).
    pub strong_classes: u64,
    /// Whether symmetry reduction was on.
    pub symmetry: bool,
    /// Whether liveness properties were decided (false under symmetry: see the crate docs).
    pub liveness_checked: bool,
    /// Simulation counters, for simulation runs.
    pub simulation: Option<SimulationStats>,
    /// Counters of a safety-only run ([`FairChecker::run_safety`]).
    pub safety: Option<SafetyStats>,
}

/// Counters of a safety-only run ([`FairChecker::run_safety`]).
#[derive(Clone, Debug, Default)]
pub struct SafetyStats {
    /// Transitions generated (successors computed, counting revisits).
    pub generated: u64,
    /// Why the run stopped early, if it did.
    pub stop: Option<StopReason>,
    /// The largest BFS level, in states.
    pub peak_frontier_states: u64,
    /// The largest BFS level, in compressed bytes.
    pub peak_frontier_bytes: u64,
    /// Encoded (MessagePack) bytes of every frontier state over the run, before compression.
    pub encoded_bytes: u64,
    /// The same after LZ4 compression.
    pub compressed_bytes: u64,
}

impl<S, A> FairResult<S, A> {
    /// The result for the named property.
    pub fn property(&self, name: &str) -> Option<&PropertyResult<S, A>> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The status of the named property (`None` if there is no such property).
    pub fn status(&self, name: &str) -> Option<Status> {
        self.property(name).map(|p| p.status)
    }
}

/// The result type for a model.
pub type FairReport<M> = FairResult<<M as Model>::State, <M as Model>::Action>;

/// Which phase a [`Progress`] report is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// State-space exploration.
    Explore,
    /// Property analysis after exploration.
    Analyse,
    /// Random walks.
    Simulate,
}

/// A progress report, passed to the hook at most every 200 ms during exploration, after each
/// BFS level, per analysed property and per simulation walk.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Unique states so far (simulation: distinct states visited).
    pub states: u64,
    /// Edges so far (simulation: steps).
    pub edges: u64,
    /// Current BFS depth (simulation: length of the last walk).
    pub depth: u32,
    /// States in the current frontier.
    pub frontier: u64,
    /// Time since the run started.
    pub elapsed: Duration,
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum FairError {
    /// At most 64 predicates (properties plus two per leads-to) are supported.
    #[error("too many properties: {count} predicates (properties + 2 per leads-to), at most 64")]
    TooManyPredicates {
        /// The number of predicates.
        count: usize,
    },
    /// State indices are `u32`.
    #[error("more than {limit} states; set max_states")]
    TooManyStates {
        /// The limit.
        limit: u64,
    },
    /// Replaying a stored path with `next_state` failed (nondeterministic model?).
    #[error("path replay failed: {0}")]
    Replay(String),
    /// Encoding or decoding a frontier state failed (safety-only mode).
    #[error("frontier encoding failed: {0}")]
    Encode(String),
    /// [`FairChecker::symmetry_report`] needs a representative function.
    #[error("symmetry_report needs a representative function (call .symmetry(f) first)")]
    NoSymmetry,
}

/// Unique-state counts with and without symmetry reduction.
#[derive(Clone, Debug)]
pub struct SymmetryReport {
    /// The number of interchangeable components, as given by the caller.
    pub n: usize,
    /// Unique states without reduction.
    pub states_without: u64,
    /// Unique states with reduction.
    pub states_with: u64,
    /// `states_without / states_with`.
    pub reduction: f64,
    /// `n!`, the best possible reduction factor.
    pub n_factorial: f64,
    /// `reduction / n!`: 1.0 would mean every orbit has the full size `n!`.
    pub fraction_of_bound: f64,
    /// Whether both runs were complete.
    pub complete: bool,
}

/// The checker: configure with the builder methods, then [`run`](Self::run) or
/// [`simulate`](Self::simulate).
pub struct FairChecker<'a, M: Model> {
    model: &'a M,
    threads: usize,
    max_states: Option<u64>,
    symmetry: Option<Representative<M::State>>,
    progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    memory_limit: Option<u64>,
    time_limit: Option<Duration>,
    only: Option<String>,
}

impl<'a, M> FairChecker<'a, M>
where
    M: FairModel + Sync,
    M::State: Hash + Eq + Clone + Debug + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    /// A checker for `model` with as many threads as available cores, no state limit, no
    /// symmetry and no progress hook.
    pub fn new(model: &'a M) -> Self {
        FairChecker {
            model,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_states: None,
            symmetry: None,
            progress: None,
            memory_limit: None,
            time_limit: None,
            only: None,
        }
    }

    /// Worker threads for exploration (at least 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Stop exploring after about `max_states` unique states (the run is then incomplete:
    /// properties without a counterexample report `Unknown`).
    pub fn max_states(mut self, max_states: u64) -> Self {
        self.max_states = Some(max_states);
        self
    }

    /// Symmetry reduction with a representative function (safety only; see the crate docs).
    pub fn symmetry(mut self, representative: Representative<M::State>) -> Self {
        self.symmetry = Some(representative);
        self
    }

    /// Stop exploring (gracefully, reported incomplete) when the process's resident set
    /// reaches `bytes` (checked every 250 ms). Honoured by [`run`](Self::run) and
    /// [`run_safety`](Self::run_safety).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Stop exploring (gracefully, reported incomplete) after this much wall-clock time.
    /// Honoured by [`run`](Self::run) (exploration phase; the analyses that follow are not
    /// cut) and [`run_safety`](Self::run_safety).
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// Evaluate only the property called `name` (the others report [`Status::Unknown`]), so
    /// that the run stops as soon as it is decided. Honoured by
    /// [`run_safety`](Self::run_safety).
    pub fn only_property(mut self, name: &str) -> Self {
        self.only = Some(name.to_string());
        self
    }

    /// A progress hook.
    pub fn progress(mut self, hook: &'a (dyn Fn(&Progress) + Sync)) -> Self {
        self.progress = Some(hook);
        self
    }

    /// Exhaustively checks every property.
    pub fn run(&self) -> Result<FairReport<M>, FairError> {
        let start = Instant::now();
        let props = self.model.properties();
        let leads = self.model.leads_to();
        let mut preds: Vec<Pred<M>> = props.iter().map(|p| p.condition).collect();
        for l in &leads {
            preds.push(l.p);
            preds.push(l.q);
        }
        if preds.len() > 64 {
            return Err(FairError::TooManyPredicates { count: preds.len() });
        }
        // `always` / `sometimes` conditions are read only for their first hit in BFS order, so
        // exploration may stop evaluating them once they are decided.
        let decide: Vec<Option<bool>> = props
            .iter()
            .map(|p| match p.expectation {
                Expectation::Always => Some(false),
                Expectation::Sometimes => Some(true),
                Expectation::Eventually => None,
            })
            .collect();
        let cfg = Cfg {
            threads: self.threads,
            max_states: self.max_states,
            symmetry: self.symmetry,
            progress: self.progress,
            start,
            decide: &decide,
            memory_limit: self.memory_limit,
            time_limit: self.time_limit,
        };
        let g = explore(self.model, &preds, &cfg)?;
        let explore_seconds = start.elapsed().as_secs_f64();
        let report = |depth: u32| {
            if let Some(p) = self.progress {
                p(&Progress {
                    phase: Phase::Analyse,
                    states: u64::from(g.n_states),
                    edges: g.edges.len(),
                    depth,
                    frontier: 0,
                    elapsed: start.elapsed(),
                });
            }
        };
        report(0);
        // The deterministic BFS tree is built only when a path through it is needed (a
        // leads-to analysis, or a safety hit's trace).
        let mut global: Option<GlobalBfs> = None;
        let mut analysis_bytes = 0u64;
        // The liveness analyses (one per `eventually` property, one per leads-to) only read
        // the graph and are independent of each other: they run first, on up to `threads`
        // threads, and their verdicts are taken in property order below.
        let live_jobs: Vec<usize> = if self.symmetry.is_some() {
            Vec::new()
        } else {
            let eventually = (props.iter().enumerate())
                .filter(|(_, p)| p.expectation == Expectation::Eventually)
                .map(|(i, _)| i);
            eventually
                .chain((0..leads.len()).map(|j| props.len() + 2 * j))
                .collect()
        };
        let t_global = Instant::now();
        if self.symmetry.is_none() && !leads.is_empty() {
            global = Some(GlobalBfs::new(&g));
        }
        let t_live = Instant::now();
        let t_global = t_global.elapsed().as_secs_f64();
        let live = {
            let (g, global) = (&g, global.as_ref());
            par_jobs(live_jobs.len(), self.threads, |k| {
                let pi = live_jobs[k];
                if pi < props.len() {
                    let (w, stats) = find_fair_lasso(g, None, &g.init_nodes, &g.labels[pi]);
                    let _ = (stats.sccs_checked, stats.refinements);
                    (w, stats.bytes)
                } else {
                    let (pb, qb) = (&g.labels[pi], &g.labels[pi + 1]);
                    let global = global.expect("built above for leads-to properties");
                    let sources: Vec<u32> = global
                        .order
                        .iter()
                        .copied()
                        .filter(|&v| g.is_expanded(v) && pb.get(v) && !qb.get(v))
                        .collect();
                    let (w, stats) = find_fair_lasso(g, Some(global), &sources, qb);
                    (
                        w,
                        global.bytes() + stats.bytes + sources.capacity() as u64 * 4,
                    )
                }
            })
        };
        let t_live = t_live.elapsed().as_secs_f64();
        let mut live = live.into_iter();
        let incomplete_note = || {
            Some(
                g.stop
                    .unwrap_or(StopReason::MaxStates)
                    .describe()
                    .to_string(),
            )
        };
        // The verdict of the next liveness property, in property order (its analysis ran above).
        let next_live = |live: &mut std::vec::IntoIter<_>, analysis_bytes: &mut u64| {
            if self.symmetry.is_some() {
                return Ok(symmetry_unknown());
            }
            let (w, bytes) = live
                .next()
                .ok_or_else(|| FairError::Replay("internal: no analysis".into()))?;
            *analysis_bytes = (*analysis_bytes).max(bytes);
            self.live_verdict(&g, w, &incomplete_note)
        };
        let mut results = Vec::new();
        for (i, p) in props.iter().enumerate() {
            let bits = &g.labels[i];
            let (kind, status, trace, lasso, note) = match p.expectation {
                Expectation::Always | Expectation::Sometimes => {
                    let always = p.expectation == Expectation::Always;
                    let any_hit = (0..g.expanded).any(|v| bits.get(v) != always);
                    let hit = if any_hit {
                        let global = global.get_or_insert_with(|| GlobalBfs::new(&g));
                        analysis_bytes = analysis_bytes.max(global.bytes());
                        global
                            .order
                            .iter()
                            .copied()
                            .find(|&v| g.is_expanded(v) && bits.get(v) != always)
                    } else {
                        None
                    };
                    let kind = if always {
                        PropertyKind::Always
                    } else {
                        PropertyKind::Sometimes
                    };
                    match hit {
                        Some(v) => {
                            let global = global
                                .as_ref()
                                .ok_or_else(|| FairError::Replay("internal: no BFS tree".into()))?;
                            let t = trace_to(self.model, &g, global, self.symmetry, v)?;
                            let st = if always {
                                Status::Violated
                            } else {
                                Status::Found
                            };
                            (kind, st, Some(t), None, None)
                        }
                        None if !g.complete => {
                            (kind, Status::Unknown, None, None, incomplete_note())
                        }
                        None if always => (kind, Status::Holds, None, None, None),
                        None => (kind, Status::NotFound, None, None, None),
                    }
                }
                Expectation::Eventually => {
                    let (st, lasso, note) = next_live(&mut live, &mut analysis_bytes)?;
                    (PropertyKind::Eventually, st, None, lasso, note)
                }
            };
            results.push(PropertyResult {
                name: p.name,
                kind,
                status,
                trace,
                lasso,
                note,
            });
            report(i as u32 + 1);
        }
        for (j, l) in leads.iter().enumerate() {
            let (st, lasso, note) = next_live(&mut live, &mut analysis_bytes)?;
            results.push(PropertyResult {
                name: l.name,
                kind: PropertyKind::LeadsTo,
                status: st,
                trace: None,
                lasso,
                note,
            });
            report((props.len() + j) as u32 + 1);
        }

        let seconds = start.elapsed().as_secs_f64();
        if std::env::var_os("FAIR_PROFILE").is_some() {
            eprintln!(
                "FAIR_PROFILE run: explore {explore_seconds:.3} s, analyses {:.3} s (BFS tree \
                 {t_global:.3} s, liveness jobs {t_live:.3} s)",
                seconds - explore_seconds
            );
        }
        let n = u64::from(g.n_states).max(1) as f64;
        Ok(FairResult {
            mode: Mode::Exhaustive,
            properties: results,
            complete: g.complete,
            unique_states: u64::from(g.n_states),
            edges: g.edges.len(),
            max_depth: g.depth(g.n_states.saturating_sub(1)),
            seconds,
            explore_seconds,
            states_per_sec: f64::from(g.n_states) / seconds.max(1e-9),
            bytes_per_state: g.state_bytes() as f64 / n,
            edge_bytes: g.edge_bytes(),
            analysis_bytes_per_state: analysis_bytes as f64 / n,
            peak_rss_bytes: mem::peak_rss_bytes(),
            fair_classes: g.classes.len() as u64,
            strong_classes: g.strong.iter().filter(|&&b| b).count() as u64,
            symmetry: self.symmetry.is_some(),
            liveness_checked: self.symmetry.is_none(),
            simulation: None,
            safety: None,
        })
    }

    #[allow(clippy::type_complexity)]
    fn live_verdict(
        &self,
        g: &explore::Explored,
        w: Option<analysis::LiveWitness>,
        incomplete_note: &dyn Fn() -> Option<String>,
    ) -> Result<(Status, Option<Lasso<M::State, M::Action>>, Option<String>), FairError> {
        Ok(match w {
            Some(w) => (Status::Violated, Some(lasso_of(self.model, g, &w)?), None),
            None if g.complete => (Status::Holds, None, None),
            None => (Status::Unknown, None, incomplete_note()),
        })
    }

    /// Runs `walks` seeded random walks of at most `max_steps` steps each (no symmetry, no
    /// state limit). Reproducible for a given seed.
    pub fn simulate(&self, seed: u64, walks: usize, max_steps: usize) -> FairReport<M> {
        simulate::simulate(self.model, seed, walks, max_steps, self.progress)
    }

    /// Explores twice, without and with the representative function, and compares the counts
    /// with the `n!` bound (`n` = number of interchangeable components).
    pub fn symmetry_report(&self, n: usize) -> Result<SymmetryReport, FairError> {
        let rep = self.symmetry.ok_or(FairError::NoSymmetry)?;
        let preds: Vec<Pred<M>> = Vec::new();
        let run = |symmetry| {
            explore(
                self.model,
                &preds,
                &Cfg {
                    threads: self.threads,
                    max_states: self.max_states,
                    symmetry,
                    progress: self.progress,
                    start: Instant::now(),
                    decide: &[],
                    memory_limit: None,
                    time_limit: None,
                },
            )
        };
        let without = run(None)?;
        let with = run(Some(rep))?;
        let states_without = u64::from(without.n_states);
        let states_with = u64::from(with.n_states);
        let reduction = states_without as f64 / (states_with.max(1)) as f64;
        let n_factorial: f64 = (1..=n).map(|k| k as f64).product();
        Ok(SymmetryReport {
            n,
            states_without,
            states_with,
            reduction,
            n_factorial,
            fraction_of_bound: reduction / n_factorial,
            complete: without.complete && with.complete,
        })
    }
}

impl<'a, M> FairChecker<'a, M>
where
    M: FairModel + Sync,
    M::State:
        Hash + Eq + Clone + Debug + Send + Sync + serde::Serialize + serde::de::DeserializeOwned,
    M::Action: Clone + Debug + Send + Sync,
{
    /// Exhaustively checks the `always` and `sometimes` properties only, storing per state a
    /// fingerprint, an index and a parent index (no edges, no labels) and keeping the BFS
    /// frontier serialised and LZ4-compressed (see `safety.rs`). `eventually` and leads-to
    /// properties report [`Status::Unknown`]. Honours `threads`, `max_states`, `symmetry`,
    /// `memory_limit`, `time_limit` and `progress`. Explores exactly the states
    /// [`run`](Self::run) explores; traces are shortest.
    pub fn run_safety(&self) -> Result<FairReport<M>, FairError> {
        let start = Instant::now();
        let props = self.model.properties();
        let leads = self.model.leads_to();
        let preds: Vec<Pred<M>> = props.iter().map(|p| p.condition).collect();
        let selected = |name: &str| self.only.as_deref().is_none_or(|o| o == name);
        let want: Vec<Option<bool>> = props
            .iter()
            .map(|p| match p.expectation {
                _ if !selected(p.name) => None,
                Expectation::Always => Some(false),
                Expectation::Sometimes => Some(true),
                Expectation::Eventually => None,
            })
            .collect();
        let cfg = safety::SafetyCfg {
            threads: self.threads,
            max_states: self.max_states,
            symmetry: self.symmetry,
            progress: self.progress,
            start,
            memory_limit: self.memory_limit,
            time_limit: self.time_limit,
        };
        let out = safety::explore_safety(self.model, &preds, &want, &cfg)?;
        let explore_seconds = start.elapsed().as_secs_f64();
        let incomplete = || out.stop.map(|r| r.describe().to_string());
        let safety_note = || {
            Some(
                "safety-only run: liveness is not checked (rerun without --safety-only)"
                    .to_string(),
            )
        };
        let mut results = Vec::new();
        for (i, p) in props.iter().enumerate() {
            let (kind, status, trace, note) = match p.expectation {
                Expectation::Always | Expectation::Sometimes if !selected(p.name) => (
                    if p.expectation == Expectation::Always {
                        PropertyKind::Always
                    } else {
                        PropertyKind::Sometimes
                    },
                    Status::Unknown,
                    None,
                    Some("not evaluated (another property was selected)".to_string()),
                ),
                Expectation::Always | Expectation::Sometimes => {
                    let always = p.expectation == Expectation::Always;
                    let kind = if always {
                        PropertyKind::Always
                    } else {
                        PropertyKind::Sometimes
                    };
                    match out.hits[i] {
                        Some(v) => {
                            let t = safety::safety_trace(self.model, &out, self.symmetry, v)?;
                            let st = if always {
                                Status::Violated
                            } else {
                                Status::Found
                            };
                            (kind, st, Some(t), None)
                        }
                        None if !out.complete => (kind, Status::Unknown, None, incomplete()),
                        None if always => (kind, Status::Holds, None, None),
                        None => (kind, Status::NotFound, None, None),
                    }
                }
                Expectation::Eventually => (
                    PropertyKind::Eventually,
                    Status::Unknown,
                    None,
                    safety_note(),
                ),
            };
            results.push(PropertyResult {
                name: p.name,
                kind,
                status,
                trace,
                lasso: None,
                note,
            });
        }
        for l in &leads {
            results.push(PropertyResult {
                name: l.name,
                kind: PropertyKind::LeadsTo,
                status: Status::Unknown,
                trace: None,
                lasso: None,
                note: safety_note(),
            });
        }
        let seconds = start.elapsed().as_secs_f64();
        let n = out.n_states.max(1) as f64;
        Ok(FairResult {
            mode: Mode::Exhaustive,
            properties: results,
            complete: out.complete,
            unique_states: out.n_states,
            edges: 0,
            max_depth: out.max_depth,
            seconds,
            explore_seconds,
            states_per_sec: out.n_states as f64 / seconds.max(1e-9),
            bytes_per_state: out.state_bytes() as f64 / n,
            edge_bytes: 0,
            analysis_bytes_per_state: 0.0,
            peak_rss_bytes: mem::peak_rss_bytes(),
            fair_classes: 0,
            strong_classes: 0,
            symmetry: self.symmetry.is_some(),
            liveness_checked: false,
            simulation: None,
            safety: Some(SafetyStats {
                generated: out.generated,
                stop: out.stop,
                peak_frontier_states: out.peak_frontier_states,
                peak_frontier_bytes: out.peak_frontier_bytes,
                encoded_bytes: out.encoded_bytes,
                compressed_bytes: out.compressed_bytes,
            }),
        })
    }
}

#[allow(clippy::type_complexity)]
fn symmetry_unknown<S, A>() -> (Status, Option<Lasso<S, A>>, Option<String>) {
    (
        Status::Unknown,
        None,
        Some(
            "symmetry reduction is safety-only: liveness is not checked on the quotient \
             (fair classes cannot be mapped through the unknown permutation); rerun without \
             symmetry"
                .to_string(),
        ),
    )
}

/// Runs `job(k)` for every `k` in `0 .. n` on up to `threads` scoped threads (the calling
/// thread included; jobs are claimed in order from a shared counter) and returns the results
/// in job order.
fn par_jobs<T: Send>(n: usize, threads: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<(usize, T)>> = std::sync::Mutex::new(Vec::with_capacity(n));
    let work = || {
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if k >= n {
                break;
            }
            let r = job(k);
            done.lock().unwrap_or_else(|e| e.into_inner()).push((k, r));
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.clamp(1, n.max(1)) {
            scope.spawn(work);
        }
        work();
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_unstable_by_key(|(k, _)| *k);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::par_jobs;

    #[test]
    fn parallel_jobs_run_once_each_and_come_back_in_job_order() {
        for threads in 1..=3 {
            for n in 0..6 {
                let calls = std::sync::atomic::AtomicUsize::new(0);
                let got = par_jobs(n, threads, |k| {
                    calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // Later jobs finish first when they run concurrently.
                    std::thread::sleep(std::time::Duration::from_millis((6 - k as u64) * 3));
                    k * 10
                });
                assert_eq!(got, (0..n).map(|k| k * 10).collect::<Vec<_>>());
                assert_eq!(calls.into_inner(), n, "threads {threads}, n {n}");
            }
        }
    }
}
