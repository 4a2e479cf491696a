"""Phi-accrual failure detector (protocol.md §7, implementation.md "Failure detection")."""
from __future__ import annotations

import math
from collections import deque


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

    def phi(self, now: float) -> float:
        if self.intervals:
            n = len(self.intervals)
            mean = sum(self.intervals) / n
            var = sum((x - mean) ** 2 for x in self.intervals) / n
            std = math.sqrt(var)
        else:
            mean = self.initial
            std = mean / 4
        std = max(std, self.min_std)
        elapsed = max(0.0, now - self.last)
        y = (elapsed - mean) / std
        t = -y * (1.5976 + 0.070566 * y * y)
        if t > 700:
            e = math.inf
        else:
            e = math.exp(t)
        if elapsed > mean:
            if e == 0.0:
                return math.inf
            if math.isinf(e):
                return 0.0
            return -math.log10(e / (1.0 + e))
        if math.isinf(e):
            return 0.0
        p = 1.0 - 1.0 / (1.0 + e)
        return -math.log10(p) if p > 0 else math.inf
