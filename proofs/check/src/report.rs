//! The results of a checker run, as serde structures (the `--json` schema) and as text.
//!
//! Both the human-readable output of `gossip-check` and its `--json` file are rendered from the
//! same [`RunReport`], so they cannot disagree. The schema is documented in `docs/checking.md`.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The kind of a stateright property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyKind {
    /// Must hold in every reachable state; a discovery is a counterexample.
    Always,
    /// Must hold somewhere on every (acyclic, terminating) path; a discovery is a counterexample.
    Eventually,
    /// Should hold in some reachable state; a discovery is an example.
    Sometimes,
    /// `P` leads to `Q` under the model's declared fairness (the fair engine only).
    LeadsTo,
}

impl PropertyKind {
    /// The lowercase name used in the text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyKind::Always => "always",
            PropertyKind::Eventually => "eventually",
            PropertyKind::Sometimes => "sometimes",
            PropertyKind::LeadsTo => "leads_to",
        }
    }
}

impl From<&stateright::Expectation> for PropertyKind {
    fn from(e: &stateright::Expectation) -> Self {
        match e {
            stateright::Expectation::Always => PropertyKind::Always,
            stateright::Expectation::Eventually => PropertyKind::Eventually,
            stateright::Expectation::Sometimes => PropertyKind::Sometimes,
        }
    }
}

/// What the checker established about one property: the fair engine's verdict type, used for
/// every engine (`holds`, `violated`, `found`, `not_found`, `unknown` in the JSON).
pub use stateright_fair::Status;

/// What a property is expected to do in the checked configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// No counterexample should exist.
    Holds,
    /// A counterexample should exist (a seeded bug, or a demonstration).
    Violated,
    /// An example should exist.
    Found,
    /// No example should exist.
    NotFound,
}

impl Expected {
    /// The text used in the human-readable output.
    pub fn as_text(self) -> &'static str {
        match self {
            Expected::Holds => "holds",
            Expected::Violated => "violated",
            Expected::Found => "example found",
            Expected::NotFound => "not found",
        }
    }

    /// Compares an observed status with this expectation.
    pub fn verdict(self, status: Status) -> Verdict {
        match (self, status) {
            (_, Status::Unknown) => Verdict::Inconclusive,
            (Expected::Holds, Status::Holds)
            | (Expected::Violated, Status::Violated)
            | (Expected::Found, Status::Found)
            | (Expected::NotFound, Status::NotFound) => Verdict::Met,
            _ => Verdict::Failed,
        }
    }
}

/// Whether an observed status meets its expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The status is the expected one.
    Met,
    /// The status contradicts the expectation (exit code 1).
    Failed,
    /// The status is `unknown` because the run was not exhaustive; nothing is contradicted.
    Inconclusive,
}

/// One step of a trace: the initial state (index 0, no action) or an action and the state after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// 0 for the initial state, then 1, 2, … for each action.
    pub index: usize,
    /// The action, serialised with serde (`null` for the initial state).
    pub action: Option<serde_json::Value>,
    /// The action as a human-readable protocol event (the model's `format_action`).
    pub description: String,
    /// The model's description of the state after this step (`describe_state`).
    pub state_summary: String,
}

/// The result for one property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyReport {
    /// The property's name, as the model spells it.
    pub name: String,
    /// always, eventually or sometimes.
    pub kind: PropertyKind,
    /// What the checker established.
    pub status: Status,
    /// What was expected.
    pub expected: Expected,
    /// Whether the status meets the expectation.
    pub verdict: Verdict,
    /// The counterexample or example, when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<Vec<TraceStep>>,
    /// For a lasso (a liveness counterexample of the fair engine): the index of the trace step
    /// whose state the cycle returns to. The steps after it repeat forever.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loop_index: Option<usize>,
    /// Why the status is what it is, when that needs saying (for example why it is unknown).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// State-space statistics of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    /// Distinct states (fingerprints; representatives under symmetry). For simulation this is
    /// the number of states visited, as stateright does not track distinct states there.
    pub unique: usize,
    /// States generated, counting states generated more than once.
    pub total: usize,
    /// The deepest path explored (the initial states are at depth 1).
    pub max_depth: usize,
}

