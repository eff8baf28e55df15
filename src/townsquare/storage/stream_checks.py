"""Reads the streaming API makes per event: what personalising a status needs for many subscribers at once,
a subscriber's own notification row, and a list's owner."""

from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Status
from townsquare.moderation.policy import visible_to
from townsquare.storage.tables import (accounts, bookmarks, favourites, follows, lists, mutes, notifications, pins,
                                       statuses)


def _flag(table, viewer, status_id: int):
    return exists().where(and_(table.c.account_id == viewer, table.c.status_id == status_id))


def _checks(s: Status, viewer_ids: list[int]):
    """One query answering, for each viewer, what personalising this status needs (the viewer is a column here)."""
    viewer = accounts.c.id
    shown = s.reblog or s
    mine = statuses.alias("mine")
    columns = [
        viewer.label("viewer"),
        exists().where(and_(statuses.c.id == s.id, visible_to(viewer))).label("visible"),
        exists().where(and_(mutes.c.account_id == viewer, mutes.c.target_account_id.in_({s.account_id, shown.account_id}))).label("muted"),
        _flag(favourites, viewer, shown.id).label("favourited"),
        _flag(bookmarks, viewer, shown.id).label("bookmarked"),
        _flag(pins, viewer, shown.id).label("pinned"),
        exists().where(and_(mine.c.account_id == viewer, mine.c.reblog_of_id == shown.id)).label("reblogged"),
    ]
    if s.in_reply_to_account_id is not None:
        columns.append(exists().where(and_(
            follows.c.account_id == viewer, follows.c.target_account_id == s.in_reply_to_account_id)).label("follows_to"))
    return select(*columns).where(viewer.in_(viewer_ids))


async def subscriber_checks(conn: AsyncConnection, s: Status, viewer_ids: list[int]) -> list:
    """Rows (viewer, visible, muted, favourited, bookmarked, pinned, reblogged[, follows_to]) for these viewers."""
    return (await conn.execute(_checks(s, viewer_ids))).all()


async def own_notification(conn: AsyncConnection, viewer_id: int, notification_id: int):
    """The notification row if it is the viewer's, else None."""
    return (await conn.execute(select(notifications).where(and_(
        notifications.c.id == notification_id, notifications.c.account_id == viewer_id)))).first()


async def list_owner(conn: AsyncConnection, list_id: int) -> int | None:
    """The account owning a list, or None for an unknown list."""
    return (await conn.execute(select(lists.c.account_id).where(lists.c.id == list_id))).scalar()
