//! Parallel, level-synchronous breadth-first exploration into a compact CSR graph.
//!
//! Level `d` holds the states at BFS distance `d`; they have the dense indices
//! `level_starts[d] .. level_starts[d + 1]`. The states of a level are kept in one list per
//! worker (the states that worker discovered), cut into chunks that worker threads claim, each
//! worker from its own list first (so a state is usually expanded and freed by the thread that
//! allocated it). A worker takes its chunk's states out of the level and drops each one as soon
//! as it is expanded. For each state a worker evaluates the predicates (one bit each),
//! enumerates the actions, computes each successor, canonicalises it (symmetry), fingerprints
//! it and looks the fingerprint up in the sharded table, which hands out the next dense index
//! for a new state. The chunks' edges come back to the coordinating thread, which appends them
//! in index order (so the edge array is a CSR layout although workers finish out of order and
//! a level's indices interleave across workers), while the other workers already expand the
//! next level.

use crate::limits::{Limits, Stop, StopReason};
use crate::store::{BitVec, ChunkedVec, Edge, FpTable, IdBuild, MAX_STATES, NONE, fingerprint};
use crate::{FairClass, FairError, FairModel, Phase, Progress};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    pub(crate) stop: Option<StopReason>,
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
    pub(crate) symmetry: Option<crate::Representative<S>>,
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

/// Chunk length for a level of `len` states shared by `threads` workers: about 16 chunks per
/// worker on small levels, at most [`MAX_CHUNK`] states.
fn chunk_size(len: usize, threads: usize) -> usize {
    (len / (threads * 16)).clamp(1, MAX_CHUNK)
}

/// The longest chunk of a level (and the length of the chunks a worker collects its newly
/// discovered states into).
const MAX_CHUNK: usize = 512;

/// States discovered by one worker during a level, with their indices (ascending: a worker's
/// insertions take indices from the table's counter in program order), already cut into chunks
/// of at most [`MAX_CHUNK`] states.
type NewStates<S> = Vec<Vec<(u32, S)>>;

/// A BFS level: the states each worker discovered during the previous level, one list per
/// worker, cut into chunks that the workers claim. Worker `w` claims the chunks of list `w`
/// first and then helps with the other lists, so most states are expanded (and then dropped)
/// by the thread that allocated them: a state freed by another thread goes back to the
/// allocating thread's malloc arena under that arena's lock, and the freeing thread's next
/// allocations miss its own cache. The chunks of a list are contiguous runs of the list, so
/// each chunk's indices are ascending; the level's indices interleave across lists, and the
/// merge ([`merge_level`]) puts the edges back into index order.
struct Level<S> {
    len: usize,
    lists: Vec<WorkList<S>>,
}

/// One worker's discoveries: chunks and a claim counter.
struct WorkList<S> {
    chunks: Vec<Mutex<Vec<(u32, S)>>>,
    next: AtomicUsize,
}

impl<S> Level<S> {
    /// A level made of the per-worker lists `lists` (each a sequence of chunks with ascending
    /// indices, in list order), for `threads` workers. Small levels are re-cut into shorter
    /// chunks so that every worker gets some.
    fn new(lists: Vec<NewStates<S>>, threads: usize) -> Self {
        let len: usize = lists.iter().flatten().map(Vec::len).sum();
        let size = chunk_size(len, threads);
        let lists = lists
            .into_iter()
            .map(|chunks| {
                let chunks: Vec<Vec<(u32, S)>> = if size < MAX_CHUNK {
                    let mut out = Vec::new();
                    let mut cur = Vec::with_capacity(size);
                    for x in chunks.into_iter().flatten() {
                        cur.push(x);
                        if cur.len() == size {
                            out.push(std::mem::replace(&mut cur, Vec::with_capacity(size)));
                        }
                    }
                    if !cur.is_empty() {
                        out.push(cur);
                    }
                    out
                } else {
                    chunks.into_iter().filter(|c| !c.is_empty()).collect()
                };
                WorkList {
                    chunks: chunks.into_iter().map(Mutex::new).collect(),
                    next: AtomicUsize::new(0),
                }
            })
            .collect();
        Level { len, lists }
    }

    /// Claims the next unclaimed chunk, from worker `w`'s own list first, and takes its
    /// states out of the level; `None` once every chunk is claimed.
    fn claim(&self, w: usize) -> Option<Vec<(u32, S)>> {
        let n = self.lists.len();
        for k in 0..n {
            let l = &self.lists[(w + k) % n];
            if l.next.load(Ordering::Relaxed) >= l.chunks.len() {
                continue;
            }
            let c = l.next.fetch_add(1, Ordering::Relaxed);
            if let Some(chunk) = l.chunks.get(c) {
                return Some(std::mem::take(
                    &mut *chunk.lock().unwrap_or_else(|e| e.into_inner()),
                ));
            }
        }
        None
    }
}

