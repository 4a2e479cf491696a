//! Traces shared by the model and the implementation (format: `docs/spec/traces.md`): the
//! model configuration, then the steps (model actions in their serde JSON form), each with an
//! optional expected abstract state. [`from_path`] exports a stateright path (a
//! counterexample or a random walk of `gossip-check`); [`replay`] runs a trace against the
//! implementation and reports the first divergence; [`replay_properties`] runs a trace of any
//! model variant (for example a seeded bug's counterexample) against the implementation and
//! evaluates the model's safety properties on the abstracted implementation state.

pub use gossip_model::trace::{
    ExpectedNode, FORMAT, Trace, TraceStep, expected_of, from_actions, from_path,
};
use gossip_model::{GossipAction, GossipModel, GossipState};
use stateright::Model;

use crate::check::{Counters, StepFailure, check_step, compare, correct_model, violated};
use crate::cluster::{Cluster, Outcome};
use crate::driver::Backend;

/// Where a replay diverged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// 1-based step number.
    pub step: usize,
    /// The step's action, as a protocol event.
    pub action: String,
    /// What differs (the rendering of `failure`).
    pub reason: String,
    /// What failed: the model's own violations, the implementation's, and how the
    /// implementation differs from the model (`mismatch`; also set when the step is not
    /// enabled in the model or the model's state differs from the trace's expected state).
    pub failure: StepFailure,
}

/// The result of a strict replay.
#[derive(Clone, Debug)]
pub struct Report {
    /// Steps that conformed.
    pub steps: usize,
    /// The first divergence, if any.
    pub divergence: Option<Divergence>,
    /// Message statistics.
    pub counters: Counters,
}

/// Replays a trace against the implementation, strictly: every action must be enabled in the
/// model of the trace's configuration, the implementation's messages must abstract to the
/// model's, its abstracted state must equal the model's (and the trace's expected state, when
/// recorded) and satisfy the safety properties. Fails only if the configuration is invalid or
/// not supported by the harness.
pub fn replay(trace: &Trace) -> Result<Report, String> {
    replay_with(trace, &Backend::InProcess)
}

/// [`replay`] against the nodes of `backend` (for example a conformance kit adapter).
pub fn replay_with(trace: &Trace, backend: &Backend) -> Result<Report, String> {
    trace.config.validate().map_err(|e| e.to_string())?;
    let c = &trace.config;
    if c.fanout != 1 && !(backend.in_process() && c.fanout == 2 && c.nodes == 3 && !c.leave) {
        return Err(
            "the harness supports fanout 1, and fanout 2 with 3 in-process nodes and no leave"
                .into(),
        );
    }
    let model = trace.config.clone().into_model();
    let correct = correct_model(&model);
    let mut s = model.init_states().remove(0);
    let mut cluster = Cluster::with_backend(&model.cfg, backend)?;
    let mut counters = Counters::default();
    for (i, step) in trace.steps.iter().enumerate() {
        let diverge = |failure: StepFailure| Report {
            steps: i,
            divergence: Some(Divergence {
                step: i + 1,
                action: gossip_model::format::action(&step.action),
                reason: failure.to_string(),
                failure,
            }),
            counters: Counters::default(),
        };
        let mut enabled = Vec::new();
        model.actions(&s, &mut enabled);
        if !enabled.contains(&step.action) {
            return Ok(diverge(StepFailure::mismatch(
                "the action is not enabled in the model",
            )));
        }
        s = model
            .next_state(&s, step.action.clone())
            .expect("enabled actions have a successor");
        if let Some(exp) = &step.expected
            && *exp != expected_of(&s)
        {
            return Ok(diverge(StepFailure::mismatch(
                "the model's state differs from the trace's expected state",
            )));
        }
        let res = cluster
            .apply(&step.action, false)
            .map_err(StepFailure::from)
            .and_then(|_| check_step(&mut cluster, &correct, &s, &mut counters));
        if let Err(e) = res {
            return Ok(diverge(e));
        }
    }
    Ok(Report {
        steps: trace.steps.len(),
        divergence: None,
        counters,
    })
}

