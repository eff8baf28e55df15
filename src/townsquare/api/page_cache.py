"""Whole responses of the hot reads, kept per viewer and served again while nothing they show can have changed.

Pure ASGI, inside all the middleware but the fast dispatcher (api/dispatch.py): the overload gate, CORS and
X-Request-Id, the trailing-slash rule, the rate limits (a hit is counted and gets its X-RateLimit-* headers) and
the input guard all run for a hit exactly as for any request; what a hit skips is the routing (the dispatcher's
or FastAPI's), the viewer's authentication and the route's reads and rendering. Only GETs without a body of the timeline, notification and status
routes are kept, and only their 200 answers (status, headers with Link, body bytes).

The key is everything those routes read from a request: path, query string and the Authorization header
(so each token, and the anonymous viewer, has its own entries). An entry is served only while all hold:

* the database has not changed since the read that built it began: SQLite's data_version (storage/changes)
  changes at the very moment any commit becomes visible, from this process or another (the admin CLI);
  a revoked token, a suspension, a post, a favourite, a block or a filter change is a commit, so the next
  request after it is answered by the route itself, which checks the token and account afresh;
* nothing was invalidated in the rendered-status cache since then (its generation);
* the clock has not reached the earliest time-based change the response shows (a poll's end, a filter's
  expiry: core/horizon), nor the cap (`page_cache_seconds`, a bound for anything else).

A read that saw any change while it ran stores nothing. A request arriving while the same read is being
answered, with nothing changed since that read began, takes its answer (one read, not one per connection,
even while writes keep the answers from being kept). Scale-out (PostgreSQL, Redis, several processes) has a
change counter in Redis instead of data_version: every transaction that changed rows bumps it after its commit,
before the writer goes on, in every process (storage/changes.SharedChanges), and each lookup reads it. Off for
PostgreSQL without Redis and for an in-memory SQLite database.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable

from townsquare.core import horizon
from townsquare.storage.changes import data_version_for

if TYPE_CHECKING:  # the app context is built by wiring, above the api layer
    from townsquare.wiring import AppContext

CACHED_PATHS = re.compile(
    r"^/api/v1/(?:timelines/(?:home|public|tag/[^/]+|list/[^/]+)|notifications|accounts/[^/]+/statuses|statuses/[^/]+)$")
MAX_ENTRIES = 5_000
MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024


class Entry:
    __slots__ = ("version", "expires", "status", "headers", "body", "size")

    def __init__(self, version, expires: float, status: int, headers: list, body: bytes) -> None:
        self.version, self.expires, self.status, self.headers, self.body = version, expires, status, headers, body
        self.size = len(body) + sum(len(k) + len(v) for k, v in headers) + 200


class PageCache:
    """A bounded LRU of whole responses, all valid for one version of the data (they are dropped together)."""

    def __init__(self, ctx: AppContext, seconds: float | None = None, *, max_entries: int = MAX_ENTRIES,
                 max_bytes: int = MAX_BYTES) -> None:
        self.ctx = ctx
        self.seconds = ctx.settings.page_cache_seconds if seconds is None else seconds
        self.data_version: Callable[[], int | None] | None = data_version_for(ctx.db.url)
        # Scale-out (PostgreSQL): the change counter in Redis every process's commits bump (storage/changes).
        self.shared = ctx.changes if self.data_version is None else None
        # Off where no signal proves freshness (PostgreSQL without Redis, an in-memory SQLite database).
        self.enabled = self.seconds > 0 and (self.data_version is not None or self.shared is not None)
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.bytes = 0
        self.live = None  # the version every entry was built at
        self.building: dict[tuple, tuple] = {}  # key -> (version, future of its answer) of the read being answered
        self.hits = self.misses = self.stores = 0
        self.joined = 0  # hits that took the answer of a read running as they came

    async def version(self):
        """What must be unchanged for an entry to be true: the database's data_version (scale-out: the shared
        change counter) and the status cache's generation; None when it cannot be told."""
        sc = self.ctx.status_cache
        generation = sc.generation if sc is not None else 0
        if self.data_version is not None:
            dv = self.data_version()
        else:
            dv = await self.shared.value() if self.shared is not None else None
        return None if dv is None else (dv, generation)

    def lookup(self, key: tuple, version) -> Entry | None:
        """The entry of a key if it is still true at `version` (what version() said just now)."""
        if version is None:
            return None
        if version != self.live:  # the data changed: every entry is old
            self.clear()
            self.live = version
            return None
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires <= time.time():
            self._drop(key)
            return None
        self.entries.move_to_end(key)
        return entry

    def store(self, key: tuple, entry: Entry, now) -> bool:
        """Keep a response built from `entry.version`, if the data is still at that version (`now`, just read)."""
        version = entry.version
        if version is None or now != version or entry.expires <= time.time():
            return False
        if version != self.live:
            self.clear()
            self.live = version
        if entry.size > MAX_ENTRY_BYTES:
            return False
        if key in self.entries:
            self._drop(key)
        self.entries[key] = entry
        self.bytes += entry.size
        while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(self.entries)))
        self.stores += 1
        return True

    def _drop(self, key: tuple) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0

    def close(self) -> None:
        close = getattr(self.data_version, "close", None)
        if close is not None:
            close()


