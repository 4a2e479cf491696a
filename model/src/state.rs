//! The model's state, messages and actions. Everything is canonical (ordered maps, sorted
//! vectors), so two states that mean the same thing are equal and hash alike.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A node's identity: its index, `0..nodes`. Printed as `n0`, `n1`, ….
pub type NodeId = u8;
/// A generation (protocol.md §1). Every node's first generation is 1.
pub type Generation = u8;
/// A version within one generation (protocol.md §1). The first change has version 1.
pub type Version = u8;
/// A heartbeat counter (protocol.md §1), saturating at `max_heartbeat` in the model.
pub type Heartbeat = u8;
/// A key, printed `k0`, `k1`, ….
pub type Key = u8;
/// A value, printed `a`, `b`, ….
pub type Value = u8;

/// The local verdict about a node (protocol.md §2). The implementation's `suspected` is a
/// sub-state of `Alive` here: the model's single `Convict` step stands for "suspected, then
/// dead after `dead_after`", and a suspected node that gets a fresh heartbeat simply stayed
/// `Alive` (a refinement: every implementation behaviour maps to a model behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    /// Believed running (includes the implementation's `suspected`).
    Alive,
    /// Convicted by the failure detector.
    Dead,
    /// Its leave marker is held.
    Left,
}

/// One change a node makes to its own state (protocol.md §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Change {
    /// `key = value`.
    Set {
        /// The key.
        key: Key,
        /// The value.
        value: Value,
    },
    /// `key` deleted: a tombstone.
    Delete {
        /// The key.
        key: Key,
    },
    /// The node leaves the cluster.
    Leave,
}

/// A change with its version: the unit of a delta (protocol.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Update {
    /// The version the owner gave the change.
    pub version: Version,
    /// The change.
    pub change: Change,
}

/// What one node knows about one node (protocol.md §2). Entries map a key to its latest
/// held change: `(version, Some(value))` for a set, `(version, None)` for a tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeView {
    /// The highest generation heard of.
    pub generation: Generation,
    /// The highest heartbeat heard for that generation.
    pub heartbeat: Heartbeat,
    /// key → (version, value, or `None` for a tombstone).
    pub entries: BTreeMap<Key, (Version, Option<Value>)>,
    /// The version of the leave marker, if held.
    pub left: Option<Version>,
    /// Every change up to this version is held, superseded, or a collected tombstone.
    pub watermark: Version,
    /// The highest version of a collected tombstone.
    pub gc_floor: Version,
    /// The local verdict.
    pub status: Status,
}

impl NodeView {
    /// The empty node state of a generation: what a node starts from when it learns a
    /// generation (protocol.md §5.4), or its own state after a (re)start.
    pub fn empty(generation: Generation, heartbeat: Heartbeat) -> NodeView {
        NodeView {
            generation,
            heartbeat,
            entries: BTreeMap::new(),
            left: None,
            watermark: 0,
            gc_floor: 0,
            status: Status::Alive,
        }
    }

    /// The held changes in increasing version order (entries, tombstones and leave marker).
    pub fn held_changes(&self) -> Vec<Update> {
        let mut u: Vec<Update> = self
            .entries
            .iter()
            .map(|(&key, &(version, value))| Update {
                version,
                change: match value {
                    Some(value) => Change::Set { key, value },
                    None => Change::Delete { key },
                },
            })
            .collect();
        if let Some(version) = self.left {
            u.push(Update {
                version,
                change: Change::Leave,
            });
        }
        u.sort();
        u
    }

    /// The live key-values (tombstones left out): what a reader of this view sees.
    pub fn values(&self) -> BTreeMap<Key, Value> {
        self.entries
            .iter()
            .filter_map(|(&k, &(_, v))| v.map(|v| (k, v)))
            .collect()
    }
}

