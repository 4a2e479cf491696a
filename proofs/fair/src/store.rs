//! Compact storage: the sharded fingerprint table, a block-allocated vector and a bit vector.
//!
//! Nothing in here knows about models; it stores integers only.

use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Number of high fingerprint bits that select a shard.
const SHARD_BITS: u32 = 6;
/// Number of shards of the fingerprint table.
const SHARDS: usize = 1 << SHARD_BITS;
/// Initial slot count of one shard (a power of two).
const INITIAL_SLOTS: usize = 256;

/// The sentinel "no index" value (unvisited, no class, ...).
pub(crate) const NONE: u32 = u32::MAX;
/// The largest number of states the engine indexes (indices are `u32`; the margin up to
/// `u32::MAX` absorbs the states discovered by chunks in flight when the limit is hit).
pub(crate) const MAX_STATES: u64 = 4_000_000_000;

/// The fixed-seed hasher behind fingerprints (aHash, as in stateright, with our own seeds).
static FP_HASHER: std::sync::LazyLock<ahash::RandomState> = std::sync::LazyLock::new(|| {
    ahash::RandomState::with_seeds(
        0x243F_6A88_85A3_08D3,
        0x1319_8A2E_0370_7344,
        0xA409_3822_299F_31D0,
        0x082E_FA98_EC4E_6C89,
    )
});

/// A 64-bit fingerprint of a value, never zero (zero marks an empty table slot).
///
/// aHash with fixed seeds: deterministic for a given build (the algorithm may differ between
/// CPUs with and without AES instructions, so fingerprints are not portable across machines;
/// nothing is persisted).
#[inline]
pub(crate) fn fingerprint<T: Hash + ?Sized>(value: &T) -> u64 {
    let fp = FP_HASHER.hash_one(value);
    if fp == 0 { 1 } else { fp }
}

/// A hasher for keys that are already hashes (fingerprints, class ids): identity.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `BuildHasher` for [`IdHasher`].
pub(crate) type IdBuild = std::hash::BuildHasherDefault<IdHasher>;

/// One shard: open addressing with linear probing. A slot is `[fp low, fp high, index]`
/// (12 bytes, fingerprint and index in the same cache line, so a lookup that finds its key
/// costs one cache miss, not two as with separate key and value arrays).
struct Shard {
    slots: Vec<[u32; 3]>,
    len: usize,
}

/// The fingerprint stored in a slot (0 = empty).
#[inline]
fn slot_fp(s: &[u32; 3]) -> u64 {
    u64::from(s[0]) | u64::from(s[1]) << 32
}

impl Shard {
    fn new() -> Self {
        Shard {
            slots: vec![[0; 3]; INITIAL_SLOTS],
            len: 0,
        }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    #[inline]
    fn get(&self, fp: u64) -> Option<u32> {
        let mask = self.mask();
        let mut i = (fp as usize) & mask;
        loop {
            let s = &self.slots[i];
            let k = slot_fp(s);
            if k == fp {
                return Some(s[2]);
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let new_len = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![[0; 3]; new_len]);
        let mask = new_len - 1;
        for s in old {
            let k = slot_fp(&s);
            if k == 0 {
                continue;
            }
            let mut i = (k as usize) & mask;
            while slot_fp(&self.slots[i]) != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Returns the index of `fp`, inserting it with a fresh index from `next` if absent.
    #[inline]
    fn get_or_insert(&mut self, fp: u64, next: &AtomicU32) -> (u32, bool) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.mask();
        let mut i = (fp as usize) & mask;
        loop {
            let s = &mut self.slots[i];
            let k = slot_fp(s);
            if k == fp {
                return (s[2], false);
            }
            if k == 0 {
                let idx = next.fetch_add(1, Ordering::Relaxed);
                *s = [fp as u32, (fp >> 32) as u32, idx];
                self.len += 1;
                return (idx, true);
            }
            i = (i + 1) & mask;
        }
    }

    fn bytes(&self) -> u64 {
        (self.slots.capacity() * 12) as u64
    }
}

/// A concurrent map from fingerprint to dense `u32` state index, sharded by the fingerprint's
/// high bits, each shard behind its own mutex.
pub(crate) struct FpTable {
    shards: Vec<Mutex<Shard>>,
    next: AtomicU32,
}

impl FpTable {
    /// An empty table.
    pub(crate) fn new() -> Self {
        FpTable {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
            next: AtomicU32::new(0),
        }
    }

    #[inline]
    fn shard(&self, fp: u64) -> std::sync::MutexGuard<'_, Shard> {
        let s = (fp >> (64 - SHARD_BITS)) as usize;
        self.shards[s].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The index of `fp`, inserting it (with the next dense index) if it is new. The flag says
    /// whether it was new.
    #[inline]
    pub(crate) fn get_or_insert(&self, fp: u64) -> (u32, bool) {
        self.shard(fp).get_or_insert(fp, &self.next)
    }

    /// The index of `fp`, if stored.
    pub(crate) fn get(&self, fp: u64) -> Option<u32> {
        self.shard(fp).get(fp)
    }

    /// The number of indices handed out so far.
    pub(crate) fn len(&self) -> u64 {
        u64::from(self.next.load(Ordering::Relaxed))
    }

    /// Bytes allocated by the table.
    pub(crate) fn bytes(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).bytes())
            .sum::<u64>()
            + (self.shards.capacity() * std::mem::size_of::<Mutex<Shard>>()) as u64
    }
}

/// log2 of the block length of [`ChunkedVec`].
const BLOCK_BITS: u32 = 16;
const BLOCK: usize = 1 << BLOCK_BITS;

/// A vector stored in fixed-size blocks: growing it never copies (no 3x peak on reallocation)
/// and wastes at most one block.
pub(crate) struct ChunkedVec<T> {
    blocks: Vec<Vec<T>>,
    len: u64,
}

impl<T: Copy> ChunkedVec<T> {
    /// An empty vector.
    pub(crate) fn new() -> Self {
        ChunkedVec {
            blocks: Vec::new(),
            len: 0,
        }
    }

