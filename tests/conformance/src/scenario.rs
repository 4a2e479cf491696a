//! Scenario templates: weighted *intents* mixed into the random walk of the conformance
//! harness ([`crate::harness`]), so that situations random traces rarely build are built in a
//! good share of the cases, without giving up generality.
//!
//! A template is a list of [`Intent`]s over two roles, `A` (the owner of the state that
//! travels; always `n0`, the seed, so that every node can start a round with it) and `B` (a
//! receiver, drawn among the other nodes). At each step the harness draws from **every** action
//! the model enables (as without templates), but the actions that fulfil the template's current
//! intent get four times the weight of all the others together, so the template advances with
//! probability 0.8 per step and random *noise* (other nodes' gossip, crashes, losses, stale
//! deliveries, ...) is interleaved. An intent that no enabled action fulfils is skipped. The
//! template starts after a random delay and the walk goes on randomly after its end.
//!
//! The templates only change **which** enabled action is drawn: every generated action is still
//! one `model.actions(state)` allows, and the harness's preconditions re-check exactly that
//! while shrinking, so shrinking stays honest (a shrunk trace need not follow the template).
//!
//! | template | what it builds | the rule it exercises |
//! |---|---|---|
//! | [`Scenario::GapAfterRestart`] | `B` learns `A` up to watermark 2 through cut deltas (`max_delta` 1), sends a digest saying so, crashes, restarts, re-learns `A` only up to watermark 1 (cut), and then gets the answer to its old digest: an incremental delta `from 2` | §5.6 gap check for a node the receiver knows, at exactly `watermark + 1` |
//! | [`Scenario::StaleGeneration`] | `A` answers `B`'s digest with a full delta of generation 1, crashes and restarts; `B` learns generation 2, then the old answer arrives | §5.3 an older generation (by exactly one) never overwrites a newer one |
//! | [`Scenario::ReapplyAfterCollect`] | `A` writes then deletes a key (the tombstone is at `A`'s watermark); `B` gets the delta twice (duplicated), collecting `A`'s tombstones in between | §5.6 an update at or below the watermark is not applied again |

use gossip_model::{Envelope, GossipAction, GossipConfig, Msg, NodeId};

/// A role of a template: `A` or `B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The owner (`n0`).
    A,
    /// The receiver.
    B,
}

/// A message kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Syn`.
    Syn,
    /// `SynAck`.
    SynAck,
    /// `Ack`.
    Ack,
}

/// Which of several matching in-flight messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Age {
    /// The one sent first.
    Oldest,
    /// The one sent last.
    Newest,
}

/// One step a template wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// `node` writes `key` (any value).
    Write(Role, u8),
    /// `node` deletes `key`.
    Delete(Role, u8),
    /// `from` starts a round with `to`.
    Gossip(Role, Role),
    /// The network delivers a `kind` message from the first role to the second.
    Deliver(Role, Role, Kind, Age),
    /// The network duplicates a `kind` message from the first role to the second.
    Duplicate(Role, Role, Kind),
    /// The node crashes.
    Crash(Role),
    /// The node restarts.
    Restart(Role),
    /// The first role collects its tombstones of the second.
    Collect(Role, Role),
}

/// A scenario template (see the module documentation), or none (a plain random walk).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// A plain random walk.
    None,
    /// A version gap of exactly one for a node the receiver knows.
    GapAfterRestart,
    /// A from-scratch delta of the previous generation after the newer one is known.
    StaleGeneration,
    /// A delete at the receiver's watermark delivered again after its tombstone was collected.
    ReapplyAfterCollect,
}

use Age::*;
use Intent::*;
use Kind::*;
use Role::*;

const GAP_AFTER_RESTART: &[Intent] = &[
    Write(A, 0),
    Write(A, 1),
    // B learns A up to watermark 1, then 2 (max_delta 1)
    Gossip(B, A),
    Deliver(B, A, Syn, Newest),
    Deliver(A, B, SynAck, Newest),
    Deliver(B, A, Ack, Newest),
    Gossip(B, A),
    Deliver(B, A, Syn, Newest),
    Deliver(A, B, SynAck, Newest),
    Deliver(B, A, Ack, Newest),
    // version 3 supersedes version 2: a from-scratch delta cut at 1 update now stops at 1
    Write(A, 1),
    // the digest that says "A at watermark 2", held in flight
    Gossip(B, A),
    Crash(B),
    Restart(B),
    Gossip(B, A),
    Deliver(B, A, Syn, Newest),
    Deliver(A, B, SynAck, Newest),
    // the old digest is answered: `from 2` while B is at 1
    Deliver(B, A, Syn, Oldest),
    Deliver(A, B, SynAck, Newest),
];

const STALE_GENERATION: &[Intent] = &[
    Gossip(B, A),
    Deliver(B, A, Syn, Newest),
    // A's answer (generation 1, from scratch) stays in flight
    Crash(A),
    Restart(A),
    Gossip(B, A),
    Deliver(B, A, Syn, Newest),
    Deliver(A, B, SynAck, Newest),
    // B knows generation 2; the generation-1 answer arrives
    Deliver(A, B, SynAck, Oldest),
];

