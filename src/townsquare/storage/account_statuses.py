"""An account's statuses as GET /api/v1/accounts/:id/statuses lists them, with Mastodon's filters.

Returns ids already restricted by the one visibility rule (callers hydrate them with
`statuses.load_visible`), each with the cursor its page is keyed by: the status id, or for pinned
statuses the pin's id (pins page in the order they were pinned).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.pagination import Page, apply, ordered
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage import media as media_rows
from townsquare.storage.tables import pins, status_tags, statuses, tags


@dataclass
class AccountStatusFilter:
    """Mastodon's filters of an account's statuses list."""

    pinned: bool = False
    exclude_replies: bool = False  # replies to others; a thread the author continues stays
    exclude_reblogs: bool = False
    only_media: bool = False
    tagged: str | None = None


async def account_status_page(conn: AsyncConnection, account_id: int, viewer_id: int | None, page: Page,
                              f: AccountStatusFilter | None = None) -> tuple[list[int], list[int]]:
    """(status ids, their page cursors) of an account's statuses the viewer may see, newest (or newest pin) first."""
    f = f or AccountStatusFilter()
    query = select(statuses.c.id).where(statuses.c.account_id == account_id).where(visible_to(viewer_id))
    column = statuses.c.id
    if f.pinned:
        query = (select(pins.c.id.label("cursor"), pins.c.status_id.label("id"))
                 .join(statuses, statuses.c.id == pins.c.status_id)
                 .where(pins.c.account_id == account_id).where(visible_to(viewer_id)))
        column = pins.c.id
    if f.exclude_replies:
        query = query.where((statuses.c.in_reply_to_id.is_(None)) | (statuses.c.in_reply_to_account_id == account_id))
    if f.exclude_reblogs:
        query = query.where(statuses.c.reblog_of_id.is_(None))
    if f.only_media:
        query = query.where(media_rows.has_media())
    if f.tagged:
        tagged = (select(status_tags.c.status_id).join(tags, tags.c.id == status_tags.c.tag_id)
                  .where(tags.c.name == f.tagged.lstrip("#").lower()))
        query = query.where(statuses.c.id.in_(tagged))
    rows = ordered((await conn.execute(apply(query, column, page), viewer_params(viewer_id))).all(), page)
    ids = [r.id for r in rows]
    return ids, ([r.cursor for r in rows] if f.pinned else ids)