/// A forgotten record (protocol.md §2, §5.2, §7): what was known of a node when it was
/// forgotten. `left` records whether it had left: a node that left comes back only with a
/// higher generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Forgotten {
    /// Its generation when forgotten.
    pub generation: Generation,
    /// Its heartbeat when forgotten.
    pub heartbeat: Heartbeat,
    /// Whether its leave marker was held.
    pub left: bool,
}

/// One node: its process (up or crashed), its view and forgotten records, and the model's
/// per-node budgets.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Node {
    /// Whether the process is running. A crashed node's state is kept (inert) until it
    /// restarts, so that properties about what it held stay checkable; it takes no steps.
    pub up: bool,
    /// Whether this node is a seed (constant; kept here so that symmetry reduction, which has
    /// no access to the configuration, permutes only interchangeable nodes).
    pub seed: bool,
    /// For every known node, itself included: what it knows. Its own entry *is* its own state:
    /// generation, heartbeat, key-values, leave marker and version counter (= its watermark).
    pub view: BTreeMap<NodeId, NodeView>,
    /// Forgotten records.
    pub forgotten: BTreeMap<NodeId, Forgotten>,
    /// Writes used (whole run).
    pub writes: u8,
    /// Deletes used (whole run).
    pub deletes: u8,
    /// `push-once` only: the highest own version already sent once. Always 0 otherwise.
    pub pushed: Version,
    /// The digest cursor (protocol.md §9, node.md §5): the id at which this node's next
    /// partial digest starts (the first known id at or after it, wrapping). `None` until the
    /// first partial digest, and always `None` when digests are complete (no
    /// [`crate::GossipConfig::digest_entries`] bound, or a view that fits it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_cursor: Option<NodeId>,
}

/// A digest entry (protocol.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DigestEntry {
    /// The node.
    pub node: NodeId,
    /// Its generation.
    pub generation: Generation,
    /// Its heartbeat.
    pub heartbeat: Heartbeat,
    /// The sender's watermark for it.
    pub watermark: Version,
}

/// The ids a partial digest covers (protocol.md §3): `[start, end)` in id order, wrapping
/// around; `start == end` covers every id. `end` is the first id the sender's range did not
/// walk over, so ids the sender does not know that lie between its entries are covered too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DigestRange {
    /// The first id covered.
    pub start: NodeId,
    /// The first id after the range.
    pub end: NodeId,
}

impl DigestRange {
    /// Whether `id` lies in the range.
    pub fn contains(&self, id: NodeId) -> bool {
        use std::cmp::Ordering::*;
        match self.start.cmp(&self.end) {
            Less => self.start <= id && id < self.end,
            Greater => id >= self.start || id < self.end,
            Equal => true,
        }
    }
}

/// The kind of a node delta (protocol.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DeltaKind {
    /// The updates are the changes with version in `(from, watermark_after]` that the sender holds.
    Incremental {
        /// The receiver's watermark the delta starts from.
        from: Version,
    },
    /// The updates are the sender's whole node state.
    Reset {
        /// The sender's gc floor.
        gc_floor: Version,
    },
}

/// A node delta (protocol.md §3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeDelta {
    /// The node the delta is about.
    pub node: NodeId,
    /// Its generation.
    pub generation: Generation,
    /// Its heartbeat.
    pub heartbeat: Heartbeat,
    /// Incremental or reset.
    pub kind: DeltaKind,
    /// In strictly increasing version order.
    pub updates: Vec<Update>,
    /// The watermark the receiver may take.
    pub watermark_after: Version,
}

