#!/usr/bin/env python3
"""Checks pygossip against every shared test-vector file and prints pass/fail counts; exits
non-zero on any failure.

    python3 tests/python/run_vectors.py [FILE.json ...] [--verbose]

Without arguments it checks tests/vectors/{wire,deltas,security}.json of this repository (all
three must exist). Formats: gossip-vectors/wire/1 (encode: message <->
bytes both ways; receive: a fresh node accepts or rejects a datagram with that reason, view
unchanged), gossip-vectors/deltas/1 (conformance-kit requests; the last request's datagrams
must be exactly `expect`), gossip-security-vectors/1 (key fingerprints, sealed frames,
signatures, sealed/signed datagrams at a receiver with a keyring and a roster).
"""
import glob
import json
import os
import random
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from pygossip import security, wire  # noqa: E402
from pygossip.core import Config, Core  # noqa: E402
from pygossip.wire import (Ack, Digest, DigestEntry, Envelope, NodeDelta, NodeId, Syn,  # noqa: E402
                           SynAck, Update, WireError)
from kit_node import Adapter, REJECTION_NAMES, parse_addr  # noqa: E402

MODES = {"push-pull": 0, "pull": 1, "push": 2}
OPS = {"set": 0, "delete": 1, "leave": 2}


def node_of(j) -> NodeId:
    return NodeId(j["name"], parse_addr(j["addr"]))


def digest_of(j):
    if j is None:
        return None
    rng = None if j["range"] is None else (node_of(j["range"]["start"]), node_of(j["range"]["end"]))
    return Digest(rng, [DigestEntry(node_of(e["node"]), e["generation"], e["heartbeat"],
                                    e["watermark"]) for e in j["entries"]])


def update_of(j) -> Update:
    op = OPS[j["op"]]
    return Update(j["version"], op, j.get("key") if op != 2 else None,
                  bytes.fromhex(j["value"]) if op == 0 else None,
                  bytes.fromhex(j["sig"]) if j.get("sig") else None)


def delta_of(j):
    out = []
    for nd in j:
        k = nd["kind"]
        kind, arg = (0, k["from"]) if k["type"] == "incremental" else (1, k["gc_floor"])
        att = nd.get("attestation")
        out.append(NodeDelta(node_of(nd["node"]), nd["generation"], nd["heartbeat"], kind, arg,
                             [update_of(u) for u in nd["updates"]], nd["watermark_after"],
                             None if att is None else (att["watermark"], bytes.fromhex(att["sig"]))))
    return out


def message_of(j) -> Envelope:
    t = j["type"]
    if t == "Syn":
        m = Syn(MODES[j["mode"]], digest_of(j["digest"]), delta_of(j["delta"]))
    elif t == "SynAck":
        m = SynAck(digest_of(j["digest"]), delta_of(j["delta"]))
    else:
        m = Ack(delta_of(j["delta"]))
    return Envelope(j["cluster_id"], m)


