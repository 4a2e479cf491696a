//! Compressed frames (docs/spec/wire.md, "Compressed frame"). Arbitrary bytes as a raw DEFLATE
//! stream: never a panic, never more output than the bound, and a frame decodes exactly as
//! its inflated datagram does (frames do not nest). Arbitrary bytes compressed: they inflate
//! back to themselves within the bound, and are `LimitExceeded` beyond it.
#![no_main]

use gossip_core::{DatagramError, wire};
use libfuzzer_sys::fuzz_target;

const MTU: usize = 1_400;

fuzz_target!(|data: &[u8]| {
    // 1. data as the stream of a frame
    let mut frame = Vec::with_capacity(1 + data.len());
    frame.push(wire::FRAME_COMPRESSED);
    frame.extend_from_slice(data);
    let decoded = wire::decode(&frame, MTU);
    if frame.len() <= MTU {
        match wire::inflate(data, MTU) {
            Ok(out) => {
                assert!(out.len() <= MTU);
                if out.first() == Some(&wire::FRAME_COMPRESSED) {
                    assert_eq!(decoded, Err(DatagramError::UnknownVersion(3)));
                } else {
                    assert_eq!(decoded, wire::decode(&out, MTU));
                }
            }
            Err(e) => assert_eq!(decoded, Err(e)),
        }
    }
    // 2. data compressed
    let frame = wire::compress_with_level(data, 6);
    match wire::inflate(&frame[1..], MTU) {
        Ok(out) => assert_eq!(out, data),
        Err(e) => assert!(
            data.len() > MTU && matches!(e, DatagramError::LimitExceeded(_)),
            "{e}"
        ),
    }
});
