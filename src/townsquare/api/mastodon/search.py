"""Search across accounts, hashtags and statuses (v2): statuses by full-text search, ranked, as the viewer may see them."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.mastodon.personal import tag_entities
from townsquare.api.params import as_bool, as_str, read_params
from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.errors import ApiError, unprocessable
from townsquare.core.ids import parse_id
from townsquare.core.pagination import page_from
from townsquare.services import search as search_service

router = APIRouter()
KINDS = (None, "", *search_service.KINDS)


@router.get("/api/v2/search")
async def search(request: Request) -> Response:
    """Find accounts, hashtags and statuses matching a query."""
    viewer = await get_viewer(request, "read:search", required=False)
    viewer_id = viewer.account.id if viewer.account else None
    p = await read_params(request)
    q = (as_str(p.get("q"), "q", 500) or "").strip()
    kind = as_str(p.get("type"), "type")
    if kind not in KINDS:
        raise ApiError(422, "Validation failed: type must be accounts, hashtags or statuses")
    page = page_from(p, 20, 40)
    if page.offset and viewer_id is None:
        raise ApiError(401, "Search queries with offset require authentication")
    resolve = as_bool(p.get("resolve"))
    if resolve and viewer_id is None:
        raise ApiError(401, "Search queries that resolve remote resources are not supported without authentication")
    author = None
    if p.get("account_id") not in (None, ""):
        author = parse_id(p.get("account_id"))
        if author is None:
            raise unprocessable("account_id is not a valid id")
    following = as_bool(p.get("following"))
    base = ctx_of(request).settings.base_url
    if not q:
        return json({"accounts": [], "statuses": [], "hashtags": []})
    async with ctx_of(request).db.read() as conn:
        found = await search_service.search(conn, viewer_id, q, base_url=base, kind=kind, page=page,
                                            account_id=author, following=following)
        hashtags = await tag_entities(conn, found.hashtags, base, found.followed_tag_ids)
    # Search is none of the filter contexts: what the viewer asked for is shown as it is.
    return json({"accounts": [render_account(a, base) for a in found.accounts],
                 "statuses": [render_status(s, base) for s in found.statuses], "hashtags": hashtags})
