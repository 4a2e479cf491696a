//! The wire format (docs/spec/wire.md): one protocol version byte, then a MessagePack body
//! encoded with `rmp-serde` (structs as arrays, enums as small integer tags).
//!
//! Encoded sizes are computed exactly without encoding ([`Message`]'s `encoded_len` family),
//! so that the core can fill a datagram up to the MTU; a unit test checks them against the
//! encoder.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{Config, GossipMode};
use crate::error::DatagramError;
use crate::id::NodeId;
use crate::security::{Attestation, SIGNATURE_LEN, SIGNATURE_WIRE_LEN, Signature};

/// The protocol version byte that starts every datagram.
pub const PROTOCOL_VERSION: u8 = 1;

/// The first byte of a **compressed frame** (docs/spec/wire.md, "Compressed frame"): the rest
/// is a raw DEFLATE stream (RFC 1951) whose output is a complete plaintext datagram.
pub const FRAME_COMPRESSED: u8 = 3;

/// The DEFLATE level this implementation compresses with (miniz_oxide's scale, 0..=10). Not
/// part of the protocol: any valid raw DEFLATE stream is accepted.
pub const COMPRESSION_LEVEL: u8 = 6;

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

// ---------------------------------------------------------------------------------------------
// serde for the enums: compact integer tags instead of rmp-serde's variant-name maps.

const TAG_SYN: u8 = 0;
const TAG_SYNACK: u8 = 1;
const TAG_ACK: u8 = 2;
const TAG_SET: u8 = 0;
const TAG_DELETE: u8 = 1;
const TAG_LEAVE: u8 = 2;
const KIND_INCREMENTAL: u8 = 0;
const KIND_RESET: u8 = 1;

impl Serialize for DeltaKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (tag, v) = match *self {
            DeltaKind::Incremental { from } => (KIND_INCREMENTAL, from),
            DeltaKind::Reset { gc_floor } => (KIND_RESET, gc_floor),
        };
        (tag, v).serialize(s)
    }
}

impl<'de> Deserialize<'de> for DeltaKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (tag, v) = <(u8, u64)>::deserialize(d)?;
        match tag {
            KIND_INCREMENTAL => Ok(DeltaKind::Incremental { from: v }),
            KIND_RESET => Ok(DeltaKind::Reset { gc_floor: v }),
            _ => Err(de::Error::custom("unknown delta kind")),
        }
    }
}

/// A byte string serialized as MessagePack `bin` (only `bin` is accepted when decoding: an
/// array of small integers or a `str` is `Malformed`, docs/spec/node.md §3).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

struct BytesRef<'a>(&'a [u8]);

impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_bytes(V)
    }
}

impl Serialize for Update {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let signed = usize::from(self.sig.is_some());
        match &self.change {
            Change::Set { key, value } => {
                let mut t = s.serialize_tuple(4 + signed)?;
                t.serialize_element(&self.version)?;
                t.serialize_element(&TAG_SET)?;
                t.serialize_element(key)?;
                t.serialize_element(&BytesRef(value))?;
                if let Some(sig) = &self.sig {
                    t.serialize_element(&BytesRef(sig))?;
                }
                t.end()
            }
            Change::Delete { key } => {
                let mut t = s.serialize_tuple(3 + signed)?;
                t.serialize_element(&self.version)?;
                t.serialize_element(&TAG_DELETE)?;
                t.serialize_element(key)?;
                if let Some(sig) = &self.sig {
                    t.serialize_element(&BytesRef(sig))?;
                }
                t.end()
            }
            Change::Leave => {
                let mut t = s.serialize_tuple(2 + signed)?;
                t.serialize_element(&self.version)?;
                t.serialize_element(&TAG_LEAVE)?;
                if let Some(sig) = &self.sig {
                    t.serialize_element(&BytesRef(sig))?;
                }
                t.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Update {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Update;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an update [version, tag, ...]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Update, A::Error> {
                let version: u64 = next(&mut seq, 0, &self)?;
                let tag: u8 = next(&mut seq, 1, &self)?;
                let change = match tag {
                    TAG_SET => {
                        let key: String = next(&mut seq, 2, &self)?;
                        let value: Bytes = next(&mut seq, 3, &self)?;
                        Change::Set {
                            key,
                            value: value.0,
                        }
                    }
                    TAG_DELETE => Change::Delete {
                        key: next(&mut seq, 2, &self)?,
                    },
                    TAG_LEAVE => Change::Leave,
                    _ => return Err(de::Error::custom("unknown change tag")),
                };
                let sig = seq
                    .next_element::<Bytes>()?
                    .map(|b| to_signature(b).map_err(de::Error::custom))
                    .transpose()?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("too many elements in an update"));
                }
                Ok(Update {
                    version,
                    change,
                    sig,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

fn to_signature(b: Bytes) -> Result<Signature, &'static str> {
    <[u8; SIGNATURE_LEN]>::try_from(b.0.as_slice()).map_err(|_| "a signature must be 64 bytes")
}

impl Serialize for Attestation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.watermark)?;
        t.serialize_element(&BytesRef(&self.sig))?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for Attestation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (watermark, sig) = <(u64, Bytes)>::deserialize(d)?;
        Ok(Attestation {
            watermark,
            sig: to_signature(sig).map_err(de::Error::custom)?,
        })
    }
}

fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
    seq: &mut A,
    i: usize,
    exp: &dyn de::Expected,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(i, exp))
}