const REAPPLY_AFTER_COLLECT: &[Intent] = &[
    Write(A, 0),
    Delete(A, 0),
    Gossip(B, A),
    Deliver(B, A, Syn, Newest),
    Duplicate(A, B, SynAck),
    Deliver(A, B, SynAck, Newest),
    Collect(B, A),
    Deliver(A, B, SynAck, Newest),
];

impl Scenario {
    /// The template's intents.
    pub fn intents(self) -> &'static [Intent] {
        match self {
            Scenario::None => &[],
            Scenario::GapAfterRestart => GAP_AFTER_RESTART,
            Scenario::StaleGeneration => STALE_GENERATION,
            Scenario::ReapplyAfterCollect => REAPPLY_AFTER_COLLECT,
        }
    }

    /// Adjusts a configuration so that the template can happen (push-pull with fanout 1, heartbeats that do not saturate, room
    /// in flight, cut deltas, an unordered network where the template delivers a message that
    /// is not the oldest).
    pub fn adjust(self, cfg: &mut GossipConfig) {
        if self != Scenario::None {
            // The templates' intents are push-pull exchanges with one peer per round.
            cfg.mode = gossip_model::Mode::PushPull;
            cfg.fanout = 1;
            cfg.leave = true;
            cfg.max_heartbeat = 100;
        }
        match self {
            Scenario::None => {}
            Scenario::GapAfterRestart => {
                cfg.max_delta = 1;
                cfg.network.ordered = false;
                cfg.network.max_in_flight = cfg.network.max_in_flight.max(5);
            }
            Scenario::StaleGeneration => {
                cfg.network.ordered = false;
                cfg.network.max_in_flight = cfg.network.max_in_flight.max(4);
            }
            Scenario::ReapplyAfterCollect => {
                cfg.network.max_in_flight = cfg.network.max_in_flight.max(4);
            }
        }
    }
}

/// A template instance of one case: the scenario, the node playing `B`, the step at which it
/// starts, and the index of the next intent.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The template.
    pub scenario: Scenario,
    /// The node playing `B` (`A` is `n0`).
    pub b: NodeId,
    /// The step before which the template waits.
    pub start: u32,
    /// The next intent.
    pub next: usize,
}

fn kind(m: &Msg) -> Kind {
    match m {
        Msg::Syn { .. } => Syn,
        Msg::SynAck { .. } => SynAck,
        Msg::Ack { .. } => Ack,
    }
}

impl Plan {
    /// A plan that does nothing.
    pub fn none() -> Plan {
        Plan {
            scenario: Scenario::None,
            b: 1,
            start: 0,
            next: 0,
        }
    }

    /// Whether every intent of the template was fulfilled (always false without a template).
    pub fn completed(&self) -> bool {
        self.scenario != Scenario::None && self.next == self.scenario.intents().len()
    }

    fn node(&self, r: Role) -> NodeId {
        match r {
            A => 0,
            B => self.b,
        }
    }

    fn envelope(&self, e: &Envelope, from: Role, to: Role, k: Kind) -> bool {
        e.from == self.node(from) && e.to == self.node(to) && kind(&e.msg) == k
    }

    /// The enabled actions (`actions`) that fulfil `intent`; `born` gives the step at which a
    /// message was sent.
    fn targets(
        &self,
        intent: Intent,
        actions: &[GossipAction],
        born: &dyn Fn(&Envelope) -> u32,
    ) -> Vec<GossipAction> {
        let mut out: Vec<GossipAction> = actions
            .iter()
            .filter(|a| match (intent, a) {
                (Write(n, k), GossipAction::Write { node, key, .. }) => {
                    *node == self.node(n) && *key == k
                }
                (Delete(n, k), GossipAction::Delete { node, key }) => {
                    *node == self.node(n) && *key == k
                }
                (Gossip(f, t), GossipAction::Gossip { from, to }) => {
                    *from == self.node(f) && to.as_slice() == [self.node(t)]
                }
                (Deliver(f, t, k, _), GossipAction::Deliver(e)) => self.envelope(e, f, t, k),
                (Duplicate(f, t, k), GossipAction::Duplicate(e)) => self.envelope(e, f, t, k),
                (Crash(n), GossipAction::Crash { node }) => *node == self.node(n),
                (Restart(n), GossipAction::Restart { node }) => *node == self.node(n),
                (Collect(n, s), GossipAction::CollectTombstones { node, subject }) => {
                    *node == self.node(n) && *subject == self.node(s)
                }
                _ => false,
            })
            .cloned()
            .collect();
        if let Deliver(_, _, _, age) = intent {
            let b = |a: &GossipAction| match a {
                GossipAction::Deliver(e) => born(e),
                _ => 0,
            };
            let pick = match age {
                Oldest => out.iter().map(b).min(),
                Newest => out.iter().map(b).max(),
            };
            out.retain(|a| Some(b(a)) == pick);
        }
        out
    }

    /// The current intent's index and the actions that fulfil it, at `step` (none before the
    /// start, after the end, or when no remaining intent is enabled).
    pub fn current(
        &self,
        step: u32,
        actions: &[GossipAction],
        born: &dyn Fn(&Envelope) -> u32,
    ) -> Option<(usize, Vec<GossipAction>)> {
        if step < self.start {
            return None;
        }
        let intents = self.scenario.intents();
        (self.next..intents.len()).find_map(|i| {
            let t = self.targets(intents[i], actions, born);
            (!t.is_empty()).then_some((i, t))
        })
    }
}
