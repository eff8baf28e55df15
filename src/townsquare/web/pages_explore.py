"""Explore: what is trending now (posts, hashtags, links), paged by offset as /api/v1/trends/* pages them,
through the same trends readers and history service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of
from townsquare.core.errors import unprocessable
from townsquare.core.pagination import MAX_OFFSET
from townsquare.services import trends as trend_service
from townsquare.storage import statuses as status_store
from townsquare.storage import trends as trend_store
from townsquare.web.render import page
from townsquare.web.routing import web_router
from townsquare.web.session import viewer_of

router = web_router()
TABS = [("/explore", "Posts"), ("/explore/tags", "Hashtags"), ("/explore/links", "News")]
STATUSES_PAGE = 20
TAGS_PAGE = 20


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset") or "0"
    try:
        value = int(raw)
    except ValueError:
        raise unprocessable("offset must be a number") from None
    if not 0 <= value <= MAX_OFFSET:
        raise unprocessable(f"offset must be between 0 and {MAX_OFFSET}")
    return value


def _links(request: Request, offset: int, limit: int, count: int) -> tuple[str | None, str | None]:
    """The next and previous page links of an offset page (next only when this page was full)."""
    path = request.url.path
    older = f"{path}?offset={offset + limit}" if count >= limit else None
    newer = (f"{path}?offset={max(0, offset - limit)}" if offset - limit > 0 else path) if offset > 0 else None
    return older, newer


def _common(request: Request) -> dict:
    title = ctx_of(request).settings.title
    return {"tabs": TABS, "og_title": f"Explore · {title}", "og_description": f"What people on {title} are talking about."}


def _uses(days) -> tuple[int, int]:
    """Uses and accounts over the last two days (Mastodon's apps show the same figure)."""
    recent = days[:2]
    return sum(d.uses for d in recent), sum(d.accounts for d in recent)


@router.get("/explore")
async def explore(request: Request) -> Response:
    """Posts drawing many boosts and favourites lately (the viewer's muted authors left out)."""
    viewer = await viewer_of(request)
    offset = _offset(request)
    async with ctx_of(request).db.read() as conn:
        ids = await trend_store.trending_status_ids(conn, STATUSES_PAGE, offset)
        items = [s for s in await status_store.load_visible(conn, ids, viewer.id) if not s.muted]
    older, newer = _links(request, offset, STATUSES_PAGE, len(ids))
    return page(request, "explore.html", **_common(request), tab="/explore", items=items, older=older, newer=newer)


async def _trend_tab(request: Request, tab: str, name: str, trending, history, label) -> Response:
    """One page of trending tags or links (the template's `name`), each with its uses today and over the week."""
    await viewer_of(request)
    offset = _offset(request)
    async with ctx_of(request).db.read() as conn:
        rows = await trending(conn, TAGS_PAGE, offset)
        days = await history(conn, [r.id for r in rows])
    older, newer = _links(request, offset, TAGS_PAGE, len(rows))
    return page(request, "explore.html", **_common(request), tab=tab, older=older, newer=newer,
                **{name: [(label(r), *_uses(days[r.id])) for r in rows]})


@router.get("/explore/tags")
async def explore_tags(request: Request) -> Response:
    """Hashtags used by more people today than usual, with how many used them."""
    return await _trend_tab(request, "/explore/tags", "tags", trend_store.trending_tags, trend_service.tag_history,
                            lambda r: r.name)


@router.get("/explore/links")
async def explore_links(request: Request) -> Response:
    """Links shared by more people today than usual, as their preview cards."""
    return await _trend_tab(request, "/explore/links", "links", trend_store.trending_cards, trend_service.link_history,
                            lambda c: c)
