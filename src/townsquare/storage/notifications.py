"""Notification rows: pages with type filters, the unread window, and dismissing."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.pagination import Page, apply, ordered
from townsquare.moderation.policy import not_suspended_sender
from townsquare.storage.tables import notifications


def filtered_query(viewer_id: int, types: list[str] | None = None, exclude: list[str] | None = None,
                   from_account_id: int | None = None):
    """A query of the viewer's notification rows with Mastodon's types / exclude_types / account_id filters."""
    query = select(notifications).where(notifications.c.account_id == viewer_id)
    if types:
        query = query.where(notifications.c.type.in_(types))
    if exclude:
        query = query.where(notifications.c.type.not_in(exclude))
    if from_account_id is not None:
        query = query.where(notifications.c.from_account_id == from_account_id)
    return query


async def page_rows(conn: AsyncConnection, query, page: Page) -> list:
    """Return one page of a notification query, newest first."""
    return ordered((await conn.execute(apply(query, notifications.c.id, page))).all(), page)


async def unread_rows(conn: AsyncConnection, viewer_id: int, last_read_id: int | None, cap: int = 1000) -> list:
    """Return up to `cap` rows newer than the last read id, skipping suspended senders (hidden, so not counted)."""
    query = select(notifications).where(notifications.c.account_id == viewer_id).where(not_suspended_sender())
    if last_read_id is not None:
        query = query.where(notifications.c.id > last_read_id)
    return (await conn.execute(query.order_by(notifications.c.id.desc()).limit(cap))).all()


async def newest_rows(conn: AsyncConnection, viewer_id: int, limit: int) -> list:
    """Return the viewer's newest notification rows."""
    return (await conn.execute(select(notifications).where(notifications.c.account_id == viewer_id)
                               .order_by(notifications.c.id.desc()).limit(limit))).all()


async def get_row(conn: AsyncConnection, viewer_id: int, notification_id: int):
    """Return one of the viewer's notification rows, or None."""
    return (await conn.execute(select(notifications).where(and_(
        notifications.c.id == notification_id, notifications.c.account_id == viewer_id)))).first()


async def delete_rows(conn: AsyncConnection, viewer_id: int, ids: list[int] | None = None) -> int:
    """Delete some (or, with ids None, all) of the viewer's notifications; return how many went."""
    cond = notifications.c.account_id == viewer_id
    if ids is not None:
        cond = and_(cond, notifications.c.id.in_(ids))
    result = await conn.execute(delete(notifications).where(cond))
    return result.rowcount or 0


async def unread_count(conn: AsyncConnection, viewer_id: int, last_read_id: int | None, cap: int = 100) -> int:
    """How many notifications are newer than the last read id (at most `cap`), counted without loading them."""
    query = select(notifications.c.id).where(notifications.c.account_id == viewer_id).where(not_suspended_sender())
    if last_read_id is not None:
        query = query.where(notifications.c.id > last_read_id)
    return (await conn.execute(select(func.count()).select_from(query.limit(cap).subquery()))).scalar_one()
