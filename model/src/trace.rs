//! The shared trace format `gossip-trace/1` (`docs/spec/traces.md`): a model configuration,
//! then the steps (model actions in their serde form), each with an optional expected abstract
//! state. Pure data plus the export of stateright paths ([`from_path`], used by
//! `gossip-check --trace-out`); serialising to JSON and replaying against the implementation
//! live in the crates that need them (`gossip-conformance::trace`, `gossip-kit --replay`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stateright::Model;

use crate::{Forgotten, GossipAction, GossipConfig, GossipModel, GossipState, NodeId, NodeView};

/// The value of [`Trace::format`].
pub const FORMAT: &str = "gossip-trace/1";

/// A trace: a model configuration and a sequence of steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Always [`FORMAT`].
    pub format: String,
    /// Where the trace comes from (free text, e.g. "gossip-check counterexample for …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The model configuration (the variant included).
    pub config: GossipConfig,
    /// The steps, from the initial state.
    pub steps: Vec<TraceStep>,
    /// For a lasso (a liveness counterexample of the fairness-aware checker): the index in
    /// `steps` of the first step of the cycle. `steps[..cycle_start]` is the prefix;
    /// `steps[cycle_start..]` is one pass of the cycle, which ends in the state the prefix
    /// ended in (the state before `steps[cycle_start]`, or the initial state when it is 0), so
    /// the behaviour repeats those steps forever. `cycle_start == steps.len()` is a deadlock:
    /// the behaviour stops after the prefix. Absent for finite traces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_start: Option<usize>,
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The model action, in its serde JSON form.
    pub action: GossipAction,
    /// The abstract state expected after the step, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Vec<ExpectedNode>>,
}

/// The abstract state of one node (index = node id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectedNode {
    /// Whether its process runs.
    pub up: bool,
    /// Its view.
    pub view: BTreeMap<NodeId, NodeView>,
    /// Its forgotten records.
    #[serde(default)]
    pub forgotten: BTreeMap<NodeId, Forgotten>,
}

/// The abstract state of every node of `s`, as a trace records it.
pub fn expected_of(s: &GossipState) -> Vec<ExpectedNode> {
    s.nodes
        .iter()
        .map(|n| ExpectedNode {
            up: n.up,
            view: n.view.clone(),
            forgotten: n.forgotten.clone(),
        })
        .collect()
}

/// A trace of `actions` from the model's initial state, with the expected state after every
/// step when `with_states` (actions the model does not enable end the expected states).
pub fn from_actions(
    model: &GossipModel,
    actions: &[GossipAction],
    with_states: bool,
    source: Option<String>,
) -> Trace {
    let mut s = model.init_states().into_iter().next();
    let steps = actions
        .iter()
        .map(|a| {
            s = s.as_ref().and_then(|st| model.next_state(st, a.clone()));
            TraceStep {
                action: a.clone(),
                expected: if with_states {
                    s.as_ref().map(expected_of)
                } else {
                    None
                },
            }
        })
        .collect();
    Trace {
        format: FORMAT.to_owned(),
        source,
        config: model.cfg.clone(),
        steps,
        cycle_start: None,
    }
}

/// A lasso as a trace: the `prefix` actions, then one pass of the `cycle` actions, with
/// [`Trace::cycle_start`] at the first cycle step (see there). The expected states are the
/// model's, as in [`from_actions`].
pub fn from_lasso(
    model: &GossipModel,
    prefix: &[GossipAction],
    cycle: &[GossipAction],
    source: Option<String>,
) -> Trace {
    let all: Vec<GossipAction> = prefix.iter().chain(cycle).cloned().collect();
    let mut t = from_actions(model, &all, true, source);
    t.cycle_start = Some(prefix.len());
    t
}

impl Trace {
    /// The trace's actions, in order.
    pub fn actions(&self) -> Vec<GossipAction> {
        self.steps.iter().map(|s| s.action.clone()).collect()
    }

    /// The trace rendered as `gossip-check` renders a counterexample ([`crate::format::run`]
    /// on the model of its configuration).
    pub fn render(&self) -> String {
        crate::format::run(&self.config.clone().into_model(), &self.actions())
    }

    /// Whether the trace is a lasso whose cycle, replayed in the model, really returns to the
    /// state where it starts (each step enabled, and the state after the last cycle step equal
    /// to the state before the first). `false` for finite traces.
    pub fn cycle_closes(&self, model: &GossipModel) -> bool {
        let Some(c) = self.cycle_start else {
            return false;
        };
        if c > self.steps.len() {
            return false;
        }
        let mut s = model.init_states().into_iter().next();
        let mut at_start = None;
        for (i, step) in self.steps.iter().enumerate() {
            if i == c {
                at_start = s.clone();
            }
            s = s.and_then(|st| model.next_state(&st, step.action.clone()));
        }
        if c == self.steps.len() {
            return s.is_some(); // a deadlock: nothing to close
        }
        s.is_some() && s == at_start
    }
}

/// Exports a stateright path (a counterexample, an example or a random walk) as a trace with
/// expected states. This is the function `gossip-check --trace-out` uses.
pub fn from_path(
    model: &GossipModel,
    path: &stateright::Path<GossipState, GossipAction>,
    source: Option<String>,
) -> Trace {
    from_actions(model, &path.clone().into_actions(), true, source)
}
