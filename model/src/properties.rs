//! The properties. Each is named by the English sentence it asserts; the constants in
//! [`names`] are those sentences. Three kinds:
//!
//! * **safety** (`always`), either a state invariant checked against the ghost write history,
//!   or a *transition check* recorded by `next_state` into the ghost `violations` set;
//! * **quiescence-conditioned liveness** (`always`): "once quiescent, …", where *quiescent*
//!   means nothing is in flight and no single reliable gossip round (simulated with the
//!   model's own `next_state`) would change any node. Stateright's `eventually` is unsound on
//!   cycles, and a gossiping model is all cycles, so it is not used;
//! * **reachability** (`sometimes`): every interesting situation is reached, so no property
//!   holds vacuously.

use std::collections::BTreeMap;

use stateright::{Model, Property};

use crate::{
    Change, DeltaKind, Generation, GossipAction, GossipModel, GossipState, Heartbeat, Key, NodeId,
    NodeView, Status, Version, Violation,
};

/// The property names, each an English sentence.
pub mod names {
    /// Every key-value (or tombstone) any node holds for (node, generation, version) is the
    /// change that owner made at that version.
    pub const NO_INVENTED_VALUE: &str =
        "no node holds a value its owner never wrote at that version";
    /// Two views never disagree about what (node, generation, key, version) is.
    pub const SAME_VALUE: &str =
        "two nodes holding the same node, generation, key and version hold the same value";
    /// protocol.md §2: applying the owner's changes above a view's watermark to the view
    /// yields the owner's state, and no entry is above the watermark.
    pub const WATERMARK_RULE: &str = "every watermark is sound: the owner's changes above it turn the view into the owner's state";
    /// Transition check: within a generation, a view's watermark and heartbeat only grow, and a
    /// node re-learned after it was forgotten comes back at no lower heartbeat (in the
    /// generation it was forgotten at) than the one it was forgotten at.
    pub const MONOTONIC: &str =
        "watermarks and heartbeats seen for a node never go backwards within a generation";
    /// Transition check: the generation a view holds for a node only grows, also across
    /// forgetting the node (the generation it was forgotten at counts). That the generation is
    /// one the node really ran is [`HEARTBEAT_PROVENANCE`].
    pub const NO_OLDER_GENERATION: &str =
        "state of an older generation never overwrites a newer one";
    /// Transition check plus ghost: once a node holds a tombstone for (node, generation, key)
    /// at version v, it never holds a value of that key with a version below v, neither in
    /// place of the tombstone nor after the tombstone was collected or replaced by a reset
    /// (while it keeps that generation of the node). A node that never applied the tombstone
    /// may hold an older value as long as the watermark rule allows it (a newer change above
    /// its watermark will replace it); so may a node that forgot the node and re-learned it,
    /// which starts from nothing, until it applies the tombstone again.
    pub const NO_RESURRECTION: &str = "a deleted key never reappears at a node that applied its tombstone, even after garbage collection";
    /// Transition check against the ghost history: after X forgot N at (generation g,
    /// heartbeat h), X holds N again only at a generation above g, or at g (if X had not seen
    /// N leave) with a heartbeat above h, and in either case at a heartbeat that N really
    /// reached in that generation (the owners' history, not the word of the message that
    /// brought it); and a held leave marker is never lost.
    pub const NO_ZOMBIE: &str = "a node that left or was forgotten never reappears without a fresh heartbeat or a higher generation";
    /// Transition check on every step: a node's own state changes only by its own local steps
    /// (its application's writes, deletes and leave, its gossip timer, its restart, collecting
    /// its own tombstones), never by a delivery, a redelivery or another node's step.
    pub const OWN_STATE: &str = "no node's own state is changed by gossip from others";
    /// Transition check against the ghost history: when X's view of N goes from dead to alive,
    /// X then holds a heartbeat that N really reached in the generation X holds, and either a
    /// newer generation than the one X convicted or a heartbeat above the one X held when it
    /// convicted N.
    pub const REVIVAL: &str =
        "a dead node is revived only by a fresh heartbeat or a newer generation";
    /// State invariant against the owners' heartbeat history: for every view X holds of N at
    /// generation g, N really ran g and reached at least that heartbeat in it (its own view
    /// for its current run, the ghost record for the runs it ended by restarting). Checked at
    /// every state, so a rule that takes a heartbeat from the wrong generation is caught at the
    /// step that stores it.
    pub const HEARTBEAT_PROVENANCE: &str = "every heartbeat a node holds for a node's generation is one that node really reached in that generation";
    /// Quiescence-conditioned convergence.
    pub const CONVERGENCE: &str =
        "once quiescent, two live nodes that know each other agree on every node they both know";
    /// Quiescence-conditioned join.
    pub const JOIN: &str =
        "once quiescent with a live seed, every live node knows every other live node";
    /// Quiescence-conditioned leave.
    pub const LEAVE_SEEN: &str =
        "once quiescent, a running node that left is seen as left by every live node that knows it";
    /// Quiescence-conditioned failure-detector accuracy: false convictions are undone.
    pub const ALIVE_SEEN: &str = "once quiescent, every live node is seen alive by every live node that knows its generation";

