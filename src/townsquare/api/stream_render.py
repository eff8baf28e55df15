"""Rendering bus messages for one streaming subscriber.

A status is loaded and hydrated once per process (shared by every subscriber for a few seconds),
then checked for all the subscribers it reaches at once with a single query: may each see it (the
visibility rule of every read path), did they mute its author, and their favourited/... flags. Its
payload is rendered once per set of flags and shared by every subscriber with those flags; only a
viewer whose filters match it, or a status with a poll or a withheld quote, gets a render of their own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from typing import Awaitable, Callable

import orjson

from townsquare.api.filtering import mark
from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.conversations import conversation as render_conversation
from townsquare.api.serializers.statuses import notification as render_notification
from townsquare.api.serializers.statuses import status as render_status
from townsquare.domain.filters import FilterSet
from townsquare.domain.models import Notification, Status, Viewer
from townsquare.storage import accounts as account_store
from townsquare.storage import conversations as conversation_store
from townsquare.storage import polls as poll_store
from townsquare.storage import statuses as status_store
from townsquare.storage import stream_checks

PUBLIC_STREAMS = ("public", "public:media", "public:local", "public:local:media", "public:remote", "public:remote:media")
log = logging.getLogger("townsquare.streaming")
CACHE_SECONDS = {"update": 10.0, "conversation": 10.0, "status.update": 1.0}  # an edit may follow an edit


class SharedStatuses:
    """Hydrated statuses (as nobody in particular sees them), loaded once however many streams ask at once."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, tuple[float, asyncio.Task]] = OrderedDict()

    async def get(self, key: tuple, ttl: float, load: Callable[[], Awaitable[Status | None]]) -> Status | None:
        """Return the cached value for key, loading it (once) when absent or expired."""
        loop = asyncio.get_running_loop()
        hit = self.entries.get(key)
        if hit is None or hit[0] < loop.time() or (hit[1].done() and hit[1].exception() is not None):
            hit = (loop.time() + ttl, loop.create_task(load()))
            self.entries[key] = hit
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        if hit[1].done():
            return hit[1].result()  # the common case: loaded for an earlier subscriber of the same event
        return await asyncio.shield(hit[1])  # a subscriber leaving must not cancel the load for the others


def _extra(ctx, key: str, make: Callable):
    """A process-wide object of this app kept in ctx.extras, made on first use (not once per call)."""
    found = ctx.extras.get(key)
    if found is None:
        found = ctx.extras[key] = make()
    return found


def shared_statuses(ctx) -> SharedStatuses:
    """The process-wide status cache of this app."""
    return _extra(ctx, "stream_statuses", SharedStatuses)


async def _load(ctx, status_id: int) -> Status | None:
    async with ctx.db.read() as conn:
        row = await status_store.get_row(conn, status_id)
        return None if row is None else (await status_store.hydrate(conn, [row], None))[0]


Checked = Callable[[Status | None, object], None]  # (shared status or None, the viewer's row of checks or None)


class Personaliser:
    """Loads a status once and checks it for every local subscriber it reaches at about the same moment, in one query.

    Each subscriber registers a callback; once the status is loaded and the one query has answered, every
    callback is called in turn from the one task doing the work. A subscriber waits on nothing of its own.
    """

    WINDOW = 0.005  # seconds to gather the subscribers one bus message reaches
    CHUNK = 5000  # viewers per query, below every driver's parameter limit

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.pending: dict[tuple, list[tuple[int, Checked]]] = {}
        self.running: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

    def register(self, event: str, status_id: int, viewer_id: int, callback: Checked) -> None:
        """Have callback(shared status, this viewer's row) called once the status is loaded and checked."""
        key = (event, status_id)
        batch = self.pending.get(key)
        if batch is None:
            batch = self.pending[key] = []
            task = asyncio.get_running_loop().create_task(self._run(key))
            self.running.add(task)
            task.add_done_callback(self.running.discard)
        batch.append((viewer_id, callback))

    async def check(self, event: str, status_id: int, viewer_id: int) -> tuple[Status | None, object]:
        """(shared status, this viewer's row), batched with the others asking."""
        future = asyncio.get_running_loop().create_future()

        def done(shared, row) -> None:
            if not future.done():
                future.set_result((shared, row))

        self.register(event, status_id, viewer_id, done)
        return await future

    async def _run(self, key: tuple) -> None:
        event, status_id = key
        shared, found = None, {}
        try:
            try:
                load = asyncio.ensure_future(shared_statuses(self.ctx).get(key, CACHE_SECONDS[event], lambda: _load(self.ctx, status_id)))
                await asyncio.sleep(self.WINDOW)  # the status loads meanwhile
                shared = await load
            finally:
                waiting = self.pending.pop(key)  # whoever registers from now on starts another batch
            if shared is not None:
                ids = sorted({viewer for viewer, _ in waiting})
                async with self.ctx.db.read() as conn:
                    for start in range(0, len(ids), self.CHUNK):
                        for row in await stream_checks.subscriber_checks(conn, shared, ids[start:start + self.CHUNK]):
                            found[row.viewer] = row
        except Exception:  # e.g. the database is away: this event is lost for these streams, the streams stay
            log.exception("could not load or check status %s for its streams", status_id)
            shared, found = None, {}
        for viewer, callback in waiting:
            try:
                callback(shared, found.get(viewer))
            except Exception:
                log.exception("could not deliver status %s to a stream", status_id)


