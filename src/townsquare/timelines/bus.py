"""Bus: publish/subscribe of real-time events, in-process (embedded) or over Redis (scale-out).

Channels are plain strings, named like Mastodon's: ``timeline:<account_id>``,
``timeline:<account_id>:notification``, ``timeline:public``, ``timeline:public:local``,
``timeline:hashtag:<name>``, ``timeline:hashtag:<name>:local``, ``timeline:list:<id>``,
``timeline:direct:<account_id>``, ``space:<id>``. A message is a dict that must be
JSON-serialisable, usually ``{"event": "update", "payload": {...}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import AsyncIterator, Iterable, Protocol

import orjson

from townsquare.core.tasks import cancel_requested

log = logging.getLogger("townsquare.bus")

QUEUE_LIMIT = 1000
PUBLISH_PIPELINE = 5000  # PUBLISH commands per round trip in RedisBus.publish_many


class Subscription(Protocol):
    """A live subscription: iterate it for (channel, message) pairs; change channels at will."""

    async def add(self, channels: Iterable[str]) -> None:
        """Start receiving these channels too."""

    async def remove(self, channels: Iterable[str]) -> None:
        """Stop receiving these channels."""

    def __aiter__(self) -> AsyncIterator[tuple[str, dict]]:
        """Yield (channel, message) pairs as they are published."""

    async def close(self) -> None:
        """Stop receiving anything; idempotent."""


class Bus(Protocol):
    """Where real-time events go: published once, delivered to every current subscriber."""

    async def publish(self, channel: str, message: dict) -> None:
        """Deliver a message to everyone subscribed to the channel (fire and forget)."""

    async def subscribe(self, channels: Iterable[str] = ()) -> Subscription:
        """Open a subscription to these channels."""

    async def close(self) -> None:
        """Release connections."""


class _QueueSubscription:
    """A subscription fed through a bounded queue; a slow reader drops old messages, never blocks publishers."""

    def __init__(self, bus: "_FanoutBase") -> None:
        self.bus = bus
        self.channels: set[str] = set()
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self.closed = False

    def deliver(self, channel: str, message: dict) -> None:
        """Queue one message; when full, drop the oldest so the reader catches up with the present."""
        if self.closed:
            return
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait((channel, message))

    async def add(self, channels: Iterable[str]) -> None:
        """Start receiving these channels too."""
        new = set(channels) - self.channels
        self.channels |= new
        await self.bus._attach(self, new)

    async def remove(self, channels: Iterable[str]) -> None:
        """Stop receiving these channels."""
        gone = set(channels) & self.channels
        self.channels -= gone
        await self.bus._detach(self, gone)

    def __aiter__(self):
        return self

    async def __anext__(self) -> tuple[str, dict]:
        if self.closed:
            raise StopAsyncIteration
        item = await self.queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def close(self) -> None:
        """Stop receiving anything; idempotent."""
        if self.closed:
            return
        await self.remove(list(self.channels))
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class _FanoutBase:
    """Keeps local subscribers by channel and hands each published message to them."""

    def __init__(self) -> None:
        self.local: dict[str, set[_QueueSubscription]] = defaultdict(set)

    def _dispatch(self, channel: str, message: dict) -> None:
        for sub in list(self.local.get(channel, ())):
            sub.deliver(channel, message)

    async def _attach(self, sub: _QueueSubscription, channels: set[str]) -> None:
        for channel in channels:
            self.local[channel].add(sub)

    async def _detach(self, sub: _QueueSubscription, channels: set[str]) -> None:
        for channel in channels:
            subs = self.local.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.local[channel]

    def subscriber_count(self, channel: str) -> int:
        """How many local subscriptions receive this channel."""
        return len(self.local.get(channel, ()))

    async def subscribe(self, channels: Iterable[str] = ()) -> _QueueSubscription:
        """Open a subscription to these channels."""
        sub = _QueueSubscription(self)
        await sub.add(channels)
        return sub


class MemoryBus(_FanoutBase):
    """The embedded default: delivery within this process only."""

    async def publish(self, channel: str, message: dict) -> None:
        """Deliver a message to everyone subscribed to the channel in this process."""
        self._dispatch(channel, message)

    async def publish_many(self, items: Iterable[tuple[str, dict]]) -> None:
        """Deliver several (channel, message) pairs, in order."""
        for channel, message in items:
            self._dispatch(channel, message)

    async def close(self) -> None:
        """Nothing to release."""


class RedisBus(_FanoutBase):
    """Scale-out: one Redis pub/sub connection per process, shared by all local subscribers."""

    def __init__(self, redis_url: str, prefix: str = "townsquare:") -> None:
        super().__init__()
        import redis.asyncio as redis  # imported here so the embedded default never needs it

        self.prefix = prefix
        self.redis = redis.from_url(redis_url)
        self.pubsub = self.redis.pubsub()
        self.reader: asyncio.Task | None = None
        self._closing = False  # set by close(): the reader ends even if a call swallowed its cancellation
        self.lock = asyncio.Lock()

    async def publish(self, channel: str, message: dict) -> None:
        """Publish through Redis so subscribers in every process receive it."""
        await self.redis.publish(self.prefix + channel, orjson.dumps(message))

    async def publish_many(self, items: Iterable[tuple[str, dict]]) -> None:
        """Publish several (channel, message) pairs in pipelined round trips; a message shared by many channels is encoded once."""
        encoded: dict[int, bytes] = {}
        items = list(items)
        for start in range(0, len(items), PUBLISH_PIPELINE):
            pipe = self.redis.pipeline(transaction=False)
            for channel, message in items[start:start + PUBLISH_PIPELINE]:
                data = encoded.get(id(message))
                if data is None:
                    data = encoded[id(message)] = orjson.dumps(message)
                pipe.publish(self.prefix + channel, data)
            await pipe.execute()

    async def _attach(self, sub: _QueueSubscription, channels: set[str]) -> None:
        async with self.lock:
            fresh = [c for c in channels if not self.local.get(c)]
            await super()._attach(sub, channels)
            if fresh:
                await self.pubsub.subscribe(*[self.prefix + c for c in fresh])
                if self.reader is None or self.reader.done():
                    self.reader = asyncio.create_task(self._read())

    async def _detach(self, sub: _QueueSubscription, channels: set[str]) -> None:
        async with self.lock:
            await super()._detach(sub, channels)
            empty = [c for c in channels if not self.local.get(c)]
            if empty:
                await self.pubsub.unsubscribe(*[self.prefix + c for c in empty])

    async def _read(self) -> None:
        strip = len(self.prefix)
        while not self._closing:
            try:
                msg = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped connection: redis-py reconnects on the next call
                if cancel_requested():
                    raise asyncio.CancelledError from exc
                log.exception("redis bus read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if msg is None or msg.get("type") != "message":
                continue
            channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
            try:
                data = orjson.loads(msg["data"])
            except orjson.JSONDecodeError:
                continue
            self._dispatch(channel[strip:], data)

    async def close(self) -> None:
        """Stop the reader and close the connections."""
        self._closing = True
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.redis.aclose()
