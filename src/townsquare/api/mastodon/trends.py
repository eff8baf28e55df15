"""Trends: hashtags, statuses and links trending now, paged by offset as Mastodon pages them."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.params import read_params
from townsquare.api.serializers.cards import tag as render_tag
from townsquare.api.serializers.cards import trends_link
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.pagination import page_from
from townsquare.services import trends as trend_service
from townsquare.storage import statuses as status_store
from townsquare.storage import trends as trend_store

router = APIRouter()


def _offset_links(request: Request, params: dict, offset: int, limit: int, count: int) -> dict:
    """Mastodon's Link header for offset pages: next when the page is full, prev when not at the start."""
    base = ctx_of(request).settings.base_url + request.url.path
    keep = {k: v for k, v in params.items() if k not in ("offset", "limit") and isinstance(v, str)}
    links = []
    if count >= limit:
        links.append(f'<{base}?{urlencode({**keep, "limit": limit, "offset": offset + limit})}>; rel="next"')
    if offset > 0:
        links.append(f'<{base}?{urlencode({**keep, "limit": limit, "offset": max(0, offset - limit)})}>; rel="prev"')
    return {"Link": ", ".join(links)} if links else {}


async def _tags(request: Request) -> Response:
    viewer = await get_viewer(request, None, required=False)
    p = await read_params(request)
    page = page_from(p, 10, 20)
    async with ctx_of(request).db.read() as conn:
        rows = await trend_store.trending_tags(conn, page.limit, page.offset)
        days = await trend_service.tag_history(conn, [r.id for r in rows])
        followed = await trend_store.followed_among(conn, viewer.account.id, [r.id for r in rows]) if viewer.account else None
    base = ctx_of(request).settings.base_url
    items = [render_tag(r.id, r.name, base, days[r.id], None if followed is None else r.id in followed) for r in rows]
    return json(items, headers=_offset_links(request, p, page.offset, page.limit, len(rows)))


@router.get("/api/v1/trends/tags")
async def trending_tags(request: Request) -> Response:
    """Hashtags used by more accounts today than yesterday, best first, with their history."""
    return await _tags(request)


@router.get("/api/v1/trends")
async def trends_alias(request: Request) -> Response:
    """The older name of /api/v1/trends/tags."""
    return await _tags(request)


@router.get("/api/v1/trends/statuses")
async def trending_statuses(request: Request) -> Response:
    """Statuses drawing many reblogs and favourites lately, best first."""
    viewer = await get_viewer(request, None, required=False)
    viewer_id = viewer.account.id if viewer.account else None
    p = await read_params(request)
    page = page_from(p, 20, 40)
    async with ctx_of(request).db.read() as conn:
        ids = await trend_store.trending_status_ids(conn, page.limit, page.offset)
        # As in Mastodon, a viewer's trends leave out what they muted (blocks are already invisible).
        items = [s for s in await status_store.load_visible(conn, ids, viewer_id) if not s.muted]
    base = ctx_of(request).settings.base_url
    return json([render_status(s, base) for s in items], headers=_offset_links(request, p, page.offset, page.limit, len(ids)))


@router.get("/api/v1/trends/links")
async def trending_links(request: Request) -> Response:
    """Links shared by more accounts today than yesterday, best first, with their history."""
    await get_viewer(request, None, required=False)
    p = await read_params(request)
    page = page_from(p, 10, 20)
    async with ctx_of(request).db.read() as conn:
        cards = await trend_store.trending_cards(conn, page.limit, page.offset)
        days = await trend_service.link_history(conn, [c.id for c in cards])
    return json([trends_link(c, days[c.id]) for c in cards], headers=_offset_links(request, p, page.offset, page.limit, len(cards)))
