"""The viewer's settings: profile, password, and the warnings and appeals of a sanctioned account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.moderation import appeals
from townsquare.services import accounts as account_service
from townsquare.services import sessions
from townsquare.web.pages_actions import signed_in_form
from townsquare.web.pages_me import signed_in
from townsquare.web.render import back, page
from townsquare.web.routing import web_router
from townsquare.web.session import check_csrf, viewer_of

router = web_router()


@router.get("/settings")
async def settings(request: Request) -> Response:
    """Profile and password settings."""
    await signed_in(request)
    return page(request, "settings.html", notice=request.query_params.get("notice"))


@router.post("/settings/profile")
async def save_profile(request: Request) -> Response:
    """Save display name, bio, fields, locked, discoverable and default visibility (as update_credentials does)."""
    viewer, form = await signed_in_form(request)
    fields = [{"name": str(form.get(f"field_name_{i}") or ""), "value": str(form.get(f"field_value_{i}") or "")}
              for i in range(4)]
    changes = {"display_name": str(form.get("display_name") or ""), "note": str(form.get("note") or ""),
               "locked": form.get("locked") == "1", "discoverable": form.get("discoverable") == "1",
               "fields": fields, "privacy": str(form.get("privacy") or "public")}
    async with ctx_of(request).db.write() as conn:
        await account_service.update_credentials(conn, viewer.account, changes)
    return back(request, "/settings?notice=Profile+saved.")


@router.post("/settings/password")
async def change_password(request: Request) -> Response:
    """Change the password; every other session and app token is revoked."""
    viewer, form = await signed_in_form(request)
    async with ctx_of(request).db.write() as conn:
        await sessions.change_password(conn, viewer.account, str(form.get("current_password") or ""),
                                       str(form.get("new_password") or ""), viewer.token_id)
    return back(request, "/settings?notice=Password+changed.")


async def account_status(request: Request) -> Response:
    """What a suspended or pending account sees instead of any page: its warnings and the appeal form."""
    viewer = await signed_in(request)
    async with ctx_of(request).db.read() as conn:
        warnings = await appeals.warnings_for(conn, viewer.id)
    return page(request, "account_status.html", warnings=warnings)


@router.get("/account_status")
async def account_status_page(request: Request) -> Response:
    """The account's moderation decisions and appeals."""
    return await account_status(request)


@router.post("/account_status/{warning_id}/appeal")
async def appeal(request: Request, warning_id: str) -> Response:
    """Appeal a decision, once (works while suspended)."""
    viewer = await viewer_of(request)
    form = dict(await request.form())
    check_csrf(request, form)
    if viewer.account is None:
        raise ApiError(401, "Sign in first.")
    wid = parse_id(warning_id)
    if wid is None:
        raise not_found()
    async with ctx_of(request).db.write() as conn:
        await appeals.appeal(conn, viewer.account, wid, str(form.get("text") or "")[:appeals.MAX_APPEAL + 1])
    return back(request, "/account_status")