#[derive(Serialize, Deserialize)]
struct SynBody {
    mode: u8,
    digest: Option<Digest>,
    #[serde(deserialize_with = "de_vec")]
    delta: Vec<NodeDelta>,
}

#[derive(Serialize, Deserialize)]
struct SynAckBody {
    digest: Option<Digest>,
    #[serde(deserialize_with = "de_vec")]
    delta: Vec<NodeDelta>,
}

#[derive(Serialize, Deserialize)]
struct AckBody {
    #[serde(deserialize_with = "de_vec")]
    delta: Vec<NodeDelta>,
}

#[derive(Serialize)]
struct SynBodyRef<'a> {
    mode: u8,
    digest: &'a Option<Digest>,
    delta: &'a Vec<NodeDelta>,
}

#[derive(Serialize)]
struct SynAckBodyRef<'a> {
    digest: &'a Option<Digest>,
    delta: &'a Vec<NodeDelta>,
}

#[derive(Serialize)]
struct AckBodyRef<'a> {
    delta: &'a Vec<NodeDelta>,
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.cluster_id)?;
        match &self.message {
            Message::Syn {
                mode,
                digest,
                delta,
            } => {
                t.serialize_element(&TAG_SYN)?;
                t.serialize_element(&SynBodyRef {
                    mode: mode.to_u8(),
                    digest,
                    delta,
                })?;
            }
            Message::SynAck { digest, delta } => {
                t.serialize_element(&TAG_SYNACK)?;
                t.serialize_element(&SynAckBodyRef { digest, delta })?;
            }
            Message::Ack { delta } => {
                t.serialize_element(&TAG_ACK)?;
                t.serialize_element(&AckBodyRef { delta })?;
            }
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an envelope [cluster_id, tag, body]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Envelope, A::Error> {
                let cluster_id: String = next(&mut seq, 0, &self)?;
                let tag: u8 = next(&mut seq, 1, &self)?;
                let message = match tag {
                    TAG_SYN => {
                        let b: SynBody = next(&mut seq, 2, &self)?;
                        Message::Syn {
                            mode: GossipMode::from_u8(b.mode)
                                .ok_or_else(|| de::Error::custom("unknown gossip mode"))?,
                            digest: b.digest,
                            delta: b.delta,
                        }
                    }
                    TAG_SYNACK => {
                        let b: SynAckBody = next(&mut seq, 2, &self)?;
                        Message::SynAck {
                            digest: b.digest,
                            delta: b.delta,
                        }
                    }
                    TAG_ACK => {
                        let b: AckBody = next(&mut seq, 2, &self)?;
                        Message::Ack { delta: b.delta }
                    }
                    _ => return Err(de::Error::custom("unknown message tag")),
                };
                Ok(Envelope {
                    cluster_id,
                    message,
                })
            }
        }
        d.deserialize_tuple(3, V)
    }
}

/// Deserializes a sequence without trusting its length prefix for preallocation: at most 16
/// elements are reserved up front; the vector then only grows with elements actually present
/// in the (MTU-bounded) input.
pub(crate) fn de_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
            while let Some(x) = seq.next_element()? {
                out.push(x);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(V(PhantomData))
}

// ---------------------------------------------------------------------------------------------
// encode / decode

/// Encodes a datagram: the protocol version byte followed by the MessagePack body.
pub fn encode(env: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(env.encoded_len());
    out.push(PROTOCOL_VERSION);
    // Writing into a Vec cannot fail and every type here is serializable.
    rmp_serde::encode::write(&mut out, env).expect("encoding into a Vec cannot fail");
    out
}

