"""Streaming subscriptions: which streams a viewer may open (resolve), and a Session that turns Bus messages
into the events each of its streams receives, checked and rendered once for every subscriber alike where it can.
The transports (WebSocket, server-sent events) are in api/streaming.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from typing import Callable, Coroutine


from townsquare.api.filtering import load_filter_set
from townsquare.api.stream_render import OWN, PUBLIC_STREAMS, dump, personaliser, render, render_own, render_shared
from townsquare.core.clock import now
from townsquare.core.errors import ApiError
from townsquare.core.ids import parse_id
from townsquare.domain.filters import FilterSet
from townsquare.domain.models import Viewer
from townsquare.storage import stream_checks
from townsquare.timelines import events as ev
from townsquare.timelines.home import hybrid_followed_authors, list_hybrid_authors


log = logging.getLogger("townsquare.streaming")

HEARTBEAT_SECONDS = 15.0
MAX_STREAMS = 32  # subscriptions one WebSocket may hold at once
FILTERS_SECONDS = 60.0
FILTERED_EVENTS = ("update", "status.update", "notification")
CHECKED_EVENTS = ("update", "status.update")  # delivered by the personaliser's task, checked for all subscribers at once
KNOWN_STREAMS = frozenset({"user", "user:notification", "direct", "hashtag", "hashtag:local", "list", "space", *PUBLIC_STREAMS})


@dataclass(frozen=True)
class Stream:
    """One subscribed stream: its Mastodon name and label, and the bus channels that feed it."""

    name: str
    label: tuple[str, ...]
    channels: tuple[str, ...]


async def resolve(ctx, viewer: Viewer, name: str, params: dict) -> Stream:
    """Check access to a stream and work out its channels; raise ApiError when it cannot be streamed."""
    me = viewer.account.id
    if name not in KNOWN_STREAMS:
        raise ApiError(400, "Unknown stream type")
    scope = "read:notifications" if name == "user:notification" else "read" if name == "space" else "read:statuses"
    if not viewer.has_scope(scope):
        raise ApiError(403, "Access token does not have the required scopes")
    if name == "user":
        channels = [ev.home_channel(me), ev.DELETES]
        if viewer.has_scope("read:notifications"):
            channels.append(ev.notification_channel(me))
        async with ctx.db.read() as conn:
            authors = await hybrid_followed_authors(conn, me, ctx.settings.hybrid_threshold)
        return Stream(name, (name,), (*channels, *(ev.author_channel(a) for a in authors)))
    if name == "user:notification":
        return Stream(name, (name,), (ev.notification_channel(me),))
    if name == "direct":
        return Stream(name, (name,), (ev.direct_channel(me),))
    if name in PUBLIC_STREAMS:
        # Every status is local: public:local mirrors public, the :media ones carry statuses with attachments.
        channel = {"public": ev.PUBLIC, "public:local": ev.PUBLIC_LOCAL}.get(name, f"timeline:{name}")
        return Stream(name, (name,), (channel, ev.DELETES))
    if name in ("hashtag", "hashtag:local"):
        tag = str(params.get("tag") or "").lstrip("#").strip()
        if not tag:
            raise ApiError(400, "Missing tag name parameter")
        return Stream(name, (name, tag), (ev.hashtag_channel(tag, name == "hashtag:local"), ev.DELETES))
    if name == "list":
        list_id = parse_id(str(params.get("list") or ""))
        async with ctx.db.read() as conn:
            owner = None if list_id is None else await stream_checks.list_owner(conn, list_id)
            if owner != me:
                raise ApiError(404, "Record not found")  # Mastodon hides lists of others
            authors = await list_hybrid_authors(conn, list_id, ctx.settings.hybrid_threshold)
        channels = (ev.list_channel(list_id), ev.DELETES, *(ev.author_channel(a) for a in authors))
        return Stream(name, (name, str(params["list"])), channels)
    if name == "space":
        space_id = str(params.get("space_id") or "").strip()
        if not space_id or len(space_id) > 64:
            raise ApiError(400, "Missing space_id parameter")
        return Stream(name, (name, space_id), (ev.space_channel(space_id),))
    raise ApiError(400, "Unknown stream type")


class Session:
    """One client's subscriptions on the bus, with the streams each channel feeds."""

    def __init__(self, ctx, viewer: Viewer) -> None:
        self.ctx, self.viewer = ctx, viewer
        self.streams: dict[tuple[str, ...], Stream] = {}
        self.sub = None
        self.filters: FilterSet | None = None  # the viewer's filters, loaded at the first status and on every change
        self.filters_loaded = 0.0
        self.filters_expire = None  # when the first loaded filter expires (the set is loaded again then)
        self.filters_channel: str | None = None
        self.refreshing: asyncio.Task | None = None
        self.closed = False
        self.unsent = 0  # statuses registered with the personaliser (or being sent) and not yet handed on
        self.settled: asyncio.Future | None = None  # set when unsent drops to 0, for whoever waits on it

    async def open(self) -> Session:
        """Open the bus subscription."""
        self.sub = await self.ctx.bus.subscribe()
        return self

    async def _filters(self) -> FilterSet:
        # Loaded when the first stream is added (not when an event arrives: a thousand streams loading at
        # the moment one post reaches them held up that post's delivery), again after every change (the
        # change channel is joined before the load, so a change made meanwhile is not missed), at once when
        # a loaded filter expires, and otherwise refreshed in the background once a minute as a safety net.
        if self.filters_channel is None:
            self.filters_channel = ev.filters_channel(self.viewer.account.id)
            await self.sub.add([self.filters_channel])
        if self._filters_now() is None:
            await self._load_filters()
        return self.filters

    def _filters_now(self) -> FilterSet | None:
        """The filters in hand if they can be used without waiting (else None: they must be loaded first)."""
        if self.filters is None or (self.filters_expire is not None and now() >= self.filters_expire):
            return None
        if time.monotonic() - self.filters_loaded > FILTERS_SECONDS and self.refreshing is None:
            self.refreshing = asyncio.get_running_loop().create_task(self._refresh_filters())
        return self.filters

    async def _load_filters(self) -> None:
        async with self.ctx.db.read() as conn:
            loaded = await load_filter_set(conn, self.viewer.account.id)
        self.filters, self.filters_loaded = loaded, time.monotonic()
        self.filters_expire = min((f.expires_at for f in loaded.filters if f.expires_at is not None), default=None)

    async def _refresh_filters(self) -> None:
        try:
            await self._load_filters()
        except Exception as exc:  # the database is away: keep the set in hand, try again later
            log.warning("could not refresh a stream's filters: %s", exc)
            self.filters_loaded = time.monotonic()
        finally:
            self.refreshing = None

    def _channels(self) -> set[str]:
        return {c for s in self.streams.values() for c in s.channels} | ({self.filters_channel} if self.filters_channel else set())

    async def add(self, stream: Stream) -> None:
        """Start receiving a stream (again: a repeated subscribe is harmless)."""
        if stream.label not in self.streams and len(self.streams) >= MAX_STREAMS:
            raise ApiError(429, "Too many subscriptions")
        self.streams[stream.label] = stream
        await self.sub.add(stream.channels)
        if stream.name != "space":
            await self._filters()  # ready before the first event, so delivery needs no query of its own

    async def remove(self, label: tuple[str, ...]) -> None:
        """Stop receiving a stream; channels another stream still needs stay."""
        stream = self.streams.pop(label, None)
        if stream is not None:
            await self.sub.remove(set(stream.channels) - self._channels())

    async def feed(self, channel: str, message: dict, emit: Callable) -> None:
        """Hand everything one bus message becomes for this client to emit(stream, event, payload), in order.

        emit may return a coroutine (a send), which is run at once. A status (update, status.update) is only
        registered here: the personaliser's task checks it for every subscriber at once and calls emit for
        this one, so no task of the subscriber waits on the check. The next message is not handled until
        those are handed on, so a client receives its events in the order they were published.
        """
        await self._settle()
        if channel == self.filters_channel:
            self.filters = None  # loaded again before the next status is judged
            return
        event = message.get("event")
        for stream in [s for s in self.streams.values() if channel in s.channels]:
            if stream.name != "space" and event in CHECKED_EVENTS:
                try:
                    status_id = int(message["status_id"])
                except (KeyError, ValueError, TypeError):
                    log.warning("malformed bus message on %s: %r", channel, message)
                    continue
                self._hold()
                personaliser(self.ctx).register(event, status_id, self.viewer.account.id,
                                                functools.partial(self._checked, stream, event, emit))
                continue
            try:
                filters = await self._filters() if event in FILTERED_EVENTS else None
                rendered = await render(self.ctx, self.viewer, stream.name, message, filters)
            except (KeyError, ValueError, TypeError):
                log.warning("malformed bus message on %s: %r", channel, message)
                continue
            except Exception:  # e.g. the database is away: lose this event, keep the stream
                log.exception("could not render %r for a stream", message)
                continue
            if rendered is not None:
                self._emit(emit, stream, *rendered)

    def _checked(self, stream: Stream, event: str, emit: Callable, shared, row) -> None:
        """Called by the personaliser's task with the status and this viewer's checks: send from the shared payload."""
        try:
            if self.closed:
                return
            filters = self._filters_now()
            rendered = OWN if filters is None else render_shared(self.ctx, self.viewer.account.id, stream.name, event,
                                                                   shared, row, filters)
            if rendered is OWN:  # a render of this viewer's own (and maybe their filters loaded): in a task
                self._hold()
                task = asyncio.get_running_loop().create_task(self._own(stream, event, emit, shared, row))
                task.add_done_callback(self._finished)
            elif rendered is not None:
                self._emit(emit, stream, *rendered)
        finally:
            self._release()

    async def _own(self, stream: Stream, event: str, emit: Callable, shared, row) -> None:
        try:
            filters = await self._filters()
            rendered = await render_own(self.ctx, self.viewer, stream.name, event, shared, row, filters)
        except Exception:  # e.g. the database is away: lose this event, keep the stream
            log.exception("could not render %s for a stream", event)
            return
        if rendered is not None and not self.closed:
            self._emit(emit, stream, *rendered)

    def _emit(self, emit: Callable, stream: Stream, event: str, payload: str | None) -> None:
        try:
            sending = emit(stream, event, payload)
            task = None if sending is None else run_eagerly(sending)
        except Exception as exc:  # the client has gone: its connection's own loop ends the session
            log.debug("could not send to a stream: %r", exc)
            return
        if task is not None:  # the client's socket is full: the send waits in a task of its own
            self._hold()
            task.add_done_callback(self._finished)

    def _hold(self) -> None:
        self.unsent += 1

    def _release(self) -> None:
        self.unsent -= 1
        if not self.unsent and self.settled is not None:
            if not self.settled.done():
                self.settled.set_result(None)
            self.settled = None

    def _finished(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.debug("could not send to a stream: %r", task.exception())
        self._release()

    async def _settle(self) -> None:
        """Wait until everything of earlier messages has been handed on."""
        while self.unsent:
            if self.settled is None:
                self.settled = asyncio.get_running_loop().create_future()
            await self.settled

    async def outgoing(self, channel: str, message: dict) -> list[tuple[Stream, str, str | None]]:
        """Everything one bus message becomes for this client, one entry per stream it reaches."""
        out: list[tuple[Stream, str, str | None]] = []
        await self.feed(channel, message, lambda stream, event, payload: out.append((stream, event, payload)))
        await self._settle()
        return out

    async def close(self) -> None:
        """Drop the bus subscription."""
        self.closed = True
        if self.refreshing is not None:
            self.refreshing.cancel()
        if self.sub is not None:
            await self.sub.close()


@functools.lru_cache(maxsize=2048)
def frame_text(label: tuple[str, ...], event: str, payload: str | None) -> str:
    """One WebSocket frame's text, built once for every subscriber of a stream receiving the same payload.

    The payload strings of one event are shared objects (stream_render), so the cache key is cheap to hash.
    """
    frame = {"stream": list(label), "event": event}
    if payload is not None:
        frame["payload"] = payload
    return dump(frame)


class _Resumed(Coroutine):
    """The rest of a coroutine that run_eagerly started: its first step hands the task the future it waits on."""

    def __init__(self, coro, waiting) -> None:
        self.coro, self.waiting, self.started = coro, waiting, False

    def send(self, value):
        if not self.started:
            self.started = True
            return self.waiting
        return self.coro.send(value)

    def throw(self, *exc):  # e.g. the task is cancelled, even before its first step: the coroutine's wait gets it
        self.started = True
        return self.coro.throw(*exc)

    def close(self) -> None:
        self.coro.close()

    def __await__(self):
        raise TypeError("only a task runs this")


def run_eagerly(coro) -> asyncio.Task | None:
    """Run a coroutine at once, up to its first wait (as Python 3.12's eager tasks do): None when it finished
    without waiting, else a task that finishes it. A WebSocket send waits only while the client's socket is
    full, so a status reaches a thousand subscribers with no task (and no trip through the loop) each."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_Resumed(coro, waiting))
