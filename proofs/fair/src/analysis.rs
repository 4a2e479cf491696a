//! Analyses over the stored graph: shortest paths, fair-SCC detection (iterative Tarjan),
//! fair-cycle construction and replay of index paths into concrete states.

use crate::explore::{Explored, canonical_fp};
use crate::store::{BitVec, Edge, NONE};
use crate::{FairError, FairModel, Lasso, Representative, Trace};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;

/// "Any class": replay may take any action that reaches the target.
pub(crate) const ANY: u32 = u32::MAX - 1;

/// A BFS tree over the whole stored graph from the initial states, visiting edges in stored
/// (action) order, so that the tree, and every path read from it, is deterministic even though
/// state indices are assigned in a thread-dependent order.
pub(crate) struct GlobalBfs {
    pub(crate) order: Vec<u32>,
    pub(crate) parent: Vec<u32>,
}

impl GlobalBfs {
    pub(crate) fn new(g: &Explored) -> Self {
        let (parent, order) = bfs(
            g,
            &g.init_nodes,
            Vec::with_capacity(g.n_states as usize),
            |_| true,
        );
        GlobalBfs { order, parent }
    }

    /// The node path from an initial state to `v`.
    pub(crate) fn path_to(&self, v: u32) -> Vec<u32> {
        let mut p = vec![v];
        let mut x = v;
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
            p.push(x);
        }
        p.reverse();
        p
    }

    pub(crate) fn bytes(&self) -> u64 {
        (self.order.capacity() * 4 + self.parent.capacity() * 4) as u64
    }
}

/// A BFS over the stored graph from `sources` (in order) through the states `allowed` accepts,
/// visiting edges in stored order: the parent of every visited state (a source is its own
/// parent; `NONE` for the others) and the visited states in visiting order, pushed onto
/// `order` (given empty, with the capacity wanted).
fn bfs(
    g: &Explored,
    sources: &[u32],
    mut order: Vec<u32>,
    allowed: impl Fn(u32) -> bool,
) -> (Vec<u32>, Vec<u32>) {
    let mut parent = vec![NONE; g.n_states as usize];
    for &s in sources {
        if allowed(s) && parent[s as usize] == NONE {
            parent[s as usize] = s;
            order.push(s);
        }
    }
    let mut head = 0;
    while head < order.len() {
        let v = order[head];
        head += 1;
        for e in g.out(v) {
            let w = e.target;
            if allowed(w) && parent[w as usize] == NONE {
                parent[w as usize] = v;
                order.push(w);
            }
        }
    }
    (parent, order)
}

/// The sorted, deduplicated fair classes enabled at `v` (all outgoing edges).
fn enabled(g: &Explored, v: u32, buf: &mut Vec<u32>) {
    buf.clear();
    buf.extend(g.out(v).map(|e| e.class).filter(|&c| c != NONE));
    buf.sort_unstable();
    buf.dedup();
}

/// The outcome of a liveness search.
pub(crate) struct LiveWitness {
    /// Node path from an initial state to the loop start.
    pub(crate) prefix: Vec<u32>,
    /// Steps `(from, edge)` of the cycle, starting and ending at the loop start; empty for a
    /// deadlock.
    pub(crate) cycle: Vec<(u32, Edge)>,
}

/// Statistics of one liveness search (for reporting memory).
pub(crate) struct LiveStats {
    pub(crate) bytes: u64,
    pub(crate) sccs_checked: u64,
    /// Strong-fairness refinements (sub-decompositions) performed.
    pub(crate) refinements: u64,
}

