"""OAuth 2: app registration, the authorize page, the token endpoint and revocation."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.params import as_list, as_str, read_params
from townsquare.api.ratelimit import throttle
from townsquare.core.errors import ApiError
from townsquare.core.ids import render_id
from townsquare.services import auth
from townsquare.storage import accounts as account_store
from townsquare.web.render import page as web_page
from townsquare.web.session import check_csrf, viewer_of

router = APIRouter()


def _app_entity(row, with_secret: bool, vapid_key: str = "") -> dict:
    uris = [u for u in row["redirect_uris"].split("\n") if u]
    data = {
        "id": render_id(row["id"]),
        "name": row["name"],
        "website": row["website"],
        "scopes": row["scopes"].split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": vapid_key,
    }
    if with_secret:
        data.update(client_id=row["client_id"], client_secret=row["client_secret"], client_secret_expires_at=0)
    return data


@router.post("/api/v1/apps")
async def create_app(request: Request) -> Response:
    """Register a client application."""
    p = await read_params(request)
    name = as_str(p.get("client_name"), "client_name", 200)
    if not name or not name.strip():
        raise ApiError(422, "Validation failed: Application name can't be blank")
    raw_uris = p.get("redirect_uris")
    uris = [u.strip() for item in as_list(raw_uris) for u in str(item).split("\n") if u.strip()] if raw_uris else []
    if not uris:
        raise ApiError(422, "Validation failed: Redirect URI can't be blank")
    for uri in uris:
        if uri != auth.OOB and "://" not in uri:
            raise ApiError(422, "Validation failed: Redirect URI must be an absolute URI.")
    scopes = auth.parse_scopes(p.get("scopes"), "read")
    website = as_str(p.get("website"), "website", 2000) or None
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        row = await auth.create_app(conn, name.strip(), uris, scopes, website)
    return json(_app_entity(row, True, ctx.settings.vapid_public_key))


@router.get("/api/v1/apps/verify_credentials")
async def verify_app(request: Request) -> Response:
    """Show the application behind the token."""
    viewer = await get_viewer(request, user=False)
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        row = await auth.app_by_id(conn, viewer.app_id)
    if row is None:
        raise ApiError(401, "The access token is invalid")
    data = _app_entity(row._mapping, False, ctx.settings.vapid_public_key)
    return json(data)


@router.get("/.well-known/oauth-authorization-server")
async def server_metadata(request: Request) -> Response:
    """RFC 8414 metadata, listing the grants and scopes this server supports."""
    base = ctx_of(request).settings.base_url
    return json({
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "scopes_supported": sorted(auth.ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    })


async def _authorize_context(request: Request, p: dict):
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        app = await auth.app_by_client_id(conn, as_str(p.get("client_id"), "client_id"))
    if app is None:
        raise ApiError(400, "invalid_client", "Client authentication failed due to unknown client.")
    redirect_uri = as_str(p.get("redirect_uri"), "redirect_uri") or app.redirect_uris.split("\n")[0]
    if redirect_uri not in app.redirect_uris.split("\n"):
        raise ApiError(400, "invalid_request", "The redirect uri included is not valid.")
    if (p.get("response_type") or "code") != "code":
        raise ApiError(400, "unsupported_response_type", "The authorization server does not support this response type.")
    scopes = auth.parse_scopes(p.get("scope") or p.get("scopes"), app.scopes.split()[0] if app.scopes else "read")
    if not auth.scopes_within(scopes, app.scopes.split()):
        raise ApiError(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    method = p.get("code_challenge_method")
    if p.get("code_challenge") and (method or "plain") not in ("S256", "plain"):
        raise ApiError(400, "invalid_request", "Only S256 and plain code challenges are supported.")
    return app, redirect_uri, scopes


def _hidden_fields(p: dict, redirect_uri: str, scopes: list[str]) -> dict:
    hidden = {k: str(p[k]) for k in ("client_id", "response_type", "state", "code_challenge", "code_challenge_method") if p.get(k)}
    hidden.update(redirect_uri=redirect_uri, scope=" ".join(scopes))
    return hidden


def _page(request: Request, app, scopes, hidden: dict, **extra) -> HTMLResponse:
    # The web app's layout and session: a signed-in browser approves without typing its password again.
    # No form-action in the CSP here: the approval redirects to the app's own redirect URI.
    return web_page(request, "authorize.html", status=extra.get("status", 200), form_action=False, app_name=app.name,
                    scopes=" ".join(scopes), hidden=hidden, username=extra.get("username", ""),
                    error=extra.get("error"), code=extra.get("code"))


@router.get("/oauth/authorize")
async def authorize_page(request: Request) -> Response:
    """Show the sign-in and consent page."""
    await viewer_of(request)
    p = await read_params(request)
    app, redirect_uri, scopes = await _authorize_context(request, p)
    hidden = _hidden_fields(p, redirect_uri, scopes)
    return _page(request, app, scopes, hidden)


@router.post("/oauth/authorize")
async def authorize_submit(request: Request) -> Response:
    """Check the credentials on the consent page and hand out a code."""
    p = await read_params(request)
    app, redirect_uri, scopes = await _authorize_context(request, p)
    hidden = _hidden_fields(p, redirect_uri, scopes)
    state = p.get("state")
    if p.get("decision") == "deny":
        if redirect_uri == auth.OOB:
            return _page(request, app, scopes, hidden, error="Authorization was denied.")
        query = {"error": "access_denied", **({"state": state} if state else {})}
        return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}", status_code=302)
    ctx = ctx_of(request)
    username = as_str(p.get("username"), "username", 320) or ""
    viewer = await viewer_of(request)
    if p.get("session") == "1":
        check_csrf(request, p)
        if viewer.account is None or viewer.restricted:
            return _page(request, app, scopes, hidden, error="Your session has ended: sign in again.", status=401)
        async with ctx.db.write() as conn:
            code = await auth.create_code(conn, app.id, viewer.account.id, scopes, redirect_uri, p.get("code_challenge"),
                                          p.get("code_challenge_method"))
        return _code_answer(request, app, scopes, hidden, code, redirect_uri, state)
    async with ctx.db.write() as conn:
        account = await account_store.by_login(conn, username)
        if account is None or not auth.verify_password(account.password_hash, str(p.get("password") or "")):
            return _page(request, app, scopes, hidden, username=username, error="Invalid username or password.", status=401)
        if not account.approved:
            return _page(request, app, scopes, hidden, username=username, error="Your account is pending approval.", status=403)
        if account.suspended_at is not None or account.disabled_at is not None:
            return _page(request, app, scopes, hidden, username=username, error="Your login is currently disabled.", status=403)
        code = await auth.create_code(conn, app.id, account.id, scopes, redirect_uri, p.get("code_challenge"), p.get("code_challenge_method"))
    return _code_answer(request, app, scopes, hidden, code, redirect_uri, state)


def _code_answer(request: Request, app, scopes, hidden: dict, code: str, redirect_uri: str, state) -> Response:
    if redirect_uri == auth.OOB:
        return _page(request, app, scopes, hidden, code=code)
    query = {"code": code, **({"state": state} if state else {})}
    return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}", status_code=302)


def _client_credentials(request: Request, p: dict) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return cid, secret
        except Exception:
            raise ApiError(401, "invalid_client", "Client authentication failed.") from None
    return as_str(p.get("client_id"), "client_id"), as_str(p.get("client_secret"), "client_secret")


def _token_response(secret: str, scopes: list[str], created_at) -> Response:
    return json({"access_token": secret, "token_type": "Bearer", "scope": " ".join(scopes), "created_at": int(created_at.timestamp())})


@router.post("/oauth/token")
@router.post("/oauth/v2/token")
async def token(request: Request) -> Response:
    """Issue a token for the authorization_code, password or client_credentials grant."""
    p = await read_params(request)
    cid, csecret = _client_credentials(request, p)
    ctx = ctx_of(request)
    grant = p.get("grant_type")
    if grant == "password":
        await throttle(request, ctx, "sign_in")
    async with ctx.db.write() as conn:
        app = await auth.app_by_client_id(conn, cid)
        if app is None or (csecret is not None and csecret != app.client_secret) or (csecret is None and grant != "authorization_code"):
            raise ApiError(401, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
        if grant == "authorization_code":
            if csecret is None and not p.get("code_verifier"):
                raise ApiError(401, "invalid_client", "Client authentication failed.")
            code = await auth.redeem_code(conn, app.id, str(p.get("code") or ""), p.get("redirect_uri"), p.get("code_verifier"))
            secret, row = await auth.issue_token(conn, app.id, code.account_id, code.scopes.split())
        elif grant == "password":
            scopes = auth.parse_scopes(p.get("scope") or p.get("scopes"), app.scopes.split()[0])
            if not auth.scopes_within(scopes, app.scopes.split()):
                raise ApiError(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
            account = await account_store.by_login(conn, str(p.get("username") or ""))
            if account is None or not auth.verify_password(account.password_hash, str(p.get("password") or "")):
                raise ApiError(400, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
            if not account.approved:
                raise ApiError(403, "Your login is currently pending approval")
            if account.suspended_at is not None or account.disabled_at is not None:
                raise ApiError(403, "Your login is currently disabled")
            secret, row = await auth.issue_token(conn, app.id, account.id, scopes)
        elif grant == "client_credentials":
            scopes = auth.parse_scopes(p.get("scope") or p.get("scopes"), "read")
            if not auth.scopes_within(scopes, app.scopes.split()):
                raise ApiError(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
            secret, row = await auth.issue_token(conn, app.id, None, scopes)
        else:
            raise ApiError(400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
    return _token_response(secret, row["scopes"].split(), row["created_at"])


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    """Revoke a token (always 200, as RFC 7009 asks)."""
    p = await read_params(request)
    cid, csecret = _client_credentials(request, p)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        app = await auth.app_by_client_id(conn, cid)
        if app is None or csecret != app.client_secret:
            raise ApiError(403, "unauthorized_client", "You are not authorized to revoke this token")
        if p.get("token"):
            await auth.revoke_token(conn, str(p["token"]), app.id)
    return json({})


@router.get("/oauth/userinfo")
@router.post("/oauth/userinfo")
async def userinfo(request: Request) -> Response:
    """OpenID-style profile of the token's account (needs the profile or read:accounts scope)."""
    viewer = await get_viewer(request)
    if not (viewer.has_scope("profile") or viewer.has_scope("read:accounts")):
        raise ApiError(403, "This action is outside the authorized scopes")
    base = ctx_of(request).settings.base_url
    a = viewer.account
    return json({
        "iss": f"{base}/",
        "sub": f"{base}/users/{a.username}",
        "name": a.display_name or a.username,
        "preferred_username": a.username,
        "profile": f"{base}/@{a.username}",
        "picture": f"{base}/static/avatar.png",
    })
