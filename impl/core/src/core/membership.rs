//! Membership (protocol.md §7, §8; docs/spec/node.md §7): the failure detector's period and
//! settings, suspicion, conviction, forgetting, forgotten records and tombstone collection.

use std::time::Duration;

use rand::RngCore;
use tracing::{debug, trace};

use super::{ARRIVAL_SMOOTHING, Core, DetectorSettings};
use crate::id::NodeId;
use crate::state::{Entry, Forgotten, NodeState};
use crate::view::{Event, Status};

impl<R: RngCore> Core<R> {
    pub(super) fn housekeeping(&mut self, now: Duration) {
        let DetectorSettings {
            min_std_dev,
            initial_interval_estimate: initial_estimate,
            dead_after,
        } = self.effective_detector_settings();
        let cfg = &self.config;
        let mut forget = Vec::new();
        for (id, st) in self.nodes.iter_mut() {
            // tombstone collection (protocol.md §8)
            let expired = |e: &Entry| {
                e.value.is_none() && now.saturating_sub(e.since) >= cfg.tombstone_grace_period
            };
            let to_collect: Vec<String> = if st.entries.values().any(expired) {
                st.entries
                    .iter()
                    .filter(|(_, e)| expired(e))
                    .map(|(k, _)| k.clone())
                    .collect()
            } else {
                Vec::new()
            };
            for k in to_collect {
                trace!(node = %id, key = %k, "collecting tombstone");
                st.collect(&k);
            }
            if *id == self.id {
                continue;
            }
            // failure detection and forgetting (protocol.md §7)
            let since = now.saturating_sub(st.status_since);
            match st.status {
                Status::Alive => {
                    let phi = st.fd.phi(now, initial_estimate, min_std_dev);
                    if phi >= cfg.phi_threshold {
                        st.status = Status::Suspected;
                        st.status_since = now;
                        debug!(node = %id, phi, "node suspected");
                        self.events
                            .push_back(Event::NodeSuspected { node: id.clone() });
                    }
                }
                Status::Suspected => {
                    if since >= dead_after {
                        st.status = Status::Dead;
                        st.status_since = now;
                        debug!(node = %id, "node dead");
                        self.events.push_back(Event::NodeDead { node: id.clone() });
                    }
                }
                Status::Dead | Status::Left => {
                    if since >= cfg.dead_grace_period {
                        forget.push(id.clone());
                    }
                }
            }
        }
        for id in forget {
            self.forget(&id, now);
        }
        let retention = self.config.forgotten_retention;
        self.forgotten
            .retain(|_, f| now.saturating_sub(f.since) < retention);
    }

    /// What housekeeping can change in the view, for [`Core::view_epoch`]: every status change
    /// and every forgetting emits an event; tombstone collection removes entries; forgotten
    /// records expire.
    pub(super) fn housekeeping_summary(&self) -> (usize, usize, usize, usize) {
        (
            self.events.len(),
            self.forgotten.len(),
            self.nodes.len(),
            self.nodes.values().map(|st| st.entries.len()).sum(),
        )
    }

    /// The failure detector's verdict on `node`, as one step: what [`Core::handle_timeout`] does
    /// when `node` has been suspected (φ ≥ threshold) and then stayed suspected for
    /// `dead_after`: its status becomes `dead` ([`Event::NodeDead`]). Exposed for harnesses
    /// (the conformance test's abstract `Convict`). Returns whether `node` was `alive` or
    /// `suspected` (otherwise nothing changes; the node itself is never convicted).
    pub fn convict(&mut self, node: &NodeId, now: Duration) -> bool {
        let now = self.tick(now);
        let me = &self.id;
        let convictable = |st: &&mut NodeState| {
            node != me && matches!(st.status, Status::Alive | Status::Suspected)
        };
        let Some(st) = self.nodes.get_mut(node).filter(convictable) else {
            return false;
        };
        st.status = Status::Dead;
        st.status_since = now;
        debug!(node = %node, "node dead");
        self.events
            .push_back(Event::NodeDead { node: node.clone() });
        self.view_epoch += 1;
        true
    }

