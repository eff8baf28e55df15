"""Timelines (home, public, tag) and the viewer's own collections (bookmarks, favourites)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import and_, not_, exists, select
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer
from townsquare.api.filtering import kept, render_marked, request_filters
from townsquare.api.mastodon.common import loaded_statuses_response, statuses_response
from townsquare.api.params import as_bool, as_list, read_params
from townsquare.core.pagination import apply, ordered, page_from
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage.tables import blocks, mutes, status_tags, statuses, tags
from townsquare.storage import media as media_rows
from townsquare.storage import reading
from townsquare.storage import statuses as status_store
from townsquare.storage.faults import StorageUnavailable
from townsquare.timelines.home import feed_incomplete, hybrid_followed_authors, read_feed, touch_activity, touch_due
from townsquare.timelines.recipients import home_key

router = APIRouter()


def _not_muted_or_blocked(viewer_id: int | None):
    if viewer_id is None:
        return None
    return and_(
        not_(exists().where(and_(mutes.c.account_id == viewer_id, mutes.c.target_account_id == statuses.c.account_id))),
        not_(exists().where(and_(blocks.c.account_id == viewer_id, blocks.c.target_account_id == statuses.c.account_id))),
    )


@router.get("/api/v1/timelines/home")
async def home(request: Request) -> Response:
    """The viewer's home feed; 206 while the feed of a long-absent reader is being rebuilt."""
    viewer = await get_viewer(request, "read:statuses")
    p = await read_params(request)
    page = page_from(p)
    ctx = ctx_of(request)
    s = ctx.settings
    regenerating = False
    try:
        if touch_due(viewer.account.last_active_at):
            async with ctx.db.write() as conn:
                regenerating = await touch_activity(conn, viewer.account.id, viewer.account.last_active_at, s.active_days)
            ctx.after_commit()
        # A feed the cache lost (Redis restarted empty) is rebuilt from the database: 206 until it is.
        if await feed_incomplete(ctx.db, ctx.feeds, home_key(viewer.account.id), queue=not regenerating):
            regenerating = True
            ctx.after_commit()
    except StorageUnavailable:
        pass  # a full disk: reads keep working, the activity stamp waits for the next read
    async with ctx.db.read() as conn:
        hybrid = await hybrid_followed_authors(conn, viewer.account.id, s.hybrid_threshold)
        filters = await request_filters(request, conn)
        items, scanned = await _visible_feed_page(ctx, conn, viewer.account.id, hybrid, page, filters=filters)
    response = loaded_statuses_response(request, items, p, scanned, render_marked(filters, items, s.base_url, "home"))
    if regenerating:
        response.status_code = 206
    return response


async def _visible_feed_page(ctx, conn, viewer_id: int, hybrid: list[int], page, rounds: int = 5,
                             filters=None) -> tuple[list, list[int]]:
    """Load feed entries until a page of visible statuses is found; hidden entries (a suspended author's, or
    dropped by a `hide` filter) stay in the feed."""
    visible: list = []
    scanned: list[int] = []
    max_id = page.max_id
    for _ in range(rounds):
        batch = await read_feed(conn, ctx.feeds, home_key(viewer_id), viewer_id, hybrid, max_id, page.since_id,
                                page.min_id, page.limit)
        if not batch:
            break
        # One load per batch both checks visibility and hydrates: the page is rendered from it directly.
        scanned.extend(batch)
        loaded = await status_store.load_visible(conn, batch, viewer_id)
        visible.extend(loaded if filters is None else kept(filters, loaded, "home"))
        # min_id pages read upwards from a fixed point: one round only, as before.
        if page.min_id is not None or len(visible) >= page.limit or len(batch) < page.limit:
            break
        max_id = batch[-1]
    visible = visible[: page.limit]
    if visible and page.min_id is None:
        scanned = scanned[: scanned.index(visible[-1].id) + 1]
    return visible, [scanned[0], scanned[-1]] if scanned else []


async def _public_query(request: Request, p: dict, viewer_id: int | None, tag: str | None = None) -> Response:
    page = page_from(p)
    query = select(statuses.c.id).where(statuses.c.visibility == "public").where(statuses.c.reblog_of_id.is_(None))
    if as_bool(p.get("remote")):
        query = query.where(statuses.c.id < 0)  # no federation yet: nothing is remote
    if as_bool(p.get("only_media")):
        query = query.where(media_rows.has_media())
    query = query.where(visible_to(viewer_id))
    filt = _not_muted_or_blocked(viewer_id)
    if filt is not None:
        query = query.where(filt)
    if tag is not None:
        names = [tag.lower()] + [str(t).lower() for t in as_list(p.get("any"))]
        tagged = select(status_tags.c.status_id).join(tags, tags.c.id == status_tags.c.tag_id)
        query = query.where(statuses.c.id.in_(tagged.where(tags.c.name.in_(names))))
        for required in as_list(p.get("all")):
            query = query.where(statuses.c.id.in_(tagged.where(tags.c.name == str(required).lower())))
        for excluded in as_list(p.get("none")):
            query = query.where(statuses.c.id.not_in(tagged.where(tags.c.name == str(excluded).lower())))
    async with ctx_of(request).db.read() as conn:
        rows = ordered((await conn.execute(apply(query, statuses.c.id, page), viewer_params(viewer_id))).all(), page)
        return await statuses_response(request, conn, [r.id for r in rows], viewer_id, p, filter_context="public")


@router.get("/api/v1/timelines/public")
async def public(request: Request) -> Response:
    """Public statuses of this server (all of them are local)."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    p = await read_params(request)
    return await _public_query(request, p, viewer.account.id if viewer.account else None)


@router.get("/api/v1/timelines/tag/{hashtag}")
async def tag_timeline(request: Request, hashtag: str) -> Response:
    """Public statuses with a hashtag."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    p = await read_params(request)
    return await _public_query(request, p, viewer.account.id if viewer.account else None, hashtag.lstrip("#"))


async def _marked(request: Request, kind: str, scope: str) -> Response:
    viewer = await get_viewer(request, scope)
    p = await read_params(request)
    page = page_from(p)
    async with ctx_of(request).db.read() as conn:
        rows = await reading.marked_rows(conn, viewer.account.id, kind, page)
        return await statuses_response(request, conn, [r.status_id for r in rows], viewer.account.id, p, [r.id for r in rows])


@router.get("/api/v1/bookmarks")
async def list_bookmarks(request: Request) -> Response:
    """The viewer's bookmarked statuses."""
    return await _marked(request, "bookmarks", "read:bookmarks")


@router.get("/api/v1/favourites")
async def list_favourites(request: Request) -> Response:
    """The viewer's favourited statuses."""
    return await _marked(request, "favourites", "read:favourites")

