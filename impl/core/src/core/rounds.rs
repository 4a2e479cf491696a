//! Gossip rounds (protocol.md §2, §6; docs/spec/node.md §5): the heartbeat, peer choice,
//! Syn and SynAck, sending, and digests: the own entry, placeholders for wanted unknown ids,
//! hot nodes, the rotating range.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::ops::Bound;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use tracing::trace;

use super::{ARRIVAL_SMOOTHING, Core, HotMark};
use crate::codec::{array_hdr_len, uint_len};
use crate::config::GossipMode;
use crate::id::NodeId;
use crate::state::NodeState;
use crate::view::{Status, Transmit};
use crate::wire::{self, Digest, DigestEntry, DigestRange, Envelope, Message, envelope_base_len};

impl<R: RngCore> Core<R> {
    pub(super) fn begin_round(&mut self) {
        self.stats.rounds += 1;
        // docs/spec/node.md §7: the heartbeat arrivals of the round that ends, smoothed.
        self.arrival_rate =
            self.arrival_rate - self.arrival_rate / ARRIVAL_SMOOTHING + self.heartbeat_arrivals;
        self.heartbeat_arrivals = 0;
        let own = self.own_mut();
        if own.left.is_none() {
            own.heartbeat += 1;
        }
        self.refresh_own_attestation();
    }

    pub(super) fn gossip_round(&mut self, now: Duration) {
        if self.own().left.is_some() && self.left_acknowledged {
            return;
        }
        let me = self.config.gossip_addr;
        let candidates: Vec<SocketAddr> = self
            .nodes
            .iter()
            .filter(|(id, st)| **id != self.id && id.addr != me && st.status != Status::Left)
            .map(|(id, _)| id.addr)
            .collect();
        let live = self
            .nodes
            .iter()
            .filter(|(id, st)| **id != self.id && st.status == Status::Alive)
            .count();
        let mut peers: Vec<SocketAddr> = candidates
            .choose_multiple(&mut self.rng, self.config.fanout)
            .copied()
            .collect();
        let seeds: Vec<SocketAddr> = self
            .config
            .seeds
            .iter()
            .copied()
            .filter(|s| *s != me)
            .collect();
        if !seeds.is_empty() && (live == 0 || self.rng.gen_range(0..=live) == 0) {
            let seed = seeds[self.rng.gen_range(0..seeds.len())];
            if !peers.contains(&seed) {
                peers.push(seed);
            }
        }
        self.begin_round();
        trace!(?peers, "gossip round");
        for p in peers {
            self.send_syn(p, now);
        }
    }

    pub(super) fn send_syn(&mut self, dst: SocketAddr, _now: Duration) {
        let mode = self.config.mode;
        let base = envelope_base_len(&self.config.cluster_id);
        let message = match mode {
            GossipMode::PushPull => {
                // body: fixarray(3), mode, digest, empty delta array
                let budget = (self.mtu_plain() - base - 3).min(self.config.max_digest_len);
                let digest = self.build_digest(budget, &[]);
                self.syn_range_len = digest.range.as_ref().map(|_| self.last_walked);
                Message::Syn {
                    mode,
                    digest: Some(digest),
                    delta: Vec::new(),
                }
            }
            GossipMode::Pull => {
                // Nothing else would ever push this node's own state to anyone (a pull-only
                // exchange moves state from the Syn's receiver to its sender only), so a Syn in
                // pull mode also carries the sender's own node delta, within a quarter of the
                // space.
                let avail = self.mtu_plain() - base - 2;
                let own = self.own_node_delta(avail / 4);
                let used = wire::delta_len(&own);
                let digest = self.build_digest((avail - used).min(self.config.max_digest_len), &[]);
                self.syn_range_len = digest.range.as_ref().map(|_| self.last_walked);
                Message::Syn {
                    mode,
                    digest: Some(digest),
                    delta: own,
                }
            }
            GossipMode::Push => {
                // body: fixarray(3), mode, nil digest
                let budget = self.mtu_plain() - base - 3;
                let delta = self.build_delta(None, budget, false);
                Message::Syn {
                    mode,
                    digest: None,
                    delta,
                }
            }
        };
        self.stats.syns_sent += 1;
        self.send(dst, message);
    }

