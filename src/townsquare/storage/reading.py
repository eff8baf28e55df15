"""Read paths the web pages share with the API: public and tag timelines, an account's posts, threads, search.

Each reader returns ids (or domain objects) already restricted by the one visibility rule; callers
hydrate the ids with `statuses.load_visible`, so a page and its JSON twin show the same statuses.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, not_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.pagination import Page, apply, ordered
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage import media as media_rows
from townsquare.storage.tables import blocks, bookmarks, favourites, mutes, status_tags, statuses, tags


def _not_muted_or_blocked(viewer_id: int | None):
    if viewer_id is None:
        return None
    return and_(
        not_(exists().where(and_(mutes.c.account_id == viewer_id, mutes.c.target_account_id == statuses.c.account_id))),
        not_(exists().where(and_(blocks.c.account_id == viewer_id, blocks.c.target_account_id == statuses.c.account_id))),
    )


def _tagged(names: list[str]):
    return (select(status_tags.c.status_id).join(tags, tags.c.id == status_tags.c.tag_id)
            .where(tags.c.name.in_([n.lstrip("#").lower() for n in names])))


async def public_ids(conn: AsyncConnection, viewer_id: int | None, page: Page, tag: str | None = None, *,
                     any_tags: list[str] = (), all_tags: list[str] = (), no_tags: list[str] = (),
                     only_media: bool = False, remote: bool = False) -> list[int]:
    """Ids of public, non-reblog statuses, newest first, minus the viewer's mutes and blocks.

    With `tag`, those carrying it (or any of `any_tags`), every one of `all_tags` and none of `no_tags`.
    """
    query = select(statuses.c.id).where(statuses.c.visibility == "public").where(statuses.c.reblog_of_id.is_(None))
    if remote:
        query = query.where(statuses.c.id < 0)  # no federation yet: nothing is remote
    if only_media:
        query = query.where(media_rows.has_media())
    query = query.where(visible_to(viewer_id))
    hidden = _not_muted_or_blocked(viewer_id)
    if hidden is not None:
        query = query.where(hidden)
    if tag is not None:
        query = query.where(statuses.c.id.in_(_tagged([tag, *any_tags])))
        for required in all_tags:
            query = query.where(statuses.c.id.in_(_tagged([required])))
        for excluded in no_tags:
            query = query.where(statuses.c.id.not_in(_tagged([excluded])))
    rows = ordered((await conn.execute(apply(query, statuses.c.id, page), viewer_params(viewer_id))).all(), page)
    return [r.id for r in rows]


async def reblogged_by(conn: AsyncConnection, status_id: int, viewer_id: int | None, page: Page) -> list:
    """Rows (id, other) of the visible reblogs of a status and their authors, paged by the reblogs' ids."""
    query = (select(statuses.c.id, statuses.c.account_id.label("other")).where(statuses.c.reblog_of_id == status_id)
             .where(visible_to(viewer_id)))
    return ordered((await conn.execute(apply(query, statuses.c.id, page), viewer_params(viewer_id))).all(), page)


async def favourited_by(conn: AsyncConnection, status_id: int, page: Page) -> list:
    """Rows (id, other) of the favourites of a status and who gave them, paged by the favourites' ids."""
    query = select(favourites.c.id, favourites.c.account_id.label("other")).where(favourites.c.status_id == status_id)
    return ordered((await conn.execute(apply(query, favourites.c.id, page))).all(), page)


async def marked_ids(conn: AsyncConnection, viewer_id: int, kind: str, page: Page) -> list[int]:
    """Ids of the statuses the viewer bookmarked or favourited, most recent mark first."""
    return [status_id for _mark, status_id in await marked_pairs(conn, viewer_id, kind, page)]


async def marked_pairs(conn: AsyncConnection, viewer_id: int, kind: str, page: Page) -> list[tuple[int, int]]:
    """(mark id, status id) of the viewer's bookmarks or favourites, most recent first (the mark ids page)."""
    table = {"bookmarks": bookmarks, "favourites": favourites}[kind]
    query = select(table.c.id, table.c.status_id).where(table.c.account_id == viewer_id)
    rows = ordered((await conn.execute(apply(query, table.c.id, page))).all(), page)
    return [(r.id, r.status_id) for r in rows]


async def usage_counts(conn: AsyncConnection) -> tuple[int, int]:
    """The number of approved accounts and of posts (reblogs not counted)."""
    from townsquare.storage.tables import accounts

    users = (await conn.execute(select(func.count()).select_from(accounts).where(accounts.c.approved.is_(True)))).scalar_one()
    posts = (await conn.execute(select(func.count()).select_from(statuses).where(statuses.c.reblog_of_id.is_(None)))).scalar_one()
    return users, posts
