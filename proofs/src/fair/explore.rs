//! Parallel, level-synchronous breadth-first exploration into a compact CSR graph.
//!
//! Level `d` holds the states at BFS distance `d`; they have the dense indices
//! `level_starts[d] .. level_starts[d + 1]`, so the frontier is just the states in index
//! order, cut into chunks that worker threads claim with an atomic counter. A worker takes its
//! chunk's states out of the level and drops each one as soon as it is expanded. For
//! each state a worker evaluates the predicates (one bit each), enumerates the actions, computes
//! each successor, canonicalises it (symmetry), fingerprints it and looks the fingerprint up in
//! the sharded table, which hands out the next dense index for a new state. The chunk's edges
//! come back to the coordinating thread, which appends the chunks in order, so the edge array is
//! in source-index order (a CSR layout) although workers finish out of order.

use super::store::{BitVec, ChunkedVec, Edge, FpTable, IdBuild, MAX_STATES, NONE, fingerprint};
use super::{FairClass, FairError, FairModel, Phase, Progress};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A predicate on states, as stored in `Property::condition`.
pub(crate) type Pred<M> = fn(&M, &<M as stateright::Model>::State) -> bool;

/// The explored graph.
pub(crate) struct Explored {
    pub(crate) table: FpTable,
    /// `offsets[v] .. offsets[v + 1]` are the edges of `v`, for `v < expanded`.
    pub(crate) offsets: ChunkedVec<u64>,
    pub(crate) edges: ChunkedVec<Edge>,
    /// One bit vector per predicate, `expanded` bits long.
    pub(crate) labels: Vec<BitVec>,
    pub(crate) n_states: u32,
    /// States `0 .. expanded` have been expanded (their edges and labels are known).
    pub(crate) expanded: u32,
    pub(crate) level_starts: Vec<u32>,
    /// Distinct initial states, in `init_states()` order.
    pub(crate) init_nodes: Vec<u32>,
    /// Interned class id to model class.
    pub(crate) classes: Vec<FairClass>,
    /// Model class to interned class id.
    pub(crate) class_ids: HashMap<u64, u32, IdBuild>,
    /// Per interned class id: whether the class is strongly fair.
    pub(crate) strong: Vec<bool>,
    pub(crate) complete: bool,
    /// Why exploration stopped early, if it did.
    pub(crate) stop: Option<super::StopReason>,
}

impl Explored {
    /// The edges of `v` (empty when `v` was not expanded).
    #[inline]
    pub(crate) fn edge_range(&self, v: u32) -> (u64, u64) {
        if v < self.expanded {
            let i = u64::from(v);
            (self.offsets.get(i), self.offsets.get(i + 1))
        } else {
            (0, 0)
        }
    }

    /// Iterates the edges of `v`.
    #[inline]
    pub(crate) fn out(&self, v: u32) -> impl Iterator<Item = Edge> + '_ {
        let (a, b) = self.edge_range(v);
        (a..b).map(move |i| self.edges.get(i))
    }

    /// Whether `v` has been expanded.
    #[inline]
    pub(crate) fn is_expanded(&self, v: u32) -> bool {
        v < self.expanded
    }

    /// Bytes stored per state (table, offsets, labels, level index), excluding edges.
    pub(crate) fn state_bytes(&self) -> u64 {
        self.table.bytes()
            + self.offsets.bytes()
            + self.labels.iter().map(BitVec::bytes).sum::<u64>()
            + (self.level_starts.capacity() * 4 + self.init_nodes.capacity() * 4) as u64
            + (self.classes.capacity() * 8 + self.class_ids.capacity() * 16) as u64
    }

    /// Bytes of the edge array.
    pub(crate) fn edge_bytes(&self) -> u64 {
        self.edges.bytes()
    }

    /// Depth (BFS distance from an initial state) of `v`.
    pub(crate) fn depth(&self, v: u32) -> u32 {
        (self.level_starts.partition_point(|&s| s <= v) - 1) as u32
    }
}

