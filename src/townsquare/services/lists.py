"""Lists: named groups of followed accounts, each with its own feed on the FeedStore machinery."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.core.ids import new_id
from townsquare.storage.tables import follows, list_accounts, lists
from townsquare.timelines.feeds import NO_FEEDS, FeedStore, FeedsUnavailable
from townsquare.timelines.home import list_hybrid_authors, list_members, merge_author, read_feed, regenerate_list
from townsquare.timelines.recipients import home_key, list_key

REPLIES_POLICIES = ("followed", "list", "none")
MAX_LISTS = 100
MAX_TITLE = 255


@dataclass
class ListInfo:
    """A list as the API shows it."""

    id: int
    title: str
    replies_policy: str
    exclusive: bool


def _info(row) -> ListInfo:
    return ListInfo(row.id, row.title, row.replies_policy, bool(row.exclusive))


def _check(title: str | None, replies_policy: str | None) -> None:
    if title is not None and not title.strip():
        raise unprocessable("Title can't be blank")
    if title is not None and len(title) > MAX_TITLE:
        raise unprocessable(f"Title is too long (maximum is {MAX_TITLE} characters)")
    if replies_policy is not None and replies_policy not in REPLIES_POLICIES:
        raise unprocessable("Replies policy is not included in the list")


async def owned(conn: AsyncConnection, owner_id: int, list_id: int) -> ListInfo:
    """Return one of the owner's lists or raise 404."""
    row = (await conn.execute(select(lists).where(and_(lists.c.id == list_id, lists.c.account_id == owner_id)))).first()
    if row is None:
        raise not_found()
    return _info(row)


async def all_of(conn: AsyncConnection, owner_id: int) -> list[ListInfo]:
    """The owner's lists, by title."""
    rows = await conn.execute(select(lists).where(lists.c.account_id == owner_id).order_by(lists.c.title, lists.c.id))
    return [_info(r) for r in rows]


async def containing(conn: AsyncConnection, owner_id: int, account_id: int) -> list[ListInfo]:
    """The owner's lists that include an account."""
    rows = await conn.execute(
        select(lists).join(list_accounts, list_accounts.c.list_id == lists.c.id)
        .where(lists.c.account_id == owner_id).where(list_accounts.c.account_id == account_id).order_by(lists.c.title))
    return [_info(r) for r in rows]


async def create(conn: AsyncConnection, owner_id: int, title: str | None, replies_policy: str | None, exclusive: bool) -> ListInfo:
    """Create a list."""
    if title is None:
        raise unprocessable("Title can't be blank")
    _check(title, replies_policy)
    count = len(await all_of(conn, owner_id))
    if count >= MAX_LISTS:
        raise unprocessable(f"You cannot have more than {MAX_LISTS} lists")
    list_id = new_id()
    await conn.execute(lists.insert().values(id=list_id, account_id=owner_id, title=title.strip(),
                                             replies_policy=replies_policy or "list", exclusive=exclusive, created_at=now()))
    return await owned(conn, owner_id, list_id)


async def change(conn: AsyncConnection, owner_id: int, list_id: int, title: str | None, replies_policy: str | None,
                 exclusive: bool | None, feeds: FeedStore) -> ListInfo:
    """Update a list's title, replies policy or exclusivity."""
    current = await owned(conn, owner_id, list_id)
    _check(title, replies_policy)
    values = {}
    if title is not None:
        values["title"] = title.strip()
    if replies_policy is not None:
        values["replies_policy"] = replies_policy
    if exclusive is not None:
        values["exclusive"] = exclusive
    if values:
        await conn.execute(update(lists).where(lists.c.id == list_id).values(**values))
    if exclusive is not None and exclusive != current.exclusive:
        members = await member_ids(conn, list_id)
        for member in members:
            if exclusive:
                await feeds.remove_author(conn, home_key(owner_id), member)
            else:
                await merge_author(conn, feeds, home_key(owner_id), owner_id, member)
    return await owned(conn, owner_id, list_id)


async def remove(conn: AsyncConnection, owner_id: int, list_id: int, feeds: FeedStore) -> None:
    """Delete a list and its feed."""
    await owned(conn, owner_id, list_id)
    await conn.execute(delete(lists).where(lists.c.id == list_id))
    await feeds.clear(conn, list_key(list_id))


async def member_ids(conn: AsyncConnection, list_id: int) -> list[int]:
    """Ids of a list's accounts."""
    return [r[0] for r in await conn.execute(select(list_accounts.c.account_id).where(list_accounts.c.list_id == list_id))]


async def add_accounts(conn: AsyncConnection, owner_id: int, list_id: int, account_ids: list[int], feeds: FeedStore) -> None:
    """Add followed accounts to a list and bring their recent statuses into its feed."""
    info = await owned(conn, owner_id, list_id)
    if not account_ids:
        raise unprocessable("account_ids must contain at least one account")
    followed = {r[0] for r in await conn.execute(select(follows.c.target_account_id).where(and_(
        follows.c.account_id == owner_id, follows.c.target_account_id.in_(account_ids))))}
    missing = [a for a in account_ids if a not in followed]
    if missing:
        raise ApiError(422, "Validation failed: Account must be followed before being added to a list")
    present = set(await member_ids(conn, list_id))
    for account_id in dict.fromkeys(account_ids):
        if account_id in present:
            continue
        await conn.execute(list_accounts.insert().values(list_id=list_id, account_id=account_id))
        await merge_author(conn, feeds, list_key(list_id), owner_id, account_id)
        if info.exclusive:
            await feeds.remove_author(conn, home_key(owner_id), account_id)


async def remove_accounts(conn: AsyncConnection, owner_id: int, list_id: int, account_ids: list[int], feeds: FeedStore) -> None:
    """Take accounts out of a list and their statuses out of its feed."""
    info = await owned(conn, owner_id, list_id)
    for account_id in dict.fromkeys(account_ids):
        result = await conn.execute(delete(list_accounts).where(and_(
            list_accounts.c.list_id == list_id, list_accounts.c.account_id == account_id)))
        if (result.rowcount or 0) > 0:
            await feeds.remove_author(conn, list_key(list_id), account_id)
            if info.exclusive:
                await merge_author(conn, feeds, home_key(owner_id), owner_id, account_id)


async def timeline_ids(conn: AsyncConnection, feeds: FeedStore, owner_id: int, list_id: int, hybrid_threshold: int,
                       max_id: int | None, since_id: int | None, min_id: int | None, limit: int) -> list[int]:
    """Status ids of one of the owner's list feeds, newest first (404 for a list of someone else)."""
    await owned(conn, owner_id, list_id)
    try:
        # A list feed the cache lost is small: rebuilt from the database here, before the page is read.
        if await feeds.freshness(list_key(list_id)) == "lost":
            await regenerate_list(conn, feeds, list_id)
        hybrid = await list_hybrid_authors(conn, list_id, hybrid_threshold)
        return await read_feed(conn, feeds, list_key(list_id), owner_id, hybrid, max_id, since_id, min_id, limit)
    except FeedsUnavailable:  # Redis unreachable: the page straight from the database
        return await read_feed(conn, NO_FEEDS, list_key(list_id), owner_id, await list_members(conn, list_id),
                               max_id, since_id, min_id, limit)
