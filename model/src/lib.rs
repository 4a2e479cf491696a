//! # The gossip protocol's specification: a stateright model
//!
//! This crate is the executable form of `docs/spec/protocol.md`: a Scuttlebutt-style
//! push-pull anti-entropy protocol with generations, versioned key-values, tombstones and
//! their garbage collection, heartbeats, an abstract failure detector, forgetting, leave and
//! restart. It shares no code with the implementation in `impl/`; a conformance test drives
//! both with the same [`GossipAction`]s.
//!
//! ## The state
//!
//! A [`GossipState`] holds every node's process state (up or crashed), its **view** (for every
//! node it knows, itself included: generation, heartbeat, entries, leave marker, watermark,
//! gc floor, status) and forgotten records; the **network** (messages in flight, a sorted
//! multiset, or per-link FIFO queues); the fault budgets used; and **ghost state** that only
//! the properties read: the owners' write history, the records the transition checks keep
//! ([`TransitionGhost`]: forgotten, convicted, ended runs' heartbeats, dropped tombstones), and
//! transition-check violations.
//!
//! A node's own entry in its view *is* its own state: its version counter is its own
//! watermark. Node ids are `0..nodes`; a node starts knowing only itself; the seeds (default
//! n0) are gossip targets for everyone.
//!
//! ## The actions
//!
//! Each [`GossipAction`] is one input the implementation can be given: an application write
//! or delete, a gossip timer tick with the peers its RNG picked, the delivery, loss or
//! duplication (or, with [`NetworkConfig::redeliver`], redelivery) of one message, a crash, a restart, a leave, and the three timeouts
//! (`Convict`: the failure detector; `Forget`: the dead grace period; `CollectTombstones`:
//! the tombstone grace period). Timeouts are abstract: they may fire at any time, so the
//! model covers every timing, including false suspicion.
//!
//! ## Bounds, all inside the model
//!
//! Writes, deletes, crashes and restarts have budgets; heartbeats saturate at
//! `max_heartbeat`; at most `max_in_flight` messages are in flight (a gossip round that
//! would exceed it is simply not enabled); a delta carries at most `max_delta` updates (the
//! MTU's stand-in). None of this uses `within_boundary`, so no state looks terminal merely
//! because the checker cut it off.
//!
//! ## Abstraction choices (what keeps the state space small)
//!
//! * Messages are exactly the protocol's: digests of (node, generation, heartbeat,
//!   watermark) and deltas of versioned updates; no version vectors, no timestamps.
//! * An Ack whose delta is empty is not sent (protocol.md §6 says so too).
//! * Everything is canonical: ordered maps and sorted vectors only.
//! * History-dependent properties are *transition checks*: `next_state` compares a state
//!   with its successor and records a violation in a ghost set that stays empty in correct
//!   runs, so they cost no states. They are stated against ghost *history* (what each owner
//!   really did, what each observer forgot and convicted), not against the guards in
//!   [`protocol`] that protect them, so that a bug in another rule can break them too. The
//!   ghost state: the owners' write history (needed to know what "a value its owner wrote"
//!   and "a sound watermark" mean); the last heartbeat of every run a node ended by
//!   restarting (with each node's own view, the owners' heartbeat history: "a heartbeat that
//!   node really reached in that generation"; dropped once no view and no deliverable message
//!   mentions that run, so it adds states only with restarts, and few); the forgotten records
//!   and the conviction records, which equal the protocol's records and the dead views in
//!   correct runs (no states added); and the tombstones each node held and then dropped
//!   (collected or replaced by a reset; empty in runs without garbage collection), so that
//!   "a deleted key never reappears at a node that applied its tombstone" can be checked
//!   after garbage collection.
//! * `suspected` is folded into `alive` ([`Status`]); convicting is one abstract step.
//! * Digests are complete by default (clusters of ≤ 6 nodes fit one datagram); partial digests
//!   and the expiry of forgotten records are options, below.
//!
//! ## Partial digests (optional: [`GossipConfig::digest_entries`])
//!
//! The implementation sends a partial digest when a digest of every known node does not fit
//! its byte budget (protocol.md §9, node.md §5). The model's bound counts entries instead of
//! bytes: with `digest_entries = N`, a node whose view holds more than N nodes sends at most N
//! entries, built as the implementation builds them:
//!
//! 1. *Listed entries* within half the budget (⌊N/2⌋ entries): the own entry (so from N = 2
//!    on). The implementation lists placeholders (SynAck) and hot nodes next, still within half
//!    the budget; with N ≤ 3 the half holds the own entry only, so it lists neither, and the
//!    model is exact. Bounds of 4 or more below the number of nodes are refused
//!    ([`ConfigError::HotNodesNotModelled`]) rather than approximated.
//! 2. *The range*: the known ids in order from the node's **digest cursor** (the first id at or
//!    after it, wrapping; the smallest id when there is none), listed ids passed over at no
//!    cost, entries taken while the bound allows, at least one id walked; the range is
//!    `[start, end)` with `end` the id after the last one walked, and the cursor moves to
//!    `end`. The cursor is per-node state ([`Node::digest_cursor`]), shared by the Syn and
//!    SynAck digests as in the implementation, cleared by a restart, and `None` while digests
//!    are complete. It is deterministic, not a nondeterministic start: the implementation's
//!    rotation is deterministic too, and the exact rotation keeps liveness checkable under the
//!    same fairness as before (an adversarial start could skip a node forever).
//!
//! A receiver answers a partial digest for the nodes it *covers*: those in its range and those
//! it lists (protocol.md §3). A covered node the digest does not list is one the peer does not
//! know (§4 case 1: sent whole); a node outside the range that is not listed is not answered
//! at all (not even a heartbeat); digest heartbeats are taken from the listed entries only.
//! This is `deltas.rs`'s rule. A round moves cursors, so quiescence ("no round would change
//! anything") becomes "no sequence of rounds would change anything but cursors"
//! ([`GossipModel::quiescent`]). Node symmetry is off with partial digests (ranges follow the
//! id order).
//!
//! *Fair liveness with partial digests.* A digest covers a node only at some cursor positions,
//! and a schedule can pair every such digest with a peer other than the one that needs it,
//! forever, while every (from, to) gossip timer still fires infinitely often (a 39-step lasso
//! with 2-entry digests, 3 nodes, 1 write each, no faults: n2's write never reaches n0 and n1).
//! The implementation's RNG picks peers independently of its rotation, so with probability 1
//! each peer is picked infinitely often at each cursor position that recurs infinitely often:
//! the gossip timer's fairness class therefore includes the initiator's cursor
//! ([`GossipModel::fair_class`]; unchanged without partial digests, where the cursor is always
//! `None`), and with it convergence holds for 2-entry digests. With 1-entry digests it still
//! fails (measured in the same configuration): a node n0 does not know is covered only by
//! n0's own digests, and the schedule sends those to the other node and answers the unknown
//! node's Syns from the other cursor position (the responder's cursor at delivery time is not
//! part of any fairness class: message delays are arbitrary). The implementation would answer
//! that Syn with a placeholder entry for the unknown sender, which does not fit a one-entry
//! digest. `gossip-check --checker fair` expects this violation for 1-entry digests among 3 or
//! more nodes.
//!
//! Every implementation behaviour maps to a model behaviour when every entry has the same
//! encoded size (ids of one length, counters below 128) and the digest budget holds N entries
//! in every message. Where the implementation differs: its SynAck digest gets the bytes its
//! delta leaves (at least a quarter of the datagram), so it may hold fewer entries than its
//! Syn digests, while the model uses N for both; a pull-mode Syn shares its datagram between
//! the own node delta and the digest, while the model bounds them separately (`max_delta`,
//! N); and the implementation's rotating delta start (`rotate_delta_start`) is not modelled
//! (model deltas start at the smallest id, as the implementation's do with it off, the
//! conformance kit's setting).
//!
//! ## Record expiry (optional: [`GossipConfig::expire`])
//!
//! The implementation drops a forgotten record `forgotten_retention` (48 h) after forgetting
//! the node. The model's step `Expire { observer, subject }` is an abstract timer, enabled once
//! the **expiry horizon** has passed: no running node other than the observer holds, and no
//! message in flight carries in a node delta, a state of the subject that the record blocks
//! (§5.2: an older generation, or the record's generation with a heartbeat no fresher than the
//! record's, or any heartbeat after a leave). Past it, every state of the subject that can
//! still arrive is one the record would let through anyway, so "no zombie" keeps holding; the
//! ghost copy of the record survives the expiry, so the property judges any re-learning after
//! it against what was really forgotten. The seeded bug `expire-early` drops the horizon (the
//! timer may fire right after `Forget`): "no zombie" fails in 10 steps with 2 nodes (a node
//! falsely convicted, forgotten at heartbeat 0 and expired, comes back through its own
//! unchanged state), and in 3-node configurations through a third node's copy or a message in
//! flight (`model/tests/scale.rs`). The 48 h therefore encode an assumption: by 48 h after a
//! node forgets N, every message carrying N's old state has been delivered or lost, every
//! other node holding that state has forgotten it (each forgets 24 h, the dead grace period,
//! after its own conviction or after seeing the leave, so convictions must not be spread by
//! more than 48 h minus the message delay) or learned a fresher one, and the old state is not
//! passed on to nodes without a record in between; and a running node's heartbeat has
//! advanced past the recorded one (true of a running node that has not left). A node that
//! left and keeps running holds its own left state forever, so in the model the horizon of a
//! record of it never passes while it runs in that generation; the implementation's 48 h
//! expire such a record regardless (the left node is then silent only if nobody sends it a
//! Syn, e.g. it is not a seed).
//!
//! ## State-space reductions (optional)
//!
//! The model is the specification, so a reduction is a switch in [`GossipConfig`], off by
//! default (every pinned state count is of the unreduced model), and each is small enough to
//! check by eye:
//!
//! * [`GossipConfig::prune_dead_messages`]: once the restart budget is used up, a crashed node
//!   never runs again, and a message to it can only be delivered to nobody (which removes it
//!   and changes no node) or dropped. With the switch on, `next_state` removes such messages
//!   at the end of the step that makes them dead (the crash, the last restart, or the send).
//!   *Why it is sound.* Write `f(s)` for `s` without its dead messages. Every state the
//!   reduced model reaches is `f(s)` for a state `s` the unreduced model reaches, and `f(s)`
//!   itself is reachable unreduced (deliver the dead messages to nobody, in FIFO order on an
//!   ordered network: a whole link is dead at once), so the reduced model reaches exactly
//!   `{f(s)}`, a subset of the unreduced reachable states: every violation and example it
//!   reports is real. Conversely every property that cannot tell `s` from `f(s)` has the same
//!   verdict: all `always` properties (nodes and ghost state are untouched by `f`; the
//!   transition checks see the same node steps; quiescence needs an empty network, and a
//!   state with an empty network is its own `f`), and the reachability properties except
//!   "two copies of one message are in flight" and "a reset delta is in flight", which count
//!   messages to dead nodes too (the reduced model can only miss an example that exists
//!   solely among dead messages). `model/tests/reductions.rs` checks the exact equality of
//!   the reachable sets, equal verdicts of every property, and that every seeded bug is still
//!   caught, on small configurations.
//! * [`NetworkConfig::redeliver`] (*duplication as redelivery*; needs
//!   [`NetworkConfig::duplicating`]): `Duplicate`, which puts a second copy of a message into
//!   another in-flight slot, is replaced by `Redeliver`, which delivers a message and keeps it
//!   in flight. It is enabled for every deliverable message whose receiver is up while at most
//!   `max_in_flight` messages are in flight. Write `D(k)` for the model with `Duplicate` and
//!   `max_in_flight = k`, `R(k)` for the model with `Redeliver`.
//!   *Nothing invented:* a redelivery is `Duplicate` (the copy goes right behind the original,
//!   also on a FIFO link) followed by the delivery of the first copy, which leaves the network
//!   as it was but for the receiver's replies; the `Duplicate` needs a free slot among `k + 1`,
//!   which is the guard. So every state `R(k)` reaches is a state `D(k + 1)` reaches: every
//!   violation and example it reports is one of a network that duplicates.
//!   *Nothing lost:* relate a state `s` of `D(k)` to a state `r` with the same nodes and ghost
//!   state whose network has the same runs of equal messages in the same order (per link: FIFO
//!   order), each run at least one and at most as many copies as in `s`. Every step of `D(k)`
//!   from `s` is matched from `r` by at most one step: `Duplicate` by none (the run grows in
//!   `s` only); a delivery of a message with another copy left by `Redeliver` when `r` holds
//!   only one copy (it needs `len(r) ≤ len(s) - 1 < k`; by none if the receiver is down, as
//!   such a delivery changes nothing), else by `Deliver`; a drop of a
//!   message with another copy left by none or by `Drop`; the last copy's delivery or drop by
//!   the same step (the runs stay aligned, also when neighbours of equal content merge); a
//!   gossip round by the same round (it is enabled since `len(r) ≤ len(s)`); every node step
//!   by itself. So `R(k)` reaches a related state for every state `D(k)` reaches: every node
//!   state, every violation (ghost state is part of the relation), every message in flight
//!   (the same distinct messages; an empty network in the same states, so quiescence-
//!   conditioned properties see the same states), and the properties' verdicts lie between
//!   those of `D(k)` and `D(k + 1)`. The one property that counts copies, "two copies of one
//!   message are in flight", is reached in `R(k)` by equal sends, e.g. the two equal SynAcks
//!   of a Syn delivered twice (also with `k = 1`).
//!   With `k = 1` this is what makes duplication checkable at all: `D(1)` never duplicates (a
//!   copy needs a free slot), while `R(1)` redelivers any lone message, at a fraction of
//!   `D(2)`'s states. For liveness, `Redeliver` is never fair (a fault), so a fair run cannot
//!   redeliver one message forever instead of delivering it. `model/tests/redelivery.rs`
//!   checks both inclusions as sets of states on small exhaustive configurations, the verdict
//!   ordering, that the switch is a no-op without duplication, and every seeded bug.
//!
//! ## Properties
//!
//! See [`properties`]: safety invariants and transition checks, quiescence-conditioned
//! liveness ("once quiescent, …"), and reachability. Each property's name is the sentence it
//! asserts. For the fairness-aware checker, [`GossipModel::fair_class`] and
//! [`GossipModel::liveness`] give the fairness classes (deliveries and gossip timers strongly
//! fair, `Convict` of a crashed or left node weakly fair) and "p leads to q" pairs.
//!
//! ## Variants
//!
//! [`Variant`] selects the correct protocol or a seeded bug; each bug is caught by the
//! property [`Variant::expected_violation`] names, with a shortest counterexample the tests
//! pin.