/// A reusable DEFLATE compressor for compressed frames: allocating the compressor's tables
/// (about 160 KiB) for every datagram would cost more than compressing it.
pub struct Compressor {
    state: Box<miniz_oxide::deflate::core::CompressorOxide>,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor").finish_non_exhaustive()
    }
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new(COMPRESSION_LEVEL)
    }
}

impl Compressor {
    /// A compressor at DEFLATE `level` (miniz_oxide's scale, 0..=10), raw DEFLATE output.
    pub fn new(level: u8) -> Self {
        use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
        // Negative window bits: raw DEFLATE (no zlib header or checksum).
        let flags = create_comp_flags_from_zip_params(i32::from(level), -15, 0);
        Self {
            state: Box::new(CompressorOxide::new(flags)),
        }
    }

    /// The compressed frame of `datagram`, whatever its length.
    pub fn frame(&mut self, datagram: &[u8]) -> Vec<u8> {
        use miniz_oxide::deflate::core::{TDEFLFlush, TDEFLStatus, compress_to_output};
        self.state.reset();
        let mut out = Vec::with_capacity(datagram.len() / 2 + 16);
        out.push(FRAME_COMPRESSED);
        let (status, _) = compress_to_output(&mut self.state, datagram, TDEFLFlush::Finish, |b| {
            out.extend_from_slice(b);
            true
        });
        debug_assert_eq!(status, TDEFLStatus::Done);
        out
    }

    /// The compressed frame of `datagram` if it is strictly shorter than `datagram`, else
    /// `None` (the sender rule of docs/spec/wire.md).
    pub fn compress(&mut self, datagram: &[u8]) -> Option<Vec<u8>> {
        let frame = self.frame(datagram);
        (frame.len() < datagram.len()).then_some(frame)
    }
}

/// The compressed frame of `datagram` (docs/spec/wire.md, "Compressed frame"):
/// [`FRAME_COMPRESSED`] followed by the raw DEFLATE stream of the whole datagram, if that is
/// strictly shorter than `datagram`; otherwise `None` (the sender then sends the datagram as
/// is). A one-off [`Compressor`]; a sender keeps one instead.
pub fn compress(datagram: &[u8]) -> Option<Vec<u8>> {
    Compressor::default().compress(datagram)
}

/// The compressed frame of `datagram` at DEFLATE `level` (miniz_oxide's scale, 0..=10),
/// whatever its length (for tests and tools; senders use [`compress`] or a [`Compressor`]).
pub fn compress_with_level(datagram: &[u8], level: u8) -> Vec<u8> {
    Compressor::new(level).frame(datagram)
}

/// Inflates the raw DEFLATE stream of a compressed frame (the bytes after
/// [`FRAME_COMPRESSED`]) into at most `max_len` bytes. Never panics and never allocates more
/// than `max_len + 1` bytes of output, whatever the stream claims.
///
/// Errors: more than `max_len` bytes of output → [`DatagramError::LimitExceeded`] (a
/// "compression bomb"); an invalid stream, a stream that ends before its final block, or bytes
/// after the final block → [`DatagramError::Malformed`].
pub fn inflate(stream: &[u8], max_len: usize) -> Result<Vec<u8>, DatagramError> {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
    // The output buffer grows (up to `max_len + 1` bytes) only as output is produced, so a
    // huge bound (`usize::MAX` in tools) costs nothing up front.
    let cap = max_len.saturating_add(1);
    let mut out = vec![0u8; cap.min(4_096)];
    let mut state = Box::<DecompressorOxide>::default();
    // No zlib header, all input present, the output buffer holds the whole output.
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (mut in_pos, mut out_pos) = (0, 0);
    loop {
        let (status, consumed, written) =
            decompress(&mut state, &stream[in_pos..], &mut out, out_pos, flags);
        in_pos += consumed;
        out_pos += written;
        match status {
            TINFLStatus::Done if out_pos <= max_len => {
                if in_pos != stream.len() {
                    return Err(DatagramError::Malformed(
                        "bytes after the end of the compressed stream".into(),
                    ));
                }
                out.truncate(out_pos);
                return Ok(out);
            }
            TINFLStatus::HasMoreOutput if out.len() < cap => {
                let len = out.len().saturating_mul(2).min(cap);
                out.resize(len, 0);
            }
            TINFLStatus::Done | TINFLStatus::HasMoreOutput => {
                return Err(DatagramError::LimitExceeded(
                    "decompressed datagram longer than the mtu",
                ));
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                return Err(DatagramError::Malformed(
                    "compressed stream ends before its final block".into(),
                ));
            }
            _ => return Err(DatagramError::Malformed("invalid compressed stream".into())),
        }
    }
}

