//! What the core exposes: transmits, events, the read-only view and counters.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::error::RejectReason;
use crate::id::NodeId;

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Destination address.
    pub dst: SocketAddr,
    /// The datagram (at most `Config::mtu` bytes).
    pub payload: Vec<u8>,
}

/// A node's status in the local view (protocol.md §2, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Heartbeats arrive as expected.
    Alive,
    /// φ reached the threshold.
    Suspected,
    /// Suspected for `dead_after`.
    Dead,
    /// Its leave marker is held.
    Left,
}

impl Status {
    /// Every status, in order.
    pub const ALL: [Status; 4] = [Status::Alive, Status::Suspected, Status::Dead, Status::Left];

    /// The lowercase name the admin API, the metrics and the conformance kit show: `alive`,
    /// `suspected`, `dead` or `left`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Alive => "alive",
            Status::Suspected => "suspected",
            Status::Dead => "dead",
            Status::Left => "left",
        }
    }
}

/// Something that changed in the view because of gossip or failure detection (the node's own
/// writes produce no events). Drain them with [`Core::poll_event`](crate::Core::poll_event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A key of `node` was set (learned by gossip).
    KeySet {
        /// The owner.
        node: NodeId,
        /// The key.
        key: String,
        /// The change's version.
        version: u64,
    },
    /// A key of `node` was deleted (a tombstone was learned, or a reset dropped the key).
    KeyDeleted {
        /// The owner.
        node: NodeId,
        /// The key.
        key: String,
        /// The tombstone's version (for a key dropped by a reset without tombstone: the
        /// reset's `gc_floor`).
        version: u64,
    },
    /// A node (or a new generation of it) entered the view.
    NodeJoined {
        /// The node.
        node: NodeId,
        /// Its generation.
        generation: u64,
    },
    /// A suspected or dead node showed a fresh heartbeat.
    NodeUp {
        /// The node.
        node: NodeId,
    },
    /// φ reached the threshold.
    NodeSuspected {
        /// The node.
        node: NodeId,
    },
    /// The node stayed suspected for `dead_after`.
    NodeDead {
        /// The node.
        node: NodeId,
    },
    /// The node's leave marker arrived.
    NodeLeft {
        /// The node.
        node: NodeId,
    },
    /// The node was removed from the view after the dead grace period; a forgotten record
    /// is kept.
    NodeForgotten {
        /// The node.
        node: NodeId,
        /// The generation remembered in the forgotten record.
        generation: u64,
    },
}

/// One entry of a node state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// The change's version.
    pub version: u64,
    /// The value, or `None` for a **tombstone**.
    pub value: Option<Vec<u8>>,
}

/// What the node knows about one node (protocol.md §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node.
    pub id: NodeId,
    /// Highest generation heard of.
    pub generation: u64,
    /// Highest heartbeat heard for that generation.
    pub heartbeat: u64,
    /// Key → latest held change.
    pub entries: BTreeMap<String, EntryView>,
    /// The version of its leave marker, if held.
    pub left: Option<u64>,
    /// The watermark.
    pub watermark: u64,
    /// The gc_floor.
    pub gc_floor: u64,
    /// The local verdict.
    pub status: Status,
}

/// A **forgotten record**.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgottenView {
    /// The forgotten node.
    pub id: NodeId,
    /// Its generation when forgotten.
    pub generation: u64,
    /// Its heartbeat when forgotten.
    pub heartbeat: u64,
    /// Whether its leave marker was held (then only a higher generation brings it back).
    pub left: bool,
}

/// A consistent snapshot of the view, nodes in ascending id order (the node itself included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClusterView {
    /// The node that took the snapshot.
    pub self_id: Option<NodeId>,
    /// One entry per known node.
    pub nodes: Vec<NodeView>,
    /// Forgotten records, ascending id order.
    pub forgotten: Vec<ForgottenView>,
}

