//! The wire format (docs/spec/wire.md): one protocol version byte, then a MessagePack body
//! encoded with `rmp-serde` (structs as arrays, enums as small integer tags).
//!
//! Encoded sizes are computed exactly without encoding ([`Message`]'s `encoded_len` family),
//! so that the core can fill a datagram up to the MTU; a unit test checks them against the
//! encoder.
//!
//! Modules, bottom to top: `message` (the types), `format` (their MessagePack shape),
//! `encode` (encoding and exact sizes), `compress` (compressed frames), `decode`.

mod compress;
mod decode;
mod encode;
mod format;
mod message;
#[cfg(test)]
mod tests;

pub use self::compress::{Compressor, compress, compress_with_level, inflate};
pub use self::decode::{decode, decode_value};
pub use self::encode::encode;
pub(crate) use self::encode::{delta_len, envelope_base_len};
pub use self::message::{
    Attestation, COMPRESSION_LEVEL, Change, DeltaKind, Digest, DigestEntry, DigestRange, Envelope,
    FRAME_COMPRESSED, GossipMode, Message, NodeDelta, PROTOCOL_VERSION, SIGNATURE_LEN,
    SIGNATURE_WIRE_LEN, Signature, Update,
};
pub use crate::codec::Bytes;
