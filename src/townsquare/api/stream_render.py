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


def shared_statuses(ctx) -> SharedStatuses:
    """The process-wide status cache of this app."""
    return ctx.extras.setdefault("stream_statuses", SharedStatuses())


async def _load(ctx, status_id: int) -> Status | None:
    async with ctx.db.read() as conn:
        row = await status_store.get_row(conn, status_id)
        return None if row is None else (await status_store.hydrate(conn, [row], None))[0]


class Personaliser:
    """Checks a status for every local subscriber who receives it at about the same moment, in one query."""

    WINDOW = 0.005  # seconds to gather the subscribers one bus message reaches
    CHUNK = 5000  # viewers per query, below every driver's parameter limit

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.pending: dict[tuple, tuple[set[int], asyncio.Future]] = {}
        self.running: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

    async def check(self, key: tuple, s: Status, viewer_id: int):
        """The row of checks for one viewer (None if the account is gone), batched with the others asking."""
        batch = self.pending.get(key)
        if batch is None:
            future = asyncio.get_running_loop().create_future()
            future.add_done_callback(lambda f: f.cancelled() or f.exception())  # nobody left waiting is fine
            batch = self.pending[key] = (set(), future)
            task = asyncio.get_running_loop().create_task(self._run(key, s))
            self.running.add(task)
            task.add_done_callback(self.running.discard)
        batch[0].add(viewer_id)
        return (await asyncio.shield(batch[1])).get(viewer_id)

    async def _run(self, key: tuple, s: Status) -> None:
        await asyncio.sleep(self.WINDOW)
        viewers, future = self.pending.pop(key)
        try:
            found = {}
            ids = sorted(viewers)
            async with self.ctx.db.read() as conn:
                for start in range(0, len(ids), self.CHUNK):
                    for row in await stream_checks.subscriber_checks(conn, s, ids[start:start + self.CHUNK]):
                        found[row.viewer] = row
            future.set_result(found)
        except Exception as exc:
            future.set_exception(exc)


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
    shared = await shared_statuses(ctx).get((event, status_id), CACHE_SECONDS[event], lambda: _load(ctx, status_id))
    if shared is None:
        return None
    personaliser = ctx.extras.setdefault("stream_personaliser", Personaliser(ctx))
    flags = personal_flags(await personaliser.check((event, status_id), shared, me), me, shared, stream)
    if flags is None:
        return None
    if event != "conversation" and not _own_parts(shared):
        context = filter_context(stream)
        if not (filters and context is not None and filters.match(shared, context)):
            # What every subscriber with these flags gets: rendered once, the same string for all.
            return event, ctx.extras.setdefault("stream_payloads", SharedPayloads()).get(event, shared, flags, base)
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
