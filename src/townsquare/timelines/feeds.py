"""FeedStore: the materialised home feeds, with a SQL implementation for the embedded default."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import String, and_, cast, delete, exists, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.storage.tables import blocks, feed_entries, follows, mutes, status_tags, statuses, tag_follows

FEED_LIMIT = 800


def home_key(account_id: int) -> str:
    """The feed name of an account's home timeline."""
    return f"home:{account_id}"


class FeedStore(Protocol):
    """Where home feeds live; implementations must be idempotent."""

    async def deliver_to_followers(self, conn: AsyncConnection, status) -> int:
        """Add a status to its author's and followers' home feeds; return how many feeds got it."""

    async def deliver_to_tag_followers(self, conn: AsyncConnection, status) -> int:
        """Add a public status to the home feeds of those following one of its hashtags."""

    async def page(self, conn: AsyncConnection, account_id: int, max_id: int | None, since_id: int | None,
                   min_id: int | None, limit: int) -> list[int]:
        """Return status ids of a home feed page, newest first."""

    async def merge_account(self, conn: AsyncConnection, account_id: int, author_id: int, limit: int = 40) -> None:
        """Add an author's recent statuses to an account's home feed (after a follow)."""

    async def remove_account(self, conn: AsyncConnection, account_id: int, author_id: int) -> None:
        """Remove an author's statuses from an account's home feed (after an unfollow or block)."""

    async def remove_status(self, conn: AsyncConnection, status_id: int) -> None:
        """Remove a status and its reblogs from every feed."""


class SqlFeedStore:
    """Home feeds as rows of the main database, filled by one INSERT ... SELECT per post."""

    async def deliver_to_followers(self, conn: AsyncConnection, status) -> int:
        """Add a status to its author's and followers' home feeds; return how many feeds got it."""
        target_id = status.reblog_of_id or status.id
        recipients = select(follows.c.account_id.label("rid")).where(follows.c.target_account_id == status.account_id)
        if status.reblog_of_id:
            recipients = recipients.where(follows.c.show_reblogs.is_(True))
        if status.in_reply_to_account_id and status.in_reply_to_account_id != status.account_id:
            # A reply reaches only followers who also follow the account it answers.
            also = follows.alias("also")
            recipients = recipients.where(
                follows.c.account_id.in_(
                    select(also.c.account_id).where(also.c.target_account_id == status.in_reply_to_account_id)
                )
            )
        if status.visibility == "direct":
            return 0
        rid = recipients.subquery()
        feed_name = literal("home:") + cast(rid.c.rid, String)
        authors = [status.account_id]
        if status.reblog_of_id:
            # A reblog must not bring home a status by someone the recipient muted or blocked.
            original = (await conn.execute(select(statuses.c.account_id).where(statuses.c.id == status.reblog_of_id))).first()
            if original is not None:
                authors.append(original.account_id)
        muted = exists().where(and_(mutes.c.account_id == rid.c.rid, mutes.c.target_account_id.in_(authors)))
        blocked = exists().where(or_(
            and_(blocks.c.account_id == rid.c.rid, blocks.c.target_account_id.in_(authors)),
            and_(blocks.c.account_id.in_(authors), blocks.c.target_account_id == rid.c.rid),
        ))
        already = exists().where(and_(
            feed_entries.c.feed == feed_name,
            or_(feed_entries.c.status_id == target_id, feed_entries.c.reblog_of_id == target_id),
        ))
        query = select(feed_name, literal(status.id), literal(status.account_id), literal(status.reblog_of_id)).where(
            not_(muted), not_(blocked), not_(already)
        )
        result = await conn.execute(
            feed_entries.insert().from_select(["feed", "status_id", "author_id", "reblog_of_id"], query)
        )
        own = home_key(status.account_id)
        own_has = (await conn.execute(select(feed_entries.c.status_id).where(and_(
            feed_entries.c.feed == own,
            or_(feed_entries.c.status_id.in_((status.id, target_id)), feed_entries.c.reblog_of_id == target_id),
        )))).first()
        if own_has is None:
            await conn.execute(feed_entries.insert().values(
                feed=own, status_id=status.id, author_id=status.account_id, reblog_of_id=status.reblog_of_id))
        return max(result.rowcount or 0, 0) + 1

    async def deliver_to_tag_followers(self, conn: AsyncConnection, status) -> int:
        """Add a public status to the home feeds of those following one of its hashtags."""
        if status.visibility != "public" or status.reblog_of_id is not None:
            return 0
        rid = (
            select(tag_follows.c.account_id.label("rid"))
            .where(tag_follows.c.tag_id.in_(select(status_tags.c.tag_id).where(status_tags.c.status_id == status.id)))
            .distinct()
            .subquery()
        )
        feed_name = literal("home:") + cast(rid.c.rid, String)
        muted = exists().where(and_(mutes.c.account_id == rid.c.rid, mutes.c.target_account_id == status.account_id))
        blocked = exists().where(or_(
            and_(blocks.c.account_id == rid.c.rid, blocks.c.target_account_id == status.account_id),
            and_(blocks.c.account_id == status.account_id, blocks.c.target_account_id == rid.c.rid),
        ))
        already = exists().where(and_(feed_entries.c.feed == feed_name, feed_entries.c.status_id == status.id))
        query = select(feed_name, literal(status.id), literal(status.account_id), literal(None)).where(
            not_(muted), not_(blocked), not_(already))
        result = await conn.execute(feed_entries.insert().from_select(["feed", "status_id", "author_id", "reblog_of_id"], query))
        return max(result.rowcount or 0, 0)

    async def page(self, conn: AsyncConnection, account_id: int, max_id: int | None, since_id: int | None,
                   min_id: int | None, limit: int) -> list[int]:
        """Return status ids of a home feed page, newest first."""
        query = select(feed_entries.c.status_id).where(feed_entries.c.feed == home_key(account_id))
        col = feed_entries.c.status_id
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

    async def merge_account(self, conn: AsyncConnection, account_id: int, author_id: int, limit: int = 40) -> None:
        """Add an author's recent statuses to an account's home feed (after a follow)."""
        key = home_key(account_id)
        recent = (
            select(statuses.c.id, statuses.c.reblog_of_id)
            .where(statuses.c.account_id == author_id)
            .where(statuses.c.visibility.in_(("public", "unlisted", "private")))
            .where(or_(statuses.c.in_reply_to_account_id.is_(None), statuses.c.in_reply_to_account_id == author_id))
            .order_by(statuses.c.id.desc())
            .limit(limit)
            .subquery()
        )
        present = exists().where(and_(feed_entries.c.feed == key, feed_entries.c.status_id == recent.c.id))
        await conn.execute(
            feed_entries.insert().from_select(
                ["feed", "status_id", "author_id", "reblog_of_id"],
                select(literal(key), recent.c.id, literal(author_id), recent.c.reblog_of_id).where(not_(present)),
            )
        )

    async def remove_account(self, conn: AsyncConnection, account_id: int, author_id: int) -> None:
        """Remove an author's statuses from an account's home feed (after an unfollow or block)."""
        await conn.execute(
            delete(feed_entries).where(and_(feed_entries.c.feed == home_key(account_id), feed_entries.c.author_id == author_id))
        )

    async def remove_status(self, conn: AsyncConnection, status_id: int) -> None:
        """Remove a status and its reblogs from every feed."""
        await conn.execute(
            delete(feed_entries).where(or_(feed_entries.c.status_id == status_id, feed_entries.c.reblog_of_id == status_id))
        )