    /// Forgets `node`: what [`Core::handle_timeout`] does when a `dead` or `left` node's dead
    /// grace period has expired (the node state is removed and a forgotten record
    /// `(generation, heartbeat)` is kept, [`Event::NodeForgotten`]). Exposed for harnesses.
    /// Returns whether `node` was in the view (the node itself is never forgotten).
    pub fn forget(&mut self, node: &NodeId, now: Duration) -> bool {
        let now = self.tick(now);
        if *node == self.id {
            return false;
        }
        let Some(st) = self.nodes.remove(node) else {
            return false;
        };
        // Marks are only kept for nodes in the view (bounded by `max_nodes`).
        self.hot.remove(node);
        debug!(node = %node, "node forgotten");
        self.view_epoch += 1;
        self.forgotten.insert(
            node.clone(),
            Forgotten {
                generation: st.generation,
                heartbeat: st.heartbeat,
                left: st.left.is_some(),
                since: now,
            },
        );
        self.events.push_back(Event::NodeForgotten {
            node: node.clone(),
            generation: st.generation,
        });
        true
    }

    /// Collects every tombstone held for `node` (raising its `gc_floor`): what
    /// [`Core::handle_timeout`] does to each of them once its tombstone grace period has
    /// expired. Exposed for harnesses. Returns how many were collected.
    pub fn collect_tombstones(&mut self, node: &NodeId, now: Duration) -> usize {
        self.tick(now);
        let Some(st) = self.nodes.get_mut(node) else {
            return 0;
        };
        let dead: Vec<String> = st
            .entries
            .iter()
            .filter(|(_, e)| e.value.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        for k in &dead {
            st.collect(k);
        }
        if !dead.is_empty() {
            self.view_epoch += 1;
        }
        dead.len()
    }

    /// The rotation period of this node's own Syn digests in gossip rounds (docs/spec/node.md
    /// §7, `P_syn`): 1 while Syn digests are complete, else `⌈nodes / ids its range advanced
    /// over⌉` for the last Syn. It bounds [`Core::heartbeat_period_rounds`] from above.
    pub fn digest_rotation_rounds(&self) -> u32 {
        match self.syn_range_len {
            None => 1,
            Some(walked) => {
                let p = self.nodes.len().div_ceil(walked.max(1)).max(1);
                u32::try_from(p).unwrap_or(u32::MAX)
            }
        }
    }

    /// The heartbeat period `P` in gossip rounds that scales the failure detector
    /// (docs/spec/node.md §7): how many rounds pass, on average, between two heartbeat arrivals
    /// of one node, from the heartbeat arrivals this node actually received. With `m` the
    /// other nodes in the view, `r` the smoothed arrivals per round times 8 and `P_syn`
    /// ([`Core::digest_rotation_rounds`]): `P_syn` if `r = 0`, else
    /// `min(P_syn, max(1, ⌈8 × m / r⌉))` (so 1 while the own Syn digests are complete).
    pub fn heartbeat_period_rounds(&self) -> u32 {
        let own = self.digest_rotation_rounds();
        if self.arrival_rate == 0 {
            return own;
        }
        let others = (self.nodes.len() as u64).saturating_sub(1);
        let received = others
            .saturating_mul(ARRIVAL_SMOOTHING)
            .div_ceil(self.arrival_rate);
        u32::try_from(received).unwrap_or(u32::MAX).max(1).min(own)
    }

    /// The smoothed heartbeat arrivals per round times 8 (`r` of docs/spec/node.md §7), as of
    /// the start of this node's current round. Exposed for harnesses and measurements.
    pub fn heartbeat_arrival_rate(&self) -> u64 {
        self.arrival_rate
    }

    /// The failure detector's effective settings: the configured `min_std_dev`,
    /// `initial_interval_estimate` and `dead_after` while `P` ([`Core::heartbeat_period_rounds`]) is 1, else raised to
    /// at least `3 × P × interval / 4`, `P × interval` and `2 × P × interval`
    /// (docs/spec/node.md §7).
    pub fn effective_detector_settings(&self) -> DetectorSettings {
        let p = self.heartbeat_period_rounds();
        let c = &self.config;
        if p == 1 {
            return DetectorSettings {
                min_std_dev: c.min_std_dev,
                initial_interval_estimate: c.initial_interval_estimate,
                dead_after: c.dead_after,
            };
        }
        let period = c.gossip_interval.saturating_mul(p);
        DetectorSettings {
            min_std_dev: c.min_std_dev.max(period * 3 / 4),
            initial_interval_estimate: c.initial_interval_estimate.max(period),
            dead_after: c.dead_after.max(period.saturating_mul(2)),
        }
    }
}