/// The result of a property replay.
#[derive(Clone, Debug)]
pub struct PropertyReport {
    /// Steps given to the implementation.
    pub applied: usize,
    /// Steps without an implementation counterpart (stutters), with the reason.
    pub stutters: Vec<(usize, String)>,
    /// The first (step, property) violated on the abstracted implementation state, if any.
    pub violation: Option<(usize, String)>,
    /// Extra steps taken by [`settle`] after the trace.
    pub settle_steps: usize,
}

/// Replays a trace of any model variant (a seeded bug's counterexample, typically) against
/// the implementation, matching messages by link and kind when the buggy model's messages
/// differ from the implementation's, and evaluates `properties` (names; all `always`
/// properties if empty) of the *correct* model on the abstracted implementation state after
/// every step. With `settle`, the cluster is then driven to quiescence (see [`settle`], with
/// [`settle_bound`] rounds; not reaching it is an error) and the properties are evaluated
/// again, so that quiescence-conditioned properties do not hold vacuously.
pub fn replay_properties(
    trace: &Trace,
    properties: &[&str],
    settle_after: bool,
) -> Result<PropertyReport, String> {
    replay_properties_with(trace, properties, settle_after, &Backend::InProcess)
}

/// [`replay_properties`] against the nodes of `backend`.
pub fn replay_properties_with(
    trace: &Trace,
    properties: &[&str],
    settle_after: bool,
    backend: &Backend,
) -> Result<PropertyReport, String> {
    trace.config.validate().map_err(|e| e.to_string())?;
    let model = correct_model(&trace.config.clone().into_model());
    let mut cluster = Cluster::with_backend(&model.cfg, backend)?;
    let mut report = PropertyReport {
        applied: 0,
        stutters: Vec::new(),
        violation: None,
        settle_steps: 0,
    };
    let check = |cluster: &Cluster, settled: bool| -> Result<Option<String>, String> {
        let mut s = cluster.abstract_state()?;
        if settled {
            s = saturate(&s, model.cfg.max_heartbeat);
        }
        let bad: Vec<&str> = violated(&model, &s)
            .into_iter()
            .filter(|p| properties.is_empty() || properties.contains(p))
            .collect();
        Ok((!bad.is_empty()).then(|| bad.join("; ")))
    };
    for (i, step) in trace.steps.iter().enumerate() {
        match cluster.apply(&step.action, true)? {
            Outcome::Applied => report.applied += 1,
            Outcome::Stutter(why) => report.stutters.push((i + 1, why)),
        }
        if let Some(p) = check(&cluster, false)? {
            report.violation = Some((i + 1, p));
            return Ok(report);
        }
    }
    if settle_after {
        report.settle_steps = settle(&mut cluster, &model, settle_bound(&model))?;
        if let Some(p) = check(&cluster, true)? {
            report.violation = Some((trace.steps.len() + report.settle_steps, p));
        }
    }
    Ok(report)
}

/// The abstract state with every heartbeat capped at `max_heartbeat` (views, forgotten records
/// and messages in flight). The model's heartbeats saturate at `max_heartbeat` (its bound on the
/// rounds that change state); the implementation's grow with every round, so a cluster of cores
/// is never quiescent in the model's sense (every round leaves the last heartbeat it bumped
/// somewhere unseen). Capped, it is quiescent once every view holds every heartbeat up to the
/// bound and nothing else would change: [`settle`] waits for that, and the properties after
/// settling are evaluated on the capped state (the quiescence-conditioned properties compare
/// heartbeats only up to the bound; the safety properties do not read heartbeats, and the
/// transition checks were evaluated on the uncapped states along the way).
pub fn saturate(s: &GossipState, max_heartbeat: u8) -> GossipState {
    let mut s = s.clone();
    let cap = |h: &mut u8| *h = (*h).min(max_heartbeat);
    for n in &mut s.nodes {
        n.view.values_mut().for_each(|v| cap(&mut v.heartbeat));
        n.forgotten.values_mut().for_each(|f| cap(&mut f.heartbeat));
    }
    for e in &mut s.network {
        match &mut e.msg {
            gossip_model::Msg::Syn { digest, delta, .. }
            | gossip_model::Msg::SynAck { digest, delta, .. } => {
                digest.iter_mut().for_each(|d| cap(&mut d.heartbeat));
                delta.iter_mut().for_each(|d| cap(&mut d.heartbeat));
            }
            gossip_model::Msg::Ack { delta } => {
                delta.iter_mut().for_each(|d| cap(&mut d.heartbeat))
            }
        }
    }
    s
}

