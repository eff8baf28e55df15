"""Reading feeds: hybrid merge of huge accounts' posts, regeneration for returning readers, follows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, bindparam, exists, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.storage.job_rows import enqueue
from townsquare.storage.tables import accounts, blocks, follows, list_accounts, lists, mutes, statuses
from townsquare.timelines.feeds import Entry, FeedStore, statuses_by
from townsquare.timelines.recipients import home_key, list_key

ACTIVITY_RESOLUTION = timedelta(hours=1)  # last_active_at is written at most this often per account


# Built once: it runs on every home read.
_HYBRID_FOLLOWED = (
    select(follows.c.target_account_id)
    .join(accounts, accounts.c.id == follows.c.target_account_id)
    .where(follows.c.account_id == bindparam("account_id"))
    .where(or_(accounts.c.followers_count >= bindparam("threshold"), accounts.c.feed_hybrid.is_(True))))


async def hybrid_followed_authors(conn: AsyncConnection, account_id: int, threshold: int) -> list[int]:
    """Accounts the reader follows whose posts are merged at read time (too many followers to fan out)."""
    if threshold <= 0:
        return []
    rows = await conn.execute(_HYBRID_FOLLOWED, {"account_id": account_id, "threshold": threshold})
    return [r[0] for r in rows]


async def home_authors(conn: AsyncConnection, account_id: int) -> list[int]:
    """Everyone whose posts a home feed shows (the followed accounts outside exclusive lists, and the reader):
    merged at read time, they give the feed straight from the database."""
    exclusive = select(list_accounts.c.account_id).join(lists, lists.c.id == list_accounts.c.list_id).where(
        and_(lists.c.account_id == account_id, lists.c.exclusive.is_(True)))
    rows = await conn.execute(select(follows.c.target_account_id).where(follows.c.account_id == account_id)
                              .where(follows.c.target_account_id.not_in(exclusive)))
    return [account_id, *(r[0] for r in rows)]


async def list_members(conn: AsyncConnection, list_id: int) -> list[int]:
    """The accounts of a list (merged at read time, the list feed straight from the database)."""
    rows = await conn.execute(select(list_accounts.c.account_id).where(list_accounts.c.list_id == list_id))
    return [r[0] for r in rows]


def _hides(reader_id: int, author):
    return or_(
        exists().where(and_(mutes.c.account_id == reader_id, mutes.c.target_account_id == author)),
        exists().where(and_(blocks.c.account_id == reader_id, blocks.c.target_account_id == author)),
        exists().where(and_(blocks.c.account_id == author, blocks.c.target_account_id == reader_id)),
    )


def _hidden(reader_id: int):
    """True for a status by someone the reader muted or blocked (or is blocked by), or a reblog of one's status."""
    original = statuses.alias("original")
    return or_(
        _hides(reader_id, statuses.c.account_id),
        exists().where(and_(original.c.id == statuses.c.reblog_of_id, _hides(reader_id, original.c.account_id))),
    )


def _followed_statuses(reader_id: int, authors):
    """Statuses by these authors that a follower's home feed would have received."""
    also = follows.alias("also")
    link = follows.alias("link")
    return (
        select(statuses.c.id, statuses.c.account_id, statuses.c.reblog_of_id)
        .where(statuses.c.account_id.in_(authors))
        .where(statuses.c.visibility.in_(("public", "unlisted", "private")))
        .where(or_(
            statuses.c.in_reply_to_account_id.is_(None),
            statuses.c.in_reply_to_account_id == statuses.c.account_id,
            exists().where(and_(also.c.account_id == reader_id, also.c.target_account_id == statuses.c.in_reply_to_account_id)),
        ))
        .where(or_(statuses.c.reblog_of_id.is_(None), exists().where(and_(
            link.c.account_id == reader_id, link.c.target_account_id == statuses.c.account_id, link.c.show_reblogs.is_(True)))))
        .where(not_(_hidden(reader_id)))
    )


