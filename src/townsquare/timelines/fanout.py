"""Fan-out: delivering a new status to the home feeds of those who follow its author."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Status
from townsquare.services.notify import notify
from townsquare.storage.tables import follows, statuses
from townsquare.timelines.feeds import FeedStore


async def fan_out_status(conn: AsyncConnection, feeds: FeedStore, status_id: int) -> int:
    """Deliver a status to followers' home feeds and 'status' notifications; return feeds reached."""
    row = (await conn.execute(select(statuses).where(statuses.c.id == status_id))).first()
    if row is None:
        return 0  # deleted before delivery: nothing to do
    status = Status.from_row(row)
    reached = await feeds.deliver_to_followers(conn, status)
    reached += await feeds.deliver_to_tag_followers(conn, status)
    if status.reblog_of_id is None and status.visibility in ("public", "unlisted", "private") and status.in_reply_to_id is None:
        subscribers = await conn.execute(
            select(follows.c.account_id).where(and_(follows.c.target_account_id == status.account_id, follows.c.notify.is_(True)))
        )
        for (account_id,) in subscribers:
            await notify(conn, account_id, status.account_id, "status", status.id)
    return reached