    /// Reachability.
    pub const R_WRITE_SPREADS: &str = "a write reaches another node";
    /// Reachability.
    pub const R_CONVERGED_AFTER_WRITE: &str = "all live nodes converge after a write";
    /// Reachability.
    pub const R_DELETE_SPREADS: &str = "a delete reaches another node";
    /// Reachability.
    pub const R_TOMBSTONE_COLLECTED: &str = "a tombstone is collected";
    /// Reachability.
    pub const R_RESET_SENT: &str = "a reset delta is in flight";
    /// Reachability.
    pub const R_RESET_APPLIED: &str =
        "a reset that will replace a stale view is deliverable to a running node";
    /// Reachability. Witnessed one step early and exactly: delivering some deliverable message
    /// (or, in push mode, starting a round) would build a delta that `max_delta` cuts.
    pub const R_CUT: &str = "a delta is cut by max_delta";
    /// Reachability.
    pub const R_CONVICTED: &str = "a node is convicted";
    /// Reachability.
    pub const R_FALSELY_CONVICTED: &str = "a running node is falsely convicted";
    /// Reachability.
    pub const R_CRASH_DETECTED: &str =
        "a crashed node is seen dead by every live node that knows it";
    /// Reachability.
    pub const R_FORGOTTEN: &str = "a node is forgotten";
    /// Reachability.
    pub const R_RESTART_SEEN: &str = "a restart is seen by another node";
    /// Reachability.
    pub const R_LEAVE_SEEN: &str = "a leave is seen by another node";
    /// Reachability.
    pub const R_DUPLICATE: &str = "two copies of one message are in flight";
    /// Reachability.
    pub const R_JOINED: &str = "every live node knows every other live node";
}

use names::*;

/// A node is *live* when its process runs and it has not left.
pub fn is_live(s: &GossipState, i: usize) -> bool {
    s.nodes[i].up && s.nodes[i].view[&(i as NodeId)].left.is_none()
}

fn up_nodes(s: &GossipState) -> impl Iterator<Item = usize> + '_ {
    (0..s.nodes.len()).filter(|&i| s.nodes[i].up)
}

fn live_nodes(s: &GossipState) -> impl Iterator<Item = usize> + '_ {
    (0..s.nodes.len()).filter(|&i| is_live(s, i))
}

/// Every view of every node, as (observer, subject, view).
fn views(s: &GossipState) -> impl Iterator<Item = (usize, NodeId, &NodeView)> {
    s.nodes
        .iter()
        .enumerate()
        .flat_map(|(x, n)| n.view.iter().map(move |(&m, v)| (x, m, v)))
}

/// The changes the owner made in `(node, generation)`, in version order.
fn history_of(s: &GossipState, node: NodeId, generation: u8) -> Vec<(u8, Change)> {
    s.history
        .range((node, generation, 0, Change::Leave)..)
        .take_while(|(n, g, _, _)| (*n, *g) == (node, generation))
        .map(|&(_, _, v, c)| (v, c))
        .collect()
}

fn change_key(c: &Change) -> Option<u8> {
    match *c {
        Change::Set { key, .. } | Change::Delete { key } => Some(key),
        Change::Leave => None,
    }
}

fn no_invented_value(_: &GossipModel, s: &GossipState) -> bool {
    views(s).all(|(_, n, v)| {
        v.entries.iter().all(|(&key, &(version, value))| {
            let change = match value {
                Some(value) => Change::Set { key, value },
                None => Change::Delete { key },
            };
            s.history.contains(&(n, v.generation, version, change))
        })
    })
}