    pub(super) fn send_synack(&mut self, dst: SocketAddr, peer_digest: &Digest, with_digest: bool) {
        // body: fixarray(2), digest (or nil), delta
        let avail = self.mtu_plain() - envelope_base_len(&self.config.cluster_id) - 1;
        let message = if with_digest {
            // Reserve up to a quarter of the space for our digest; the delta takes the rest and
            // whatever it leaves goes to the digest.
            let reserve = self.full_digest_len().min(avail / 4);
            let delta = self.build_delta(Some(peer_digest), avail - reserve, true);
            let wanted = self.wanted_unknown(peer_digest);
            let digest = self.build_digest(avail - wire::delta_len(&delta), &wanted);
            Message::SynAck {
                digest: Some(digest),
                delta,
            }
        } else {
            let delta = self.build_delta(Some(peer_digest), avail - 1, false);
            Message::SynAck {
                digest: None,
                delta,
            }
        };
        self.stats.synacks_sent += 1;
        self.send(dst, message);
    }

    pub(super) fn send(&mut self, dst: SocketAddr, message: Message) {
        let env = Envelope {
            cluster_id: self.config.cluster_id.clone(),
            message,
        };
        let mut payload = wire::encode(&env);
        debug_assert_eq!(payload.len(), env.encoded_len());
        debug_assert!(payload.len() <= self.mtu_plain(), "{} > mtu", payload.len());
        if payload.len() > self.mtu_plain() {
            tracing::warn!(len = payload.len(), "dropping an oversize datagram (bug)");
            return;
        }
        // Compress, then seal (docs/spec/wire.md "Compressed frame"): the budgets above apply to
        // the uncompressed datagram, so the frame fits the MTU whatever the compressor does.
        if self.config.compression
            && let Some(frame) = self
                .compressor
                .get_or_insert_with(wire::Compressor::default)
                .compress(&payload)
        {
            self.stats.compressed_out += 1;
            self.stats.compression_saved_bytes += (payload.len() - frame.len()) as u64;
            payload = frame;
        }
        if let Some(ring) = &self.keyring {
            payload = ring.seal(&payload, &self.config.cluster_id);
        }
        trace!(%dst, len = payload.len(), "transmit");
        self.transmits.push_back(Transmit { dst, payload });
    }

    fn digest_entry(id: &NodeId, st: &NodeState) -> DigestEntry {
        DigestEntry {
            node: id.clone(),
            generation: st.generation,
            heartbeat: st.heartbeat,
            watermark: st.watermark,
        }
    }

    fn entry_len(id: &NodeId, st: &NodeState) -> usize {
        1 + id.encoded_len()
            + uint_len(st.generation)
            + uint_len(st.heartbeat)
            + uint_len(st.watermark)
    }

    /// Encoded size of the complete digest.
    fn full_digest_len(&self) -> usize {
        1 + 1
            + array_hdr_len(self.nodes.len())
            + self
                .nodes
                .iter()
                .map(|(id, st)| Self::entry_len(id, st))
                .sum::<usize>()
    }

    /// How many rounds a hot mark lasts: `2 × ⌈log2(max(nodes, 2))⌉` (docs/spec/node.md §5).
    fn hot_window(&self) -> u64 {
        let n = self.nodes.len().max(2) as u64;
        2 * u64::from(n.next_power_of_two().trailing_zeros())
    }

    /// Marks `id` as hot (news in flight): it will be listed first in partial digests for the
    /// next [`Self::hot_window`] rounds. The node itself and unknown nodes are never marked.
    pub(super) fn mark_hot(&mut self, id: &NodeId) {
        if *id == self.id || !self.nodes.contains_key(id) {
            return;
        }
        self.hot_seq += 1;
        let mark = HotMark {
            seq: self.hot_seq,
            round: self.stats.rounds,
        };
        self.hot.insert(id.clone(), mark);
    }

    /// Marks hot every node for which a received digest shows the sender ahead of this node
    /// (a higher generation, or the same generation and a higher watermark), in entry order.
    pub(super) fn mark_hot_from_digest(&mut self, digest: &Digest) {
        for e in &digest.entries {
            let ahead = self.nodes.get(&e.node).is_some_and(|st| {
                e.generation > st.generation
                    || (e.generation == st.generation && e.watermark > st.watermark)
            });
            if ahead {
                self.mark_hot(&e.node);
            }
        }
    }

