"""What users see of moderation: their warnings, the appeal, and the public moderation log."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.params import as_str, read_params
from townsquare.api.serializers.admin import account_warning, public_log_entry
from townsquare.core.errors import ApiError
from townsquare.core.pagination import page_from
from townsquare.moderation import appeals as appeal_service
from townsquare.moderation import audit
from townsquare.storage import graph

router = APIRouter()


@router.get("/api/v1/account_warnings")
async def list_warnings(request: Request) -> Response:
    """List the moderation decisions about the viewer's account (extension; works while suspended)."""
    viewer = await get_viewer(request, "read:accounts")
    p = await read_params(request)
    page = page_from(p, 20, 40)
    async with ctx_of(request).db.read() as conn:
        ids = await graph.warning_ids(conn, viewer.account.id, page)
        found = await appeal_service.load_warnings(conn, ids)
    base = ctx_of(request).settings.base_url
    return paged(request, [account_warning(found[i], base) for i in ids], p, ids[0] if ids else None, ids[-1] if ids else None)


@router.get("/api/v1/account_warnings/{warning_id}")
async def show_warning(request: Request, warning_id: str) -> Response:
    """Show one moderation decision about the viewer's account."""
    viewer = await get_viewer(request, "read:accounts")
    async with ctx_of(request).db.read() as conn:
        warning = await appeal_service.own_warning(conn, viewer.account, path_id(warning_id))
    return json(account_warning(warning, ctx_of(request).settings.base_url))


@router.post("/api/v1/account_warnings/{warning_id}/appeal")
async def appeal(request: Request, warning_id: str) -> Response:
    """Appeal a moderation decision, once (extension)."""
    viewer = await get_viewer(request, "write:accounts")
    p = await read_params(request)
    text = as_str(p.get("text"), "text", appeal_service.MAX_APPEAL)
    if text is None:
        raise ApiError(422, "Validation failed: text is missing")
    async with ctx_of(request).db.write() as conn:
        warning = await appeal_service.appeal(conn, viewer.account, path_id(warning_id), text)
    return json(account_warning(warning, ctx_of(request).settings.base_url))


@router.get("/api/v1/instance/moderation_log")
async def moderation_log(request: Request) -> Response:
    """The public transparency view of moderation actions and their reason categories (extension)."""
    p = await read_params(request)
    page = page_from(p, 40, 200)
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        rows = await audit.page_rows(conn, page)
    show = ctx.settings.moderation_log_show_targets
    return paged(request, [public_log_entry(r, show) for r in rows], p, rows[0].id if rows else None, rows[-1].id if rows else None)