/// Exploration settings.
pub(crate) struct Cfg<'a, S> {
    pub(crate) threads: usize,
    pub(crate) max_states: Option<u64>,
    pub(crate) symmetry: Option<super::Representative<S>>,
    pub(crate) progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    pub(crate) start: Instant,
    /// Per predicate: `Some(w)` if it is an `always` (`w = false`) or `sometimes` (`w = true`)
    /// condition whose label is only read for "the first state, in BFS order, where it equals
    /// `w`". Such a predicate is no longer evaluated after the level in which it first equals
    /// `w` (its bit is then stored as `!w`), as stateright skips discovered properties; the
    /// first hit in BFS order is unchanged because BFS order is level order. `None` (or a
    /// shorter slice): always evaluated (leads-to and `eventually` conditions).
    pub(crate) decide: &'a [Option<bool>],
    /// Stop (gracefully, incomplete) when the resident set reaches this many bytes.
    pub(crate) memory_limit: Option<u64>,
    /// Stop (gracefully, incomplete) after this much wall-clock time.
    pub(crate) time_limit: Option<Duration>,
}

/// States discovered by one worker during a level, with their indices.
type NewStates<S> = Vec<(u32, S)>;

/// A BFS level cut into the chunks that workers claim. A worker takes its chunk's states out
/// of the mutex and drops each state right after expanding it, on its own thread (the freed
/// memory is reused at once by the next successors, as in stateright's queue), instead of
/// keeping the whole level alive until the next one. Every slot is `Some` once the level is
/// built; `Option` only lets states be placed by index.
struct Level<S> {
    len: usize,
    chunk_size: usize,
    chunks: Vec<Mutex<Vec<Option<S>>>>,
}

impl<S> Level<S> {
    /// An empty level of `len` slots, cut into chunks for `threads` workers.
    fn new(len: usize, threads: usize) -> Self {
        let chunk_size = (len / (threads * 16)).clamp(1, 512);
        let chunks = (0..len.div_ceil(chunk_size))
            .map(|c| {
                let n = chunk_size.min(len - c * chunk_size);
                let mut v = Vec::with_capacity(n);
                v.resize_with(n, || None);
                Mutex::new(v)
            })
            .collect();
        Level {
            len,
            chunk_size,
            chunks,
        }
    }

    /// Puts `s` at position `i` of the level.
    fn place(&mut self, i: usize, s: S) {
        let chunk = self.chunks[i / self.chunk_size]
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        chunk[i % self.chunk_size] = Some(s);
    }