/// The options a run was made with (recorded in the JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Worker threads.
    pub threads: usize,
    /// Whether symmetry reduction was applied.
    pub symmetry: bool,
    /// `--max-states`, if any (a bound on generated states, checked every 1,500 states).
    pub max_states: Option<usize>,
    /// `--max-depth`, if any.
    pub max_depth: Option<usize>,
    /// The simulation seed, for simulation runs.
    pub seed: Option<u64>,
}

/// The outcome of checking one model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Which model was checked (for example `gossip` or `linearizability`).
    pub model: String,
    /// The search engine: bfs, dfs, simulation or fair.
    pub checker: String,
    /// The options of the run.
    pub settings: RunSettings,
    /// True when the checker stopped by itself: it exhausted the reachable state space or every
    /// property already had a discovery. False when a bound (`--max-states`, `--max-depth`)
    /// cut the run, and always false for simulation.
    pub complete: bool,
    /// State counts.
    pub states: StateCounts,
    /// Wall-clock seconds of the search (not including trace rendering).
    pub seconds: f64,
    /// One entry per checked property, in the model's order.
    pub properties: Vec<PropertyReport>,
    /// Memory figures of the fair engine (absent for the stateright engines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
}

/// Memory figures of a run of the fair engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    /// Bytes of the per-state structures (fingerprint table, offsets or parents, labels)
    /// divided by the unique states; edges excluded.
    pub bytes_per_state: f64,
    /// Bytes of the stored edges (0 in safety-only mode, which stores none).
    pub edge_bytes: u64,
    /// Peak resident set of the process (`VmHWM`), if readable.
    pub peak_rss_bytes: Option<u64>,
    /// Safety-only mode: the largest BFS level, in states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_frontier_states: Option<u64>,
    /// Safety-only mode: the largest BFS level, in compressed bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_frontier_bytes: Option<u64>,
    /// Safety-only mode: mean compressed bytes per frontier state (over the whole run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontier_bytes_per_state: Option<f64>,
    /// Why the run stopped early (`max_states`, memory or time limit), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
}

impl RunReport {
    /// True if no property contradicts its expectation.
    pub fn expectations_met(&self) -> bool {
        self.properties.iter().all(|p| p.verdict != Verdict::Failed)
    }

