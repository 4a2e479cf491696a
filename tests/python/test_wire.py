"""Unit tests of the wire codec (docs/spec/wire.md)."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pygossip import mp, wire  # noqa: E402
from pygossip.wire import (Ack, Digest, DigestEntry, Envelope, Limits, NodeDelta, NodeId, Syn,  # noqa: E402
                           SynAck, Update, WireError)

A = NodeId.make("a", "10.0.0.1", 7000)


def random_node(rng):
    name = "".join(rng.choice("abcdé字") for _ in range(rng.randint(1, 40)))
    if rng.random() < 0.5:
        return NodeId(name, bytes(rng.randrange(256) for _ in range(6)))
    return NodeId(name, bytes(rng.randrange(256) for _ in range(18)))


def random_uint(rng):
    return rng.choice([0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
                       rng.randrange(2**64)])


def random_delta(rng, big=False):
    out = []
    for _ in range(rng.randint(0, 17 if big else 4)):
        ups = []
        v = 0
        for _ in range(rng.randint(0, 17 if big else 4)):
            v += rng.randint(1, 300)
            op = rng.randrange(3)
            if op == 0:
                ups.append(Update(v, 0, "k" * rng.randint(0, 40), bytes(rng.randint(0, 300))))
            elif op == 1:
                ups.append(Update(v, 1, "key"))
            else:
                ups.append(Update(v, 2))
        out.append(NodeDelta(random_node(rng), random_uint(rng), random_uint(rng),
                             rng.randrange(2), random_uint(rng), ups, random_uint(rng)))
    return out


def random_digest(rng):
    rng_ = None if rng.random() < 0.5 else (random_node(rng), random_node(rng))
    return Digest(rng_, [DigestEntry(random_node(rng), random_uint(rng), random_uint(rng),
                                     random_uint(rng)) for _ in range(rng.randint(0, 20))])


def random_message(rng, big=False):
    t = rng.randrange(3)
    if t == 0:
        return Syn(rng.randrange(3), random_digest(rng) if rng.random() < 0.8 else None,
                   random_delta(rng, big))
    if t == 1:
        return SynAck(random_digest(rng) if rng.random() < 0.8 else None, random_delta(rng, big))
    return Ack(random_delta(rng, big))


def valid_syn():
    return wire.encode(Envelope("test", Syn(0, Digest(None, [DigestEntry(A, 1, 1, 0)]), [])))


def ack_with(updates, kind=0, frm=0, wa=10, name="b", key_len=None):
    nd = NodeDelta(NodeId.make(name, "10.0.0.2", 7000), 1, 1, kind, frm, updates, wa)
    return wire.encode(Envelope("test", Ack([nd])))


class WireTests(unittest.TestCase):
    def reason(self, data, **kw):
        kw.setdefault("cluster_id", "test")
        with self.assertRaises(WireError) as cm:
            wire.decode(data, **kw)
        return cm.exception.reason

    def test_the_example_syn_of_wire_md_is_byte_exact(self):
        self.assertEqual(valid_syn().hex(),
                         "0193a47465737400930092c0919492a161c4060a0000011b5801010090")

    def test_integers_strings_and_arrays_use_the_smallest_encoding(self):
        for n, ln in [(0, 1), (127, 1), (128, 2), (255, 2), (256, 3), (65535, 3), (65536, 5),
                      (2**32 - 1, 5), (2**32, 9), (2**64 - 1, 9)]:
            out = bytearray()
            mp.enc_uint(out, n)
            self.assertEqual(len(out), ln, n)
            self.assertEqual(mp.uint_len(n), ln)
        for n, hdr in [(0, 1), (31, 1), (32, 2), (255, 2), (256, 3)]:
            out = bytearray()
            mp.enc_str(out, "x" * n)
            self.assertEqual(len(out) - n, hdr)
        for n, hdr in [(15, 1), (16, 3), (65535, 3), (65536, 5)]:
            self.assertEqual(mp.array_hdr_len(n), hdr)
        out = bytearray()
        mp.enc_bin(out, bytes(6))
        self.assertEqual(out[:2], b"\xc4\x06")

    def test_arbitrary_messages_round_trip(self):
        rng = random.Random(7)
        for _ in range(300):
            env = Envelope("c" * rng.randint(0, 40), random_message(rng, big=_ % 10 == 0))
            data = wire.encode(env)
            self.assertEqual(wire.decode_envelope(data[1:]), env)

    def test_every_strict_prefix_is_truncated_and_extra_bytes_are_malformed(self):
        rng = random.Random(3)
        for _ in range(30):
            data = wire.encode(Envelope("test", random_message(rng)))
            data = data[:1] + data[1:]
            step = max(1, len(data) // 300)  # every prefix of small messages, a sample of big
            for i in list(range(0, len(data), step)) + list(range(max(0, len(data) - 40), len(data))):
                self.assertEqual(self.reason(data[:i], mtu=10**6), "truncated", (i, data.hex()))
            self.assertEqual(self.reason(data + b"\x00", mtu=10**6), "malformed")

    def test_each_bad_datagram_gets_its_typed_rejection(self):
        good = valid_syn()
        self.assertEqual(wire.decode(good, cluster_id="test").cluster_id, "test")
        self.assertEqual(self.reason(b""), "truncated")
        self.assertEqual(self.reason(b"\x02" + good[1:]), "unknown_version")
        self.assertEqual(self.reason(good, mtu=len(good) - 1), "oversize")
        self.assertEqual(self.reason(good, cluster_id="other"), "wrong_cluster")
        self.assertEqual(self.reason(b"\x01\xc1"), "malformed")
        self.assertEqual(self.reason(b"\x01\x80"), "malformed")  # a map, not an array
        # unknown message tag 3
        self.assertEqual(self.reason(b"\x01\x93\xa4test\x03\x91\x90"), "malformed")
        # unknown mode 3
        self.assertEqual(self.reason(good.replace(b"\x93\x00\x92", b"\x93\x03\x92")), "malformed")
        # address of 5 bytes
        bad = good.replace(b"\xc4\x06\x0a\x00\x00\x01\x1b\x58", b"\xc4\x05\x0a\x00\x00\x01\x1b")
        self.assertEqual(self.reason(bad), "malformed")
        # a huge claimed array length costs nothing and is truncated
        self.assertEqual(self.reason(b"\x01\x93\xa4test\x02\x91\xdd\xff\xff\xff\xff"), "truncated")
        # negative integer where a uint is expected
        self.assertEqual(self.reason(good.replace(b"\x01\x01\x00\x90", b"\xff\x01\x00\x90")),
                         "malformed")
        # Syn in push-pull without digest
        nodig = wire.encode(Envelope("test", Syn(0, None, [])))
        self.assertEqual(self.reason(nodig), "invalid")
        self.assertEqual(wire.decode(wire.encode(Envelope("test", Syn(2, None, []))),
                                     cluster_id="test").msg.mode, 2)

    # ---------------------------------------------------------- compressed frames (wire.md)
    def ack_of_len(self, n):
        fixed = 3 if n > 1200 else 2  # values of 300 bytes, then one sized to fill (256..512)

        def mk(vlen):
            ups = [Update(v + 1, 0, f"k{v}", b"x" * 300) for v in range(fixed)]
            return ack_with(ups + [Update(fixed + 1, 0, "last", b"y" * vlen)], wa=fixed + 1)
        base = len(mk(300)) - 300
        d = mk(n - base)
        self.assertEqual(len(d), n)
        return d

    def test_a_compressed_frame_decodes_like_its_datagram_and_is_sent_only_when_shorter(self):
        d = self.ack_of_len(1000)
        frame = wire.maybe_compress(d)
        self.assertEqual(frame[0], wire.FRAME_COMPRESSED)
        self.assertLess(len(frame), len(d) // 4)
        self.assertEqual(wire.decode(frame, cluster_id="test"), wire.decode(d, cluster_id="test"))
        small = valid_syn()
        self.assertGreaterEqual(len(wire.compress_frame(small)), len(small))
        self.assertIs(wire.maybe_compress(small), small)
        rng = random.Random(7)
        for _ in range(200):
            data = wire.encode(Envelope("test", random_message(rng)))
            self.assertEqual(wire.inflate(wire.compress_frame(data)[1:], len(data)), data)

    def test_decompression_is_bounded_by_the_mtu_exactly(self):
        self.assertEqual(wire.decode(wire.compress_frame(self.ack_of_len(1400)),
                                     cluster_id="test").cluster_id, "test")
        over = wire.compress_frame(self.ack_of_len(1401))
        self.assertLess(len(over), 200)
        self.assertEqual(self.reason(over), "limit_exceeded")
        self.assertEqual(wire.decode(over, mtu=1401, cluster_id="test").cluster_id, "test")

    def test_a_bomb_is_limit_exceeded_and_bad_streams_are_malformed(self):
        bomb = wire.compress_frame(b"\x01" + bytes(1 << 20), 9)
        self.assertLessEqual(len(bomb), 1400)
        self.assertEqual(self.reason(bomb), "limit_exceeded")
        good = wire.compress_frame(self.ack_of_len(1000))
        for bad in (good[:-1], bytes([3]), bytes([3, 0b111, 0, 0]),
                    bytes([3, 0b001, 1, 0, 0, 0, 1]), good + b"\x00"):
            self.assertEqual(self.reason(bad), "malformed", bad.hex())

    def test_frames_do_not_nest_and_what_they_hold_is_validated_as_a_datagram(self):
        once = wire.compress_frame(self.ack_of_len(1000))
        self.assertEqual(self.reason(wire.compress_frame(once)), "unknown_version")
        self.assertEqual(self.reason(wire.compress_frame(b"")), "truncated")
        other = wire.encode(Envelope("prod", Ack([])))
        self.assertEqual(self.reason(wire.compress_frame(other)), "wrong_cluster")
        big = wire.compress_frame(self.ack_of_len(1000), 0)
        self.assertEqual(self.reason(big + bytes(1401 - len(big))), "oversize")

    def test_validation_rejects_bad_deltas(self):
        ok = ack_with([Update(1, 0, "k", b"v"), Update(2, 1, "k")], wa=2)
        wire.decode(ok, cluster_id="test")
        self.assertEqual(self.reason(ack_with([Update(2, 1, "k"), Update(1, 0, "k", b"v")])),
                         "invalid")
        self.assertEqual(self.reason(ack_with([Update(2, 1, "k"), Update(2, 2)])), "invalid")
        self.assertEqual(self.reason(ack_with([Update(3, 1, "k")], frm=3)), "invalid")
        self.assertEqual(self.reason(ack_with([Update(11, 2)], wa=10)), "invalid")
        self.assertEqual(self.reason(ack_with([], frm=11, wa=10)), "invalid")
        self.assertEqual(self.reason(ack_with([Update(0, 2)], kind=1)), "invalid")
        wire.decode(ack_with([Update(1, 2)], kind=1, frm=50, wa=1), cluster_id="test")
        self.assertEqual(self.reason(ack_with([], name="")), "invalid")
        self.assertEqual(self.reason(ack_with([], name="x" * 65)), "limit_exceeded")
        self.assertEqual(self.reason(ack_with([Update(1, 1, "k" * 129)])), "limit_exceeded")
        self.assertEqual(self.reason(ack_with([Update(1, 0, "k", bytes(513))])), "limit_exceeded")
        wire.decode(ack_with([Update(1, 0, "k" * 128, bytes(512))]), cluster_id="test")
        self.assertEqual(self.reason(ack_with([Update(1, 0, "k", bytes(11))]),
                                     limits=Limits(max_value_len=10)), "limit_exceeded")

    def test_ranges_wrap_around(self):
        a, b, c = (NodeId.make(x, "10.0.0.1", 1) for x in "abc")
        self.assertTrue(wire.in_range(b, a, c))
        self.assertFalse(wire.in_range(c, a, c))
        self.assertTrue(wire.in_range(a, c, b))
        self.assertTrue(wire.in_range(c, c, b))
        self.assertFalse(wire.in_range(b, c, b))
        self.assertTrue(wire.in_range(b, b, b))

    def test_node_ids_order_by_name_then_ipv4_before_ipv6_then_address(self):
        v6 = NodeId.make("a", "::1", 1)
        v4 = NodeId.make("a", "10.0.0.1", 2)
        v4b = NodeId.make("a", "10.0.0.1", 3)
        b = NodeId.make("b", "::1", 1)
        self.assertEqual(sorted([b, v6, v4b, v4]), [v4, v4b, v6, b])

    def test_random_mutations_never_raise_anything_but_wire_errors(self):
        rng = random.Random(11)
        for _ in range(100):
            data = bytearray(wire.encode(Envelope("test", random_message(rng))))
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                wire.decode(bytes(data), mtu=10**6, cluster_id="test")
            except WireError:
                pass


if __name__ == "__main__":
    unittest.main()
