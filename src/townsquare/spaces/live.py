"""The live side of rooms, kept off the database: cached room reads, presence, reactions and the tick."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from datetime import timedelta
from functools import partial

from townsquare.config import Settings
from townsquare.core.clock import now
from townsquare.core.tasks import cancel_requested
from townsquare.spaces.presence import MemoryPresence, Presence, RedisPresence
from townsquare.spaces.reactions import ReactionCounter, RedisReactionTotals, TokenBucket
from townsquare.storage import spaces as store
from townsquare.storage.spaces import Space

log = logging.getLogger("townsquare.spaces")
ROOM_CACHE_SECONDS = 1.0
DUE_CACHE_SECONDS = 0.25  # a scheduled room past its start time may go live any moment: re-read it sooner
ROOMS_CHANNEL = "spaces:rooms"  # "this room changed": every process drops its cached copy at once
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
        self._generation: dict[int, int] = {}  # bumped by every change, so a read begun before it is not cached
        self._watcher: asyncio.Task | None = None
        self._tokens: dict[bytes, tuple[float, int]] = {}
        self._counts: dict[int, tuple[float, int]] = {}
        self._published: dict[int, int] = {}
        self._active: dict[int, float] = {}
        self._task: asyncio.Task | None = None
        self._closing = False  # set by close(): the tick loop ends

    async def room(self, db, space_id: int) -> Space | None:
        """Return a room read at most about a second ago; concurrent misses share one database read."""
        space = None
        for _ in range(2):  # a change while we waited: read again, so nobody is answered from before it
            generation = self._generation.get(space_id, 0)
            cached = self._rooms.get(space_id)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            pending = self._loading.get(space_id)
            if pending is None:
                pending = asyncio.ensure_future(self._load(db, space_id, generation))
                self._loading[space_id] = pending
                pending.add_done_callback(partial(self._loaded, space_id))
            space = await asyncio.shield(pending)
            if self._generation.get(space_id, 0) == generation:
                return space
        return space

    def cached(self, space_id: int) -> tuple[bool, Space | None]:
        """Return (found, room) from the cache alone, without any I/O (for the admission middleware)."""
        cached = self._rooms.get(space_id)
        if cached is not None and cached[0] > time.monotonic():
            return True, cached[1]
        return False, None

    def _loaded(self, space_id: int, future: asyncio.Future) -> None:
        if self._loading.get(space_id) is future:
            del self._loading[space_id]

    async def _load(self, db, space_id: int, generation: int) -> Space | None:
        async with db.read() as conn:
            space = await store.load(conn, space_id)
        if self._generation.get(space_id, 0) != generation:
            return space  # changed while we read: do not cache what may be from before the change
        if len(self._rooms) > 10_000:  # made-up room ids (a flood) fill it: drop those first, the real rooms stay
            self._rooms = {k: v for k, v in self._rooms.items() if v[1] is not None}
            if len(self._rooms) > 5_000:
                self._rooms.clear()
        ttl = ROOM_CACHE_SECONDS
        if space is not None and space.state == "scheduled" and (
                space.scheduled_at is None or space.scheduled_at <= now() + timedelta(seconds=5)):
            ttl = DUE_CACHE_SECONDS
        self._rooms[space_id] = (time.monotonic() + ttl, space)
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
        """Drop the cached copy of a room in this process (reads already under way are not cached either)."""
        self._rooms.pop(space_id, None)
        self._loading.pop(space_id, None)
        self._generation[space_id] = self._generation.get(space_id, 0) + 1
        if len(self._generation) > 100_000:
            self._generation.clear()  # made-up ids must not grow this; a stale read is then cached once more at most

    async def changed(self, space_id: int) -> None:
        """Drop the cached copy of a room here and, through the bus, in every other process (after a committed change)."""
        self.forget(space_id)
        try:
            await self.bus.publish(ROOMS_CHANNEL, {"space_id": space_id})
        except Exception:  # the others' copies then expire within a second, as before
            log.exception("could not announce a change of space %s", space_id)

    async def watch(self) -> None:
        """Subscribe to room changes made by other processes (idempotent; start() calls it)."""
        if self._watcher is not None:
            return
        sub = await self.bus.subscribe([ROOMS_CHANNEL])
        self._watcher = asyncio.get_running_loop().create_task(self._watch(sub))

    async def _watch(self, sub) -> None:
        try:
            async for _, message in sub:
                space_id = message.get("space_id") if isinstance(message, dict) else None
                if isinstance(space_id, int):
                    self.forget(space_id)
        finally:
            await sub.close()

    async def join(self, space_id: int, listener: str, waiting: bool = False) -> None:
        """Count a listener in a room, or one waiting for it to start (also the heartbeat that keeps it counted)."""
        await self.presence.touch(space_id, listener)
        if not waiting:  # only live rooms publish listener counts
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
        """Forget a room's listeners and cached state once it is over (in every process)."""
        await self.changed(space_id)
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
        while not self._closing:  # as well as the cancel: a cancellation swallowed in a call must not loop for ever
            await asyncio.sleep(self.settings.spaces_reaction_tick)
            try:
                await self.tick()
            except Exception as exc:
                if cancel_requested():  # close() cancelled the tick mid-call: end, do not go round again
                    raise asyncio.CancelledError from exc
                log.exception("spaces tick failed")

    def start(self) -> None:
        """Start the background tick (called by the app's lifespan)."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self._run())
            self._starting = asyncio.get_running_loop().create_task(self.watch())  # referenced until done

    async def close(self) -> None:
        """Stop the tick and the change watcher, and release presence connections."""
        self._closing = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
            self._watcher = None
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
