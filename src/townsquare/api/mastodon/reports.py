"""Filing a report: POST /api/v1/reports."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.params import as_bool, as_list, as_str, read_params
from townsquare.api.serializers.admin import report as render_report
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.moderation import reports as report_service
from townsquare.storage import accounts as account_store

router = APIRouter()


@router.post("/api/v1/reports")
async def file_report(request: Request) -> Response:
    """Report an account and some of its statuses to the moderators."""
    viewer = await get_viewer(request, "write:reports")
    p = await read_params(request)
    raw_account = as_str(p.get("account_id"), "account_id", 40)
    if not raw_account:
        raise ApiError(422, "Validation failed: account_id is missing")
    target_id = parse_id(raw_account)
    status_ids = []
    for raw in as_list(p.get("status_ids")):
        sid = parse_id(raw)
        if sid is None:
            raise ApiError(422, "Validation failed: status_ids must be status ids")
        status_ids.append(sid)
    rule_ids = [str(r) for r in as_list(p.get("rule_ids"))]
    as_bool(p.get("forward"))  # validated; nothing is remote, so nothing is forwarded
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        target = await account_store.get(conn, target_id) if target_id is not None else None
        if target is None or not target.is_public:
            raise not_found()
        report_id = await report_service.create_report(
            conn, viewer.account, target, status_ids, as_str(p.get("category"), "category", 20) or None, rule_ids,
            as_str(p.get("comment"), "comment", report_service.MAX_COMMENT) or "", known_rules=set())
        row = await report_service.get(conn, report_id)
    return json(render_report(row, target, ctx.settings.base_url))