fn same_value(_: &GossipModel, s: &GossipState) -> bool {
    let mut seen = BTreeMap::new();
    views(s).all(|(_, n, v)| {
        v.entries.iter().all(|(&key, &(version, value))| {
            *seen.entry((n, v.generation, key, version)).or_insert(value) == value
        })
    })
}

fn watermark_rule(_: &GossipModel, s: &GossipState) -> bool {
    views(s).all(|(_, n, v)| {
        let w = v.watermark;
        if v.entries.values().any(|e| e.0 > w) || v.left.is_some_and(|l| l > w) {
            return false;
        }
        let history = history_of(s, n, v.generation);
        // The leave marker: held iff the owner left at a version the watermark covers.
        if history
            .iter()
            .any(|(ver, c)| *c == Change::Leave && *ver <= w)
            && v.left.is_none()
        {
            return false;
        }
        // Each key: if the owner changed it above w, those changes will fix it; otherwise the
        // view must hold the owner's latest change ≤ w (or, for a tombstone within the gc
        // floor, nothing at all).
        let keys: std::collections::BTreeSet<u8> = history
            .iter()
            .filter_map(|(_, c)| change_key(c))
            .chain(v.entries.keys().copied())
            .collect();
        keys.into_iter().all(|k| {
            let of_k = history.iter().filter(|(_, c)| change_key(c) == Some(k));
            if of_k.clone().any(|(ver, _)| *ver > w) {
                return true;
            }
            let held = v.entries.get(&k);
            match of_k.max_by_key(|(ver, _)| *ver) {
                None => held.is_none(),
                Some(&(ver, Change::Delete { .. })) => match held {
                    None => ver <= v.gc_floor,
                    Some(&(hv, value)) => hv == ver && value.is_none(),
                },
                Some(&(ver, _)) => held.is_some_and(|&(hv, value)| hv == ver && value.is_some()),
            }
        })
    })
}

fn heartbeat_provenance(_: &GossipModel, s: &GossipState) -> bool {
    views(s).all(|(_, n, v)| {
        reached(&s.nodes, &s.ghost.ended_runs, n, v.generation)
            .is_some_and(|top| v.heartbeat <= top)
    })
}

fn no_resurrection(_: &GossipModel, s: &GossipState) -> bool {
    no_violation(s, Violation::Resurrected)
        && s.ghost
            .dropped_tombstones
            .iter()
            .all(|(&(x, n, g, k), &dropped)| {
                s.nodes[x as usize].view.get(&n).is_none_or(|v| {
                    v.generation != g
                        || v.entries
                            .get(&k)
                            .is_none_or(|&(version, value)| value.is_none() || version >= dropped)
                })
            })
}

/// The highest heartbeat `node` really reached in `generation`, from the owners' history: its
/// own view for its current run (a crashed node's state is kept until it restarts), and the
/// ghost record of the runs it ended by restarting. `None` if it never ran that generation.
pub fn reached(
    nodes: &[crate::Node],
    ended_runs: &BTreeMap<(NodeId, Generation), Heartbeat>,
    node: NodeId,
    generation: Generation,
) -> Option<Heartbeat> {
    let current = nodes
        .get(node as usize)
        .and_then(|n| n.view.get(&node))
        .filter(|v| v.generation == generation)
        .map(|v| v.heartbeat);
    current.max(ended_runs.get(&(node, generation)).copied())
}

/// Whether `action` is one of node `x`'s own local steps, the only steps that may change its
/// own node state: a write, delete or leave by its application, its gossip timer (the
/// heartbeat), its restart, and collecting its own tombstones.
fn own_step(action: &GossipAction, x: NodeId) -> bool {
    match *action {
        GossipAction::Write { node, .. }
        | GossipAction::Delete { node, .. }
        | GossipAction::Leave { node }
        | GossipAction::Restart { node } => node == x,
        GossipAction::Gossip { from, .. } => from == x,
        GossipAction::CollectTombstones { node, subject } => node == x && subject == x,
        _ => false,
    }
}