def personal_flags(row, viewer_id: int, s: Status, stream: str) -> tuple[bool, bool, bool, bool] | None:
    """This viewer's (favourited, bookmarked, pinned, reblogged) for the status on this stream, or None when it must not be sent."""
    if stream in PUBLIC_STREAMS or stream.startswith("hashtag"):
        if s.visibility != "public" or s.reblog_of_id is not None:
            return None
    if row is None or not row.visible or row.muted:
        return None
    to = s.in_reply_to_account_id
    if stream == "user" and s.reblog is None and to is not None and viewer_id not in (s.account_id, to) \
            and to != s.account_id and not row.follows_to:
        return None  # like the home feed: a reply to someone else shows only to those who follow them too
    return bool(row.favourited), bool(row.bookmarked), bool(row.pinned), bool(row.reblogged)


def with_flags(s: Status, flags: tuple[bool, bool, bool, bool]) -> Status:
    """The status with a viewer's flags set (on the original, for a reblog)."""
    values = dict(zip(("favourited", "bookmarked", "pinned", "reblogged"), flags))
    if s.reblog is not None:
        return dataclasses.replace(s, reblog=dataclasses.replace(s.reblog, **values))
    return dataclasses.replace(s, **values)


def personalise(row, viewer_id: int, s: Status, stream: str) -> Status | None:
    """The status as this viewer sees it on this stream, or None when it must not be sent to them."""
    flags = personal_flags(row, viewer_id, s, stream)
    return None if flags is None else with_flags(s, flags)


class SharedPayloads:
    """Status payloads rendered once per (event, shared status, viewer flags) and handed to every subscriber alike.

    Most subscribers of one event see the same JSON (a new status is favourited by nobody yet), so it is
    rendered and encoded once instead of once per open stream. An entry is only used for the very shared
    Status object it was rendered from, so it ends with that status's own cache entry.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, tuple[Status, str]] = OrderedDict()

    def get(self, event: str, shared: Status, flags: tuple, base: str) -> str:
        """The payload string for this status and flags, rendered on first use."""
        key = (event, shared.id, flags)
        hit = self.entries.get(key)
        if hit is not None and hit[0] is shared:
            return hit[1]
        payload = dump(render_status(with_flags(shared, flags), base))
        self.entries[key] = (shared, payload)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return payload


def _own_parts(s: Status) -> bool:
    """Whether the status needs parts rendered for this viewer (their poll votes, a quote hidden from strangers)."""
    shown = s.reblog or s
    return shown.poll is not None or (shown.quote is not None and shown.quote.state != "accepted")


async def _notification_for(conn, viewer_id: int, notification_id: int) -> Notification | None:
    row = await stream_checks.own_notification(conn, viewer_id, notification_id)
    if row is None:
        return None
    sender = await account_store.get(conn, row.from_account_id)
    if sender is None:
        return None
    status = None
    if row.status_id:
        status = await status_store.get_visible(conn, row.status_id, viewer_id)
        if status is None:
            return None  # the status is gone or no longer visible
        if row.type == "reblog" and status.reblog is not None:
            status = status.reblog
    return Notification(id=row.id, type=row.type, created_at=row.created_at, account=sender, status=status)


async def _with_own_poll_and_quote(ctx, s: Status, me: int) -> Status | None:
    """The parts the shared copy renders as nobody in particular: this viewer's votes, and a quote hidden from strangers."""
    shown = s.reblog or s
    if shown.quote is not None and shown.quote.state != "accepted":
        async with ctx.db.read() as conn:  # e.g. a quote of a followers-only post: hydrate for this viewer
            return await status_store.get_visible(conn, s.id, me)
    if shown.poll is None:
        return s
    async with ctx.db.read() as conn:
        poll = (await poll_store.load(conn, [shown.poll.id], me)).get(shown.poll.id)
    shown = dataclasses.replace(shown, poll=poll)
    return dataclasses.replace(s, reblog=shown) if s.reblog is not None else shown


