"""Admin accounts API (v1 and v2 lists, show, action, lift, approve/reject, purge), Mastodon's shapes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.admin.common import staff_viewer
from townsquare.api.deps import ctx_of, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.params import as_bool, as_list, as_str, read_params
from townsquare.api.serializers.admin import admin_account
from townsquare.core.errors import ApiError
from townsquare.core.ids import parse_id
from townsquare.core.pagination import page_from
from townsquare.domain.models import Account
from townsquare.moderation import directory, purge, sanctions

router = APIRouter()
READ, WRITE = "admin:read:accounts", "admin:write:accounts"


async def _list(request: Request, filters: dict) -> Response:
    p = await read_params(request)
    page = page_from(p, 100, 200)
    base = ctx_of(request).settings.base_url
    async with ctx_of(request).db.read() as conn:
        rows = await directory.page_rows(conn, page, **filters)
    items = [admin_account(Account.from_row(r), base, r.registration_reason) for r in rows]
    return paged(request, items, p, rows[0].id if rows else None, rows[-1].id if rows else None)


def _text(p: dict, name: str) -> str | None:
    return as_str(p.get(name), name, 200)


@router.get("/api/v1/admin/accounts")
async def list_v1(request: Request) -> Response:
    """List accounts with the v1 filters (local, remote, active, pending, disabled, silenced, suspended, ...)."""
    await staff_viewer(request, READ)
    p = await read_params(request)
    statuses = [s for s in ("active", "pending", "disabled", "silenced", "suspended", "sensitized") if as_bool(p.get(s))]
    origin = "remote" if as_bool(p.get("remote")) else ("local" if as_bool(p.get("local")) else None)
    return await _list(request, dict(
        origin=origin, statuses=statuses, staff=as_bool(p.get("staff")), username=_text(p, "username"),
        display_name=_text(p, "display_name"), email=_text(p, "email"), ip=_text(p, "ip"), by_domain=_text(p, "by_domain")))


@router.get("/api/v2/admin/accounts")
async def list_v2(request: Request) -> Response:
    """List accounts with the v2 filters (origin, status, permissions, role_ids, username, ...)."""
    await staff_viewer(request, READ)
    p = await read_params(request)
    status = _text(p, "status")
    permissions = _text(p, "permissions")
    if permissions not in (None, "", "staff"):
        raise ApiError(422, "Validation failed: permissions must be staff")
    return await _list(request, dict(
        origin=_text(p, "origin"), statuses=[status] if status else [], staff=permissions == "staff",
        role_ids=[str(r) for r in as_list(p.get("role_ids"))], username=_text(p, "username"),
        display_name=_text(p, "display_name"), email=_text(p, "email"), ip=_text(p, "ip"), by_domain=_text(p, "by_domain")))


async def _render_one(conn, account_id: int, base: str) -> dict:
    row = await directory.account_row(conn, account_id)
    if row is None:
        raise ApiError(404, "Record not found")
    return admin_account(Account.from_row(row), base, row.registration_reason)


@router.get("/api/v1/admin/accounts/{account_id}")
async def show(request: Request, account_id: str) -> Response:
    """Show one account as moderators see it."""
    await staff_viewer(request, READ)
    async with ctx_of(request).db.read() as conn:
        return json(await _render_one(conn, path_id(account_id), ctx_of(request).settings.base_url))


@router.post("/api/v1/admin/accounts/{account_id}/action")
async def action(request: Request, account_id: str) -> Response:
    """Take a moderation action (none, sensitive, disable, silence, suspend) with a warning to the account."""
    viewer = await staff_viewer(request, WRITE)
    p = await read_params(request)
    kind = as_str(p.get("type"), "type", 20) or "none"
    report_raw = p.get("report_id")
    report_id = parse_id(report_raw) if report_raw not in (None, "") else None
    if report_raw not in (None, "") and report_id is None:
        raise ApiError(404, "Record not found")
    category = as_str(p.get("category"), "category", 20)  # extension: the reason category without a report
    if category not in (None, "", "spam", "legal", "violation", "other"):
        raise ApiError(422, "Validation failed: category must be spam, legal, violation or other")
    status_ids = [i for i in (parse_id(x) for x in as_list(p.get("status_ids"))) if i is not None]
    as_bool(p.get("send_email_notification"), True)  # validated; there is no mail: the in-app notice always goes
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        target = await sanctions.load_target(conn, path_id(account_id))
        await sanctions.take_action(
            conn, viewer.account, target, kind, text=as_str(p.get("text"), "text", 5000) or "", report_id=report_id,
            status_ids=status_ids, category=category or None, retention_days=ctx.settings.suspended_retention_days)
    ctx.after_commit()
    return json({})


def _lift_route(verb: str):
    async def endpoint(request: Request, account_id: str) -> Response:
        viewer = await staff_viewer(request, WRITE)
        p = await read_params(request)
        ctx = ctx_of(request)
        async with ctx.db.write() as conn:
            target = await sanctions.load_target(conn, path_id(account_id))
            await sanctions.lift(conn, viewer.account, target, verb, as_str(p.get("reason"), "reason", 5000) or "")
            return json(await _render_one(conn, target.id, ctx.settings.base_url))

    endpoint.__name__ = f"admin_{verb}"
    endpoint.__doc__ = f"Lift a sanction: {verb} the account."
    router.post(f"/api/v1/admin/accounts/{{account_id}}/{verb}")(endpoint)


for _verb in sanctions.LIFTS:
    _lift_route(_verb)


@router.post("/api/v1/admin/accounts/{account_id}/approve")
async def approve(request: Request, account_id: str) -> Response:
    """Approve a pending sign-up."""
    viewer = await staff_viewer(request, WRITE)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        target = await sanctions.load_target(conn, path_id(account_id))
        await sanctions.approve(conn, viewer.account, target)
        return json(await _render_one(conn, target.id, ctx.settings.base_url))


@router.post("/api/v1/admin/accounts/{account_id}/reject")
async def reject(request: Request, account_id: str) -> Response:
    """Reject a pending sign-up (the account is deleted)."""
    viewer = await staff_viewer(request, WRITE)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        target = await sanctions.load_target(conn, path_id(account_id))
        rendered = await _render_one(conn, target.id, ctx.settings.base_url)
        await sanctions.reject(conn, viewer.account, target)
    return json(rendered)


@router.delete("/api/v1/admin/accounts/{account_id}")
async def purge_data(request: Request, account_id: str) -> Response:
    """Purge a suspended account's data for good (administrators only)."""
    viewer = await staff_viewer(request, WRITE, admin_only=True)
    p = await read_params(request)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        target = await sanctions.load_target(conn, path_id(account_id))
        sanctions.check_may_act(viewer.account, target)
        rendered = await _render_one(conn, target.id, ctx.settings.base_url)
        await purge.purge_account(conn, ctx.feeds, viewer.account, target, as_str(p.get("reason"), "reason", 5000) or "")
    return json(rendered)