/// Searches for a ¬goal path from one of `sources` (given in deterministic order) that ends in a
/// fair ¬goal cycle or a ¬goal deadlock. `global` provides paths from initial states to sources
/// (`None` when the sources are initial states).
pub(crate) fn find_fair_lasso(
    g: &Explored,
    global: Option<&GlobalBfs>,
    sources: &[u32],
    goal: &BitVec,
) -> (Option<LiveWitness>, LiveStats) {
    let n = g.n_states as usize;
    // The ¬goal region: expanded states where the goal is false. Unexpanded states (when the
    // exploration stopped early) are excluded: their edges are unknown.
    let allowed = |v: u32| g.is_expanded(v) && !goal.get(v);

    // 1. Restricted BFS from the sources.
    let (parent, queue) = bfs(g, sources, Vec::new(), allowed);

    // 2. Iterative Tarjan over the region; each SCC is judged when it is popped. SCCs that
    //    fail only the strong-fairness test are refined (Emerson–Lei): the states where a
    //    violated strong class is enabled are removed and the rest is decomposed again, from
    //    a work list (no recursion).
    let mut comp = vec![NONE; n]; // region / SCC id of each state; NONE = outside
    for &v in &queue {
        comp[v as usize] = REGION;
    }
    let mut t = Tarjan {
        index: vec![NONE; n],
        low: vec![0u32; n],
        on_stack: BitVec::zeros(n),
        stack: Vec::new(),
        call: Vec::new(),
        next_id: 0,
        max_stack: 0,
        bad_ids: HashSet::new(),
        work: Vec::new(),
        refinements: 0,
    };
    t.run(g, &mut comp, REGION, &queue);
    while let Some((id, members)) = t.work.pop() {
        t.refinements += 1;
        for &m in &members {
            t.index[m as usize] = NONE;
        }
        t.run(g, &mut comp, id, &members);
    }
    let bytes = (parent.capacity() * 4
        + queue.capacity() * 4
        + t.index.capacity() * 4
        + t.low.capacity() * 4
        + comp.capacity() * 4
        + t.max_stack * 24) as u64
        + t.on_stack.bytes();
    let stats = LiveStats {
        bytes,
        sccs_checked: u64::from(t.next_id),
        refinements: t.refinements,
    };
    let is_bad = |v: u32| comp[v as usize] != NONE && t.bad_ids.contains(&comp[v as usize]);

    // 3. The first bad state in BFS order is the loop start.
    let Some(&entry) = queue.iter().find(|&&v| is_bad(v)) else {
        return (None, stats);
    };
    let mut local = vec![entry];
    let mut x = entry;
    while parent[x as usize] != x {
        x = parent[x as usize];
        local.push(x);
    }
    local.reverse();
    let prefix = match global {
        Some(global) => {
            let mut p = global.path_to(local[0]);
            p.extend_from_slice(&local[1..]);
            p
        }
        None => local,
    };

    let c = comp[entry as usize];
    let in_c = |w: u32| comp[w as usize] == c;
    let cycle = if g.out(entry).next().is_none() {
        Vec::new() // deadlock: stutter forever
    } else {
        build_fair_cycle(g, entry, &in_c)
    };
    (Some(LiveWitness { prefix, cycle }), stats)
}

/// The region id of the first decomposition (SCC ids count up from 0).
const REGION: u32 = u32::MAX - 2;

/// The verdict on one SCC.
enum Verdict {
    /// A deadlock, or a non-trivial SCC that contains a fair cycle.
    Bad,
    /// No fair cycle inside.
    Good,
    /// Some strong class is enabled in the SCC but never taken inside it: only these
    /// members (those where no such class is enabled) can carry a fair cycle.
    Refine(Vec<u32>),
}

/// Iterative Tarjan state, reused across refinements.
struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: BitVec,
    stack: Vec<u32>,
    /// DFS call stack: (state, next edge, end of its edges).
    call: Vec<(u32, u64, u64)>,
    /// Next SCC id.
    next_id: u32,
    max_stack: usize,
    /// Ids of the SCCs judged bad.
    bad_ids: HashSet<u32>,
    /// Sub-regions still to decompose: (region id = the refined SCC's id, members).
    work: Vec<(u32, Vec<u32>)>,
    refinements: u64,
}