#![forbid(unsafe_code)]

mod config;
pub mod format;
pub mod linearizability;
mod model;
pub mod properties;
pub mod protocol;
mod state;
pub mod symmetry;
pub mod trace;

use std::hash::{Hash, Hasher};

pub use config::{ConfigError, GossipConfig, MAX_NODES, Mode, NetworkConfig, Variant};
pub use model::GossipModel;
pub use state::{
    Change, DeltaKind, DigestEntry, DigestRange, Envelope, Forgotten, Generation, GossipAction,
    GossipState, Heartbeat, Key, Msg, Node, NodeDelta, NodeId, NodeView, Status, TransitionGhost,
    Update, Value, Version, Violation,
};

use properties::names::*;
use stateright::{Expectation, Model};

/// What checking a property is expected to give for a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Expected {
    /// An `always` property with no counterexample.
    Holds,
    /// An `always` property with a counterexample (a seeded bug).
    Violated,
    /// A `sometimes` property with an example.
    Found,
    /// A `sometimes` property that cannot be reached in this configuration (a feature or
    /// fault it needs is disabled).
    NotFound,
}

/// "p leads to q": whenever `p` holds, `q` eventually holds, on every fair behaviour. The
/// fairness is the fair checker's (gossip-proofs' adapter over [`GossipModel::fair_class`]):
/// each message delivery and each gossip timer is **strongly** fair (fair-loss links), and
/// `Convict` of a node that really crashed or left is **weakly** fair; weak fairness of
/// deliveries alone is not enough (docs/fair-checking.md, "Strong fairness").
#[derive(Clone, Copy)]
pub struct Liveness {
    /// The sentence, e.g. "after the last write, all live nodes converge".
    pub name: &'static str,
    /// The trigger.
    pub p: fn(&GossipModel, &GossipState) -> bool,
    /// The response.
    pub q: fn(&GossipModel, &GossipState) -> bool,
}

