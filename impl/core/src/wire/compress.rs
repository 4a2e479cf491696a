//! Compressed frames (docs/spec/wire.md, "Compressed frame"): raw DEFLATE of a whole
//! plaintext datagram behind the [`FRAME_COMPRESSED`] byte.

use std::fmt;

use super::message::{COMPRESSION_LEVEL, FRAME_COMPRESSED};
use crate::error::DatagramError;

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