/// Decodes a datagram of at most `mtu` bytes: a plaintext datagram, or a compressed frame
/// whose decompressed datagram is at most `mtu` bytes (and is itself a plaintext datagram:
/// frames do not nest). Never panics; rejects oversize input before decoding anything. Does
/// not check the cluster id nor the limits (see
/// [`Core::handle_datagram`](crate::Core::handle_datagram)).
pub fn decode(bytes: &[u8], mtu: usize) -> Result<Envelope, DatagramError> {
    if bytes.len() > mtu {
        return Err(DatagramError::Oversize {
            len: bytes.len(),
            mtu,
        });
    }
    if let Some((&FRAME_COMPRESSED, stream)) = bytes.split_first() {
        let inflated = inflate(stream, mtu)?;
        return decode_plain(&inflated);
    }
    decode_plain(bytes)
}

/// Decodes a plaintext datagram (version byte, envelope); the length was checked.
fn decode_plain(bytes: &[u8]) -> Result<Envelope, DatagramError> {
    let (&version, body) = bytes.split_first().ok_or(DatagramError::Truncated)?;
    if version != PROTOCOL_VERSION {
        return Err(DatagramError::UnknownVersion(version));
    }
    let mut rest = body;
    let env = {
        let mut de = rmp_serde::Deserializer::new(&mut rest);
        de.set_max_depth(32);
        Envelope::deserialize(&mut de).map_err(map_decode_error)?
    };
    if !rest.is_empty() {
        return Err(DatagramError::Malformed("trailing bytes".into()));
    }
    Ok(env)
}

fn map_decode_error(e: rmp_serde::decode::Error) -> DatagramError {
    use rmp_serde::decode::Error as E;
    match &e {
        E::InvalidMarkerRead(io) | E::InvalidDataRead(io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            DatagramError::Truncated
        }
        _ => DatagramError::Malformed(e.to_string()),
    }
}

/// Decodes a MessagePack value with the same precautions (used by tests and tools).
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DatagramError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(32);
    T::deserialize(&mut de).map_err(map_decode_error)
}

// ---------------------------------------------------------------------------------------------
// exact encoded sizes

pub(crate) fn uint_len(v: u64) -> usize {
    match v {
        0..=127 => 1,
        128..=255 => 2,
        256..=65_535 => 3,
        65_536..=4_294_967_295 => 5,
        _ => 9,
    }
}

pub(crate) fn array_hdr_len(n: usize) -> usize {
    match n {
        0..=15 => 1,
        16..=65_535 => 3,
        _ => 5,
    }
}

pub(crate) fn str_len(n: usize) -> usize {
    n + match n {
        0..=31 => 1,
        32..=255 => 2,
        256..=65_535 => 3,
        _ => 5,
    }
}

pub(crate) fn bin_len(n: usize) -> usize {
    n + match n {
        0..=255 => 2,
        256..=65_535 => 3,
        _ => 5,
    }
}

impl NodeId {
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        let addr = if self.addr.is_ipv4() { 6 } else { 18 };
        1 + str_len(self.name.len()) + bin_len(addr)
    }
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

/// The size of a digest with a worst-case range and one worst-case entry.
pub(crate) fn min_digest_len(config: &Config) -> usize {
    let worst_id = NodeId {
        name: "x".repeat(config.limits.max_name_len),
        addr: "[::1]:1".parse().expect("valid literal"),
    };
    Digest {
        range: Some(DigestRange {
            start: worst_id.clone(),
            end: worst_id.clone(),
        }),
        entries: vec![DigestEntry {
            node: worst_id,
            generation: u64::MAX,
            heartbeat: u64::MAX,
            watermark: u64::MAX,
        }],
    }
    .encoded_len()
        + 2
}