impl std::fmt::Debug for Liveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Liveness")
            .field("name", &self.name)
            .finish()
    }
}

/// Fairness class tags (the high byte of a class id).
const FAIR_DELIVER: u64 = 1 << 56;
const FAIR_GOSSIP: u64 = 2 << 56;
const FAIR_CONVICT: u64 = 3 << 56;

impl GossipModel {
    /// The expected result of checking `property` (a name from [`properties::names`]) in this
    /// configuration: seeded bugs violate the property [`Variant::expected_violation`] names
    /// (and possibly others, see [`Variant::also_violates`]); reachability depends on which
    /// features and faults are enabled. Panics on an unknown name.
    pub fn expected(&self, property: &str) -> Expected {
        let p = self
            .properties()
            .into_iter()
            .find(|p| p.name == property)
            .unwrap_or_else(|| panic!("unknown property {property:?}"));
        let v = self.cfg.variant;
        if p.expectation != Expectation::Sometimes {
            // Push mode re-sends the same cut prefix forever (protocol.md §6).
            let push_stuck = self.cfg.mode == Mode::Push
                && self.cfg.nodes >= 2
                && self.cfg.max_delta < self.cfg.total_changes();
            let violated = v.expected_violation() == Some(p.name)
                || v.also_violates().contains(&p.name)
                || (push_stuck && p.name == CONVERGENCE);
            return if violated {
                Expected::Violated
            } else {
                Expected::Holds
            };
        }
        let c = &self.cfg;
        let two = c.nodes >= 2;
        let reachable = match p.name {
            R_WRITE_SPREADS | R_CONVERGED_AFTER_WRITE => two && c.writes_per_node > 0,
            R_DELETE_SPREADS => two && c.writes_per_node > 0 && c.deletes_per_node > 0,
            R_TOMBSTONE_COLLECTED => c.writes_per_node > 0 && c.deletes_per_node > 0 && c.gc,
            R_RESET_SENT => two && c.writes_per_node > 0 && c.deletes_per_node > 0 && c.gc,
            R_RESET_APPLIED => two && c.writes_per_node > 0 && c.deletes_per_node > 0 && c.gc,
            R_CUT => {
                // A node holds at most one change per key (a delete replaces the key's set) plus
                // its leave marker, and a receiver holds its own changes, so a cut needs more
                // than max_delta changes held for the other nodes.
                let leave = usize::from(c.leave);
                let held = (c.keys as usize).min(c.writes_per_node as usize);
                let writers = c.writing_nodes();
                let all = writers * held + c.nodes * leave;
                // The receiver with the fewest changes of its own: a node that does not write,
                // if there is one.
                // Push mode has no digest: a delta carries everything the sender holds, the
                // receiver's own changes included. With redelivery, a Syn can be delivered again
                // after its sender's changes reached the receiver (by the Ack of the same
                // exchange, which overtakes the Syn on an unordered network): its stale digest
                // then asks for them back too.
                let stale = c.network.duplicating
                    && c.network.redeliver
                    && !c.network.ordered
                    && c.mode != Mode::Push;
                let own = if writers < c.nodes {
                    leave
                } else {
                    held + leave
                };
                let news = if c.mode == Mode::Push || stale {
                    all
                } else {
                    all - own
                };
                two && news > c.max_delta
            }
            R_CONVICTED => two && c.convict && (c.max_heartbeat > 0 || c.crashes > 0),
            // Gossip spreads a node's entry only after it has bumped its heartbeat at least
            // once, except in the answer to a Syn (SynAck), which push mode never sends: there a
            // running node is suspectable (heartbeat below `max_heartbeat`) once known only if
            // its heartbeat can advance twice.
            R_FALSELY_CONVICTED => {
                two && c.convict && c.max_heartbeat > u8::from(c.mode == Mode::Push)
            }
            R_CRASH_DETECTED => two && c.convict && c.crashes > 0,
            R_FORGOTTEN => two && c.forget && (c.convict || c.leave),
            R_RESTART_SEEN => two && c.restarts > 0,
            R_LEAVE_SEEN => two && c.leave,
            // Two equal sends, a duplicate, or (with redelivery) two deliveries of one Syn
            // whose receiver replies twice with the same SynAck.
            R_DUPLICATE => {
                two && (c.network.max_in_flight >= 2
                    || (c.network.duplicating && c.network.redeliver))
            }
            R_JOINED => two,
            _ => true,
        };
        if reachable && !v.also_unreachable().contains(&p.name) {
            Expected::Found
        } else {
            Expected::NotFound
        }
    }

