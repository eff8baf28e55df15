"""Fixed-window counters: in process (embedded default) or in Redis (shared by every process)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from townsquare.ratelimit.rules import Rule

log = logging.getLogger("townsquare.ratelimit")


@dataclass(frozen=True)
class Decision:
    """The state of one counter after a hit."""

    rule: Rule
    count: int
    reset_at: float  # epoch seconds when the window ends

    @property
    def allowed(self) -> bool:
        """Whether the hit stayed within the limit."""
        return self.count <= self.rule.limit

    @property
    def remaining(self) -> int:
        """How many hits are left in this window."""
        return max(0, self.rule.limit - self.count)


def _window(rule: Rule, now: float) -> tuple[int, float]:
    """Return the window number for now and the time it ends (windows align to the epoch, as Rack::Attack's)."""
    number = int(now // rule.period)
    return number, float((number + 1) * rule.period)


class RateLimiter(Protocol):
    """Counts hits against rules; one call counts a request against all of its rules."""

    async def hit(self, checks: list[tuple[Rule, str]]) -> list[Decision]:
        """Count one hit for each (rule, key) and return the resulting decisions, in order."""

    async def close(self) -> None:
        """Release connections."""


class MemoryRateLimiter:
    """Counters in a dict: right for one process; forgotten on restart."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: dict[tuple[str, str, int], tuple[int, float]] = {}
        self._next_sweep = 0.0

    async def hit(self, checks: list[tuple[Rule, str]]) -> list[Decision]:
        """Count one hit for each (rule, key) and return the resulting decisions, in order."""
        now = self.clock()
        if now >= self._next_sweep:
            self.counts = {k: v for k, v in self.counts.items() if v[1] > now}
            self._next_sweep = now + 60
        out = []
        for rule, key in checks:
            number, reset_at = _window(rule, now)
            slot = (rule.name, key, number)
            count = self.counts.get(slot, (0, reset_at))[0] + 1
            self.counts[slot] = (count, reset_at)
            out.append(Decision(rule, count, reset_at))
        return out

    async def close(self) -> None:
        """Nothing to release."""


class RedisRateLimiter:
    """Counters in Redis (INCR + EXPIRE in one MULTI), so every process shares the same limits."""

    def __init__(self, url: str, prefix: str, clock: Callable[[], float] = time.time) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url)
        self.prefix = prefix
        self.clock = clock

    async def hit(self, checks: list[tuple[Rule, str]]) -> list[Decision]:
        """Count one hit for each (rule, key) in one round trip and return the decisions, in order."""
        if not checks:
            return []
        now = self.clock()
        windows = [_window(rule, now) for rule, _ in checks]
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for (rule, key), (number, _) in zip(checks, windows):
                    name = f"{self.prefix}ratelimit:{rule.name}:{key}:{number}"
                    pipe.incr(name)
                    pipe.expire(name, rule.period + 5)
                results = await pipe.execute()
        except Exception:  # an unreachable Redis must not take the whole API down: fail open, loudly
            log.warning("rate limiter: Redis unavailable, request not counted", exc_info=True)
            return [Decision(rule, 0, reset_at) for (rule, _), (_, reset_at) in zip(checks, windows)]
        return [Decision(rule, int(results[2 * i]), windows[i][1]) for i, (rule, _) in enumerate(checks)]

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()
