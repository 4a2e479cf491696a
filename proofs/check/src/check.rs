//! Running a stateright checker over any model and turning its discoveries into a [`RunReport`].
//!
//! This module is generic: it knows nothing about gossip. A model plugs in by implementing
//! [`Inspect`] (expectations, state descriptions and a serde view of actions).

use crate::report::{
    Expected, PropertyKind, PropertyReport, RunReport, RunSettings, StateCounts, Status, TraceStep,
};
use stateright::{Checker, CheckerBuilder, Expectation, Model, Path, Property, UniformChooser};
use std::fmt::Debug;
use std::hash::Hash;
use std::io::IsTerminal;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The search engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// Breadth-first search: exhaustive, shortest counterexamples (single-threaded), most memory.
    Bfs,
    /// Depth-first search: exhaustive, little memory, honours symmetry reduction.
    Dfs,
    /// Random walks: never exhaustive, proves nothing, finds deep bugs fast.
    Simulation,
    /// The fairness-aware liveness engine (the `stateright-fair` crate, `proofs/fair`).
    Fair,
}

impl Engine {
    /// The lowercase name used in the output.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Bfs => "bfs",
            Engine::Dfs => "dfs",
            Engine::Simulation => "simulation",
            Engine::Fair => "fair",
        }
    }
}

/// Errors of the checking library.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--property` named a property the model does not have.
    #[error("unknown property {name:?}; the properties are: {available}")]
    UnknownProperty {
        /// The requested name.
        name: String,
        /// The known names, comma-separated and quoted.
        available: String,
    },
    /// The options contradict each other or the engine.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The requested engine does not exist yet.
    #[error("the {0} checker is not available yet")]
    Unavailable(&'static str),
    /// A checker thread panicked (a bug in the model or in stateright).
    #[error("a checker thread panicked: {0}")]
    Panicked(String),
}

impl CheckError {
    /// True for errors caused by the command line (exit code 2), false for internal failures.
    pub fn is_usage(&self) -> bool {
        !matches!(self, CheckError::Panicked(_))
    }
}

/// What a model must tell the checker beyond [`Model`]: what each property is expected to do,
/// how to describe a state to a human, and how to serialise an action.
pub trait Inspect: Model {
    /// The expected result of `property` in this configuration.
    fn expectation(&self, property: &str) -> Expected;
    /// A short, human-readable, multi-line description of a state (what each node believes).
    fn describe(&self, state: &Self::State) -> String;
    /// The action as JSON (serde of the action, or its `Debug` text if it is not serialisable).
    fn action_json(&self, action: &Self::Action) -> serde_json::Value;
    /// The action, taken at `from`, as a human-readable protocol event.
    fn describe_action(&self, from: &Self::State, action: &Self::Action) -> String;
}

/// A model restricted to one of its properties (`--property NAME`).
///
/// Checking fewer properties does not shrink the state space, but it lets BFS stop as soon as
/// the selected property is decided, and keeps the report focused.
pub struct Only<M: Model> {
    inner: M,
    property: Property<M>,
}

impl<M: Model> Only<M> {
    /// Restricts `inner` to the property called `name`.
    pub fn new(inner: M, name: &str) -> Result<Self, CheckError> {
        let properties = inner.properties();
        let available = properties
            .iter()
            .map(|p| format!("{:?}", p.name))
            .collect::<Vec<_>>()
            .join(", ");
        let property = properties
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| CheckError::UnknownProperty {
                name: name.to_string(),
                available,
            })?;
        Ok(Only { inner, property })
    }

    /// The unrestricted model.
    pub fn inner(&self) -> &M {
        &self.inner
    }
}

fn only_condition<M: Model>(model: &Only<M>, state: &M::State) -> bool {
    (model.property.condition)(&model.inner, state)
}

impl<M: Model> Model for Only<M> {
    type State = M::State;
    type Action = M::Action;

    fn init_states(&self) -> Vec<Self::State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        self.inner.actions(state, actions)
    }

    fn next_state(&self, last_state: &Self::State, action: Self::Action) -> Option<Self::State> {
        self.inner.next_state(last_state, action)
    }

    fn format_action(&self, action: &Self::Action) -> String
    where
        Self::Action: Debug,
    {
        self.inner.format_action(action)
    }

    fn format_step(&self, last_state: &Self::State, action: Self::Action) -> Option<String>
    where
        Self::State: Debug,
    {
        self.inner.format_step(last_state, action)
    }

    fn as_svg(&self, path: Path<Self::State, Self::Action>) -> Option<String> {
        self.inner.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property {
            expectation: self.property.expectation.clone(),
            name: self.property.name,
            condition: only_condition::<M>,
        }]
    }

    fn within_boundary(&self, state: &Self::State) -> bool {
        self.inner.within_boundary(state)
    }
}