    /// Multi-line: what each node believes, and what is in flight.
    pub fn describe_state(&self, s: &GossipState) -> String {
        format::state(s)
    }

    /// The symmetry representative (see [`symmetry`]); for `CheckerBuilder::symmetry_fn`,
    /// honoured by DFS and simulation only. Sound only when [`GossipModel::symmetric_nodes`]
    /// is at least 2.
    pub fn representative(s: &GossipState) -> GossipState {
        symmetry::representative(s)
    }

    /// The per-owner key symmetry representative ([`symmetry::key_representative`]): renames
    /// each owner's keys in the order the owner first changed them. Sound for every
    /// configuration (keys are never compared across owners).
    pub fn key_representative(s: &GossipState) -> GossipState {
        symmetry::key_representative(s)
    }

    /// Node symmetry ([`GossipModel::representative`]) after key symmetry
    /// ([`GossipModel::key_representative`]): a member of the state's orbit under both, so
    /// sound whenever node symmetry is ([`GossipModel::symmetric_nodes`] at least 2), though
    /// not always the smallest member.
    pub fn node_and_key_representative(s: &GossipState) -> GossipState {
        symmetry::representative(&symmetry::key_representative(s))
    }

    /// How many nodes are interchangeable (the non-seeds), or 1 when symmetry reduction is not
    /// sound for this configuration: a delta cut across nodes takes them in id order, so
    /// renaming nodes would change behaviour; that cannot happen when `max_delta` is at least
    /// the number of changes all nodes together can make in a generation. Partial digests
    /// (a [`GossipConfig::digest_entries`] bound below the number of nodes) cover ranges of
    /// ids, so they rule symmetry out too. With [`GossipConfig::writers`], writing and
    /// non-writing nodes are not interchangeable, so a seed class (seeds, or non-seeds) that
    /// mixes them makes reduction unsound too.
    pub fn symmetric_nodes(&self) -> usize {
        let c = &self.cfg;
        if c.max_delta < c.total_changes() {
            return 1;
        }
        let seed = |i: usize| c.seeds.contains(&(i as NodeId));
        let mixed = |class: bool| {
            let writers: Vec<_> = (0..c.nodes)
                .filter(|&i| seed(i) == class)
                .map(|i| c.is_writer(i))
                .collect();
            writers.contains(&true) && writers.contains(&false)
        };
        if mixed(true) || mixed(false) {
            return 1;
        }
        // A partial digest's range follows the id order, as a cut does.
        if c.digest_entries.is_some_and(|max| max < c.nodes) {
            return 1;
        }
        let seeds = (0..c.nodes)
            .filter(|i| c.seeds.contains(&(*i as NodeId)))
            .count();
        (c.nodes - seeds).max(seeds).max(1)
    }

