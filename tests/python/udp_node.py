#!/usr/bin/env python3
"""A pygossip node on a real UDP socket (the shell around the sans-io core), for interop tests
with the Rust `gossipd`:

    python3 tests/python/udp_node.py --bind 127.0.0.1:0 --seed 127.0.0.1:7946 --name py \
        --set color=blue --run-for 10 --dump

Prints `ready name=N gossip=ADDR generation=G` on start; with --dump prints the final view as
JSON (node name -> key -> value) on exit.
"""
import argparse
import json
import os
import random
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pygossip.core import Config, Core  # noqa: E402
from pygossip.wire import WireError  # noqa: E402
from kit_node import fmt_addr, parse_addr  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1:0")
    ap.add_argument("--seed", action="append", default=[])
    ap.add_argument("--name", default=None)
    ap.add_argument("--cluster-id", default="default")
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE written at start")
    ap.add_argument("--run-for", type=float, default=10.0)
    ap.add_argument("--until-key", default=None, help="NODE:KEY: exit as soon as it is held")
    ap.add_argument("--dump", action="store_true")
    ap.add_argument("--compression", action="store_true",
                    help="send compressed frames (wire.md \"Compressed frame\")")
    args = ap.parse_args()
    host, _, port = args.bind.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, int(port)))
    host, port = sock.getsockname()
    name = args.name or f"py-{port}"
    t0 = time.monotonic()
    gen = int(time.time() * 1000)
    cfg = Config(name=name, host=host, port=port, cluster_id=args.cluster_id, generation=gen,
                 gossip_interval=args.interval, seeds=[parse_addr(s) for s in args.seed],
                 compression=args.compression)
    core = Core(cfg, random.Random(), 0.0)
    print(f"ready name={name} gossip={host}:{port} generation={gen}", flush=True)
    for kv in args.set:
        k, _, v = kv.partition("=")
        core.set(k, v.encode(), 0.0)
    want = args.until_key.split(":", 1) if args.until_key else None
    while True:
        now = time.monotonic() - t0
        if now >= args.run_for:
            break
        core.handle_timeout(now)
        while True:
            t = core.poll_transmit()
            if t is None:
                break
            dst, data = t
            a = fmt_addr(dst)
            h, _, p = a.rpartition(":")
            sock.sendto(data, (h.strip("[]"), int(p)))
        core.events.clear()
        if want and any(n.name == want[0] and want[1] in s.entries
                        for n, s in core.view.items()):
            break
        timeout = max(0.0, min(core.poll_timeout(), args.run_for) - now)
        r, _, _ = select.select([sock], [], [], timeout)
        if r:
            data, src = sock.recvfrom(65536)
            try:
                core.handle_datagram(parse_addr(f"{src[0]}:{src[1]}"), data,
                                     time.monotonic() - t0)
            except WireError as e:
                print(f"rejected from {src}: {e}", file=sys.stderr)
    if args.dump:
        view = {n.name: {k: (v.decode(errors="replace") if v is not None else None)
                         for k, (ver, v) in s.entries.items()} for n, s in core.view.items()}
        status = {n.name: s.status for n, s in core.view.items()}
        print(json.dumps({"view": view, "status": status, "rejected":
                          {k: v for k, v in core.stats.rejected.items() if v},
                          "compressed_in": core.stats.compressed_in,
                          "compressed_out": core.stats.compressed_out}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