impl<M: Inspect> Inspect for Only<M> {
    fn expectation(&self, property: &str) -> Expected {
        self.inner.expectation(property)
    }
    fn describe(&self, state: &Self::State) -> String {
        self.inner.describe(state)
    }
    fn action_json(&self, action: &Self::Action) -> serde_json::Value {
        self.inner.action_json(action)
    }
    fn describe_action(&self, from: &Self::State, action: &Self::Action) -> String {
        self.inner.describe_action(from, action)
    }
}

/// How much progress to show on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// After two seconds: a live indicatif line on a terminal, a plain line every ten seconds
    /// otherwise.
    Auto,
    /// Nothing.
    Off,
}

/// The options of one run.
pub struct RunOptions<S> {
    /// The search engine.
    pub engine: Engine,
    /// Worker threads.
    pub threads: usize,
    /// Stop after about this many generated states (checked every 1,500 states per thread).
    pub max_states: Option<usize>,
    /// Do not expand states at or beyond this depth.
    pub max_depth: Option<usize>,
    /// The seed of the simulation engine.
    pub seed: u64,
    /// A representative function, for symmetry reduction (DFS and simulation only).
    pub symmetry: Option<fn(&S) -> S>,
    /// Progress display.
    pub progress: Progress,
    /// The model's name in the output.
    pub label: String,
}

impl<S> RunOptions<S> {
    /// BFS, one thread, no bounds, no symmetry, progress on.
    pub fn new(label: impl Into<String>) -> Self {
        RunOptions {
            engine: Engine::Bfs,
            threads: 1,
            max_states: None,
            max_depth: None,
            seed: 0,
            symmetry: None,
            progress: Progress::Auto,
            label: label.into(),
        }
    }
}

/// The number of generated states after which a simulation stops when no `--max-states` is given.
pub const DEFAULT_SIMULATION_STATES: usize = 1_000_000;

/// Checks `model` with the given options and reports every property.
pub fn run<M>(model: M, opts: &RunOptions<M::State>) -> Result<RunReport, CheckError>
where
    M: Inspect + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + Send + Sync + 'static,
    M::Action: Clone + Debug + Send + Sync + 'static,
{
    if opts.threads == 0 {
        return Err(CheckError::InvalidOptions(
            "--threads must be at least 1".into(),
        ));
    }
    if opts.symmetry.is_some() && opts.engine == Engine::Bfs {
        return Err(CheckError::InvalidOptions(
            "stateright 0.30.2 ignores symmetry in BFS; use --checker dfs or simulation".into(),
        ));
    }
    if opts.max_states == Some(0) {
        return Err(CheckError::InvalidOptions(
            "--max-states must be at least 1".into(),
        ));
    }
    if opts.max_depth == Some(0) {
        return Err(CheckError::InvalidOptions(
            "--max-depth must be at least 1".into(),
        ));
    }
    let max_states = match (opts.engine, opts.max_states) {
        (Engine::Simulation, None) => Some(DEFAULT_SIMULATION_STATES),
        (_, m) => m,
    };

    let mut builder: CheckerBuilder<M> = model.checker().threads(opts.threads);
    if let Some(n) = max_states {
        builder = builder.target_state_count(n);
    }
    if let Some(d) = opts.max_depth {
        builder = builder.target_max_depth(d);
    }
    if let Some(f) = opts.symmetry {
        builder = builder.symmetry_fn(f);
    }
    let start = Instant::now();
    let mut checker = match opts.engine {
        Engine::Bfs => Box::new(builder.spawn_bfs()) as Box<dyn Checker<M> + Send + Sync>,
        Engine::Dfs => Box::new(builder.spawn_dfs()),
        Engine::Simulation => Box::new(builder.spawn_simulation(opts.seed, UniformChooser)),
        Engine::Fair => {
            return Err(CheckError::InvalidOptions(
                "the fair engine is run by gossip_proofs::fair_run::run, not check::run".into(),
            ));
        }
    };
    let handles = checker.handles();
    wait(&*checker, handles, opts, max_states, start)?;
    let seconds = start.elapsed().as_secs_f64();

    let model = checker.model();
    let properties = model.properties();
    let mut discoveries = checker.discoveries();
    let states = StateCounts {
        unique: checker.unique_state_count(),
        total: checker.state_count(),
        max_depth: checker.max_depth(),
    };
    let all_discovered = properties.iter().all(|p| discoveries.contains_key(p.name));
    let cut_by_states = max_states.is_some_and(|n| states.total >= n);
    let cut_by_depth = opts.max_depth.is_some_and(|d| states.max_depth >= d);
    let complete =
        opts.engine != Engine::Simulation && (all_discovered || !(cut_by_states || cut_by_depth));

    let mut reports = Vec::new();
    for p in &properties {
        let kind = PropertyKind::from(&p.expectation);
        let path = discoveries.remove(p.name);
        let status = match (&p.expectation, path.is_some(), complete) {
            (Expectation::Sometimes, true, _) => Status::Found,
            (_, true, _) => Status::Violated,
            (_, false, false) => Status::Unknown,
            (Expectation::Sometimes, false, true) => Status::NotFound,
            (_, false, true) => Status::Holds,
        };
        let expected = model.expectation(p.name);
        reports.push(PropertyReport {
            name: p.name.to_string(),
            kind,
            status,
            expected,
            verdict: expected.verdict(status),
            trace: path.map(|path| trace(model, path)),
            loop_index: None,
            note: None,
        });
    }
    Ok(RunReport {
        model: opts.label.clone(),
        checker: opts.engine.as_str().to_string(),
        settings: RunSettings {
            threads: opts.threads,
            symmetry: opts.symmetry.is_some(),
            max_states,
            max_depth: opts.max_depth,
            seed: (opts.engine == Engine::Simulation).then_some(opts.seed),
        },
        complete,
        states,
        seconds,
        properties: reports,
        storage: None,
    })
}

