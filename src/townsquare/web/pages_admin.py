"""Moderation for staff: the reports queue with the reported posts, resolving, account actions with a reason,
the appeals queue and the audit log (the same services and permissions as the admin API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, path_id
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.moderation import appeals as appeal_service
from townsquare.moderation import audit
from townsquare.moderation import reports as report_service
from townsquare.moderation import sanctions
from townsquare.storage import accounts as account_store
from townsquare.storage import statuses as status_store
from townsquare.web.pages_actions import signed_in_form
from townsquare.web.pages_public import older_link, page_of
from townsquare.web.render import back, page
from townsquare.web.routing import web_router
from townsquare.web.session import viewer_of

router = web_router()


def _staff(viewer) -> None:
    if viewer.account is None:
        raise ApiError(401, "Sign in to see this page.")
    if not viewer.account.is_staff:
        raise ApiError(403, "This page is for moderators.")


@router.get("/admin")
async def admin(request: Request) -> Response:
    """The reports queue (open or resolved) with the reported posts, and suspended accounts."""
    viewer = await viewer_of(request)
    _staff(viewer)
    resolved = request.query_params.get("resolved") == "1"
    lookup_name = (request.query_params.get("account") or "").strip()[:100]
    async with ctx_of(request).db.read() as conn:
        rows = await report_service.list_reports(conn, resolved, 50)
        people = await account_store.get_many(conn, {i for r in rows for i in (r.account_id, r.target_account_id)},
                                              include_suspended=True)
        found = []
        for r in rows:
            ids = [i for i in (parse_id(str(x)) for x in r.status_ids or []) if i is not None]
            found.append({"id": r.id, "category": r.category, "comment": r.comment, "created_at": r.created_at,
                          "action_taken_at": r.action_taken_at, "reporter": people.get(r.account_id),
                          "target": people.get(r.target_account_id),
                          "statuses": await status_store.load_for_moderation(conn, ids)})
        suspended = await account_store.suspended(conn, 50)
        lookup = await account_store.by_username(conn, lookup_name) if lookup_name else None
    return page(request, "admin.html", reports=[r for r in found if r["target"] is not None], resolved=resolved,
                suspended=suspended, lookup=lookup, lookup_name=lookup_name, notice=request.query_params.get("notice"))


@router.post("/admin/reports/{report_id}/resolve")
async def resolve(request: Request, report_id: str) -> Response:
    """Mark a report resolved (logged in the audit log)."""
    viewer, form = await signed_in_form(request)
    _staff(viewer)
    rid = path_id(report_id)
    async with ctx_of(request).db.write() as conn:
        await report_service.change(conn, viewer.account, rid, "resolve")
    return back(request, "/admin?notice=Report+resolved.")


@router.post("/admin/accounts/{account_id}/action")
async def account_action(request: Request, account_id: str) -> Response:
    """Warn, mark sensitive, limit or suspend an account with a reason (as POST /api/v1/admin/accounts/:id/action)."""
    viewer, form = await signed_in_form(request)
    _staff(viewer)
    aid = parse_id(account_id)
    report_id = parse_id(str(form.get("report_id") or "")) if form.get("report_id") else None
    if aid is None:
        raise not_found()
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        target = await sanctions.load_target(conn, aid)
        await sanctions.take_action(conn, viewer.account, target, str(form.get("type") or "none"),
                                    text=str(form.get("text") or "")[:5000], report_id=report_id,
                                    retention_days=ctx.settings.suspended_retention_days)
    ctx.after_commit()
    return back(request, "/admin?notice=Action+taken.")


@router.post("/admin/accounts/{account_id}/unsuspend")
async def unsuspend(request: Request, account_id: str) -> Response:
    """Lift a suspension with a reason; everything the account had comes back."""
    viewer, form = await signed_in_form(request)
    _staff(viewer)
    aid = path_id(account_id)
    async with ctx_of(request).db.write() as conn:
        target = await sanctions.load_target(conn, aid)
        await sanctions.lift(conn, viewer.account, target, "unsuspend", str(form.get("reason") or "")[:5000])
    return back(request, "/admin?notice=Suspension+lifted.")


APPEAL_STATES = (("pending", "Pending appeals"), ("approved", "Approved appeals"), ("rejected", "Rejected appeals"))
LOG_PAGE = 40


@router.get("/admin/appeals")
async def appeals_queue(request: Request) -> Response:
    """Appeals of one state (pending first) with the decision appealed (as GET /api/v1/admin/appeals)."""
    viewer = await viewer_of(request)
    _staff(viewer)
    state = request.query_params.get("state") or "pending"
    if state not in dict(APPEAL_STATES):
        raise ApiError(422, "State must be pending, approved or rejected.")
    pg = page_of(request)
    async with ctx_of(request).db.read() as conn:
        rows = await appeal_service.page_rows(conn, state, pg)
        warnings = await appeal_service.load_warnings(conn, [r.account_warning_id for r in rows])
    items = [{"id": r.id, "text": r.text, "state": r.state, "created_at": r.created_at, "decided_at": r.decided_at,
              "warning": warnings[r.account_warning_id]} for r in rows if r.account_warning_id in warnings]
    return page(request, "admin_appeals.html", appeals=items, state=state, states=APPEAL_STATES,
                notice=request.query_params.get("notice"),
                more=older_link(request, rows[-1].id if rows else None, len(rows) >= pg.limit, state=state))


@router.post("/admin/appeals/{appeal_id}/{verb}")
async def decide_appeal(request: Request, appeal_id: str, verb: str) -> Response:
    """Approve an appeal (the sanction is reversed) or reject it, logged in the audit log."""
    viewer, form = await signed_in_form(request)
    _staff(viewer)
    aid = parse_id(appeal_id)
    if aid is None or verb not in ("approve", "reject"):
        raise not_found()
    async with ctx_of(request).db.write() as conn:
        await appeal_service.decide(conn, viewer.account, aid, verb == "approve")
    done = "Appeal+approved." if verb == "approve" else "Appeal+rejected."
    return back(request, f"/admin/appeals?notice={done}")


@router.get("/admin/log")
async def audit_log(request: Request) -> Response:
    """The audit log: every moderation action, by whom, on whom and why (as GET /api/v1/admin/action_logs)."""
    viewer = await viewer_of(request)
    _staff(viewer)
    action = (request.query_params.get("action") or "").strip()[:40] or None
    pg = page_of(request)
    pg.limit = LOG_PAGE
    async with ctx_of(request).db.read() as conn:
        rows = await audit.page_rows(conn, pg, action)
    return page(request, "admin_log.html", entries=rows, action=action or "",
                more=older_link(request, rows[-1].id if rows else None, len(rows) >= pg.limit, action=action or ""))
