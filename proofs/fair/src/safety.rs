//! Safety-only exhaustive exploration with a compact visited set and a compact frontier.
//!
//! The liveness engine ([`crate::explore`]) stores every edge and keeps the BFS frontier as full
//! Rust states; on the large gossip configurations the frontier (millions of states of a few
//! hundred heap bytes each) is what runs out of memory. `always` and `sometimes` properties need
//! neither edges nor full states, so this mode stores per state only
//!
//! * its fingerprint and dense index in the sharded table ([`FpTable`], 12 bytes per slot,
//!   load at most 3/4: 16-32 bytes per state), and
//! * the index of the state it was first reached from (4 bytes per state), so that a violation
//!   has a shortest trace, replayed with `next_state` like every other trace of the engine.
//!
//! The frontier is kept **serialised and compressed**: each state is encoded with MessagePack
//! (`rmp-serde`, every field positional), a worker appends `(index, length, bytes)` records to a
//! 64 KiB buffer, and a full buffer is LZ4-compressed into a block. Blocks of the level being
//! expanded are freed as soon as a worker has decoded them. Level-synchronous BFS, so every
//! trace is shortest; with more than one thread the *path* to a violating state may differ
//! between runs (which predecessor wins the insertion race), its length does not. The state
//! reported is deterministic: among the violating states of the shallowest level, the one
//! with the smallest fingerprint.
//!
//! Optional bounds stop the run gracefully (reported incomplete, like `max_states`): a memory
//! limit on the process's resident set and a wall-clock limit.

use crate::explore::{Pred, Reporter, canonical_fp};
use crate::limits::{Limits, Stop, StopReason};
use crate::store::{FpTable, MAX_STATES, NONE};
use crate::{FairError, FairModel, Progress, Representative, Trace};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Uncompressed size at which a worker compresses its output buffer into a block.
const BLOCK_BYTES: usize = 64 * 1024;

/// Settings of a safety-only run.
pub(crate) struct SafetyCfg<'a, S> {
    pub(crate) threads: usize,
    pub(crate) max_states: Option<u64>,
    pub(crate) symmetry: Option<Representative<S>>,
    pub(crate) progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    pub(crate) start: Instant,
    pub(crate) memory_limit: Option<u64>,
    pub(crate) time_limit: Option<Duration>,
}

/// The outcome of a safety-only exploration.
pub(crate) struct SafetyOut {
    pub(crate) table: FpTable,
    pub(crate) parents: Vec<u32>,
    pub(crate) n_states: u64,
    pub(crate) generated: u64,
    /// Deepest level expanded (initial states are level 0).
    pub(crate) max_depth: u32,
    pub(crate) complete: bool,
    pub(crate) stop: Option<StopReason>,
    /// Per predicate: the index of the first state (shallowest level, then smallest
    /// fingerprint) where the predicate has its wanted value.
    pub(crate) hits: Vec<Option<u32>>,
    /// Largest compressed size of one frontier level, in bytes.
    pub(crate) peak_frontier_bytes: u64,
    /// Largest number of states in one frontier level.
    pub(crate) peak_frontier_states: u64,
    /// Uncompressed encoded bytes / compressed bytes over the whole run.
    pub(crate) encoded_bytes: u64,
    pub(crate) compressed_bytes: u64,
}

impl SafetyOut {
    /// Bytes of the per-state structures (table and parent array).
    pub(crate) fn state_bytes(&self) -> u64 {
        self.table.bytes() + self.parents.capacity() as u64 * 4
    }
}