/// A gossip message (protocol.md §3). The cluster id is left out: the model has one cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg {
    /// Starts a round. Push mode: a delta of everything and no digest; pull mode: a digest and
    /// the sender's own node delta; push-pull: a digest only.
    Syn {
        /// The sender's digest (empty in push mode).
        digest: Vec<DigestEntry>,
        /// The pushed delta (empty in push-pull mode).
        delta: Vec<NodeDelta>,
        /// `Some` for a partial digest (only with [`crate::GossipConfig::digest_entries`]):
        /// the range it covers besides the nodes it lists.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<DigestRange>,
    },
    /// The reply to a Syn. Its digest is empty in pull mode (nobody would use it).
    SynAck {
        /// The replier's digest.
        digest: Vec<DigestEntry>,
        /// What the Syn's sender lacks.
        delta: Vec<NodeDelta>,
        /// `Some` for a partial digest, as in a Syn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<DigestRange>,
    },
    /// The reply to a SynAck (push-pull only); not sent when its delta would be empty.
    Ack {
        /// What the SynAck's sender lacks.
        delta: Vec<NodeDelta>,
    },
}

impl Msg {
    /// "Syn", "SynAck" or "Ack".
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Syn { .. } => "Syn",
            Msg::SynAck { .. } => "SynAck",
            Msg::Ack { .. } => "Ack",
        }
    }

    /// The delta carried, if any.
    pub fn delta(&self) -> &[NodeDelta] {
        match self {
            Msg::Syn { delta, .. } | Msg::SynAck { delta, .. } | Msg::Ack { delta } => delta,
        }
    }
}

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Envelope {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The message.
    pub msg: Msg,
}

/// A violation recorded by a transition check in `next_state` (ghost; stays empty in correct
/// runs, so it costs no states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Violation {
    /// A watermark or heartbeat went backwards within a generation.
    Backwards,
    /// An older generation replaced a newer one.
    OlderGeneration,
    /// A forgotten or left node came back without a fresh heartbeat or higher generation.
    Zombie,
    /// A node's own state changed on receiving gossip.
    OwnStateChanged,
    /// A dead node became alive without a fresh heartbeat or newer generation.
    StaleRevival,
    /// A held tombstone was replaced by a value of the same key with a lower version.
    Resurrected,
}

/// The ghost records the transition checks ([`crate::properties::check_transition`]) keep from
/// one step to the next. They are the owners' and observers' *history*, against which the
/// history-dependent properties are stated, and they are maintained by the check itself from
/// the nodes before and after each step, so the model and the conformance harness (which
/// applies the check to the implementation's abstracted states) keep exactly the same records.
///
/// Cost in states: `forgotten` and `convicted` are functions of the real state in correct runs
/// (a forgotten record equals the protocol's; a conviction record equals the dead view, whose
/// generation and heartbeat do not change while it is dead), so they add no states;
/// `dropped_tombstones` is empty without garbage collection; `ended_runs` adds states only with restarts (a run's last
/// heartbeat is forgotten by its owner when it restarts; the model drops the record once no
/// view and no deliverable message mentions that run, since nothing can read it then).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TransitionGhost {
    /// (observer, subject) → what the observer held of the subject when it forgot it (its
    /// generation, heartbeat and whether it held the leave marker). Recorded from the view the
    /// `Forget` step removed, so it survives a seeded bug that drops the protocol's record; it
    /// ends when the observer holds the subject again (the view then carries the history
    /// forward) or restarts.
    pub forgotten: BTreeMap<(NodeId, NodeId), Forgotten>,
    /// (observer, subject) → the generation and heartbeat the observer held of the subject when
    /// it convicted it; kept while the observer's view of the subject stays dead.
    pub convicted: BTreeMap<(NodeId, NodeId), (Generation, Heartbeat)>,
    /// (node, generation) → the highest heartbeat the node reached in a run it ended by
    /// restarting. With each node's own view (its current run), this is the owners' heartbeat
    /// history: which generations each node really ran and how far each got.
    pub ended_runs: BTreeMap<(NodeId, Generation), Heartbeat>,
    /// (observer, node, generation, key) → the highest version of a tombstone the observer
    /// held for that key and then dropped (collected it, or a reset replaced it) while keeping
    /// that generation of the node. Empty in runs without garbage collection; a record ends
    /// when the observer stops holding that generation (forget, restart, newer generation: a
    /// node that forgot another starts from nothing when it re-learns it, and the watermark
    /// rule checks what it re-learns).
    pub dropped_tombstones: BTreeMap<(NodeId, NodeId, Generation, Key), Version>,
}

