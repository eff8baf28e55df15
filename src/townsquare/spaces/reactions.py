"""Listener reactions: a small set of emoji, summed per room between ticks so a crowd sends few messages."""

from __future__ import annotations

import time

REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "👏", "🔥", "💯")
ALIASES = {"+1": "👍", "heart": "❤️", "laugh": "😂", "wow": "😮", "sad": "😢", "clap": "👏", "fire": "🔥", "100": "💯"}


def normalise(name: str) -> str | None:
    """Return the emoji a reaction name stands for, or None when it is not one of the allowed ones."""
    name = name.strip()
    if name in REACTIONS:
        return name
    if name + "\ufe0f" in REACTIONS:  # ❤ sent without the variation selector
        return name + "\ufe0f"
    return ALIASES.get(name.lower())


class ReactionCounter:
    """Counts reactions per room until the next tick takes them."""

    def __init__(self) -> None:
        self.pending: dict[int, dict[str, int]] = {}

    def add(self, space_id: int, emoji: str, count: int = 1) -> None:
        """Count one reaction in a room."""
        room = self.pending.setdefault(space_id, {})
        room[emoji] = room.get(emoji, 0) + count

    def take(self) -> dict[int, dict[str, int]]:
        """Return the counts gathered since the last call and start afresh."""
        taken, self.pending = self.pending, {}
        return taken


class TokenBucket:
    """A rate limit: up to `rate` actions per second with bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None):
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def allow(self, cost: float = 1.0) -> bool:
        """Take a token if one is available; False means the caller should shed the request."""
        if self.rate <= 0:
            return True  # zero or less means unlimited
        clock = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (clock - self.stamp) * self.rate)
        self.stamp = clock
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


class RedisReactionTotals:
    """Reaction counts summed across server processes in Redis, published by one process per tick.

    Every process adds its tick's counts to a per-room hash; the process that wins the tick's lock
    takes the hashes and publishes, so a room gets one reactions message per tick however many
    processes its listeners reach.
    """

    def __init__(self, redis_url: str, prefix: str):
        import redis.asyncio as redis  # imported here so the embedded default never needs it

        pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=8, timeout=5)
        self.redis = redis.Redis(connection_pool=pool)
        self.prefix = prefix
        self.rooms_key = f"{prefix}spaces:reacting"
        self.lock_key = f"{prefix}spaces:reactions-lock"

    def key(self, space_id: int) -> str:
        """Return the Redis key of a room's pending reaction counts."""
        return f"{self.prefix}space:{space_id}:reactions"

    async def push(self, counts: dict[int, dict[str, int]]) -> None:
        """Add this process's counts for the tick to the shared totals."""
        if not counts:
            return
        pipe = self.redis.pipeline(transaction=False)
        for space_id, emojis in counts.items():
            for emoji, n in emojis.items():
                pipe.hincrby(self.key(space_id), emoji, n)
            pipe.expire(self.key(space_id), 60)
            pipe.sadd(self.rooms_key, space_id)
        await pipe.execute()

    async def take_if_leader(self, tick: float) -> dict[int, dict[str, int]]:
        """Take every room's totals when this process wins this tick's lock; else return nothing."""
        if not await self.redis.set(self.lock_key, b"1", nx=True, px=max(1, int(tick * 800))):
            return {}
        rooms = [int(r) for r in await self.redis.smembers(self.rooms_key)]
        taken: dict[int, dict[str, int]] = {}
        for space_id in rooms:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hgetall(self.key(space_id))
            pipe.delete(self.key(space_id))
            pipe.srem(self.rooms_key, space_id)
            found, _, _ = await pipe.execute()
            if found:
                taken[space_id] = {k.decode(): int(v) for k, v in found.items()}
        return taken

    async def close(self) -> None:
        """Close the Redis connection pool."""
        await self.redis.aclose()