/// What a worker returns for one chunk of the frontier: per expanded state (ascending
/// indices) its index, out-degree and predicate bits, and the edges of all of them in order.
#[derive(Default)]
struct ChunkOut {
    indices: Vec<u32>,
    degrees: Vec<u32>,
    edges: Vec<Edge>,
    masks: Vec<u64>,
}

/// Appends the expanded states of one level, `base .. base + len`, to the CSR graph in index
/// order: for each index in turn its edges to `edges`, the end offset to `offsets` and one bit
/// per predicate to `labels`. The chunk outputs `outs` come in any order and cover any subset
/// of the level; only the longest prefix of the level whose states were all expanded is
/// appended (when a limit stopped the workers early, the rest stays unexpanded). Returns the
/// number of states appended and the OR, over them, of `!(mask ^ hit_value)` (bit `i` set iff
/// predicate `i` hit at one of them).
fn merge_level(
    outs: &[ChunkOut],
    base: u32,
    len: usize,
    hit_value: u64,
    edges: &mut ChunkedVec<Edge>,
    offsets: &mut ChunkedVec<u64>,
    labels: &mut [BitVec],
) -> (u32, u64) {
    // Per level position: (chunk output, position in it), and per chunk output the start of
    // each state's edges.
    let mut at: Vec<(u32, u32)> = vec![(NONE, 0); len];
    let mut starts: Vec<Vec<u32>> = Vec::with_capacity(outs.len());
    for (o, out) in outs.iter().enumerate() {
        let mut s = Vec::with_capacity(out.degrees.len());
        let mut e = 0u32;
        for (k, (&v, &d)) in out.indices.iter().zip(&out.degrees).enumerate() {
            at[(v - base) as usize] = (o as u32, k as u32);
            s.push(e);
            e += d;
        }
        starts.push(s);
    }
    let mut level_hits = 0u64;
    let mut n = 0u32;
    for &(o, k) in &at {
        if o == NONE {
            break;
        }
        let (out, k) = (&outs[o as usize], k as usize);
        let e = starts[o as usize][k] as usize;
        edges.extend_from_slice(&out.edges[e..e + out.degrees[k] as usize]);
        offsets.push(edges.len());
        let m = out.masks[k];
        level_hits |= !(m ^ hit_value);
        for (i, l) in labels.iter_mut().enumerate() {
            l.push(m >> i & 1 == 1);
        }
        n += 1;
    }
    (n, level_hits)
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
    fn intern(&self, f: crate::Fairness, cache: &mut HashMap<u64, u32, IdBuild>) -> u32 {
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
pub(crate) fn canonical_fp<S: Hash>(s: S, symmetry: Option<crate::Representative<S>>) -> (u64, S) {
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
    let init: Vec<(u32, M::State)> = init_nodes.iter().copied().zip(init_states).collect();
    let mut frontier: Level<M::State> = Level::new(vec![vec![init]], threads);
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
    let mut stop_reason: Option<StopReason> = None;
    // When the limits were last checked (across levels, so that short levels are covered).
    let now = Instant::now();
    let limits = Limits::new(
        cfg.memory_limit,
        cfg.time_limit,
        cfg.start,
        now.checked_sub(Duration::from_secs(1)).unwrap_or(now),
    );

    // `FAIR_PROFILE=1`: print where the exploration's time went (docs/fair-checking.md,
    // "Threads"): the parallel phases, the workers' busy time in them, and the coordinating
    // thread's serial work between levels.
    let prof = std::env::var_os("FAIR_PROFILE").is_some();
    let (mut t_par, mut t_merge, mut t_place) = (0f64, 0f64, 0f64);
    let busy_ns = AtomicU64::new(0);
    // A fully expanded level whose edges, offsets and labels are not appended yet: its chunk
    // outputs, first index and length. The coordinating thread appends it while the other
    // workers start on the next level (nothing reads the graph during exploration), so the
    // append is off the critical path; it is always appended before the next level is.
    let mut pending: Option<(Vec<ChunkOut>, u32, usize)> = None;
    let mut depth: u32 = 0;
    while frontier.len > 0 {
        let tp = Instant::now();
        let base = expanded;
        let level_end = base + frontier.len as u32;
        let stop = Stop::new(table.len() >= limit);
        let check_limits = || {
            if limits.any() {
                limits.look(&stop, || false);
            }
        };
        let outs: Mutex<Vec<ChunkOut>> = Mutex::new(Vec::new());
        let news: Mutex<Vec<(usize, NewStates<M::State>)>> = Mutex::new(Vec::new());
        let frontier_ref = &frontier;

        {
            let work = |w: usize| {
                let tw = Instant::now();
                let mut cache: HashMap<u64, u32, IdBuild> = HashMap::default();
                let mut local_outs = Vec::new();
                let mut local_new: NewStates<M::State> = Vec::new();
                let mut actions: Vec<M::Action> = Vec::new();
                loop {
                    if stop.is_raised() {
                        break;
                    }
                    let Some(states) = frontier_ref.claim(w) else {
                        break;
                    };
                    let n = states.len();
                    let mut out = ChunkOut {
                        indices: Vec::with_capacity(n),
                        degrees: Vec::with_capacity(n),
                        edges: Vec::with_capacity(n * 8),
                        masks: Vec::with_capacity(n),
                    };
                    // Each state is dropped at the end of its iteration, once expanded.
                    for (v, s) in states {
                        let s = &s;
                        out.indices.push(v);
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
                                    stop.raise();
                                }
                                match local_new.last_mut() {
                                    Some(c) if c.len() < MAX_CHUNK => c.push((target, t)),
                                    _ => {
                                        let mut c = Vec::with_capacity(MAX_CHUNK);
                                        c.push((target, t));
                                        local_new.push(c);
                                    }
                                }
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
                    .push((w, local_new));
                busy_ns.fetch_add(tw.elapsed().as_nanos() as u64, Ordering::Relaxed);
            };
            let work = &work;
            std::thread::scope(|scope| {
                for w in 1..threads {
                    scope.spawn(move || work(w));
                }
                if let Some((outs, b, len)) = pending.take() {
                    merge_level(&outs, b, len, 0, &mut edges, &mut offsets, &mut labels);
                }
                work(0);
            });
        }

        if table.len() >= MAX_STATES {
            return Err(FairError::TooManyStates { limit: MAX_STATES });
        }

        t_par += tp.elapsed().as_secs_f64();
        let tm = Instant::now();
        // Append the expanded states in index order: if every state of the level was
        // expanded, later (pending, see above); if a limit stopped the workers, now, the
        // longest fully expanded prefix.
        let outs = outs.into_inner().unwrap_or_else(|e| e.into_inner());
        let done: usize = outs.iter().map(|o| o.indices.len()).sum();
        let level_hits = if done == frontier.len {
            expanded += done as u32;
            let hits = (outs.iter().flat_map(|o| &o.masks)).fold(0, |h, &m| h | !(m ^ hit_value));
            pending = Some((outs, base, frontier.len));
            hits
        } else {
            let (n, hits) = merge_level(
                &outs,
                base,
                frontier.len,
                hit_value,
                &mut edges,
                &mut offsets,
                &mut labels,
            );
            expanded += n;
            hits
        };
        skip |= level_hits & decidable;
        if let Some(r) = stop.into_reason() {
            stop_reason.get_or_insert(r);
        }

        t_merge += tm.elapsed().as_secs_f64();
        let tm = Instant::now();
        // The next frontier: states with indices level_end .. table.len(), in one list per
        // worker that discovered them.
        let total = table.len() as u32;
        let mut news = news.into_inner().unwrap_or_else(|e| e.into_inner());
        news.sort_unstable_by_key(|(w, _)| *w);
        let next = Level::new(news.into_iter().map(|(_, l)| l).collect(), threads);
        debug_assert_eq!(next.len, (total - level_end) as usize);
        t_place += tm.elapsed().as_secs_f64();
        if expanded < level_end {
            // Stopped early (max_states or a limit): states from `expanded` on stay unexpanded.
            complete = false;
            stop_reason.get_or_insert(StopReason::MaxStates);
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
            stop_reason.get_or_insert(StopReason::MaxStates);
            break;
        }
        if stop_reason.is_some() {
            complete = false;
            break;
        }
    }
    if let Some((outs, b, len)) = pending.take() {
        merge_level(&outs, b, len, 0, &mut edges, &mut offsets, &mut labels);
    }
    if prof {
        eprintln!(
            "FAIR_PROFILE explore: threads {threads}, levels {}, parallel phase {t_par:.3} s \
             (worker busy {:.3} s of {:.3} s available), serial between levels: hits and \
             stopped-level merge {t_merge:.3} s, next-level setup {t_place:.3} s",
            depth + 1,
            busy_ns.load(Ordering::Relaxed) as f64 * 1e-9,
            t_par * threads as f64
        );
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
    use crate::test_models::Rumor;
    use stateright::{Checker, Model};

    /// Two workers' discoveries with interleaved indices (even: worker 0, odd: worker 1), as
    /// chunks of at most `MAX_CHUNK`.
    fn two_lists(len: u32) -> Vec<NewStates<u32>> {
        (0..2)
            .map(|w| {
                let l: Vec<(u32, u32)> = (0..len).filter(|i| i % 2 == w).map(|i| (i, i)).collect();
                l.chunks(MAX_CHUNK).map(<[_]>::to_vec).collect()
            })
            .collect()
    }

    #[test]
    fn a_level_hands_out_every_state_once_and_each_worker_its_own_list_first() {
        for (len, threads) in [(0, 1), (1, 1), (7, 2), (1000, 1), (20_000, 2), (70_001, 2)] {
            let level = Level::new(two_lists(len), threads);
            assert_eq!(level.len, len as usize);
            // Worker 1 claims until its own list is exhausted, then worker 0 takes the rest.
            let mut got = Vec::new();
            let mut own_done = false;
            while let Some(c) = level.claim(1) {
                assert!(
                    c.windows(2).all(|p| p[0].0 < p[1].0),
                    "a chunk is ascending"
                );
                assert!(c.iter().all(|&(v, s)| v == s));
                let own = c.iter().all(|(v, _)| v % 2 == 1);
                if !own {
                    // Past its own list: only worker 0's states are left.
                    assert!(c.iter().all(|(v, _)| v % 2 == 0));
                    if !own_done {
                        assert_eq!(got.len(), len as usize / 2, "own list first");
                    }
                    own_done = true;
                }
                assert!(own != own_done, "no own chunk after another list's");
                got.extend(c.into_iter().map(|(v, _)| v));
            }
            assert!(level.claim(0).is_none(), "every chunk claimed once");
            got.sort_unstable();
            assert_eq!(got, (0..len).collect::<Vec<_>>(), "len {len}");
            if len >= 7 {
                let level = Level::new(two_lists(len), threads);
                let first = level.claim(0).expect("a chunk");
                assert!(
                    first.iter().all(|(v, _)| v % 2 == 0),
                    "worker 0 starts on list 0"
                );
            }
        }
    }

    #[test]
    fn merging_chunk_outputs_in_any_order_appends_each_state_in_index_order() {
        // Level 10 .. 16; state v has degree v % 3, edges (v, j), predicate bits v.
        let out = |vs: &[u32]| ChunkOut {
            indices: vs.to_vec(),
            degrees: vs.iter().map(|v| v % 3).collect(),
            edges: vs
                .iter()
                .flat_map(|&v| {
                    (0..v % 3).map(move |j| Edge {
                        target: v,
                        class: j,
                    })
                })
                .collect(),
            masks: vs.iter().map(|&v| u64::from(v)).collect(),
        };
        let run = |outs: &[ChunkOut]| {
            let (mut edges, mut offsets) = (ChunkedVec::new(), ChunkedVec::new());
            offsets.push(0);
            let mut labels = vec![BitVec::default(), BitVec::default()];
            let (n, hits) = merge_level(outs, 10, 6, 0, &mut edges, &mut offsets, &mut labels);
            let e: Vec<Edge> = (0..edges.len()).map(|i| edges.get(i)).collect();
            let o: Vec<u64> = (0..offsets.len()).map(|i| offsets.get(i)).collect();
            let l: Vec<(bool, bool)> = (0..n)
                .map(|v| (labels[0].get(v), labels[1].get(v)))
                .collect();
            (n, hits & 3, e, o, l)
        };
        let whole = run(&[out(&[10, 11, 12, 13, 14, 15])]);
        let expected_edges: Vec<Edge> = (10..16)
            .flat_map(|v: u32| {
                (0..v % 3).map(move |j| Edge {
                    target: v,
                    class: j,
                })
            })
            .collect();
        assert_eq!(whole.0, 6);
        assert_eq!(whole.2, expected_edges);
        assert_eq!(whole.3, vec![0, 1, 3, 3, 4, 6, 6]);
        assert_eq!(whole.4[1], (true, true), "11 = 0b1011");
        assert_eq!(
            whole.1, 0b11,
            "10 = 0b1010 hits predicate 0, 12 = 0b1100 both"
        );
        // Interleaved chunks from two workers, in any order.
        assert_eq!(
            run(&[out(&[11, 13, 15]), out(&[10, 12]), out(&[14])]),
            whole
        );
        assert_eq!(
            run(&[out(&[14]), out(&[10, 12]), out(&[11, 13, 15])]),
            whole
        );
        // A stopped level: 12 was not expanded, so only 10 and 11 are appended (and the hits
        // of 14 = 0b1110 do not count).
        let cut = run(&[out(&[11, 13, 15]), out(&[10]), out(&[14])]);
        assert_eq!(cut.0, 2);
        assert_eq!(cut.2, expected_edges[..3]);
        assert_eq!(cut.3, vec![0, 1, 3]);
        assert_eq!(cut.1, 0b01, "only 10 hits, predicate 0");
    }

    #[test]
    fn exploration_with_states_dropped_after_expansion_finds_every_state_and_edge() {
        let m = Rumor::three_nodes(true);
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
