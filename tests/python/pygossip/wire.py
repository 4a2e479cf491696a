"""The wire format of docs/spec/wire.md: types, encoder, strict decoder, validation."""
from __future__ import annotations

import functools
import ipaddress
import zlib
from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

from . import mp
from .mp import Malformed, Truncated

PROTOCOL_VERSION = 1
# wire.md "Compressed frame": 0x03, then a raw DEFLATE stream (RFC 1951) of a whole datagram
FRAME_COMPRESSED = 0x03
# Any level is conforming (the receiver accepts any valid stream); 6 is zlib's default.
COMPRESSION_LEVEL = 6

MODE_PUSH_PULL = 0
MODE_PULL = 1
MODE_PUSH = 2

TAG_SYN = 0
TAG_SYNACK = 1
TAG_ACK = 2

KIND_INCREMENTAL = 0
KIND_RESET = 1

OP_SET = 0
OP_DELETE = 1
OP_LEAVE = 2

# rejection reasons (wire.md "Limits and validation"), in the names of Stats::rejected
OVERSIZE = "oversize"
TRUNCATED = "truncated"
UNKNOWN_VERSION = "unknown_version"
MALFORMED = "malformed"
WRONG_CLUSTER = "wrong_cluster"
INVALID = "invalid"
LIMIT_EXCEEDED = "limit_exceeded"
REASONS = (OVERSIZE, TRUNCATED, UNKNOWN_VERSION, MALFORMED, WRONG_CLUSTER, INVALID, LIMIT_EXCEEDED)