/// The transition checks of the history-dependent safety properties (`MONOTONIC`,
/// `NO_OLDER_GENERATION`, `NO_ZOMBIE`, `OWN_STATE`, `REVIVAL`, `NO_RESURRECTION`): compares
/// every node's view before and after `action`, against the ghost history in `ghost` (what each
/// observer forgot and convicted, the heartbeats of the runs that ended, the tombstones
/// dropped), adds what it violates to `found`, and then brings `ghost` up to date with the
/// step. Shared by the model's `next_state` and the conformance harness, which applies it to
/// the implementation's abstracted states, so both check exactly the same thing.
///
/// * `MONOTONIC`: within a generation, a view's watermark and heartbeat never decrease, and a
///   node re-learned after being forgotten comes back at no lower heartbeat than it was
///   forgotten at (in that generation).
/// * `NO_OLDER_GENERATION`: a view's generation never decreases, also across forgetting the
///   node (the generation it was forgotten at counts).
/// * `NO_ZOMBIE`: after X forgot N at (g, h), X holds N again only at a generation above g,
///   or at g (if X had not seen N leave) with a heartbeat above h; either way one that N
///   really reached in that generation (the owners' history, not the message's word); a held
///   leave marker is never lost.
/// * `OWN_STATE`: a node's own state changes only by its own local steps ([`own_step`]): never
///   by a delivery, a redelivery, or any other node's step.
/// * `REVIVAL`: when X's view of N goes from dead to alive, X then holds a heartbeat that N
///   really reached in the generation X holds, and either a newer generation than the one X
///   convicted or a heartbeat above the one X held when it convicted N.
pub fn check_transition(
    before: &[crate::Node],
    action: &GossipAction,
    after: &[crate::Node],
    ghost: &mut crate::TransitionGhost,
    found: &mut std::collections::BTreeSet<Violation>,
) {
    let restarted = match action {
        GossipAction::Restart { node } => Some(*node as usize),
        _ => None,
    };
    // The owners' history: a restart ends a run; its last heartbeat is kept.
    if let Some(r) = restarted
        && let Some(own) = before[r].view.get(&(r as NodeId))
    {
        let h = ghost
            .ended_runs
            .entry((r as NodeId, own.generation))
            .or_insert(own.heartbeat);
        *h = (*h).max(own.heartbeat);
    }
    let really = |n: NodeId, v: &NodeView| {
        reached(after, &ghost.ended_runs, n, v.generation).is_some_and(|top| v.heartbeat <= top)
    };
    for (x, (b, a)) in before.iter().zip(after).enumerate() {
        if restarted == Some(x) {
            continue; // a new incarnation starts from nothing
        }
        let me = x as NodeId;
        for (&n, bv) in &b.view {
            let Some(av) = a.view.get(&n) else { continue };
            if av.generation < bv.generation {
                found.insert(Violation::OlderGeneration);
            } else if av.generation == bv.generation {
                if av.heartbeat < bv.heartbeat || av.watermark < bv.watermark {
                    found.insert(Violation::Backwards);
                }
                if bv.left.is_some() && av.left.is_none() {
                    found.insert(Violation::Zombie);
                }
            }
            if bv.status == Status::Dead && av.status == Status::Alive {
                // What X held when it convicted N (the view before, if no record exists).
                let (cg, ch) = ghost
                    .convicted
                    .get(&(me, n))
                    .copied()
                    .unwrap_or((bv.generation, bv.heartbeat));
                let newer = av.generation > cg || (av.generation == cg && av.heartbeat > ch);
                if !(newer && really(n, av)) {
                    found.insert(Violation::StaleRevival);
                }
            }
        }
        for (&n, av) in &a.view {
            if b.view.contains_key(&n) {
                continue;
            }
            if let Some(f) = ghost.forgotten.get(&(me, n)) {
                if av.generation < f.generation {
                    found.insert(Violation::OlderGeneration);
                }
                if av.generation == f.generation && av.heartbeat < f.heartbeat {
                    found.insert(Violation::Backwards);
                }
                let fresh = av.generation > f.generation
                    || (av.generation == f.generation && !f.left && av.heartbeat > f.heartbeat);
                if !(fresh && really(n, av)) {
                    found.insert(Violation::Zombie);
                }
            }
        }
        if !own_step(action, me) && b.view.get(&me) != a.view.get(&me) {
            found.insert(Violation::OwnStateChanged);
        }
    }
    // Bring the observers' history up to date.
    match *action {
        GossipAction::Forget { observer, subject } => {
            if let Some(v) = before[observer as usize].view.get(&subject) {
                let record = crate::Forgotten {
                    generation: v.generation,
                    heartbeat: v.heartbeat,
                    left: v.left.is_some(),
                };
                ghost.forgotten.insert((observer, subject), record);
            }
        }
        GossipAction::Convict { observer, subject } => {
            if let Some(v) = after[observer as usize].view.get(&subject) {
                ghost
                    .convicted
                    .insert((observer, subject), (v.generation, v.heartbeat));
            }
        }
        _ => {}
    }
    if let Some(r) = restarted {
        ghost.forgotten.retain(|&(x, _), _| x as usize != r);
        ghost.convicted.retain(|&(x, _), _| x as usize != r);
    }
    ghost
        .forgotten
        .retain(|&(x, n), _| !after[x as usize].view.contains_key(&n));
    ghost.convicted.retain(|&(x, n), _| {
        after[x as usize]
            .view
            .get(&n)
            .is_some_and(|v| v.status == Status::Dead)
    });
    check_tombstones(
        before,
        after,
        restarted,
        &mut ghost.dropped_tombstones,
        found,
    );
}

