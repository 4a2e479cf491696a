//! The `stateright::Model`: initial state, enabled actions, and the effect of each action.
//! Transition checks (properties that compare a state with its successor) are at the end of
//! `next_state`; they record into the ghost `violations` set, which stays empty in correct runs.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use stateright::{Model, Property};

use crate::protocol::{apply_delta, apply_digest_heartbeats, build_delta, digest};
use crate::{
    Change, Envelope, Forgotten, GossipAction, GossipConfig, GossipState, Mode, Msg, Node, NodeId,
    NodeView, Status, TransitionGhost, Variant,
};

/// The gossip protocol as a model: the configuration is the whole of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipModel {
    /// The parameters (bounds, faults, protocol options, variant).
    pub cfg: GossipConfig,
}

impl GossipModel {
    /// Every reachable state, by a plain breadth-first search over `init_states`, `actions`
    /// and `next_state` (independent of any checker; for tests on small configurations).
    pub fn reachable_states(&self) -> HashSet<GossipState> {
        let mut seen: HashSet<GossipState> = self.init_states().into_iter().collect();
        let mut queue: VecDeque<GossipState> = seen.iter().cloned().collect();
        let mut actions = Vec::new();
        while let Some(s) = queue.pop_front() {
            self.actions(&s, &mut actions);
            for a in actions.drain(..) {
                if let Some(t) = self.next_state(&s, a)
                    && seen.insert(t.clone())
                {
                    queue.push_back(t);
                }
            }
        }
        seen
    }

    /// Whether `node` is a gossip target candidate of `from` (protocol.md §6.2, abstracted:
    /// any known node that has not left, or any seed).
    pub(crate) fn candidates(&self, s: &GossipState, from: usize) -> Vec<NodeId> {
        let node = &s.nodes[from];
        let mut c: BTreeSet<NodeId> = node
            .view
            .iter()
            .filter(|(n, v)| **n as usize != from && v.status != Status::Left)
            .map(|(n, _)| *n)
            .collect();
        c.extend(self.cfg.seeds.iter().filter(|&&n| n as usize != from));
        c.into_iter().collect()
    }

    /// Sends `env` (the network keeps its canonical order).
    fn send(&self, s: &mut GossipState, env: Envelope) {
        let pos = if self.cfg.network.ordered {
            // Behind every message of the same or a smaller link: per-link FIFO.
            s.network
                .partition_point(|e| (e.from, e.to) <= (env.from, env.to))
        } else {
            s.network.partition_point(|e| *e <= env)
        };
        s.network.insert(pos, env);
    }

    /// The envelopes the network may deliver now (each distinct envelope once).
    pub(crate) fn deliverable(&self, s: &GossipState) -> Vec<Envelope> {
        let mut out: Vec<Envelope> = Vec::new();
        for (i, e) in s.network.iter().enumerate() {
            if self.cfg.network.ordered
                && i > 0
                && (s.network[i - 1].from, s.network[i - 1].to) == (e.from, e.to)
            {
                continue; // not the head of its link
            }
            if out.last() != Some(e) && !out.contains(e) {
                out.push(e.clone());
            }
        }
        out
    }

    fn distinct_in_flight(&self, s: &GossipState) -> Vec<Envelope> {
        let mut out: Vec<Envelope> = s.network.clone();
        out.sort();
        out.dedup();
        out
    }

