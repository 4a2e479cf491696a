//! The wire format's types (docs/spec/wire.md, protocol.md §3): digests, node deltas,
//! messages and their envelope, and the constants that frame a datagram.

use serde::{Deserialize, Serialize};

use crate::codec::de_vec;
use crate::id::NodeId;

/// The protocol version byte that starts every datagram.
pub const PROTOCOL_VERSION: u8 = 1;

/// The first byte of a **compressed frame** (docs/spec/wire.md, "Compressed frame"): the rest
/// is a raw DEFLATE stream (RFC 1951) whose output is a complete plaintext datagram.
pub const FRAME_COMPRESSED: u8 = 3;

/// The DEFLATE level this implementation compresses with (miniz_oxide's scale, 0..=10). Not
/// part of the protocol: any valid raw DEFLATE stream is accepted.
pub const COMPRESSION_LEVEL: u8 = 6;

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Encoded size of a signature on the wire (`bin8` header + 64 bytes).
pub const SIGNATURE_WIRE_LEN: usize = 2 + SIGNATURE_LEN;

/// An Ed25519 signature as carried on the wire (docs/spec/security.md §2).
pub type Signature = [u8; SIGNATURE_LEN];

/// The owner's signature of its `(heartbeat, watermark)`, carried in every signed node delta
/// (`[watermark, sig]` on the wire; the heartbeat is the node delta's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The attested watermark.
    pub watermark: u64,
    /// Ed25519 signature of the attestation bytes (docs/spec/security.md §2.2).
    pub sig: Signature,
}

/// Which messages a gossip exchange uses (protocol.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum GossipMode {
    /// Syn (digest) → SynAck (digest + delta) → Ack (delta). The default.
    #[default]
    PushPull,
    /// Syn (digest) → SynAck (delta); no Ack.
    Pull,
    /// Syn carrying a delta of everything the sender holds (cut to the MTU); no reply.
    Push,
}

impl GossipMode {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            GossipMode::PushPull => 0,
            GossipMode::Pull => 1,
            GossipMode::Push => 2,
        }
    }
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(GossipMode::PushPull),
            1 => Some(GossipMode::Pull),
            2 => Some(GossipMode::Push),
            _ => None,
        }
    }
}

/// A **digest** entry: what the sender knows about one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestEntry {
    /// The node.
    pub node: NodeId,
    /// The sender's generation for it.
    pub generation: u64,
    /// The sender's heartbeat for it.
    pub heartbeat: u64,
    /// The sender's watermark for it.
    pub watermark: u64,
}

/// The range of node ids a partial digest covers: from `start` (inclusive) to `end`
/// (exclusive), ascending and wrapping around (when `end <= start` the range wraps past the
/// largest id; `start == end` covers every id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestRange {
    /// First id covered.
    pub start: NodeId,
    /// First id after the range.
    pub end: NodeId,
}

impl DigestRange {
    /// Whether `id` lies in the range.
    pub fn contains(&self, id: &NodeId) -> bool {
        if self.start < self.end {
            *id >= self.start && *id < self.end
        } else if self.start > self.end {
            *id >= self.start || *id < self.end
        } else {
            true
        }
    }
}

/// A **digest**: `(node, generation, heartbeat, watermark)` per node; partial when `range` is
/// set (protocol.md §3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Digest {
    /// `None` for a complete digest; otherwise the range covered.
    pub range: Option<DigestRange>,
    /// The entries: in ascending node id order for a complete digest; for a partial digest,
    /// first the listed entries (own, placeholders, hot nodes), then the range's entries in
    /// ascending order from `range.start`, wrapping (docs/spec/node.md §5).
    #[serde(deserialize_with = "de_vec")]
    pub entries: Vec<DigestEntry>,
}

impl Digest {
    /// Whether the digest speaks about `id` (it lies in its range).
    pub fn covers(&self, id: &NodeId) -> bool {
        self.range.as_ref().is_none_or(|r| r.contains(id))
    }
}

/// The kind of a node delta (protocol.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaKind {
    /// The updates are the node's changes with version in `(from, watermark_after]`.
    Incremental {
        /// Exclusive lower bound of the versions carried.
        from: u64,
    },
    /// The updates are the sender's whole node state (tombstones included).
    Reset {
        /// The sender's gc_floor for the node.
        gc_floor: u64,
    },
}

/// One change of a node's own state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `key = value`.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// The key was deleted (a **tombstone**).
    Delete {
        /// The key.
        key: String,
    },
    /// The node left the cluster.
    Leave,
}

/// A versioned change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The change's version.
    pub version: u64,
    /// The change.
    pub change: Change,
    /// The owner's signature (docs/spec/security.md §2.3); `None` in the unsigned format.
    pub sig: Option<Signature>,
}

/// A **node delta** (protocol.md §3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDelta {
    /// The node.
    pub node: NodeId,
    /// The sender's generation for it.
    pub generation: u64,
    /// The sender's heartbeat for it.
    pub heartbeat: u64,
    /// Incremental or reset.
    pub kind: DeltaKind,
    /// Changes in strictly increasing version order.
    #[serde(deserialize_with = "de_vec")]
    pub updates: Vec<Update>,
    /// The watermark the receiver may take after applying the updates.
    pub watermark_after: u64,
    /// The owner's attestation of `(heartbeat, watermark)` (docs/spec/security.md §2.3);
    /// `None` in the unsigned format (then the element is absent on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Attestation>,
}

/// One gossip message (protocol.md §3). The cluster id travels in the [`Envelope`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Starts a round. In push-pull and pull mode it carries a digest and an empty delta; in
    /// push mode no digest and a delta.
    Syn {
        /// The exchange the sender asks for.
        mode: GossipMode,
        /// The sender's digest (`None` in push mode).
        digest: Option<Digest>,
        /// A delta (empty unless push mode).
        delta: Vec<NodeDelta>,
    },
    /// Answers a Syn: the answerer's digest (`None` in pull mode: no Ack wanted) and what the
    /// Syn's sender lacks.
    SynAck {
        /// The answerer's digest.
        digest: Option<Digest>,
        /// What the Syn's sender lacks.
        delta: Vec<NodeDelta>,
    },
    /// Answers a SynAck: what the SynAck's sender lacks.
    Ack {
        /// What the SynAck's sender lacks.
        delta: Vec<NodeDelta>,
    },
}

/// A message with its cluster id: the MessagePack body of a datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The sender's cluster id.
    pub cluster_id: String,
    /// The message.
    pub message: Message,
}
