"""FeedStore: the materialised home and list feeds, bounded, with a SQL implementation (embedded default).

Feeds are named ``home:<account_id>`` and ``list:<list_id>``. A feed holds status ids newest
first, at most ``limit`` of them (trimmed), and never the same status twice: a reblog of a
status already in the feed (as itself or as another reblog) is not added again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import BigInteger, String, and_, bindparam, delete, exists, func, not_, or_, select, union
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import CompoundSelect

from townsquare.core.errors import ApiError
from townsquare.storage.prepared import Prepared
from townsquare.storage.tables import feed_entries, statuses
from townsquare.timelines.recipients import Recipients, home_key, list_key

__all__ = ["Entry", "FeedStore", "SqlFeedStore", "FeedsUnavailable", "NO_FEEDS", "home_key", "list_key"]


class FeedsUnavailable(ApiError):
    """The feed store (Redis) cannot be reached. Reads fall back to the database; a write that must change a
    feed in its transaction is refused with 503 + Retry-After and changes nothing (it rolls back)."""

    def __init__(self, reason: str, retry_after: int = 2):
        super().__init__(503, "Timelines are briefly unavailable; try again shortly",
                         headers={"Retry-After": str(retry_after)})
        self.reason = reason


class _NoFeeds:
    """A feed store holding nothing: reading through it with every followed author merged at read time gives
    a feed straight from the database (what a reader gets while Redis is unreachable)."""

    async def page(self, conn, feed, max_id, since_id, min_id, limit) -> list[int]:
        return []

    async def holds(self, conn, feed, target_ids) -> set[int]:
        return set()


NO_FEEDS = _NoFeeds()


@dataclass(frozen=True)
class Entry:
    """One feed entry: a status id, who wrote it, and what it reblogs (if anything)."""

    status_id: int
    author_id: int
    reblog_of_id: int | None = None

    @property
    def target_id(self) -> int:
        """The status the entry shows: the original for a reblog."""
        return self.reblog_of_id or self.status_id


class FeedStore(Protocol):
    """Where home and list feeds live; every method is idempotent."""

    limit: int

    async def deliver(self, conn: AsyncConnection, entry: Entry, recipients: Recipients | None) -> list[str]:
        """Add an entry to the author's home feed and to every feed the recipients SELECT names; return those that got it."""

    async def add_entries(self, conn: AsyncConnection, feed: str, entries: list[Entry]) -> None:
        """Add entries (any order) to one feed, skipping duplicates, then trim it."""

    async def page(self, conn: AsyncConnection, feed: str, max_id: int | None, since_id: int | None,
                   min_id: int | None, limit: int) -> list[int]:
        """Return status ids of one page of a feed, newest first."""

    async def size(self, conn: AsyncConnection, feed: str) -> int:
        """How many entries a feed holds."""

    async def holds(self, conn: AsyncConnection, feed: str, target_ids: set[int]) -> set[int]:
        """Which of these statuses a feed already shows (as itself or through a reblog)."""

    async def remove_author(self, conn: AsyncConnection, feed: str, author_id: int) -> None:
        """Remove an author's entries from one feed (after an unfollow, block, mute or list removal)."""

    async def remove_status(self, conn: AsyncConnection, status_id: int) -> None:
        """Remove a status and its reblogs from every feed."""

    async def clear(self, conn: AsyncConnection, feed: str) -> None:
        """Empty a feed (before a regeneration or when a list is deleted)."""

    async def freshness(self, feed: str) -> str:
        """Whether the store still holds a feed: "ok", "rebuilding", or "lost" (the caller now owns its rebuild)."""

    async def mark_built(self, feed: str) -> None:
        """Record that a feed holds everything the database says it should."""

    async def trim(self, conn: AsyncConnection) -> int:
        """Cut every feed down to the limit; return how many entries went."""

    async def close(self) -> None:
        """Release connections."""


def entry_of(status) -> Entry:
    """The feed entry for a status row or domain object."""
    return Entry(status.id, status.account_id, status.reblog_of_id)


_COLUMNS = ["feed", "status_id", "author_id", "reblog_of_id"]
_ENTRY = (bindparam("e_status", type_=BigInteger), bindparam("e_author", type_=BigInteger),
          bindparam("e_reblog", type_=BigInteger))


def _absent(feed):
    """True when the feed holds neither the entry's status nor anything sharing its target (bound as e_*)."""
    target = bindparam("e_target", type_=BigInteger)
    # Two lookups, each by an index (the primary key; ix_feed_entries_reblogs): one EXISTS with an OR read the
    # whole feed for its reblog_of_id half.
    held = exists().where(and_(feed_entries.c.feed == feed,
                               feed_entries.c.status_id.in_([bindparam("e_status", type_=BigInteger), target])))
    shared = exists().where(and_(feed_entries.c.feed == feed, feed_entries.c.reblog_of_id == target))
    return and_(not_(held), not_(shared))


def _entry_params(entry: Entry) -> dict:
    return {"e_status": entry.status_id, "e_author": entry.author_id, "e_reblog": entry.reblog_of_id,
            "e_target": entry.target_id}


# Built once (building them cost more than running them); deliveries per shape of recipients SELECT.
_FEED = bindparam("e_feed", type_=String)
_ADD_ONE = Prepared(feed_entries.insert().from_select(_COLUMNS, select(_FEED, *_ENTRY).where(_absent(_FEED))))
_deliveries: dict[tuple, object] = {}


