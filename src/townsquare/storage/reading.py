"""Read paths the web pages share with the API: public and tag timelines, an account's posts, threads, search.

Each reader returns ids (or domain objects) already restricted by the one visibility rule; callers
hydrate the ids with `statuses.load_visible`, so a page and its JSON twin show the same statuses.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, not_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.pagination import Page, apply, ordered
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage.tables import blocks, bookmarks, favourites, mutes, status_tags, statuses, tags

MAX_ANCESTORS = 40
MAX_DESCENDANTS = 4000  # a 600-post thread is well inside this


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _not_muted_or_blocked(viewer_id: int | None):
    if viewer_id is None:
        return None
    return and_(
        not_(exists().where(and_(mutes.c.account_id == viewer_id, mutes.c.target_account_id == statuses.c.account_id))),
        not_(exists().where(and_(blocks.c.account_id == viewer_id, blocks.c.target_account_id == statuses.c.account_id))),
    )


async def public_ids(conn: AsyncConnection, viewer_id: int | None, page: Page, tag: str | None = None) -> list[int]:
    """Ids of public, non-reblog statuses (optionally with a hashtag), newest first, minus the viewer's mutes and blocks."""
    query = select(statuses.c.id).where(statuses.c.visibility == "public").where(statuses.c.reblog_of_id.is_(None))
    query = query.where(visible_to(viewer_id))
    hidden = _not_muted_or_blocked(viewer_id)
    if hidden is not None:
        query = query.where(hidden)
    if tag is not None:
        tagged = select(status_tags.c.status_id).join(tags, tags.c.id == status_tags.c.tag_id)
        query = query.where(statuses.c.id.in_(tagged.where(tags.c.name == tag.lstrip("#").lower())))
    rows = ordered((await conn.execute(apply(query, statuses.c.id, page), viewer_params(viewer_id))).all(), page)
    return [r.id for r in rows]


async def account_status_ids(conn: AsyncConnection, account_id: int, viewer_id: int | None, page: Page,
                             exclude_replies: bool = False) -> list[int]:
    """Ids of an account's statuses (and reblogs) that the viewer may see, newest first."""
    query = select(statuses.c.id).where(statuses.c.account_id == account_id).where(visible_to(viewer_id))
    if exclude_replies:
        query = query.where((statuses.c.in_reply_to_id.is_(None)) | (statuses.c.in_reply_to_account_id == account_id))
    rows = ordered((await conn.execute(apply(query, statuses.c.id, page), viewer_params(viewer_id))).all(), page)
    return [r.id for r in rows]


async def thread_ids(conn: AsyncConnection, status_id: int) -> tuple[list[int], list[int]]:
    """The ancestors (oldest first) and descendants (depth first, oldest first) of a status, not yet visibility-checked."""
    ancestors: list[int] = []
    row = (await conn.execute(select(statuses.c.in_reply_to_id).where(statuses.c.id == status_id))).first()
    parent = row.in_reply_to_id if row is not None else None
    while parent is not None and len(ancestors) < MAX_ANCESTORS:
        found = (await conn.execute(select(statuses.c.id, statuses.c.in_reply_to_id).where(statuses.c.id == parent))).first()
        if found is None:
            break
        ancestors.append(found.id)
        parent = found.in_reply_to_id
    ancestors.reverse()
    # Descendants level by level (one query per depth, not per post), then ordered depth first.
    children: dict[int, list[int]] = {}
    frontier = [status_id]
    total = 0
    while frontier and total < MAX_DESCENDANTS:
        rows = (await conn.execute(select(statuses.c.id, statuses.c.in_reply_to_id)
                                   .where(statuses.c.in_reply_to_id.in_(frontier)).order_by(statuses.c.id))).all()
        frontier = []
        for r in rows:
            children.setdefault(r.in_reply_to_id, []).append(r.id)
            frontier.append(r.id)
        total += len(rows)
    descendants: list[int] = []
    stack = list(reversed(children.get(status_id, [])))
    while stack and len(descendants) < MAX_DESCENDANTS:
        current = stack.pop()
        descendants.append(current)
        stack.extend(reversed(children.get(current, [])))
    return ancestors, descendants


async def marked_rows(conn: AsyncConnection, viewer_id: int, kind: str, page: Page) -> list:
    """Rows (id, status_id) of the viewer's bookmarks or favourites, paged by the mark's id, most recent first."""
    table = {"bookmarks": bookmarks, "favourites": favourites}[kind]
    query = select(table.c.id, table.c.status_id).where(table.c.account_id == viewer_id)
    return ordered((await conn.execute(apply(query, table.c.id, page))).all(), page)


async def marked_ids(conn: AsyncConnection, viewer_id: int, kind: str, page: Page) -> list[int]:
    """Ids of the statuses the viewer bookmarked or favourited, most recent mark first."""
    return [r.status_id for r in await marked_rows(conn, viewer_id, kind, page)]


async def search_tag_names(conn: AsyncConnection, q: str, limit: int, offset: int = 0) -> list[str]:
    """Hashtag names containing the query, the exact match first, then the shortest."""
    name = q.lstrip("#").lower()
    if not name:
        return []
    rows = (await conn.execute(
        select(tags.c.name).where(tags.c.name.like(_like(name), escape="\\"))
        .order_by((tags.c.name == name).desc(), func.length(tags.c.name), tags.c.name)
        .limit(limit).offset(offset))).all()
    return [r.name for r in rows]


async def search_status_ids(conn: AsyncConnection, q: str, viewer_id: int, limit: int, offset: int = 0) -> list[int]:
    """Ids of statuses the viewer may see whose text contains the query, newest first."""
    if not q.strip():
        return []
    query = (select(statuses.c.id).where(statuses.c.reblog_of_id.is_(None)).where(visible_to(viewer_id))
             .where(func.lower(statuses.c.text).like(_like(q.lower()), escape="\\"))
             .order_by(statuses.c.id.desc()).limit(limit).offset(offset))
    return [r[0] for r in await conn.execute(query, viewer_params(viewer_id))]


async def usage_counts(conn: AsyncConnection) -> tuple[int, int]:
    """The number of approved accounts and of posts (reblogs not counted)."""
    from townsquare.storage.tables import accounts

    users = (await conn.execute(select(func.count()).select_from(accounts).where(accounts.c.approved.is_(True)))).scalar_one()
    posts = (await conn.execute(select(func.count()).select_from(statuses).where(statuses.c.reblog_of_id.is_(None)))).scalar_one()
    return users, posts
