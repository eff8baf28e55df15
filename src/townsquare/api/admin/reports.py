"""Admin reports API: list, show, update, assign_to_self, unassign, resolve, reopen (Admin::Report)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.admin.common import id_filter, staff_viewer
from townsquare.api.deps import ctx_of, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.params import as_bool, as_list, as_str, read_params
from townsquare.api.serializers.admin import admin_report
from townsquare.core.ids import parse_id
from townsquare.core.pagination import page_from
from townsquare.moderation import reports as report_service
from townsquare.storage import accounts as account_store
from townsquare.storage import statuses as status_store

router = APIRouter()
READ, WRITE = "admin:read:reports", "admin:write:reports"


async def _render(conn, rows: list, base: str) -> list[dict]:
    ids = set()
    for r in rows:
        ids |= {r.account_id, r.target_account_id, r.assigned_account_id, r.action_taken_by_account_id}
    people = await account_store.get_many(conn, {i for i in ids if i}, include_suspended=True)
    out = []
    for r in rows:
        wanted = [i for i in (parse_id(s) for s in r.status_ids or []) if i is not None]
        out.append(admin_report(r, people, await status_store.load_for_moderation(conn, wanted), base))
    return out


@router.get("/api/v1/admin/reports")
async def list_reports(request: Request) -> Response:
    """List reports, unresolved by default, filtered by reporter or target."""
    await staff_viewer(request, READ)
    p = await read_params(request)
    page = page_from(p, 100, 200)
    async with ctx_of(request).db.read() as conn:
        rows = await report_service.page_rows(conn, page, as_bool(p.get("resolved")), id_filter(p, "account_id"),
                                              id_filter(p, "target_account_id"))
        items = await _render(conn, rows, ctx_of(request).settings.base_url)
    return paged(request, items, p, rows[0].id if rows else None, rows[-1].id if rows else None)


@router.get("/api/v1/admin/reports/{report_id}")
async def show(request: Request, report_id: str) -> Response:
    """Show one report."""
    await staff_viewer(request, READ)
    async with ctx_of(request).db.read() as conn:
        row = await report_service.get(conn, path_id(report_id))
        return json((await _render(conn, [row], ctx_of(request).settings.base_url))[0])


async def _change(request: Request, report_id: str, verb: str) -> Response:
    viewer = await staff_viewer(request, WRITE)
    p = await read_params(request)
    values = {}
    if verb == "update":
        values = {"category": as_str(p.get("category"), "category", 20)}
        if "rule_ids" in p:
            values["rule_ids"] = [str(r) for r in as_list(p.get("rule_ids"))]
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        rid = path_id(report_id)
        await report_service.change(conn, viewer.account, rid, verb, as_str(p.get("reason"), "reason", 5000) or "", **values)
        row = await report_service.get(conn, rid)
        return json((await _render(conn, [row], ctx.settings.base_url))[0])


@router.put("/api/v1/admin/reports/{report_id}")
async def update(request: Request, report_id: str) -> Response:
    """Change a report's category and rules."""
    return await _change(request, report_id, "update")


def _verb_route(verb: str):
    async def endpoint(request: Request, report_id: str) -> Response:
        return await _change(request, report_id, verb)

    endpoint.__name__ = f"report_{verb}"
    endpoint.__doc__ = f"{verb.replace('_', ' ').capitalize()} a report."
    router.post(f"/api/v1/admin/reports/{{report_id}}/{verb}")(endpoint)


for _verb in ("assign_to_self", "unassign", "resolve", "reopen"):
    _verb_route(_verb)