/// The transition check of [`names::NO_RESURRECTION`], shared with the conformance harness
/// through [`check_transition`]: for every observer (except `restarted`, whose new run starts
/// from nothing) and every node it holds in the same generation before and after the step, a
/// tombstone held before that is replaced by a value with a lower version is a
/// [`Violation::Resurrected`]; a tombstone that is gone after the step (collected, or replaced
/// by a reset) is recorded in `dropped` (observer, node, generation, key) → highest version, so
/// that the property can tell a resurrection after garbage collection. Records of a generation
/// the observer no longer holds are removed: after forgetting a node the observer is, for that
/// node, one that never saw the delete, and what it re-learns is checked by the watermark rule
/// (the record would wrongly flag an older value that the rule allows because a later change of
/// the key, above the watermark, will replace it).
pub fn check_tombstones(
    before: &[crate::Node],
    after: &[crate::Node],
    restarted: Option<usize>,
    dropped: &mut BTreeMap<(NodeId, NodeId, Generation, Key), Version>,
    found: &mut std::collections::BTreeSet<Violation>,
) {
    for (x, (b, a)) in before.iter().zip(after).enumerate() {
        if restarted == Some(x) {
            continue;
        }
        for (&n, bv) in &b.view {
            let Some(av) = a.view.get(&n) else { continue };
            if av.generation != bv.generation {
                continue;
            }
            for (&k, &(tv, value)) in &bv.entries {
                if value.is_some() {
                    continue;
                }
                match av.entries.get(&k) {
                    None => {
                        let r = dropped
                            .entry((x as NodeId, n, bv.generation, k))
                            .or_insert(tv);
                        *r = (*r).max(tv);
                    }
                    Some(&(v, Some(_))) if v < tv => {
                        found.insert(Violation::Resurrected);
                    }
                    Some(_) => {}
                }
            }
        }
    }
    dropped.retain(|&(x, n, g, _), _| {
        after[x as usize]
            .view
            .get(&n)
            .is_some_and(|v| v.generation == g)
    });
}

fn no_violation(s: &GossipState, v: Violation) -> bool {
    !s.violations.contains(&v)
}

/// The part of a view that must agree across nodes at quiescence: tombstones and gc floors
/// are local bookkeeping, statuses are local verdicts.
fn agreed(v: &NodeView) -> impl PartialEq + '_ {
    (v.generation, v.heartbeat, v.watermark, v.left, v.values())
}

/// Any two live nodes that know each other agree on every node they both know. (Live nodes
/// that do not know each other may disagree: with their seeds down they cannot meet.)
pub fn agree(s: &GossipState) -> bool {
    let live: Vec<usize> = live_nodes(s).collect();
    live.iter().all(|&x| {
        live.iter().all(|&y| {
            let (nx, ny) = (&s.nodes[x].view, &s.nodes[y].view);
            let met = nx.contains_key(&(y as NodeId)) && ny.contains_key(&(x as NodeId));
            !met || nx.iter().all(|(n, vx)| {
                s.nodes[y]
                    .view
                    .get(n)
                    .is_none_or(|vy| agreed(vx) == agreed(vy))
            })
        })
    })
}

/// Every live node knows every other live node.
pub fn joined(s: &GossipState) -> bool {
    let live: Vec<usize> = live_nodes(s).collect();
    live.iter().all(|&x| {
        live.iter()
            .all(|&y| s.nodes[x].view.contains_key(&(y as NodeId)))
    })
}