/// The smallest MTU for which every message can carry at least one digest entry (with a
/// worst-case range) and one maximal update for a maximal node name.
pub(crate) fn min_mtu(config: &Config, layers: crate::config::SecurityLayers) -> usize {
    let worst_id = NodeId {
        name: "x".repeat(config.limits.max_name_len),
        addr: "[::1]:1".parse().expect("valid literal"),
    };
    let digest = Digest {
        range: Some(DigestRange {
            start: worst_id.clone(),
            end: worst_id.clone(),
        }),
        entries: vec![DigestEntry {
            node: worst_id.clone(),
            generation: u64::MAX,
            heartbeat: u64::MAX,
            watermark: u64::MAX,
        }],
    };
    let delta = vec![NodeDelta {
        node: worst_id,
        generation: u64::MAX,
        heartbeat: u64::MAX,
        kind: DeltaKind::Reset { gc_floor: u64::MAX },
        updates: vec![Update {
            version: u64::MAX,
            change: Change::Set {
                key: "k".repeat(config.limits.max_key_len),
                value: vec![0; config.limits.max_value_len],
            },
            sig: layers.signed.then_some([0; SIGNATURE_LEN]),
        }],
        watermark_after: u64::MAX,
        attestation: layers.signed.then_some(Attestation {
            watermark: u64::MAX,
            sig: [0; SIGNATURE_LEN],
        }),
    }];
    // envelope, SynAck body header (fixarray 2)
    let base = envelope_base_len(&config.cluster_id) + 1;
    let d = digest.encoded_len() + 2;
    let u = delta_len(&delta) + 2;
    let avail = (4 * d).max((4 * u).div_ceil(3));
    let frame = if layers.encrypted {
        crate::security::FRAME_OVERHEAD
    } else {
        0
    };
    base + avail + frame
}