/// The bound on settling rounds [`replay_properties`] gives [`settle`]: every round runs every
/// enabled gossip round, which bumps every running node's heartbeat, so the model's heartbeats
/// saturate within `max_heartbeat` rounds; two more spread the last news and confirm that
/// nothing changes, and two spare rounds leave room for restarted nodes to rejoin.
pub fn settle_bound(model: &GossipModel) -> usize {
    usize::from(model.cfg.max_heartbeat) + 4
}

/// Drives the cluster to quiescence on a reliable network: delivers everything in flight,
/// then runs every gossip round the model enables (each to completion), until the correct
/// model calls the abstracted state, heartbeats capped ([`saturate`]), quiescent. Returns the number of steps taken. **Fails** if
/// the state is still not quiescent after `rounds` rounds (a quiescence-conditioned property
/// evaluated on a state that is not quiescent holds vacuously, so a replay that did not settle
/// must not pass for one that did).
pub fn settle(cluster: &mut Cluster, model: &GossipModel, rounds: usize) -> Result<usize, String> {
    fn deliver_all(cluster: &mut Cluster) -> Result<usize, String> {
        let mut n = 0;
        while let Some(f) = cluster.inflight.first() {
            let env = gossip_model::Envelope {
                from: f.from,
                to: f.to,
                msg: f.msg.clone(),
            };
            cluster.apply(&GossipAction::Deliver(env), true)?;
            n += 1;
        }
        Ok(n)
    }
    let mut steps = deliver_all(cluster)?;
    let h = model.cfg.max_heartbeat;
    for _ in 0..rounds {
        let s = cluster.abstract_state()?;
        if model.quiescent(&saturate(&s, h)) {
            return Ok(steps);
        }
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        for a in actions {
            if matches!(a, GossipAction::Gossip { .. }) {
                cluster.apply(&a, true)?;
                steps += 1 + deliver_all(cluster)?;
            }
        }
    }
    let s = saturate(&cluster.abstract_state()?, h);
    if model.quiescent(&s) {
        return Ok(steps);
    }
    Err(format!(
        "the cluster did not reach quiescence within {rounds} settling rounds ({steps} steps); its state:\n{}",
        model.describe_state(&s)
    ))
}

/// Compares a trace's expected state with the abstracted implementation state (used by tools
/// that replay traces recorded elsewhere).
pub fn compare_expected(expected: &[ExpectedNode], imp: &GossipState) -> Result<(), String> {
    let mut s = imp.clone();
    for (n, e) in s.nodes.iter_mut().zip(expected) {
        n.up = e.up;
        n.view = e.view.clone();
        n.forgotten = e.forgotten.clone();
    }
    compare(&s, imp)
}

/// Every seeded bug of the model with the property it violates and its shortest counterexample
/// (BFS on the bug's witness configuration, one worker so that it is the shortest), as a
/// trace. Running them against an implementation with [`replay_properties_with`] checks that
/// the implementation does not have the bug along the path that exposes it (what random
/// traces rarely reach, e.g. a stale delta arriving past a gap).
pub fn seeded_bug_traces() -> Result<Vec<(&'static str, &'static str, Trace)>, String> {
    use stateright::Checker;
    let mut out = Vec::new();
    for &v in gossip_model::Variant::all() {
        let Some(property) = v.expected_violation() else {
            continue;
        };
        let model = v.witness_config().into_model();
        let checker = model.clone().checker().spawn_bfs().join();
        let path = checker
            .discovery(property)
            .ok_or_else(|| format!("{}: the model finds no counterexample", v.name()))?;
        let trace = from_path(
            &model,
            &path,
            Some(format!(
                "BFS counterexample of {} for {property:?}",
                v.name()
            )),
        );
        out.push((v.name(), property, trace));
    }
    Ok(out)
}