async def _repeats(conn: AsyncConnection, feeds: FeedStore, feed: str, reader_id: int, hybrid_authors: list[int],
                   ids: list[int], rows) -> set[int]:
    """Ids to drop so that a status shows once across the feed and the merge, as it does in a feed alone.

    A merged reblog is dropped when the feed already shows its original, or when the merge shows it
    (the original, or an earlier reblog, by a hybrid author); a fanned-out reblog of a hybrid author's
    status is dropped when the merge shows that original.
    """
    reblogs = {r.id: r.reblog_of_id for r in rows if r.reblog_of_id}
    fanned = {e.status_id: e.reblog_of_id for e in (await statuses_by(conn, ids)).values() if e.reblog_of_id}
    targets = set(reblogs.values()) | set(fanned.values())
    if not targets:
        return set()
    held = await feeds.holds(conn, feed, set(reblogs.values()))
    first: dict[int, int] = {}
    shown = _followed_statuses(reader_id, hybrid_authors).where(
        or_(statuses.c.id.in_(targets), statuses.c.reblog_of_id.in_(targets)))
    for r in await conn.execute(shown):
        target = r.reblog_of_id or r.id
        first[target] = min(first.get(target, r.id), r.id)
    drop = {i for i, t in fanned.items() if first.get(t) == t}
    drop |= {i for i, t in reblogs.items() if t in held or first.get(t) != i}
    return drop


async def read_feed(conn: AsyncConnection, feeds: FeedStore, feed: str, reader_id: int, hybrid_authors: list[int],
                    max_id: int | None, since_id: int | None, min_id: int | None, limit: int) -> list[int]:
    """One page of a feed, newest first, with the hybrid authors' posts merged in."""
    if not hybrid_authors:
        return await feeds.page(conn, feed, max_id, since_id, min_id, limit)
    ascending = min_id is not None
    kept: list[int] = []
    for _ in range(10):  # more windows only when repeats were dropped
        ids = await feeds.page(conn, feed, max_id, since_id, min_id, limit)
        query = _followed_statuses(reader_id, hybrid_authors)
        col = statuses.c.id
        if max_id is not None:
            query = query.where(col < max_id)
        if since_id is not None:
            query = query.where(col > since_id)
        if ascending:
            query = query.where(col > min_id).order_by(col.asc())
        else:
            query = query.order_by(col.desc())
        rows = (await conn.execute(query.limit(limit))).all()
        # The next `limit` statuses of the merged stream; each source gave its next `limit`.
        window = sorted({*ids, *(r.id for r in rows)}, reverse=not ascending)[:limit]
        drop = await _repeats(conn, feeds, feed, reader_id, hybrid_authors, ids, rows)
        kept.extend(i for i in window if i not in drop)
        if len(kept) >= limit or len(window) < limit:
            break
        if ascending:
            min_id = window[-1]
        else:
            max_id = window[-1]
    return sorted(kept[:limit], reverse=True)


def touch_due(last_active_at) -> bool:
    """Whether an account's activity stamp is old enough to be written again."""
    last = aware(last_active_at)
    return last is None or now() - last >= ACTIVITY_RESOLUTION


async def touch_activity(conn: AsyncConnection, account_id: int, last_active_at, active_days: int) -> bool:
    """Record that an account reads its feed; return True when it had been away long enough to need a new feed."""
    last = aware(last_active_at)
    stamp = now()
    if last is not None and stamp - last < ACTIVITY_RESOLUTION:
        return False
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(last_active_at=stamp))
    away = last is None or stamp - last > timedelta(days=active_days)
    if away:
        await enqueue(conn, "regenerate_feed", {"account_id": account_id})
    return away