    /// Applies a delivered message at its receiver (protocol.md §6).
    fn deliver(&self, s: &mut GossipState, env: &Envelope) {
        let r = env.to as usize;
        if !s.nodes[r].up {
            return; // a datagram to a crashed process is lost
        }
        let cfg = &self.cfg;
        let mut replies = Vec::new();
        {
            let node = &mut s.nodes[r];
            match &env.msg {
                Msg::Syn {
                    digest: d,
                    delta,
                    range,
                } => {
                    if cfg.variant == Variant::BumpOnReceive {
                        bump(cfg, node, r); // BUG: heartbeat bumped on receive.
                    }
                    match cfg.mode {
                        Mode::Push => apply_delta(cfg, env.to, node, delta),
                        Mode::Pull => {
                            // §6 (pull): the Syn also carries the sender's own node delta, so
                            // that a joining node becomes known (no Ack follows).
                            apply_delta(cfg, env.to, node, delta);
                            apply_digest_heartbeats(cfg, env.to, node, d);
                            // The SynAck carries no digest: heartbeat news goes in the delta.
                            let reply = build_delta(cfg, env.to, node, Some(d), *range, false);
                            replies.push(Msg::SynAck {
                                digest: vec![],
                                delta: reply,
                                range: None,
                            });
                        }
                        Mode::PushPull => {
                            apply_digest_heartbeats(cfg, env.to, node, d);
                            let reply = build_delta(cfg, env.to, node, Some(d), *range, true);
                            let (digest, range) = digest(cfg, env.to, node);
                            replies.push(Msg::SynAck {
                                digest,
                                delta: reply,
                                range,
                            });
                        }
                    }
                }
                Msg::SynAck {
                    digest: d,
                    delta,
                    range,
                } => {
                    apply_delta(cfg, env.to, node, delta);
                    if cfg.mode == Mode::PushPull {
                        apply_digest_heartbeats(cfg, env.to, node, d);
                        // The Syn carried this node's digest: heartbeats went there.
                        let ack = build_delta(cfg, env.to, node, Some(d), *range, true);
                        if !ack.is_empty() {
                            replies.push(Msg::Ack { delta: ack });
                        }
                    }
                }
                Msg::Ack { delta } => apply_delta(cfg, env.to, node, delta),
            }
        }
        for msg in replies {
            self.send(
                s,
                Envelope {
                    from: env.to,
                    to: env.from,
                    msg,
                },
            );
        }
    }

    /// Records the owner's change in the ghost history.
    fn record(s: &mut GossipState, node: usize, change: Change) {
        s.changes[node] += 1;
        let g = s.nodes[node].view[&(node as NodeId)].generation;
        s.history
            .insert((node as NodeId, g, s.changes[node], change));
    }

    /// The transition checks: compare `before` and `after` and record violations.
    fn check_transition(
        &self,
        before: &GossipState,
        action: &GossipAction,
        after: &mut GossipState,
    ) {
        let mut found = BTreeSet::new();
        crate::properties::check_transition(
            &before.nodes,
            action,
            &after.nodes,
            &mut after.ghost,
            &mut found,
        );
        after.violations.extend(found);
        // An ended run's heartbeat record that no view and no deliverable message mentions can
        // never be read again (a node learns a generation of another only from a view or a
        // message; a message to a node that is down with no restart left is never applied):
        // drop it, so that the owners' heartbeat history costs states only while some heartbeat
        // of that run is still around to be checked against it. (Ignoring dead messages keeps
        // the record's lifetime the same with and without `prune_dead_messages`.)
        let restart_left = after.restarts < self.cfg.restarts;
        let unread: Vec<(NodeId, u8)> = after
            .ghost
            .ended_runs
            .keys()
            .filter(|&&(n, g)| !mentioned(after, restart_left, n, g))
            .copied()
            .collect();
        for k in unread {
            after.ghost.ended_runs.remove(&k);
        }
    }

    /// All `k`-subsets of `c`, in lexicographic order.
    fn subsets(c: &[NodeId], k: usize) -> Vec<Vec<NodeId>> {
        if k == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for i in 0..c.len() {
            if c.len() - i < k {
                break;
            }
            for mut rest in Self::subsets(&c[i + 1..], k - 1) {
                rest.insert(0, c[i]);
                out.push(rest);
            }
        }
        out
    }
}

/// Whether any view, or any digest entry or node delta in a message that may still be
/// applied (its receiver is up, or a restart is left), is about `node` at `generation` (its own
/// view included: a seeded bug may rerun a generation).
fn mentioned(s: &GossipState, restart_left: bool, node: NodeId, generation: u8) -> bool {
    let in_views = s.nodes.iter().any(|x| {
        x.view
            .get(&node)
            .is_some_and(|v| v.generation == generation)
    });
    let live = |e: &&Envelope| restart_left || s.nodes[e.to as usize].up;
    let in_flight = s.network.iter().filter(live).any(|e| {
        let digest = match &e.msg {
            Msg::Syn { digest, .. } | Msg::SynAck { digest, .. } => digest.as_slice(),
            Msg::Ack { .. } => &[],
        };
        digest
            .iter()
            .any(|d| (d.node, d.generation) == (node, generation))
            || e.msg
                .delta()
                .iter()
                .any(|d| (d.node, d.generation) == (node, generation))
    });
    in_views || in_flight
}

