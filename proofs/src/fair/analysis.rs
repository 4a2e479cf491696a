//! Analyses over the stored graph: shortest paths, fair-SCC detection (iterative Tarjan),
//! fair-cycle construction and replay of index paths into concrete states.

use super::explore::{Explored, canonical_fp};
use super::store::{BitVec, Edge, NONE};
use super::{FairError, FairModel, Lasso, Representative, Trace};
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
        let n = g.n_states as usize;
        let mut parent = vec![NONE; n];
        let mut order = Vec::with_capacity(n);
        for &i in &g.init_nodes {
            if parent[i as usize] == NONE {
                parent[i as usize] = i;
                order.push(i);
            }
        }
        let mut head = 0;
        while head < order.len() {
            let v = order[head];
            head += 1;
            for e in g.out(v) {
                if parent[e.target as usize] == NONE {
                    parent[e.target as usize] = v;
                    order.push(e.target);
                }
            }
        }
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
    let mut parent = vec![NONE; n];
    let mut queue: Vec<u32> = Vec::new();
    for &s in sources {
        if allowed(s) && parent[s as usize] == NONE {
            parent[s as usize] = s;
            queue.push(s);
        }
    }
    let mut head = 0;
    while head < queue.len() {
        let v = queue[head];
        head += 1;
        for e in g.out(v) {
            let w = e.target;
            if allowed(w) && parent[w as usize] == NONE {
                parent[w as usize] = v;
                queue.push(w);
            }
        }
    }
    let in_r = |v: u32| parent[v as usize] != NONE;

    // 2. Iterative Tarjan over the region; each SCC is judged when it is popped.
    let mut index = vec![NONE; n];
    let mut low = vec![0u32; n]; // lowlink while on the stack, SCC id once finished
    let mut on_stack = BitVec::zeros(n);
    let mut bad = BitVec::zeros(n);
    let mut stack: Vec<u32> = Vec::new();
    let mut call: Vec<(u32, u64)> = Vec::new();
    let mut next_index = 0u32;
    let mut comp = 0u32;
    let mut buf = Vec::new();
    let mut buf2 = Vec::new();
    let mut max_stack = 0usize;
    for &root in &queue {
        if index[root as usize] != NONE {
            continue;
        }
        index[root as usize] = next_index;
        low[root as usize] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack.set(root);
        call.push((root, g.edge_range(root).0));
        while let Some(top) = call.last_mut() {
            let v = top.0;
            let end = g.edge_range(v).1;
            if top.1 < end {
                let w = g.edges.get(top.1).target;
                top.1 += 1;
                if !in_r(w) {
                    continue;
                }
                if index[w as usize] == NONE {
                    index[w as usize] = next_index;
                    low[w as usize] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack.set(w);
                    call.push((w, g.edge_range(w).0));
                    max_stack = max_stack.max(call.len() + stack.len());
                } else if on_stack.get(w) {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u as usize] = low[u as usize].min(low[v as usize]);
            }
            if low[v as usize] == index[v as usize] {
                let pos = stack.iter().rposition(|&x| x == v).unwrap_or(0);
                for &m in &stack[pos..] {
                    on_stack.clear(m);
                    low[m as usize] = comp;
                }
                let members = &stack[pos..];
                let internal = |w: u32| {
                    in_r(w)
                        && index[w as usize] != NONE
                        && !on_stack.get(w)
                        && low[w as usize] == comp
                };
                if scc_is_bad(g, members, &internal, &mut buf, &mut buf2) {
                    for &m in members {
                        bad.set(m);
                    }
                }
                stack.truncate(pos);
                comp += 1;
            }
        }
    }
    let bytes = (parent.capacity() * 4
        + queue.capacity() * 4
        + index.capacity() * 4
        + low.capacity() * 4
        + max_stack * 12) as u64
        + on_stack.bytes()
        + bad.bytes();
    let stats = LiveStats {
        bytes,
        sccs_checked: u64::from(comp),
    };

    // 3. The first bad state in BFS order is the loop start.
    let Some(&entry) = queue.iter().find(|&&v| bad.get(v)) else {
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

    let c = low[entry as usize];
    let in_c = |w: u32| in_r(w) && low[w as usize] == c;
    let cycle = if g.out(entry).next().is_none() {
        Vec::new() // deadlock: stutter forever
    } else {
        build_fair_cycle(g, entry, &in_c)
    };
    (Some(LiveWitness { prefix, cycle }), stats)
}

