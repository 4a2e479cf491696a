//! Applying received deltas and digests (protocol.md §5): forgotten records, generations,
//! resets and incremental deltas, the key limit's cut, watermarks, tombstones, heartbeats,
//! leave markers and their acknowledgement.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use rand::RngCore;
use tracing::{debug, trace};

use super::Core;
use crate::config::Config;
use crate::id::NodeId;
use crate::state::{Entry, HeldAttestation, NodeState};
use crate::view::{Event, Status};
use crate::wire::{Change, DeltaKind, Digest, NodeDelta, Update};

/// What of one node's part of the view a node delta can change, heartbeat excepted (see
/// `Core::view_summary`): compared before and after applying it, for [`Core::view_epoch`].
#[derive(PartialEq, Eq)]
struct ViewSummary {
    /// The node's state, if held.
    node: Option<NodeViewSummary>,
    /// Whether a forgotten record is held for the node.
    forgotten: bool,
    /// How many nodes the view holds.
    nodes: usize,
    /// How many events are queued (every change of an entry emits one).
    events: usize,
}

/// The parts of a node state in a [`ViewSummary`].
#[derive(PartialEq, Eq)]
struct NodeViewSummary {
    generation: u64,
    watermark: u64,
    gc_floor: u64,
    left: Option<u64>,
    status: Status,
    entries: usize,
    /// The greatest version among the held entries.
    greatest_version: Option<u64>,
}

impl<R: RngCore> Core<R> {
    pub(super) fn apply_delta(&mut self, delta: &[NodeDelta], now: Duration) {
        for nd in delta {
            let before = self.summary(&nd.node).map(|s| (s.generation, s.watermark));
            let before_view = self.view_summary(&nd.node);
            self.apply_node_delta(nd, now);
            if self.view_summary(&nd.node) != before_view {
                self.view_epoch += 1;
            }
            // A node whose generation or watermark changed here has news in flight (a heartbeat
            // alone is not news: every node's heartbeat changes every round).
            let after = self.summary(&nd.node).map(|s| (s.generation, s.watermark));
            if after.is_some() && after != before {
                self.mark_hot(&nd.node);
            }
        }
    }

    /// What of `node`'s part of the view a node delta can change, heartbeat excepted, in O(1)
    /// (for [`Core::view_epoch`]). Entries: every change of an entry's value or version emits
    /// an event or changes the entry count or greatest version, so the event count stands for
    /// the rest.
    fn view_summary(&self, node: &NodeId) -> ViewSummary {
        ViewSummary {
            node: self.nodes.get(node).map(|st| NodeViewSummary {
                generation: st.generation,
                watermark: st.watermark,
                gc_floor: st.gc_floor,
                left: st.left,
                status: st.status,
                entries: st.entries.len(),
                greatest_version: st.by_version.last_key_value().map(|(v, _)| *v),
            }),
            forgotten: self.forgotten.contains_key(node),
            nodes: self.nodes.len(),
            events: self.events.len(),
        }
    }

