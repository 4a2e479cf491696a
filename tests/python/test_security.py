"""Unit tests of docs/spec/security.md: encrypted frames, keyring rotation, signatures."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pygossip import security, wire  # noqa: E402
from pygossip.core import Config, Core  # noqa: E402
from pygossip.security import Keyring  # noqa: E402
from pygossip.wire import (KIND_INCREMENTAL, Ack, Envelope, NodeDelta, NodeId, Update,  # noqa: E402
                           WireError)

K1, K2 = bytes(range(32)), bytes(range(1, 33))
SEEDS = {n: bytes([i + 1]) * 32 for i, n in enumerate("abcm")}
ROSTER = {n: security.public_key(s) for n, s in SEEDS.items()}


def node(name, port, keyring=True, signed=True, **kw):
    cfg = Config(name=name, port=port, cluster_id="test",
                 keyring=Keyring(K1) if keyring else None,
                 signing_key=SEEDS[name] if signed else None,
                 roster=dict(ROSTER) if signed else None, **kw)
    return Core(cfg, random.Random(port), 0.0)


def pump(cores, now=1.0):
    by = {c.id.addr: c for c in cores}
    moved = True
    while moved:
        moved = False
        for c in cores:
            while True:
                t = c.poll_transmit()
                if t is None:
                    break
                moved = True
                try:
                    by[t[0]].handle_datagram(c.id.addr, t[1], now)
                except WireError:
                    pass


class SecurityTests(unittest.TestCase):
    def reject(self, core, data):
        with self.assertRaises(WireError) as cm:
            core.handle_datagram(b"\x7f\x00\x00\x01\x00\x01", data, 1.0)
        return cm.exception.reason

    def test_the_update_signature_example_of_security_md_is_byte_exact(self):
        a = NodeId.make("a", "10.0.0.1", 7000)
        self.assertEqual(security.update_bytes("test", a, 1, Update(1, 0, "k", b"v")).hex(),
                         "98af676f737369702f7570646174652f31a47465737492a161c4060a0000011b58"
                         "010100a16bc40176")

    def test_fingerprint_and_key_id_are_the_prefixes_of_the_domain_separated_hash(self):
        import hashlib
        fp = hashlib.sha256(b"gossip/key/1" + K1).digest()[:8]
        self.assertEqual(security.fingerprint(K1), fp)
        self.assertEqual(security.key_id(K1), fp[:4])

    def test_two_encrypted_signed_nodes_exchange_state_and_frames_carry_33_bytes_overhead(self):
        a, b = node("a", 7000), node("b", 7001)
        a.set("k", b"v", 0.0)
        b.set("j", b"w", 0.0)
        a.start_round_with(b.id.addr, 1.0)
        frame = a.transmits[0][1]
        self.assertEqual(frame[0], 2)
        plain = security.open_frame(b.config.keyring, frame, "test", 1400)
        self.assertEqual(len(frame), len(plain) + 33)
        pump([a, b])
        self.assertEqual(b.view[a.id].entries, {"k": (1, b"v")})
        self.assertEqual(a.view[b.id].entries, {"j": (1, b"w")})
        self.assertEqual(sum(a.stats.rejected.values()) + sum(b.stats.rejected.values()), 0)

    def test_a_relay_forwards_the_owners_signatures_unchanged(self):
        a, b, c = node("a", 7000), node("b", 7001), node("c", 7002)
        a.set("k", b"v", 0.0)
        a.start_round_with(b.id.addr, 1.0)
        pump([a, b, c])
        b.start_round_with(c.id.addr, 2.0)
        pump([a, b, c])  # c learns a's write from b only
        self.assertEqual(c.view[a.id].entries, {"k": (1, b"v")})
        self.assertEqual(sum(c.stats.rejected.values()), 0)

    def test_each_bad_frame_gets_its_typed_rejection_and_changes_nothing(self):
        a, b = node("a", 7000), node("b", 7001)
        a.set("k", b"v", 0.0)
        a.start_round_with(b.id.addr, 1.0)
        frame = a.transmits.pop()[1]
        before = repr(b.view)
        plain = security.open_frame(b.config.keyring, frame, "test", 1400)
        self.assertEqual(self.reject(b, plain), "unencrypted")
        self.assertEqual(self.reject(b, b"\x04" + frame[1:]), "unknown_version")
        # 0x03 is a compressed frame (wire.md): unsealed, an encrypting node refuses it
        self.assertEqual(self.reject(b, b"\x03" + frame[1:]), "unencrypted")
        self.assertEqual(self.reject(b, frame[:33]), "truncated")
        self.assertEqual(self.reject(b, b""), "truncated")
        tampered = bytearray(frame)
        tampered[-1] ^= 1
        self.assertEqual(self.reject(b, bytes(tampered)), "decrypt_failed")
        self.assertEqual(self.reject(b, frame[:-1]), "decrypt_failed")
        other = security.seal(K2, bytes(12), plain, "test")
        self.assertEqual(self.reject(b, other), "no_key")
        wrong_cluster = security.seal(K1, bytes(12), plain, "other")
        self.assertEqual(self.reject(b, wrong_cluster), "decrypt_failed")
        self.assertEqual(self.reject(node("c", 7002, keyring=False), frame), "no_key")
        self.assertEqual(repr(b.view), before)

    def test_the_rotation_procedure_loses_no_datagram(self):
        a, b = node("a", 7000), node("b", 7001)
        for step in range(3):
            if step == 0:
                a.config.keyring.add(K2)
                b.config.keyring.add(K2)
            elif step == 1:
                a.config.keyring.use(security.fingerprint(K2))  # b still seals with K1
            else:
                b.config.keyring.use(security.fingerprint(K2))
                with self.assertRaises(security.KeyringError):
                    a.config.keyring.remove(security.fingerprint(K2))
                a.config.keyring.remove(security.fingerprint(K1))
                b.config.keyring.remove(security.fingerprint(K1))
            a.set(f"k{step}", b"v", float(step))
            a.start_round_with(b.id.addr, float(step))
            b.start_round_with(a.id.addr, float(step))
            pump([a, b])
        self.assertEqual(len(b.view[a.id].entries), 3)
        self.assertEqual(sum(a.stats.rejected.values()) + sum(b.stats.rejected.values()), 0)

    def signed_ack(self, owner="m", forge=None):
        m = node(owner, 7009, keyring=False)
        m.set("k", b"v", 0.0)
        m.start_round_with(b"\x7f\x00\x00\x01\x00\x01", 0.0)
        nd = m.build_own_delta(10**6)[0]
        if forge:
            nd = forge(nd)
        return wire.encode(Envelope("test", Ack([nd])))

    def test_signature_checks_reject_forged_unsigned_and_unknown_node_deltas(self):
        b = node("b", 7001, keyring=False)
        b.handle_datagram(b"\x00" * 6, self.signed_ack(), 1.0)  # genuine: accepted
        self.assertIn("m", [n.name for n in b.view])
        b = node("b", 7001, keyring=False)
        del b.config.roster["m"]
        self.assertEqual(self.reject(b, self.signed_ack()), "unknown_signer")
        b = node("b", 7001, keyring=False)

        def value(nd):
            u = nd.updates[0]
            nd.updates[0] = Update(u.version, u.op, u.key, b"X", u.sig)
            return nd

        def heartbeat(nd):
            nd.heartbeat += 1
            return nd

        def watermark(nd):
            nd.watermark_after += 1
            nd.updates.append(Update(nd.watermark_after, 2, sig=bytes(64)))
            return nd

        def unsign(nd):
            u = nd.updates[0]
            nd.updates[0] = Update(u.version, u.op, u.key, u.value)
            return nd

        def no_attestation(nd):
            nd.attestation = None
            return nd

        def claim(nd):
            nd.watermark_after = nd.attestation[0] + 1
            nd.kind, nd.kind_arg = KIND_INCREMENTAL, nd.watermark_after
            nd.updates = []
            return nd

        for forge, reason in [(value, "bad_signature"), (heartbeat, "bad_signature"),
                              (watermark, "bad_signature"), (claim, "bad_signature"),
                              (unsign, "unsigned"), (no_attestation, "unsigned")]:
            self.assertEqual(self.reject(b, self.signed_ack(forge=forge)), reason, forge.__name__)
        self.assertEqual([n.name for n in b.view], ["b"])

    def test_a_relays_heartbeat_only_delta_never_claims_more_than_the_attested_watermark(self):
        a, b = node("a", 7000, keyring=False), node("b", 7001, keyring=False)
        a.set("k", b"v", 0.0)
        a.start_round_with(b.id.addr, 1.0)
        pump([a, b])
        # a peer claims a higher watermark of a than b holds, with an older heartbeat
        d = wire.Digest(None, [wire.DigestEntry(a.id, 1, 0, 9)])
        delta = b.build_delta(d, 10**6)
        nd = [x for x in delta if x.node == a.id][0]
        self.assertLessEqual(nd.watermark_after, nd.attestation[0])
        security.verify_delta(ROSTER, "test", [nd])


if __name__ == "__main__":
    unittest.main()
