#!/usr/bin/env python3
"""Conformance-kit adapter (docs/spec/conformance-kit.md, gossip-kit/1): one pygossip node
driven by JSON lines on stdin, one response line per request on stdout.

    python3 tests/python/kit_node.py            # correct node
    PYGOSSIP_BUG=apply-past-gap python3 tests/python/kit_node.py   # a broken variant
"""
import ipaddress
import json
import os
import random
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pygossip import wire  # noqa: E402
from pygossip.core import Config, ConfigError, Core, WriteError  # noqa: E402
from pygossip.wire import Limits, NodeId, WireError  # noqa: E402

KIT = "gossip-kit/1"

REJECTION_NAMES = {
    "oversize": "Oversize", "truncated": "Truncated", "unknown_version": "UnknownVersion",
    "malformed": "Malformed", "wrong_cluster": "WrongCluster", "invalid": "Invalid",
    "limit_exceeded": "LimitExceeded",
    # security.md reasons
    "no_key": "NoKey", "decrypt_failed": "DecryptFailed", "unencrypted": "Unencrypted",
    "unsigned": "Unsigned", "unknown_signer": "UnknownSigner", "bad_signature": "BadSignature",
}


class KitError(Exception):
    pass


def parse_addr(s: str) -> bytes:
    """"127.0.0.1:7001" or "[::1]:7001" -> wire address bytes."""
    if not isinstance(s, str):
        raise KitError(f"bad address {s!r}")
    try:
        if s.startswith("["):
            host, _, port = s[1:].partition("]:")
        else:
            host, _, port = s.rpartition(":")
        ip = ipaddress.ip_address(host)
        p = int(port)
        if not 0 <= p < 65536:
            raise ValueError
    except ValueError:
        raise KitError(f"bad address {s!r}") from None
    return ip.packed + p.to_bytes(2, "big")


def fmt_addr(b: bytes) -> str:
    ip = ipaddress.ip_address(b[:-2])
    port = int.from_bytes(b[-2:], "big")
    return f"[{ip}]:{port}" if len(b) == 18 else f"{ip}:{port}"


def node_id(obj) -> NodeId:
    if not isinstance(obj, dict) or "name" not in obj or "addr" not in obj:
        raise KitError("node must be {name, addr}")
    return NodeId(obj["name"], parse_addr(obj["addr"]))


def ms(v):
    return None if v is None else v / 1000.0


