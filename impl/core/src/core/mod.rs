//! The sans-io protocol engine: the [`Core`] struct, its constructor and its sans-io surface
//! (`handle_*` inputs, `poll_*` outputs, queries). The protocol itself is split by section of
//! docs/spec/protocol.md and node.md into submodules, each an `impl` block of [`Core`]:
//!
//! - `writes`: local writes (set, delete, leave);
//! - `rounds`: gossip rounds, peer choice, sending, digests (own entry, placeholders, hot
//!   nodes, rotation);
//! - `deltas`: building deltas, cuts, byte budgets;
//! - `apply`: applying node deltas and digests, watermarks, tombstones, heartbeats;
//! - `membership`: the failure detector's settings, suspicion, convict, forget, garbage
//!   collection;
//! - `validation`: checking received datagrams, signatures and attestations.
//!
//! The submodules use only this module's items (never each other's), so imports form a tree.

mod apply;
mod deltas;
mod membership;
mod rounds;
mod validation;
mod writes;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use rand::RngCore;
use tracing::debug;

use crate::bounds::{Footprint, RateLimiter};
use crate::config::{Config, ConfigError, GossipMode, SecurityLayers};
use crate::error::DatagramError;
use crate::id::NodeId;
use crate::security::{Keyring, Security, Signing};
use crate::state::{Forgotten, NodeState};
use crate::view::{ClusterView, Event, ForgottenView, NodeView, Stats, Status, Transmit};
use crate::wire::{self, Message, envelope_base_len};

/// The smoothing of the heartbeat arrival rate (docs/spec/node.md §7): each round keeps
/// `1 − 1/8` of the smoothed rate and adds the round's arrivals, so the rate holds 8 rounds'
/// worth of arrivals.
const ARRIVAL_SMOOTHING: u64 = 8;

/// A borrowed entry of a node state, as returned by [`Core::get`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The change's version.
    pub version: u64,
    /// The value, or `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

/// The protocol engine of one node: the whole protocol of `docs/spec/protocol.md`, without
/// sockets, clocks, threads or global randomness.
///
/// # Call order contract
///
/// Time is a [`Duration`] since an arbitrary monotonic epoch, passed to every input. It must not
/// go backwards (a smaller `now` is treated as the largest `now` seen so far).
///
/// 1. Create the core with [`Core::new`]. Its first gossip round is due immediately.
/// 2. Feed inputs as they happen: [`Core::handle_datagram`] for every received datagram,
///    [`Core::handle_timeout`] when the timer set from [`Core::poll_timeout`] fires, and the local
///    writes [`Core::set`], [`Core::delete`], [`Core::leave`].
/// 3. **After every input**, drain [`Core::poll_transmit`] (send each datagram) and
///    [`Core::poll_event`] until they return `None`, then re-arm the timer with
///    [`Core::poll_timeout`] (its value may change after any input).
///
/// Calling [`Core::handle_timeout`] early or late is harmless: it does what is due at `now`.
/// Nothing is ever sent or changed except in reaction to one of the inputs above.
pub struct Core<R: RngCore> {
    config: Config,
    id: NodeId,
    rng: R,
    nodes: BTreeMap<NodeId, NodeState>,
    forgotten: BTreeMap<NodeId, Forgotten>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    now: Duration,
    next_gossip: Duration,
    digest_cursor: Option<NodeId>,
    delta_cursor: Option<NodeId>,
    /// Hot nodes (docs/spec/node.md §5 "Digest"): nodes with news in flight, listed first in
    /// partial digests. Value: the mark's sequence number and the round it was made in.
    hot: BTreeMap<NodeId, HotMark>,
    /// Sequence number of the last hot mark (orders marks, most recent first).
    hot_seq: u64,
    /// How many ids the range of the last partial Syn digest advanced over (`None`: the last
    /// Syn digest was complete, or none was sent): sets the digest rotation period that bounds
    /// the failure detector's heartbeat period (docs/spec/node.md §7).
    syn_range_len: Option<usize>,
    /// Heartbeat arrivals (intervals given to the failure detector, for any node) since this
    /// node's current round began (docs/spec/node.md §7).
    heartbeat_arrivals: u64,
    /// The smoothed heartbeat arrivals per round, times [`ARRIVAL_SMOOTHING`]: at each round,
    /// `rate − ⌊rate / 8⌋ + arrivals of the round that ended` (docs/spec/node.md §7).
    arrival_rate: u64,
    /// How many ids the range of the last partial digest built advanced over.
    last_walked: usize,
    left_acknowledged: bool,
    /// The largest encoded node id seen so far (conservative: never decreases).
    max_id_len: usize,
    /// The encryption layer (docs/spec/security.md §1), if on.
    keyring: Option<Keyring>,
    /// The signature layer (docs/spec/security.md §2), if on.
    signing: Option<Signing>,
    /// Per-source token buckets (`limits.max_datagrams_per_peer_per_sec`).
    limiter: RateLimiter,
    /// See [`Core::view_epoch`].
    view_epoch: u64,
    /// The DEFLATE compressor, created on first use (`Config::compression`).
    compressor: Option<wire::Compressor>,
}