class WireError(Exception):
    """A typed rejection: .reason is one of REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@functools.total_ordering
@dataclass(frozen=True)
class NodeId:
    """A node's identity: name and gossip address. `addr` is the wire form: 4-byte IPv4 or
    16-byte IPv6 address followed by the 2-byte big-endian port."""

    name: str
    addr: bytes

    def sort_key(self):
        # name (UTF-8 bytewise = code point order), then IPv4 before IPv6, then ip, then port
        return (self.name, len(self.addr), self.addr)

    def __lt__(self, other: "NodeId") -> bool:
        return self.sort_key() < other.sort_key()

    @staticmethod
    def make(name: str, host: str, port: int) -> "NodeId":
        ip = ipaddress.ip_address(host)
        return NodeId(name, ip.packed + port.to_bytes(2, "big"))

    @property
    def host(self) -> str:
        return str(ipaddress.ip_address(self.addr[:-2]))

    @property
    def port(self) -> int:
        return int.from_bytes(self.addr[-2:], "big")

    def sockaddr(self) -> Tuple[str, int]:
        return (self.host, self.port)

    def __str__(self) -> str:
        h = self.host
        if len(self.addr) == 18:
            h = f"[{h}]"
        return f"{self.name}@{h}:{self.port}"


@dataclass(frozen=True)
class DigestEntry:
    node: NodeId
    generation: int
    heartbeat: int
    watermark: int


@dataclass
class Digest:
    range: Optional[Tuple[NodeId, NodeId]]  # [start, end); None = complete
    entries: List[DigestEntry] = field(default_factory=list)

    def covers(self, node: NodeId) -> bool:
        return self.range is None or in_range(node, self.range[0], self.range[1])


def in_range(node: NodeId, start: NodeId, end: NodeId) -> bool:
    """[start, end) ascending, wrapping; start == end covers every id."""
    if start == end:
        return True
    if start < end:
        return start <= node < end
    return node >= start or node < end


@dataclass(frozen=True)
class Update:
    version: int
    op: int  # OP_SET / OP_DELETE / OP_LEAVE
    key: Optional[str] = None
    value: Optional[bytes] = None
    sig: Optional[bytes] = None  # security.md §2.3: the owner's signature (64 bytes)


@dataclass
class NodeDelta:
    node: NodeId
    generation: int
    heartbeat: int
    kind: int  # KIND_INCREMENTAL / KIND_RESET
    kind_arg: int  # from / gc_floor
    updates: List[Update]
    watermark_after: int
    attestation: Optional[Tuple[int, bytes]] = None  # security.md §2.3: (watermark, sig)

    @property
    def is_reset(self) -> bool:
        return self.kind == KIND_RESET


@dataclass
class Syn:
    mode: int
    digest: Optional[Digest]
    delta: List[NodeDelta]


@dataclass
class SynAck:
    digest: Optional[Digest]
    delta: List[NodeDelta]


@dataclass
class Ack:
    delta: List[NodeDelta]


Message = Union[Syn, SynAck, Ack]


@dataclass
class Envelope:
    cluster_id: str
    msg: Message


# ---------------------------------------------------------------- encoding

def _node_id(out: bytearray, n: NodeId) -> None:
    mp.enc_array(out, 2)
    mp.enc_str(out, n.name)
    mp.enc_bin(out, n.addr)


def enc_digest_entry(out: bytearray, e: DigestEntry) -> None:
    mp.enc_array(out, 4)
    _node_id(out, e.node)
    mp.enc_uint(out, e.generation)
    mp.enc_uint(out, e.heartbeat)
    mp.enc_uint(out, e.watermark)


def enc_digest(out: bytearray, d: Optional[Digest]) -> None:
    if d is None:
        mp.enc_nil(out)
        return
    mp.enc_array(out, 2)
    if d.range is None:
        mp.enc_nil(out)
    else:
        mp.enc_array(out, 2)
        _node_id(out, d.range[0])
        _node_id(out, d.range[1])
    mp.enc_array(out, len(d.entries))
    for e in d.entries:
        enc_digest_entry(out, e)


def enc_update(out: bytearray, u: Update) -> None:
    s = 0 if u.sig is None else 1
    if u.op == OP_SET:
        mp.enc_array(out, 4 + s)
        mp.enc_uint(out, u.version)
        mp.enc_uint(out, 0)
        mp.enc_str(out, u.key)
        mp.enc_bin(out, u.value)
    elif u.op == OP_DELETE:
        mp.enc_array(out, 3 + s)
        mp.enc_uint(out, u.version)
        mp.enc_uint(out, 1)
        mp.enc_str(out, u.key)
    else:
        mp.enc_array(out, 2 + s)
        mp.enc_uint(out, u.version)
        mp.enc_uint(out, 2)
    if u.sig is not None:
        mp.enc_bin(out, u.sig)


def enc_node_delta(out: bytearray, nd: NodeDelta) -> None:
    mp.enc_array(out, 6 if nd.attestation is None else 7)
    _node_id(out, nd.node)
    mp.enc_uint(out, nd.generation)
    mp.enc_uint(out, nd.heartbeat)
    mp.enc_array(out, 2)
    mp.enc_uint(out, nd.kind)
    mp.enc_uint(out, nd.kind_arg)
    mp.enc_array(out, len(nd.updates))
    for u in nd.updates:
        enc_update(out, u)
    mp.enc_uint(out, nd.watermark_after)
    if nd.attestation is not None:
        mp.enc_array(out, 2)
        mp.enc_uint(out, nd.attestation[0])
        mp.enc_bin(out, nd.attestation[1])


def enc_delta(out: bytearray, delta: List[NodeDelta]) -> None:
    mp.enc_array(out, len(delta))
    for nd in delta:
        enc_node_delta(out, nd)


def encode(env: Envelope) -> bytes:
    """The datagram: version byte then the envelope."""
    out = bytearray([PROTOCOL_VERSION])
    mp.enc_array(out, 3)
    mp.enc_str(out, env.cluster_id)
    m = env.msg
    if isinstance(m, Syn):
        mp.enc_uint(out, TAG_SYN)
        mp.enc_array(out, 3)
        mp.enc_uint(out, m.mode)
        enc_digest(out, m.digest)
        enc_delta(out, m.delta)
    elif isinstance(m, SynAck):
        mp.enc_uint(out, TAG_SYNACK)
        mp.enc_array(out, 2)
        enc_digest(out, m.digest)
        enc_delta(out, m.delta)
    else:
        mp.enc_uint(out, TAG_ACK)
        mp.enc_array(out, 1)
        enc_delta(out, m.delta)
    return bytes(out)


def size_of(fn, value) -> int:
    out = bytearray()
    fn(out, value)
    return len(out)


# ---------------------------------------------------------------- decoding

class _Fields:
    """Sequential reading of a fixed-shape array (serde "struct as tuple" style): fields are
    read in order; a missing field or extra elements are Malformed."""

    def __init__(self, r: mp.Reader, what: str):
        self.r = r
        self.n = r.array()
        self.i = 0
        self.what = what

    def next(self) -> mp.Reader:
        if self.i >= self.n:
            raise Malformed(f"{self.what}: too few fields ({self.n})")
        self.i += 1
        return self.r

    def done(self) -> None:
        if self.i != self.n:
            raise Malformed(f"{self.what}: too many fields ({self.n})")


def _dec_node_id(r: mp.Reader) -> NodeId:
    f = _Fields(r, "NodeId")
    name = f.next().str()
    addr = f.next().bin()
    f.done()
    if len(addr) not in (6, 18):
        raise Malformed(f"address of {len(addr)} bytes")
    return NodeId(name, addr)


def _dec_digest(r: mp.Reader) -> Optional[Digest]:
    if r.is_nil():
        return None
    f = _Fields(r, "Digest")
    rr = f.next()
    rng = None
    if not rr.is_nil():
        g = _Fields(rr, "DigestRange")
        start = _dec_node_id(g.next())
        end = _dec_node_id(g.next())
        g.done()
        rng = (start, end)
    n = f.next().array()
    entries = []
    for _ in range(n):
        g = _Fields(r, "DigestEntry")
        node = _dec_node_id(g.next())
        gen = g.next().uint()
        hb = g.next().uint()
        wm = g.next().uint()
        g.done()
        entries.append(DigestEntry(node, gen, hb, wm))
    f.done()
    return Digest(rng, entries)


def _dec_update(r: mp.Reader) -> Update:
    f = _Fields(r, "Update")
    version = f.next().uint()
    op = f.next().uint()
    if op == OP_SET:
        key = f.next().str()
        value = f.next().bin()
        u = Update(version, OP_SET, key, value)
    elif op == OP_DELETE:
        key = f.next().str()
        u = Update(version, OP_DELETE, key)
    elif op == OP_LEAVE:
        u = Update(version, OP_LEAVE)
    else:
        raise Malformed(f"unknown update tag {op}")
    if f.i < f.n:  # security.md §2.3: a trailing signature
        sig = f.next().bin()
        if len(sig) != 64:
            raise Malformed("signature of %d bytes" % len(sig))
        u = Update(u.version, u.op, u.key, u.value, sig)
    f.done()
    return u


def _dec_node_delta(r: mp.Reader) -> NodeDelta:
    f = _Fields(r, "NodeDelta")
    node = _dec_node_id(f.next())
    gen = f.next().uint()
    hb = f.next().uint()
    k = _Fields(f.next(), "Kind")
    kind = k.next().uint()
    if kind not in (KIND_INCREMENTAL, KIND_RESET):
        raise Malformed(f"unknown kind tag {kind}")
    arg = k.next().uint()
    k.done()
    n = f.next().array()
    updates = [_dec_update(r) for _ in range(n)]
    wa = f.next().uint()
    att = None
    if f.i < f.n:  # security.md §2.3: the attestation [watermark, sig]
        a = _Fields(f.next(), "Attestation")
        awm = a.next().uint()
        sig = a.next().bin()
        a.done()
        if len(sig) != 64:
            raise Malformed("signature of %d bytes" % len(sig))
        att = (awm, sig)
    f.done()
    return NodeDelta(node, gen, hb, kind, arg, updates, wa, att)


def _dec_delta(r: mp.Reader) -> List[NodeDelta]:
    n = r.array()
    return [_dec_node_delta(r) for _ in range(n)]


def decode_envelope(body: bytes) -> Envelope:
    """Decodes the MessagePack envelope (no version byte). Raises mp.Truncated / mp.Malformed."""
    r = mp.Reader(body)
    f = _Fields(r, "Envelope")
    cluster = f.next().str()
    tag = f.next().uint()
    b = f.next()
    if tag == TAG_SYN:
        g = _Fields(b, "Syn")
        mode = g.next().uint()
        if mode not in (MODE_PUSH_PULL, MODE_PULL, MODE_PUSH):
            raise Malformed(f"unknown mode {mode}")
        digest = _dec_digest(g.next())
        delta = _dec_delta(g.next())
        g.done()
        msg: Message = Syn(mode, digest, delta)
    elif tag == TAG_SYNACK:
        g = _Fields(b, "SynAck")
        digest = _dec_digest(g.next())
        delta = _dec_delta(g.next())
        g.done()
        msg = SynAck(digest, delta)
    elif tag == TAG_ACK:
        g = _Fields(b, "Ack")
        delta = _dec_delta(g.next())
        g.done()
        msg = Ack(delta)
    else:
        raise Malformed(f"unknown message tag {tag}")
    f.done()
    if not r.at_end():
        raise Malformed("trailing bytes")
    return Envelope(cluster, msg)


@dataclass
class Limits:
    max_nodes: int = 10_000
    max_keys_per_node: int = 10_000
    max_value_len: int = 512
    max_key_len: int = 128
    max_name_len: int = 64


def _check_id(n: NodeId, limits: Limits) -> None:
    if len(n.name.encode()) > limits.max_name_len:
        raise WireError(LIMIT_EXCEEDED, "node name too long")
    if n.name == "":
        raise WireError(INVALID, "empty node name")


def validate(msg: Message, limits: Limits) -> None:
    """Step 5 of wire.md's validation, in message order, first failure wins (node.md §3.4)."""
    if isinstance(msg, Syn) and msg.mode in (MODE_PUSH_PULL, MODE_PULL) and msg.digest is None:
        raise WireError(INVALID, "syn without digest")
    d = getattr(msg, "digest", None)
    if d is not None:
        if d.range is not None:
            _check_id(d.range[0], limits)
            _check_id(d.range[1], limits)
        for e in d.entries:
            _check_id(e.node, limits)
    for nd in msg.delta:
        _check_id(nd.node, limits)
        lo = nd.kind_arg if nd.kind == KIND_INCREMENTAL else 0
        if lo > nd.watermark_after:
            raise WireError(INVALID, "from > watermark_after")
        prev = lo
        for u in nd.updates:
            if u.version <= prev:
                raise WireError(INVALID, "updates not strictly increasing above from")
            if u.version > nd.watermark_after:
                raise WireError(INVALID, "update above watermark_after")
            prev = u.version
            if u.key is not None and len(u.key.encode()) > limits.max_key_len:
                raise WireError(LIMIT_EXCEEDED, "key too long")
            if u.value is not None and len(u.value) > limits.max_value_len:
                raise WireError(LIMIT_EXCEEDED, "value too long")


