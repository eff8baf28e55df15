"""Timelines (home, public, tag) and the viewer's own collections (bookmarks, favourites)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer
from townsquare.api.filtering import request_filters
from townsquare.api.mastodon.common import loaded_statuses_response, statuses_response
from townsquare.api.params import as_bool, as_list, read_params
from townsquare.core.pagination import page_from
from townsquare.services.timeline_pages import home_page
from townsquare.storage import reading
from townsquare.storage.faults import StorageUnavailable
from townsquare.timelines.feeds import FeedsUnavailable
from townsquare.timelines.home import feed_incomplete, touch_activity, touch_due
from townsquare.timelines.recipients import home_key

router = APIRouter()


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
    except FeedsUnavailable:
        pass  # Redis unreachable: home_page reads the feed from the database
    async with ctx.db.read() as conn:
        filters = await request_filters(request, conn)
        items, scanned = await home_page(conn, ctx.feeds, viewer.account.id, s.hybrid_threshold, page,
                                         filters=filters, cache=ctx.status_cache)
    response = loaded_statuses_response(request, items, p, scanned, filters, "home")
    if regenerating:
        response.status_code = 206
    return response


async def _public_query(request: Request, p: dict, viewer_id: int | None, tag: str | None = None) -> Response:
    page = page_from(p)
    async with ctx_of(request).db.read() as conn:
        ids = await reading.public_ids(
            conn, viewer_id, page, tag, any_tags=[str(t) for t in as_list(p.get("any"))],
            all_tags=[str(t) for t in as_list(p.get("all"))], no_tags=[str(t) for t in as_list(p.get("none"))],
            only_media=as_bool(p.get("only_media")), remote=as_bool(p.get("remote")))
        return await statuses_response(request, conn, ids, viewer_id, p, filter_context="public")


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
    async with ctx_of(request).db.read() as conn:
        pairs = await reading.marked_pairs(conn, viewer.account.id, kind, page_from(p))
        return await statuses_response(request, conn, [sid for _, sid in pairs], viewer.account.id, p,
                                       [mark for mark, _ in pairs])


@router.get("/api/v1/bookmarks")
async def list_bookmarks(request: Request) -> Response:
    """The viewer's bookmarked statuses."""
    return await _marked(request, "bookmarks", "read:bookmarks")


@router.get("/api/v1/favourites")
async def list_favourites(request: Request) -> Response:
    """The viewer's favourited statuses."""
    return await _marked(request, "favourites", "read:favourites")
