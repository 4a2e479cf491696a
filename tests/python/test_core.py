"""Unit tests of the sans-io core (docs/spec/protocol.md). Each test is named by the rule it
checks; test_broken_variants shows that the rules' tests fail on the PYGOSSIP_BUG variants."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pygossip import wire  # noqa: E402
from pygossip.core import ALIVE, DEAD, LEFT, Config, Core, WriteError  # noqa: E402
from pygossip.sim import Cluster  # noqa: E402
from pygossip.wire import (KIND_INCREMENTAL, KIND_RESET, Ack, Digest, DigestEntry,  # noqa: E402
                           Envelope, NodeDelta, NodeId, Syn, SynAck, Update, WireError)


def core(name="a", port=7000, bug="", **kw):
    return Core(Config(name=name, port=port, cluster_id="test", bug=bug, **kw), random.Random(1), 0.0)


def msgs(c):
    out = []
    while True:
        t = c.poll_transmit()
        if t is None:
            return out
        out.append((t[0], wire.decode(t[1], mtu=10**6).msg))


def send(c, msg, src=b"\x0a\x00\x00\x09\x1b\x58"):
    c.handle_datagram(src, wire.encode(Envelope("test", msg)), 1.0)
    return msgs(c)


B = NodeId.make("b", "127.0.0.1", 7001)


def nd(frm=0, ups=(), wa=None, gen=1, hb=1, kind=KIND_INCREMENTAL, node=B):
    ups = list(ups)
    if wa is None:
        wa = ups[-1].version if ups else frm
    return NodeDelta(node, gen, hb, kind, frm, ups, wa)


def S(v, k="k", val=b"x"):
    return Update(v, 0, k, val)


def D(v, k="k"):
    return Update(v, 1, k)


class CoreTests(unittest.TestCase):
    def test_a_new_core_knows_only_itself_and_its_first_syn_carries_its_digest(self):
        c = core()
        self.assertEqual(list(c.view), [c.id])
        c.start_round_with(B.addr, 0.0)
        [(dst, syn)] = msgs(c)
        self.assertEqual(dst, B.addr)
        self.assertEqual(syn, Syn(0, Digest(None, [DigestEntry(c.id, 1, 1, 0)]), []))

    def test_a_syn_from_a_peer_that_lacks_a_write_gets_a_synack_carrying_it(self):
        c = core()
        c.set("k", b"v", 0.0)
        [(_, sa)] = send(c, Syn(0, Digest(None, [DigestEntry(B, 1, 1, 0)]), []))
        self.assertIsInstance(sa, SynAck)
        self.assertEqual(sa.delta, [NodeDelta(c.id, 1, 0, KIND_INCREMENTAL, 0, [S(1, "k", b"v")], 1)])
        self.assertEqual([e.node for e in sa.digest.entries], [c.id])

    def test_incremental_deltas_start_at_the_peers_watermark(self):
        c = core()
        for i in range(4):
            c.set(f"k{i}", b"v", 0.0)
        [(_, sa)] = send(c, Syn(0, Digest(None, [DigestEntry(c.id, 1, 0, 2)]), []))
        self.assertEqual(sa.delta[0].kind_arg, 2)
        self.assertEqual([u.version for u in sa.delta[0].updates], [3, 4])

    @staticmethod
    def synack_to_a_peer_with_an_older_heartbeat(mode):
        """A core that wrote one key and started a round (heartbeat 1), and its SynAck to a
        Syn of `mode` whose digest holds the core at heartbeat 0."""
        c = core()
        c.set("k", b"v", 0.0)
        c.start_round_with(B.addr, 0.0)
        msgs(c)
        [(_, sa)] = send(c, Syn(mode, Digest(None, [DigestEntry(c.id, 1, 0, 1)]), []))
        return c, sa

    def test_a_pull_peer_with_an_older_heartbeat_gets_a_heartbeat_only_node_delta(self):
        c, sa = self.synack_to_a_peer_with_an_older_heartbeat(1)
        self.assertEqual(sa.delta, [NodeDelta(c.id, 1, 1, KIND_INCREMENTAL, 1, [], 1)])

    def test_a_push_pull_peer_with_an_older_heartbeat_gets_it_in_the_digest_only(self):
        c, sa = self.synack_to_a_peer_with_an_older_heartbeat(0)
        self.assertEqual(sa.delta, [])
        self.assertEqual(sa.digest.entries, [DigestEntry(c.id, 1, 1, 1)])

    def test_a_digest_heartbeat_of_the_held_generation_is_received(self):
        c = core()
        send(c, SynAck(Digest(None, [DigestEntry(B, 1, 1, 1)]), [nd(0, [S(1)])]))
        self.assertEqual(c.view[B].heartbeat, 1)
        send(c, Syn(0, Digest(None, [DigestEntry(B, 1, 5, 1)]), []))
        self.assertEqual(c.view[B].heartbeat, 5)
        send(c, Syn(0, Digest(None, [DigestEntry(B, 2, 9, 1)]), []))
        self.assertEqual((c.view[B].generation, c.view[B].heartbeat), (1, 5))

    def test_a_synack_is_applied_and_answered_with_an_ack_and_an_empty_ack_is_not_sent(self):
        c = core()
        out = send(c, SynAck(Digest(None, [DigestEntry(B, 1, 1, 1)]), [nd(0, [S(1)])]))
        self.assertEqual(c.view[B].entries, {"k": (1, b"x")})
        self.assertEqual(len(out), 1)
        self.assertIsInstance(out[0][1], Ack)
        self.assertEqual(out[0][1].delta[0].node, c.id)
        c.start_round_with(B.addr, 0.0)
        msgs(c)
        out = send(c, SynAck(Digest(None, [DigestEntry(c.id, 1, 5, 0), DigestEntry(B, 1, 1, 1)]), []))
        self.assertEqual(out, [])

    def test_a_peer_behind_the_gc_floor_gets_a_reset_and_one_at_the_gc_floor_an_incremental(self):
        c = core()
        c.set("k", b"v", 0.0)
        c.delete("k", 0.0)
        c.set("j", b"w", 0.0)
        self.assertEqual(c.collect_tombstones(c.id, 0.0), 1)
        self.assertEqual(c.own.gc_floor, 2)
        [(_, sa)] = send(c, Syn(0, Digest(None, [DigestEntry(c.id, 1, 0, 1)]), []))
        self.assertEqual(sa.delta[0].kind, KIND_RESET)
        self.assertEqual(sa.delta[0].kind_arg, 2)
        self.assertEqual(sa.delta[0].updates, [S(3, "j", b"w")])
        [(_, sa)] = send(c, Syn(0, Digest(None, [DigestEntry(c.id, 1, 0, 2)]), []))
        self.assertEqual((sa.delta[0].kind, sa.delta[0].kind_arg), (KIND_INCREMENTAL, 2))
        [(_, sa)] = send(c, Syn(0, Digest(None, []), []))
        self.assertEqual((sa.delta[0].kind, sa.delta[0].kind_arg), (KIND_RESET, 2))

    def test_a_reset_replaces_entries_and_drops_collected_keys(self):
        c = core()
        send(c, Ack([nd(0, [S(1, "k"), S(2, "j")])]))
        send(c, Ack([nd(0, [S(2, "j")], wa=4, kind=KIND_RESET, hb=2)]))
        self.assertEqual(c.view[B].entries, {"j": (2, b"x")})
        self.assertEqual((c.view[B].watermark, c.view[B].heartbeat), (4, 2))
        # a reset not above the watermark changes no entry
        send(c, Ack([nd(0, [S(1, "k")], wa=3, kind=KIND_RESET, hb=3)]))
        self.assertEqual(c.view[B].entries, {"j": (2, b"x")})
        self.assertEqual(c.view[B].heartbeat, 3)

    def test_gaps_are_ignored(self):
        c = core()
        send(c, Ack([nd(0, [S(1)])]))
        send(c, Ack([nd(2, [S(3, "j")], hb=2)]))
        self.assertEqual(c.view[B].watermark, 1)
        self.assertNotIn("j", c.view[B].entries)
        self.assertEqual(c.view[B].heartbeat, 2)  # the heartbeat is still taken
        self.assertEqual(c.stats.gaps, 1)

    def test_unknown_nodes_are_learned_only_from_deltas_starting_at_0(self):
        c = core()
        send(c, Ack([nd(1, [S(2)])]))
        self.assertNotIn(B, c.view)
        send(c, Ack([nd(0, [S(2)])]))
        self.assertEqual(c.view[B].watermark, 2)

    def test_equal_versions_are_not_reapplied_and_old_versions_do_not_overwrite(self):
        c = core()
        send(c, Ack([nd(0, [S(1, "k", b"a"), S(2, "k", b"b")])]))
        send(c, Ack([nd(0, [S(1, "k", b"a")])]))
        self.assertEqual(c.view[B].entries["k"], (2, b"b"))

    def test_newer_generations_replace_and_older_ones_are_ignored(self):
        c = core()
        send(c, Ack([nd(0, [S(1)], gen=2, hb=5)]))
        send(c, Ack([nd(0, [S(1, "old"), S(2, "older")], gen=1, hb=9)]))
        self.assertEqual((c.view[B].generation, c.view[B].heartbeat), (2, 5))
        self.assertEqual(c.view[B].entries, {"k": (1, b"x")})
        send(c, Ack([nd(0, [], gen=3, hb=1)]))
        self.assertEqual((c.view[B].generation, c.view[B].heartbeat, c.view[B].entries), (3, 1, {}))

    def test_gossip_about_oneself_is_ignored(self):
        c = core()
        send(c, Ack([nd(0, [S(1)], gen=9, hb=9, node=c.id)]))
        self.assertEqual((c.own.generation, c.own.heartbeat, c.own.entries), (1, 0, {}))

    def test_a_convicted_node_is_revived_only_by_a_fresh_heartbeat(self):
        c = core()
        send(c, Ack([nd(0, [S(1)], hb=3)]))
        self.assertTrue(c.convict(B, 1.0))
        self.assertFalse(c.convict(B, 1.0))
        send(c, Ack([nd(1, [], hb=3)]))
        self.assertEqual(c.view[B].status, DEAD)
        send(c, Ack([nd(1, [], hb=4)]))
        self.assertEqual(c.view[B].status, ALIVE)

    def test_a_forgotten_node_does_not_come_back_on_stale_gossip_but_on_a_fresh_heartbeat(self):
        c = core()
        send(c, Ack([nd(0, [S(1)], hb=3)]))
        self.assertTrue(c.forget(B, 1.0))
        send(c, Ack([nd(0, [S(1)], hb=3)]))
        self.assertNotIn(B, c.view)
        self.assertEqual(c.stats.zombies_ignored, 1)
        send(c, Ack([nd(1, [], hb=4)]))  # fresh but a gap: the record stays
        self.assertNotIn(B, c.view)
        self.assertIn(B, c.forgotten)
        send(c, Ack([nd(0, [S(1)], hb=4)]))
        self.assertIn(B, c.view)
        self.assertNotIn(B, c.forgotten)

    def test_a_forgotten_node_that_had_left_returns_only_with_a_higher_generation(self):
        c = core()
        send(c, Ack([nd(0, [S(1), Update(2, 2)], hb=3)]))
        self.assertEqual(c.view[B].status, LEFT)
        self.assertFalse(c.convict(B, 1.0))
        c.forget(B, 1.0)
        send(c, Ack([nd(0, [S(1)], hb=30)]))
        self.assertNotIn(B, c.view)
        send(c, Ack([nd(0, [S(1)], hb=1, gen=2)]))
        self.assertIn(B, c.view)

    def test_leaving_stops_the_heartbeat_refuses_writes_and_is_acknowledged_by_a_peer_digest(self):
        c = core()
        v = c.leave(0.0)
        self.assertEqual(v, 1)
        with self.assertRaises(WriteError):
            c.set("k", b"v", 0.0)
        c.start_round_with(B.addr, 0.0)
        msgs(c)
        self.assertEqual(c.own.heartbeat, 0)
        self.assertFalse(c.left_acknowledged)
        send(c, SynAck(Digest(None, [DigestEntry(c.id, 1, 0, 1)]), []))
        self.assertTrue(c.left_acknowledged)

    def test_writes_beyond_the_limits_consume_no_version(self):
        c = core()
        with self.assertRaises(WriteError):
            c.set("k" * 129, b"", 0.0)
        with self.assertRaises(WriteError):
            c.set("k", bytes(513), 0.0)
        self.assertEqual(c.set("k", b"", 0.0), 1)

    def test_max_delta_updates_cuts_a_prefix_and_later_nodes_get_heartbeat_only_deltas(self):
        c = core(max_delta_updates=2, rotate_delta_start=False)
        C = NodeId.make("c", "127.0.0.1", 7002)
        send(c, Ack([nd(0, [S(1), S(2, "j"), S(3, "l")], hb=4), nd(0, [S(1)], hb=2, node=C)]))
        [(_, sa)] = send(c, Syn(0, Digest(None, []), []))
        a_nd, b_nd, c_nd = sa.delta
        self.assertEqual((a_nd.node, a_nd.updates, a_nd.watermark_after), (c.id, [], 0))
        self.assertEqual(([u.version for u in b_nd.updates], b_nd.watermark_after), ([1, 2], 2))
        self.assertEqual(c_nd, NodeDelta(C, 1, 2, KIND_INCREMENTAL, 0, [], 0))

    def test_a_rejected_datagram_changes_nothing_and_is_counted_once(self):
        c = core()
        send(c, Ack([nd(0, [S(1)])]))
        before = repr(c.view)
        bad = wire.encode(Envelope("test", Ack([nd(0, [S(2), S(1)])])))
        with self.assertRaises(WireError):
            c.handle_datagram(B.addr, bad, 1.0)
        self.assertEqual(repr(c.view), before)
        self.assertEqual(c.stats.rejected["invalid"], 1)
        self.assertEqual(sum(c.stats.rejected.values()), 1)

    def test_a_digest_that_does_not_fit_is_partial_and_its_range_rotates_over_every_node(self):
        c = core(mtu=1400, max_digest_len=300)
        ids = [NodeId.make(f"node{i:03d}", "127.0.0.1", 8000 + i) for i in range(40)]
        send(c, Ack([nd(0, [], node=i) for i in ids[:12]]))
        send(c, Ack([nd(0, [], node=i) for i in ids[12:24]]))
        send(c, Ack([nd(0, [], node=i) for i in ids[24:]]))
        seen = []
        prev_end = None
        for _ in range(12):
            c.start_round_with(B.addr, 1.0)
            [(_, syn)] = msgs(c)
            d = syn.digest
            self.assertIsNotNone(d.range)
            self.assertLessEqual(wire.size_of(wire.enc_digest, d), 300)
            if prev_end is not None:
                self.assertEqual(d.range[0], prev_end)
            prev_end = d.range[1]
            seen += [e.node for e in d.entries]
        self.assertEqual(set(seen), set(c.view))

    def test_the_heartbeat_period_follows_the_heartbeat_arrivals_within_the_own_rotation(self):
        # node.md §7: P = min(P_syn, max(1, ceil(8 m / rate))), P_syn while rate = 0.
        c = core(mtu=1400, max_digest_len=300)
        ids = [NodeId.make(f"node{i:03d}", "127.0.0.1", 8000 + i) for i in range(40)]
        for k in range(0, 40, 10):
            send(c, Ack([nd(0, [], node=i) for i in ids[k:k + 10]]))

        def heartbeats(count, hb):
            for k in range(0, count, 20):
                send(c, Syn(0, Digest(None, [DigestEntry(i, 1, hb, 0)
                                             for i in ids[k:min(count, k + 20)]]), []))

        def round_():
            c.start_round_with(B.addr, 1.0)
            msgs(c)

        round_()
        self.assertEqual(c.arrival_rate, 0)
        self.assertGreater(c.rotation_rounds(), 1)
        self.assertEqual(c.heartbeat_period_rounds(), c.rotation_rounds())
        heartbeats(1, 2)
        round_()
        self.assertEqual(c.arrival_rate, 1)
        self.assertEqual(c.heartbeat_period_rounds(), c.rotation_rounds())
        heartbeats(40, 3)
        heartbeats(40, 3)  # not newer: no arrival
        round_()
        self.assertEqual(c.arrival_rate, 41)
        self.assertGreater(c.rotation_rounds(), 8)
        self.assertEqual(c.heartbeat_period_rounds(), 8)
        heartbeats(40, 4)
        round_()
        self.assertEqual(c.arrival_rate, 76)
        self.assertEqual(c.heartbeat_period_rounds(), 5)
        t = 5 * c.config.gossip_interval
        cfg = c.config
        self.assertEqual(c.detector_settings(), (max(cfg.min_std_dev, t * 3 / 4),
                                                 max(cfg.initial_interval, t),
                                                 max(cfg.dead_after, 2 * t)))

    def test_every_datagram_fits_the_mtu_and_a_cluster_of_many_nodes_converges(self):
        cl = Cluster(30, seed=3, mtu=1400)
        for i, c in enumerate(cl.cores):
            c.set("key", bytes(200), 0.0)
        sizes = []
        for r in range(80):
            cl.now += 1
            for c in cl.cores:
                c.handle_timeout(cl.now)
                cl.collect(c)
            sizes += [len(d) for _, _, d in cl.inflight]
            cl.deliver_all(loss=0.05)
            if all(len(c.view) == 30 and all(s.watermark == 1 for s in c.view.values())
                   for c in cl.cores):
                break
        self.assertLessEqual(max(sizes), 1400)
        self.assertTrue(all(s.entries == {"key": (1, bytes(200))}
                            for c in cl.cores for s in c.view.values()), f"round {r}")

    def test_compressing_and_plain_nodes_converge_together_within_the_mtu(self):
        cl = Cluster(20, seed=5, mtu=1400)
        rng = random.Random(9)
        for i, c in enumerate(cl.cores):
            c.config.compression = i % 2 == 0
            c.set("noise", bytes(rng.randrange(256) for _ in range(300)), 0.0)
            c.set("color", f"red-{i}".encode(), 0.0)
        frames = plain = 0
        for r in range(100):
            cl.now += 1
            for c in cl.cores:
                c.handle_timeout(cl.now)
                cl.collect(c)
            for _, _, d in cl.inflight:
                self.assertLessEqual(len(d), 1400)
                if d[0] == wire.FRAME_COMPRESSED:
                    frames += 1
                    self.assertGreater(len(wire.inflate(d[1:], 1400)), len(d))
                else:
                    plain += 1
            cl.deliver_all()
            done = all(len(c.view) == 20 and all(st.watermark == 2 for st in c.view.values())
                       for c in cl.cores)
            if done:
                break
        self.assertTrue(done, f"round {r}")
        self.assertGreater(frames, 0)
        self.assertGreater(plain, 0)
        for i, c in enumerate(cl.cores):
            self.assertEqual({k: v for k, v in c.stats.rejected.items() if v}, {})
            self.assertGreater(c.stats.compressed_in, 0)
            self.assertEqual(c.stats.compressed_out > 0, i % 2 == 0)

    def test_pull_and_push_modes(self):
        a, b = core("a", 7000, mode="pull"), core("b", 7001)
        a.set("k", b"v", 0.0)
        a.start_round_with(b.id.addr, 0.0)
        [(_, syn)] = msgs(a)
        self.assertEqual(syn.mode, 1)
        self.assertEqual(syn.delta[0].node, a.id)
        b.handle_datagram(a.id.addr, wire.encode(Envelope("test", syn)), 0.0)
        self.assertEqual(b.view[a.id].entries, {"k": (1, b"v")})
        [(_, sa)] = msgs(b)
        self.assertIsNone(sa.digest)
        p = core("p", 7002, mode="push")
        p.set("k", b"v", 0.0)
        p.start_round_with(b.id.addr, 0.0)
        [(_, syn)] = msgs(p)
        self.assertEqual((syn.mode, syn.digest), (2, None))
        b.handle_datagram(p.id.addr, wire.encode(Envelope("test", syn)), 0.0)
        self.assertEqual(msgs(b), [])
        self.assertEqual(b.view[p.id].entries, {"k": (1, b"v")})

    def test_a_silent_node_is_suspected_then_dead_then_forgotten(self):
        c = core(dead_after=5.0, dead_grace=20.0)
        c.handle_timeout(0.0)
        send(c, Ack([nd(0, [], hb=1)]))
        for t in range(1, 60):
            c.handle_timeout(float(t))
        self.assertNotIn(B, c.view)
        self.assertIn(B, c.forgotten)
        kinds = [e[0] for e in c.events]
        self.assertEqual([k for k in kinds if k in ("NodeSuspected", "NodeDead", "NodeForgotten")],
                         ["NodeSuspected", "NodeDead", "NodeForgotten"])


def scenario_gap(bug):
    c = core(bug=bug)
    send(c, Ack([nd(0, [S(1)])]))
    send(c, Ack([nd(2, [S(3, "j")], hb=2)]))
    return c.view[B].watermark == 1


def scenario_older_generation(bug):
    c = core(bug=bug)
    send(c, Ack([nd(0, [S(1)], gen=2, hb=5)]))
    send(c, Ack([nd(0, [S(1, "old")], gen=1, hb=9)]))
    return c.view[B].generation == 2


def scenario_gc_reset(bug):
    c = core(bug=bug)
    c.set("k", b"v", 0.0)
    c.delete("k", 0.0)
    c.collect_tombstones(c.id, 0.0)
    [(_, sa)] = send(c, Syn(0, Digest(None, [DigestEntry(c.id, 1, 0, 1)]), []))
    return sa.delta[0].kind == KIND_RESET


def scenario_heartbeat(bug):
    c = core(bug=bug)
    c.start_round_with(B.addr, 0.0)
    return c.own.heartbeat == 1


def scenario_revive(bug):
    c = core(bug=bug)
    send(c, Ack([nd(0, [S(1)], hb=3)]))
    c.convict(B, 1.0)
    send(c, Ack([nd(1, [], hb=3)]))
    return c.view[B].status == DEAD


class BrokenVariantTests(unittest.TestCase):
    def test_every_broken_variant_is_caught_by_its_scenario_and_the_correct_core_passes(self):
        cases = {"apply-past-gap": scenario_gap, "accept-older-generation": scenario_older_generation,
                 "gc-without-reset": scenario_gc_reset, "no-heartbeat-bump": scenario_heartbeat,
                 "revive-on-stale-gossip": scenario_revive}
        for bug, scen in cases.items():
            self.assertTrue(scen(""), bug)
            self.assertFalse(scen(bug), bug)


if __name__ == "__main__":
    unittest.main()