/// Some seed is live (running and not left).
pub fn live_seed(s: &GossipState) -> bool {
    live_nodes(s).any(|i| s.nodes[i].seed)
}

/// Every running node that left is seen as left by every live node that knows it.
pub fn leaves_seen(s: &GossipState) -> bool {
    up_nodes(s).filter(|&l| !is_live(s, l)).all(|l| {
        let g = s.nodes[l].view[&(l as NodeId)].generation;
        live_nodes(s).all(|x| {
            s.nodes[x]
                .view
                .get(&(l as NodeId))
                .is_none_or(|v| v.generation != g || v.status == Status::Left)
        })
    })
}

/// Every live node is seen alive by every live node that knows its current generation.
pub fn alive_seen(s: &GossipState) -> bool {
    live_nodes(s).all(|n| {
        let g = s.nodes[n].view[&(n as NodeId)].generation;
        live_nodes(s).all(|x| {
            s.nodes[x]
                .view
                .get(&(n as NodeId))
                .is_none_or(|v| v.generation != g || v.status == Status::Alive)
        })
    })
}

/// Every live node sees every crashed node it knows (in its last generation) as dead.
pub fn crashes_detected(s: &GossipState) -> bool {
    (0..s.nodes.len()).filter(|&d| !s.nodes[d].up).all(|d| {
        let g = s.nodes[d].view[&(d as NodeId)].generation;
        live_nodes(s).all(|x| {
            s.nodes[x]
                .view
                .get(&(d as NodeId))
                .is_none_or(|v| v.generation != g || v.status != Status::Alive)
        })
    })
}

impl GossipModel {
    /// Quiescence: nothing is in flight, and no gossip round, run on a reliable network to
    /// completion with this model's own `next_state`, would change any node. With partial
    /// digests ([`crate::GossipConfig::digest_entries`]), rounds move the digest cursors, so:
    /// no sequence of such rounds would change any node other than in its cursor.
    pub fn quiescent(&self, s: &GossipState) -> bool {
        if !s.network.is_empty() {
            return false;
        }
        let rounds = |u: &GossipState| -> Vec<GossipState> {
            let mut actions = Vec::new();
            self.actions(u, &mut actions);
            actions
                .into_iter()
                .filter(|a| matches!(a, GossipAction::Gossip { .. }))
                .map(|a| {
                    let mut t = self.next_state(u, a).expect("gossip is always possible");
                    while let Some(env) = t.network.first().cloned() {
                        t = self
                            .next_state(&t, GossipAction::Deliver(env))
                            .expect("delivery is always possible");
                    }
                    t
                })
                .collect()
        };
        if self.cfg.digest_entries.is_none() {
            return rounds(s).iter().all(|t| t.nodes == s.nodes);
        }
        // With partial digests a round also moves digest cursors (protocol.md §9), and the next
        // round may cover what this one did not: quiescent means that no sequence of rounds
        // changes any node but for its cursor.
        let views = |u: &GossipState| -> Vec<crate::Node> {
            u.nodes
                .iter()
                .map(|n| crate::Node {
                    digest_cursor: None,
                    ..n.clone()
                })
                .collect()
        };
        let start = views(s);
        let mut seen = std::collections::HashSet::from([s.nodes.clone()]);
        let mut todo = vec![s.clone()];
        while let Some(u) = todo.pop() {
            for t in rounds(&u) {
                if views(&t) != start {
                    return false;
                }
                if seen.insert(t.nodes.clone()) {
                    todo.push(t);
                }
            }
        }
        true
    }
}