/// Increments a node's own heartbeat (saturating at `max_heartbeat`), unless it has left.
fn bump(cfg: &GossipConfig, node: &mut Node, me: usize) {
    let own = node.view.get_mut(&(me as NodeId)).expect("own view");
    if own.left.is_none() && own.heartbeat < cfg.max_heartbeat {
        own.heartbeat += 1;
    }
}

/// The reduction [`GossipConfig::prune_dead_messages`]: once the restart budget is used up, a
/// crashed node never runs again, so a message to it can only be delivered to nobody (which
/// removes it and changes nothing else) or dropped. Removing it at once, in the same step that
/// made it dead (the crash, the last restart, or the send), leaves every node unchanged, keeps
/// the order of the other messages (per-link FIFO included) and only frees its slot.
fn prune_dead_messages(cfg: &GossipConfig, s: &mut GossipState) {
    if s.restarts < cfg.restarts {
        return; // any crashed node may still restart and receive
    }
    let nodes = &s.nodes;
    s.network.retain(|e| nodes[e.to as usize].up);
}

/// The expiry horizon of `observer`'s forgotten record `f` of `subject` (crate docs, "Record
/// expiry"): no running node other than `observer` holds, and no message in flight carries, a
/// state of `subject` that the record blocks (protocol.md §5.2: an older generation, or the
/// same one with a heartbeat no fresher than the record's or after a leave). After that, every
/// state of `subject` that can still arrive is one the record would let through, so dropping
/// it changes nothing. The implementation's `forgotten_retention` (48 h, twice the dead grace
/// period) is a time bound standing for this.
fn stale_state_unreachable(
    s: &GossipState,
    observer: NodeId,
    subject: NodeId,
    f: &crate::Forgotten,
) -> bool {
    let blocked = |g: crate::Generation, h: crate::Heartbeat| {
        g < f.generation || (g == f.generation && (f.left || h <= f.heartbeat))
    };
    let held = s.nodes.iter().enumerate().any(|(y, n)| {
        y != observer as usize
            && n.up
            && n.view
                .get(&subject)
                .is_some_and(|v| blocked(v.generation, v.heartbeat))
    });
    let carried = s.network.iter().any(|e| {
        e.msg
            .delta()
            .iter()
            .any(|d| d.node == subject && blocked(d.generation, d.heartbeat))
    });
    !held && !carried
}

fn own(s: &GossipState, i: usize) -> &NodeView {
    &s.nodes[i].view[&(i as NodeId)]
}

fn own_mut(s: &mut GossipState, i: usize) -> &mut NodeView {
    s.nodes[i]
        .view
        .get_mut(&(i as NodeId))
        .expect("a node always knows itself")
}

impl Model for GossipModel {
    type State = GossipState;
    type Action = GossipAction;

    fn init_states(&self) -> Vec<GossipState> {
        let n = self.cfg.nodes;
        let nodes = (0..n)
            .map(|i| Node {
                up: true,
                seed: self.cfg.seeds.contains(&(i as NodeId)),
                view: BTreeMap::from([(i as NodeId, NodeView::empty(1, 0))]),
                forgotten: BTreeMap::new(),
                writes: 0,
                deletes: 0,
                pushed: 0,
                digest_cursor: None,
            })
            .collect();
        vec![GossipState {
            nodes,
            network: vec![],
            crashes: 0,
            restarts: 0,
            history: BTreeSet::new(),
            changes: vec![0; n],
            violations: BTreeSet::new(),
            ghost: TransitionGhost::default(),
            ordered_network: self.cfg.network.ordered,
        }]
    }