    /// protocol.md §5.
    fn apply_node_delta(&mut self, nd: &NodeDelta, now: Duration) {
        // 1. gossip about ourselves is ignored
        if nd.node == self.id {
            return;
        }
        let (g2, h2) = (nd.generation, nd.heartbeat);
        // 2. forgotten records: no zombies
        // The record is dropped only when the node state is re-created below (the model's
        // rule): a fresh delta that is then ignored because of a gap must not leave the node
        // unprotected against later stale gossip.
        if let Some(f) = self.forgotten.get(&nd.node)
            && (g2 < f.generation || (g2 == f.generation && (f.left || h2 <= f.heartbeat)))
        {
            self.stats.zombies_ignored += 1;
            trace!(node = %nd.node, "ignoring stale gossip about a forgotten node");
            return;
        }
        let starts_from_scratch = matches!(
            nd.kind,
            DeltaKind::Reset { .. } | DeltaKind::Incremental { from: 0 }
        );
        let mut fresh = false;
        match self.nodes.get(&nd.node) {
            // 3. an older generation never overwrites a newer one
            Some(st) if st.generation > g2 => return,
            Some(st) if st.generation == g2 => {}
            // 4. unknown node, or a newer generation
            known => {
                if !starts_from_scratch {
                    self.stats.gaps += 1;
                    return;
                }
                // Forgotten records count towards max_nodes (a forgotten node coming back
                // replaces its record, so it is not counted twice).
                if known.is_none()
                    && !self.forgotten.contains_key(&nd.node)
                    && self.nodes.len() + self.forgotten.len() >= self.config.limits.max_nodes
                {
                    self.stats.dropped_nodes += 1;
                    return;
                }
                let mut st = NodeState::new(g2, now);
                st.heartbeat = h2;
                self.max_id_len = self.max_id_len.max(nd.node.encoded_len());
                self.nodes.insert(nd.node.clone(), st);
                self.forgotten.remove(&nd.node);
                fresh = true;
                debug!(node = %nd.node, generation = g2, "node joined");
                self.events.push_back(Event::NodeJoined {
                    node: nd.node.clone(),
                    generation: g2,
                });
            }
        }
        let max_keys = self.config.limits.max_keys_per_node;
        let st = self
            .nodes
            .get_mut(&nd.node)
            .expect("inserted or known above");
        let events = &mut self.events;
        let stats = &mut self.stats;
        match nd.kind {
            // 5. reset
            DeltaKind::Reset { gc_floor } => {
                // The watermark this reset really gives: the keys limit may cut it before its
                // `watermark_after` (spec gap G22: deciding on `watermark_after` alone let a cut
                // reset lower the watermark, breaking "watermarks never go backwards").
                let cut = KeyLimitCut::of(nd, 0, &BTreeMap::new(), max_keys, |_| true);
                if cut.watermark <= st.watermark && cut.watermark < nd.watermark_after {
                    stats.dropped_updates += nd.updates.len() as u64;
                }
                if cut.watermark > st.watermark {
                    let old = std::mem::take(&mut st.entries);
                    st.clear();
                    stats.dropped_updates += cut.dropped(nd);
                    for u in cut.kept(nd) {
                        match &u.change {
                            Change::Set { key, value } => {
                                st.put(key.clone(), u.version, Some(value.clone()), u.sig, now)
                            }
                            Change::Delete { key } => {
                                st.put(key.clone(), u.version, None, u.sig, now)
                            }
                            Change::Leave => {
                                st.left = Some(u.version);
                                st.left_sig = u.sig;
                            }
                        }
                    }
                    // events: what changed relative to the old entries
                    for (key, e) in &st.entries {
                        if old.get(key).is_none_or(|o| o.version != e.version) {
                            events.push_back(change_event(&nd.node, key, e.version, &e.value));
                        }
                    }
                    for (key, o) in &old {
                        if !st.entries.contains_key(key) && o.value.is_some() {
                            events.push_back(Event::KeyDeleted {
                                node: nd.node.clone(),
                                key: key.clone(),
                                version: gc_floor,
                            });
                        }
                    }
                    st.watermark = cut.watermark;
                    st.gc_floor = st.gc_floor.max(gc_floor);
                    stats.resets_applied += 1;
                }
            }
            // 6. incremental
            DeltaKind::Incremental { from } => {
                if st.watermark < from {
                    stats.gaps += 1;
                } else {
                    let held = st.watermark;
                    let cut =
                        KeyLimitCut::of(nd, from, &st.entries, max_keys, |u| u.version > held);
                    stats.dropped_updates += cut.dropped(nd);
                    for u in cut.kept(nd) {
                        if u.version <= st.watermark {
                            continue;
                        }
                        match &u.change {
                            Change::Set { key, .. } | Change::Delete { key } => {
                                let cur = st.entries.get(key).map(|e| e.version);
                                if cur.is_some_and(|c| c >= u.version) {
                                    continue;
                                }
                                let value = match &u.change {
                                    Change::Set { value, .. } => Some(value.clone()),
                                    _ => None,
                                };
                                events.push_back(change_event(&nd.node, key, u.version, &value));
                                st.put(key.clone(), u.version, value, u.sig, now);
                            }
                            Change::Leave => {
                                if st.left.is_none_or(|l| l < u.version) {
                                    st.left = Some(u.version);
                                    st.left_sig = u.sig;
                                }
                            }
                        }
                    }
                    st.watermark = st.watermark.max(cut.watermark);
                }
            }
        }
        // The greatest owner attestation, by (heartbeat, watermark): the owner's attestations
        // form a chain, so it covers every watermark held (docs/spec/security.md §2.3).
        if let Some(a) = &nd.attestation
            && st
                .attestation
                .as_ref()
                .is_none_or(|o| (h2, a.watermark) > (o.heartbeat, o.attestation.watermark))
        {
            st.attestation = Some(HeldAttestation {
                heartbeat: h2,
                attestation: a.clone(),
            });
        }
        // 7. heartbeat
        if Self::observe_heartbeat(&nd.node, st, h2, !fresh, now, &self.config, events) {
            self.heartbeat_arrivals += 1;
        }
        if st.left.is_some() && st.status != Status::Left {
            st.status = Status::Left;
            st.status_since = now;
            debug!(node = %nd.node, "node left");
            events.push_back(Event::NodeLeft {
                node: nd.node.clone(),
            });
        }
    }