def _key(scope) -> tuple | None:
    """The cache key of a request, or None when it is not one to keep (not a GET, a body, another path)."""
    if scope["method"] != "GET" or not CACHED_PATHS.match(scope["path"]):
        return None
    authorization = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is not None:  # twice: let the route decide what that means
                return None
            authorization = hashlib.sha256(value).digest()
        elif name == b"content-length" and value.strip() not in (b"", b"0") or name == b"transfer-encoding":
            return None
    return scope["path"], scope.get("query_string") or b"", authorization


class PageCacheMiddleware:
    """Answers a kept response when it is still true; otherwise runs the route and keeps its 200 answer."""

    def __init__(self, app, cache: PageCache) -> None:
        self.app, self.cache = app, cache

    async def __call__(self, scope, receive, send):
        cache = self.cache
        if scope["type"] != "http" or not cache.enabled:
            return await self.app(scope, receive, send)
        key = _key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        version = await cache.version()  # before anything is read: a change from now on makes what is read unkeepable
        arrived = time.time()
        entry = cache.lookup(key, version)
        if entry is None and version is not None and (pending := cache.building.get(key)) is not None \
                and pending[0] == version:
            # The same read is being answered from the data as it is now (nothing changed since that read began):
            # its answer is as true for this request as a read of its own, unless the clock overtook it.
            shared = await asyncio.shield(pending[1])
            if shared is not None and arrived < shared.expires:
                entry = shared
                cache.joined += 1
        if entry is not None:
            cache.hits += 1
            await send({"type": "http.response.start", "status": entry.status, "headers": list(entry.headers)})
            await send({"type": "http.response.body", "body": entry.body})
            return
        cache.misses += 1
        await self._build(key, version, scope, receive, send)

    async def _build(self, key: tuple, version, scope, receive, send) -> None:
        cache = self.cache
        started = time.time()
        mine = None
        if version is not None:
            mine = cache.building[key] = (version, asyncio.get_running_loop().create_future())
        start: dict | None = None
        chunks: list[bytes] = []
        complete = False

        async def capture(message):
            nonlocal start, complete
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body" and start is not None and start["status"] == 200:
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        seen, token = horizon.begin()
        answer = None
        try:
            await self.app(scope, receive, capture)
        finally:
            horizon.end(token)
            try:
                if complete and start is not None and version is not None:
                    headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", ())]
                    if not any(k.lower() == b"set-cookie" for k, _ in headers):
                        expires = started + cache.seconds
                        if seen.at is not None:
                            expires = min(expires, seen.at)
                        answer = Entry(version, expires, 200, headers, b"".join(chunks))
                        cache.store(key, answer, await cache.version())
            finally:
                if mine is not None:
                    if cache.building.get(key) is mine:
                        del cache.building[key]
                    if not mine[1].done():
                        mine[1].set_result(answer)
