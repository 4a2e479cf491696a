//! Encoding datagrams, and their exact encoded sizes computed without encoding (so that the
//! core can fill a datagram up to the MTU; a unit test checks them against the encoder).

use super::message::{
    Change, DeltaKind, Digest, DigestEntry, DigestRange, Envelope, Message, NodeDelta,
    PROTOCOL_VERSION, SIGNATURE_WIRE_LEN, Update,
};
use crate::codec::{array_hdr_len, bin_len, str_len, uint_len};

/// Encodes a datagram: the protocol version byte followed by the MessagePack body.
pub fn encode(env: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(env.encoded_len());
    out.push(PROTOCOL_VERSION);
    // Writing into a Vec cannot fail and every type here is serializable.
    rmp_serde::encode::write(&mut out, env).expect("encoding into a Vec cannot fail");
    out
}

impl DigestEntry {
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        1 + self.node.encoded_len()
            + uint_len(self.generation)
            + uint_len(self.heartbeat)
            + uint_len(self.watermark)
    }
}

impl DigestRange {
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        1 + self.start.encoded_len() + self.end.encoded_len()
    }
}

impl Digest {
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        1 + self.range.as_ref().map_or(1, DigestRange::encoded_len)
            + array_hdr_len(self.entries.len())
            + self
                .entries
                .iter()
                .map(DigestEntry::encoded_len)
                .sum::<usize>()
    }
}

impl DeltaKind {
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        let v = match *self {
            DeltaKind::Incremental { from } => from,
            DeltaKind::Reset { gc_floor } => gc_floor,
        };
        2 + uint_len(v)
    }
}

impl Update {
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        2 + uint_len(self.version)
            + match &self.change {
                Change::Set { key, value } => str_len(key.len()) + bin_len(value.len()),
                Change::Delete { key } => str_len(key.len()),
                Change::Leave => 0,
            }
            + self.sig.map_or(0, |_| SIGNATURE_WIRE_LEN)
    }
}

impl NodeDelta {
    /// Encoded size in bytes without its updates and with an updates array header of
    /// `n_updates` elements.
    pub fn header_len(&self, n_updates: usize) -> usize {
        1 + self.node.encoded_len()
            + uint_len(self.generation)
            + uint_len(self.heartbeat)
            + self.kind.encoded_len()
            + array_hdr_len(n_updates)
            + uint_len(self.watermark_after)
            + self
                .attestation
                .as_ref()
                .map_or(0, |a| 1 + uint_len(a.watermark) + SIGNATURE_WIRE_LEN)
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.header_len(self.updates.len())
            + self.updates.iter().map(Update::encoded_len).sum::<usize>()
    }
}

/// Encoded size of a delta (an array of node deltas).
pub(crate) fn delta_len(delta: &[NodeDelta]) -> usize {
    array_hdr_len(delta.len()) + delta.iter().map(NodeDelta::encoded_len).sum::<usize>()
}

impl Envelope {
    /// Size of the whole datagram (version byte included) in bytes.
    pub fn encoded_len(&self) -> usize {
        let opt = |d: &Option<Digest>| d.as_ref().map_or(1, Digest::encoded_len);
        let body = match &self.message {
            Message::Syn { digest, delta, .. } => 2 + opt(digest) + delta_len(delta),
            Message::SynAck { digest, delta } => 1 + opt(digest) + delta_len(delta),
            Message::Ack { delta } => 1 + delta_len(delta),
        };
        // version byte, fixarray(3), cluster id, tag
        1 + 1 + str_len(self.cluster_id.len()) + 1 + body
    }
}

/// Bytes of a datagram before its message body: version byte, envelope array header, cluster
/// id and message tag.
pub(crate) fn envelope_base_len(cluster_id: &str) -> usize {
    1 + 1 + str_len(cluster_id.len()) + 1
}
