"""Creating notifications, respecting the recipient's blocks and mutes."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.services.push import queue_web_push
from townsquare.storage.tables import blocks, mutes, notifications
from townsquare.timelines.events import publish_notification


async def notify(conn: AsyncConnection, recipient_id: int, from_id: int, kind: str, status_id: int | None = None,
                 *, allow_self: bool = False, once: bool = False) -> bool:
    """Insert a notification unless it is self-inflicted (unless allowed), blocked or muted (or, with once, already made)."""
    if recipient_id == from_id and not allow_self:
        return False
    if once and (await conn.execute(select(notifications.c.id).where(and_(
            notifications.c.account_id == recipient_id, notifications.c.from_account_id == from_id,
            notifications.c.type == kind, notifications.c.status_id == status_id)).limit(1))).first():
        return False  # a job run again (after a crash) must not notify twice
    blocked = (
        await conn.execute(
            select(blocks.c.id).where(or_(
                and_(blocks.c.account_id == recipient_id, blocks.c.target_account_id == from_id),
                and_(blocks.c.account_id == from_id, blocks.c.target_account_id == recipient_id),
            )).limit(1)
        )
    ).first()
    if blocked:
        return False
    muted = (
        await conn.execute(
            select(mutes.c.id).where(and_(
                mutes.c.account_id == recipient_id, mutes.c.target_account_id == from_id,
                mutes.c.hide_notifications.is_(True),
            ))
        )
    ).first()
    if muted:
        return False
    notification_id = new_id()
    await conn.execute(
        notifications.insert().values(
            id=notification_id, account_id=recipient_id, from_account_id=from_id, type=kind, status_id=status_id, created_at=now()
        )
    )
    publish_notification(conn, recipient_id, notification_id)
    await queue_web_push(conn, recipient_id, notification_id, kind)  # committed with the notification
    return True
