//! Building deltas (protocol.md §4): what a peer lacks according to its digest, the update
//! cut and byte budgets, rotation of the start node.

use std::collections::BTreeMap;

use rand::RngCore;

use super::Core;
use crate::codec::array_hdr_len;
use crate::id::NodeId;
use crate::wire::{DeltaKind, Digest, DigestEntry, NodeDelta};

/// What a node delta about one node should carry, by what the peer's digest says it holds.
enum Plan {
    /// Send updates of version > `from` (all held changes for a reset).
    Updates { kind: DeltaKind, from: u64 },
    /// Send the heartbeat only.
    HeartbeatOnly,
}

impl<R: RngCore> Core<R> {
    /// The delta answering `digest` (`None`: the peer is assumed to know nothing, push mode),
    /// within `budget` bytes (protocol.md §4).
    /// `by_digest`: the peer gets this node's digest in the same exchange (push-pull SynAck and
    /// Ack, unsigned cluster), so node deltas whose only news is the heartbeat are not sent
    /// (protocol.md §4, "heartbeats travel in digests").
    pub(super) fn build_delta(
        &mut self,
        digest: Option<&Digest>,
        budget: usize,
        by_digest: bool,
    ) -> Vec<NodeDelta> {
        let by_digest = by_digest && self.signing.is_none();
        let lookup: BTreeMap<&NodeId, &DigestEntry> = match digest {
            Some(d) => {
                let mut m = BTreeMap::new();
                for e in &d.entries {
                    m.entry(&e.node).or_insert(e);
                }
                m
            }
            None => BTreeMap::new(),
        };
        // The nodes the digest covers — those inside its range and those it lists (a partial
        // digest may list hot nodes outside its range, docs/spec/node.md §5) — ascending; then
        // rotated to start at the cursor.
        let range = digest.and_then(|d| d.range.as_ref());
        let mut order: Vec<&NodeId> = match range {
            None => self.nodes.keys().collect(),
            Some(r) => self
                .nodes
                .keys()
                .filter(|id| r.contains(id) || lookup.contains_key(id))
                .collect(),
        };
        if let (Some(c), true) = (&self.delta_cursor, self.config.rotate_delta_start) {
            let split = order.partition_point(|id| *id < c);
            order.rotate_left(split);
        }
        let mut out: Vec<NodeDelta> = Vec::new();
        let mut used = 0usize; // bytes of node deltas in `out`
        let mut updates_left = self.config.max_delta_updates.unwrap_or(usize::MAX);
        let mut cut_at: Option<usize> = None; // index in `order` of the cut node
        let mut resets = 0u64;
        for (idx, id) in order.iter().enumerate() {
            let st = &self.nodes[*id];
            let peer = lookup.get(*id);
            let (g, w, f) = (st.generation, st.watermark, st.gc_floor);
            let (h, attestation) = self.delta_heartbeat(st);
            // `base`: the version the peer is known to hold up to (for heartbeat-only deltas).
            let (plan, base) = match peer {
                None => (Self::from_scratch(f), 0),
                Some(p) if p.generation < g => (Self::from_scratch(f), 0),
                Some(p) if p.generation == g && p.watermark < w => {
                    if p.watermark < f {
                        let plan = Plan::Updates {
                            kind: DeltaKind::Reset { gc_floor: f },
                            from: 0,
                        };
                        (plan, p.watermark)
                    } else {
                        let plan = Plan::Updates {
                            kind: DeltaKind::Incremental { from: p.watermark },
                            from: p.watermark,
                        };
                        (plan, p.watermark)
                    }
                }
                Some(p) if p.generation == g && p.heartbeat < h && !by_digest => {
                    (Plan::HeartbeatOnly, p.watermark)
                }
                _ => continue,
            };
            let remaining = budget.saturating_sub(array_hdr_len(out.len() + 1) + used);
            if let Plan::Updates { kind, from } = plan {
                // A node delta without updates costs no update budget (protocol.md §4 limits
                // updates), so it is sent complete even after a cut, as in the model.
                let nothing_to_send = st.changes_after(from).next().is_none_or(|u| u.version > w);
                if (cut_at.is_none() && updates_left > 0) || nothing_to_send {
                    let mut nd = NodeDelta {
                        node: (*id).clone(),
                        generation: g,
                        heartbeat: h,
                        kind,
                        updates: Vec::new(),
                        watermark_after: w,
                        attestation: attestation.clone(),
                    };
                    // Conservative header: 3-byte updates array header, watermark_after ≤ w.
                    let mut len = nd.header_len(65_535);
                    let mut complete = true;
                    for u in st.changes_after(from) {
                        if u.version > w {
                            break;
                        }
                        let ul = u.encoded_len();
                        if updates_left == 0 || len + ul > remaining {
                            complete = false;
                            break;
                        }
                        len += ul;
                        updates_left -= 1;
                        nd.updates.push(u);
                    }
                    if complete || !nd.updates.is_empty() {
                        if !complete {
                            nd.watermark_after = nd.updates.last().map_or(w, |u| u.version);
                            cut_at = Some(idx);
                        }
                        if len <= remaining {
                            if matches!(nd.kind, DeltaKind::Reset { .. }) {
                                resets += 1;
                            }
                            used += nd.encoded_len();
                            out.push(nd);
                            continue;
                        }
                    }
                }
                cut_at.get_or_insert(idx);
                if by_digest && peer.is_some_and(|p| p.generation == g) {
                    // After the cut, the peer holds this generation: the node delta would carry
                    // the heartbeat only, which travels in the digest.
                    continue;
                }
            }
            // Heartbeat only (rule 3), or the updates no longer fit: as the model does, a node
            // delta that would carry updates after the cut is sent without them,
            // `incremental { from: d }` with `watermark_after = d` (protocol.md §4).
            let nd = NodeDelta {
                node: (*id).clone(),
                generation: g,
                heartbeat: h,
                kind: DeltaKind::Incremental { from: base },
                updates: Vec::new(),
                watermark_after: base,
                attestation,
            };
            let len = nd.encoded_len();
            if len > remaining {
                cut_at.get_or_insert(idx);
                break;
            }
            used += len;
            out.push(nd);
        }
        self.stats.resets_sent += resets;
        if let Some(i) = cut_at {
            self.stats.deltas_cut += 1;
            if self.config.rotate_delta_start {
                // Next time, start after the node that was cut, so every node gets its turn.
                let next = order.get(i + 1).or(order.first()).map(|id| (*id).clone());
                self.delta_cursor = next;
            }
        }
        out
    }

