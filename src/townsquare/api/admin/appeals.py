"""Admin appeals (list, approve, reject) and the audit log: Townsquare extensions under /api/v1/admin."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.admin.common import id_filter, staff_viewer
from townsquare.api.deps import ctx_of, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.params import as_str, read_params
from townsquare.api.serializers.admin import action_log, appeal as render_appeal
from townsquare.core.errors import ApiError
from townsquare.core.pagination import page_from
from townsquare.moderation import appeals as appeal_service
from townsquare.moderation import audit

router = APIRouter()


async def _render(conn, rows: list, base: str) -> list[dict]:
    warnings = await appeal_service.load_warnings(conn, [r.account_warning_id for r in rows])
    out = []
    for r in rows:
        warning = warnings[r.account_warning_id]
        out.append(render_appeal(r, warning, warning.target_account, base))
    return out


@router.get("/api/v1/admin/appeals")
async def list_appeals(request: Request) -> Response:
    """List appeals, optionally by state (pending, approved, rejected)."""
    await staff_viewer(request, "admin:read:accounts")
    p = await read_params(request)
    state = as_str(p.get("state"), "state", 20)
    if state not in (None, "", "pending", "approved", "rejected"):
        raise ApiError(422, "Validation failed: state must be pending, approved or rejected")
    page = page_from(p, 40, 200)
    async with ctx_of(request).db.read() as conn:
        rows = await appeal_service.page_rows(conn, state, page)
        items = await _render(conn, rows, ctx_of(request).settings.base_url)
    return paged(request, items, p, rows[0].id if rows else None, rows[-1].id if rows else None)


async def _decide(request: Request, appeal_id: str, approve: bool) -> Response:
    viewer = await staff_viewer(request, "admin:write:accounts")
    ctx = ctx_of(request)
    aid = path_id(appeal_id)
    async with ctx.db.write() as conn:
        await appeal_service.decide(conn, viewer.account, aid, approve)
        row = await appeal_service.get_row(conn, aid)
        return json((await _render(conn, [row], ctx.settings.base_url))[0])


@router.post("/api/v1/admin/appeals/{appeal_id}/approve")
async def approve(request: Request, appeal_id: str) -> Response:
    """Approve an appeal: the sanction is reversed and the warning overruled."""
    return await _decide(request, appeal_id, True)


@router.post("/api/v1/admin/appeals/{appeal_id}/reject")
async def reject(request: Request, appeal_id: str) -> Response:
    """Reject an appeal: the sanction stands."""
    return await _decide(request, appeal_id, False)


@router.get("/api/v1/admin/action_logs")
async def list_logs(request: Request) -> Response:
    """Read the audit log, newest first, filtered by action, target or actor."""
    await staff_viewer(request, "admin:read")
    p = await read_params(request)
    page = page_from(p, 40, 200)
    async with ctx_of(request).db.read() as conn:
        rows = await audit.page_rows(conn, page, as_str(p.get("action"), "action", 40), id_filter(p, "target_id"),
                                     id_filter(p, "account_id"))
    return paged(request, [action_log(r) for r in rows], p, rows[0].id if rows else None, rows[-1].id if rows else None)
