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

use crate::{DigestEntry, Envelope, GossipState, Msg, Node, NodeDelta, NodeId};

/// The canonical representative of `s` under seed-preserving node permutations.
pub fn representative(s: &GossipState) -> GossipState {
    let n = s.nodes.len();
    let mut best: Option<GossipState> = None;
    let mut perm: Vec<usize> = (0..n).collect();
    permutations(&mut perm, 0, &mut |p| {
        if (0..n).all(|i| s.nodes[i].seed == s.nodes[p[i]].seed) {
            let r = rename(s, p);
            if best.as_ref().is_none_or(|b| r < *b) {
                best = Some(r);
            }
        }
    });
    best.expect("the identity is a permutation")
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
                } => Msg::Syn {
                    digest: digest(g),
                    delta: delta(x),
                },
                Msg::SynAck {
                    digest: g,
                    delta: x,
                } => Msg::SynAck {
                    digest: digest(g),
                    delta: delta(x),
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
        forgotten_ghost: s
            .forgotten_ghost
            .iter()
            .map(|(&(x, n), f)| ((id(x), id(n)), *f))
            .collect::<BTreeMap<_, _>>(),
        violations: s.violations.clone(),
        dropped_tombstones: s
            .dropped_tombstones
            .iter()
            .map(|(&(x, n, g, k), &v)| ((id(x), id(n), g, k), v))
            .collect(),
        ordered_network: s.ordered_network,
    }
}