    /// The node's own state as an `incremental { from: 0 }` node delta, cut to `budget` bytes.
    pub(super) fn own_node_delta(&self, budget: usize) -> Vec<NodeDelta> {
        let own = self.own();
        let (heartbeat, attestation) = self.delta_heartbeat(own);
        let mut nd = NodeDelta {
            node: self.id.clone(),
            generation: own.generation,
            heartbeat,
            attestation,
            // §4.1: built as for a peer lacking the generation.
            kind: if own.gc_floor > 0 {
                DeltaKind::Reset {
                    gc_floor: own.gc_floor,
                }
            } else {
                DeltaKind::Incremental { from: 0 }
            },
            updates: Vec::new(),
            watermark_after: own.watermark,
        };
        let mut len = 3 + nd.header_len(65_535);
        let mut complete = true;
        // Cut as in protocol.md §4: by bytes and, like any delta, by `max_delta_updates`.
        let max_updates = self.config.max_delta_updates.unwrap_or(usize::MAX);
        for u in own.changes_after(0) {
            let ul = u.encoded_len();
            if nd.updates.len() >= max_updates || len + ul > budget {
                complete = false;
                break;
            }
            len += ul;
            nd.updates.push(u);
        }
        if !complete {
            nd.watermark_after = nd.updates.last().map_or(0, |u| u.version);
        }
        if len > budget {
            return Vec::new();
        }
        vec![nd]
    }

    fn from_scratch(gc_floor: u64) -> Plan {
        if gc_floor > 0 {
            Plan::Updates {
                kind: DeltaKind::Reset { gc_floor },
                from: 0,
            }
        } else {
            Plan::Updates {
                kind: DeltaKind::Incremental { from: 0 },
                from: 0,
            }
        }
    }
}
