"""Quotes of a status (Mastodon 4.5): list them, revoke one."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import statuses_response
from townsquare.api.params import read_params
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.errors import not_found
from townsquare.core.pagination import page_from
from townsquare.services import quoting
from townsquare.storage import quotes as quote_store
from townsquare.storage import statuses as status_store

router = APIRouter()


@router.get("/api/v1/statuses/{status_id}/quotes")
async def list_quotes(request: Request, status_id: str) -> Response:
    """List the accepted quotes of one of the viewer's statuses (only its author may)."""
    viewer = await get_viewer(request, "read:statuses")
    sid = path_id(status_id)
    p = await read_params(request)
    page = page_from(p, 20, 40)
    async with ctx_of(request).db.read() as conn:
        await quoting.owned_status(conn, viewer.account, sid)
        ids = await quote_store.quoting_ids(conn, sid, page)
        return await statuses_response(request, conn, ids, viewer.account.id, p)


@router.post("/api/v1/statuses/{status_id}/quotes/{quote_id}/revoke")
async def revoke_quote(request: Request, status_id: str, quote_id: str) -> Response:
    """Withdraw one of the viewer's statuses from a quote of it; answers the quoting status."""
    viewer = await get_viewer(request, "write:statuses")
    sid, qid = path_id(status_id), path_id(quote_id)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await quoting.revoke_quote(conn, viewer.account, sid, qid, ctx.settings.hybrid_threshold)
    async with ctx.db.read() as conn:
        item = await status_store.get_visible(conn, qid, viewer.account.id)
    if item is None:
        raise not_found()
    return json(render_status(item, ctx.settings.base_url))