/// Bytes of a datagram before its message body: version byte, envelope array header, cluster
/// id and message tag.
pub(crate) fn envelope_base_len(cluster_id: &str) -> usize {
    1 + 1 + str_len(cluster_id.len()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_id() -> impl Strategy<Value = NodeId> {
        ("[a-z]{1,40}", any::<[u8; 4]>(), any::<u16>(), any::<bool>()).prop_map(
            |(name, ip, port, v6)| {
                let addr = if v6 {
                    std::net::SocketAddr::from(([ip[0] as u16, 0, 0, 0, 0, 0, 0, 1], port))
                } else {
                    std::net::SocketAddr::from((ip, port))
                };
                NodeId::new(name, addr)
            },
        )
    }

    fn arb_update() -> impl Strategy<Value = Update> {
        (
            any::<u64>(),
            0u8..3,
            "[a-z]{0,300}",
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(version, tag, key, value)| Update {
                sig: (version % 3 == 0).then_some([version as u8; 64]),
                version,
                change: match tag {
                    0 => Change::Set { key, value },
                    1 => Change::Delete { key },
                    _ => Change::Leave,
                },
            })
    }

    fn arb_node_delta() -> impl Strategy<Value = NodeDelta> {
        (
            arb_id(),
            any::<u64>(),
            any::<u64>(),
            any::<bool>(),
            any::<u64>(),
            proptest::collection::vec(arb_update(), 0..20),
            any::<u64>(),
        )
            .prop_map(
                |(node, generation, heartbeat, reset, k, updates, watermark_after)| NodeDelta {
                    node,
                    generation,
                    heartbeat,
                    kind: if reset {
                        DeltaKind::Reset { gc_floor: k }
                    } else {
                        DeltaKind::Incremental { from: k }
                    },
                    updates,
                    watermark_after,
                    attestation: (generation % 2 == 0).then_some(Attestation {
                        watermark: heartbeat ^ generation,
                        sig: [7; 64],
                    }),
                },
            )
    }

    fn arb_digest() -> impl Strategy<Value = Digest> {
        (
            proptest::option::of((arb_id(), arb_id())),
            proptest::collection::vec((arb_id(), any::<u64>(), any::<u64>(), any::<u64>()), 0..40),
        )
            .prop_map(|(range, entries)| Digest {
                range: range.map(|(start, end)| DigestRange { start, end }),
                entries: entries
                    .into_iter()
                    .map(|(node, generation, heartbeat, watermark)| DigestEntry {
                        node,
                        generation,
                        heartbeat,
                        watermark,
                    })
                    .collect(),
            })
    }

    fn arb_envelope() -> impl Strategy<Value = Envelope> {
        let delta = proptest::collection::vec(arb_node_delta(), 0..20);
        (
            "[a-z]{0,40}",
            0u8..3,
            0u8..3,
            proptest::option::of(arb_digest()),
            delta,
        )
            .prop_map(|(cluster_id, tag, mode, digest, delta)| Envelope {
                cluster_id,
                message: match tag {
                    0 => Message::Syn {
                        mode: GossipMode::from_u8(mode).unwrap(),
                        digest,
                        delta,
                    },
                    1 => Message::SynAck { digest, delta },
                    _ => Message::Ack { delta },
                },
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_computed_size_is_the_encoded_size_and_decoding_round_trips(env in arb_envelope()) {
            let bytes = encode(&env);
            prop_assert_eq!(bytes.len(), env.encoded_len());
            let back = decode(&bytes, usize::MAX).unwrap();
            prop_assert_eq!(&back, &env);
            let frame = compress_with_level(&bytes, COMPRESSION_LEVEL);
            prop_assert_eq!(inflate(&frame[1..], bytes.len()).unwrap(), bytes.clone());
            prop_assert!(inflate(&frame[1..], bytes.len() - 1).is_err());
            if let Some(frame) = compress(&bytes) {
                prop_assert!(frame.len() < bytes.len());
                prop_assert_eq!(decode(&frame, usize::MAX).unwrap(), env);
            }
        }
    }

    #[test]
    fn the_example_syn_of_wire_md_is_byte_exact() {
        let a = NodeId::new("a", "10.0.0.1:7000".parse().unwrap());
        let env = Envelope {
            cluster_id: "test".into(),
            message: Message::Syn {
                mode: GossipMode::PushPull,
                digest: Some(Digest {
                    range: None,
                    entries: vec![DigestEntry {
                        node: a,
                        generation: 1,
                        heartbeat: 1,
                        watermark: 0,
                    }],
                }),
                delta: vec![],
            },
        };
        let expected: Vec<u8> = vec![
            0x01, 0x93, 0xa4, b't', b'e', b's', b't', 0x00, 0x93, 0x00, 0x92, 0xc0, 0x91, 0x94,
            0x92, 0xa1, b'a', 0xc4, 0x06, 0x0a, 0x00, 0x00, 0x01, 0x1b, 0x58, 0x01, 0x01, 0x00,
            0x90,
        ];
        assert_eq!(encode(&env), expected);
    }

    #[test]
    fn the_default_limits_need_an_mtu_of_1188_bytes() {
        let c = Config::new("a", "10.0.0.1:1".parse().unwrap());
        assert_eq!(min_mtu(&c, Default::default()), 1188);
    }

    #[test]
    fn a_value_must_be_bin_not_an_array_of_integers_or_a_str() {
        let env = Envelope {
            cluster_id: "test".into(),
            message: Message::Ack {
                delta: vec![NodeDelta {
                    node: NodeId::new("a", "10.0.0.1:7000".parse().unwrap()),
                    generation: 1,
                    heartbeat: 1,
                    kind: DeltaKind::Incremental { from: 0 },
                    updates: vec![Update {
                        version: 1,
                        change: Change::Set {
                            key: "k".into(),
                            value: vec![0x05],
                        },
                        sig: None,
                    }],
                    watermark_after: 1,
                    attestation: None,
                }],
            },
        };
        let bytes = encode(&env);
        assert!(decode(&bytes, 1400).is_ok());
        let bin = [0xc4, 0x01, 0x05];
        let at = bytes.windows(3).position(|w| w == bin).unwrap();
        for other in [&[0x91, 0x05][..], &[0xa1, 0x05][..]] {
            let mut b = bytes[..at].to_vec();
            b.extend_from_slice(other);
            b.extend_from_slice(&bytes[at + 3..]);
            assert!(
                matches!(decode(&b, 1400), Err(DatagramError::Malformed(_))),
                "{other:02x?} accepted as a value"
            );
        }
    }

    #[test]
    fn the_security_layers_raise_the_minimum_mtu_by_their_overhead() {
        use crate::config::SecurityLayers;
        let c = Config::new("a", "10.0.0.1:1".parse().unwrap());
        let mtu = |encrypted, signed| min_mtu(&c, SecurityLayers { encrypted, signed });
        assert_eq!(mtu(true, false), 1188 + 33);
        assert_eq!(mtu(false, true), 1250);
        assert_eq!(mtu(true, true), 1283);
    }

    #[test]
    fn a_range_wraps_around_the_largest_id() {
        let id = |n: &str| NodeId::new(n, "10.0.0.1:1".parse().unwrap());
        let r = DigestRange {
            start: id("m"),
            end: id("c"),
        };
        assert!(r.contains(&id("z")) && r.contains(&id("a")) && r.contains(&id("m")));
        assert!(!r.contains(&id("c")) && !r.contains(&id("d")));
    }
}
