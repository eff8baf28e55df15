"""Marks on statuses: favourite, bookmark and pin, each idempotent."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import new_id
from townsquare.domain.models import Account
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.services.notify import notify
from townsquare.storage.tables import bookmarks, favourites, pins, statuses

MAX_PINS = 5


async def _visible(conn: AsyncConnection, viewer: Account, status_id: int):
    row = (await conn.execute(select(statuses).where(statuses.c.id == status_id).where(visible_to(viewer.id)), viewer_params(viewer.id))).first()
    if row is None:
        raise not_found()
    return row


async def _mark(conn: AsyncConnection, table, viewer: Account, status_id: int) -> bool:
    present = (await conn.execute(select(table.c.id).where(and_(table.c.account_id == viewer.id, table.c.status_id == status_id)))).first()
    if present is not None:
        return False
    await conn.execute(table.insert().values(id=new_id(), account_id=viewer.id, status_id=status_id, created_at=now()))
    return True


async def _unmark(conn: AsyncConnection, table, viewer: Account, status_id: int) -> bool:
    result = await conn.execute(delete(table).where(and_(table.c.account_id == viewer.id, table.c.status_id == status_id)))
    return (result.rowcount or 0) > 0


async def favourite(conn: AsyncConnection, viewer: Account, status_id: int) -> None:
    """Favourite a status and notify its author."""
    row = await _visible(conn, viewer, status_id)
    if row.reblog_of_id:
        row = await _visible(conn, viewer, row.reblog_of_id)
    if await _mark(conn, favourites, viewer, row.id):
        await conn.execute(update(statuses).where(statuses.c.id == row.id).values(favourites_count=statuses.c.favourites_count + 1))
        await notify(conn, row.account_id, viewer.id, "favourite", row.id)


async def unfavourite(conn: AsyncConnection, viewer: Account, status_id: int) -> None:
    """Remove the viewer's favourite from a status."""
    row = await _visible(conn, viewer, status_id)
    if row.reblog_of_id:
        row = await _visible(conn, viewer, row.reblog_of_id)
    if await _unmark(conn, favourites, viewer, row.id):
        await conn.execute(update(statuses).where(and_(statuses.c.id == row.id, statuses.c.favourites_count > 0))
                           .values(favourites_count=statuses.c.favourites_count - 1))


async def bookmark(conn: AsyncConnection, viewer: Account, status_id: int) -> None:
    """Bookmark a status."""
    row = await _visible(conn, viewer, status_id)
    await _mark(conn, bookmarks, viewer, row.reblog_of_id or row.id)


async def unbookmark(conn: AsyncConnection, viewer: Account, status_id: int) -> None:
    """Remove a bookmark."""
    row = await _visible(conn, viewer, status_id)
    await _unmark(conn, bookmarks, viewer, row.reblog_of_id or row.id)


async def pin(conn: AsyncConnection, viewer: Account, status_id: int) -> None:
    """Pin one of the viewer's own public or unlisted statuses to their profile."""
    row = await _visible(conn, viewer, status_id)
    if row.account_id != viewer.id or row.reblog_of_id is not None:
        raise ApiError(422, "Validation failed: Someone else's post cannot be pinned")
    if row.visibility not in ("public", "unlisted", "private"):
        raise ApiError(422, "Validation failed: Non-public toot cannot be pinned")
    count = (await conn.execute(select(func.count()).select_from(pins).where(pins.c.account_id == viewer.id))).scalar_one()
    already = (await conn.execute(select(pins.c.id).where(and_(pins.c.account_id == viewer.id, pins.c.status_id == row.id)))).first()
    if already is None and count >= MAX_PINS:
        raise ApiError(422, f"Validation failed: You have already pinned the maximum number of toots ({MAX_PINS})")
    await _mark(conn, pins, viewer, row.id)


async def unpin(conn: AsyncConnection, viewer: Account, status_id: int) -> None:
    """Unpin a status."""
    await _visible(conn, viewer, status_id)
    await _unmark(conn, pins, viewer, status_id)
