//! The protocol's rules, one function per section of protocol.md: the digest (§3), building a
//! delta from a digest (§4) and applying a node delta (§5). The seeded bugs are the
//! `cfg.variant == …` branches; each is one comparison or one statement away from the rule.

use std::collections::BTreeMap;

use crate::{
    DeltaKind, DigestEntry, DigestRange, GossipConfig, Node, NodeDelta, NodeId, NodeView, Status,
    Update, Variant,
};

fn entry(n: NodeId, v: &NodeView) -> DigestEntry {
    DigestEntry {
        node: n,
        generation: v.generation,
        heartbeat: v.heartbeat,
        watermark: v.watermark,
    }
}

/// §3: one digest entry per known node (forgotten nodes are not in the view), unless the view
/// holds more nodes than [`GossipConfig::digest_entries`]: then §9's partial digest, whose
/// range `[start, end)` is returned too. It lists the own entry first when half the bound
/// holds it (from 2 entries on), then walks the known ids from the digest cursor (wrapping),
/// passing over listed ids at no cost and taking entries while the bound allows (at least one
/// id is walked); `end` is the id after the last one walked, and the cursor moves to it.
pub fn digest(
    cfg: &GossipConfig,
    me: NodeId,
    node: &mut Node,
) -> (Vec<DigestEntry>, Option<DigestRange>) {
    let max = match cfg.digest_entries {
        Some(max) if node.view.len() > max => max,
        _ => return (node.view.iter().map(|(&n, v)| entry(n, v)).collect(), None),
    };
    let ids: Vec<NodeId> = node.view.keys().copied().collect();
    let first = node
        .digest_cursor
        .map_or(0, |c| ids.iter().position(|&n| n >= c).unwrap_or(0));
    let ordered: Vec<NodeId> = ids[first..].iter().chain(&ids[..first]).copied().collect();
    let mut entries = Vec::new();
    if max / 2 >= 1 {
        entries.push(entry(me, &node.view[&me]));
    }
    let listed = entries.len();
    let mut walked = 0;
    for &n in &ordered {
        if entries[..listed].iter().any(|e| e.node == n) {
            walked += 1;
            continue;
        }
        if entries.len() == max {
            break;
        }
        entries.push(entry(n, &node.view[&n]));
        walked += 1;
    }
    let end = ordered[walked.max(1) % ordered.len()];
    if cfg.variant != Variant::RotationNeverAdvances {
        node.digest_cursor = Some(end);
    } // else BUG: the next partial digest starts where this one did.
    let range = DigestRange {
        start: ordered[0],
        end,
    };
    (entries, Some(range))
}