/// All properties, safety first, then quiescence-conditioned liveness, then reachability.
pub fn all() -> Vec<Property<GossipModel>> {
    vec![
        Property::always(NO_INVENTED_VALUE, no_invented_value),
        Property::always(SAME_VALUE, same_value),
        Property::always(WATERMARK_RULE, watermark_rule),
        Property::always(MONOTONIC, |_: &GossipModel, s: &GossipState| {
            no_violation(s, Violation::Backwards)
        }),
        Property::always(NO_OLDER_GENERATION, |_: &GossipModel, s: &GossipState| {
            no_violation(s, Violation::OlderGeneration)
        }),
        Property::always(NO_RESURRECTION, no_resurrection),
        Property::always(NO_ZOMBIE, |_: &GossipModel, s: &GossipState| {
            no_violation(s, Violation::Zombie)
        }),
        Property::always(OWN_STATE, |_: &GossipModel, s: &GossipState| {
            no_violation(s, Violation::OwnStateChanged)
        }),
        Property::always(REVIVAL, |_: &GossipModel, s: &GossipState| {
            no_violation(s, Violation::StaleRevival)
        }),
        Property::always(HEARTBEAT_PROVENANCE, heartbeat_provenance),
        Property::always(CONVERGENCE, |m: &GossipModel, s: &GossipState| {
            agree(s) || !m.quiescent(s)
        }),
        Property::always(JOIN, |m: &GossipModel, s: &GossipState| {
            joined(s) || !live_seed(s) || !m.quiescent(s)
        }),
        Property::always(LEAVE_SEEN, |m: &GossipModel, s: &GossipState| {
            leaves_seen(s) || !m.quiescent(s)
        }),
        Property::always(ALIVE_SEEN, |m: &GossipModel, s: &GossipState| {
            alive_seen(s) || !m.quiescent(s)
        }),
        Property::sometimes(R_WRITE_SPREADS, |_: &GossipModel, s: &GossipState| {
            views(s).any(|(x, n, v)| x != n as usize && v.entries.values().any(|e| e.1.is_some()))
        }),
        Property::sometimes(
            R_CONVERGED_AFTER_WRITE,
            |m: &GossipModel, s: &GossipState| {
                live_nodes(s).count() >= 2
                    && s.history.iter().any(|h| matches!(h.3, Change::Set { .. }))
                    && live_nodes(s).all(|x| {
                        s.history.iter().all(|&(n, g, ver, _)| {
                            s.nodes[x]
                                .view
                                .get(&n)
                                .is_some_and(|v| v.generation > g || v.watermark >= ver)
                        })
                    })
                    && joined(s)
                    && agree(s)
                    && m.quiescent(s)
            },
        ),
        Property::sometimes(R_DELETE_SPREADS, |_: &GossipModel, s: &GossipState| {
            views(s).any(|(x, n, v)| x != n as usize && v.entries.values().any(|e| e.1.is_none()))
        }),
        Property::sometimes(R_TOMBSTONE_COLLECTED, |_: &GossipModel, s: &GossipState| {
            views(s).any(|(_, _, v)| v.gc_floor > 0)
        }),
        Property::sometimes(R_RESET_SENT, |_: &GossipModel, s: &GossipState| {
            s.network.iter().any(|e| {
                e.msg
                    .delta()
                    .iter()
                    .any(|d| matches!(d.kind, DeltaKind::Reset { .. }))
            })
        }),
        Property::sometimes(R_RESET_APPLIED, |_: &GossipModel, s: &GossipState| {
            // Delivery is always enabled, so the reset is applied in the next step.
            s.network.iter().any(|e| {
                let r = &s.nodes[e.to as usize];
                r.up && e.msg.delta().iter().any(|d| {
                    matches!(d.kind, DeltaKind::Reset { gc_floor } if gc_floor > 0)
                        && d.node != e.to
                        && r.view.get(&d.node).is_some_and(|v| {
                            v.generation == d.generation && d.watermark_after > v.watermark
                        })
                })
            })
        }),
        Property::sometimes(R_CUT, cut_ahead),
        Property::sometimes(R_CONVICTED, |_: &GossipModel, s: &GossipState| {
            views(s).any(|(_, _, v)| v.status == Status::Dead)
        }),
        Property::sometimes(R_FALSELY_CONVICTED, |_: &GossipModel, s: &GossipState| {
            views(s).any(|(x, n, v)| {
                s.nodes[x].up
                    && is_live(s, n as usize)
                    && v.status == Status::Dead
                    && v.generation == s.nodes[n as usize].view[&n].generation
            })
        }),
        // The witness needs a live node that holds the crashed node at the generation it
        // crashed in and sees it dead: `crashes_detected` alone also holds when the live nodes
        // only know an older generation of it (a restart they never heard of), which needs no
        // detection at all.
        Property::sometimes(R_CRASH_DETECTED, |_: &GossipModel, s: &GossipState| {
            (0..s.nodes.len()).any(|d| {
                let g = s.nodes[d].view[&(d as NodeId)].generation;
                !s.nodes[d].up
                    && live_nodes(s).any(|x| {
                        s.nodes[x]
                            .view
                            .get(&(d as NodeId))
                            .is_some_and(|v| v.generation == g && v.status == Status::Dead)
                    })
            }) && crashes_detected(s)
        }),
        // The ghost record (equal to the protocol's in correct runs) also witnesses a forget
        // whose protocol record a seeded bug dropped (`forget-without-record`).
        Property::sometimes(R_FORGOTTEN, |_: &GossipModel, s: &GossipState| {
            !s.ghost.forgotten.is_empty() || s.nodes.iter().any(|n| !n.forgotten.is_empty())
        }),
        Property::sometimes(R_RESTART_SEEN, |_: &GossipModel, s: &GossipState| {
            views(s).any(|(x, n, v)| x != n as usize && v.generation > 1)
        }),
        Property::sometimes(R_LEAVE_SEEN, |_: &GossipModel, s: &GossipState| {
            views(s).any(|(x, n, v)| x != n as usize && v.status == Status::Left)
        }),
        Property::sometimes(R_DUPLICATE, |_: &GossipModel, s: &GossipState| {
            s.network.windows(2).any(|w| w[0] == w[1])
        }),
        Property::sometimes(R_JOINED, |_, s| live_nodes(s).count() >= 2 && joined(s)),
    ]
}

