//! One conformance step: after the model and the implementation took the same action, the
//! datagrams the implementation sent must abstract to the messages the model sent, the
//! abstracted implementation state must equal the model state, and the model's `always`
//! properties must hold on the model's own state and on the abstracted implementation state
//! (a violation by either is a failure, [`StepFailure`]).
//!
//! ## Documented refinements (the only places where the implementation may differ)
//!
//! 1. **Empty Acks.** The implementation always answers a SynAck (carrying a digest) with an
//!    Ack; the model does not send an Ack whose delta is empty (protocol.md §6 allows either:
//!    applying an empty delta changes nothing). The harness discards such datagrams when they
//!    are sent (a stutter) and counts them.
//! 2. **Post-cut heartbeat fillers.** After a delta has been cut (§4, "no further node deltas
//!    carry updates"), the model sends a heartbeat-only node delta (`incremental { from: d }`,
//!    no updates, `watermark_after = d`) for *every* further node the peer is behind on (in
//!    push-pull only for nodes whose generation the peer lacks, protocol.md §4); the
//!    implementation sends one only when the peer's digest shows the heartbeat is news (or the
//!    peer lacks the node). Such a node delta (where `d` is the peer's digest watermark) for a
//!    node whose heartbeat the peer already has changes nothing at the receiver, so omitting it
//!    is a refinement. The matcher
//!    accepts an implementation message equal to the model's message with some of these fillers
//!    left out; a model Ack made only of fillers that the implementation left empty becomes a
//!    phantom in-flight entry (delivering it is a stutter). The state comparison after every
//!    step then checks that the omission indeed changed nothing.
//! 3. **Suspected.** The implementation's `suspected` is the model's `alive` (never reached
//!    here: the failure detector only acts through `convict`).
//! 4. **Saturated heartbeats.** The model's heartbeats stop at `max_heartbeat`, the
//!    implementation's do not; the abstraction caps them at `max_heartbeat`
//!    ([`Cluster::heartbeat`]). Above the cap the implementation still sees heartbeat news that
//!    the model does not: it may add heartbeat-only node deltas at the capped heartbeat
//!    (`is_saturated_filler`) to a message, and an Ack made only of them (the model sends no
//!    Ack) is discarded when sent. What such news could change beyond the heartbeat (reviving a
//!    dead node, re-learning a forgotten one) is kept out of the walks: the generator does not
//!    convict a crashed node whose heartbeat reached the cap (the model already convicts a
//!    running node only below it), see [`crate::harness`].

use gossip_model::{DeltaKind, GossipModel, GossipState, Msg, NodeDelta, Variant};
use stateright::{Expectation, Model};

use crate::cluster::{Cluster, InFlight};

/// Whether a node delta is a post-cut heartbeat filler the implementation may leave out.
pub fn is_filler(nd: &NodeDelta) -> bool {
    nd.updates.is_empty()
        && matches!(nd.kind, DeltaKind::Incremental { from } if from == nd.watermark_after)
}

/// Whether a node delta is a heartbeat-only node delta at the saturated heartbeat
/// `max_heartbeat`: news only above the model's bound (refinement 4).
pub fn is_saturated_filler(nd: &NodeDelta, max_heartbeat: u8) -> bool {
    is_filler(nd) && nd.heartbeat == max_heartbeat
}

/// Whether the implementation's message `imp` is the model's message `model`, up to left-out
/// fillers (refinement 2) and added saturated fillers (refinement 4).
pub fn refines(model: &Msg, imp: &Msg, max_heartbeat: u8) -> bool {
    if model == imp {
        return true;
    }
    let digests_equal = match (model, imp) {
        (Msg::Syn { digest: a, .. }, Msg::Syn { digest: b, .. })
        | (Msg::SynAck { digest: a, .. }, Msg::SynAck { digest: b, .. }) => a == b,
        (Msg::Ack { .. }, Msg::Ack { .. }) => true,
        _ => false,
    };
    if !digests_equal {
        return false;
    }
    let (m, i) = (model.delta(), imp.delta());
    let (mut j, mut k) = (0, 0);
    loop {
        if j < m.len() && k < i.len() && m[j] == i[k] {
            j += 1;
            k += 1;
        } else if j < m.len() && is_filler(&m[j]) {
            j += 1;
        } else if k < i.len() && is_saturated_filler(&i[k], max_heartbeat) {
            k += 1;
        } else {
            return j == m.len() && k == i.len();
        }
    }
}