    /// The fairness class of `action` in `state`, or `None` if the action is never fair.
    /// Fair classes: the delivery of each in-flight message, each gossip timer (from, to; with
    /// partial digests also `from`'s digest cursor), and
    /// `Convict` when the subject really crashed or left (the class's high byte says which).
    /// The fair checker's adapter makes deliveries and gossip timers **strongly** fair (taken
    /// infinitely often if enabled infinitely often: with loss or a full bounded network they
    /// are enabled only intermittently, so weak fairness would not force them) and `Convict`
    /// **weakly** fair (taken if continuously enabled). Never fair: faults (`Drop`,
    /// `Duplicate`, `Redeliver`, `Crash`, `Restart`), the application (`Write`, `Delete`,
    /// `Leave`) and the grace-period timeouts (`Forget`, `CollectTombstones`).
    pub fn fair_class(&self, state: &GossipState, action: &GossipAction) -> Option<u64> {
        match action {
            GossipAction::Deliver(env) => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                env.hash(&mut h);
                Some(FAIR_DELIVER | (h.finish() >> 8))
            }
            GossipAction::Gossip { from, to } => {
                let peers = to.iter().fold(0u64, |acc, t| acc | (1 << t));
                // With partial digests, the initiator's digest cursor is part of the class: the
                // implementation's RNG picks peers independently of its rotation, so each peer
                // is picked infinitely often at each cursor position that recurs infinitely
                // often. (Otherwise a schedule can pair every digest that covers a node with a
                // peer other than that node, forever; crate docs, "Partial digests".) Without
                // partial digests the cursor is always `None`: the classes are as before.
                let cursor = state.nodes[*from as usize]
                    .digest_cursor
                    .map_or(0, |c| u64::from(c) + 1);
                Some(FAIR_GOSSIP | (cursor << 24) | (u64::from(*from) << 16) | peers)
            }
            GossipAction::Convict { observer, subject } => {
                let s = &state.nodes[*subject as usize];
                let really = !s.up || s.view[subject].left.is_some();
                really.then_some(FAIR_CONVICT | (u64::from(*observer) << 8) | u64::from(*subject))
            }
            _ => None,
        }
    }

    /// The liveness requirements as "p leads to q" pairs, for the fairness-aware checker.
    pub fn liveness(&self) -> Vec<Liveness> {
        let mut out = vec![
            // Joining needs a live seed (protocol.md §7): with every seed crashed, nodes that
            // know only the seeds cannot meet, a true partition, so only agreement between
            // nodes that know each other is required then.
            Liveness {
                name: "all live nodes eventually converge, and know each other while a seed is up",
                p: |_, _| true,
                q: |_, s| {
                    properties::agree(s) && (properties::joined(s) || !properties::live_seed(s))
                },
            },
            Liveness {
                name: "a node that left is eventually seen as left by every live node that knows it",
                p: |_, s| !properties::leaves_seen(s),
                q: |_, s| properties::leaves_seen(s),
            },
        ];
        if self.cfg.convict {
            out.push(Liveness {
                name: "a crashed node is eventually seen dead by every live node that knows it",
                p: |_, s| !properties::crashes_detected(s),
                q: |_, s| properties::crashes_detected(s),
            });
        }
        out
    }
}

