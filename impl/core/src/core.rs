//! The sans-io protocol engine.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::ops::Bound;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use tracing::{debug, trace};

use crate::bounds::{Footprint, RateLimiter};
use crate::config::{Config, ConfigError, GossipMode, SecurityLayers};
use crate::error::{DatagramError, WriteError};
use crate::id::NodeId;
use crate::security::{self as sec, Attestation, Keyring, Roster, Security, Signing};
use crate::state::{Forgotten, HeldAttestation, NodeState};
use crate::view::{ClusterView, Event, ForgottenView, Stats, Status, Transmit};
use crate::wire::{
    self, Change, DeltaKind, Digest, DigestEntry, DigestRange, Envelope, Message, NodeDelta,
    array_hdr_len, envelope_base_len,
};

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

/// A hot mark: when a node was last marked as having news in flight.
#[derive(Clone, Copy, Debug)]
struct HotMark {
    /// Orders marks: the larger, the more recent.
    seq: u64,
    /// `Stats::rounds` when the mark was made.
    round: u64,
}

/// See `Core::view_summary`.
type ViewSummary = (
    Option<(u64, u64, u64, Option<u64>, Status, usize, Option<u64>)>,
    bool,
    usize,
    usize,
);

enum Plan {
    /// Send updates of version > `from` (all held changes for a reset).
    Updates { kind: DeltaKind, from: u64 },
    /// Send the heartbeat only.
    HeartbeatOnly,
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

    // -----------------------------------------------------------------------------------------
    // security