/// §4: the delta `me` sends to a peer whose digest is `peer` (`None`: push mode, the peer's
/// knowledge is unknown, so everything is sent as if the peer knew nothing) and covers `range`
/// (`None`: a complete digest). `by_digest`: the peer gets `me`'s digest in the same exchange
/// (push-pull), so heartbeats travel there and a node delta whose only news is the heartbeat is
/// not sent (§4, "heartbeats travel in digests").
pub fn build_delta(
    cfg: &GossipConfig,
    me: NodeId,
    node: &mut Node,
    peer: Option<&[DigestEntry]>,
    range: Option<DigestRange>,
    by_digest: bool,
) -> Vec<NodeDelta> {
    let peer: BTreeMap<NodeId, DigestEntry> =
        peer.unwrap_or(&[]).iter().map(|e| (e.node, *e)).collect();
    let mut budget = cfg.max_delta;
    let mut delta = Vec::new();
    let mut pushed = node.pushed;
    for (&n, v) in &node.view {
        let d = peer.get(&n);
        // §3: a partial digest says nothing about a node outside its range that it does not
        // list; inside the range, a node it does not list is one the peer does not know.
        let covered = match range {
            None => true,
            // BUG: the range is ignored, only listed nodes count as covered.
            Some(_) if cfg.variant == Variant::PartialDigestListedOnly => d.is_some(),
            Some(r) => r.contains(n) || d.is_some(),
        };
        if !covered {
            continue;
        }
        // A node delta without updates for a generation the peer holds carries the heartbeat
        // only: with `by_digest` it is not sent.
        let heartbeat_only_sent = !by_digest || d.is_none_or(|e| e.generation != v.generation);
        if cfg.variant == Variant::DeltaFromDigestOnly && d.is_none() {
            continue; // BUG: walks the peer's digest instead of its own view.
        }
        // The peer's watermark for this generation (0 if it lacks the generation).
        let (kind, known) = match d {
            // §4.1: the peer lacks this generation.
            None => (full(v), 0),
            Some(e) if e.generation < v.generation => (full(v), 0),
            // §4.2: the peer is behind within this generation.
            Some(e) if e.generation == v.generation && e.watermark < v.watermark => {
                let reset = e.watermark < v.gc_floor && cfg.variant != Variant::GcWithoutReset;
                if reset {
                    (
                        DeltaKind::Reset {
                            gc_floor: v.gc_floor,
                        },
                        e.watermark,
                    )
                } else {
                    (DeltaKind::Incremental { from: e.watermark }, e.watermark)
                }
            }
            // §4.3: only the heartbeat is news.
            Some(e) if e.generation == v.generation && e.heartbeat < v.heartbeat => {
                if heartbeat_only_sent {
                    delta.push(heartbeat_only(n, v, e.watermark));
                }
                continue;
            }
            // §4.4: nothing to send.
            Some(_) => continue,
        };
        let mut updates: Vec<Update> = match kind {
            DeltaKind::Reset { .. } => v.held_changes(),
            DeltaKind::Incremental { from } => v
                .held_changes()
                .into_iter()
                .filter(|u| u.version > from)
                .collect(),
        };
        if cfg.variant == Variant::PushOnce && n == me {
            // BUG: own changes already sent once are never sent again.
            if updates.iter().any(|u| u.version <= node.pushed) {
                if heartbeat_only_sent {
                    delta.push(heartbeat_only(n, v, known));
                }
                continue;
            }
        }
        if budget == 0 && !updates.is_empty() {
            // After the cut, node deltas carry the heartbeat only.
            if heartbeat_only_sent {
                delta.push(heartbeat_only(n, v, known));
            }
            continue;
        }
        // With no updates, nothing below changes: no cut, no budget spent, nothing pushed.
        let mut watermark_after = v.watermark;
        if updates.len() > budget {
            if cfg.variant == Variant::CutNotPrefix {
                // BUG: keeps the newest updates and still claims the full watermark.
                updates.drain(..updates.len() - budget);
            } else {
                updates.truncate(budget);
                watermark_after = updates.last().expect("budget > 0").version;
            }
        }
        budget -= updates.len();
        if cfg.variant == Variant::PushOnce && n == me {
            pushed = pushed.max(updates.last().map_or(0, |u| u.version));
        }
        delta.push(NodeDelta {
            node: n,
            generation: v.generation,
            heartbeat: v.heartbeat,
            kind,
            updates,
            watermark_after,
        });
    }
    node.pushed = pushed;
    delta
}

/// §6 (pull mode): the Syn's own node delta: what a peer lacking the sender's generation
/// would get (§4.1, so a reset once the sender has collected one of its own tombstones),
/// cut by `max_delta`.
pub fn own_node_delta(cfg: &GossipConfig, me: NodeId, node: &mut Node) -> Vec<NodeDelta> {
    let own = node.view[&me].clone();
    let mut only_me = node.clone();
    only_me.view = BTreeMap::from([(me, own)]);
    let delta = build_delta(cfg, me, &mut only_me, None, None, false);
    node.pushed = only_me.pushed;
    delta
}

/// §4.1: what a peer lacking the whole generation gets.
fn full(v: &NodeView) -> DeltaKind {
    if v.gc_floor > 0 {
        DeltaKind::Reset {
            gc_floor: v.gc_floor,
        }
    } else {
        DeltaKind::Incremental { from: 0 }
    }
}

/// §4.3 (and after a cut): a node delta that carries the generation and heartbeat only.
fn heartbeat_only(n: NodeId, v: &NodeView, peer_watermark: u8) -> NodeDelta {
    NodeDelta {
        node: n,
        generation: v.generation,
        heartbeat: v.heartbeat,
        kind: DeltaKind::Incremental {
            from: peer_watermark,
        },
        updates: vec![],
        watermark_after: peer_watermark,
    }
}

/// §5.8: the heartbeats of a digest `me` received. For every node `me` holds at the entry's
/// generation (never itself), the entry's heartbeat is received as a node delta's is (§5.7).
pub fn apply_digest_heartbeats(cfg: &GossipConfig, me: NodeId, node: &mut Node, d: &[DigestEntry]) {
    for e in d {
        if e.node == me {
            continue;
        }
        let Some(v) = node.view.get_mut(&e.node) else {
            continue;
        };
        if v.generation == e.generation || cfg.variant == Variant::DigestHeartbeatAnyGeneration {
            receive_heartbeat(cfg, v, e.heartbeat); // BUG if the generations differ.
        }
    }
}

