"""Scheduled status rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.ids import new_id
from townsquare.core.pagination import Page, apply, ordered
from townsquare.domain.models import ScheduledStatus
from townsquare.storage.tables import scheduled_statuses


def _item(row) -> ScheduledStatus:
    item = ScheduledStatus.from_row(row)
    item.scheduled_at = aware(item.scheduled_at)
    return item


async def insert(conn: AsyncConnection, account_id: int, when: datetime, params: dict) -> ScheduledStatus:
    """Insert a scheduled status and return it."""
    item = ScheduledStatus(id=new_id(), account_id=account_id, scheduled_at=when, params=params, created_at=now())
    await conn.execute(scheduled_statuses.insert().values(
        id=item.id, account_id=account_id, scheduled_at=when, params=params, created_at=item.created_at))
    return item


async def get(conn: AsyncConnection, scheduled_id: int) -> ScheduledStatus | None:
    """One scheduled status, or None."""
    row = (await conn.execute(select(scheduled_statuses).where(scheduled_statuses.c.id == scheduled_id))).first()
    return None if row is None else _item(row)


async def page_of(conn: AsyncConnection, account_id: int, page: Page) -> list[ScheduledStatus]:
    """One page of an account's scheduled statuses, newest id first."""
    query = select(scheduled_statuses).where(scheduled_statuses.c.account_id == account_id)
    rows = ordered((await conn.execute(apply(query, scheduled_statuses.c.id, page))).all(), page)
    return [_item(r) for r in rows]


def _others(account_id: int, ignore_id: int | None):
    condition = scheduled_statuses.c.account_id == account_id
    if ignore_id is not None:
        condition = and_(condition, scheduled_statuses.c.id != ignore_id)
    return condition


async def count_pending(conn: AsyncConnection, account_id: int, ignore_id: int | None = None) -> int:
    """How many statuses an account has waiting."""
    query = select(func.count()).select_from(scheduled_statuses).where(_others(account_id, ignore_id))
    return (await conn.execute(query)).scalar_one()


async def count_between(conn: AsyncConnection, account_id: int, start: datetime, end: datetime,
                        ignore_id: int | None = None) -> int:
    """How many of an account's statuses are scheduled in [start, end)."""
    query = select(func.count()).select_from(scheduled_statuses).where(and_(
        _others(account_id, ignore_id), scheduled_statuses.c.scheduled_at >= start, scheduled_statuses.c.scheduled_at < end))
    return (await conn.execute(query)).scalar_one()


async def set_time(conn: AsyncConnection, scheduled_id: int, when: datetime) -> None:
    """Move a scheduled status to another time."""
    await conn.execute(update(scheduled_statuses).where(scheduled_statuses.c.id == scheduled_id).values(scheduled_at=when))


async def remove(conn: AsyncConnection, scheduled_id: int) -> None:
    """Delete a scheduled status."""
    await conn.execute(delete(scheduled_statuses).where(scheduled_statuses.c.id == scheduled_id))