fn encode_record<S: Serialize>(out: &mut Vec<u8>, idx: u32, s: &S) -> Result<(), FairError> {
    out.extend_from_slice(&idx.to_le_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    rmp_serde::encode::write(out, s)
        .map_err(|e| FairError::Encode(format!("encoding a state: {e}")))?;
    let len = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

fn decode_block<S: DeserializeOwned>(block: &[u8]) -> Result<Vec<(u32, S)>, FairError> {
    let raw = lz4_flex::block::decompress_size_prepended(block)
        .map_err(|e| FairError::Encode(format!("decompressing a frontier block: {e}")))?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < raw.len() {
        let word = |i: usize| -> u32 {
            let mut b = [0u8; 4];
            b.copy_from_slice(&raw[i..i + 4]);
            u32::from_le_bytes(b)
        };
        let idx = word(at);
        let len = word(at + 4) as usize;
        let s = rmp_serde::from_slice(&raw[at + 8..at + 8 + len])
            .map_err(|e| FairError::Encode(format!("decoding a state: {e}")))?;
        out.push((idx, s));
        at += 8 + len;
    }
    Ok(out)
}

/// Explores every reachable state, evaluating `preds[i]` at each and recording where it first
/// equals `want[i]` (`None`: not evaluated).
pub(crate) fn explore_safety<M>(
    model: &M,
    preds: &[Pred<M>],
    want: &[Option<bool>],
    cfg: &SafetyCfg<'_, M::State>,
) -> Result<SafetyOut, FairError>
where
    M: FairModel + Sync,
    M::State: Hash + Eq + Clone + std::fmt::Debug + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + std::fmt::Debug + Send + Sync,
{
    let threads = cfg.threads.max(1);
    let limit = cfg.max_states.unwrap_or(MAX_STATES).min(MAX_STATES);
    let table = FpTable::new();
    let mut parents: Vec<u32> = Vec::new();
    let mut hits: Vec<Option<u32>> = vec![None; preds.len()];
    let mut encoded_bytes = 0u64;
    let mut compressed_bytes = 0u64;

    // Level 0.
    let mut buf = Vec::new();
    let mut frontier_states = 0u64;
    for s in model.init_states() {
        let (fp, s) = canonical_fp(s, cfg.symmetry);
        let (idx, new) = table.get_or_insert(fp);
        if new {
            parents.push(NONE);
            encode_record(&mut buf, idx, &s)?;
            frontier_states += 1;
        }
    }
    encoded_bytes += buf.len() as u64;
    let first = lz4_flex::block::compress_prepend_size(&buf);
    compressed_bytes += first.len() as u64;
    let mut frontier: Vec<Vec<u8>> = vec![first];
    let mut peak_frontier_bytes = frontier.iter().map(|b| b.len() as u64).sum::<u64>();
    let mut peak_frontier_states = frontier_states;

    let generated = AtomicU64::new(0);
    let reporter = Reporter::new(cfg.progress, cfg.start);
    let report = |depth: u32, frontier_len: u64, force: bool| {
        let edges = generated.load(Ordering::Relaxed);
        reporter.report(table.len(), edges, depth, frontier_len, force);
    };

    let mut depth: u32 = 0;
    let mut max_depth: u32 = 0;
    let mut complete = true;
    let mut stop_reason: Option<StopReason> = None;
    // Stop early once every evaluated property has a discovery (as stateright does); a run
    // without evaluated properties explores everything.
    let all_decided = |hits: &[Option<u32>]| {
        want.iter().any(Option::is_some)
            && want
                .iter()
                .zip(hits)
                .all(|(w, h)| w.is_none() || h.is_some())
    };
    while frontier_states > 0 {
        max_depth = depth;
        let n_blocks = frontier.len();
        let blocks: Vec<Mutex<Option<Vec<u8>>>> =
            frontier.drain(..).map(|b| Mutex::new(Some(b))).collect();
        let next_block = AtomicUsize::new(0);
        let stop = Stop::new(false);
        let next: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
        let parent_pairs: Mutex<Vec<Vec<(u32, u32)>>> = Mutex::new(Vec::new());
        let level_hits: Mutex<Vec<Option<(u64, u32)>>> = Mutex::new(vec![None; preds.len()]);
        let error: Mutex<Option<FairError>> = Mutex::new(None);
        let sizes = Mutex::new((0u64, 0u64, 0u64)); // encoded, compressed, states
        let expanded_blocks = AtomicUsize::new(0);
        let limits = Limits::new(cfg.memory_limit, cfg.time_limit, cfg.start, Instant::now());
        let check_limits = || limits.look(&stop, || table.len() >= limit);
        let frontier_len = frontier_states;
        // A property decided at an earlier level is not evaluated again (its hit is final).
        let want_now: Vec<Option<bool>> = want
            .iter()
            .zip(&hits)
            .map(|(w, h)| if h.is_some() { None } else { *w })
            .collect();
        let want_now = &want_now;

        std::thread::scope(|scope| {
            let work = || {
                let mut actions: Vec<M::Action> = Vec::new();
                let mut out: Vec<u8> = Vec::with_capacity(BLOCK_BYTES + 4096);
                let mut pairs: Vec<(u32, u32)> = Vec::new();
                let mut my_hits: Vec<Option<(u64, u32)>> = vec![None; preds.len()];
                let (mut enc, mut comp, mut states) = (0u64, 0u64, 0u64);
                let mut local_generated = 0u64;
                let flush = |out: &mut Vec<u8>, enc: &mut u64, comp: &mut u64| {
                    if out.is_empty() {
                        return;
                    }
                    let block = lz4_flex::block::compress_prepend_size(out);
                    *enc += out.len() as u64;
                    *comp += block.len() as u64;
                    out.clear();
                    next.lock().unwrap_or_else(|e| e.into_inner()).push(block);
                };
                'blocks: loop {
                    if stop.is_raised() {
                        break;
                    }
                    let b = next_block.fetch_add(1, Ordering::Relaxed);
                    if b >= n_blocks {
                        break;
                    }
                    let Some(bytes) = blocks[b].lock().unwrap_or_else(|e| e.into_inner()).take()
                    else {
                        continue;
                    };
                    let decoded = match decode_block::<M::State>(&bytes) {
                        Ok(d) => d,
                        Err(e) => {
                            error
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                            stop.raise();
                            break;
                        }
                    };
                    drop(bytes);
                    for (idx, s) in decoded {
                        for (i, p) in preds.iter().enumerate() {
                            if let Some(w) = want_now[i]
                                && p(model, &s) == w
                            {
                                let fp = crate::store::fingerprint(&s);
                                if my_hits[i].is_none_or(|(f, _)| fp < f) {
                                    my_hits[i] = Some((fp, idx));
                                }
                            }
                        }
                        model.actions(&s, &mut actions);
                        for a in actions.drain(..) {
                            let Some(t) = model.next_state(&s, a) else {
                                continue;
                            };
                            local_generated += 1;
                            let (tfp, t) = canonical_fp(t, cfg.symmetry);
                            let (target, new) = table.get_or_insert(tfp);
                            if new {
                                pairs.push((target, idx));
                                states += 1;
                                if let Err(e) = encode_record(&mut out, target, &t) {
                                    error
                                        .lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .get_or_insert(e);
                                    stop.raise();
                                    break 'blocks;
                                }
                                if out.len() >= BLOCK_BYTES {
                                    flush(&mut out, &mut enc, &mut comp);
                                }
                            }
                        }
                    }
                    generated.fetch_add(local_generated, Ordering::Relaxed);
                    local_generated = 0;
                    expanded_blocks.fetch_add(1, Ordering::Relaxed);
                    check_limits();
                    report(depth, frontier_len, false);
                }
                flush(&mut out, &mut enc, &mut comp);
                generated.fetch_add(local_generated, Ordering::Relaxed);
                parent_pairs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(pairs);
                let mut lh = level_hits.lock().unwrap_or_else(|e| e.into_inner());
                for (g, m) in lh.iter_mut().zip(my_hits) {
                    if let Some((f, i)) = m
                        && g.is_none_or(|(gf, _)| f < gf)
                    {
                        *g = Some((f, i));
                    }
                }
                let mut z = sizes.lock().unwrap_or_else(|e| e.into_inner());
                z.0 += enc;
                z.1 += comp;
                z.2 += states;
            };
            for _ in 1..threads {
                scope.spawn(work);
            }
            work();
        });

        if let Some(e) = error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        // Parents of the new states.
        parents.resize(table.len() as usize, NONE);
        for v in parent_pairs.into_inner().unwrap_or_else(|e| e.into_inner()) {
            for (child, parent) in v {
                parents[child as usize] = parent;
            }
        }
        // A hit at this level is at the shallowest depth it can be: keep the first level's.
        for (h, l) in hits
            .iter_mut()
            .zip(level_hits.into_inner().unwrap_or_else(|e| e.into_inner()))
        {
            if h.is_none() {
                *h = l.map(|(_, i)| i);
            }
        }
        let (enc, comp, states) = sizes.into_inner().unwrap_or_else(|e| e.into_inner());
        encoded_bytes += enc;
        compressed_bytes += comp;
        if expanded_blocks.load(Ordering::Relaxed) < n_blocks {
            complete = false;
            stop_reason = stop.into_reason();
            report(depth, 0, true);
            break;
        }
        frontier = next.into_inner().unwrap_or_else(|e| e.into_inner());
        frontier_states = states;
        peak_frontier_bytes =
            peak_frontier_bytes.max(frontier.iter().map(|b| b.len() as u64).sum::<u64>());
        peak_frontier_states = peak_frontier_states.max(states);
        if all_decided(&hits) {
            // Every evaluated property is decided (violated or found): nothing left to learn.
            break;
        }
        if frontier_states > 0 {
            depth += 1;
        }
        report(depth, frontier_states, true);
        if table.len() >= limit {
            complete = false;
            stop_reason = Some(StopReason::MaxStates);
            break;
        }
        if let Some(w) = stop.into_reason() {
            complete = false;
            stop_reason = Some(w);
            break;
        }
    }
    if table.len() >= MAX_STATES {
        return Err(FairError::TooManyStates { limit: MAX_STATES });
    }
    Ok(SafetyOut {
        n_states: table.len(),
        table,
        parents,
        generated: generated.load(Ordering::Relaxed),
        max_depth,
        complete,
        stop: stop_reason,
        hits,
        peak_frontier_bytes,
        peak_frontier_states,
        encoded_bytes,
        compressed_bytes,
    })
}

/// The shortest trace to state `v`, replayed from an initial state with `next_state`.
pub(crate) fn safety_trace<M>(
    model: &M,
    out: &SafetyOut,
    symmetry: Option<Representative<M::State>>,
    v: u32,
) -> Result<Trace<M::State, M::Action>, FairError>
where
    M: FairModel,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let mut path = vec![v];
    let mut cur = v;
    while out.parents[cur as usize] != NONE {
        cur = out.parents[cur as usize];
        path.push(cur);
        if path.len() > out.parents.len() {
            return Err(FairError::Replay("the parent chain has a cycle".into()));
        }
    }
    path.reverse();
    let index_of = |s: &M::State| -> Option<u32> {
        let (fp, _) = canonical_fp(s.clone(), symmetry);
        out.table.get(fp)
    };
    crate::analysis::replay_indices(model, &index_of, path[0], &path[1..], &|_, _, _| true)
}
