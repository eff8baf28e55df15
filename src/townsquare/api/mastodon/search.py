"""Search across accounts, hashtags and statuses (v2): statuses by full-text search, ranked, as the viewer may see them."""

from __future__ import annotations

import re

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
from townsquare.services import personal
from townsquare.storage import accounts as account_store
from townsquare.storage import search as search_store
from townsquare.storage import statuses as status_store

router = APIRouter()
KINDS = (None, "", "accounts", "hashtags", "statuses")


def _local_status_id(q: str, base_url: str) -> int | None:
    """The id in a URL of one of this server's statuses (/@name/123 or /users/name/statuses/123), else None."""
    if not q.startswith(base_url + "/"):
        return None
    m = re.fullmatch(r"/(?:@[\w.-]+|users/[\w.-]+/statuses)/(\d+)", q[len(base_url):])
    return parse_id(m.group(1)) if m else None


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
    result = {"accounts": [], "statuses": [], "hashtags": []}
    if not q:
        return json(result)
    async with ctx_of(request).db.read() as conn:
        if kind in (None, "", "accounts"):
            found = await account_store.search(conn, q, page.limit, page.offset,
                                               followed_by=viewer_id if following and viewer_id is not None else None)
            result["accounts"] = [render_account(a, base) for a in found]
        if kind in (None, "", "hashtags"):
            rows = await search_store.tags_matching(conn, q, page.limit, page.offset)
            mine = await personal.followed_tag_ids(conn, viewer_id, [r.id for r in rows]) if viewer_id else set()
            result["hashtags"] = await tag_entities(conn, rows, base, mine if viewer_id else None)
        if kind in (None, "", "statuses") and viewer_id is not None:
            linked = _local_status_id(q, base)
            if linked is not None:
                ids = [linked] if not page.offset else []
            else:
                ids = await search_store.statuses_matching(conn, q, viewer_id, account_id=author, min_id=page.min_id,
                                                           max_id=page.max_id, limit=page.limit, offset=page.offset)
            # Search is none of the filter contexts: what the viewer asked for is shown as it is.
            result["statuses"] = [render_status(s, base) for s in await status_store.load_visible(conn, ids, viewer_id)]
    return json(result)
