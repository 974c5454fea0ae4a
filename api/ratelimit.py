"""A token bucket per caller, shared by the threads of one API process.

Each bucket holds up to `per_minute` tokens and refills continuously at per_minute / 60
tokens a second, so a client may burst up to its minute's allowance and then proceeds at the
steady rate. One lock guards the table: the critical section is a few arithmetic operations,
far shorter than any request. Full, idle buckets are dropped when the table grows, since a
full bucket is what a new one would be.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

MAX_BUCKETS = 10_000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until one token is back (0 when allowed)


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> Decision:
        """Takes one token from `caller`'s bucket, or says how long to wait for one."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._prune(now)
                bucket = self._buckets[caller] = _Bucket(float(self.per_minute), now)
            else:
                elapsed = max(0.0, now - bucket.updated)  # a clock stepping back adds nothing
                bucket.tokens = min(float(self.per_minute), bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return Decision(True, self.per_minute, int(bucket.tokens), 0)
            wait = math.ceil((1.0 - bucket.tokens) / self.rate)
            return Decision(False, self.per_minute, 0, max(1, wait))

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + max(0.0, now - b.updated) * self.rate >= self.per_minute
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= MAX_BUCKETS:  # still full of busy callers: forget the oldest
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in oldest[: len(oldest) // 2]:
                del self._buckets[key]
