"""The rendered-status cache: each status's viewer-independent form, kept in process in a bounded LRU.

An entry holds a hydrated, viewer-neutral domain Status (no favourited/bookmarked/poll votes...) and,
beside it, renderings other layers attach (the API keeps its JSON bytes there). An entry is used only
while it is still true:

* its fingerprint (the status row, and the reblogged status's row) equals the row read now, so edits,
  count changes and deletions never show stale;
* the author's (and reblogged author's) account read now equals the one it was built with, so display
  name changes, sanctions and sensitive-marking show at once; a mentioned account's suspension too;
* nothing invalidated it: what the status row does not show (a poll vote, a media description, a card,
  a quote) is invalidated by id with `invalidate_after_commit`, carried to every process on the Bus.

Writes racing with reads cannot leave old data behind: a reader may store an entry only if no
invalidation happened since it started reading (a generation counter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable

from townsquare.storage.db import after_commit

log = logging.getLogger("townsquare.status_cache")

CHANNEL = "cache:invalidate"
DEFAULT_SIZE = 20_000


@dataclass
class Entry:
    """One cached status: how it was read (fingerprint, accounts) and its viewer-neutral form."""

    fingerprint: tuple
    status: Any  # domain Status with viewer marks cleared
    account_ids: frozenset  # author, reblogged author, every mentioned account (suspended or not)
    expires_at: float | None = None  # a poll ending changes its rendering (`expired`): not served after
    rendered: dict = field(default_factory=dict)  # what upper layers attach (api: JSON template by base URL)
    mentions: dict = field(default_factory=dict)  # status id -> every mentioned account id, to notice a suspension


class StatusCache:
    """A bounded LRU of Entry by status id, invalidated by id or account, with a generation for races."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self.entries: OrderedDict[int, Entry] = OrderedDict()
        self.generation = 0
        self.reblogs: dict[int, set[int]] = {}  # reblogged status id -> ids of cached reblogs of it
        self.hits = 0
        self.misses = 0
        self._listener: asyncio.Task | None = None

    def get(self, status_id: int, fingerprint: tuple) -> Entry | None:
        """The entry of a status if it was built from exactly this row (and has not expired)."""
        entry = self.entries.get(status_id)
        if entry is None or entry.fingerprint != fingerprint or (
                entry.expires_at is not None and entry.expires_at <= time.time()):
            self.misses += 1
            return None
        self.entries.move_to_end(status_id)
        self.hits += 1
        return entry

    def put(self, status_id: int, generation: int, fingerprint: tuple, status: Any, account_ids: Iterable[int],
            expires_at: float | None = None) -> Entry | None:
        """Keep an entry, unless something was invalidated since the reader that built it began (it may be old)."""
        if generation != self.generation:
            return None
        entry = Entry(fingerprint, status, frozenset(account_ids), expires_at)
        self.entries[status_id] = entry
        self.entries.move_to_end(status_id)
        if status.reblog_of_id:
            self.reblogs.setdefault(status.reblog_of_id, set()).add(status_id)
        while len(self.entries) > self.size:
            _, old = self.entries.popitem(last=False)
            if old.status.reblog_of_id:
                self.reblogs.get(old.status.reblog_of_id, set()).discard(old.status.id)
        return entry

    def invalidate(self, status_ids: Iterable[int] = (), account_ids: Iterable[int] = ()) -> None:
        """Forget these statuses and every status involving these accounts (author, reblogged author, mention)."""
        self.generation += 1
        for sid in status_ids:
            sid = int(sid)
            self.entries.pop(sid, None)
            for reblog_id in self.reblogs.pop(sid, ()):  # a reblog shows the status it shares
                self.entries.pop(reblog_id, None)
        accounts = {int(a) for a in account_ids}
        if accounts:
            for sid in [sid for sid, e in self.entries.items() if e.account_ids & accounts]:
                del self.entries[sid]

    def clear(self) -> None:
        """Forget everything."""
        self.generation += 1
        self.entries.clear()
        self.reblogs.clear()

    def apply(self, message: dict) -> None:
        """Apply an invalidation message (as published on the Bus)."""
        if message.get("all"):
            self.clear()
            return
        self.invalidate(message.get("statuses") or (), message.get("accounts") or ())

    async def listen(self, bus, *others) -> None:
        """Apply the invalidations other processes publish (a Redis Bus) here and to `others` (e.g. the token cache);
        in-process ones are applied at commit."""
        sub = await bus.subscribe([CHANNEL])

        async def run() -> None:
            try:
                async for _channel, message in sub:
                    for cache in (self, *others):
                        cache.apply(message)
            finally:
                await sub.close()

        self._listener = asyncio.create_task(run())

    async def close(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener


def invalidate_after_commit(conn, status_ids: Iterable[int] = (), account_ids: Iterable[int] = (),
                            tokens: Iterable[str] = ()) -> None:
    """Queue an invalidation on a write transaction: applied (and published) only once it has committed.

    `tokens` are token digests (a revoked token); `account_ids` also drop the accounts' cached tokens.
    """
    message = {"statuses": [str(int(s)) for s in status_ids], "accounts": [str(int(a)) for a in account_ids],
               "tokens": list(tokens)}
    if any(message.values()):
        after_commit(conn, (CHANNEL, message))


def committed(caches: Iterable, items: list) -> None:
    """Apply the invalidations among a committed transaction's after-commit items to this process's caches."""
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and item[0] == CHANNEL:
            for cache in caches:
                if cache is not None:
                    cache.apply(item[1])
