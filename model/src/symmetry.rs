//! Symmetry reduction over node permutations.
//!
//! Two nodes are interchangeable when they are both seeds or both non-seeds: seeds are
//! special (every node may gossip with them before it knows anyone). The representative of a
//! state is the smallest (by `Ord`) of its renamings under every permutation that maps seeds
//! to seeds: simple, and obviously a canonical form.
//!
//! The protocol is symmetric only when no delta is ever cut *across* nodes: the cut takes
//! updates in node-id order (protocol.md §4), so renaming nodes changes which node's updates
//! are sent first. [`crate::GossipModel::symmetric_nodes`] says when the reduction is sound.

use std::collections::BTreeMap;

use crate::{
    DigestEntry, DigestRange, Envelope, GossipState, Msg, Node, NodeDelta, NodeId, NodeView,
    TransitionGhost,
};

/// The canonical representative of `s` under seed-preserving node permutations.
///
/// Only permutations that place interchangeable nodes in the order of their [`signature`]s
/// are tried (a signature mentions no node id, so renaming nodes moves signatures without
/// changing them). For a renaming `s' = σ(s)` the tried permutations are exactly those for
/// `s` composed with σ⁻¹, which give the same renamed states, so the minimum is the same: still
/// a canonical member of the orbit, and the smallest of fewer candidates (usually one).
pub fn representative(s: &GossipState) -> GossipState {
    let n = s.nodes.len();
    let sig: Vec<Signature<'_>> = (0..n).map(|i| signature(s, i)).collect();
    let same_class = |i: usize, j: usize| s.nodes[i].seed == s.nodes[j].seed;
    let mut best: Option<GossipState> = None;
    let mut perm: Vec<usize> = (0..n).collect();
    permutations(&mut perm, 0, &mut |p| {
        let seeds_kept = (0..n).all(|i| same_class(i, p[i]));
        let sorted =
            (0..n).all(|i| (0..n).all(|j| !same_class(i, j) || sig[i] >= sig[j] || p[i] < p[j]));
        if seeds_kept && sorted {
            let r = rename(s, p);
            if best.as_ref().is_none_or(|b| r < *b) {
                best = Some(r);
            }
        }
    });
    best.expect("the identity is a permutation")
}

/// What node `i` is, without any node id: running or not, its budgets used, its own node state
/// (generation, heartbeat, entries, leave marker, watermark, gc floor, status: none holds a node
/// id), and how many nodes it knows and has forgotten.
type Signature<'a> = (bool, u8, u8, u8, Option<&'a NodeView>, usize, usize);

fn signature(s: &GossipState, i: usize) -> Signature<'_> {
    let node = &s.nodes[i];
    (
        node.up,
        node.writes,
        node.deletes,
        node.pushed,
        node.view.get(&(i as NodeId)),
        node.view.len(),
        node.forgotten.len(),
    )
}

fn permutations(p: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
    if k == p.len() {
        f(p);
        return;
    }
    for i in k..p.len() {
        p.swap(k, i);
        permutations(p, k + 1, f);
        p.swap(k, i);
    }
}