async def regenerate_home(conn: AsyncConnection, feeds: FeedStore, account_id: int, hybrid_threshold: int,
                          clear: bool = True) -> int:
    """Rebuild a home feed from the database: the newest statuses of followed accounts and the reader's own."""
    followed = (
        select(follows.c.target_account_id)
        .join(accounts, accounts.c.id == follows.c.target_account_id)
        .where(follows.c.account_id == account_id))
    if hybrid_threshold > 0:
        followed = followed.where(accounts.c.followers_count < hybrid_threshold).where(accounts.c.feed_hybrid.is_(False))
    exclusive = select(list_accounts.c.account_id).join(lists, lists.c.id == list_accounts.c.list_id).where(
        and_(lists.c.account_id == account_id, lists.c.exclusive.is_(True)))
    followed = followed.where(follows.c.target_account_id.not_in(exclusive))
    query = _followed_statuses(account_id, followed).order_by(statuses.c.id.desc()).limit(feeds.limit)
    rows = (await conn.execute(query)).all()
    own = (await conn.execute(
        select(statuses.c.id, statuses.c.account_id, statuses.c.reblog_of_id)
        .where(statuses.c.account_id == account_id).where(statuses.c.visibility != "direct")
        .order_by(statuses.c.id.desc()).limit(feeds.limit))).all()
    entries = sorted({Entry(r.id, r.account_id, r.reblog_of_id) for r in [*rows, *own]}, key=lambda e: e.status_id)
    entries = entries[-feeds.limit:]
    if clear:  # a returning reader's stale feed goes; a lost one keeps what fan-outs added since the loss
        await feeds.clear(conn, home_key(account_id))
    await feeds.add_entries(conn, home_key(account_id), entries)
    await feeds.mark_built(home_key(account_id))
    return len(entries)


async def regenerate_list(conn: AsyncConnection, feeds: FeedStore, list_id: int) -> int:
    """Rebuild a list feed from the database: the newest statuses of its members its owner may see."""
    owner = (await conn.execute(select(lists.c.account_id).where(lists.c.id == list_id))).scalar()
    if owner is None:
        return 0
    members = select(list_accounts.c.account_id).where(list_accounts.c.list_id == list_id)
    rows = (await conn.execute(_followed_statuses(owner, members).order_by(statuses.c.id.desc()).limit(feeds.limit))).all()
    await feeds.add_entries(conn, list_key(list_id), [Entry(r.id, r.account_id, r.reblog_of_id) for r in rows])
    await feeds.mark_built(list_key(list_id))
    return len(rows)


async def feed_incomplete(db, feeds: FeedStore, feed: str, queue: bool = True) -> bool:
    """Whether a feed is missing entries now; when its cache lost it, queue its rebuild from the database (once)."""
    state = await feeds.freshness(feed)
    if state == "lost" and queue:
        async with db.write() as conn:
            await enqueue(conn, "rebuild_feed", {"feed": feed})
    return state != "ok"


async def rebuild_feed(conn: AsyncConnection, feeds: FeedStore, feed: str, hybrid_threshold: int) -> int:
    """Rebuild a lost home or list feed from the database, keeping what it gained since."""
    kind, _, number = feed.partition(":")
    if kind == "list":
        return await regenerate_list(conn, feeds, int(number))
    return await regenerate_home(conn, feeds, int(number), hybrid_threshold, clear=False)


async def merge_author(conn: AsyncConnection, feeds: FeedStore, feed: str, reader_id: int, author_id: int, limit: int = 40) -> None:
    """Bring an author's recent statuses into a feed (after a follow or a list addition)."""
    rows = (await conn.execute(_followed_statuses(reader_id, [author_id]).order_by(statuses.c.id.desc()).limit(limit))).all()
    await feeds.add_entries(conn, feed, [Entry(r.id, r.account_id, r.reblog_of_id) for r in rows])


async def list_hybrid_authors(conn: AsyncConnection, list_id: int, threshold: int) -> list[int]:
    """Members of a list whose posts are merged at read time."""
    if threshold <= 0:
        return []
    rows = await conn.execute(
        select(list_accounts.c.account_id).join(accounts, accounts.c.id == list_accounts.c.account_id)
        .where(list_accounts.c.list_id == list_id)
        .where(or_(accounts.c.followers_count >= threshold, accounts.c.feed_hybrid.is_(True))))
    return [r[0] for r in rows]


__all__ = ["hybrid_followed_authors", "home_authors", "list_members", "read_feed", "touch_activity", "regenerate_home", "merge_author",
           "list_hybrid_authors", "home_key", "list_key", "regenerate_list", "feed_incomplete", "rebuild_feed"]