impl Tarjan {
    /// Gives `v` the next DFS index (as its lowlink too) and pushes it on the SCC stack and,
    /// with its outgoing edges, on the call stack.
    fn visit(&mut self, g: &Explored, v: u32, next_index: &mut u32) {
        self.index[v as usize] = *next_index;
        self.low[v as usize] = *next_index;
        *next_index += 1;
        self.stack.push(v);
        self.on_stack.set(v);
        let (first, end) = g.edge_range(v);
        self.call.push((v, first, end));
    }

    /// Decomposes the states with `comp == region` reachable from `roots` (inside the region)
    /// into SCCs, gives each a fresh id in `comp` and judges it.
    fn run(&mut self, g: &Explored, comp: &mut [u32], region: u32, roots: &[u32]) {
        let mut next_index = 0u32;
        let (mut buf, mut buf2) = (Vec::new(), Vec::new());
        for &root in roots {
            if comp[root as usize] != region || self.index[root as usize] != NONE {
                continue;
            }
            self.visit(g, root, &mut next_index);
            while let Some(top) = self.call.last_mut() {
                let (v, end) = (top.0, top.2);
                if top.1 < end {
                    let w = g.edges.get(top.1).target;
                    top.1 += 1;
                    // Finished SCCs already carry their new id, so they fail this test, which
                    // is what Tarjan needs (visited and not on the stack: no lowlink update).
                    if comp[w as usize] != region {
                        continue;
                    }
                    if self.index[w as usize] == NONE {
                        self.visit(g, w, &mut next_index);
                        self.max_stack = self.max_stack.max(self.call.len() + self.stack.len());
                    } else if self.on_stack.get(w) {
                        self.low[v as usize] = self.low[v as usize].min(self.index[w as usize]);
                    }
                    continue;
                }
                self.call.pop();
                if let Some(&(u, _, _)) = self.call.last() {
                    self.low[u as usize] = self.low[u as usize].min(self.low[v as usize]);
                }
                if self.low[v as usize] == self.index[v as usize] {
                    let pos = self.stack.iter().rposition(|&x| x == v).unwrap_or(0);
                    let id = self.next_id;
                    self.next_id += 1;
                    for &m in &self.stack[pos..] {
                        self.on_stack.clear(m);
                        comp[m as usize] = id;
                    }
                    let members = &self.stack[pos..];
                    match judge(g, members, id, comp, &mut buf, &mut buf2) {
                        Verdict::Bad => {
                            self.bad_ids.insert(id);
                        }
                        Verdict::Good => {}
                        Verdict::Refine(rest) => {
                            for &m in members {
                                comp[m as usize] = NONE;
                            }
                            for &m in &rest {
                                comp[m as usize] = id;
                            }
                            if !rest.is_empty() {
                                self.work.push((id, rest));
                            }
                        }
                    }
                    self.stack.truncate(pos);
                }
            }
        }
    }
}