impl Variant {
    /// Properties other than [`Variant::expected_violation`] that this bug also violates in
    /// its [`Variant::witness_config`] (measured; listed so that tools can tell expected
    /// results from surprises).
    pub fn also_violates(self) -> &'static [&'static str] {
        use Variant::*;
        match self {
            ApplyPastGap | CutNotPrefix | EqualGenerationWins | ReuseGenerationOnRestart => {
                &[CONVERGENCE]
            }
            // A peer that missed the collected delete never applied its tombstone, so the
            // bug breaks the watermark rule, not NO_RESURRECTION.
            GcWithoutReset => &[CONVERGENCE],
            ResurrectAfterGc => &[WATERMARK_RULE, CONVERGENCE],
            DeleteReusesVersion => &[SAME_VALUE, CONVERGENCE],
            // Without a record, stale gossip re-adds the forgotten node at a lower heartbeat than
            // the one it was forgotten at: going backwards across forgetting.
            ForgetWithoutRecord => &[MONOTONIC],
            _ => &[],
        }
    }

    /// Reachability properties that this bug makes unreachable in its
    /// [`Variant::witness_config`] (measured, like [`Variant::also_violates`]).
    pub fn also_unreachable(self) -> &'static [&'static str] {
        match self {
            // A node that knows another node besides itself sends partial digests (1 entry)
            // and, with the bug, never learns a third node: the seed learns only its first
            // peer, so no 3 nodes ever all know each other.
            Variant::PartialDigestListedOnly => &[R_JOINED],
            _ => &[],
        }
    }
}