/// §5: `me` applies a whole delta, node delta by node delta.
pub fn apply_delta(cfg: &GossipConfig, me: NodeId, node: &mut Node, delta: &[NodeDelta]) {
    for nd in delta {
        apply_node_delta(cfg, me, node, nd);
    }
}

/// §5: `me` applies one node delta.
pub fn apply_node_delta(cfg: &GossipConfig, me: NodeId, node: &mut Node, nd: &NodeDelta) {
    let variant = cfg.variant;
    // §5.1: gossip about oneself is ignored.
    if nd.node == me {
        return;
    }
    // §5.2: no zombies. The record is dropped only when the node state is re-created (§5.4).
    if let Some(f) = node.forgotten.get(&nd.node) {
        let stale = nd.generation < f.generation
            || (nd.generation == f.generation && (f.left || nd.heartbeat <= f.heartbeat));
        if stale {
            return;
        }
    }
    let gap_check = variant != Variant::ApplyPastGap;
    let held = node.view.get(&nd.node).map(|v| v.generation);
    let fresh_generation = match held {
        // §5.3: an older generation never overwrites a newer one.
        Some(g) if g > nd.generation => {
            if variant != Variant::AcceptOlderGeneration {
                return;
            }
            true // BUG: replaces the newer generation.
        }
        Some(g) if g == nd.generation => variant == Variant::EqualGenerationWins, // BUG if true
        _ => true,
    };
    if fresh_generation {
        // §5.4: a new generation must start from the beginning.
        let from_start = match nd.kind {
            DeltaKind::Reset { .. } => true,
            DeltaKind::Incremental { from } => from == 0,
        };
        if !from_start && gap_check {
            return;
        }
        node.view
            .insert(nd.node, NodeView::empty(nd.generation, nd.heartbeat));
        node.forgotten.remove(&nd.node);
    }
    let v = node.view.get_mut(&nd.node).expect("inserted above");
    match nd.kind {
        // §5.5
        DeltaKind::Reset { gc_floor } => {
            if nd.watermark_after > v.watermark {
                v.entries.clear();
                v.left = None;
                for u in &nd.updates {
                    set(v, u);
                }
                v.watermark = nd.watermark_after;
                v.gc_floor = v.gc_floor.max(gc_floor);
            }
        }
        // §5.6
        DeltaKind::Incremental { from } => {
            if v.watermark >= from || !gap_check {
                for u in &nd.updates {
                    let current = current_version(v, u);
                    let above_watermark =
                        u.version > v.watermark || variant == Variant::ResurrectAfterGc;
                    if current.is_none_or(|c| u.version > c) && above_watermark {
                        set(v, u);
                    }
                }
                v.watermark = v.watermark.max(nd.watermark_after);
            }
        }
    }
    // §5.7: heartbeat and status.
    receive_heartbeat(cfg, v, nd.heartbeat);
}

/// §5.7: heartbeat `h` of the held generation arrives: a fresh one revives a dead node, and a
/// held leave marker makes the status `left` regardless.
fn receive_heartbeat(cfg: &GossipConfig, v: &mut NodeView, h: crate::Heartbeat) {
    let fresh = h > v.heartbeat;
    v.heartbeat = v.heartbeat.max(h);
    if v.status == Status::Dead && (fresh || cfg.variant == Variant::ReviveOnStaleGossip) {
        v.status = Status::Alive;
    }
    if v.left.is_some() {
        v.status = Status::Left;
    }
}

/// The version of the held change the update competes with (same key, or the leave marker).
fn current_version(v: &NodeView, u: &Update) -> Option<u8> {
    match u.change {
        crate::Change::Set { key, .. } | crate::Change::Delete { key } => {
            v.entries.get(&key).map(|e| e.0)
        }
        crate::Change::Leave => v.left,
    }
}

/// Stores an update in a view.
fn set(v: &mut NodeView, u: &Update) {
    match u.change {
        crate::Change::Set { key, value } => {
            v.entries.insert(key, (u.version, Some(value)));
        }
        crate::Change::Delete { key } => {
            v.entries.insert(key, (u.version, None));
        }
        crate::Change::Leave => v.left = Some(u.version),
    }
}