    /// protocol.md §5.7: heartbeat `h2` for `node` (in state `st`, of the same generation) was
    /// received. A greater one is a heartbeat arrival (an interval for the failure detector
    /// when `interval`), and revives a suspected or dead node that has not left. Returns
    /// whether an interval was given to the failure detector (a heartbeat arrival, node.md §7).
    fn observe_heartbeat(
        node: &NodeId,
        st: &mut NodeState,
        h2: u64,
        interval: bool,
        now: Duration,
        config: &Config,
        events: &mut VecDeque<Event>,
    ) -> bool {
        if h2 <= st.heartbeat {
            return false;
        }
        st.heartbeat = h2;
        if interval {
            st.fd.heartbeat(now, config.phi_window);
        }
        if matches!(st.status, Status::Suspected | Status::Dead) && st.left.is_none() {
            st.status = Status::Alive;
            st.status_since = now;
            debug!(%node, "node up");
            events.push_back(Event::NodeUp { node: node.clone() });
        }
        interval
    }

    /// protocol.md §5.8: the heartbeats of a received digest. For every node this node holds
    /// at the entry's generation (never itself), the entry's heartbeat is received as a node
    /// delta's is (§5.7). Digests are not signed, so a node of a signed cluster takes
    /// heartbeats only from attested node deltas and ignores them here.
    pub(super) fn apply_digest_heartbeats(&mut self, digest: &Digest, now: Duration) {
        if self.signing.is_some() {
            return;
        }
        for e in &digest.entries {
            if e.node == self.id {
                continue;
            }
            let Some(st) = self.nodes.get_mut(&e.node) else {
                continue;
            };
            if st.generation != e.generation {
                continue;
            }
            let status = st.status;
            if Self::observe_heartbeat(
                &e.node,
                st,
                e.heartbeat,
                true,
                now,
                &self.config,
                &mut self.events,
            ) {
                self.heartbeat_arrivals += 1;
            }
            if st.status != status {
                self.view_epoch += 1;
            }
        }
    }

    pub(super) fn check_left_ack(&mut self, digest: &Digest) {
        let own = &self.nodes[&self.id];
        let Some(lv) = own.left else { return };
        if digest
            .entries
            .iter()
            .any(|e| e.node == self.id && e.generation == own.generation && e.watermark >= lv)
        {
            if !self.left_acknowledged {
                debug!("leave acknowledged");
            }
            self.left_acknowledged = true;
        }
    }
}

/// The event for a change of `key` to `value` (`None`: a tombstone) at `version`.
fn change_event(node: &NodeId, key: &str, version: u64, value: &Option<Vec<u8>>) -> Event {
    match value {
        Some(_) => Event::KeySet {
            node: node.clone(),
            key: key.to_owned(),
            version,
        },
        None => Event::KeyDeleted {
            node: node.clone(),
            key: key.to_owned(),
            version,
        },
    }
}

/// Where the key limit (`limits.max_keys_per_node`, protocol.md §5) cuts a node delta's
/// updates: the one rule both resets and incremental deltas apply. Updates before the cut are
/// applied; the rest are dropped (counted in [`Stats::dropped_updates`](crate::Stats)) and the
/// watermark the delta gives stops at the last update kept.
struct KeyLimitCut {
    /// How many of the updates, from the first, are kept.
    kept: usize,
    /// The watermark the node delta gives: `watermark_after` if nothing is cut, else the
    /// version of the last update kept (`from` if none is).
    watermark: u64,
}

impl KeyLimitCut {
    /// The cut of `nd`'s updates (which start above `from`) for a node state holding the keys
    /// of `held`: at the first update that `applies` to the state and would add a key beyond
    /// `max_keys`.
    fn of(
        nd: &NodeDelta,
        from: u64,
        held: &BTreeMap<String, Entry>,
        max_keys: usize,
        applies: impl Fn(&Update) -> bool,
    ) -> Self {
        let mut added: BTreeSet<&str> = BTreeSet::new();
        for (i, u) in nd.updates.iter().enumerate() {
            let (Change::Set { key, .. } | Change::Delete { key }) = &u.change else {
                continue;
            };
            if !applies(u) || held.contains_key(key) || added.contains(key.as_str()) {
                continue;
            }
            if held.len() + added.len() >= max_keys {
                let watermark = i.checked_sub(1).map_or(from, |p| nd.updates[p].version);
                return Self { kept: i, watermark };
            }
            added.insert(key);
        }
        Self {
            kept: nd.updates.len(),
            watermark: nd.watermark_after,
        }
    }

    /// The updates kept.
    fn kept<'a>(&self, nd: &'a NodeDelta) -> &'a [Update] {
        &nd.updates[..self.kept]
    }

    /// How many updates are dropped.
    fn dropped(&self, nd: &NodeDelta) -> u64 {
        (nd.updates.len() - self.kept) as u64
    }
}