impl ClusterView {
    /// The node state of `id`, if known.
    pub fn node(&self, id: &NodeId) -> Option<&NodeView> {
        self.nodes
            .binary_search_by(|n| n.id.cmp(id))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// The node state of the node named `name`, if known (the first in id order).
    pub fn node_named(&self, name: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.id.name == name)
    }
}

/// Datagrams rejected, per reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Longer than the MTU.
    pub oversize: u64,
    /// Empty or ending early.
    pub truncated: u64,
    /// Unknown protocol version byte.
    pub unknown_version: u64,
    /// Not a well-formed message.
    pub malformed: u64,
    /// Another cluster id.
    pub wrong_cluster: u64,
    /// Structurally invalid.
    pub invalid: u64,
    /// Exceeds the limits.
    pub limit_exceeded: u64,
    /// Encrypted frame with no matching installed key (docs/spec/security.md §1.2).
    #[serde(default)]
    pub no_key: u64,
    /// Encrypted frame that failed authentication.
    #[serde(default)]
    pub decrypt_failed: u64,
    /// Plaintext datagram while encryption is required.
    #[serde(default)]
    pub unencrypted: u64,
    /// Missing signature while signatures are required.
    #[serde(default)]
    pub unsigned: u64,
    /// Node delta about a node absent from the roster.
    #[serde(default)]
    pub unknown_signer: u64,
    /// Signature that does not verify (or a claim it does not cover).
    #[serde(default)]
    pub bad_signature: u64,
    /// Over the per-peer rate limit.
    #[serde(default)]
    pub rate_limited: u64,
}

impl Rejected {
    /// The counter for `reason`.
    pub fn get(&self, reason: RejectReason) -> u64 {
        match reason {
            RejectReason::Oversize => self.oversize,
            RejectReason::Truncated => self.truncated,
            RejectReason::UnknownVersion => self.unknown_version,
            RejectReason::Malformed => self.malformed,
            RejectReason::WrongCluster => self.wrong_cluster,
            RejectReason::Invalid => self.invalid,
            RejectReason::LimitExceeded => self.limit_exceeded,
            RejectReason::NoKey => self.no_key,
            RejectReason::DecryptFailed => self.decrypt_failed,
            RejectReason::Unencrypted => self.unencrypted,
            RejectReason::Unsigned => self.unsigned,
            RejectReason::UnknownSigner => self.unknown_signer,
            RejectReason::BadSignature => self.bad_signature,
            RejectReason::RateLimited => self.rate_limited,
        }
    }

    pub(crate) fn bump(&mut self, reason: RejectReason) {
        let c = match reason {
            RejectReason::Oversize => &mut self.oversize,
            RejectReason::Truncated => &mut self.truncated,
            RejectReason::UnknownVersion => &mut self.unknown_version,
            RejectReason::Malformed => &mut self.malformed,
            RejectReason::WrongCluster => &mut self.wrong_cluster,
            RejectReason::Invalid => &mut self.invalid,
            RejectReason::LimitExceeded => &mut self.limit_exceeded,
            RejectReason::NoKey => &mut self.no_key,
            RejectReason::DecryptFailed => &mut self.decrypt_failed,
            RejectReason::Unencrypted => &mut self.unencrypted,
            RejectReason::Unsigned => &mut self.unsigned,
            RejectReason::UnknownSigner => &mut self.unknown_signer,
            RejectReason::BadSignature => &mut self.bad_signature,
            RejectReason::RateLimited => &mut self.rate_limited,
        };
        *c += 1;
    }

    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        self.oversize
            + self.truncated
            + self.unknown_version
            + self.malformed
            + self.wrong_cluster
            + self.invalid
            + self.limit_exceeded
            + self.no_key
            + self.decrypt_failed
            + self.unencrypted
            + self.unsigned
            + self.unknown_signer
            + self.bad_signature
            + self.rate_limited
    }
}

/// Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Datagrams handed to `handle_datagram` (accepted or not).
    pub datagrams_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Datagrams produced by `poll_transmit`.
    pub datagrams_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Gossip rounds started.
    pub rounds: u64,
    /// Syns sent.
    pub syns_sent: u64,
    /// SynAcks sent.
    pub synacks_sent: u64,
    /// Acks sent.
    pub acks_sent: u64,
    /// Reset node deltas sent.
    pub resets_sent: u64,
    /// Reset node deltas whose updates were applied.
    pub resets_applied: u64,
    /// Deltas that were cut (MTU or `max_delta_updates`).
    pub deltas_cut: u64,
    /// Node deltas ignored because of a gap (§5.4, §5.6).
    pub gaps: u64,
    /// Node deltas ignored because of a forgotten record (§5.2).
    pub zombies_ignored: u64,
    /// Node deltas about new nodes dropped because of `limits.max_nodes`.
    pub dropped_nodes: u64,
    /// Updates dropped because of `limits.max_keys_per_node`.
    pub dropped_updates: u64,
    /// Datagrams rejected, per reason.
    pub rejected: Rejected,
    /// Datagrams sent as compressed frames (`Config::compression`, docs/spec/wire.md
    /// "Compressed frame").
    #[serde(default)]
    pub compressed_out: u64,
    /// Bytes that compression saved on them: the plaintext datagrams' lengths minus the
    /// compressed frames' lengths.
    #[serde(default)]
    pub compression_saved_bytes: u64,
    /// Compressed frames received and accepted (rejected ones are counted in `rejected`:
    /// a bad stream as `malformed`, one inflating beyond the MTU as `limit_exceeded`).
    #[serde(default)]
    pub compressed_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_REASONS: [RejectReason; 14] = [
        RejectReason::Oversize,
        RejectReason::Truncated,
        RejectReason::UnknownVersion,
        RejectReason::Malformed,
        RejectReason::WrongCluster,
        RejectReason::Invalid,
        RejectReason::LimitExceeded,
        RejectReason::NoKey,
        RejectReason::DecryptFailed,
        RejectReason::Unencrypted,
        RejectReason::Unsigned,
        RejectReason::UnknownSigner,
        RejectReason::BadSignature,
        RejectReason::RateLimited,
    ];

    #[test]
    fn every_reject_reason_has_its_own_counter_and_the_total_sums_them_all() {
        let mut r = Rejected::default();
        // Reason i is bumped 2^i times: a shared, lost or mis-added counter changes a sum.
        for (i, reason) in ALL_REASONS.iter().enumerate() {
            for _ in 0..(1u64 << i) {
                r.bump(*reason);
            }
        }
        for (i, reason) in ALL_REASONS.iter().enumerate() {
            assert_eq!(r.get(*reason), 1 << i, "{reason:?}");
        }
        assert_eq!(r.total(), (1 << ALL_REASONS.len()) - 1);
    }

    fn node_view(name: &str, last: u8) -> NodeView {
        let id = NodeId::new(name, SocketAddr::from(([10, 0, 0, last], 7000)));
        NodeView {
            id,
            generation: 1,
            heartbeat: 0,
            entries: BTreeMap::new(),
            left: None,
            watermark: 0,
            gc_floor: 0,
            status: Status::Alive,
        }
    }

    #[test]
    fn a_cluster_view_finds_a_node_by_id_and_by_name() {
        let (a, b) = (node_view("a", 1), node_view("b", 2));
        let v = ClusterView {
            self_id: Some(a.id.clone()),
            nodes: vec![a.clone(), b.clone()],
            forgotten: vec![],
        };
        assert_eq!(v.node(&b.id), Some(&b));
        assert_eq!(v.node(&node_view("c", 3).id), None);
        assert_eq!(v.node_named("b"), Some(&b));
        assert_eq!(v.node_named("a"), Some(&a));
        assert_eq!(v.node_named("c"), None);
    }
}