/// The whole system: nodes, network, budgets, and ghost state for the properties.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GossipState {
    /// Node `i` is `nodes[i]`.
    pub nodes: Vec<Node>,
    /// Messages in flight: a sorted multiset (unordered network) or, for an ordered network,
    /// sorted by link (from, to) only, each link's messages in sending order.
    pub network: Vec<Envelope>,
    /// Crashes used.
    pub crashes: u8,
    /// Restarts used.
    pub restarts: u8,
    /// Ghost: every change every owner made, as (node, generation, version, change). This is
    /// the owner's write history the value and watermark properties are checked against.
    pub history: BTreeSet<(NodeId, Generation, Version, Change)>,
    /// Ghost: the number of changes each node's current run has made; equal to its own
    /// version counter unless a seeded bug breaks that.
    pub changes: Vec<Version>,
    /// Ghost: violations found by transition checks.
    pub violations: BTreeSet<Violation>,
    /// Ghost: the records the transition checks keep between steps (what was forgotten,
    /// convicted, dropped, and the heartbeats of the runs that ended).
    pub ghost: TransitionGhost,
    /// Constant: whether the network is per-link FIFO (so that symmetry reduction, which has
    /// no access to the configuration, knows the network's canonical order).
    pub ordered_network: bool,
}

/// One input the implementation can be given (the conformance test drives the model and the
/// implementation with the same steps).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GossipAction {
    /// The application at `node` sets `key = value`.
    Write {
        /// Writer.
        node: NodeId,
        /// Key.
        key: Key,
        /// Value.
        value: Value,
    },
    /// The application at `node` deletes `key`.
    Delete {
        /// Deleter.
        node: NodeId,
        /// Key.
        key: Key,
    },
    /// The gossip timer fires at `from`; its RNG picks the peers `to` (`fanout` of them, sorted).
    Gossip {
        /// The node starting the round.
        from: NodeId,
        /// The chosen peers.
        to: Vec<NodeId>,
    },
    /// The network delivers one message.
    Deliver(Envelope),
    /// The network loses one message.
    Drop(Envelope),
    /// The network duplicates one message.
    Duplicate(Envelope),
    /// The node's process crashes.
    Crash {
        /// The node.
        node: NodeId,
    },
    /// A crashed node restarts with a new generation and empty state.
    Restart {
        /// The node.
        node: NodeId,
    },
    /// The node announces it leaves.
    Leave {
        /// The node.
        node: NodeId,
    },
    /// `observer`'s failure detector convicts `subject` (abstract timeout).
    Convict {
        /// Who convicts.
        observer: NodeId,
        /// Who is convicted.
        subject: NodeId,
    },
    /// `observer`'s dead grace period for `subject` expires.
    Forget {
        /// Who forgets.
        observer: NodeId,
        /// Who is forgotten.
        subject: NodeId,
    },
    /// `node`'s tombstone grace period expires for every tombstone it holds of `subject`.
    CollectTombstones {
        /// Who collects.
        node: NodeId,
        /// Whose tombstones.
        subject: NodeId,
    },
    /// The network duplicates one message and delivers one copy at once: the message is
    /// delivered and stays in flight (only with [`crate::NetworkConfig::redeliver`], which
    /// replaces `Duplicate` by this step).
    Redeliver(Envelope),
    /// `observer`'s forgotten record of `subject` expires (abstract timer, the implementation's
    /// `forgotten_retention`; only with [`crate::GossipConfig::expire`]).
    Expire {
        /// Whose record.
        observer: NodeId,
        /// The forgotten node.
        subject: NodeId,
    },
}
