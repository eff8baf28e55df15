"""Who is listening: listener presence with expiry, in-process or in Redis, counted by sampling."""

from __future__ import annotations

import time
from typing import Protocol


class Presence(Protocol):
    """Listener presence per room: a heartbeat keeps a listener counted until its expiry."""

    async def touch(self, space_id: int, listener: str) -> None:
        """Count this listener in this room until the presence TTL runs out."""

    async def leave(self, space_id: int, listener: str) -> None:
        """Stop counting this listener."""

    async def count(self, space_id: int) -> int:
        """Count the listeners whose presence has not expired (drops the expired ones)."""

    async def clear(self, space_id: int) -> None:
        """Forget every listener of a room."""

    async def close(self) -> None:
        """Release connections."""


class MemoryPresence:
    """Presence in this process's memory: a dict of listener -> expiry per room."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self.rooms: dict[int, dict[str, float]] = {}

    async def touch(self, space_id: int, listener: str) -> None:
        """Count this listener in this room until the presence TTL runs out."""
        self.rooms.setdefault(space_id, {})[listener] = time.monotonic() + self.ttl

    async def leave(self, space_id: int, listener: str) -> None:
        """Stop counting this listener."""
        self.rooms.get(space_id, {}).pop(listener, None)

    async def count(self, space_id: int) -> int:
        """Count the listeners whose presence has not expired (drops the expired ones)."""
        room = self.rooms.get(space_id)
        if not room:
            return 0
        clock = time.monotonic()
        expired = [k for k, until in room.items() if until <= clock]
        for k in expired:
            del room[k]
        return len(room)

    async def clear(self, space_id: int) -> None:
        """Forget every listener of a room."""
        self.rooms.pop(space_id, None)

    async def close(self) -> None:
        """Nothing to release."""


class RedisPresence:
    """Presence shared by every process: one sorted set per room, scored by expiry time."""

    def __init__(self, redis_url: str, prefix: str, ttl: float):
        import redis.asyncio as redis  # imported here so the embedded default never needs it

        self.redis = redis.from_url(redis_url)
        self.prefix = prefix
        self.ttl = ttl

    def key(self, space_id: int) -> str:
        """Return the Redis key of a room's listener set."""
        return f"{self.prefix}space:{space_id}:listeners"

    async def touch(self, space_id: int, listener: str) -> None:
        """Count this listener in this room until the presence TTL runs out."""
        key = self.key(space_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {listener: time.time() + self.ttl})
        pipe.expire(key, int(self.ttl * 2) + 1)  # an abandoned room's set disappears by itself
        await pipe.execute()

    async def leave(self, space_id: int, listener: str) -> None:
        """Stop counting this listener."""
        await self.redis.zrem(self.key(space_id), listener)

    async def count(self, space_id: int) -> int:
        """Count the listeners whose presence has not expired (drops the expired ones)."""
        key = self.key(space_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.zcard(key)
        _, total = await pipe.execute()
        return int(total)

    async def clear(self, space_id: int) -> None:
        """Forget every listener of a room."""
        await self.redis.delete(self.key(space_id))

    async def close(self) -> None:
        """Close the Redis connection pool."""
        await self.redis.aclose()
