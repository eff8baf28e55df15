"""Signing up, in and out; the session is an access token, so signing out revokes it everywhere."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of
from townsquare.core.errors import ApiError
from townsquare.services import sessions
from townsquare.web.render import back, page
from townsquare.web.routing import web_router
from townsquare.web.session import SESSION_COOKIE, check_csrf, clear_session_cookie, enforce_limits, set_session_cookie, viewer_of

router = web_router()


@router.get("/auth/sign_in")
async def sign_in_form(request: Request) -> Response:
    """The sign-in form."""
    if (await viewer_of(request)).account is not None:
        return back(request, "/")
    return page(request, "sign_in.html", login="", error=None)


@router.post("/auth/sign_in")
async def sign_in(request: Request) -> Response:
    """Check the credentials (limited per IP like the password grant) and start a session."""
    form = dict(await request.form())
    check_csrf(request, form)
    await enforce_limits(request, await viewer_of(request), "sign_in")
    login = str(form.get("login") or "")[:320]
    try:
        async with ctx_of(request).db.write() as conn:
            secret, _ = await sessions.sign_in(conn, login, str(form.get("password") or ""))
    except ApiError as exc:
        if exc.status == 429:
            raise
        return page(request, "sign_in.html", status=exc.status, login=login, error=exc.error)
    response = back(request, "/")
    set_session_cookie(request, response, secret)
    return response


@router.get("/auth/sign_up")
async def sign_up_form(request: Request) -> Response:
    """The sign-up form, as the registrations setting allows (open, approval or closed)."""
    if (await viewer_of(request)).account is not None:
        return back(request, "/")
    return page(request, "sign_up.html", mode=ctx_of(request).settings.registrations, form={}, error=None)


@router.post("/auth/sign_up")
async def sign_up(request: Request) -> Response:
    """Create an account (limited per IP like POST /api/v1/accounts) and sign it in."""
    form = dict(await request.form())
    check_csrf(request, form)
    await enforce_limits(request, await viewer_of(request), "sign_up")
    mode = ctx_of(request).settings.registrations
    try:
        async with ctx_of(request).db.write() as conn:
            secret, _ = await sessions.sign_up(
                conn, mode, str(form.get("username") or "")[:30], str(form.get("email") or "")[:320],
                str(form.get("password") or "")[:1000], str(form.get("reason") or "")[:1000] or None,
                form.get("agreement") == "1")
    except ApiError as exc:
        if exc.status == 429:
            raise
        shown = {k: str(form.get(k) or "") for k in ("username", "email", "reason")}
        return page(request, "sign_up.html", status=exc.status, mode=mode, form=shown,
                    error=exc.error.removeprefix("Validation failed: "))
    response = back(request, "/")
    set_session_cookie(request, response, secret)
    return response


@router.post("/auth/sign_out")
async def sign_out(request: Request) -> Response:
    """Revoke the session's token and forget the cookie."""
    form = dict(await request.form())
    check_csrf(request, form)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        async with ctx_of(request).db.write() as conn:
            await sessions.sign_out(conn, secret)
    response = back(request, "/")
    clear_session_cookie(request, response)
    return response