/// Statistics of a conformance run.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Steps checked.
    pub steps: usize,
    /// Messages matched exactly.
    pub exact: usize,
    /// Messages matched up to fillers (refinement 2).
    pub refined: usize,
    /// Phantom messages (refinement 2).
    pub phantoms: usize,
    /// Acks made only of saturated fillers, which the model does not send (refinement 4).
    pub saturated_acks: usize,
}

/// Matches the datagrams the last input made the implementation send with the messages the
/// model's step sent (`model_after` is the model state after the step).
pub fn match_sent(
    cluster: &mut Cluster,
    model_after: &GossipState,
    counters: &mut Counters,
) -> Result<(), String> {
    // The model's new envelopes: its network minus what was already in flight.
    let mut new: Vec<gossip_model::Envelope> = model_after.network.clone();
    for (k, f) in cluster.inflight.iter().enumerate() {
        if cluster.last_sent.contains(&k) {
            continue;
        }
        let want = f.model_msg.as_ref().expect("matched when sent");
        match new
            .iter()
            .position(|e| e.from == f.from && e.to == f.to && e.msg == *want)
        {
            Some(p) => {
                new.remove(p);
            }
            None => {
                return Err(format!(
                    "the model no longer has in flight n{} → n{} {}",
                    f.from,
                    f.to,
                    gossip_model::format::msg(want)
                ));
            }
        }
    }
    let sent: Vec<usize> = cluster.last_sent.clone();
    let h = cluster.max_heartbeat();
    let mut discard = Vec::new();
    for k in sent {
        let f = &cluster.inflight[k];
        let exact = new
            .iter()
            .position(|e| e.from == f.from && e.to == f.to && e.msg == f.msg);
        let pos = exact.or_else(|| {
            new.iter()
                .position(|e| e.from == f.from && e.to == f.to && refines(&e.msg, &f.msg, h))
        });
        if pos.is_none()
            && matches!(&f.msg, Msg::Ack { delta } if delta.iter().all(|nd| is_saturated_filler(nd, h)))
        {
            // Refinement 4: heartbeat news above the model's bound only; lost at once.
            counters.saturated_acks += 1;
            discard.push(k);
            continue;
        }
        let Some(p) = pos else {
            let model_sent: Vec<String> = new
                .iter()
                .map(|e| {
                    format!(
                        "n{} → n{} {}",
                        e.from,
                        e.to,
                        gossip_model::format::msg(&e.msg)
                    )
                })
                .collect();
            return Err(format!(
                "the implementation sent n{} → n{} {}\n  which is not what the model sent: [{}]",
                f.from,
                f.to,
                gossip_model::format::msg(&f.msg),
                model_sent.join("; ")
            ));
        };
        if exact.is_some() {
            counters.exact += 1;
        } else {
            counters.refined += 1;
        }
        let e = new.remove(p);
        cluster.inflight[k].model_msg = Some(e.msg);
    }
    for k in discard.into_iter().rev() {
        cluster.inflight.remove(k);
    }
    for e in new {
        let phantom = matches!(&e.msg, Msg::Ack { delta } if delta.iter().all(is_filler));
        if !phantom {
            return Err(format!(
                "the model sent n{} → n{} {}\n  which the implementation did not send",
                e.from,
                e.to,
                gossip_model::format::msg(&e.msg)
            ));
        }
        counters.phantoms += 1;
        cluster.inflight.push(InFlight {
            from: e.from,
            to: e.to,
            msg: e.msg.clone(),
            model_msg: Some(e.msg),
            bytes: None,
        });
    }
    Ok(())
}

/// Compares the abstracted implementation state with the model state (processes, views,
/// forgotten records). Returns a human-readable difference.
pub fn compare(model: &GossipState, imp: &GossipState) -> Result<(), String> {
    let mut diffs = Vec::new();
    for (i, (m, x)) in model.nodes.iter().zip(&imp.nodes).enumerate() {
        if m.up != x.up {
            diffs.push(format!("n{i}: model up={} impl up={}", m.up, x.up));
        }
        let ids: std::collections::BTreeSet<_> = m.view.keys().chain(x.view.keys()).collect();
        for n in ids {
            let (mv, xv) = (m.view.get(n), x.view.get(n));
            if mv != xv {
                let show = |v: Option<&gossip_model::NodeView>| {
                    v.map_or("(unknown)".to_owned(), gossip_model::format::view)
                };
                diffs.push(format!(
                    "n{i}'s view of n{n}:\n      model: {}\n      impl:  {}",
                    show(mv),
                    show(xv)
                ));
            }
        }
        if m.forgotten != x.forgotten {
            diffs.push(format!(
                "n{i}'s forgotten records: model {:?}, impl {:?}",
                m.forgotten, x.forgotten
            ));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the implementation's state differs from the model's:\n    {}",
            diffs.join("\n    ")
        ))
    }
}

