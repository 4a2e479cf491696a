"""Phi-accrual failure detector (protocol.md §7, implementation.md "Failure detection")."""
from __future__ import annotations

import math
from collections import deque
from typing import Optional


class PhiDetector:
    """Intervals between heartbeat *increases*; normal distribution with the logistic
    approximation of its CDF; sigma >= min_std_dev; before any interval, mean =
    initial_interval and sigma = mean / 4."""

    __slots__ = ("intervals", "last", "initial", "min_std")

    def __init__(self, now: float, window: int, initial_interval: float, min_std_dev: float):
        self.intervals: deque = deque(maxlen=window)
        self.last = now
        self.initial = initial_interval
        self.min_std = min_std_dev

    def heartbeat(self, now: float) -> None:
        if now > self.last:
            self.intervals.append(now - self.last)
        self.last = max(self.last, now)

    def phi(self, now: float, initial: Optional[float] = None,
            min_std: Optional[float] = None) -> float:
        """docs/spec/node.md §7 (`initial`, `min_std`: the effective settings, if given)."""
        initial = self.initial if initial is None else initial
        min_std = self.min_std if min_std is None else min_std
        n = len(self.intervals)
        elapsed = max(0.0, now - self.last)
        if n:
            total = sum(self.intervals)
            if elapsed * n <= total:
                return 0.0
            mean = total / n
            std = math.sqrt(max(0.0, sum(x * x for x in self.intervals) / n - mean * mean))
        else:
            mean = initial
            std = mean / 4
        std = max(std, min_std, 0.001)
        y = (elapsed - mean) / std
        t = -y * (1.5976 + 0.070566 * y * y)
        try:
            e = math.exp(t)
        except OverflowError:
            e = math.inf
        if elapsed > mean:
            p = e / (1.0 + e) if not math.isinf(e) else 1.0
        else:
            p = 1.0 - 1.0 / (1.0 + e) if not math.isinf(e) else 1.0
        if not (p > 0.0 and p >= 2.2250738585072014e-308) or math.isnan(p):
            return math.inf
        return -math.log10(p)