    /// Generated states per second.
    pub fn states_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.states.total as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Renders the summary and every property, with the traces of violations (and of examples
    /// when `show_examples`), as human-readable text.
    pub fn to_text(&self, show_examples: bool) -> String {
        let mut out = String::new();
        let symmetry = if self.settings.symmetry {
            ", symmetry"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "== {} model: {} checker, {} thread{}{}",
            self.model,
            self.checker,
            self.settings.threads,
            if self.settings.threads == 1 { "" } else { "s" },
            symmetry
        );
        let completeness = if self.complete {
            "complete".to_string()
        } else if self.checker == "simulation" {
            "NOT complete (simulation never explores exhaustively)".to_string()
        } else {
            "NOT complete (cut by a bound; nothing unfound is proven)".to_string()
        };
        let _ = writeln!(
            out,
            "states: {} unique, {} total, max depth {}, {:.2} s, {:.0} states/s, {}",
            group(self.states.unique),
            group(self.states.total),
            self.states.max_depth,
            self.seconds,
            self.states_per_second(),
            completeness
        );
        if let Some(st) = &self.storage {
            let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
            let mut line = format!(
                "storage: {:.1} B/state stored, {:.1} MiB of edges",
                st.bytes_per_state,
                mb(st.edge_bytes)
            );
            if let (Some(n), Some(b)) = (st.peak_frontier_states, st.peak_frontier_bytes) {
                let _ = write!(
                    line,
                    ", largest level {} states in {:.1} MiB compressed ({:.1} B/state)",
                    group(n as usize),
                    mb(b),
                    st.frontier_bytes_per_state.unwrap_or(0.0)
                );
            }
            if let Some(r) = st.peak_rss_bytes {
                let _ = write!(line, ", peak RSS {:.0} MiB", mb(r));
            }
            if let Some(why) = &st.stopped_by {
                let _ = write!(line, "; {why}");
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "properties:");
        for p in &self.properties {
            let mark = match p.verdict {
                Verdict::Met => "ok  ",
                Verdict::Failed => "FAIL",
                Verdict::Inconclusive => "??  ",
            };
            let judgement = match p.verdict {
                Verdict::Met => "(expected)".to_string(),
                Verdict::Failed => format!("(UNEXPECTED: expected {})", p.expected.as_text()),
                Verdict::Inconclusive => {
                    format!("(inconclusive; expected {})", p.expected.as_text())
                }
            };
            let caveat = if p.kind == PropertyKind::Eventually
                && p.status == Status::Holds
                && self.checker != "fair"
            {
                " [stateright eventually: sound only on acyclic paths]"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {mark} {:<10} {}: {} {}{}",
                p.kind.as_str(),
                p.name,
                p.status.as_text(),
                judgement,
                caveat
            );
            if let Some(note) = &p.note {
                let _ = writeln!(out, "       {:<10} note: {note}", "");
            }
        }
        for p in &self.properties {
            let Some(trace) = &p.trace else { continue };
            let is_example = p.status == Status::Found;
            if is_example && !show_examples {
                continue;
            }
            let what = if is_example {
                "example"
            } else {
                "counterexample"
            };
            let _ = writeln!(
                out,
                "\n{} for \"{}\" ({} step{}):",
                what,
                p.name,
                trace.len().saturating_sub(1),
                if trace.len() == 2 { "" } else { "s" }
            );
            out.push_str(&trace_to_text(trace, p.loop_index));
        }
        out
    }
}

/// Renders a trace as numbered protocol events, each followed by the state it leads to. With a
/// `loop_index`, the trace is a lasso: the steps after that index repeat forever (or, if there
/// are none, the behaviour is stuck there).
pub fn trace_to_text(trace: &[TraceStep], loop_index: Option<usize>) -> String {
    let mut out = String::new();
    let width = trace.len().to_string().len();
    for step in trace {
        let _ = writeln!(out, "  {:>width$}. {}", step.index, step.description);
        for line in step.state_summary.lines() {
            let _ = writeln!(out, "  {:>width$}    | {}", "", line);
        }
        if Some(step.index) == loop_index {
            if step.index + 1 == trace.len() {
                let _ = writeln!(
                    out,
                    "  {:>width$}    = deadlock: no step is enabled; the behaviour stays here forever",
                    ""
                );
            } else {
                let _ = writeln!(
                    out,
                    "  {:>width$}    = the cycle starts here: the following steps return to this state, forever",
                    ""
                );
            }
        }
    }
    if let Some(i) = loop_index
        && i + 1 < trace.len()
    {
        let _ = writeln!(out, "  (back to step {i}, and around again)");
    }
    out
}

/// Formats an integer with thousands separators (`1,234,567`).
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }

    #[test]
    fn an_unknown_status_is_inconclusive_whatever_was_expected() {
        for e in [
            Expected::Holds,
            Expected::Violated,
            Expected::Found,
            Expected::NotFound,
        ] {
            assert_eq!(e.verdict(Status::Unknown), Verdict::Inconclusive);
        }
        assert_eq!(Expected::Violated.verdict(Status::Violated), Verdict::Met);
        assert_eq!(Expected::Holds.verdict(Status::Violated), Verdict::Failed);
    }

    #[test]
    fn statuses_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&Status::NotFound).unwrap(),
            "\"not_found\""
        );
        assert_eq!(
            serde_json::to_string(&PropertyKind::Sometimes).unwrap(),
            "\"sometimes\""
        );
    }
}