/// Judges an SCC (its members carry `id` in `comp`).
///
/// * A single state without steps is a deadlock: bad. A single state without a self-loop has
///   no cycle: good.
/// * **Strong test**: let `V` be the strong classes enabled at some member (counting every
///   outgoing step) but taken by no internal edge. If `V` is non-empty, no fair cycle of the
///   SCC visits a state where a class of `V` is enabled: refine to the other members.
/// * **Weak test** (exact, see the crate docs): bad iff every class enabled at all members is
///   taken by some internal edge.
fn judge(
    g: &Explored,
    members: &[u32],
    id: u32,
    comp: &[u32],
    buf: &mut Vec<u32>,
    buf2: &mut Vec<u32>,
) -> Verdict {
    let internal = |w: u32| comp[w as usize] == id;
    if members.len() == 1 {
        let v = members[0];
        if g.is_expanded(v) && g.out(v).next().is_none() {
            return Verdict::Bad; // deadlock
        }
        if !g.out(v).any(|e| e.target == v) {
            return Verdict::Good; // trivial SCC: no cycle through it
        }
    }
    let strong = |c: u32| c != NONE && g.strong[c as usize];
    if g.strong.iter().any(|&b| b) {
        let mut en: Vec<u32> = Vec::new();
        let mut taken: Vec<u32> = Vec::new();
        for &m in members {
            for e in g.out(m) {
                if strong(e.class) {
                    en.push(e.class);
                    if internal(e.target) {
                        taken.push(e.class);
                    }
                }
            }
        }
        en.sort_unstable();
        en.dedup();
        taken.sort_unstable();
        taken.dedup();
        en.retain(|c| taken.binary_search(c).is_err());
        if !en.is_empty() {
            let rest = members
                .iter()
                .copied()
                .filter(|&m| !g.out(m).any(|e| en.binary_search(&e.class).is_ok()))
                .collect();
            return Verdict::Refine(rest);
        }
    }
    // Weak test: classes enabled at every member must each be taken by an internal edge.
    enabled(g, members[0], buf);
    for &m in &members[1..] {
        if buf.is_empty() {
            break;
        }
        enabled(g, m, buf2);
        buf.retain(|c| buf2.binary_search(c).is_ok());
    }
    if buf.is_empty() {
        return Verdict::Bad;
    }
    for &m in members {
        for e in g.out(m) {
            if e.class != NONE
                && internal(e.target)
                && let Ok(i) = buf.binary_search(&e.class)
            {
                buf.remove(i);
                if buf.is_empty() {
                    return Verdict::Bad;
                }
            }
        }
    }
    Verdict::Good
}

/// BFS inside the SCC from `from` to the first state satisfying `goal` (possibly `from`
/// itself); returns the steps.
fn path_in(
    g: &Explored,
    from: u32,
    in_c: &dyn Fn(u32) -> bool,
    goal: &dyn Fn(u32) -> bool,
) -> Vec<(u32, Edge)> {
    if goal(from) {
        return Vec::new();
    }
    let mut prev: HashMap<u32, (u32, Edge)> = HashMap::new();
    let mut q = VecDeque::from([from]);
    let mut seen = HashSet::from([from]);
    while let Some(v) = q.pop_front() {
        for e in g.out(v) {
            let w = e.target;
            if !in_c(w) || !seen.insert(w) {
                continue;
            }
            prev.insert(w, (v, e));
            if goal(w) {
                let mut steps = Vec::new();
                let mut x = w;
                while x != from {
                    let (p, e) = prev[&x];
                    steps.push((p, e));
                    x = p;
                }
                steps.reverse();
                return steps;
            }
            q.push_back(w);
        }
    }
    Vec::new() // unreachable inside an SCC
}