def dump(data) -> str:
    """JSON-encode a payload as a string, as Mastodon's events carry it."""
    return orjson.dumps(data).decode()


def filter_context(stream: str) -> str | None:
    """The filter context of a stream's statuses (home for the user and list streams, public for the public ones)."""
    if stream in ("user", "list"):
        return "home"
    if stream in PUBLIC_STREAMS or stream.startswith("hashtag"):
        return "public"
    return None


async def render(ctx, viewer: Viewer, stream: str, message: dict, filters: FilterSet | None = None) -> tuple[str, str | None] | None:
    """Turn a bus message into (event, payload string) for this subscriber on this stream, or None to send nothing.

    With the subscriber's filters, a status a `hide` filter drops is not sent and others carry `filtered`.
    """
    event = str(message.get("event") or "")
    if stream == "space":
        payload = message.get("payload")
        return event or "space", payload if isinstance(payload, str) or payload is None else dump(payload)
    me, base = viewer.account.id, ctx.settings.base_url
    if event == "delete":
        return event, str(message["status_id"])
    if event == "filters_changed":
        return event, None
    if event == "notification":
        async with ctx.db.read() as conn:
            found = await _notification_for(conn, me, int(message["notification_id"]))
        if found is None:
            return None
        data = render_notification(found, base)
        if filters and found.status is not None:
            data["status"] = mark(filters, found.status, data["status"], "notifications")
            if data["status"] is None:
                return None
        return event, dump(data)
    if event == "conversation" and message.get("conversation_id"):
        async with ctx.db.read() as conn:
            found = await conversation_store.get(conn, me, int(message["conversation_id"]))
            if found is not None:
                found = (await conversation_store.hydrate(conn, [found], me, status_store.load_visible))[0]
        return (event, dump(render_conversation(found, base))) if found and found.last_status else None
    if event not in CACHE_SECONDS:
        return None
    status_id = int(message["status_id"])
    shared, row = await personaliser(ctx).check(event, status_id, me)
    rendered = render_shared(ctx, me, stream, event, shared, row, filters)
    if rendered is not OWN:
        return rendered
    return await render_own(ctx, viewer, stream, event, shared, row, filters)


def personaliser(ctx) -> Personaliser:
    """The process-wide personaliser of this app."""
    return _extra(ctx, "stream_personaliser", lambda: Personaliser(ctx))


OWN = "own"  # render_shared's answer when the viewer needs a render of their own


def render_shared(ctx, viewer_id: int, stream: str, event: str, shared: Status | None, row,
                  filters: FilterSet | None) -> tuple[str, str] | str | None:
    """A checked status for this viewer, without waiting on anything: (event, payload) from the payloads shared
    by every subscriber with the same flags, None to send nothing, or OWN when the viewer needs their own render
    (their filters match it, its poll or a withheld quote)."""
    if shared is None:
        return None
    flags = personal_flags(row, viewer_id, shared, stream)
    if flags is None:
        return None
    if event == "conversation" or _own_parts(shared):
        return OWN
    context = filter_context(stream)
    if filters and context is not None and filters.match(shared, context):
        return OWN
    return event, _extra(ctx, "stream_payloads", SharedPayloads).get(event, shared, flags, ctx.settings.base_url)


async def render_own(ctx, viewer: Viewer, stream: str, event: str, shared: Status | None, row,
                     filters: FilterSet | None) -> tuple[str, str] | None:
    """A checked status rendered for this viewer alone: their poll votes, a quote as they may see it, their filters."""
    me, base = viewer.account.id, ctx.settings.base_url
    flags = None if shared is None else personal_flags(row, me, shared, stream)
    if flags is None:
        return None
    s = with_flags(shared, flags)
    s = await _with_own_poll_and_quote(ctx, s, me)
    if s is None:
        return None
    if event != "conversation":
        data = render_status(s, base)
        context = filter_context(stream)
        if filters and context is not None:
            data = mark(filters, s, data, context)
            if data is None:
                return None
        return event, dump(data)
    others = {a.id: a for a in [s.account, *s.mentions] if a is not None and a.id != me}
    return event, dump({
        "id": str(s.id), "unread": s.account_id != me, "last_status": render_status(s, base),
        "accounts": [render_account(a, base) for a in others.values()],
    })