/// Renames node `i` to `p[i]` everywhere.
pub fn rename(s: &GossipState, p: &[usize]) -> GossipState {
    let id = |n: NodeId| p[n as usize] as NodeId;
    let mut nodes: Vec<Option<Node>> = vec![None; s.nodes.len()];
    let mut changes = vec![0; s.nodes.len()];
    for (i, node) in s.nodes.iter().enumerate() {
        nodes[p[i]] = Some(Node {
            view: node.view.iter().map(|(&k, v)| (id(k), v.clone())).collect(),
            forgotten: node.forgotten.iter().map(|(&k, f)| (id(k), *f)).collect(),
            digest_cursor: node.digest_cursor.map(id),
            ..node.clone()
        });
        changes[p[i]] = s.changes[i];
    }
    let digest = |d: &[DigestEntry]| {
        let mut d: Vec<DigestEntry> = d
            .iter()
            .map(|e| DigestEntry {
                node: id(e.node),
                ..*e
            })
            .collect();
        d.sort_by_key(|e| e.node);
        d
    };
    // Only used when node symmetry is sound, which partial digests (whose ranges follow the id
    // order) rule out: renamed for completeness.
    let range = |r: DigestRange| DigestRange {
        start: id(r.start),
        end: id(r.end),
    };
    let delta = |d: &[NodeDelta]| {
        let mut d: Vec<NodeDelta> = d
            .iter()
            .map(|e| NodeDelta {
                node: id(e.node),
                ..e.clone()
            })
            .collect();
        d.sort_by_key(|e| e.node);
        d
    };
    let mut network: Vec<Envelope> = s
        .network
        .iter()
        .map(|e| Envelope {
            from: id(e.from),
            to: id(e.to),
            msg: match &e.msg {
                Msg::Syn {
                    digest: g,
                    delta: x,
                    range: r,
                } => Msg::Syn {
                    digest: digest(g),
                    delta: delta(x),
                    range: r.map(range),
                },
                Msg::SynAck {
                    digest: g,
                    delta: x,
                    range: r,
                } => Msg::SynAck {
                    digest: digest(g),
                    delta: delta(x),
                    range: r.map(range),
                },
                Msg::Ack { delta: x } => Msg::Ack { delta: delta(x) },
            },
        })
        .collect();
    // Canonical order: a stable sort by link keeps each link's FIFO order (ordered network);
    // for an unordered network the multiset is fully sorted.
    if s.ordered_network {
        network.sort_by_key(|e| (e.from, e.to));
    } else {
        network.sort();
    }
    GossipState {
        nodes: nodes
            .into_iter()
            .map(|n| n.expect("a permutation"))
            .collect(),
        network,
        crashes: s.crashes,
        restarts: s.restarts,
        history: s
            .history
            .iter()
            .map(|&(n, g, v, c)| (id(n), g, v, c))
            .collect(),
        changes,
        violations: s.violations.clone(),
        ghost: TransitionGhost {
            forgotten: s
                .ghost
                .forgotten
                .iter()
                .map(|(&(x, n), f)| ((id(x), id(n)), *f))
                .collect::<BTreeMap<_, _>>(),
            convicted: s
                .ghost
                .convicted
                .iter()
                .map(|(&(x, n), &c)| ((id(x), id(n)), c))
                .collect(),
            ended_runs: s
                .ghost
                .ended_runs
                .iter()
                .map(|(&(n, g), &h)| ((id(n), g), h))
                .collect(),
            dropped_tombstones: s
                .ghost
                .dropped_tombstones
                .iter()
                .map(|(&(x, n, g, k), &v)| ((id(x), id(n), g, k), v))
                .collect(),
        },
        ordered_network: s.ordered_network,
    }
}