/// Builds a fair cycle through `entry` inside its SCC (which passed both fairness tests).
///
/// Greedy and monotone: keep the set of classes enabled at every state of the walk so far
/// minus the classes taken on it (weak obligations), and the strong classes enabled at some
/// state of the walk minus the classes taken (strong obligations). While a weak obligation
/// `k` is open, walk to the nearest state where `k` is disabled or from which an internal `k`
/// edge leaves (and take it); while a strong obligation `k` is open, walk to the nearest state
/// with an internal `k` edge and take it (one exists: the SCC passed the strong test).
/// Appending states only shrinks "enabled at every state" and appending edges only grows
/// "taken", so each obligation is settled for good; the walk back to `entry` may open new
/// strong obligations, which are settled on another round. Every round settles at least one
/// class, so the loop ends.
fn build_fair_cycle(g: &Explored, entry: u32, in_c: &dyn Fn(u32) -> bool) -> Vec<(u32, Edge)> {
    let mut w = CycleWalk::new(g, entry);
    let mut cur = entry;
    let k_edge = |v: u32, k: u32| g.out(v).find(|e| e.class == k && in_c(e.target));
    loop {
        let weak_k = w.inter.iter().copied().find(|c| !w.taken.contains(c));
        let strong_k = w.strong_seen.iter().copied().find(|c| !w.taken.contains(c));
        // The next step of the walk: walk to the nearest state satisfying `goal`, then take
        // the `k` edge there when there is one to take.
        let (goal, take): (Box<dyn Fn(u32) -> bool + '_>, Option<u32>) = if let Some(k) = weak_k {
            let goal = move |v: u32| {
                let mut b = Vec::new();
                enabled(g, v, &mut b);
                b.binary_search(&k).is_err() || k_edge(v, k).is_some()
            };
            (Box::new(goal), Some(k))
        } else if let Some(k) = strong_k {
            (Box::new(move |v: u32| k_edge(v, k).is_some()), Some(k))
        } else if w.steps.is_empty() {
            match g.out(entry).find(|e| in_c(e.target)) {
                Some(e) => {
                    w.push((entry, e));
                    cur = e.target;
                    continue;
                }
                None => break,
            }
        } else if cur == entry {
            break;
        } else {
            (Box::new(|v: u32| v == entry), None)
        };
        let path = path_in(g, cur, in_c, &*goal);
        if take.is_none() && path.is_empty() {
            break; // cannot happen inside an SCC
        }
        for s in path {
            w.push(s);
            cur = s.1.target;
        }
        if let Some(k) = take {
            // A weak obligation may be settled by `k` being disabled here instead.
            if weak_k.is_some() && (w.taken.contains(&k) || !w.inter.contains(&k)) {
                continue;
            }
            match k_edge(cur, k) {
                Some(e) => {
                    w.push((cur, e));
                    cur = e.target;
                }
                None => break, // cannot happen for an SCC that passed the test
            }
        }
    }
    if cur != entry {
        w.steps.extend(path_in(g, cur, in_c, &|v| v == entry));
    }
    w.steps
}

/// The state of [`build_fair_cycle`]'s walk: the steps so far, the classes enabled at every
/// state of the walk (`inter`), the strong classes enabled at some state (`strong_seen`), and
/// the classes taken.
struct CycleWalk<'g> {
    g: &'g Explored,
    steps: Vec<(u32, Edge)>,
    inter: Vec<u32>,
    strong_seen: Vec<u32>,
    taken: HashSet<u32>,
    buf: Vec<u32>,
}

impl<'g> CycleWalk<'g> {
    fn new(g: &'g Explored, entry: u32) -> Self {
        let mut inter = Vec::new();
        enabled(g, entry, &mut inter);
        let strong_seen = inter.iter().copied().filter(|&c| is_strong(g, c)).collect();
        CycleWalk {
            g,
            steps: Vec::new(),
            inter,
            strong_seen,
            taken: HashSet::new(),
            buf: Vec::new(),
        }
    }

    /// Appends a step and updates the obligations.
    fn push(&mut self, s: (u32, Edge)) {
        self.steps.push(s);
        self.taken.insert(s.1.class);
        enabled(self.g, s.1.target, &mut self.buf);
        let buf = &self.buf;
        self.inter.retain(|c| buf.binary_search(c).is_ok());
        for &c in buf {
            if is_strong(self.g, c) && !self.strong_seen.contains(&c) {
                self.strong_seen.push(c);
            }
        }
    }
}

fn is_strong(g: &Explored, c: u32) -> bool {
    c != NONE && g.strong[c as usize]
}

/// Replays a node path (with wanted classes, [`ANY`] for any) from an initial node into
/// concrete states and actions, re-running `next_state` and matching successor fingerprints
/// (after canonicalisation) against the stored indices.
pub(crate) fn replay<M>(
    model: &M,
    g: &Explored,
    symmetry: Option<Representative<M::State>>,
    start: u32,
    steps: &[(u32, u32)],
) -> Result<Trace<M::State, M::Action>, FairError>
where
    M: FairModel,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let index_of = |s: &M::State| -> Option<u32> {
        let (fp, _) = canonical_fp(s.clone(), symmetry);
        g.table.get(fp)
    };
    let targets: Vec<u32> = steps.iter().map(|&(t, _)| t).collect();
    let class_ok = |i: usize, s: &M::State, a: &M::Action| {
        let class = steps[i].1;
        class == ANY
            || model
                .fairness(s, a)
                .and_then(|f| g.class_ids.get(&f.class().0).copied())
                .unwrap_or(NONE)
                == class
    };
    replay_indices(model, &index_of, start, &targets, &class_ok)
}

