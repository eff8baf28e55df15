"""Purging a suspended account's data: an explicit admin action, or the optional retention period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.errors import ApiError
from townsquare.domain.models import Account
from townsquare.media import profile_images
from townsquare.moderation import audit
from townsquare.storage import accounts as account_store
from townsquare.storage import media as media_rows
from townsquare.storage.job_rows import enqueue
from townsquare.storage.tables import accounts, favourites, follows, statuses
from townsquare.timelines.feeds import FeedStore


async def _bump_each(conn: AsyncConnection, table, column: str, id_column, query) -> None:
    rows = (await conn.execute(query)).all()
    for target_id, count in rows:
        if target_id is not None:
            await conn.execute(update(table).where(id_column == target_id).values(**{column: getattr(table.c, column) - count}))


async def purge_account(conn: AsyncConnection, feeds: FeedStore, actor: Account | None, target: Account, reason: str = "") -> None:
    """Delete a suspended account and everything it owns, fixing the counters of everyone else."""
    if target.suspended_at is None:
        raise ApiError(403, "This action is not allowed: only suspended accounts can be purged")
    tid = target.id
    # Counters other accounts and statuses keep about this one.
    await _bump_each(conn, accounts, "followers_count", accounts.c.id,
                     select(follows.c.target_account_id, func.count()).where(follows.c.account_id == tid).group_by(follows.c.target_account_id))
    await _bump_each(conn, accounts, "following_count", accounts.c.id,
                     select(follows.c.account_id, func.count()).where(follows.c.target_account_id == tid).group_by(follows.c.account_id))
    await _bump_each(conn, statuses, "favourites_count", statuses.c.id,
                     select(favourites.c.status_id, func.count()).where(favourites.c.account_id == tid).group_by(favourites.c.status_id))
    await _bump_each(conn, statuses, "reblogs_count", statuses.c.id,
                     select(statuses.c.reblog_of_id, func.count()).where(and_(statuses.c.account_id == tid, statuses.c.reblog_of_id.is_not(None)))
                     .group_by(statuses.c.reblog_of_id))
    await _bump_each(conn, statuses, "replies_count", statuses.c.id,
                     select(statuses.c.in_reply_to_id, func.count()).where(and_(statuses.c.account_id == tid, statuses.c.in_reply_to_id.is_not(None)))
                     .group_by(statuses.c.in_reply_to_id))
    own = select(statuses.c.id).where(statuses.c.account_id == tid)
    # Others' reblogs of this account's statuses go with them (the foreign key cascades).
    await _bump_each(conn, accounts, "statuses_count", accounts.c.id,
                     select(statuses.c.account_id, func.count()).where(and_(statuses.c.reblog_of_id.in_(own), statuses.c.account_id != tid))
                     .group_by(statuses.c.account_id))
    for (status_id,) in (await conn.execute(own)).all():
        await feeds.remove_status(conn, status_id)
    await media_rows.discard_for_account(conn, tid)  # rows now, files by a job after the commit
    if profile_images.keys_of(target):
        await enqueue(conn, media_rows.DELETE_FILES_JOB, {"keys": profile_images.keys_of(target)})  # the avatar and header files
    await audit.record(conn, actor, "purge", "account", tid, target.username, reason)
    await conn.execute(accounts.delete().where(accounts.c.id == tid))


async def purge_if_expired(conn: AsyncConnection, feeds: FeedStore, account_id: int, retention_days: int | None,
                           at: datetime | None = None) -> bool:
    """Purge one account if it is still suspended and has been for longer than the retention period."""
    if retention_days is None:
        return False
    account = await account_store.get(conn, account_id)
    if account is None or account.suspended_at is None:
        return False
    if aware(account.suspended_at) > (at or now()) - timedelta(days=retention_days):
        return False
    await purge_account(conn, feeds, None, account, f"suspended for more than {retention_days} days")
    return True


async def purge_expired(conn: AsyncConnection, feeds: FeedStore, retention_days: int | None, at: datetime | None = None) -> list[str]:
    """Purge every account suspended for longer than the retention period; return their usernames."""
    if retention_days is None:
        return []
    cutoff = (at or now()) - timedelta(days=retention_days)
    rows = (await conn.execute(select(accounts.c.id, accounts.c.username).where(accounts.c.suspended_at < cutoff))).all()
    done = []
    for row in rows:
        if await purge_if_expired(conn, feeds, row.id, retention_days, at):
            done.append(row.username)
    return done
