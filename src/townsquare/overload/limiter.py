"""An adaptive concurrency limit (the gradient of Envoy's filter and Netflix's Gradient2), with criticality shares.

The limit L is the number of requests the process works on at once. Every window the p90 latency of the
requests that finished is compared with the baseline min RTT (measured now and then at minimum
concurrency, as Envoy does; in one event loop even that window still holds the tail of the queue it
follows, so a re-measured baseline may rise by at most `max_rise` at a time, while a lower one is taken at
once): gradient = (min_rtt * (1 + buffer)) / p90, clamped to [0.5, 2], and
L <- gradient * L + sqrt(L). Latency near the baseline grows L by about sqrt(L) per window; queueing
(latency far above it) halves it at most per window. Lower classes only get a share of L, so as the
work in flight rises they are shed first, while the critical class is never refused.
"""

from __future__ import annotations

import math
import random
import time
from typing import Callable


class GradientLimiter:
    """Concurrency limit adjusted from measured latency against a min-RTT baseline."""

    def __init__(self, initial: float = 64, min_limit: float = 32, max_limit: float = 2000, window: float = 0.1,
                 min_samples: int = 8, buffer: float = 0.25, recalc_every: float = 10.0, min_rtt_floor: float = 0.0005,
                 max_rise: float = 1.25, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None):
        self.limit = float(initial)
        self.min_limit, self.max_limit = float(min_limit), float(max_limit)
        self.window, self.min_samples, self.buffer = window, min_samples, buffer
        self.recalc_every, self.min_rtt_floor, self.max_rise = recalc_every, min_rtt_floor, max_rise
        self.clock, self.rng = clock, rng or random.Random()
        self.inflight = 0
        self.min_rtt: float | None = None
        self.last_p90: float | None = None
        self._samples: list[float] = []
        self._window_end = clock() + window
        self._measuring = True  # the first windows measure the baseline at minimum concurrency
        self._held_limit = self.limit
        self._next_recalc = 0.0

    def effective_limit(self) -> float:
        """The limit in force now (the minimum while the baseline is being measured)."""
        return self.min_limit if self._measuring else self.limit

    def has_room(self, share: float = 1.0) -> bool:
        """Whether a request of a class with this share of the limit would be admitted now."""
        return self.inflight < max(1.0, self.effective_limit() * share)

    def try_acquire(self, share: float = 1.0, critical: bool = False) -> bool:
        """Count a request in if its class has room (critical ones always); False means shed it."""
        if not critical and not self.has_room(share):
            return False
        self.inflight += 1
        return True

    def release(self, latency: float, sample: bool = True) -> None:
        """Count a request out with its latency in seconds (sample=False: not a sample, e.g. a rare slow control)."""
        self.inflight = max(0, self.inflight - 1)
        if not sample:
            return
        self._samples.append(latency)
        now = self.clock()
        if now >= self._window_end and len(self._samples) >= self.min_samples:
            self._update(now)

    def _update(self, now: float) -> None:
        samples, self._samples = sorted(self._samples), []
        self._window_end = now + self.window
        p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
        self.last_p90 = p90
        if self._measuring:  # at minimum concurrency the latency is the work itself, not queueing...
            measured = max(self.min_rtt_floor, samples[len(samples) // 2])
            # ...except for what was queued before the window: measured in a saturated process (the night bench
            # saw 0.8 ms become 103 ms in one re-measurement), the baseline would let the limit grow to its
            # maximum and shedding stop. So it rises by max_rise per re-measurement at most: a machine that
            # really got slower is followed within a few of them.
            self.min_rtt = measured if self.min_rtt is None else min(measured, self.min_rtt * self.max_rise)
            self._measuring = False
            self.limit = self._held_limit
            self._next_recalc = now + self.recalc_every * (0.9 + 0.2 * self.rng.random())
            return
        if now >= self._next_recalc:  # re-measure the baseline: the machine's speed drifts (and others share it)
            self._held_limit = self.limit
            self._measuring = True
            return
        assert self.min_rtt is not None
        gradient = min(2.0, max(0.5, self.min_rtt * (1 + self.buffer) / p90))
        self.limit = min(self.max_limit, max(self.min_limit, gradient * self.limit + math.sqrt(self.limit)))

    def snapshot(self) -> dict:
        """The limiter's state for /metrics and tests."""
        return {"limit": self.effective_limit(), "inflight": self.inflight, "min_rtt": self.min_rtt, "p90": self.last_p90}