/// Which actions a replay step may take: `(step index, state, action) -> allowed`.
pub(crate) type StepFilter<'a, S, A> = dyn Fn(usize, &S, &A) -> bool + 'a;

/// Replays a path of stored state indices into concrete states and actions: starts from the
/// initial state whose index is `start`, and at step `i` takes the first action (in `actions`
/// order) that `accept(i, state, action)` allows and whose successor has index `targets[i]`.
/// Shared by the full engine's traces and lassos and the safety-only mode's traces.
pub(crate) fn replay_indices<M>(
    model: &M,
    index_of: &dyn Fn(&M::State) -> Option<u32>,
    start: u32,
    targets: &[u32],
    accept: &StepFilter<'_, M::State, M::Action>,
) -> Result<Trace<M::State, M::Action>, FairError>
where
    M: FairModel,
    M::State: Clone,
    M::Action: Clone,
{
    let mut cur = model
        .init_states()
        .into_iter()
        .find(|s| index_of(s) == Some(start))
        .ok_or_else(|| FairError::Replay("no initial state has the stored fingerprint".into()))?;
    let mut out = Vec::with_capacity(targets.len());
    let mut actions = Vec::new();
    for (i, &target) in targets.iter().enumerate() {
        actions.clear();
        model.actions(&cur, &mut actions);
        let found = actions.drain(..).find_map(|a| {
            if !accept(i, &cur, &a) {
                return None;
            }
            model
                .next_state(&cur, a.clone())
                .filter(|t| index_of(t) == Some(target))
                .map(|t| (a, t))
        });
        let (a, t) = found.ok_or_else(|| {
            FairError::Replay(format!(
                "step {i}: no action reaches the stored successor; are init_states/actions/\
                 next_state deterministic?"
            ))
        })?;
        out.push((std::mem::replace(&mut cur, t), a));
    }
    Ok(Trace {
        steps: out,
        last: cur,
    })
}

/// Turns a node path into replay steps with [`ANY`] class.
pub(crate) fn any_steps(nodes: &[u32]) -> Vec<(u32, u32)> {
    nodes.iter().skip(1).map(|&t| (t, ANY)).collect()
}

/// Replays a safety trace to node `v`.
pub(crate) fn trace_to<M>(
    model: &M,
    g: &Explored,
    global: &GlobalBfs,
    symmetry: Option<Representative<M::State>>,
    v: u32,
) -> Result<Trace<M::State, M::Action>, FairError>
where
    M: FairModel,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let nodes = global.path_to(v);
    replay(model, g, symmetry, nodes[0], &any_steps(&nodes))
}

/// Replays a liveness witness into a lasso.
pub(crate) fn lasso_of<M>(
    model: &M,
    g: &Explored,
    w: &LiveWitness,
) -> Result<Lasso<M::State, M::Action>, FairError>
where
    M: FairModel,
    M::State: Hash + Clone + Eq,
    M::Action: Clone,
{
    let mut steps = any_steps(&w.prefix);
    let np = steps.len();
    steps.extend(w.cycle.iter().map(|(_, e)| (e.target, e.class)));
    let Trace {
        steps: mut all,
        last,
    } = replay(model, g, None, w.prefix[0], &steps)?;
    let cycle = all.split_off(np);
    let loop_start = match cycle.first() {
        Some((s, _)) => s.clone(),
        None => last.clone(),
    };
    if !cycle.is_empty() && last != loop_start {
        return Err(FairError::Replay(
            "the replayed cycle does not return to its start".into(),
        ));
    }
    Ok(Lasso {
        prefix: all,
        loop_start,
        cycle,
    })
}