/// Per-owner key symmetry: the representative of `s` that renames, for every owner node
/// separately, its keys in the order in which the owner first wrote or deleted them (by
/// generation and version, from the ghost write history); keys the owner never changed keep
/// their relative order after those.
///
/// Why it is a symmetry. Keys are data of their owner: every rule of protocol.md (digest, delta,
/// cut, apply) and every property compares keys only within one owner's node state (an entry,
/// a tombstone, a delta's update and a history record always carry the owner's id), never
/// across owners, and no key is special (`Write` ranges over every key, values are per key).
/// Renaming owner `o`'s keys by any permutation, everywhere data about `o` appears (every
/// view of `o`, every node delta about `o`, `o`'s history and dropped-tombstone records), maps
/// steps to steps and violations to violations. The one rule that sorts by key is the order of
/// changes with the *same* version, which a correct protocol never holds for one owner and
/// generation (versions are unique within a generation); a seeded bug that repeats versions
/// (`reuse-generation-on-restart`, `delete-reuses-version`) could break the symmetry only
/// with two keys, and the tests check that every seeded bug is still caught with it.
///
/// The result is always a renaming of `s`, so the reduction is sound for any predicate that
/// is invariant under key renaming (all of `properties::all()`); it is canonical (equal for
/// every member of the orbit) whenever the owners' histories order their keys without ties.
pub fn key_representative(s: &GossipState) -> GossipState {
    use crate::{Change, Key, Update};
    let n = s.nodes.len();
    // map[o][k] = the new name of owner o's key k.
    let mut map: Vec<Vec<Option<Key>>> = vec![Vec::new(); n];
    let mut next: Vec<Key> = vec![0; n];
    let mut assign = |map: &mut Vec<Vec<Option<Key>>>, o: usize, k: Key| {
        let m = &mut map[o];
        if m.len() <= k as usize {
            m.resize(k as usize + 1, None);
        }
        if m[k as usize].is_none() {
            m[k as usize] = Some(next[o]);
            next[o] += 1;
        }
    };
    // History is ordered by (node, generation, version, change): first writes first.
    for &(o, _, _, c) in &s.history {
        if let Change::Set { key, .. } | Change::Delete { key } = c
            && (o as usize) < n
        {
            assign(&mut map, o as usize, key);
        }
    }
    // Keys held but never recorded (possible only in a seeded bug): after those, in key order.
    let mut extra: Vec<(usize, Key)> = Vec::new();
    for node in &s.nodes {
        for (&o, v) in &node.view {
            extra.extend(v.entries.keys().map(|&k| (o as usize, k)));
        }
    }
    for e in &s.network {
        for d in e.msg.delta() {
            for u in &d.updates {
                if let Change::Set { key, .. } | Change::Delete { key } = u.change {
                    extra.push((d.node as usize, key));
                }
            }
        }
    }
    extra.extend(
        s.ghost
            .dropped_tombstones
            .keys()
            .map(|&(_, o, _, k)| (o as usize, k)),
    );
    extra.sort_unstable();
    for (o, k) in extra {
        if o < n {
            assign(&mut map, o, k);
        }
    }
    let identity = map.iter().all(|m| {
        m.iter()
            .enumerate()
            .all(|(k, v)| v.is_none_or(|v| v as usize == k))
    });
    if identity {
        return s.clone();
    }
    let key = |o: NodeId, k: Key| -> Key {
        map.get(o as usize)
            .and_then(|m| m.get(k as usize).copied().flatten())
            .unwrap_or(k)
    };
    let change = |o: NodeId, c: Change| -> Change {
        match c {
            Change::Set { key: k, value } => Change::Set {
                key: key(o, k),
                value,
            },
            Change::Delete { key: k } => Change::Delete { key: key(o, k) },
            Change::Leave => Change::Leave,
        }
    };
    let mut r = s.clone();
    for node in &mut r.nodes {
        for (&o, v) in node.view.iter_mut() {
            v.entries = v.entries.iter().map(|(&k, &e)| (key(o, k), e)).collect();
        }
    }
    let delta = |d: &mut Vec<NodeDelta>| {
        for nd in d.iter_mut() {
            let o = nd.node;
            for u in nd.updates.iter_mut() {
                *u = Update {
                    version: u.version,
                    change: change(o, u.change),
                };
            }
            // Updates stay in version order; ties (seeded bugs only) by change.
            nd.updates.sort();
        }
    };
    for e in &mut r.network {
        match &mut e.msg {
            Msg::Syn { delta: d, .. } | Msg::SynAck { delta: d, .. } | Msg::Ack { delta: d } => {
                delta(d)
            }
        }
    }
    if !r.ordered_network {
        r.network.sort();
    }
    r.history = s
        .history
        .iter()
        .map(|&(o, g, v, c)| (o, g, v, change(o, c)))
        .collect();
    r.ghost.dropped_tombstones = s
        .ghost
        .dropped_tombstones
        .iter()
        .map(|(&(x, o, g, k), &v)| ((x, o, g, key(o, k)), v))
        .collect();
    r
}