    /// Takes the states of chunk `c` out of the level (in index order).
    fn take(&self, c: usize) -> Vec<Option<S>> {
        std::mem::take(&mut *self.chunks[c].lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What a worker returns for one chunk of the frontier.
struct ChunkOut {
    chunk: usize,
    degrees: Vec<u32>,
    edges: Vec<Edge>,
    masks: Vec<u64>,
}

/// Shared interning of fair classes (a handful of distinct values, so a mutex is fine; workers
/// keep a local cache in front of it).
/// The third component records, per interned class, whether it was ever declared strong.
struct Interner {
    map: Mutex<Interned>,
}

/// Class to id, id to class, id to "strongly fair".
type Interned = (HashMap<u64, u32, IdBuild>, Vec<FairClass>, Vec<bool>);

impl Interner {
    fn intern(&self, f: super::Fairness, cache: &mut HashMap<u64, u32, IdBuild>) -> u32 {
        let c = f.class();
        // The local cache key carries the strength in its own map: a class seen only as weak
        // locally must still reach the shared map once as strong.
        if let Some(&id) = cache.get(&c.0)
            && (id & STRONG_SEEN != 0 || !f.is_strong())
        {
            return id & !STRONG_SEEN;
        }
        let mut g = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let next = g.1.len() as u32;
        let id = *g.0.entry(c.0).or_insert(next);
        if id == next {
            g.1.push(c);
            g.2.push(false);
        }
        if f.is_strong() {
            g.2[id as usize] = true;
        }
        cache.insert(c.0, id | if f.is_strong() { STRONG_SEEN } else { 0 });
        id
    }
}

/// Flag in a worker's class cache: this worker already reported the class as strong.
const STRONG_SEEN: u32 = 1 << 31;

/// Rate-limited exploration progress, shared by the full and the safety-only exploration: the
/// hook is called at most every 200 ms, or at once when `force` (the end of a level).
pub(crate) struct Reporter<'a> {
    hook: Option<&'a (dyn Fn(&Progress) + Sync)>,
    start: Instant,
    last: Mutex<Instant>,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(hook: Option<&'a (dyn Fn(&Progress) + Sync)>, start: Instant) -> Self {
        Reporter {
            hook,
            start,
            last: Mutex::new(Instant::now()),
        }
    }

    /// Reports `states` stored, `edges` (or generated transitions), the current `depth` and
    /// `frontier` size, if a hook is set and it is time to.
    pub(crate) fn report(&self, states: u64, edges: u64, depth: u32, frontier: u64, force: bool) {
        let Some(p) = self.hook else { return };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if force || last.elapsed() >= Duration::from_millis(200) {
            *last = Instant::now();
            p(&Progress {
                phase: Phase::Explore,
                states,
                edges,
                depth,
                frontier,
                elapsed: self.start.elapsed(),
            });
        }
    }
}

/// Canonicalises (if symmetry is on) and fingerprints a state.
#[inline]
pub(crate) fn canonical_fp<S: Hash>(s: S, symmetry: Option<super::Representative<S>>) -> (u64, S) {
    match symmetry {
        Some(rep) => {
            let r = rep(&s);
            (fingerprint(&r), r)
        }
        None => (fingerprint(&s), s),
    }
}

/// Explores the reachable graph of `model`.
pub(crate) fn explore<M>(
    model: &M,
    preds: &[Pred<M>],
    cfg: &Cfg<'_, M::State>,
) -> Result<Explored, FairError>
where
    M: FairModel + Sync,
    M::State: Hash + Eq + Clone + std::fmt::Debug + Send + Sync,
    M::Action: Clone + std::fmt::Debug + Send + Sync,
{
    let threads = cfg.threads.max(1);
    let limit = cfg.max_states.unwrap_or(MAX_STATES).min(MAX_STATES);
    let table = FpTable::new();
    let interner = Interner {
        map: Mutex::new((HashMap::default(), Vec::new(), Vec::new())),
    };
    let mut offsets: ChunkedVec<u64> = ChunkedVec::new();
    offsets.push(0);
    let mut edges: ChunkedVec<Edge> = ChunkedVec::new();
    let mut labels: Vec<BitVec> = (0..preds.len()).map(|_| BitVec::default()).collect();

    // Level 0: the distinct initial states, in order.
    let mut init_states = Vec::new();
    let mut init_nodes = Vec::new();
    for s in model.init_states() {
        let (fp, s) = canonical_fp(s, cfg.symmetry);
        let (idx, new) = table.get_or_insert(fp);
        if new {
            init_states.push(s);
            init_nodes.push(idx);
        }
    }
    let mut frontier: Level<M::State> = Level::new(init_states.len(), threads);
    for (i, s) in init_states.into_iter().enumerate() {
        frontier.place(i, s);
    }
    let mut level_starts = vec![0u32, frontier.len as u32];
    let mut expanded: u32 = 0;
    let mut complete = true;
    let edge_count = AtomicU64::new(0);
    let reporter = Reporter::new(cfg.progress, cfg.start);
    let report = |depth: u32, frontier_len: usize, force: bool| {
        let edges = edge_count.load(Ordering::Relaxed);
        reporter.report(table.len(), edges, depth, frontier_len as u64, force);
    };

    // Predicates that can stop being evaluated, and the bit value that means "hit" for each.
    let mut decidable = 0u64;
    let mut hit_value = 0u64;
    for (i, d) in cfg.decide.iter().enumerate().take(preds.len()) {
        if let Some(w) = d {
            decidable |= 1 << i;
            if *w {
                hit_value |= 1 << i;
            }
        }
    }
    // Predicates already decided (hit in an earlier level): not evaluated any more.
    let mut skip = 0u64;
    let mut stop_reason: Option<super::StopReason> = None;
    // When the limits were last checked (across levels, so that short levels are covered).
    let now = Instant::now();
    let last_check = Mutex::new(now.checked_sub(Duration::from_secs(1)).unwrap_or(now));

    let mut depth: u32 = 0;
    while frontier.len > 0 {
        let base = expanded;
        let level_end = base + frontier.len as u32;
        let n_chunks = frontier.chunks.len();
        let next_chunk = AtomicUsize::new(0);
        let stop = AtomicBool::new(table.len() >= limit);
        let reason: Mutex<Option<super::StopReason>> = Mutex::new(None);
        let check_limits = || {
            if cfg.memory_limit.is_none() && cfg.time_limit.is_none() {
                return;
            }
            let mut last = last_check.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() < Duration::from_millis(250) {
                return;
            }
            *last = Instant::now();
            let why = if cfg
                .memory_limit
                .is_some_and(|m| super::safety::rss_bytes().is_some_and(|r| r >= m))
            {
                Some(super::StopReason::MemoryLimit)
            } else if cfg.time_limit.is_some_and(|t| cfg.start.elapsed() >= t) {
                Some(super::StopReason::TimeLimit)
            } else {
                None
            };
            if let Some(w) = why {
                reason
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(w);
                stop.store(true, Ordering::Relaxed);
            }
        };
        let outs: Mutex<Vec<ChunkOut>> = Mutex::new(Vec::new());
        let news: Mutex<Vec<NewStates<M::State>>> = Mutex::new(Vec::new());
        let frontier_ref = &frontier;

        std::thread::scope(|scope| {
            let work = || {
                let mut cache: HashMap<u64, u32, IdBuild> = HashMap::default();
                let mut local_outs = Vec::new();
                let mut local_new: Vec<(u32, M::State)> = Vec::new();
                let mut actions: Vec<M::Action> = Vec::new();
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let c = next_chunk.fetch_add(1, Ordering::Relaxed);
                    if c >= n_chunks {
                        break;
                    }
                    let states = frontier_ref.take(c);
                    let n = states.len();
                    let mut out = ChunkOut {
                        chunk: c,
                        degrees: Vec::with_capacity(n),
                        edges: Vec::with_capacity(n * 8),
                        masks: Vec::with_capacity(n),
                    };
                    // Each state is dropped at the end of its iteration, once expanded.
                    for s in states.into_iter().flatten() {
                        let s = &s;
                        // Decided predicates keep their "no hit" value.
                        let mut mask = skip & !hit_value;
                        for (i, p) in preds.iter().enumerate() {
                            if skip >> i & 1 == 0 && p(model, s) {
                                mask |= 1 << i;
                            }
                        }
                        out.masks.push(mask);
                        let first = out.edges.len();
                        model.actions(s, &mut actions);
                        for a in actions.drain(..) {
                            let class = match model.fairness(s, &a) {
                                Some(f) => interner.intern(f, &mut cache),
                                None => NONE,
                            };
                            let Some(t) = model.next_state(s, a) else {
                                continue;
                            };
                            let (fp, t) = canonical_fp(t, cfg.symmetry);
                            let (target, new) = table.get_or_insert(fp);
                            if new {
                                if u64::from(target) + 1 >= limit {
                                    stop.store(true, Ordering::Relaxed);
                                }
                                local_new.push((target, t));
                            }
                            let e = Edge { target, class };
                            if !out.edges[first..].contains(&e) {
                                out.edges.push(e);
                            }
                        }
                        out.degrees.push((out.edges.len() - first) as u32);
                    }
                    edge_count.fetch_add(out.edges.len() as u64, Ordering::Relaxed);
                    local_outs.push(out);
                    check_limits();
                    report(depth, frontier_ref.len, false);
                }
                outs.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(local_outs);
                news.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(local_new);
            };
            for _ in 1..threads {
                scope.spawn(work);
            }
            work();
        });

        if table.len() >= MAX_STATES {
            return Err(FairError::TooManyStates { limit: MAX_STATES });
        }

        // Append the chunks in order (the claimed chunks are always a prefix).
        let mut outs = outs.into_inner().unwrap_or_else(|e| e.into_inner());
        outs.sort_unstable_by_key(|o| o.chunk);
        let mut level_hits = 0u64;
        for o in &outs {
            for &m in &o.masks {
                level_hits |= !(m ^ hit_value);
            }
            let mut e = 0usize;
            for (k, &d) in o.degrees.iter().enumerate() {
                let d = d as usize;
                edges.extend_from_slice(&o.edges[e..e + d]);
                e += d;
                offsets.push(edges.len());
                for (i, l) in labels.iter_mut().enumerate() {
                    l.push(o.masks[k] >> i & 1 == 1);
                }
            }
            expanded += o.degrees.len() as u32;
        }
        drop(outs);
        skip |= level_hits & decidable;
        if let Some(r) = reason.into_inner().unwrap_or_else(|e| e.into_inner()) {
            stop_reason.get_or_insert(r);
        }

        // The next frontier: states with indices level_end .. table.len(), placed by index.
        let total = table.len() as u32;
        let mut next = Level::new((total - level_end) as usize, threads);
        for v in news.into_inner().unwrap_or_else(|e| e.into_inner()) {
            for (idx, s) in v {
                next.place((idx - level_end) as usize, s);
            }
        }
        if expanded < level_end {
            // Stopped early (max_states or a limit): states from `expanded` on stay unexpanded.
            complete = false;
            stop_reason.get_or_insert(super::StopReason::MaxStates);
            level_starts.push(total);
            report(depth, 0, true);
            break;
        }
        frontier = next;
        if frontier.len == 0 {
            report(depth, 0, true);
            break;
        }
        depth += 1;
        level_starts.push(total);
        report(depth, frontier.len, true);
        if table.len() >= limit {
            complete = false;
            stop_reason.get_or_insert(super::StopReason::MaxStates);
            break;
        }
        if stop_reason.is_some() {
            complete = false;
            break;
        }
    }
    // Drop empty trailing levels.
    while level_starts.len() > 1
        && level_starts[level_starts.len() - 1] == level_starts[level_starts.len() - 2]
    {
        level_starts.pop();
    }

    let (class_ids, classes, strong) = interner.map.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Explored {
        n_states: table.len() as u32,
        table,
        offsets,
        edges,
        labels,
        expanded,
        level_starts,
        init_nodes,
        classes,
        class_ids,
        strong,
        complete,
        stop: stop_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fair::examples::Rumor;
    use stateright::{Checker, Model};

    #[test]
    fn a_level_hands_out_every_placed_state_once_in_index_order() {
        for (len, threads) in [(0, 1), (1, 1), (7, 2), (1000, 1), (20_000, 2), (70_001, 2)] {
            let mut level = Level::new(len, threads);
            // Placed out of order, as workers discover them.
            for i in (0..len).rev() {
                level.place(i, i);
            }
            let got: Vec<usize> = (0..level.chunks.len())
                .flat_map(|c| level.take(c))
                .map(|s| s.expect("every slot is filled"))
                .collect();
            assert_eq!(got, (0..len).collect::<Vec<_>>(), "len {len}");
            assert!(
                (0..level.chunks.len()).all(|c| level.take(c).is_empty()),
                "a taken chunk is empty"
            );
        }
    }

    #[test]
    fn exploration_with_states_dropped_after_expansion_finds_every_state_and_edge() {
        let m = Rumor {
            n: 3,
            cap: 2,
            lossy: true,
            strong: false,
        };
        let expected = m.clone().checker().spawn_bfs().join().unique_state_count() as u32;
        let mut edge_counts = Vec::new();
        for threads in [1, 2] {
            let cfg = Cfg {
                threads,
                max_states: None,
                symmetry: None,
                progress: None,
                start: Instant::now(),
                decide: &[],
                memory_limit: None,
                time_limit: None,
            };
            let g = explore(&m, &[], &cfg).expect("explore");
            assert!(g.complete);
            assert_eq!(g.n_states, expected, "threads {threads}");
            assert_eq!(g.expanded, expected, "every state expanded");
            edge_counts.push(g.edges.len());
        }
        assert_eq!(edge_counts[0], edge_counts[1]);
    }
}