    /// Appends one element.
    #[inline]
    pub(crate) fn push(&mut self, x: T) {
        if self.blocks.last().is_none_or(|b| b.len() == BLOCK) {
            self.blocks.push(Vec::with_capacity(BLOCK));
        }
        if let Some(b) = self.blocks.last_mut() {
            b.push(x);
        }
        self.len += 1;
    }

    /// Appends a slice.
    pub(crate) fn extend_from_slice(&mut self, mut xs: &[T]) {
        while !xs.is_empty() {
            if self.blocks.last().is_none_or(|b| b.len() == BLOCK) {
                self.blocks.push(Vec::with_capacity(BLOCK));
            }
            if let Some(b) = self.blocks.last_mut() {
                let k = (BLOCK - b.len()).min(xs.len());
                b.extend_from_slice(&xs[..k]);
                self.len += k as u64;
                xs = &xs[k..];
            }
        }
    }

    /// The element at `i`.
    #[inline]
    pub(crate) fn get(&self, i: u64) -> T {
        self.blocks[(i >> BLOCK_BITS) as usize][(i as usize) & (BLOCK - 1)]
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Bytes allocated.
    pub(crate) fn bytes(&self) -> u64 {
        (self.blocks.len() * BLOCK * std::mem::size_of::<T>()
            + self.blocks.capacity() * std::mem::size_of::<Vec<T>>()) as u64
    }
}

/// A growable bit vector.
#[derive(Clone, Default)]
pub(crate) struct BitVec {
    words: Vec<u64>,
    len: u64,
}

impl BitVec {
    /// `n` zero bits.
    pub(crate) fn zeros(n: usize) -> Self {
        BitVec {
            words: vec![0; n.div_ceil(64)],
            len: n as u64,
        }
    }

    /// Appends a bit.
    #[inline]
    pub(crate) fn push(&mut self, b: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        if b {
            let i = self.len;
            self.words[(i / 64) as usize] |= 1 << (i % 64);
        }
        self.len += 1;
    }

    /// The bit at `i`; bits beyond the end read as `false`.
    #[inline]
    pub(crate) fn get(&self, i: u32) -> bool {
        let i = u64::from(i);
        i < self.len && (self.words[(i / 64) as usize] >> (i % 64)) & 1 == 1
    }

    /// Sets the bit at `i` (which must be in range).
    #[inline]
    pub(crate) fn set(&mut self, i: u32) {
        self.words[(i / 64) as usize] |= 1 << (i % 64);
    }

    /// Clears the bit at `i` (which must be in range).
    #[inline]
    pub(crate) fn clear(&mut self, i: u32) {
        self.words[(i / 64) as usize] &= !(1 << (i % 64));
    }

    /// Bytes allocated.
    pub(crate) fn bytes(&self) -> u64 {
        (self.words.capacity() * 8) as u64
    }
}

/// One stored edge: target state index and interned fair class ([`NONE`] = not fair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    pub(crate) target: u32,
    pub(crate) class: u32,
}
