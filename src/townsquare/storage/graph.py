"""The social graph as rows: who follows, asks to follow, blocks or mutes whom, and list members, paged by link id."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.pagination import Page, apply, ordered
from townsquare.storage.tables import account_warnings, blocks, follow_requests, follows, list_accounts, mutes, tag_follows, tags

LINKS = {"follows": follows, "follow_requests": follow_requests, "blocks": blocks, "mutes": mutes}


async def link_rows(conn: AsyncConnection, kind: str, account_id: int, page: Page, incoming: bool = False) -> list:
    """Rows (id, other) of one kind of link from an account (or, incoming, to it), newest link first."""
    table = LINKS[kind]
    mine, other = (table.c.target_account_id, table.c.account_id) if incoming else (table.c.account_id, table.c.target_account_id)
    query = select(table.c.id, other.label("other")).where(mine == account_id)
    return ordered((await conn.execute(apply(query, table.c.id, page))).all(), page)


async def list_member_rows(conn: AsyncConnection, list_id: int, page: Page) -> list:
    """Rows (id, other) of a list's members, paged by account id."""
    query = select(list_accounts.c.account_id.label("id"), list_accounts.c.account_id.label("other")).where(
        list_accounts.c.list_id == list_id)
    return ordered((await conn.execute(apply(query, list_accounts.c.account_id, page))).all(), page)


async def pending_request_count(conn: AsyncConnection, account_id: int) -> int:
    """How many accounts ask to follow this one."""
    return (await conn.execute(select(func.count()).select_from(follow_requests)
                               .where(follow_requests.c.target_account_id == account_id))).scalar_one()


async def familiar_follower_ids(conn: AsyncConnection, viewer_id: int, target_id: int, limit: int = 40) -> list[int]:
    """Followers of the target whom the viewer follows too."""
    mine = select(follows.c.target_account_id).where(follows.c.account_id == viewer_id)
    rows = await conn.execute(select(follows.c.account_id).where(and_(
        follows.c.target_account_id == target_id, follows.c.account_id.in_(mine))).limit(limit))
    return [r[0] for r in rows]


async def followed_tag_rows(conn: AsyncConnection, account_id: int, page: Page) -> list:
    """Rows (cursor, id, name) of the hashtags an account follows, newest first."""
    query = (select(tag_follows.c.id.label("cursor"), tags.c.id, tags.c.name).join(tags, tags.c.id == tag_follows.c.tag_id)
             .where(tag_follows.c.account_id == account_id))
    return ordered((await conn.execute(apply(query, tag_follows.c.id, page))).all(), page)


async def warning_ids(conn: AsyncConnection, account_id: int, page: Page) -> list[int]:
    """Ids of the moderation warnings addressed to an account, newest first."""
    query = select(account_warnings.c.id).where(account_warnings.c.target_account_id == account_id)
    return [r.id for r in ordered((await conn.execute(apply(query, account_warnings.c.id, page))).all(), page)]
