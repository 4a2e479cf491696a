//! Runs the fairness-aware engine (the `stateright-fair` crate) for `gossip-check --checker fair` and turns
//! its result into the same [`RunReport`] as the stateright engines.

use crate::check::{Engine, Inspect, Progress, RunOptions};
use crate::report::{
    PropertyKind, PropertyReport, RunReport, RunSettings, StateCounts, Storage, TraceStep,
};
use stateright_fair::{self as fair, FairChecker, FairModel, Lasso, Trace};
use std::fmt::Debug;
use std::hash::Hash;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Options of the fair engine beyond [`RunOptions`].
#[derive(Clone, Debug, Default)]
pub struct FairOptions {
    /// Check `always` and `sometimes` properties only, with the compact safety-only store
    /// ([`FairChecker::run_safety`]): no edges, a serialised and compressed frontier.
    pub safety_only: bool,
    /// Stop gracefully (incomplete) when the resident set reaches this many bytes
    /// (safety-only mode).
    pub memory_limit: Option<u64>,
    /// Evaluate only this property (safety-only mode), so that the run stops as soon as it
    /// is decided.
    pub only_property: Option<String>,
    /// Stop gracefully (incomplete) after this many seconds of wall-clock time (safety-only
    /// mode).
    pub time_limit: Option<Duration>,
}

/// Parses a byte size: a number with an optional `K`, `M`, `G` or `T` suffix (binary
/// multiples, optionally followed by `B` or `iB`), e.g. `8G`, `512MiB`, `1000000`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let digits_end = upper
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(upper.len());
    let (num, unit) = upper.split_at(digits_end);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size (examples: 8G, 512M, 1000000)"))?;
    let unit = unit.trim().trim_end_matches('B').trim_end_matches('I');
    let mult: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(format!("{text:?}: unknown size unit (use K, M, G or T)")),
    };
    let bytes = num * mult as f64;
    if !(bytes.is_finite() && (1.0..1e18).contains(&bytes)) {
        return Err(format!("{text:?} is not a usable size"));
    }
    Ok(bytes as u64)
}

/// Checks `model` exhaustively with the fair engine.
pub fn run<M>(
    model: &M,
    opts: &RunOptions<M::State>,
    fair_opts: &FairOptions,
) -> Result<RunReport, fair::FairError>
where
    M: FairModel + Inspect + Sync,
    M::State:
        Hash + Eq + Clone + Debug + Send + Sync + serde::Serialize + serde::de::DeserializeOwned,
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
    if let Some(b) = fair_opts.memory_limit {
        checker = checker.memory_limit(b);
    }
    if let Some(t) = fair_opts.time_limit {
        checker = checker.time_limit(t);
    }
    if let Some(name) = &fair_opts.only_property {
        checker = checker.only_property(name);
    }
    let result = if fair_opts.safety_only {
        checker.run_safety()
    } else {
        checker.run()
    };
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
            let status = p.status;
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
            // Stored edges; for a safety-only run (no edges stored), generated transitions.
            total: result.safety.as_ref().map_or(result.edges, |s| s.generated) as usize,
            max_depth: result.max_depth as usize,
        },
        seconds: result.seconds,
        properties,
        storage: Some(Storage {
            bytes_per_state: result.bytes_per_state,
            edge_bytes: result.edge_bytes,
            peak_rss_bytes: result.peak_rss_bytes,
            peak_frontier_states: result.safety.as_ref().map(|s| s.peak_frontier_states),
            peak_frontier_bytes: result.safety.as_ref().map(|s| s.peak_frontier_bytes),
            // Every state passes through the frontier exactly once.
            frontier_bytes_per_state: result
                .safety
                .as_ref()
                .map(|s| s.compressed_bytes as f64 / result.unique_states.max(1) as f64),
            stopped_by: result
                .safety
                .as_ref()
                .and_then(|s| s.stop)
                .map(|r| r.describe().to_string()),
        }),
    })
}