impl<R: RngCore> std::fmt::Debug for Core<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("id", &self.id)
            .field("nodes", &self.nodes.len())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// What [`Core::summary`] returns: the three counters of a node state, without its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSummary {
    /// The node's generation.
    pub generation: u64,
    /// The node's heartbeat.
    pub heartbeat: u64,
    /// The node's watermark: every change up to it is held.
    pub watermark: u64,
}

/// The failure detector's effective settings (docs/spec/node.md §7), as returned by
/// [`Core::effective_detector_settings`]: the configured values, raised when digests rotate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectorSettings {
    /// The smallest standard deviation of heartbeat intervals φ assumes.
    pub min_std_dev: Duration,
    /// The heartbeat interval assumed before any interval was observed.
    pub initial_interval_estimate: Duration,
    /// How long a node stays suspected before it is declared dead.
    pub dead_after: Duration,
}

/// A hot mark: when a node was last marked as having news in flight.
#[derive(Clone, Copy, Debug)]
struct HotMark {
    /// Orders marks: the larger, the more recent.
    seq: u64,
    /// `Stats::rounds` when the mark was made.
    round: u64,
}

impl<R: RngCore> Core<R> {
    /// Creates a node that knows only itself (generation `config.generation`, version 0,
    /// heartbeat 0). Fails, creating nothing, if the configuration is invalid.
    pub fn new(config: Config, rng: R, now: Duration) -> Result<Self, ConfigError> {
        Self::with_security(config, Security::none(), rng, now)
    }

    /// Creates a node as [`Core::new`] does, using the security layers of `security`
    /// (docs/spec/security.md): with a keyring every datagram is sealed and only sealed
    /// datagrams are accepted; with signing, own updates and heartbeats are signed and node
    /// deltas are verified against the roster. Their overhead counts in the MTU check.
    pub fn with_security(
        config: Config,
        security: Security,
        rng: R,
        now: Duration,
    ) -> Result<Self, ConfigError> {
        config.validate_with(SecurityLayers {
            encrypted: security.keyring.is_some(),
            signed: security.signing.is_some(),
        })?;
        let id = NodeId::new(config.name.clone(), config.gossip_addr);
        let id_len = id.encoded_len();
        let mut nodes = BTreeMap::new();
        nodes.insert(id.clone(), NodeState::new(config.generation, now));
        Ok(Self {
            config,
            id,
            rng,
            nodes,
            forgotten: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            now,
            next_gossip: now,
            digest_cursor: None,
            delta_cursor: None,
            hot: BTreeMap::new(),
            hot_seq: 0,
            syn_range_len: None,
            heartbeat_arrivals: 0,
            arrival_rate: 0,
            last_walked: 0,
            max_id_len: id_len,
            left_acknowledged: false,
            limiter: RateLimiter::default(),
            keyring: security.keyring,
            signing: security.signing,
            view_epoch: 0,
            compressor: None,
        }
        .with_own_attestation())
    }