/// The witness of [`names::R_CUT`]: some enabled step would build a delta cut by `max_delta`.
/// Each candidate step is replayed on a copy of its node with the model's own rules
/// (`protocol::apply_delta`, then `protocol::build_delta` without the bound), and the delta is
/// cut exactly when it would carry more than `max_delta` updates. (An earlier witness looked
/// for a message with exactly `max_delta` updates whose sender later held more; it also fired
/// when the sender had learned the rest after sending.)
fn cut_ahead(m: &GossipModel, s: &GossipState) -> bool {
    use crate::Msg;
    use crate::config::Mode;
    use crate::protocol::{apply_delta, build_delta};
    let cfg = &m.cfg;
    let unbounded = crate::GossipConfig {
        max_delta: usize::MAX,
        ..cfg.clone()
    };
    let held = |x: usize| -> usize {
        s.nodes[x]
            .view
            .values()
            .map(|v| v.held_changes().len())
            .sum()
    };
    let cuts = |x: usize,
                incoming: &[crate::NodeDelta],
                digest: Option<&[crate::DigestEntry]>,
                range: Option<crate::DigestRange>| {
        let extra: usize = incoming.iter().map(|d| d.updates.len()).sum();
        if held(x) + extra <= cfg.max_delta {
            return false; // cheap: not even everything it could hold exceeds the bound
        }
        let mut node = s.nodes[x].clone();
        apply_delta(cfg, x as NodeId, &mut node, incoming);
        // Only updates are counted, so whether heartbeat-only node deltas are sent is moot.
        let delta = build_delta(&unbounded, x as NodeId, &mut node, digest, range, false);
        delta.iter().map(|d| d.updates.len()).sum::<usize>() > cfg.max_delta
    };
    let on_delivery = m.deliverable(s).into_iter().any(|e| {
        let x = e.to as usize;
        s.nodes[x].up
            && match (&e.msg, cfg.mode) {
                (Msg::Syn { digest, range, .. }, Mode::PushPull) => {
                    cuts(x, &[], Some(digest), *range)
                }
                (
                    Msg::Syn {
                        digest,
                        delta,
                        range,
                    },
                    Mode::Pull,
                ) => cuts(x, delta, Some(digest), *range),
                (
                    Msg::SynAck {
                        digest,
                        delta,
                        range,
                    },
                    Mode::PushPull,
                ) => cuts(x, delta, Some(digest), *range),
                _ => false,
            }
    });
    // A round cuts in push mode (everything from version 0) and in pull mode (the sender's own
    // node delta), when the round is enabled.
    let on_round = |x: usize| {
        let c = m.candidates(s, x);
        s.nodes[x].up
            && !c.is_empty()
            && s.network.len() + cfg.fanout.min(c.len()) <= cfg.network.max_in_flight
            && match cfg.mode {
                Mode::Push => cuts(x, &[], None, None),
                Mode::Pull => s.nodes[x].view[&(x as NodeId)].held_changes().len() > cfg.max_delta,
                Mode::PushPull => false,
            }
    };
    on_delivery || (0..s.nodes.len()).any(on_round)
}
