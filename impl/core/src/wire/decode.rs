//! Decoding datagrams: bounded by the MTU, never panicking, compressed frames inflated first.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::compress::inflate;
use super::message::{Envelope, FRAME_COMPRESSED, PROTOCOL_VERSION};
use crate::error::DatagramError;

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