class SqlFeedStore:
    """Feeds as rows of the main database: one INSERT ... SELECT per post, trimmed by a periodic sweep."""

    def __init__(self, limit: int = 800) -> None:
        self.limit = limit

    async def deliver(self, conn: AsyncConnection, entry: Entry, recipients: Recipients | None) -> list[str]:
        """Add an entry to the author's home feed and to every feed the recipients SELECT names; return those that got it."""
        own = home_key(entry.author_id)
        if recipients is None:
            await self.add_entries(conn, own, [entry])
            return [own]
        statement = _deliveries.get(recipients.key)
        if statement is None:
            # The author's own home feed rides along in the same INSERT ... SELECT (one statement, not two).
            query = recipients.query
            parts = list(query.selects) if isinstance(query, CompoundSelect) else [query]
            named = union(*parts, select(bindparam("e_own", type_=String).label("feed"))).subquery()
            statement = _deliveries[recipients.key] = feed_entries.insert().from_select(
                _COLUMNS, select(named.c.feed, *_ENTRY).where(_absent(named.c.feed))).returning(feed_entries.c.feed)
        result = await conn.execute(statement, {**recipients.params, **_entry_params(entry), "e_own": own})
        reached = [r[0] for r in result]
        if own not in reached:
            reached.append(own)
        return reached

    async def add_entries(self, conn: AsyncConnection, feed: str, entries: list[Entry]) -> None:
        """Add entries (any order) to one feed, skipping duplicates."""
        for entry in sorted(entries, key=lambda e: e.status_id):
            await _ADD_ONE.run(conn, {**_entry_params(entry), "e_feed": feed})

    async def page(self, conn: AsyncConnection, feed: str, max_id: int | None, since_id: int | None,
                   min_id: int | None, limit: int) -> list[int]:
        """Return status ids of one page of a feed, newest first."""
        col = feed_entries.c.status_id
        query = select(col).where(feed_entries.c.feed == feed)
        if max_id is not None:
            query = query.where(col < max_id)
        if since_id is not None:
            query = query.where(col > since_id)
        if min_id is not None:
            query = query.where(col > min_id).order_by(col.asc())
        else:
            query = query.order_by(col.desc())
        ids = [r[0] for r in await conn.execute(query.limit(limit))]
        return list(reversed(ids)) if min_id is not None else ids

    async def size(self, conn: AsyncConnection, feed: str) -> int:
        """How many entries a feed holds."""
        return (await conn.execute(select(func.count()).where(feed_entries.c.feed == feed))).scalar_one()

    async def holds(self, conn: AsyncConnection, feed: str, target_ids: set[int]) -> set[int]:
        """Which of these statuses a feed already shows (as itself or through a reblog)."""
        if not target_ids:
            return set()
        rows = await conn.execute(select(feed_entries.c.status_id, feed_entries.c.reblog_of_id).where(and_(
            feed_entries.c.feed == feed,
            or_(feed_entries.c.status_id.in_(target_ids), feed_entries.c.reblog_of_id.in_(target_ids)))))
        return {r.reblog_of_id or r.status_id for r in rows} & set(target_ids)

    async def remove_author(self, conn: AsyncConnection, feed: str, author_id: int) -> None:
        """Remove an author's entries from one feed."""
        await conn.execute(delete(feed_entries).where(and_(feed_entries.c.feed == feed, feed_entries.c.author_id == author_id)))

    async def remove_status(self, conn: AsyncConnection, status_id: int) -> None:
        """Remove a status and its reblogs from every feed."""
        await conn.execute(
            delete(feed_entries).where(or_(feed_entries.c.status_id == status_id, feed_entries.c.reblog_of_id == status_id)))

    async def clear(self, conn: AsyncConnection, feed: str) -> None:
        """Empty a feed."""
        await conn.execute(delete(feed_entries).where(feed_entries.c.feed == feed))

    async def trim(self, conn: AsyncConnection) -> int:
        """Cut every feed over the limit down to its newest entries; return how many entries went."""
        over = (await conn.execute(
            select(feed_entries.c.feed).group_by(feed_entries.c.feed).having(func.count() > self.limit))).scalars().all()
        removed = 0
        for feed in over:
            cutoff = (await conn.execute(
                select(feed_entries.c.status_id).where(feed_entries.c.feed == feed)
                .order_by(feed_entries.c.status_id.desc()).offset(self.limit).limit(1))).scalar()
            if cutoff is not None:
                result = await conn.execute(delete(feed_entries).where(and_(
                    feed_entries.c.feed == feed, feed_entries.c.status_id <= cutoff)))
                removed += max(result.rowcount or 0, 0)
        return removed

    async def freshness(self, feed: str) -> str:
        """Always "ok": these feeds are rows of the database itself, so they cannot be lost apart from it."""
        return "ok"

    async def mark_built(self, feed: str) -> None:
        """Nothing to record."""

    async def close(self) -> None:
        """Nothing to release."""


async def statuses_by(conn: AsyncConnection, ids: list[int]) -> dict[int, Entry]:
    """Entries for these status ids, read from the statuses table."""
    if not ids:
        return {}
    rows = await conn.execute(select(statuses.c.id, statuses.c.account_id, statuses.c.reblog_of_id).where(statuses.c.id.in_(ids)))
    return {r.id: Entry(r.id, r.account_id, r.reblog_of_id) for r in rows}