class Adapter:
    def __init__(self):
        self.core = None

    def make_config(self, c: dict) -> Config:
        addr = parse_addr(c["gossip_addr"])
        ip = str(ipaddress.ip_address(addr[:-2]))
        port = int.from_bytes(addr[-2:], "big")
        kw = dict(name=c["name"], host=ip, port=port)
        simple = {"cluster_id": "cluster_id", "generation": "generation", "mode": "mode",
                  "fanout": "fanout", "mtu": "mtu", "max_digest_len": "max_digest_len",
                  "rotate_delta_start": "rotate_delta_start", "phi_threshold": "phi_threshold",
                  "phi_window": "phi_window", "compression": "compression"}
        for k, attr in simple.items():
            if k in c and c[k] is not None:
                kw[attr] = c[k]
        if "max_delta_updates" in c:
            kw["max_delta_updates"] = c["max_delta_updates"]
        durations = {"gossip_interval_ms": "gossip_interval", "dead_after_ms": "dead_after",
                     "dead_grace_period_ms": "dead_grace",
                     "tombstone_grace_period_ms": "tombstone_grace",
                     "forgotten_retention_ms": "forgotten_retention",
                     "min_std_dev_ms": "min_std_dev",
                     "initial_interval_estimate_ms": "initial_interval"}
        for k, attr in durations.items():
            if c.get(k) is not None:
                kw[attr] = ms(c[k])
        if isinstance(c.get("limits"), dict):
            kw["limits"] = Limits(**{k: v for k, v in c["limits"].items()
                                     if k in Limits.__dataclass_fields__})
        kw["seeds"] = [parse_addr(s) for s in c.get("seeds", [])]
        return Config(**kw)

    def view(self):
        core = self.core
        nodes = []
        for nid in sorted(core.view):
            st = core.view[nid]
            nodes.append({
                "name": nid.name, "addr": fmt_addr(nid.addr), "generation": st.generation,
                "heartbeat": st.heartbeat, "watermark": st.watermark, "gc_floor": st.gc_floor,
                "status": st.status, "left": st.left,
                "entries": {k: {"version": v, "value": None if val is None else val.hex()}
                            for k, (v, val) in sorted(st.entries.items())},
            })
        forgotten = [{"name": nid.name, "addr": fmt_addr(nid.addr), "generation": r.generation,
                      "heartbeat": r.heartbeat} for nid, r in sorted(core.forgotten.items())]
        return {"nodes": nodes, "forgotten": forgotten}

    def sent(self):
        out = []
        while True:
            t = self.core.poll_transmit()
            if t is None:
                break
            out.append({"to": fmt_addr(t[0]), "hex": t[1].hex()})
        events = []
        while True:
            e = self.core.poll_event()
            if e is None:
                break
            events.append([e[0]] + [str(x) if isinstance(x, NodeId) else
                                    (x.hex() if isinstance(x, bytes) else x) for x in e[1:]])
        return out, events

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        if "now_ms" not in req:
            raise KitError("missing now_ms")
        now = req["now_ms"] / 1000.0
        if op == "init":
            if req.get("kit") != KIT:
                raise KitError(f"unsupported kit version {req.get('kit')!r}")
            cfg = self.make_config(req["config"])
            self.core = Core(cfg, random.Random(cfg.generation), now)
            self.sent()
            return {"ok": True, "kit": KIT, "sent": [], "view": self.view()}
        if self.core is None:
            raise KitError("init not yet received")
        core = self.core
        res = {"ok": True}
        if op == "datagram":
            src = parse_addr(req["from"])
            data = bytes.fromhex(req["hex"])
            try:
                core.handle_datagram(src, data, now)
                res["rejected"] = None
            except WireError as e:
                res["rejected"] = REJECTION_NAMES.get(e.reason, e.reason)
        elif op == "gossip":
            core.start_round_with(parse_addr(req["peer"]), now)
        elif op == "tick":
            core.handle_timeout(now)
        elif op in ("set", "delete", "leave"):
            try:
                if op == "set":
                    v = core.set(req["key"], bytes.fromhex(req["value"]), now)
                elif op == "delete":
                    v = core.delete(req["key"], now)
                else:
                    v = core.leave(now)
                res["version"] = v
            except WriteError as e:
                res["version"] = None
                res["refused"] = str(e)
        elif op == "convict":
            res["applied"] = core.convict(node_id(req["node"]), now)
        elif op == "forget":
            res["applied"] = core.forget(node_id(req["node"]), now)
        elif op == "collect_tombstones":
            res["collected"] = core.collect_tombstones(node_id(req["node"]), now)
        elif op == "view":
            pass
        else:
            raise KitError(f"unknown op {op!r}")
        res["sent"], res["events"] = self.sent()
        if os.environ.get("PYGOSSIP_DEBUG"):
            res["debug"] = {"delta_cursor": str(core.delta_cursor), "digest_cursor": str(core.digest_cursor)}
        res["view"] = self.view()
        return res


def main() -> int:
    adapter = Adapter()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise KitError("request is not an object")
            res = adapter.handle(req)
        except (KitError, KeyError, ValueError, TypeError, ConfigError) as e:
            res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        except Exception as e:  # an internal failure is a kit error, never a crash
            traceback.print_exc(file=sys.stderr)
            res = {"ok": False, "error": f"internal: {type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(res, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