    fn actions(&self, s: &GossipState, actions: &mut Vec<GossipAction>) {
        let cfg = &self.cfg;
        for i in 0..cfg.nodes {
            let id = i as NodeId;
            let node = &s.nodes[i];
            if !node.up {
                if s.restarts < cfg.restarts {
                    actions.push(GossipAction::Restart { node: id });
                }
                continue;
            }
            let me = own(s, i);
            let active = me.left.is_none();
            if active && cfg.is_writer(i) && node.writes < cfg.writes_per_node {
                for key in 0..cfg.keys {
                    for value in 0..cfg.values {
                        actions.push(GossipAction::Write {
                            node: id,
                            key,
                            value,
                        });
                    }
                }
            }
            if active && cfg.is_writer(i) && node.deletes < cfg.deletes_per_node {
                for (&key, &(_, value)) in &me.entries {
                    if value.is_some() {
                        actions.push(GossipAction::Delete { node: id, key });
                    }
                }
            }
            let c = self.candidates(s, i);
            let k = cfg.fanout.min(c.len());
            if k > 0 && s.network.len() + k <= cfg.network.max_in_flight {
                for to in Self::subsets(&c, k) {
                    actions.push(GossipAction::Gossip { from: id, to });
                }
            }
            if s.crashes < cfg.crashes {
                actions.push(GossipAction::Crash { node: id });
            }
            if cfg.leave && active {
                actions.push(GossipAction::Leave { node: id });
            }
            for (&n, v) in &node.view {
                if n == id {
                    continue;
                }
                let subject = &s.nodes[n as usize];
                // A live subject can be falsely convicted only while its heartbeat can still
                // advance (a bound artefact: after saturation no fresh heartbeat could revive it).
                let can_suspect = !subject.up || own(s, n as usize).heartbeat < cfg.max_heartbeat;
                if cfg.convict && v.status == Status::Alive && can_suspect {
                    actions.push(GossipAction::Convict {
                        observer: id,
                        subject: n,
                    });
                }
                if cfg.forget && v.status != Status::Alive {
                    actions.push(GossipAction::Forget {
                        observer: id,
                        subject: n,
                    });
                }
            }
            if cfg.expire {
                for (&n, f) in &node.forgotten {
                    let horizon = cfg.variant == Variant::ExpireEarly // BUG: no horizon.
                        || stale_state_unreachable(s, id, n, f);
                    if horizon {
                        actions.push(GossipAction::Expire {
                            observer: id,
                            subject: n,
                        });
                    }
                }
            }
            if cfg.gc {
                for (&n, v) in &node.view {
                    if v.entries.values().any(|e| e.1.is_none()) {
                        actions.push(GossipAction::CollectTombstones {
                            node: id,
                            subject: n,
                        });
                    }
                }
            }
        }
        let deliverable = self.deliverable(s);
        let redeliver = cfg.network.duplicating && cfg.network.redeliver;
        // Redelivery = `Duplicate` into the one extra slot, then `Deliver` of the first copy.
        let redeliveries = if redeliver && s.network.len() <= cfg.network.max_in_flight {
            deliverable
                .iter()
                .filter(|e| s.nodes[e.to as usize].up)
                .cloned()
                .collect()
        } else {
            vec![]
        };
        for env in deliverable {
            actions.push(GossipAction::Deliver(env));
        }
        if cfg.network.lossy || (cfg.network.duplicating && !redeliver) {
            for env in self.distinct_in_flight(s) {
                if cfg.network.lossy {
                    actions.push(GossipAction::Drop(env.clone()));
                }
                if cfg.network.duplicating
                    && !redeliver
                    && s.network.len() < cfg.network.max_in_flight
                {
                    actions.push(GossipAction::Duplicate(env));
                }
            }
        }
        actions.extend(redeliveries.into_iter().map(GossipAction::Redeliver));
    }