/// Decides whether an SCC (given by its members) is a violation: a deadlock, or a non-trivial
/// SCC in which every class enabled at all members is taken by an internal edge.
fn scc_is_bad(
    g: &Explored,
    members: &[u32],
    internal: &dyn Fn(u32) -> bool,
    buf: &mut Vec<u32>,
    buf2: &mut Vec<u32>,
) -> bool {
    if members.len() == 1 {
        let v = members[0];
        if g.is_expanded(v) && g.out(v).next().is_none() {
            return true; // deadlock
        }
        if !g.out(v).any(|e| e.target == v) {
            return false; // trivial SCC: no cycle through it
        }
    }
    // Classes enabled at every member.
    enabled(g, members[0], buf);
    for &m in &members[1..] {
        if buf.is_empty() {
            break;
        }
        enabled(g, m, buf2);
        buf.retain(|c| buf2.binary_search(c).is_ok());
    }
    if buf.is_empty() {
        return true;
    }
    // Each of them must be taken by some internal edge.
    for &m in members {
        for e in g.out(m) {
            if e.class != NONE
                && internal(e.target)
                && let Ok(i) = buf.binary_search(&e.class)
            {
                buf.remove(i);
                if buf.is_empty() {
                    return true;
                }
            }
        }
    }
    false
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

/// Builds a fair cycle through `entry` inside its SCC (which passed the fairness test).
///
/// Greedy and monotone: keep the set of classes enabled at every state of the walk so far
/// minus the classes taken on it; while it is non-empty, pick its smallest class `k` and walk
/// to the nearest state where `k` is disabled or from which an internal `k` edge leaves (and take
/// it). Appending states can only shrink "enabled at every state" and appending edges can only
/// grow "taken", so each `k` is settled for good; finally walk back to `entry`.
fn build_fair_cycle(g: &Explored, entry: u32, in_c: &dyn Fn(u32) -> bool) -> Vec<(u32, Edge)> {
    let mut steps: Vec<(u32, Edge)> = Vec::new();
    let mut inter = Vec::new();
    enabled(g, entry, &mut inter);
    let mut taken: HashSet<u32> = HashSet::new();
    let mut cur = entry;
    let mut buf = Vec::new();
    let push = |steps: &mut Vec<(u32, Edge)>,
                inter: &mut Vec<u32>,
                taken: &mut HashSet<u32>,
                buf: &mut Vec<u32>,
                s: (u32, Edge)| {
        steps.push(s);
        taken.insert(s.1.class);
        enabled(g, s.1.target, buf);
        inter.retain(|c| buf.binary_search(c).is_ok());
    };
    while let Some(&k) = inter.iter().find(|c| !taken.contains(c)) {
        let k_edge = |v: u32| g.out(v).find(|e| e.class == k && in_c(e.target));
        let goal = |v: u32| {
            let mut b = Vec::new();
            enabled(g, v, &mut b);
            b.binary_search(&k).is_err() || k_edge(v).is_some()
        };
        for s in path_in(g, cur, in_c, &goal) {
            push(&mut steps, &mut inter, &mut taken, &mut buf, s);
            cur = s.1.target;
        }
        if inter.contains(&k) && !taken.contains(&k) {
            match k_edge(cur) {
                Some(e) => {
                    push(&mut steps, &mut inter, &mut taken, &mut buf, (cur, e));
                    cur = e.target;
                }
                None => break, // cannot happen for an SCC that passed the test
            }
        }
    }
    if steps.is_empty()
        && let Some(e) = g.out(entry).find(|e| in_c(e.target))
    {
        steps.push((entry, e));
        cur = e.target;
    }
    if cur != entry {
        steps.extend(path_in(g, cur, in_c, &|v| v == entry));
    }
    steps
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
    let mut cur = model
        .init_states()
        .into_iter()
        .find(|s| index_of(s) == Some(start))
        .ok_or_else(|| FairError::Replay("no initial state has the stored fingerprint".into()))?;
    let mut out = Vec::with_capacity(steps.len());
    let mut actions = Vec::new();
    for (i, &(target, class)) in steps.iter().enumerate() {
        actions.clear();
        model.actions(&cur, &mut actions);
        let mut found = None;
        for a in actions.drain(..) {
            if class != ANY {
                let c = model
                    .fair_class(&cur, &a)
                    .and_then(|c| g.class_ids.get(&c.0).copied())
                    .unwrap_or(NONE);
                if c != class {
                    continue;
                }
            }
            if let Some(t) = model.next_state(&cur, a.clone())
                && index_of(&t) == Some(target)
            {
                found = Some((a, t));
                break;
            }
        }
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
