"""The live side of rooms, kept off the database: cached room reads, presence, reactions and the tick."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from townsquare.config import Settings
from townsquare.spaces.presence import MemoryPresence, Presence, RedisPresence
from townsquare.spaces.reactions import ReactionCounter, RedisReactionTotals, TokenBucket
from townsquare.storage import spaces as store
from townsquare.storage.spaces import Space

log = logging.getLogger("townsquare.spaces")
ROOM_CACHE_SECONDS = 1.0
TOKEN_CACHE_SECONDS = 60.0  # a revoked token may keep joining rooms (nothing else) for up to a minute


def space_event(space_id: int, kind: str, data) -> dict:
    """Build the bus message of a room event (state, speakers, listener_count or reactions)."""
    return {"event": "space", "payload": {"type": kind, "space_id": str(space_id), "data": data}}


class LiveRooms:
    """Per-process state of live rooms; presence is shared across processes when it lives in Redis."""

    def __init__(self, settings: Settings, bus, presence: Presence | None = None,
                 shared_reactions: RedisReactionTotals | None = None):
        self.settings = settings
        self.bus = bus
        self.presence = presence or MemoryPresence(settings.spaces_presence_ttl)
        self.reactions = ReactionCounter()
        self.shared_reactions = shared_reactions
        self.join_limit = TokenBucket(settings.spaces_join_rate)
        self.reaction_limit = TokenBucket(settings.spaces_reaction_rate)
        self._rooms: dict[int, tuple[float, Space | None]] = {}
        self._loading: dict[int, asyncio.Future] = {}
        self._tokens: dict[bytes, tuple[float, int]] = {}
        self._counts: dict[int, tuple[float, int]] = {}
        self._published: dict[int, int] = {}
        self._active: dict[int, float] = {}
        self._task: asyncio.Task | None = None

    async def room(self, db, space_id: int) -> Space | None:
        """Return a room read at most about a second ago; concurrent misses share one database read."""
        clock = time.monotonic()
        cached = self._rooms.get(space_id)
        if cached is not None and cached[0] > clock:
            return cached[1]
        pending = self._loading.get(space_id)
        if pending is None:
            pending = asyncio.ensure_future(self._load(db, space_id))
            self._loading[space_id] = pending
        return await asyncio.shield(pending)

    async def _load(self, db, space_id: int) -> Space | None:
        try:
            async with db.read() as conn:
                space = await store.load(conn, space_id)
        finally:
            self._loading.pop(space_id, None)
        if len(self._rooms) > 10_000:
            self._rooms.clear()
        self._rooms[space_id] = (time.monotonic() + ROOM_CACHE_SECONDS, space)
        return space

    def token_account(self, secret: str) -> int | None:
        """Return the account id a bearer token was found to belong to within the last minute (0: no account)."""
        found = self._tokens.get(hashlib.sha256(secret.encode()).digest())
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def remember_token(self, secret: str, account_id: int) -> None:
        """Remember a checked bearer token for a minute, so heartbeats and join storms skip the token lookup."""
        if len(self._tokens) > 100_000:
            self._tokens.clear()
        self._tokens[hashlib.sha256(secret.encode()).digest()] = (time.monotonic() + TOKEN_CACHE_SECONDS, account_id)

    def forget(self, space_id: int) -> None:
        """Drop the cached copy of a room after this process changed it."""
        self._rooms.pop(space_id, None)

    async def join(self, space_id: int, listener: str) -> None:
        """Count a listener in a room (also the heartbeat that keeps it counted)."""
        await self.presence.touch(space_id, listener)
        self._active[space_id] = time.monotonic() + self.settings.spaces_presence_ttl

    async def leave(self, space_id: int, listener: str) -> None:
        """Stop counting a listener."""
        await self.presence.leave(space_id, listener)

    async def listener_count(self, space_id: int, fresh: bool = False) -> int:
        """Return the approximate listener count, sampled at most every count interval unless fresh."""
        clock = time.monotonic()
        cached = self._counts.get(space_id)
        if not fresh and cached is not None and cached[0] > clock:
            return cached[1]
        try:
            value = await self.presence.count(space_id)
        except Exception:  # presence is best effort; a stale figure beats a failed page
            log.exception("presence count failed for space %s", space_id)
            return cached[1] if cached else 0
        self._counts[space_id] = (clock + self.settings.spaces_count_interval, value)
        return value

    def react(self, space_id: int, emoji: str) -> None:
        """Count a reaction; it goes out with the next tick."""
        self.reactions.add(space_id, emoji)

    async def ended(self, space_id: int) -> None:
        """Forget a room's listeners and cached state once it is over."""
        self.forget(space_id)
        self._active.pop(space_id, None)
        self._counts.pop(space_id, None)
        self._published.pop(space_id, None)
        await self.presence.clear(space_id)

    async def publish(self, space_id: int, kind: str, data) -> None:
        """Send a room event to the room's stream channel."""
        await self.bus.publish(f"space:{space_id}", space_event(space_id, kind, data))

    async def tick(self) -> None:
        """Publish one reactions message per room that got any, and listener counts that changed."""
        counts = self.reactions.take()
        if self.shared_reactions is not None:  # several processes: sum in Redis, one of them publishes
            await self.shared_reactions.push(counts)
            counts = await self.shared_reactions.take_if_leader(self.settings.spaces_reaction_tick)
        for space_id, room_counts in counts.items():
            await self.publish(space_id, "reactions", room_counts)
        clock = time.monotonic()
        for space_id, until in list(self._active.items()):
            if until <= clock:
                del self._active[space_id]
            cached = self._counts.get(space_id)
            if cached is not None and cached[0] > clock:
                continue
            count = await self.listener_count(space_id, fresh=True)
            if self._published.get(space_id) != count:
                self._published[space_id] = count
                await self.publish(space_id, "listener_count", {"listener_count": count})

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.spaces_reaction_tick)
            try:
                await self.tick()
            except Exception:
                log.exception("spaces tick failed")

    def start(self) -> None:
        """Start the background tick (called by the app's lifespan)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the tick and release presence connections."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.presence.close()
        if self.shared_reactions is not None:
            await self.shared_reactions.close()


def build_live_rooms(settings: Settings, bus) -> LiveRooms:
    """Create the live-room state: presence and reaction totals in Redis when it is configured, else in-process."""
    ttl = settings.spaces_presence_ttl
    if not settings.redis_url:
        return LiveRooms(settings, bus, MemoryPresence(ttl))
    return LiveRooms(settings, bus, RedisPresence(settings.redis_url, settings.redis_prefix, ttl),
                     RedisReactionTotals(settings.redis_url, settings.redis_prefix))
