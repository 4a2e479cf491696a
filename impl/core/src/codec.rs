//! MessagePack building blocks shared by the wire format and the node id's encoding: byte
//! strings as `bin`, bounded sequence decoding, and the exact encoded sizes of integers,
//! strings, byte strings and array headers. A leaf module: it uses nothing else of the crate.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte string serialized as MessagePack `bin` (only `bin` is accepted when decoding: an
/// array of small integers or a `str` is `Malformed`, docs/spec/node.md §3).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

/// A borrowed byte string serialized as MessagePack `bin`.
pub(crate) struct BytesRef<'a>(pub(crate) &'a [u8]);

impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BytesRef(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(BinOnly)
    }
}

/// Visits a MessagePack `bin` and nothing else (rmp-serde calls `visit_seq` or `visit_str`
/// for an array or a `str`, which then fail).
struct BinOnly;

impl Visitor<'_> for BinOnly {
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

/// The next element of a sequence being deserialized: element `i` of what `exp` describes.
pub(crate) fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
    seq: &mut A,
    i: usize,
    exp: &dyn de::Expected,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(i, exp))
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
// exact encoded sizes

/// Encoded size of an unsigned integer.
pub(crate) fn uint_len(v: u64) -> usize {
    match v {
        0..=127 => 1,
        128..=255 => 2,
        256..=65_535 => 3,
        65_536..=4_294_967_295 => 5,
        _ => 9,
    }
}

/// The size of a MessagePack header for a length `n`: the size of the first of `forms`
/// (`(largest length it holds, header size)`, ascending) that holds `n`, else `widest`.
fn header_len(n: usize, forms: &[(usize, usize)], widest: usize) -> usize {
    forms
        .iter()
        .find(|(max, _)| n <= *max)
        .map_or(widest, |&(_, len)| len)
}

/// Encoded size of an array header of `n` elements (fixarray, array 16, array 32).
pub(crate) fn array_hdr_len(n: usize) -> usize {
    header_len(n, &[(15, 1), (65_535, 3)], 5)
}

/// Encoded size of a string of `n` bytes (fixstr, str 8, str 16, str 32).
pub(crate) fn str_len(n: usize) -> usize {
    n + header_len(n, &[(31, 1), (255, 2), (65_535, 3)], 5)
}

/// Encoded size of a byte string of `n` bytes (bin 8, bin 16, bin 32).
pub(crate) fn bin_len(n: usize) -> usize {
    n + header_len(n, &[(255, 2), (65_535, 3)], 5)
}
