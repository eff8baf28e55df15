"""Search across accounts, hashtags and statuses (v2)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.params import as_bool, as_str, read_params
from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.errors import ApiError
from townsquare.core.ids import parse_id
from townsquare.core.pagination import page_from
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage import accounts as account_store
from townsquare.storage import statuses as status_store
from townsquare.storage.tables import follows, statuses, tags

router = APIRouter()


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def tag_entity(name: str, base_url: str) -> dict:
    """Render a Tag entity."""
    return {"name": name, "url": f"{base_url}/tags/{name}", "history": [], "following": False}


@router.get("/api/v2/search")
async def search(request: Request) -> Response:
    """Find accounts, hashtags and statuses matching a query."""
    viewer = await get_viewer(request, "read:search", required=False)
    viewer_id = viewer.account.id if viewer.account else None
    p = await read_params(request)
    q = (as_str(p.get("q"), "q", 500) or "").strip()
    kind = as_str(p.get("type"), "type")
    if kind not in (None, "", "accounts", "hashtags", "statuses"):
        raise ApiError(422, "Validation failed: type must be accounts, hashtags or statuses")
    page = page_from(p, 20, 40)
    if (page.offset and viewer_id is None):
        raise ApiError(401, "Search queries with offset require authentication")
    base = ctx_of(request).settings.base_url
    result = {"accounts": [], "statuses": [], "hashtags": []}
    if not q:
        return json(result)
    async with ctx_of(request).db.read() as conn:
        if kind in (None, "", "accounts"):
            found = await account_store.search(conn, q, page.limit + 200 if as_bool(p.get("following")) else page.limit, page.offset)
            if as_bool(p.get("following")) and viewer_id is not None:
                mine = {r[0] for r in await conn.execute(select(follows.c.target_account_id).where(follows.c.account_id == viewer_id))}
                found = [a for a in found if a.id in mine][: page.limit]
            result["accounts"] = [render_account(a, base) for a in found]
        if kind in (None, "", "hashtags"):
            name = q.lstrip("#").lower()
            rows = (await conn.execute(
                select(tags.c.name).where(tags.c.name.like(_like(name), escape="\\"))
                .order_by((tags.c.name == name).desc(), func.length(tags.c.name), tags.c.name)
                .limit(page.limit).offset(page.offset))).all()
            result["hashtags"] = [tag_entity(r.name, base) for r in rows]
        if kind in (None, "", "statuses") and viewer_id is not None:
            query = (select(statuses.c.id).where(statuses.c.reblog_of_id.is_(None)).where(visible_to(viewer_id))
                     .where(func.lower(statuses.c.text).like(_like(q.lower()), escape="\\")))
            author = parse_id(p.get("account_id")) if p.get("account_id") else None
            if author is not None:
                query = query.where(statuses.c.account_id == author)
            if page.max_id is not None:
                query = query.where(statuses.c.id < page.max_id)
            if page.min_id is not None:
                query = query.where(statuses.c.id > page.min_id)
            ids = [r[0] for r in await conn.execute(query.order_by(statuses.c.id.desc()).limit(page.limit).offset(page.offset),
                                                    viewer_params(viewer_id))]
            result["statuses"] = [render_status(s, base) for s in await status_store.load_visible(conn, ids, viewer_id)]
    return json(result)