/// The model of the *correct* protocol with the same parameters (the properties are evaluated
/// with it, whatever variant produced a trace).
pub fn correct_model(model: &GossipModel) -> GossipModel {
    let mut cfg = model.cfg.clone();
    cfg.variant = Variant::Correct;
    GossipModel { cfg }
}

/// The names of the `always` properties violated by a state.
pub fn violated(model: &GossipModel, s: &GossipState) -> Vec<&'static str> {
    model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Always && !(p.condition)(model, s))
        .map(|p| p.name)
        .collect()
}

/// Why a conformance step failed. Every part that applies is filled in, so that a step at which
/// the reference model itself violates a property *and* the implementation differs from it
/// reports both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepFailure {
    /// The `always` properties (state invariants and transition checks) that the reference
    /// model's own state violates after the step: a finding about the model (or, when the
    /// reference is a seeded bug, the bug showing).
    pub model_violations: Vec<&'static str>,
    /// The `always` properties that the abstracted implementation state violates (evaluated
    /// with the model's ghost history, see [`crate::cluster`]).
    pub impl_violations: Vec<&'static str>,
    /// How the implementation's messages or state differ from the model's, or why the
    /// implementation could not be given the step.
    pub mismatch: Option<String>,
    /// The state a violated property was evaluated on (the model's, else the implementation's
    /// abstracted state), rendered as gossip-check renders states.
    pub state: Option<String>,
}

impl StepFailure {
    /// A failure that is only a mismatch (the implementation differs, no property involved).
    pub fn mismatch(reason: impl Into<String>) -> StepFailure {
        StepFailure {
            mismatch: Some(reason.into()),
            ..StepFailure::default()
        }
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.model_violations.is_empty()
            && self.impl_violations.is_empty()
            && self.mismatch.is_none()
    }

    /// Whether the named property is violated, by the model's state or the implementation's.
    pub fn violates(&self, property: &str) -> bool {
        self.model_violations.contains(&property) || self.impl_violations.contains(&property)
    }
}

impl From<String> for StepFailure {
    fn from(reason: String) -> StepFailure {
        StepFailure::mismatch(reason)
    }
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for p in &self.model_violations {
            parts.push(format!(
                "the model's own state violates {p:?} (a finding about the model, or the seeded bug of a buggy reference)"
            ));
        }
        for p in &self.impl_violations {
            parts.push(format!(
                "the abstracted implementation state violates {p:?}"
            ));
        }
        if let Some(m) = &self.mismatch {
            parts.push(m.clone());
        }
        f.write_str(&parts.join("\n  "))?;
        if let Some(s) = &self.state {
            write!(f, "\n  state after the step:\n{s}")?;
        }
        Ok(())
    }
}

/// One strict conformance step, after `cluster.apply(action)` and the model's `next_state`:
/// the implementation's datagrams must match the model's messages, its abstracted state must
/// equal the model's, and **no `always` property may be violated**, neither by the model's own
/// state (`model_after`, evaluated with the correct model's properties, transition checks
/// included through the ghost `violations`) nor by the abstracted implementation state. Any of
/// these is a failure; all that apply are reported together.
pub fn check_step(
    cluster: &mut Cluster,
    correct: &GossipModel,
    model_after: &GossipState,
    counters: &mut Counters,
) -> Result<(), StepFailure> {
    let mut failure = StepFailure {
        model_violations: violated(correct, model_after),
        ..StepFailure::default()
    };
    let imp = match_sent(cluster, model_after, counters).and_then(|()| cluster.abstract_state());
    match imp {
        Err(e) => failure.mismatch = Some(e),
        Ok(imp) => {
            if let Err(e) = compare(model_after, &imp) {
                failure.mismatch = Some(e);
            }
            failure.impl_violations = violated(correct, &imp);
            if failure.model_violations.is_empty() && !failure.impl_violations.is_empty() {
                failure.state = Some(correct.describe_state(&imp));
            }
        }
    }
    if !failure.model_violations.is_empty() {
        failure.state = Some(correct.describe_state(model_after));
    }
    if !failure.is_empty() {
        return Err(failure);
    }
    counters.steps += 1;
    Ok(())
}