    /// The keyring, if the encryption layer is on.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_ref()
    }

    /// The keyring, to add, switch the primary of, or remove keys on a running node
    /// (docs/spec/security.md §4). `None` if the encryption layer is off (it cannot be turned
    /// on or off on a running core).
    pub fn keyring_mut(&mut self) -> Option<&mut Keyring> {
        self.keyring.as_mut()
    }

    /// The roster, if the signature layer is on.
    pub fn roster(&self) -> Option<&Roster> {
        self.signing.as_ref().map(|s| &s.roster)
    }

    /// The roster, to bind or unbind node names on a running node. `None` if the signature
    /// layer is off.
    pub fn roster_mut(&mut self) -> Option<&mut Roster> {
        self.signing.as_mut().map(|s| &mut s.roster)
    }

    /// This node's public key, if the signature layer is on.
    pub fn public_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        self.signing.as_ref().map(|s| s.key.verifying_key())
    }

    /// Which security layers are on.
    pub fn security_layers(&self) -> SecurityLayers {
        SecurityLayers {
            encrypted: self.keyring.is_some(),
            signed: self.signing.is_some(),
        }
    }

    /// Bytes available for the plaintext datagram: the MTU minus the frame overhead.
    fn mtu_plain(&self) -> usize {
        if self.keyring.is_some() {
            self.config.mtu - sec::FRAME_OVERHEAD
        } else {
            self.config.mtu
        }
    }

    /// The owner's signature of one of its own updates, if signing.
    fn sign_own(&self, version: u64, change: &Change) -> Option<sec::Signature> {
        let s = self.signing.as_ref()?;
        let u = wire::Update {
            version,
            change: change.clone(),
            sig: None,
        };
        let msg =
            sec::update_signed_bytes(&self.config.cluster_id, &self.id, self.own().generation, &u);
        Some(sec::sign(&s.key, &msg))
    }

    /// Re-signs the own attestation if the heartbeat or watermark changed since it was made.
    fn refresh_own_attestation(&mut self) {
        let Some(s) = &self.signing else { return };
        let own = &self.nodes[&self.id];
        let (h, w) = (own.heartbeat, own.watermark);
        if own
            .attestation
            .as_ref()
            .is_some_and(|a| a.heartbeat == h && a.attestation.watermark == w)
        {
            return;
        }
        let msg =
            sec::attestation_signed_bytes(&self.config.cluster_id, &self.id, own.generation, h, w);
        let sig = sec::sign(&s.key, &msg);
        self.own_mut().attestation = Some(HeldAttestation {
            heartbeat: h,
            attestation: Attestation { watermark: w, sig },
        });
    }

    /// `(heartbeat, attestation)` to put in a node delta about a node in state `st`.
    fn delta_heartbeat(&self, st: &NodeState) -> (u64, Option<Attestation>) {
        match (&self.signing, &st.attestation) {
            (Some(_), Some(a)) => (a.heartbeat, Some(a.attestation.clone())),
            _ => (st.heartbeat, None),
        }
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
    // local writes

    fn check_key(&self, key: &str) -> Result<(), WriteError> {
        if self.own().left.is_some() {
            return Err(WriteError::Left);
        }
        if key.is_empty() {
            return Err(WriteError::EmptyKey);
        }
        let max = self.config.limits.max_key_len;
        if key.len() > max {
            return Err(WriteError::KeyTooLong {
                len: key.len(),
                max,
            });
        }
        if !self.own().entries.contains_key(key)
            && self.own().entries.len() >= self.config.limits.max_keys_per_node
        {
            return Err(WriteError::TooManyKeys);
        }
        Ok(())
    }

    /// Sets `key = value` in the node's own state (protocol.md §1). Returns the change's version.
    pub fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<u64, WriteError> {
        let now = self.tick(now);
        self.check_key(key)?;
        let max = self.config.limits.max_value_len;
        if value.len() > max {
            return Err(WriteError::ValueTooLong {
                len: value.len(),
                max,
            });
        }
        let version = self.own().watermark + 1;
        let sig = self.sign_own(
            version,
            &Change::Set {
                key: key.to_owned(),
                value: value.to_vec(),
            },
        );
        let own = self.own_mut();
        own.put(key.to_owned(), version, Some(value.to_vec()), sig, now);
        own.watermark = version;
        self.refresh_own_attestation();
        self.view_epoch += 1;
        debug!(key, version, "set");
        Ok(version)
    }

    /// Deletes `key` from the node's own state: it is replaced by a **tombstone** (even if the
    /// key was absent). Returns the tombstone's version.
    pub fn delete(&mut self, key: &str, now: Duration) -> Result<u64, WriteError> {
        let now = self.tick(now);
        self.check_key(key)?;
        let version = self.own().watermark + 1;
        let sig = self.sign_own(
            version,
            &Change::Delete {
                key: key.to_owned(),
            },
        );
        let own = self.own_mut();
        own.put(key.to_owned(), version, None, sig, now);
        own.watermark = version;
        self.refresh_own_attestation();
        self.view_epoch += 1;
        debug!(key, version, "delete");
        Ok(version)
    }

    /// Records the node's **leave** marker (protocol.md §7): the heartbeat stops, later writes
    /// fail with [`WriteError::Left`], and the node keeps gossiping until
    /// [`Core::left_acknowledged`]. Returns the marker's version.
    pub fn leave(&mut self, now: Duration) -> Result<u64, WriteError> {
        let now = self.tick(now);
        if self.own().left.is_some() {
            return Err(WriteError::Left);
        }
        let version = self.own().watermark + 1;
        let sig = self.sign_own(version, &Change::Leave);
        let own = self.own_mut();
        own.left = Some(version);
        own.left_sig = sig;
        own.watermark = version;
        own.status = Status::Left;
        own.status_since = now;
        self.refresh_own_attestation();
        self.view_epoch += 1;
        debug!(version, "leave");
        Ok(version)
    }

    /// Whether a peer's digest has shown that it holds this node's leave marker.
    pub fn left_acknowledged(&self) -> bool {
        self.left_acknowledged
    }

    // -----------------------------------------------------------------------------------------
    // outputs

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
    pub fn node(&self, node: &NodeId) -> Option<crate::NodeView> {
        self.nodes.get(node).map(|st| st.to_view(node))
    }

    /// `(generation, heartbeat, watermark)` of `node`, if known (cheap: no copy of entries).
    pub fn summary(&self, node: &NodeId) -> Option<(u64, u64, u64)> {
        self.nodes
            .get(node)
            .map(|st| (st.generation, st.heartbeat, st.watermark))
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
    // timers and rounds

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

    fn begin_round(&mut self) {
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

    fn gossip_round(&mut self, now: Duration) {
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

    fn send_syn(&mut self, dst: SocketAddr, _now: Duration) {
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

    fn send(&mut self, dst: SocketAddr, message: Message) {
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

    // -----------------------------------------------------------------------------------------
    // digests and deltas

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
            + wire::uint_len(st.generation)
            + wire::uint_len(st.heartbeat)
            + wire::uint_len(st.watermark)
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
    fn mark_hot(&mut self, id: &NodeId) {
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
    fn mark_hot_from_digest(&mut self, digest: &Digest) {
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
        let listed: std::collections::BTreeSet<NodeId> =
            entries.iter().map(|e| e.node.clone()).collect();
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

    /// The delta answering `digest` (`None`: the peer is assumed to know nothing, push mode),
    /// within `budget` bytes (protocol.md §4).
    /// `by_digest`: the peer gets this node's digest in the same exchange (push-pull SynAck and
    /// Ack, unsigned cluster), so node deltas whose only news is the heartbeat are not sent
    /// (protocol.md §4, "heartbeats travel in digests").
    fn build_delta(
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
    fn own_node_delta(&self, budget: usize) -> Vec<NodeDelta> {
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

    // -----------------------------------------------------------------------------------------
    // receiving

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

    fn send_synack(&mut self, dst: SocketAddr, peer_digest: &Digest, with_digest: bool) {
        // body: fixarray(2), digest (or nil), delta
        let avail = self.mtu_plain() - envelope_base_len(&self.config.cluster_id) - 1;
        let message = if with_digest {
            // Reserve up to a quarter of the space for our digest; the delta takes the rest and
            // whatever it leaves goes to the digest.
            let full_digest = 1
                + 1
                + array_hdr_len(self.nodes.len())
                + self
                    .nodes
                    .iter()
                    .map(|(id, st)| Self::digest_entry(id, st).encoded_len())
                    .sum::<usize>();
            let reserve = full_digest.min(avail / 4);
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

    fn check_left_ack(&mut self, digest: &Digest) {
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

    /// Decodes and validates; no state is touched. Also says whether the datagram was a
    /// compressed frame.
    fn check(&self, bytes: &[u8]) -> Result<(Envelope, bool), DatagramError> {
        let opened;
        let plain: &[u8] = match &self.keyring {
            Some(ring) => {
                if bytes.len() > self.config.mtu {
                    return Err(DatagramError::Oversize {
                        len: bytes.len(),
                        mtu: self.config.mtu,
                    });
                }
                if matches!(
                    bytes.first(),
                    Some(&(wire::PROTOCOL_VERSION | wire::FRAME_COMPRESSED))
                ) {
                    return Err(DatagramError::Unencrypted);
                }
                opened = ring.open(bytes, &self.config.cluster_id)?;
                &opened
            }
            None => {
                if bytes.len() <= self.config.mtu && bytes.first() == Some(&sec::FRAME_ENCRYPTED) {
                    return Err(DatagramError::NoKey);
                }
                bytes
            }
        };
        let compressed = plain.first() == Some(&wire::FRAME_COMPRESSED);
        let env = wire::decode(plain, self.mtu_plain())?;
        if env.cluster_id != self.config.cluster_id {
            return Err(DatagramError::WrongCluster(env.cluster_id));
        }
        let limits = &self.config.limits;
        let check_id = |id: &NodeId| {
            if id.name.len() > limits.max_name_len {
                Err(DatagramError::LimitExceeded("node name"))
            } else if id.name.is_empty() {
                Err(DatagramError::Invalid("empty node name"))
            } else {
                Ok(())
            }
        };
        let (digest, delta) = match &env.message {
            Message::Syn {
                mode,
                digest,
                delta,
            } => {
                if *mode != GossipMode::Push && digest.is_none() {
                    return Err(DatagramError::Invalid("syn without digest"));
                }
                (digest.as_ref(), delta)
            }
            Message::SynAck { digest, delta } => (digest.as_ref(), delta),
            Message::Ack { delta } => (None, delta),
        };
        if let Some(d) = digest {
            if let Some(r) = &d.range {
                check_id(&r.start)?;
                check_id(&r.end)?;
            }
            for e in &d.entries {
                check_id(&e.node)?;
            }
        }
        for nd in delta {
            check_id(&nd.node)?;
            let lo = match nd.kind {
                DeltaKind::Incremental { from } => from,
                DeltaKind::Reset { .. } => 0,
            };
            if lo > nd.watermark_after {
                return Err(DatagramError::Invalid("from above watermark_after"));
            }
            let mut prev = lo;
            for u in &nd.updates {
                if u.version <= prev {
                    return Err(DatagramError::Invalid(
                        "updates not in strictly increasing version order above from",
                    ));
                }
                if u.version > nd.watermark_after {
                    return Err(DatagramError::Invalid("update above watermark_after"));
                }
                prev = u.version;
                match &u.change {
                    Change::Set { key, value } => {
                        if key.len() > limits.max_key_len {
                            return Err(DatagramError::LimitExceeded("key"));
                        }
                        if value.len() > limits.max_value_len {
                            return Err(DatagramError::LimitExceeded("value"));
                        }
                    }
                    Change::Delete { key } => {
                        if key.len() > limits.max_key_len {
                            return Err(DatagramError::LimitExceeded("key"));
                        }
                    }
                    Change::Leave => {}
                }
            }
        }
        if let Some(s) = &self.signing {
            for nd in delta {
                self.verify_node_delta(&s.roster, nd)?;
            }
        }
        Ok((env, compressed))
    }

    /// docs/spec/security.md §2.4.
    fn verify_node_delta(&self, roster: &Roster, nd: &NodeDelta) -> Result<(), DatagramError> {
        let key = roster
            .get(&nd.node.name)
            .ok_or_else(|| DatagramError::UnknownSigner(nd.node.name.clone()))?;
        let att = nd.attestation.as_ref().ok_or(DatagramError::Unsigned)?;
        if nd.updates.iter().any(|u| u.sig.is_none()) {
            return Err(DatagramError::Unsigned);
        }
        let cluster = &self.config.cluster_id;
        let msg = sec::attestation_signed_bytes(
            cluster,
            &nd.node,
            nd.generation,
            nd.heartbeat,
            att.watermark,
        );
        if !sec::verify(key, &msg, &att.sig) {
            return Err(DatagramError::BadSignature("attestation"));
        }
        if nd.watermark_after > att.watermark {
            return Err(DatagramError::BadSignature(
                "watermark_after above the attested watermark",
            ));
        }
        for u in &nd.updates {
            let msg = sec::update_signed_bytes(cluster, &nd.node, nd.generation, u);
            let sig = u.sig.as_ref().ok_or(DatagramError::Unsigned)?;
            if !sec::verify(key, &msg, sig) {
                return Err(DatagramError::BadSignature("update"));
            }
        }
        Ok(())
    }

    fn apply_delta(&mut self, delta: &[NodeDelta], now: Duration) {
        for nd in delta {
            let before = self.summary(&nd.node).map(|(g, _, w)| (g, w));
            let before_view = self.view_summary(&nd.node);
            self.apply_node_delta(nd, now);
            if self.view_summary(&nd.node) != before_view {
                self.view_epoch += 1;
            }
            // A node whose generation or watermark changed here has news in flight (a heartbeat
            // alone is not news: every node's heartbeat changes every round).
            let after = self.summary(&nd.node).map(|(g, _, w)| (g, w));
            if after.is_some() && after != before {
                self.mark_hot(&nd.node);
            }
        }
    }

    /// What housekeeping can change in the view, for [`Core::view_epoch`]: every status change
    /// and every forgetting emits an event; tombstone collection removes entries; forgotten
    /// records expire.
    fn housekeeping_summary(&self) -> (usize, usize, usize, usize) {
        (
            self.events.len(),
            self.forgotten.len(),
            self.nodes.len(),
            self.nodes.values().map(|st| st.entries.len()).sum(),
        )
    }

    /// What of `node`'s part of the view a node delta can change, heartbeat excepted, in O(1)
    /// (for [`Core::view_epoch`]). Entries: every change of an entry's value or version emits
    /// an event or changes the entry count or greatest version, so the event count stands for
    /// the rest.
    fn view_summary(&self, node: &NodeId) -> ViewSummary {
        let st = self.nodes.get(node).map(|st| {
            (
                st.generation,
                st.watermark,
                st.gc_floor,
                st.left,
                st.status,
                st.entries.len(),
                st.by_version.last_key_value().map(|(v, _)| *v),
            )
        });
        (
            st,
            self.forgotten.contains_key(node),
            self.nodes.len(),
            self.events.len(),
        )
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
                let effective = {
                    let mut keys: std::collections::BTreeSet<&str> = Default::default();
                    let mut wm = nd.watermark_after;
                    for (i, u) in nd.updates.iter().enumerate() {
                        if let Change::Set { key, .. } | Change::Delete { key } = &u.change
                            && !keys.contains(key.as_str())
                        {
                            if keys.len() >= max_keys {
                                wm = if i == 0 { 0 } else { nd.updates[i - 1].version };
                                break;
                            }
                            keys.insert(key);
                        }
                    }
                    wm
                };
                if effective <= st.watermark && effective < nd.watermark_after {
                    stats.dropped_updates += nd.updates.len() as u64;
                }
                if effective > st.watermark {
                    let old = std::mem::take(&mut st.entries);
                    st.clear();
                    let mut wm = nd.watermark_after;
                    for (i, u) in nd.updates.iter().enumerate() {
                        match &u.change {
                            Change::Set { key, .. } | Change::Delete { key }
                                if !st.entries.contains_key(key)
                                    && st.entries.len() >= max_keys =>
                            {
                                stats.dropped_updates += (nd.updates.len() - i) as u64;
                                wm = if i == 0 { 0 } else { nd.updates[i - 1].version };
                                break;
                            }
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
                    st.watermark = wm;
                    st.gc_floor = st.gc_floor.max(gc_floor);
                    stats.resets_applied += 1;
                }
            }
            // 6. incremental
            DeltaKind::Incremental { from } => {
                if st.watermark < from {
                    stats.gaps += 1;
                } else {
                    let mut wm_after = nd.watermark_after;
                    for (i, u) in nd.updates.iter().enumerate() {
                        if u.version <= st.watermark {
                            continue;
                        }
                        match &u.change {
                            Change::Set { key, .. } | Change::Delete { key } => {
                                let cur = st.entries.get(key).map(|e| e.version);
                                if cur.is_some_and(|c| c >= u.version) {
                                    continue;
                                }
                                if cur.is_none() && st.entries.len() >= max_keys {
                                    stats.dropped_updates += (nd.updates.len() - i) as u64;
                                    wm_after = if i == 0 {
                                        from
                                    } else {
                                        nd.updates[i - 1].version
                                    };
                                    break;
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
                    st.watermark = st.watermark.max(wm_after);
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
    fn apply_digest_heartbeats(&mut self, digest: &Digest, now: Duration) {
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

    // -----------------------------------------------------------------------------------------
    // the timeouts as separate inputs (for harnesses)

    /// The failure detector's verdict on `node`, as one step: what [`Core::handle_timeout`] does
    /// when `node` has been suspected (φ ≥ threshold) and then stayed suspected for
    /// `dead_after`: its status becomes `dead` ([`Event::NodeDead`]). Exposed for harnesses
    /// (the conformance test's abstract `Convict`). Returns whether `node` was `alive` or
    /// `suspected` (otherwise nothing changes; the node itself is never convicted).
    pub fn convict(&mut self, node: &NodeId, now: Duration) -> bool {
        let now = self.tick(now);
        if *node == self.id {
            return false;
        }
        let Some(st) = self.nodes.get_mut(node) else {
            return false;
        };
        if !matches!(st.status, Status::Alive | Status::Suspected) {
            return false;
        }
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

    // -----------------------------------------------------------------------------------------
    // housekeeping

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

    /// The failure detector's effective `(min_std_dev, initial_interval_estimate, dead_after)`:
    /// the configured values while `P` ([`Core::heartbeat_period_rounds`]) is 1, else raised to
    /// at least `3 × P × interval / 4`, `P × interval` and `2 × P × interval`
    /// (docs/spec/node.md §7).
    pub fn effective_detector_settings(&self) -> (Duration, Duration, Duration) {
        let p = self.heartbeat_period_rounds();
        let c = &self.config;
        if p == 1 {
            return (c.min_std_dev, c.initial_interval_estimate, c.dead_after);
        }
        let period = self.config.gossip_interval.saturating_mul(p);
        (
            self.config.min_std_dev.max(period * 3 / 4),
            self.config.initial_interval_estimate.max(period),
            self.config.dead_after.max(period.saturating_mul(2)),
        )
    }

    fn housekeeping(&mut self, now: Duration) {
        let (min_std_dev, initial_estimate, dead_after) = self.effective_detector_settings();
        let cfg = &self.config;
        let mut forget = Vec::new();
        for (id, st) in self.nodes.iter_mut() {
            // tombstone collection (protocol.md §8)
            let expired = |e: &crate::state::Entry| {
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
}

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