class Runner:
    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.counts = {}

    def check(self, file, name, fn):
        c = self.counts.setdefault(file, [0, 0])
        try:
            problem = fn()
        except Exception as e:  # a crash is a failure of that vector
            problem = f"exception {type(e).__name__}: {e}"
            if self.verbose:
                traceback.print_exc()
        if problem:
            c[1] += 1
            print(f"FAIL {os.path.basename(file)} {name}: {problem}")
        else:
            c[0] += 1
            if self.verbose:
                print(f"ok   {os.path.basename(file)} {name}")

    # ------------------------------------------------------------ wire
    def file(self, path):
        """Checks one vector file by its format; False if the format is unknown."""
        with open(path) as fh:
            d = json.load(fh)
        fmt = d.get("format", "")
        if fmt.startswith("gossip-vectors/wire/"):
            self.wire(path, d)
        elif fmt.startswith("gossip-vectors/deltas/"):
            self.deltas(path, d)
        elif fmt.startswith("gossip-security-vectors/"):
            self.security(path, d)
        else:
            return False
        return True

    def wire(self, path, d):
        for v in d["encode"]:
            def enc(v=v):
                env = message_of(v["message"])
                got = wire.encode(env).hex()
                if got != v["hex"]:
                    return f"encode: got {got}, want {v['hex']}"
                back = wire.decode_envelope(bytes.fromhex(v["hex"])[1:])
                if back != env:
                    return f"decode: got {back}, want {env}"
                return None
            self.check(path, "encode/" + v["name"], enc)
        for v in d["receive"]:
            def recv(v=v):
                a = Adapter()
                init = a.handle({"op": "init", "kit": "gossip-kit/1", "now_ms": 0,
                                 "config": v["receiver"]})
                r = a.handle({"op": "datagram", "now_ms": 1, "from": v["from"], "hex": v["hex"]})
                if r["rejected"] != v["rejected"]:
                    return f"rejected {r['rejected']!r}, want {v['rejected']!r}"
                if v["rejected"] is not None and r["view"] != init["view"]:
                    return "a rejected datagram changed the view"
                return None
            self.check(path, "receive/" + v["name"], recv)

    # ------------------------------------------------------------ deltas
    def deltas(self, path, d):
        for v in d["vectors"]:
            def run(v=v):
                a = Adapter()
                r = None
                for req in v["requests"]:
                    r = a.handle(req)
                    if not r.get("ok"):
                        return f"request {req['op']} failed: {r}"
                got = [{"to": s["to"], "hex": s["hex"]} for s in r["sent"]]
                want = [{"to": s["to"], "hex": s["hex"]} for s in v["expect"]]
                if got != want:
                    lines = [f"sent {len(got)} datagram(s), want {len(want)}"]
                    for g, w in zip(got, want):
                        if g != w:
                            lines.append(f"  got  {g['to']} {wire.decode(bytes.fromhex(g['hex']), mtu=10**6).msg}")
                            lines.append(f"  want {w['to']} {wire.decode(bytes.fromhex(w['hex']), mtu=10**6).msg}")
                    return "\n".join(lines)
                return None
            self.check(path, v["name"], run)

    # ------------------------------------------------------------ security
    def security(self, path, d):
        for k in d["keys"]:
            def key(k=k):
                kb = bytes.fromhex(k["key"])
                if security.fingerprint(kb).hex() != k["fingerprint"]:
                    return f"fingerprint {security.fingerprint(kb).hex()}"
                if security.key_id(kb).hex() != k["key_id"]:
                    return f"key id {security.key_id(kb).hex()}"
                return None
            self.check(path, "key/" + k["fingerprint"], key)
        for f in d["frames"]:
            def frame(f=f):
                kb = bytes.fromhex(f["key"])
                got = security.seal(kb, bytes.fromhex(f["nonce"]), bytes.fromhex(f["plaintext"]),
                                    f["cluster_id"]).hex()
                if got != f["frame"]:
                    return f"sealed {got}, want {f['frame']}"
                plain = security.open_frame(security.Keyring(kb), bytes.fromhex(f["frame"]),
                                            f["cluster_id"], 10**6)
                if plain.hex() != f["plaintext"]:
                    return "opened to another plaintext"
                return None
            self.check(path, "frame/" + f["name"], frame)
        for s in d["signatures"]:
            def sig(s=s):
                signer = security.Signer(bytes.fromhex(s["seed"]))
                if signer.public.hex() != s["public_key"]:
                    return f"public key {signer.public.hex()}"
                node = node_of(s["node"])
                if s["what"] == "update":
                    ch = s["change"]
                    u = Update(s["version"], ch["tag"], ch.get("key"),
                               bytes.fromhex(ch["value"]) if "value" in ch else None)
                    data = security.update_bytes(s["cluster_id"], node, s["generation"], u)
                else:
                    data = security.attest_bytes(s["cluster_id"], node, s["generation"],
                                                 s["heartbeat"], s["watermark"])
                if data.hex() != s["signed_bytes"]:
                    return f"signed bytes {data.hex()}"
                if signer.sign(data).hex() != s["signature"]:
                    return "signature differs"
                return None
            self.check(path, f"signature/{s['what']}-{s.get('version', s.get('heartbeat'))}", sig)
        rc = d["receiver"]

        def receiver():
            keys = [bytes.fromhex(k) for k in rc["keys"]]
            addr = parse_addr(rc["addr"])
            host = str(__import__("ipaddress").ip_address(addr[:-2]))
            cfg = Config(name=rc["name"], host=host, port=int.from_bytes(addr[-2:], "big"),
                         cluster_id=rc["cluster_id"], mtu=rc["mtu"],
                         keyring=security.Keyring(keys[0], keys[1:]),
                         signing_key=bytes.fromhex(rc["seed"]),
                         roster={n: bytes.fromhex(p) for n, p in rc["roster"].items()})
            return Core(cfg, random.Random(0), 0.0)

        def signed_plain():
            sd = d["signed_datagram"]
            env = wire.decode(bytes.fromhex(sd["plaintext"]), mtu=10**6)
            if wire.encode(env).hex() != sd["plaintext"]:
                return "the signed datagram does not re-encode to the same bytes"
            security.verify_delta({n: bytes.fromhex(p) for n, p in rc["roster"].items()},
                                  env.cluster_id, env.msg.delta)
            return None
        self.check(path, "signed_datagram", signed_plain)
        for v in d["datagrams"]:
            def dg(v=v):
                core = receiver()
                before = repr(core.view)
                try:
                    core.handle_datagram(b"\x0a\x00\x00\x01\x1b\x58", bytes.fromhex(v["datagram"]), 1.0)
                    got = "accept"
                except WireError as e:
                    got = e.reason
                if got != v["expected"]:
                    return f"got {got}, want {v['expected']}"
                if got != "accept" and repr(core.view) != before:
                    return "a rejected datagram changed the view"
                if got == "accept" and not any(n.name == "a" for n in core.view):
                    return "accepted but the owner's node delta was not applied"
                return None
            self.check(path, "datagram/" + v["name"], dg)


def default_files():
    """The repository's vector files; every one of wire, deltas and security must be there."""
    root = os.path.join(HERE, "..", "vectors")
    out = []
    for name in ("wire.json", "deltas.json", "security.json"):
        f = os.path.join(root, name)
        if not os.path.exists(f):
            print(f"missing vector file {os.path.normpath(f)}")
            sys.exit(1)
        out.append(f)
    return out


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runner = Runner("--verbose" in sys.argv)
    files = args or default_files()
    if not files:
        print("no vector files found")
        return 1
    for path in files:
        if not runner.file(path):
            print(f"SKIP {path}: unknown format")
    total_f = 0
    for path, (p, f) in runner.counts.items():
        print(f"{path}: {p} passed, {f} failed")
        total_f += f
    print(f"total: {sum(p for p, _ in runner.counts.values())} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