    /// The ids a peer's digest lists that this node neither knows nor holds a forgotten record
    /// for (in entry order, without repeats, while `max_nodes` leaves room for them): a partial
    /// SynAck digest asks for them with placeholder entries (docs/spec/node.md §5).
    fn wanted_unknown(&self, digest: &Digest) -> Vec<NodeId> {
        let room = self
            .config
            .limits
            .max_nodes
            .saturating_sub(self.nodes.len() + self.forgotten.len());
        let mut out: Vec<NodeId> = Vec::new();
        for e in &digest.entries {
            if out.len() >= room {
                break;
            }
            if !self.nodes.contains_key(&e.node)
                && !self.forgotten.contains_key(&e.node)
                && !out.contains(&e.node)
            {
                out.push(e.node.clone());
            }
        }
        out
    }

    /// The digest of every known node if it fits in `budget` bytes, else a partial digest:
    /// the node's own entry, placeholder entries `(id, 0, 0, 0)` for the `wanted` unknown ids,
    /// then its hot nodes (most recently marked first), all within half the budget; then
    /// a contiguous range starting at the rotating cursor (docs/spec/node.md §5, protocol.md
    /// §3, §9).
    fn build_digest(&mut self, budget: usize, wanted: &[NodeId]) -> Digest {
        // Every entry takes at least 14 bytes: skip the exact sum when it cannot fit.
        if self.nodes.len() * 14 <= budget && self.full_digest_len() <= budget {
            return Digest {
                range: None,
                entries: self
                    .nodes
                    .iter()
                    .map(|(id, st)| Self::digest_entry(id, st))
                    .collect(),
            };
        }
        // Expire old hot marks (and marks of nodes no longer in the view).
        let (rounds, window) = (self.stats.rounds, self.hot_window());
        let nodes = &self.nodes;
        self.hot
            .retain(|id, m| rounds.saturating_sub(m.round) <= window && nodes.contains_key(id));
        let max_id = self.max_id_len;
        let ordered: Vec<(&NodeId, &NodeState)> = match &self.digest_cursor {
            Some(c) => self
                .nodes
                .range::<NodeId, _>((Bound::Included(c), Bound::Unbounded))
                .chain(
                    self.nodes
                        .range::<NodeId, _>((Bound::Unbounded, Bound::Excluded(c))),
                )
                .collect(),
            None => self.nodes.iter().collect(),
        };
        let start = ordered[0].0.clone();
        // digest array header (fixarray 2) + range (array header, start, end) + entries header
        let fixed = 1 + 1 + start.encoded_len() + max_id;
        let first_len = Self::entry_len(ordered[0].0, ordered[0].1);
        let mut entries: Vec<DigestEntry> = Vec::new();
        let mut used = 0usize;
        // 1. The own entry, placeholders for wanted unknown ids, hot nodes (most recently
        //    marked first): within half the budget, always leaving room for the range's first
        //    entry; stop at the first that does not fit.
        let mut hot: Vec<(&NodeId, &HotMark)> = self.hot.iter().collect();
        hot.sort_by_key(|m| std::cmp::Reverse(m.1.seq));
        let own = Self::digest_entry(&self.id, self.own());
        let placeholders = wanted.iter().map(|id| DigestEntry {
            node: id.clone(),
            generation: 0,
            heartbeat: 0,
            watermark: 0,
        });
        let hot = hot
            .into_iter()
            .map(|(id, _)| Self::digest_entry(id, &self.nodes[id]));
        let mut first_listed = false;
        for e in std::iter::once(own).chain(placeholders).chain(hot) {
            let len = e.encoded_len();
            let is_first = e.node == *ordered[0].0;
            let (extra, extra_len) = if first_listed || is_first {
                (0, 0)
            } else {
                (1, first_len)
            };
            if used + len > budget / 2
                || fixed + array_hdr_len(entries.len() + 1 + extra) + used + len + extra_len
                    > budget
            {
                break;
            }
            first_listed |= is_first;
            used += len;
            entries.push(e);
        }
        let listed: BTreeSet<NodeId> = entries.iter().map(|e| e.node.clone()).collect();
        // 2. The range: ids from the cursor, listed ones passed over at no cost.
        let mut walked = 0usize;
        for (id, st) in &ordered {
            if listed.contains(*id) {
                walked += 1;
                continue;
            }
            let len = Self::entry_len(id, st);
            if fixed + array_hdr_len(entries.len() + 1) + used + len > budget {
                break;
            }
            used += len;
            walked += 1;
            entries.push(Self::digest_entry(id, st));
        }
        // The reservation above always lets the first id in; never walk nothing.
        let walked = walked.max(1);
        let end = ordered[walked % ordered.len()].0.clone();
        self.digest_cursor = Some(end.clone());
        self.last_walked = walked;
        Digest {
            range: Some(DigestRange { start, end }),
            entries,
        }
    }
}
