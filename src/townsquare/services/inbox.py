"""Reading notifications: rows hydrated into domain Notifications, and the unread ones."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Notification
from townsquare.moderation.appeals import load_warnings
from townsquare.services.personal import get_markers
from townsquare.storage import accounts as account_store
from townsquare.storage import notifications as notification_store
from townsquare.storage import statuses as status_store


async def hydrate(conn: AsyncConnection, rows, viewer_id: int, cache=None) -> list[Notification]:
    """Turn notification rows into Notifications, dropping those whose sender or status the viewer may no longer see
    (statuses from the rendered-status cache when one is given)."""
    accounts = await account_store.get_many(conn, {r.from_account_id for r in rows})
    status_ids = list({r.status_id for r in rows if r.status_id})
    found = {s.id: s for s in await status_store.load_visible(conn, status_ids, viewer_id, cache)}
    warnings = await load_warnings(conn, [r.account_warning_id for r in rows if r.account_warning_id])
    out = []
    for r in rows:
        if r.from_account_id not in accounts:
            continue
        status = found.get(r.status_id) if r.status_id else None
        if r.status_id and status is None:
            continue  # the status is gone or no longer visible
        if r.type == "reblog" and status is not None and status.reblog is not None:
            status = status.reblog  # Mastodon shows the reblogged status, not the reblog wrapper
        out.append(Notification(id=r.id, type=r.type, created_at=r.created_at, account=accounts[r.from_account_id], status=status,
                                moderation_warning=warnings.get(r.account_warning_id) if r.account_warning_id else None))
    return out


async def unread_rows(conn: AsyncConnection, viewer_id: int, cap: int = 1000) -> list:
    """Return up to `cap` notification rows newer than the viewer's notifications marker."""
    marker = await get_markers(conn, viewer_id, ["notifications"])
    return await notification_store.unread_rows(conn, viewer_id, marker[0].last_read_id if marker else None, cap)


async def unread_count(conn: AsyncConnection, viewer_id: int, cap: int = 100) -> int:
    """How many notifications are newer than the viewer's notifications marker (at most `cap`)."""
    marker = await get_markers(conn, viewer_id, ["notifications"])
    return await notification_store.unread_count(conn, viewer_id, marker[0].last_read_id if marker else None, cap)
