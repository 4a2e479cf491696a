"""The sans-io node core (docs/spec/protocol.md). Time (`now`, seconds as float) is always an
argument; protocol randomness comes only from the injected `random.Random` (AEAD nonces come
from `os.urandom`, never from it)."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import security, wire
from .bugs import active_bug
from .fd import PhiDetector
from .wire import (KIND_INCREMENTAL, KIND_RESET, MODE_PULL, MODE_PUSH, MODE_PUSH_PULL, OP_DELETE,
                   OP_LEAVE, OP_SET, Ack, Digest, DigestEntry, Envelope, Limits, NodeDelta,
                   NodeId, Syn, SynAck, Update, WireError)

ALIVE = "alive"
SUSPECTED = "suspected"
DEAD = "dead"
LEFT = "left"

MODES = {"push-pull": MODE_PUSH_PULL, "pull": MODE_PULL, "push": MODE_PUSH}
# node.md §7: each round keeps 1 - 1/8 of the smoothed heartbeat arrival rate
ARRIVAL_SMOOTHING = 8


class ConfigError(Exception):
    pass


class WriteError(Exception):
    """A refused write; consumes no version. .reason: 'left' or 'limit'."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass
class Config:
    name: str
    host: str = "127.0.0.1"
    port: int = 7946
    cluster_id: str = "default"
    generation: int = 1
    gossip_interval: float = 1.0
    fanout: int = 1
    mode: str = "push-pull"
    mtu: int = 1400
    max_digest_len: int = 1400
    phi_threshold: float = 8.0
    phi_window: int = 1000
    min_std_dev: float = 0.5
    initial_interval: float = 1.0
    dead_after: float = 10.0
    dead_grace: float = 24 * 3600.0
    tombstone_grace: float = 3600.0
    forgotten_retention: float = 48 * 3600.0
    max_delta_updates: Optional[int] = None
    rotate_delta_start: bool = True
    limits: Limits = field(default_factory=Limits)
    seeds: List[bytes] = field(default_factory=list)  # wire-form addresses
    bug: Optional[str] = None  # None: from PYGOSSIP_BUG
    # Behave like Rust reference binaries built before the fix of SPEC-GAPS.md G16: no
    # max_delta_updates on the pull Syn's own node delta. None: from PYGOSSIP_RUST_COMPAT
    # (unset: follow the spec).
    rust_compat: Optional[bool] = None
    keyring: Optional[security.Keyring] = None  # security.md §1: encrypted frames
    signing_key: Optional[bytes] = None  # security.md §2: this node's Ed25519 seed
    roster: Optional[Dict[str, bytes]] = None  # name -> Ed25519 public key
    compression: bool = False  # wire.md "Compressed frame": send compressed frames if shorter

    def effective_mtu(self) -> int:
        """The plaintext datagram bound: MTU, minus the frame overhead with a keyring."""
        return self.mtu - (security.OVERHEAD if self.keyring is not None else 0)

    def node_id(self) -> NodeId:
        return NodeId.make(self.name, self.host, self.port)

    def validate(self) -> None:
        if not self.name:
            raise ConfigError("empty name")
        if len(self.name.encode()) > self.limits.max_name_len:
            raise ConfigError("name too long")
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode {self.mode}")
        if self.gossip_interval <= 0 or self.fanout < 1:
            raise ConfigError("interval and fanout must be positive")
        if self.max_delta_updates is not None and self.max_delta_updates < 1:
            raise ConfigError("max_delta_updates must be >= 1")
        need_digest, need_mtu = self.minimums()
        if self.max_digest_len < need_digest:
            raise ConfigError(f"max_digest_len {self.max_digest_len} is too small; at least "
                              f"{need_digest} bytes are needed")
        if self.mtu < need_mtu:
            raise ConfigError(f"mtu {self.mtu} is too small for the limits; at least "
                              f"{need_mtu} bytes are needed")

    def minimums(self) -> Tuple[int, int]:
        """(minimum max_digest_len, minimum MTU) for these limits (wire.md "Limits and
        validation"; the exact rule is SPEC-GAPS.md G17): a one-entry partial digest of a
        worst-case node D (range included, entries header counted as 3 bytes) must fit in
        max_digest_len and in a quarter of the SynAck's space, and one maximal update's node
        delta X (delta array header counted as 3 bytes) in three quarters of it."""
        def strl(n):
            return n + (1 if n < 32 else 2 if n < 256 else 3 if n < 65536 else 5)

        def binl(n):
            return n + (2 if n < 256 else 3 if n < 65536 else 5)
        lim = self.limits
        headers = 4 + strl(len(self.cluster_id.encode()))
        nid = 1 + strl(lim.max_name_len) + binl(18)
        d = 1 + (1 + 2 * nid) + 3 + (1 + nid + 27)
        sig = 66 if self.signing_key is not None or self.roster is not None else 0
        upd = 1 + 9 + 1 + strl(lim.max_key_len) + binl(lim.max_value_len) + sig
        att = (1 + 9 + 66) if sig else 0
        x = 3 + 1 + nid + 9 + 9 + 11 + 1 + upd + 9 + att
        space = max(4 * d, -(-4 * x // 3))
        frame = security.OVERHEAD if self.keyring is not None else 0
        return d, headers + space + frame


@dataclass
class NodeState:
    generation: int
    heartbeat: int
    entries: Dict[str, Tuple[int, Optional[bytes]]] = field(default_factory=dict)
    left: Optional[int] = None  # version of the leave marker
    watermark: int = 0
    gc_floor: int = 0
    status: str = ALIVE
    status_since: float = 0.0
    tomb_since: Dict[str, float] = field(default_factory=dict)
    fd: Optional[PhiDetector] = None
    sigs: Dict[str, bytes] = field(default_factory=dict)  # key -> owner's update signature
    left_sig: Optional[bytes] = None
    attest: Optional[Tuple[int, int, bytes]] = None  # greatest (heartbeat, watermark, sig)

    def changes(self) -> List[Update]:
        """Every held change (entries, tombstones, leave marker) in version order."""
        ups = []
        for k, (v, val) in self.entries.items():
            sig = self.sigs.get(k)
            ups.append(Update(v, OP_SET, k, val, sig) if val is not None
                       else Update(v, OP_DELETE, k, None, sig))
        if self.left is not None:
            ups.append(Update(self.left, OP_LEAVE, sig=self.left_sig))
        ups.sort(key=lambda u: u.version)
        return ups


@dataclass
class Forgotten:
    generation: int
    heartbeat: int
    left: bool
    since: float


@dataclass
class Stats:
    datagrams_in: int = 0
    bytes_in: int = 0
    datagrams_out: int = 0
    bytes_out: int = 0
    rounds: int = 0
    syns_sent: int = 0
    synacks_sent: int = 0
    acks_sent: int = 0
    resets_sent: int = 0
    resets_applied: int = 0
    deltas_cut: int = 0
    gaps: int = 0
    zombies_ignored: int = 0
    dropped_nodes: int = 0
    dropped_updates: int = 0
    compressed_out: int = 0
    compression_saved_bytes: int = 0
    compressed_in: int = 0
    rejected: Dict[str, int] = field(default_factory=lambda: {
        r: 0 for r in wire.REASONS + security.SECURITY_REASONS})


def _nodeid_len(n: NodeId) -> int:
    return wire.size_of(wire._node_id, n)


def _uint(n: int) -> int:
    return wire.mp.uint_len(n)


def _update_len(u: Update) -> int:
    return wire.size_of(wire.enc_update, u)


def _take_fitting(ups: List[Update], size: int, limit: int, budget: int):
    """The leading updates of `ups`, at most `limit` of them, that fit in `budget` after
    `size` bytes (stopping at the first that does not); and the size with them."""
    take: List[Update] = []
    for u in ups:
        if len(take) >= limit:
            break
        ul = _update_len(u)
        if size + ul > budget:
            break
        take.append(u)
        size += ul
    return take, size


class Core:
    """One node's protocol state machine."""

    def __init__(self, config: Config, rng: random.Random, now: float):
        config.validate()
        self.config = config
        self.rng = rng
        self.bug = config.bug if config.bug is not None else active_bug()
        self.compat = (config.rust_compat if config.rust_compat is not None
                       else os.environ.get("PYGOSSIP_RUST_COMPAT", "") not in ("", "0"))
        self.id = config.node_id()
        self.limits = config.limits
        self.mode = MODES[config.mode]
        own = NodeState(config.generation, 0, status_since=now)
        self.view: Dict[NodeId, NodeState] = {self.id: own}
        self.forgotten: Dict[NodeId, Forgotten] = {}
        self.stats = Stats()
        self.transmits: List[Tuple[bytes, bytes]] = []
        self.events: List[tuple] = []
        self.next_round = now
        self.last_now = now
        self.digest_cursor: Optional[NodeId] = None
        self.delta_cursor: Optional[NodeId] = None
        self.left_acknowledged = False
        self.max_id_len = _nodeid_len(self.id)  # node.md §2: never decreases
        # node.md §5 "Digest": hot nodes, id -> (mark sequence number, stats.rounds at marking)
        self.hot: Dict[NodeId, Tuple[int, int]] = {}
        self.hot_seq = 0
        # ids the range of the last partial Syn digest advanced over (None: complete / none)
        self.syn_range_len: Optional[int] = None
        self.last_walked = 0
        # node.md §7: heartbeat arrivals since the current round began, and the smoothed
        # arrivals per round times ARRIVAL_SMOOTHING (integers, as in every implementation)
        self.heartbeat_arrivals = 0
        self.arrival_rate = 0
        self.signer = security.Signer(config.signing_key) if config.signing_key else None
        self.mtu = config.effective_mtu()
        self._attest()

    # ------------------------------------------------------------ signatures
    def _attest(self) -> None:
        """Sign a new attestation of our (heartbeat, watermark) if either changed."""
        if self.signer is None:
            return
        own = self.own
        if own.attest is not None and own.attest[:2] == (own.heartbeat, own.watermark):
            return
        sig = self.signer.sign(security.attest_bytes(self.config.cluster_id, self.id,
                                                     own.generation, own.heartbeat, own.watermark))
        own.attest = (own.heartbeat, own.watermark, sig)

    def _sign(self, u: Update) -> Optional[bytes]:
        if self.signer is None:
            return None
        return self.signer.sign(security.update_bytes(self.config.cluster_id, self.id,
                                                      self.own.generation, u))

    def _nd(self, nid: NodeId, st: NodeState, kind: int, arg: int, ups: List[Update],
            wa: int) -> NodeDelta:
        """A node delta carrying the stored attestation (signed mode)."""
        if st.attest is None:
            return NodeDelta(nid, st.generation, st.heartbeat, kind, arg, ups, wa)
        hb, awm, sig = st.attest
        return NodeDelta(nid, st.generation, hb, kind, arg, ups, wa, (awm, sig))

    def _att_len(self, st: NodeState) -> int:
        if st.attest is None:
            return 0
        return 1 + _uint(st.attest[1]) + 66

    # ------------------------------------------------------------ helpers
    @property
    def own(self) -> NodeState:
        return self.view[self.id]

    def _now(self, now: float) -> float:
        if now < self.last_now:
            now = self.last_now
        self.last_now = now
        return now

    def _sorted_ids(self) -> List[NodeId]:
        return sorted(self.view)

    def poll_transmit(self) -> Optional[Tuple[bytes, bytes]]:
        return self.transmits.pop(0) if self.transmits else None

    def poll_event(self) -> Optional[tuple]:
        return self.events.pop(0) if self.events else None

    def poll_timeout(self) -> float:
        return self.next_round

    def _send(self, dst: bytes, msg) -> None:
        data = wire.encode(Envelope(self.config.cluster_id, msg))
        assert len(data) <= self.mtu, (len(data), self.mtu)
        if self.config.compression:  # compress, then seal
            framed = wire.maybe_compress(data)
            if framed is not data:
                self.stats.compressed_out += 1
                self.stats.compression_saved_bytes += len(data) - len(framed)
            data = framed
        if self.config.keyring is not None:
            # Nonces come from the OS CSPRNG, never from the injected (seedable) protocol RNG
            # (security.md §1.3): a reused seed must not repeat a (key, nonce) pair.
            nonce = os.urandom(12)
            data = security.seal(self.config.keyring.primary, nonce, data, self.config.cluster_id)
        self.transmits.append((dst, data))
        self.stats.datagrams_out += 1
        self.stats.bytes_out += len(data)
        if isinstance(msg, Syn):
            self.stats.syns_sent += 1
        elif isinstance(msg, SynAck):
            self.stats.synacks_sent += 1
        else:
            self.stats.acks_sent += 1
        for nd in msg.delta:
            if nd.is_reset:
                self.stats.resets_sent += 1

    # ------------------------------------------------------------ local writes
    def _check_write(self):
        if self.own.left is not None:
            raise WriteError("left", "the node has left")

    def _next_version(self) -> int:
        return self.own.watermark + 1

    def _write_key(self, key: str, value, op: int) -> int:
        """A set (value: bytes) or delete (value: None) of an own key, after the write checks:
        the key's limits, then the value's, then the number of keys."""
        self._check_write()
        if not key:
            raise WriteError("limit", "empty key")
        if len(key.encode()) > self.limits.max_key_len:
            raise WriteError("limit", "key too long")
        if value is not None and len(value) > self.limits.max_value_len:
            raise WriteError("limit", "value too long")
        own = self.own
        if key not in own.entries and len(own.entries) >= self.limits.max_keys_per_node:
            raise WriteError("limit", "too many keys")
        v = self._next_version()
        own.entries[key] = (v, value)
        own.watermark = v
        sig = self._sign(Update(v, op, key, value))
        if sig is not None:
            own.sigs[key] = sig
        return v

    def set(self, key: str, value: bytes, now: float) -> int:
        now = self._now(now)
        value = bytes(value)
        v = self._write_key(key, value, OP_SET)
        self.own.tomb_since.pop(key, None)
        self._attest()
        return v

    def delete(self, key: str, now: float) -> int:
        now = self._now(now)
        v = self._write_key(key, None, OP_DELETE)
        self.own.tomb_since[key] = now
        self._attest()
        return v

    def leave(self, now: float) -> int:
        now = self._now(now)
        self._check_write()
        own = self.own
        v = self._next_version()
        own.left = v
        own.watermark = v
        own.status = LEFT
        own.left_sig = self._sign(Update(v, OP_LEAVE))
        self._attest()
        return v

    # ------------------------------------------------------------ digests
    def _entry(self, nid: NodeId) -> DigestEntry:
        st = self.view[nid]
        return DigestEntry(nid, st.generation, st.heartbeat, st.watermark)

    def complete_digest(self) -> Digest:
        return Digest(None, [self._entry(n) for n in self._sorted_ids()])

    def _hot_window(self) -> int:
        """node.md §5: a hot mark lasts 2 * ceil(log2(max(nodes, 2))) rounds."""
        return 2 * (max(len(self.view), 2) - 1).bit_length()

    def _mark_hot(self, nid: NodeId) -> None:
        if nid == self.id or nid not in self.view:
            return
        self.hot_seq += 1
        self.hot[nid] = (self.hot_seq, self.stats.rounds)

    def _mark_hot_from_digest(self, digest: Optional[Digest]) -> None:
        """node.md §5: a received digest entry ahead of this node's (higher generation, or same
        generation and higher watermark) marks the node hot, in entry order."""
        if digest is None:
            return
        for e in digest.entries:
            st = self.view.get(e.node)
            if st is not None and (e.generation > st.generation or (
                    e.generation == st.generation and e.watermark > st.watermark)):
                self._mark_hot(e.node)

    def _wanted_unknown(self, digest: Digest) -> List[NodeId]:
        """node.md §5: ids a Syn's digest lists that this node neither knows nor has forgotten,
        in entry order, without repeats, while max_nodes leaves room."""
        room = max(0, self.limits.max_nodes - len(self.view) - len(self.forgotten))
        out: List[NodeId] = []
        for e in digest.entries:
            if len(out) >= room:
                break
            if e.node not in self.view and e.node not in self.forgotten and e.node not in out:
                out.append(e.node)
        return out

    def build_digest(self, budget: int, wanted: Optional[List[NodeId]] = None) -> Digest:
        """docs/spec/node.md §5 "Digest": complete if 14·n ≤ budget and it fits; otherwise a
        partial digest: own entry, placeholders for `wanted` unknown ids, hot nodes (most
        recent first), within half the budget; then the range from the digest cursor."""
        ids = self._sorted_ids()
        n = len(ids)
        entries = [self._entry(x) for x in ids]
        sizes = [wire.size_of(wire.enc_digest_entry, e) for e in entries]
        full = 2 + wire.mp.array_hdr_len(n) + sum(sizes)
        if 14 * n <= budget and full <= budget:
            return Digest(None, entries)
        rounds, window = self.stats.rounds, self._hot_window()
        self.hot = {k: v for k, v in self.hot.items()
                    if rounds - v[1] <= window and k in self.view}
        i0 = 0
        if self.digest_cursor is not None:
            i0 = next((i for i, x in enumerate(ids) if not x < self.digest_cursor), 0)
        start = ids[i0]
        fixed = 1 + 1 + _nodeid_len(start) + self.max_id_len
        first_len = sizes[i0]
        out: List[DigestEntry] = []
        used = 0
        hot = sorted(self.hot.items(), key=lambda kv: -kv[1][0])
        cands = [self._entry(self.id)] + [DigestEntry(x, 0, 0, 0) for x in (wanted or [])] + [
            self._entry(k) for k, _ in hot]
        first_listed = False
        for e in cands:
            ln = wire.size_of(wire.enc_digest_entry, e)
            is_first = e.node == start
            extra, extra_len = (0, 0) if (first_listed or is_first) else (1, first_len)
            if used + ln > budget // 2 or \
                    fixed + wire.mp.array_hdr_len(len(out) + 1 + extra) + used + ln + extra_len \
                    > budget:
                break
            first_listed = first_listed or is_first
            used += ln
            out.append(e)
        listed = {e.node for e in out}
        walked = 0
        for k in range(n):
            j = (i0 + k) % n
            if ids[j] in listed:
                walked += 1
                continue
            if fixed + wire.mp.array_hdr_len(len(out) + 1) + used + sizes[j] > budget:
                break
            used += sizes[j]
            walked += 1
            out.append(entries[j])
        walked = max(walked, 1)
        end = ids[(i0 + walked) % n]
        self.digest_cursor = end
        self.last_walked = walked
        return Digest((start, end), out)

    def rotation_rounds(self) -> int:
        """node.md §7: the rotation period P_syn of the own Syn digests."""
        if self.syn_range_len is None:
            return 1
        return max(1, -(-len(self.view) // max(1, self.syn_range_len)))

    def heartbeat_period_rounds(self) -> int:
        """node.md §7: the heartbeat period P, from the heartbeat arrivals received
        (P_syn if P_syn = 1 or no arrival yet; else ceil(8 m / rate), within [1, P_syn])."""
        own = self.rotation_rounds()
        if own == 1 or self.arrival_rate == 0:
            return own
        others = len(self.view) - 1
        received = -(-(others * ARRIVAL_SMOOTHING) // self.arrival_rate)
        return max(1, min(own, received))

    def detector_settings(self) -> Tuple[float, float, float]:
        """node.md §7: effective (min_std_dev, initial_interval_estimate, dead_after)."""
        cfg, p = self.config, self.heartbeat_period_rounds()
        if p == 1:
            return cfg.min_std_dev, cfg.initial_interval, cfg.dead_after
        period = p * cfg.gossip_interval
        return (max(cfg.min_std_dev, period * 3 / 4), max(cfg.initial_interval, period),
                max(cfg.dead_after, 2 * period))

    # ------------------------------------------------------------ deltas
    def _needed(self, nid: NodeId, st: NodeState, peer: Optional[DigestEntry]):
        """protocol.md §4 / node.md §5 plans: None, or (kind, arg, updates, w, base);
        kind None means "heartbeat only"."""
        g, w, f = st.generation, st.watermark, st.gc_floor
        if peer is None or peer.generation < g:
            ups = st.changes()
            if f > 0:
                return (KIND_RESET, f, ups, w, 0)
            return (KIND_INCREMENTAL, 0, ups, w, 0)
        if peer.generation == g:
            d = peer.watermark
            if d < w:
                if d < f and self.bug != "gc-without-reset":
                    return (KIND_RESET, f, st.changes(), w, d)
                return (KIND_INCREMENTAL, d, [u for u in st.changes() if u.version > d], w, d)
            if peer.heartbeat < st.heartbeat:
                if st.attest is not None and d > st.attest[1]:
                    # signed mode: watermark_after must not exceed the attested watermark
                    # (SPEC-GAPS.md G10)
                    return (None, None, [], None, st.attest[1])
                return (None, None, [], None, d)
        return None

    def _nd_header_len(self, nid: NodeId, st: NodeState, arg: int, wa: int, upd_hdr: int) -> int:
        hb = st.heartbeat if st.attest is None else st.attest[0]
        return (1 + _nodeid_len(nid) + _uint(st.generation) + _uint(hb) + 1 + 1 + _uint(arg)
                + upd_hdr + _uint(wa) + self._att_len(st))

    def build_delta(self, digest: Optional[Digest], budget: int,
                    by_digest: bool = False) -> List[NodeDelta]:
        """The delta for a peer whose digest is `digest` (None: the peer knows nothing), within
        `budget` bytes for the whole delta array (docs/spec/node.md §5 "Delta"). `by_digest`:
        the peer gets our digest in the same exchange (push-pull SynAck and Ack), so node
        deltas whose only news is the heartbeat are not sent (protocol.md §4), unless signed."""
        by_digest = by_digest and self.signer is None
        ids = self._sorted_ids()
        peer: Dict[NodeId, DigestEntry] = {}
        if digest is not None:
            for e in digest.entries:
                peer.setdefault(e.node, e)
            if digest.range is not None:
                # node.md §5: the range's ids and the ids the digest lists
                ids = [x for x in ids if digest.covers(x) or x in peer]
        if self.config.rotate_delta_start and self.delta_cursor is not None and ids:
            i0 = next((i for i, x in enumerate(ids) if not x < self.delta_cursor), 0)
            ids = ids[i0:] + ids[:i0]
        updates_left = self.config.max_delta_updates
        if updates_left is None:
            updates_left = 1 << 62
        out: List[NodeDelta] = []
        used = 0
        cut_pos: Optional[int] = None
        for pos, nid in enumerate(ids):
            st = self.view[nid]
            plan = self._needed(nid, st, peer.get(nid))
            if plan is None:
                continue
            kind, arg, ups, w, base = plan
            pe = peer.get(nid)
            same_generation = pe is not None and pe.generation == st.generation
            if kind is None and by_digest:
                continue  # the heartbeat travels in the digest
            remaining = max(0, budget - wire.mp.array_hdr_len(len(out) + 1) - used)
            if kind is not None and ((cut_pos is None and updates_left > 0) or not ups):
                size = self._nd_header_len(nid, st, arg, w, 3)
                take, size = _take_fitting(ups, size, updates_left, remaining)
                updates_left -= len(take)
                if len(take) == len(ups) or take:
                    wa = w
                    if len(take) < len(ups):
                        wa = take[-1].version
                        if cut_pos is None:
                            cut_pos = pos
                            self.stats.deltas_cut += 1
                    if size <= remaining:
                        nd = self._nd(nid, st, kind, arg, take, wa)
                        out.append(nd)
                        used += wire.size_of(wire.enc_node_delta, nd)
                        continue
            if kind is not None and cut_pos is None:
                cut_pos = pos
                self.stats.deltas_cut += 1
            if by_digest and same_generation:
                continue  # after the cut: heartbeat only, which travels in the digest
            nd = self._nd(nid, st, KIND_INCREMENTAL, base, [], base)
            size = wire.size_of(wire.enc_node_delta, nd)
            if size > remaining:
                if cut_pos is None:
                    cut_pos = pos
                break
            out.append(nd)
            used += size
        if self.config.rotate_delta_start and cut_pos is not None:
            self.delta_cursor = ids[(cut_pos + 1) % len(ids)]
        return out

    def build_own_delta(self, budget: int) -> List[NodeDelta]:
        """The pull-mode Syn's own node delta (node.md §5 "The own node delta")."""
        own = self.own
        kind, arg = (KIND_RESET, own.gc_floor) if own.gc_floor > 0 else (KIND_INCREMENTAL, 0)
        size = 3 + self._nd_header_len(self.id, own, arg, own.watermark, 3)
        if size > budget:
            return []
        limit = self.config.max_delta_updates
        if limit is None or self.compat:
            limit = 1 << 62
        ups = own.changes()
        take, _ = _take_fitting(ups, size, limit, budget)
        wa = own.watermark if len(take) == len(ups) else (take[-1].version if take else 0)
        return [self._nd(self.id, own, kind, arg, take, wa)]

    @staticmethod
    def delta_len(delta: List[NodeDelta]) -> int:
        return wire.size_of(wire.enc_delta, delta)

    # ------------------------------------------------------------ applying
    def apply_node_delta(self, nd: NodeDelta, now: float) -> None:
        """protocol.md §5."""
        nid = nd.node
        if nid == self.id:  # 1
            return
        rec = self.forgotten.get(nid)  # 2
        if rec is not None and (nd.generation < rec.generation or (
                nd.generation == rec.generation and (rec.left or nd.heartbeat <= rec.heartbeat))):
            self.stats.zombies_ignored += 1
            return
        st = self.view.get(nid)
        if st is not None and st.generation > nd.generation:  # 3
            if self.bug != "accept-older-generation":
                return
        if st is None or st.generation != nd.generation:  # 4
            if not (nd.is_reset or nd.kind_arg == 0) and self.bug != "apply-past-gap":
                self.stats.gaps += 1
                return
            if st is None and len(self.view) >= self.limits.max_nodes:
                self.stats.dropped_nodes += 1
                return
            st = NodeState(nd.generation, nd.heartbeat, status_since=now,
                           fd=PhiDetector(now, self.config.phi_window,
                                          self.config.initial_interval, self.config.min_std_dev))
            self.view[nid] = st
            self.max_id_len = max(self.max_id_len, _nodeid_len(nid))
            self.forgotten.pop(nid, None)
            self.events.append(("NodeJoined", nid, nd.generation))
        if nd.is_reset:  # 5
            ups, wa = self._keys_limit(st, nd.updates, nd.watermark_after, replace=True)
            # compare the watermark the reset will really give (after the keys limit), not
            # node.md's `watermark_after`, so the watermark never goes back (SPEC-GAPS.md G22)
            if wa > st.watermark:
                old = st.entries
                st.entries = {}
                st.left = None
                new_tomb = {}
                st.sigs = {}
                st.left_sig = None
                for u in ups:
                    if u.op == OP_LEAVE:
                        st.left = u.version
                        st.left_sig = u.sig
                    else:
                        if u.sig is not None:
                            st.sigs[u.key] = u.sig
                        st.entries[u.key] = (u.version, u.value if u.op == OP_SET else None)
                        if u.op == OP_DELETE:
                            prev = old.get(u.key)
                            new_tomb[u.key] = (st.tomb_since.get(u.key, now)
                                               if prev == (u.version, None) else now)
                for k, (v, val) in st.entries.items():
                    if old.get(k) != (v, val):
                        self.events.append(("KeySet", nid, k, val) if val is not None
                                           else ("KeyDeleted", nid, k))
                for k in old:
                    if k not in st.entries and old[k][1] is not None:
                        self.events.append(("KeyDeleted", nid, k))
                st.tomb_since = new_tomb
                st.watermark = wa
                st.gc_floor = max(st.gc_floor, nd.kind_arg)
                self.stats.resets_applied += 1
        else:  # 6
            if st.watermark < nd.kind_arg and self.bug != "apply-past-gap":
                self.stats.gaps += 1
            else:
                ups, wa = self._keys_limit(st, nd.updates, nd.watermark_after, replace=False,
                                           frm=nd.kind_arg)
                for u in ups:
                    if u.version <= st.watermark:
                        continue
                    if u.op == OP_LEAVE:
                        if st.left is None or u.version > st.left:
                            st.left = u.version
                            st.left_sig = u.sig
                        continue
                    cur = st.entries.get(u.key)
                    if cur is not None and u.version <= cur[0]:
                        continue
                    if u.sig is not None:
                        st.sigs[u.key] = u.sig
                    else:
                        st.sigs.pop(u.key, None)
                    if u.op == OP_SET:
                        st.entries[u.key] = (u.version, u.value)
                        st.tomb_since.pop(u.key, None)
                        self.events.append(("KeySet", nid, u.key, u.value))
                    else:
                        st.entries[u.key] = (u.version, None)
                        st.tomb_since[u.key] = now
                        self.events.append(("KeyDeleted", nid, u.key))
                st.watermark = max(st.watermark, wa)
        if nd.attestation is not None:  # keep the greatest attestation seen
            att = (nd.heartbeat, nd.attestation[0], nd.attestation[1])
            if st.attest is None or att[:2] > st.attest[:2]:
                st.attest = att
        # 7
        self._receive_heartbeat(nid, st, nd.heartbeat, now)
        if st.left is not None and st.status != LEFT:
            st.status = LEFT
            st.status_since = now
            self.events.append(("NodeLeft", nid))

    def _keys_limit(self, st: NodeState, ups: List[Update], wa: int, replace: bool,
                    frm: int = 0):
        """limits.max_keys_per_node (node.md §3): an update creating a key beyond the limit and
        every later one are dropped; the watermark then goes only to the last kept update's
        version (reset: 0 if none; incremental: `from` if none)."""
        keys = set() if replace else set(st.entries)
        for i, u in enumerate(ups):
            if u.op == OP_LEAVE or u.key in keys:
                continue
            if len(keys) >= self.limits.max_keys_per_node:
                self.stats.dropped_updates += len(ups) - i
                return ups[:i], (ups[i - 1].version if i else (0 if replace else frm))
            keys.add(u.key)
        return ups, wa

    def _apply_delta(self, delta: List[NodeDelta], now: float) -> None:
        for nd in delta:
            st = self.view.get(nd.node)
            before = None if st is None else (st.generation, st.watermark)
            self.apply_node_delta(nd, now)
            st = self.view.get(nd.node)
            # node.md §5: a generation or watermark change here marks the node hot
            if st is not None and (st.generation, st.watermark) != before:
                self._mark_hot(nd.node)

    def _apply_digest_heartbeats(self, digest: Optional[Digest], now: float) -> None:
        """protocol.md §5.8: a digest entry's heartbeat, for a node held at the entry's
        generation (never ourselves), is received as a node delta's (§5.7). Not in a signed
        cluster (digests are not signed)."""
        if digest is None or self.signer is not None:
            return
        for e in digest.entries:
            st = self.view.get(e.node)
            if e.node == self.id or st is None or st.generation != e.generation:
                continue
            self._receive_heartbeat(e.node, st, e.heartbeat, now)

    def _receive_heartbeat(self, nid: NodeId, st: NodeState, h: int, now: float) -> None:
        """protocol.md §5.7: a greater heartbeat of the held generation is an arrival and
        revives a suspected or dead node (a node holding a leave marker is `left` already)."""
        if h > st.heartbeat:
            st.heartbeat = h
            if st.fd is not None:
                st.fd.heartbeat(now)
                self.heartbeat_arrivals += 1  # node.md §7
            if st.status in (SUSPECTED, DEAD):
                st.status = ALIVE
                st.status_since = now
                self.events.append(("NodeUp", nid))
        elif self.bug == "revive-on-stale-gossip" and st.status in (SUSPECTED, DEAD):
            st.status = ALIVE
            st.status_since = now

    def _check_leave_ack(self, digest: Optional[Digest]) -> None:
        own = self.own
        if digest is None or own.left is None:
            return
        for e in digest.entries:
            if e.node == self.id and e.generation == own.generation and e.watermark >= own.left:
                self.left_acknowledged = True

    # ------------------------------------------------------------ datagrams
    def handle_datagram(self, src: bytes, data: bytes, now: float) -> None:
        """Raises WireError on rejection (counted; nothing else changes)."""
        now = self._now(now)
        self.stats.datagrams_in += 1
        self.stats.bytes_in += len(data)
        try:
            plain = security.open_frame(self.config.keyring, data, self.config.cluster_id,
                                        self.config.mtu)
            compressed = len(plain) > 0 and plain[0] == wire.FRAME_COMPRESSED
            env = wire.decode(plain, mtu=self.mtu, cluster_id=self.config.cluster_id,
                              limits=self.limits)
            if self.config.roster is not None:
                security.verify_delta(self.config.roster, self.config.cluster_id, env.msg.delta)
        except WireError as e:
            self.stats.rejected[e.reason] = self.stats.rejected.get(e.reason, 0) + 1
            raise
        self.stats.compressed_in += compressed
        self.handle_message(src, env.msg, now)

    def _base(self) -> int:
        """version byte, envelope array header, cluster id, tag (node.md §5)."""
        out = bytearray()
        wire.mp.enc_str(out, self.config.cluster_id)
        return 3 + len(out)

    def handle_message(self, src: bytes, msg, now: float) -> None:
        mtu, base = self.mtu, self._base()
        if isinstance(msg, Syn):
            self._apply_delta(msg.delta, now)
            self._apply_digest_heartbeats(msg.digest, now)
            self._check_leave_ack(msg.digest)
            self._mark_hot_from_digest(msg.digest)
            if msg.mode == MODE_PUSH or msg.digest is None:
                return
            avail = mtu - base - 1
            if msg.mode == MODE_PULL:
                self._send(src, SynAck(None, self.build_delta(msg.digest, avail - 1)))
                return
            # node.md §5: no max_digest_len cap on a SynAck's digest (SPEC-GAPS.md G18)
            full = wire.size_of(wire.enc_digest, self.complete_digest())
            reserve = min(full, avail // 4)
            delta = self.build_delta(msg.digest, avail - reserve, by_digest=True)
            wanted = self._wanted_unknown(msg.digest)
            self._send(src, SynAck(self.build_digest(avail - self.delta_len(delta), wanted),
                                   delta))
        elif isinstance(msg, SynAck):
            self._apply_delta(msg.delta, now)
            if msg.digest is None:
                return
            self._apply_digest_heartbeats(msg.digest, now)
            self._check_leave_ack(msg.digest)
            self._mark_hot_from_digest(msg.digest)
            delta = self.build_delta(msg.digest, mtu - base - 1, by_digest=True)
            if delta:
                self._send(src, Ack(delta))
        else:
            self._apply_delta(msg.delta, now)

    # ------------------------------------------------------------ rounds
    def _syn(self) -> Syn:
        mtu, base, cap = self.mtu, self._base(), self.config.max_digest_len
        if self.mode == MODE_PUSH:
            return Syn(MODE_PUSH, None, self.build_delta(None, mtu - base - 3))
        if self.mode == MODE_PULL:
            avail = mtu - base - 2
            delta = self.build_own_delta(avail // 4)
            digest = self.build_digest(min(avail - self.delta_len(delta), cap))
            self.syn_range_len = None if digest.range is None else self.last_walked
            return Syn(MODE_PULL, digest, delta)
        digest = self.build_digest(min(mtu - base - 3, cap))
        self.syn_range_len = None if digest.range is None else self.last_walked
        return Syn(MODE_PUSH_PULL, digest, [])

    def _bump(self) -> None:
        self.stats.rounds += 1
        # node.md §7: the arrivals of the round that ends, smoothed
        self.arrival_rate += self.heartbeat_arrivals - self.arrival_rate // ARRIVAL_SMOOTHING
        self.heartbeat_arrivals = 0
        own = self.own
        if own.left is None and self.bug != "no-heartbeat-bump":
            own.heartbeat += 1
        self._attest()

    def start_round_with(self, peer: bytes, now: float) -> None:
        """One round with a given peer address: heartbeat + Syn, without moving the timer."""
        self._now(now)
        self._bump()
        self._send(peer, self._syn())

    def choose_peers(self) -> List[bytes]:
        cands = [n for n in self._sorted_ids() if n != self.id and n.addr != self.id.addr
                 and self.view[n].status != LEFT]
        live = [n for n in self._sorted_ids() if n != self.id and self.view[n].status == ALIVE]
        k = min(self.config.fanout, len(cands))
        chosen = [n.addr for n in self.rng.sample(cands, k)] if k else []
        seeds = [s for s in self.config.seeds if s != self.id.addr]
        if seeds:
            if not live or self.rng.randint(0, len(live)) == 0:
                s = self.rng.choice(seeds)
                if s not in chosen:
                    chosen.append(s)
        return chosen

    def handle_timeout(self, now: float) -> None:
        """Housekeeping (node.md §6), then a gossip round if due (§4)."""
        now = self._now(now)
        cfg = self.config
        min_std, initial, dead_after = self.detector_settings()  # node.md §7
        to_forget = []
        for nid in self._sorted_ids():
            st = self.view[nid]
            due = [k for k, t in st.tomb_since.items() if now - t >= cfg.tombstone_grace]
            if due:
                self._collect(st, due)
            if nid == self.id:
                continue
            if st.status == ALIVE and st.fd is not None and \
                    st.fd.phi(now, initial, min_std) >= cfg.phi_threshold:
                st.status, st.status_since = SUSPECTED, now
                self.events.append(("NodeSuspected", nid))
            if st.status == SUSPECTED and now - st.status_since >= dead_after:
                st.status, st.status_since = DEAD, now
                self.events.append(("NodeDead", nid))
            if st.status in (DEAD, LEFT) and now - st.status_since >= cfg.dead_grace:
                to_forget.append(nid)
        for nid in to_forget:
            self.forget(nid, now)
        for nid, rec in list(self.forgotten.items()):
            if now - rec.since >= cfg.forgotten_retention:
                del self.forgotten[nid]
        if now >= self.next_round:
            self.next_round += cfg.gossip_interval
            if self.next_round <= now:
                self.next_round = now + cfg.gossip_interval
            if self.own.left is not None and self.left_acknowledged:
                return
            peers = self.choose_peers()
            self._bump()
            syn = None
            for peer in peers:
                syn = syn or self._syn()
                self._send(peer, syn)

    # ------------------------------------------------------------ abstract timeouts
    def convict(self, nid: NodeId, now: float) -> bool:
        """The failure detector convicts `nid` (protocol.md §7). False: unknown node, the
        node itself, or already dead or left."""
        now = self._now(now)
        st = self.view.get(nid)
        if st is None or nid == self.id or st.status in (LEFT, DEAD):
            return False
        st.status, st.status_since = DEAD, now
        self.events.append(("NodeDead", nid))
        return True

    def forget(self, nid: NodeId, now: float) -> bool:
        now = self._now(now)
        st = self.view.get(nid)
        if st is None or nid == self.id:
            return False
        del self.view[nid]
        self.forgotten[nid] = Forgotten(st.generation, st.heartbeat, st.left is not None, now)
        self.events.append(("NodeForgotten", nid))
        return True

    def _collect(self, st: NodeState, keys) -> None:
        for k in keys:
            v, val = st.entries[k]
            assert val is None
            del st.entries[k]
            st.tomb_since.pop(k, None)
            st.sigs.pop(k, None)
            st.gc_floor = max(st.gc_floor, v)

    def collect_tombstones(self, nid: NodeId, now: float) -> int:
        """Collects every tombstone held for `nid`, whatever its age; returns how many."""
        self._now(now)
        st = self.view.get(nid)
        if st is None:
            return 0
        keys = [k for k, (v, val) in st.entries.items() if val is None]
        self._collect(st, keys)
        return len(keys)
