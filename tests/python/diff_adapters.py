#!/usr/bin/env python3
"""Differential test: drive two gossip-kit/1 adapters (e.g. kit_node.py and the Rust
gossip-kit-node) with the same random request sequence and compare every response's `sent`
datagrams (byte for byte), `rejected`, `version` and `view`.

    python3 tests/python/diff_adapters.py "python3 tests/python/kit_node.py" \
        target/release/gossip-kit-node --runs 50 --seed 1

Focus: what the model-driven kit does not reach: small MTUs and max_digest_len (partial
digests, byte cuts), rotate_delta_start, many nodes, pull and push modes, bad datagrams.
"""
import argparse
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pygossip import wire  # noqa: E402
from pygossip.wire import (Ack, Digest, DigestEntry, Envelope, NodeDelta, NodeId, Syn,  # noqa: E402
                           SynAck, Update)


class Proc:
    def __init__(self, cmd):
        self.p = subprocess.Popen(["sh", "-c", cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)

    def req(self, r):
        self.p.stdin.write(json.dumps(r) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("adapter exited")
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def norm_view(v):
    nodes = sorted(v["nodes"], key=lambda n: (n["name"], n["addr"]))
    fg = sorted(v.get("forgotten", []), key=lambda n: (n["name"], n["addr"]))
    return {"nodes": nodes, "forgotten": fg}


def gen_requests(rng):
    n_nodes = rng.randint(2, 40)
    names = [f"n{i}" if rng.random() < 0.7 else f"node-{i:03d}-" + "x" * rng.randint(0, 20)
             for i in range(n_nodes)]
    ids = [NodeId.make(names[i], "127.0.0.1", 7000 + i) for i in range(n_nodes)]
    mtu = rng.choice([1400, 1400, 1192, 2000, 60000])
    mdl = rng.choice([700, 294, 400, mtu])
    mdl = min(mdl, mtu)
    cfg = {"cluster_id": "conformance", "name": ids[0].name, "gossip_addr": "127.0.0.1:7000",
           "seeds": ["127.0.0.1:7000"], "generation": 5,
           "mode": rng.choice(["push-pull", "push-pull", "pull", "push"]), "fanout": 1,
           "mtu": mtu, "max_digest_len": mdl,
           "max_delta_updates": rng.choice([None, None, 1, 2, 5]),  # (pull: see G16)
           "rotate_delta_start": rng.random() < 0.5, "gossip_interval_ms": 1000,
           "phi_threshold": 1e300, "dead_after_ms": 1099511627776000,
           "dead_grace_period_ms": 1099511627776000,
           "tombstone_grace_period_ms": 1099511627776000,
           "forgotten_retention_ms": 1099511627776000,
           "limits": {"max_nodes": 10000, "max_keys_per_node": 10000, "max_value_len": 512,
                      "max_key_len": 128, "max_name_len": 64}}
    reqs = [{"op": "init", "kit": "gossip-kit/1", "now_ms": 0, "config": cfg}]
    # what the "others" hold: a ground-truth history per other node
    hist = {i: [] for i in range(1, n_nodes)}  # list of Update
    gens = {i: 1 for i in range(1, n_nodes)}
    hbs = {i: 0 for i in range(1, n_nodes)}
    now = 0
    own_keys = []

    def nd_for(i, frm=0, upto=None, reset=False, gc=0):
        ups = [u for u in hist[i] if u.version > frm and (upto is None or u.version <= upto)]
        # latest per key only (what a holder would send)
        latest = {}
        for u in ups:
            latest[u.key if u.op != 2 else None] = u
        ups = sorted(latest.values(), key=lambda u: u.version)
        wa = upto if upto is not None else (hist[i][-1].version if hist[i] else 0)
        wa = max(wa, frm)
        return NodeDelta(ids[i], gens[i], hbs[i], 1 if reset else 0, gc if reset else frm, ups, wa)

    for _ in range(rng.randint(5, 40)):
        now += rng.randint(0, 50)
        r = rng.random()
        if r < 0.25:
            # others write, then an Ack/SynAck tells our node
            for _ in range(rng.randint(1, 5)):
                i = rng.randrange(1, n_nodes)
                v = len(hist[i]) + 1
                k = f"k{rng.randrange(6)}"
                if rng.random() < 0.8:
                    hist[i].append(Update(v, 0, k, bytes([97 + rng.randrange(3)]) * rng.randint(1, 60)))
                else:
                    hist[i].append(Update(v, 1, k))
                hbs[i] += rng.randint(0, 3)
            sel = rng.sample(range(1, n_nodes), rng.randint(1, min(n_nodes - 1, 12)))
            delta = [nd_for(i) for i in sorted(sel, key=lambda i: ids[i])]
            env = Envelope("conformance", Ack(delta))
            data = wire.encode(env)
            if len(data) > mtu:
                continue
            reqs.append({"op": "datagram", "now_ms": now, "from": f"127.0.0.1:{7000 + sel[0]}",
                         "hex": data.hex()})
        elif r < 0.4:
            k = f"k{rng.randrange(5)}"
            own_keys.append(k)
            if rng.random() < 0.75:
                reqs.append({"op": "set", "now_ms": now, "key": k,
                             "value": (bytes([97 + rng.randrange(3)]) * rng.randint(1, 100)).hex()})
            else:
                reqs.append({"op": "delete", "now_ms": now, "key": k})
        elif r < 0.55:
            reqs.append({"op": "gossip", "now_ms": now,
                         "peer": f"127.0.0.1:{7000 + rng.randrange(1, n_nodes)}"})
        elif r < 0.85:
            # a Syn (or SynAck) from a peer with a random digest of what it holds
            entries = []
            for i in range(n_nodes):
                if rng.random() < 0.6:
                    entries.append(DigestEntry(ids[i], rng.choice([1, 5, 2]) if i else rng.choice([5, 4, 6]),
                                               rng.randint(0, 5), rng.randint(0, 8)))
            entries.sort(key=lambda e: e.node)
            rngd = None
            if rng.random() < 0.3:
                a, b = rng.sample(ids, 2)
                rngd = (a, b)
            d = Digest(rngd, entries)
            if rng.random() < 0.7:
                msg = Syn(0, d, [])
            else:
                msg = SynAck(d, [])
            data = wire.encode(Envelope("conformance", msg))
            if len(data) > mtu:
                continue
            reqs.append({"op": "datagram", "now_ms": now, "from": "127.0.0.1:7001",
                         "hex": data.hex()})
        elif r < 0.9:
            j = rng.randrange(1, n_nodes)
            op = rng.choice(["convict", "forget", "collect_tombstones"])
            reqs.append({"op": op, "now_ms": now, "node": {"name": ids[j].name,
                                                            "addr": f"127.0.0.1:{7000 + j}"}})
        elif r < 0.93:
            reqs.append({"op": "collect_tombstones", "now_ms": now,
                         "node": {"name": ids[0].name, "addr": "127.0.0.1:7000"}})
        else:
            # a mutated datagram
            i = rng.randrange(1, n_nodes)
            data = bytearray(wire.encode(Envelope("conformance", Ack([nd_for(i)]))))
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                data = data[:rng.randrange(len(data))]
            reqs.append({"op": "datagram", "now_ms": now, "from": "127.0.0.1:7001",
                         "hex": bytes(data).hex()})
    return reqs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--no-pull-cut", action="store_true",
                    help="pull mode only without max_delta_updates (known difference G16)")
    args = ap.parse_args()
    diffs = 0
    steps = 0
    for run in range(args.runs):
        rng = random.Random(args.seed * 100003 + run)
        reqs = gen_requests(rng)
        c = reqs[0]["config"]
        if args.no_pull_cut and c["mode"] == "pull":
            c["max_delta_updates"] = None
        pa, pb = Proc(args.a), Proc(args.b)
        try:
            for n, r in enumerate(reqs):
                ra, rb = pa.req(r), pb.req(r)
                steps += 1
                keys = ["ok", "sent", "rejected", "version", "applied", "collected"]
                da = {k: ra.get(k) for k in keys}
                db = {k: rb.get(k) for k in keys}
                va, vb = norm_view(ra.get("view", {"nodes": []})), norm_view(rb.get("view", {"nodes": []}))
                if da != db or va != vb:
                    diffs += 1
                    print(f"run {run} step {n}: DIFFERENCE for {json.dumps(r)[:400]}")
                    for k in keys:
                        if da[k] != db[k]:
                            print(f"  {k}:\n    A: {json.dumps(da[k])[:3000]}\n    B: {json.dumps(db[k])[:3000]}")
                    if va != vb:
                        for x, y in zip(va["nodes"], vb["nodes"]):
                            if x != y:
                                print(f"  view A: {x}\n  view B: {y}")
                        if len(va["nodes"]) != len(vb["nodes"]) or va["forgotten"] != vb["forgotten"]:
                            print(f"  view sizes {len(va['nodes'])} vs {len(vb['nodes'])}; forgotten {va['forgotten']} vs {vb['forgotten']}")
                    if args.verbose:
                        print("  config:", json.dumps(reqs[0]["config"]))
                    break
        finally:
            pa.close()
            pb.close()
    print(f"{args.runs} runs, {steps} requests, {diffs} runs with a difference")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