    fn with_own_attestation(mut self) -> Self {
        self.refresh_own_attestation();
        self
    }

    /// This node's id.
    pub fn id(&self) -> &NodeId {
        &self.id
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn tick(&mut self, now: Duration) -> Duration {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    fn own(&self) -> &NodeState {
        &self.nodes[&self.id]
    }

    fn own_mut(&mut self) -> &mut NodeState {
        self.nodes
            .get_mut(&self.id)
            .expect("the view always holds the node itself")
    }

    // -----------------------------------------------------------------------------------------
    // outputs and queries

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.transmits.pop_front()?;
        self.stats.datagrams_out += 1;
        self.stats.bytes_out += t.payload.len() as u64;
        Some(t)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Core::handle_timeout`] should next be called: the next gossip tick. Failure
    /// detection, forgetting and tombstone collection run on every `handle_timeout`, so their
    /// resolution is the gossip interval.
    pub fn poll_timeout(&self) -> Option<Duration> {
        Some(self.next_gossip)
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// What the core stores, counted deterministically (see [`Footprint`]): the quantities
    /// [`Limits`](crate::Limits) bound.
    pub fn footprint(&self) -> Footprint {
        let mut f = Footprint {
            nodes: self.nodes.len(),
            forgotten: self.forgotten.len(),
            tracked_peers: self.limiter.len(),
            queued: self.transmits.len() + self.events.len(),
            ..Footprint::default()
        };
        for (id, st) in &self.nodes {
            f.entries += st.entries.len();
            f.max_entries_per_node = f.max_entries_per_node.max(st.entries.len());
            f.bytes += id.name.len();
            for (k, e) in &st.entries {
                f.bytes += k.len() + e.value.as_ref().map_or(0, Vec::len);
            }
        }
        f.bytes += self.forgotten.keys().map(|id| id.name.len()).sum::<usize>();
        f
    }

    /// A counter that increases whenever [`Core::view`] may have changed in anything but the
    /// nodes' heartbeats: an entry, watermark, gc_floor, leave marker, generation or status,
    /// a node joining or being forgotten, a forgotten record. It may also increase when
    /// nothing changed, but never stays the same across such a change. Heartbeat-only gossip (the steady state of a quiet cluster) leaves
    /// it unchanged, so a shell can skip rebuilding its copy of the view for it. Cheap: a
    /// field read.
    pub fn view_epoch(&self) -> u64 {
        self.view_epoch
    }

    /// A consistent snapshot of the view.
    pub fn view(&self) -> ClusterView {
        ClusterView {
            self_id: Some(self.id.clone()),
            nodes: self.nodes.iter().map(|(id, st)| st.to_view(id)).collect(),
            forgotten: self
                .forgotten
                .iter()
                .map(|(id, f)| ForgottenView {
                    id: id.clone(),
                    generation: f.generation,
                    heartbeat: f.heartbeat,
                    left: f.left,
                })
                .collect(),
        }
    }

    /// The entry `key` of `node` (tombstones included), if held.
    pub fn get(&self, node: &NodeId, key: &str) -> Option<EntryRef<'_>> {
        let e = self.nodes.get(node)?.entries.get(key)?;
        Some(EntryRef {
            version: e.version,
            value: e.value.as_deref(),
        })
    }

    /// A snapshot of one node state, if known.
    pub fn node(&self, node: &NodeId) -> Option<NodeView> {
        self.nodes.get(node).map(|st| st.to_view(node))
    }

    /// The generation, heartbeat and watermark of `node`, if known (cheap: no copy of
    /// entries).
    pub fn summary(&self, node: &NodeId) -> Option<NodeSummary> {
        self.nodes.get(node).map(|st| NodeSummary {
            generation: st.generation,
            heartbeat: st.heartbeat,
            watermark: st.watermark,
        })
    }

    /// The status of `node`, if known.
    pub fn status(&self, node: &NodeId) -> Option<Status> {
        self.nodes.get(node).map(|s| s.status)
    }

    /// The ids of the nodes in the view (the node itself included), ascending.
    pub fn node_ids(&self) -> impl Iterator<Item = &NodeId> {
        self.nodes.keys()
    }

    // -----------------------------------------------------------------------------------------
    // inputs: timers and datagrams

    /// Does whatever is due at `now`: failure detection (suspect, dead), forgetting, forgotten
    /// record expiry and tombstone collection, then the gossip round if its tick is due.
    pub fn handle_timeout(&mut self, now: Duration) {
        let now = self.tick(now);
        // Housekeeping may change statuses (each with an event), collect tombstones (fewer
        // entries), forget nodes or expire forgotten records: O(nodes) integer reads, no copy.
        let before = self.housekeeping_summary();
        self.housekeeping(now);
        if self.housekeeping_summary() != before {
            self.view_epoch += 1;
        }
        if now >= self.next_gossip {
            // Saturating: a clock that jumps to the end of time must not overflow the timer.
            self.next_gossip = self.next_gossip.saturating_add(self.config.gossip_interval);
            if self.next_gossip <= now {
                self.next_gossip = now.saturating_add(self.config.gossip_interval);
            }
            self.gossip_round(now);
        }
    }

    /// Starts one gossip round with `peer` exactly as the gossip timer does once its RNG has
    /// picked `peer`: increments the heartbeat (unless left) and sends `peer` a Syn. Does not
    /// move the gossip timer.
    pub fn start_round_with(&mut self, peer: SocketAddr, now: Duration) {
        let now = self.tick(now);
        self.begin_round();
        self.send_syn(peer, now);
    }

    /// Handles one received datagram from `src`. Never panics. On error the datagram is
    /// dropped, counted in [`Stats::rejected`] and **nothing else changes** (see
    /// [`DatagramError`]).
    pub fn handle_datagram(
        &mut self,
        src: SocketAddr,
        bytes: &[u8],
        now: Duration,
    ) -> Result<(), DatagramError> {
        self.stats.datagrams_in += 1;
        self.stats.bytes_in += bytes.len() as u64;
        let limits = &self.config.limits;
        let env = if !self.limiter.admit(
            src,
            now.max(self.now),
            limits.max_datagrams_per_peer_per_sec,
            limits.max_tracked_peers,
        ) {
            Err(DatagramError::RateLimited)
        } else {
            self.check(bytes)
        };
        let env = match env {
            Ok((env, compressed)) => {
                self.stats.compressed_in += u64::from(compressed);
                env
            }
            Err(e) => {
                debug!(%src, error = %e, "rejected datagram");
                self.stats.rejected.bump(e.reason());
                return Err(e);
            }
        };
        let now = self.tick(now);
        match env.message {
            Message::Syn {
                mode,
                digest,
                delta,
            } => {
                self.apply_delta(&delta, now);
                if let Some(d) = &digest {
                    self.apply_digest_heartbeats(d, now);
                    self.check_left_ack(d);
                    self.mark_hot_from_digest(d);
                }
                match (mode, digest) {
                    (GossipMode::Push, _) | (_, None) => {}
                    (GossipMode::PushPull, Some(d)) => self.send_synack(src, &d, true),
                    (GossipMode::Pull, Some(d)) => self.send_synack(src, &d, false),
                }
            }
            Message::SynAck { digest, delta } => {
                self.apply_delta(&delta, now);
                if let Some(d) = digest {
                    self.apply_digest_heartbeats(&d, now);
                    self.check_left_ack(&d);
                    self.mark_hot_from_digest(&d);
                    let budget = self.mtu_plain() - envelope_base_len(&self.config.cluster_id) - 1;
                    let delta = self.build_delta(Some(&d), budget, true);
                    // An Ack with an empty delta would carry nothing: it is not sent.
                    if !delta.is_empty() {
                        self.stats.acks_sent += 1;
                        self.send(src, Message::Ack { delta });
                    }
                }
            }
            Message::Ack { delta } => self.apply_delta(&delta, now),
        }
        Ok(())
    }
}
