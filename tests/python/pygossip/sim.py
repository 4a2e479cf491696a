"""A tiny deterministic driver for tests: several cores, a network of queued datagrams."""
from __future__ import annotations

import random
from typing import Dict, List, Tuple

from .core import Config, Core
from .wire import WireError


class Cluster:
    def __init__(self, n: int, seed: int = 1, **cfg):
        self.rng = random.Random(seed)
        self.now = 0.0
        self.cores: List[Core] = []
        for i in range(n):
            c = Config(name=f"n{i}", port=7000 + i, **cfg)
            self.cores.append(Core(c, random.Random(seed * 100 + i), self.now))
        seeds = [self.cores[0].id.addr]
        for c in self.cores:
            c.config.seeds = list(seeds)
        self.by_addr: Dict[bytes, Core] = {c.id.addr: c for c in self.cores}
        self.inflight: List[Tuple[bytes, bytes, bytes]] = []  # src, dst, payload
        self.down = set()

    def collect(self, core: Core) -> None:
        while True:
            t = core.poll_transmit()
            if t is None:
                break
            dst, data = t
            self.inflight.append((core.id.addr, dst, data))
        core.events.clear()

    def deliver_all(self, loss: float = 0.0) -> None:
        while self.inflight:
            src, dst, data = self.inflight.pop(0)
            if loss and self.rng.random() < loss:
                continue
            c = self.by_addr.get(dst)
            if c is None or c.id.addr in self.down:
                continue
            try:
                c.handle_datagram(src, data, self.now)
            except WireError:
                pass
            self.collect(c)

    def round(self, dt: float = 1.0, loss: float = 0.0) -> None:
        self.now += dt
        for c in self.cores:
            if c.id.addr in self.down:
                continue
            c.handle_timeout(self.now)
            self.collect(c)
        self.deliver_all(loss)

    def exchange(self, a: int, b: int) -> None:
        """One full push-pull exchange a -> b, delivered reliably."""
        ca, cb = self.cores[a], self.cores[b]
        ca.start_round_with(cb.id.addr, self.now)
        self.collect(ca)
        self.deliver_all()

    def converged(self) -> bool:
        def summary(c: Core):
            return {n: (s.generation, s.heartbeat, s.watermark, s.left,
                        {k: v for k, v in s.entries.items() if v[1] is not None})
                    for n, s in c.view.items()}
        live = [c for c in self.cores if c.id.addr not in self.down]
        first = summary(live[0])
        return all(summary(c) == first for c in live[1:]) and len(first) == len(live)
