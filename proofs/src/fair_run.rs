//! Runs the fairness-aware engine ([`crate::fair`]) for `gossip-check --checker fair` and turns
//! its result into the same [`RunReport`] as the stateright engines.

use crate::check::{Engine, Inspect, Progress, RunOptions};
use crate::fair::{self, FairChecker, FairModel, Lasso, Trace};
use crate::report::{
    PropertyKind, PropertyReport, RunReport, RunSettings, StateCounts, Status, TraceStep,
};
use std::fmt::Debug;
use std::hash::Hash;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn status(s: fair::Status) -> Status {
    match s {
        fair::Status::Holds => Status::Holds,
        fair::Status::Violated => Status::Violated,
        fair::Status::Found => Status::Found,
        fair::Status::NotFound => Status::NotFound,
        fair::Status::Unknown => Status::Unknown,
    }
}

fn kind(k: fair::PropertyKind) -> PropertyKind {
    match k {
        fair::PropertyKind::Always => PropertyKind::Always,
        fair::PropertyKind::Sometimes => PropertyKind::Sometimes,
        fair::PropertyKind::Eventually => PropertyKind::Eventually,
        fair::PropertyKind::LeadsTo => PropertyKind::LeadsTo,
    }
}

fn steps_to_trace<M: Inspect>(
    model: &M,
    steps: &[(M::State, M::Action)],
    last: &M::State,
    first_index: usize,
    out: &mut Vec<TraceStep>,
) {
    for (i, (from, action)) in steps.iter().enumerate() {
        let after = steps.get(i + 1).map_or(last, |(s, _)| s);
        out.push(TraceStep {
            index: first_index + i,
            action: Some(model.action_json(action)),
            description: model.describe_action(from, action),
            state_summary: model.describe(after),
        });
    }
}

fn initial<M: Inspect>(model: &M, state: &M::State) -> TraceStep {
    TraceStep {
        index: 0,
        action: None,
        description: "initial state".into(),
        state_summary: model.describe(state),
    }
}

/// A finite trace as numbered steps.
pub fn trace_steps<M: Inspect>(model: &M, t: &Trace<M::State, M::Action>) -> Vec<TraceStep> {
    let first = t.steps.first().map_or(&t.last, |(s, _)| s);
    let mut out = vec![initial(model, first)];
    steps_to_trace(model, &t.steps, &t.last, 1, &mut out);
    out
}

/// A lasso as numbered steps, and the index of the step where the cycle starts.
pub fn lasso_steps<M: Inspect>(
    model: &M,
    l: &Lasso<M::State, M::Action>,
) -> (Vec<TraceStep>, usize) {
    let first = l.prefix.first().map_or(&l.loop_start, |(s, _)| s);
    let mut out = vec![initial(model, first)];
    steps_to_trace(model, &l.prefix, &l.loop_start, 1, &mut out);
    let loop_index = out.len() - 1;
    let next = out.len();
    steps_to_trace(model, &l.cycle, &l.loop_start, next, &mut out);
    (out, loop_index)
}

/// Checks `model` exhaustively with the fair engine.
pub fn run<M>(model: &M, opts: &RunOptions<M::State>) -> Result<RunReport, fair::FairError>
where
    M: FairModel + Inspect + Sync,
    M::State: Hash + Eq + Clone + Debug + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    let start = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let last_line = Mutex::new(start);
    let bar = Mutex::new(None::<indicatif::ProgressBar>);
    let label = opts.label.clone();
    let hook = |p: &fair::Progress| {
        if opts.progress == Progress::Off || p.elapsed < Duration::from_secs(2) {
            return;
        }
        let message = format!(
            "{label}: {:?}: {} states, {} edges, depth {}, frontier {}",
            p.phase,
            crate::report::group(p.states as usize),
            crate::report::group(p.edges as usize),
            p.depth,
            crate::report::group(p.frontier as usize)
        );
        if tty {
            let mut bar = bar.lock().unwrap_or_else(|e| e.into_inner());
            bar.get_or_insert_with(indicatif::ProgressBar::new_spinner)
                .set_message(message);
        } else {
            let mut last = last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(10) {
                *last = Instant::now();
                eprintln!("[{:>6.0} s] {message}", p.elapsed.as_secs_f64());
            }
        }
    };
    let mut checker = FairChecker::new(model)
        .threads(opts.threads)
        .progress(&hook);
    if let Some(n) = opts.max_states {
        checker = checker.max_states(n as u64);
    }
    if let Some(f) = opts.symmetry {
        checker = checker.symmetry(f);
    }
    let result = checker.run();
    if let Some(bar) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
        bar.finish_and_clear();
    }
    let result = result?;
    let assumption = format!(
        "sound under {} ({} strongly and {} weakly fair classes seen)",
        model
            .fairness_assumption()
            .unwrap_or("the model's declared fairness"),
        result.strong_classes,
        result.fair_classes - result.strong_classes
    );
    let properties = result
        .properties
        .iter()
        .map(|p| {
            let status = status(p.status);
            let expected = model.expectation(p.name);
            let (trace, loop_index) = match (&p.trace, &p.lasso) {
                (Some(t), _) => (Some(trace_steps(model, t)), None),
                (None, Some(l)) => {
                    let (steps, i) = lasso_steps(model, l);
                    (Some(steps), Some(i))
                }
                (None, None) => (None, None),
            };
            PropertyReport {
                name: p.name.to_string(),
                kind: kind(p.kind),
                status,
                expected,
                verdict: expected.verdict(status),
                trace,
                loop_index,
                note: match (p.kind, &p.note) {
                    (_, Some(n)) => Some(n.clone()),
                    (fair::PropertyKind::Eventually | fair::PropertyKind::LeadsTo, None) => {
                        Some(assumption.clone())
                    }
                    _ => None,
                },
            }
        })
        .collect();
    Ok(RunReport {
        model: opts.label.clone(),
        checker: Engine::Fair.as_str().to_string(),
        settings: RunSettings {
            threads: opts.threads,
            symmetry: opts.symmetry.is_some(),
            max_states: opts.max_states,
            max_depth: None,
            seed: None,
        },
        complete: result.complete,
        states: StateCounts {
            unique: result.unique_states as usize,
            total: result.edges as usize,
            max_depth: result.max_depth as usize,
        },
        seconds: result.seconds,
        properties,
    })
}
