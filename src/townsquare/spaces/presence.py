"""Who is listening: listener presence with expiry, in-process or in Redis, counted by sampling."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

log = logging.getLogger("townsquare.spaces")


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
    """Presence shared by every process: one sorted set per room, scored by expiry time.

    Heartbeats are buffered and written in one pipeline every FLUSH_DELAY seconds, so a join
    storm costs Redis a few round trips per tick instead of one per join.
    """

    FLUSH_DELAY = 0.05

    def __init__(self, redis_url: str, prefix: str, ttl: float):
        import redis.asyncio as redis  # imported here so the embedded default never needs it

        pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=32, timeout=5)
        self.redis = redis.Redis(connection_pool=pool)
        self.prefix = prefix
        self.ttl = ttl
        self._pending: dict[int, dict[str, float]] = {}
        self._flusher: asyncio.Task | None = None

    def key(self, space_id: int) -> str:
        """Return the Redis key of a room's listener set."""
        return f"{self.prefix}space:{space_id}:listeners"

    async def touch(self, space_id: int, listener: str) -> None:
        """Count this listener in this room until the presence TTL runs out (written with the next flush)."""
        self._pending.setdefault(space_id, {})[listener] = time.time() + self.ttl
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.FLUSH_DELAY)
        try:
            await self.flush()
        except Exception:  # presence is best effort; the listener's next heartbeat tries again
            log.exception("presence flush to Redis failed")

    async def flush(self) -> None:
        """Write the buffered heartbeats in one pipeline."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        pipe = self.redis.pipeline(transaction=False)
        for space_id, members in pending.items():
            key = self.key(space_id)
            pipe.zadd(key, members)
            pipe.expire(key, int(self.ttl * 2) + 1)  # an abandoned room's set disappears by itself
        await pipe.execute()

    async def leave(self, space_id: int, listener: str) -> None:
        """Stop counting this listener."""
        self._pending.get(space_id, {}).pop(listener, None)
        await self.redis.zrem(self.key(space_id), listener)

    async def count(self, space_id: int) -> int:
        """Count the listeners whose presence has not expired (drops the expired ones)."""
        await self.flush()
        key = self.key(space_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.zcard(key)
        _, total = await pipe.execute()
        return int(total)

    async def clear(self, space_id: int) -> None:
        """Forget every listener of a room."""
        self._pending.pop(space_id, None)
        await self.redis.delete(self.key(space_id))

    async def close(self) -> None:
        """Write what is buffered and close the Redis connection pool."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        try:
            await self.flush()
        finally:
            await self.redis.aclose()