def compress_frame(datagram: bytes, level: int = COMPRESSION_LEVEL) -> bytes:
    """The compressed frame of a plaintext datagram, whatever its length (wire.md)."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return bytes([FRAME_COMPRESSED]) + c.compress(datagram) + c.flush()


def maybe_compress(datagram: bytes) -> bytes:
    """The sender rule: the compressed frame if strictly shorter, else the datagram."""
    frame = compress_frame(datagram)
    return frame if len(frame) < len(datagram) else datagram


def inflate(stream: bytes, bound: int) -> bytes:
    """wire.md "Compressed frame", receiver step 1: at most `bound` bytes of output, never
    more than bound + 1 produced."""
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(stream, bound + 1)
    except zlib.error as e:
        raise WireError(MALFORMED, f"invalid compressed stream: {e}") from None
    if len(out) > bound:
        raise WireError(LIMIT_EXCEEDED, "decompressed datagram longer than the mtu")
    if not d.eof:
        raise WireError(MALFORMED, "compressed stream ends before its final block")
    if d.unused_data or d.unconsumed_tail:
        raise WireError(MALFORMED, "bytes after the end of the compressed stream")
    return out


def decode(data: bytes, *, mtu: int = 1400, cluster_id: Optional[str] = None,
           limits: Optional[Limits] = None) -> Envelope:
    """The receiver's whole validation pipeline, in wire.md's order. Raises WireError."""
    if len(data) > mtu:
        raise WireError(OVERSIZE, f"{len(data)} > {mtu}")
    if len(data) > 0 and data[0] == FRAME_COMPRESSED:
        data = inflate(bytes(data[1:]), mtu)
    if len(data) == 0:
        raise WireError(TRUNCATED, "empty datagram")
    if data[0] != PROTOCOL_VERSION:
        raise WireError(UNKNOWN_VERSION, f"version {data[0]}")
    try:
        env = decode_envelope(memoryview(data)[1:].tobytes())
    except Truncated as e:
        raise WireError(TRUNCATED, str(e)) from None
    except Malformed as e:
        raise WireError(MALFORMED, str(e)) from None
    if cluster_id is not None and env.cluster_id != cluster_id:
        raise WireError(WRONG_CLUSTER, env.cluster_id)
    validate(env.msg, limits or Limits())
    return env