    fn next_state(&self, before: &GossipState, action: GossipAction) -> Option<GossipState> {
        let cfg = &self.cfg;
        let mut s = before.clone();
        match &action {
            &GossipAction::Write { node, key, value } => {
                let i = node as usize;
                let v = own_mut(&mut s, i);
                v.watermark += 1;
                let version = v.watermark;
                v.entries.insert(key, (version, Some(value)));
                s.nodes[i].writes += 1;
                Self::record(&mut s, i, Change::Set { key, value });
            }
            &GossipAction::Delete { node, key } => {
                let i = node as usize;
                let v = own_mut(&mut s, i);
                if cfg.variant == Variant::DeleteReusesVersion {
                    let old = v.entries[&key].0; // BUG: the tombstone keeps the old version.
                    v.entries.insert(key, (old, None));
                } else {
                    v.watermark += 1;
                    let version = v.watermark;
                    v.entries.insert(key, (version, None));
                }
                s.nodes[i].deletes += 1;
                Self::record(&mut s, i, Change::Delete { key });
            }
            &GossipAction::Leave { node } => {
                let i = node as usize;
                let v = own_mut(&mut s, i);
                if cfg.variant != Variant::LeaveWithoutVersion {
                    v.watermark += 1;
                } // else BUG: the marker reuses the current version.
                v.left = Some(v.watermark);
                v.status = Status::Left;
                Self::record(&mut s, i, Change::Leave);
            }
            GossipAction::Gossip { from, to } => {
                let i = *from as usize;
                if cfg.variant != Variant::NoHeartbeatBump {
                    bump(cfg, &mut s.nodes[i], i);
                }
                for &t in to {
                    // Each Syn's digest is built separately (a partial one moves the cursor).
                    let msg = match cfg.mode {
                        Mode::Push => Msg::Syn {
                            digest: vec![],
                            delta: build_delta(cfg, *from, &mut s.nodes[i], None, None, false),
                            range: None,
                        },
                        Mode::Pull => {
                            let delta =
                                crate::protocol::own_node_delta(cfg, *from, &mut s.nodes[i]);
                            let (digest, range) = digest(cfg, *from, &mut s.nodes[i]);
                            Msg::Syn {
                                digest,
                                delta,
                                range,
                            }
                        }
                        _ => {
                            let (digest, range) = digest(cfg, *from, &mut s.nodes[i]);
                            Msg::Syn {
                                digest,
                                delta: vec![],
                                range,
                            }
                        }
                    };
                    self.send(
                        &mut s,
                        Envelope {
                            from: *from,
                            to: t,
                            msg,
                        },
                    );
                }
            }
            GossipAction::Deliver(env) => {
                let pos = s.network.iter().position(|e| e == env)?;
                s.network.remove(pos);
                self.deliver(&mut s, env);
            }
            GossipAction::Drop(env) => {
                let pos = s.network.iter().position(|e| e == env)?;
                s.network.remove(pos);
            }
            GossipAction::Duplicate(env) => {
                let pos = s.network.iter().position(|e| e == env)?;
                s.network.insert(pos + 1, env.clone());
            }
            GossipAction::Redeliver(env) => {
                // Duplicate, then deliver the first copy: the network is unchanged but for the
                // replies.
                s.network.iter().position(|e| e == env)?;
                self.deliver(&mut s, env);
            }
            &GossipAction::Crash { node } => {
                s.nodes[node as usize].up = false;
                s.crashes += 1;
            }
            &GossipAction::Restart { node } => {
                let i = node as usize;
                let old = own(&s, i).generation;
                let generation = if cfg.variant == Variant::ReuseGenerationOnRestart {
                    old // BUG: the new run reuses the generation.
                } else {
                    old + 1
                };
                let n = &mut s.nodes[i];
                n.up = true;
                n.view = BTreeMap::from([(node, NodeView::empty(generation, 0))]);
                n.forgotten.clear();
                n.pushed = 0;
                n.digest_cursor = None;
                s.changes[i] = 0;
                s.restarts += 1;
            }
            &GossipAction::Convict { observer, subject } => {
                let v = s.nodes[observer as usize]
                    .view
                    .get_mut(&subject)
                    .expect("enabled only for known subjects");
                v.status = Status::Dead;
            }
            &GossipAction::Forget { observer, subject } => {
                let v = s.nodes[observer as usize]
                    .view
                    .remove(&subject)
                    .expect("enabled only for known subjects");
                let record = Forgotten {
                    generation: v.generation,
                    heartbeat: v.heartbeat,
                    left: v.left.is_some(),
                };
                if cfg.variant != Variant::ForgetWithoutRecord {
                    s.nodes[observer as usize].forgotten.insert(subject, record);
                } // else BUG: no record is kept.
            }
            &GossipAction::Expire { observer, subject } => {
                // The ghost copy stays: "no zombie" is judged against what was forgotten.
                s.nodes[observer as usize].forgotten.remove(&subject)?;
            }
            &GossipAction::CollectTombstones { node, subject } => {
                let v = s.nodes[node as usize]
                    .view
                    .get_mut(&subject)
                    .expect("enabled only for known subjects");
                let top = v
                    .entries
                    .values()
                    .filter(|e| e.1.is_none())
                    .map(|e| e.0)
                    .max()
                    .unwrap_or(0);
                v.entries.retain(|_, e| e.1.is_some());
                v.gc_floor = v.gc_floor.max(top);
            }
        }
        if cfg.prune_dead_messages {
            prune_dead_messages(cfg, &mut s);
        }
        self.check_transition(before, &action, &mut s);
        Some(s)
    }

    fn format_action(&self, action: &GossipAction) -> String {
        crate::format::action(action)
    }

    fn format_step(&self, last: &GossipState, action: GossipAction) -> Option<String> {
        Some(crate::format::step(self, last, &action))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        crate::properties::all()
    }
}