/// Turns a stateright path into numbered steps, describing the state after each one.
pub fn trace<M: Inspect>(model: &M, path: Path<M::State, M::Action>) -> Vec<TraceStep> {
    let steps = path.into_vec();
    let mut out = Vec::with_capacity(steps.len());
    let mut previous: Option<(M::State, M::Action)> = None;
    for (index, (state, next_action)) in steps.into_iter().enumerate() {
        let (action, description) = match previous.take() {
            None => (None, "initial state".to_string()),
            Some((from, a)) => (
                Some(model.action_json(&a)),
                model.describe_action(&from, &a),
            ),
        };
        out.push(TraceStep {
            index,
            action,
            description,
            state_summary: model.describe(&state),
        });
        previous = next_action.map(|a| (state, a));
    }
    out
}

fn wait<M: Model>(
    checker: &(dyn Checker<M> + Send + Sync),
    handles: Vec<JoinHandle<()>>,
    opts: &RunOptions<M::State>,
    max_states: Option<usize>,
    start: Instant,
) -> Result<(), CheckError> {
    let tty = std::io::stderr().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut last_line = start;
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        if opts.progress == Progress::Off || start.elapsed() < Duration::from_secs(2) {
            continue;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let total = checker.state_count();
        let message = format!(
            "{}: {} unique, {} total, depth {}, {:.0} states/s",
            opts.label,
            crate::report::group(checker.unique_state_count()),
            crate::report::group(total),
            checker.max_depth(),
            total as f64 / elapsed
        );
        if tty {
            let bar = bar.get_or_insert_with(|| new_bar(max_states));
            bar.set_position(total as u64);
            bar.set_message(message);
        } else if last_line.elapsed() >= Duration::from_secs(10) {
            last_line = Instant::now();
            eprintln!("[{elapsed:>6.0} s] {message}");
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for h in handles {
        if let Err(payload) = h.join() {
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            return Err(CheckError::Panicked(text));
        }
    }
    Ok(())
}

fn new_bar(max_states: Option<usize>) -> indicatif::ProgressBar {
    match max_states {
        Some(n) => {
            let bar = indicatif::ProgressBar::new(n as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        }
        None => {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{elapsed_precise} {msg}") {
                bar.set_style(style);
            }
            bar
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter from 0 to 10 with an always property violated at 5 and a sometimes property
    /// satisfied at 2: small enough to know every answer.
    struct Counter;

    impl Model for Counter {
        type State = u8;
        type Action = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, s: &u8, actions: &mut Vec<u8>) {
            if *s < 10 {
                actions.push(1);
            }
        }
        fn next_state(&self, s: &u8, a: u8) -> Option<u8> {
            Some(s + a)
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::always("below five", |_, s| *s < 5),
                Property::sometimes("reaches two", |_, s| *s >= 2),
                Property::sometimes("reaches eleven", |_, s| *s >= 11),
            ]
        }
    }

    impl Inspect for Counter {
        fn expectation(&self, property: &str) -> Expected {
            match property {
                "below five" => Expected::Violated,
                "reaches two" => Expected::Found,
                _ => Expected::NotFound,
            }
        }
        fn describe(&self, s: &u8) -> String {
            format!("counter = {s}")
        }
        fn action_json(&self, a: &u8) -> serde_json::Value {
            serde_json::json!(a)
        }
        fn describe_action(&self, from: &u8, a: &u8) -> String {
            format!("add {a} to {from}")
        }
    }

    fn quiet(engine: Engine) -> RunOptions<u8> {
        RunOptions {
            engine,
            progress: Progress::Off,
            ..RunOptions::new("counter")
        }
    }

    #[test]
    fn bfs_reports_the_shortest_counterexample_and_example() {
        let report = run(Counter, &quiet(Engine::Bfs)).unwrap();
        assert!(report.complete);
        assert!(report.expectations_met());
        let below_five = &report.properties[0];
        assert_eq!(below_five.status, Status::Violated);
        // Initial state plus five increments: the pinned 0.30.2 keeps the first (shortest) path.
        assert_eq!(below_five.trace.as_ref().unwrap().len(), 6);
        let reaches_two = &report.properties[1];
        assert_eq!(reaches_two.status, Status::Found);
        assert_eq!(reaches_two.trace.as_ref().unwrap().len(), 3);
        assert_eq!(report.properties[2].status, Status::NotFound);
        assert_eq!(report.states.unique, 11);
    }

    #[test]
    fn a_trace_numbers_the_initial_state_zero_and_describes_every_step() {
        let report = run(Counter, &quiet(Engine::Dfs)).unwrap();
        let trace = report.properties[1].trace.as_ref().unwrap();
        assert_eq!(trace[0].index, 0);
        assert_eq!(trace[0].action, None);
        assert_eq!(trace[0].state_summary, "counter = 0");
        assert_eq!(trace[1].description, "add 1 to 0");
        assert_eq!(trace[1].action, Some(serde_json::json!(1)));
        assert_eq!(trace.last().unwrap().state_summary, "counter = 2");
    }

    #[test]
    fn a_run_cut_by_max_depth_leaves_unfound_properties_unknown() {
        let opts = RunOptions {
            max_depth: Some(2),
            ..quiet(Engine::Bfs)
        };
        let report = run(Counter, &opts).unwrap();
        assert!(!report.complete);
        assert_eq!(report.properties[0].status, Status::Unknown);
        assert_eq!(report.properties[2].status, Status::Unknown);
        assert!(
            report.expectations_met(),
            "unknown is inconclusive, not failed"
        );
    }

    #[test]
    fn restricting_to_one_property_checks_only_that_property() {
        let only = Only::new(Counter, "reaches two").unwrap();
        let report = run(only, &quiet(Engine::Bfs)).unwrap();
        assert_eq!(report.properties.len(), 1);
        assert_eq!(report.properties[0].name, "reaches two");
        assert_eq!(report.properties[0].status, Status::Found);
    }

    #[test]
    fn an_unknown_property_name_is_a_usage_error() {
        let err = Only::new(Counter, "no such property").err().unwrap();
        assert!(err.is_usage());
        assert!(err.to_string().contains("\"below five\""));
    }

    #[test]
    fn symmetry_with_bfs_is_refused_because_stateright_would_ignore_it() {
        let opts = RunOptions {
            symmetry: Some(|s: &u8| *s),
            ..quiet(Engine::Bfs)
        };
        assert!(matches!(
            run(Counter, &opts),
            Err(CheckError::InvalidOptions(_))
        ));
    }

    #[test]
    fn simulation_is_never_complete() {
        let opts = RunOptions {
            max_states: Some(100),
            ..quiet(Engine::Simulation)
        };
        let report = run(Counter, &opts).unwrap();
        assert!(!report.complete);
        assert_eq!(report.properties[2].status, Status::Unknown);
    }
}
