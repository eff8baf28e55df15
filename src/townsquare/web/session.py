"""The browser's side of a session: cookies, the CSRF token every form carries, the viewer, and rate limits."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of
from townsquare.api.ratelimit import limit_headers
from townsquare.core.errors import ApiError
from townsquare.domain.models import Account
from townsquare.ratelimit.rules import client_ip, client_key, parse_networks
from townsquare.services import sessions

SESSION_COOKIE = "ts_session"
CSRF_COOKIE = "ts_csrf"
CSRF_FIELD = "csrf_token"
SESSION_DAYS = 30


@dataclass
class WebViewer:
    """Who is looking at a page: an account with its session token, or nobody."""

    account: Account | None = None
    token_id: int | None = None
    unread: int = 0

    @property
    def id(self) -> int | None:
        """The account id, or None when signed out."""
        return self.account.id if self.account is not None else None

    @property
    def restricted(self) -> bool:
        """Whether the account may only read its warnings and appeal (suspended) or wait (pending approval)."""
        a = self.account
        return a is not None and (a.suspended_at is not None or not a.approved)


def _secure(request: Request) -> bool:
    return ctx_of(request).settings.scheme == "https"


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    """Hand the browser its session: HttpOnly, SameSite=Lax, Secure when the server is reached over https."""
    response.set_cookie(SESSION_COOKIE, secret, max_age=SESSION_DAYS * 86400, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")


def clear_session_cookie(request: Request, response: Response) -> None:
    """Forget the session in the browser."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


async def viewer_of(request: Request) -> WebViewer:
    """Return the session's viewer (cached per request); a revoked or unknown cookie counts as signed out."""
    cached = getattr(request.state, "web_viewer", None)
    if cached is not None:
        return cached
    viewer = WebViewer()
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        async with ctx_of(request).db.read() as conn:
            found = await sessions.session_viewer(conn, secret)  # token, account and unread badge in one query
        if found is not None and found[1].disabled_at is None:
            viewer = WebViewer(account=found[1], token_id=found[0], unread=found[2])
    request.state.web_viewer = viewer
    return viewer


def _digest(key: str, seed: str) -> str:
    return hmac.new(key.encode(), f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token to put in every form: an HMAC of the browser's CSRF cookie (made now if it has none)."""
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_seed", None)
    if not seed:
        seed = request.state.new_csrf_seed = sessions.new_csrf_seed()
    return _digest(ctx_of(request).settings.effective_secret_key, seed)


def attach_csrf_cookie(request: Request, response: Response) -> None:
    """Send the CSRF cookie made while rendering this response, if one was."""
    seed = getattr(request.state, "new_csrf_seed", None)
    if seed and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, seed, httponly=True, samesite="lax", secure=_secure(request), path="/")


def check_csrf(request: Request, form: dict) -> None:
    """Refuse a form whose token does not match the browser's CSRF cookie (403)."""
    seed = request.cookies.get(CSRF_COOKIE)
    sent = str(form.get(CSRF_FIELD) or "")
    if not seed or not hmac.compare_digest(sent, _digest(ctx_of(request).settings.effective_secret_key, seed)):
        raise ApiError(403, "This form has expired. Go back, reload the page and try again.")


def _ip(request: Request) -> str:
    ctx = ctx_of(request)
    peer = request.client.host if request.client else ""
    return client_ip(peer, request.headers.get("x-forwarded-for"), parse_networks(ctx.settings.trusted_proxies))


async def enforce_limits(request: Request, viewer: WebViewer, only: str | None = None) -> None:
    """Count the request against the API's own rules (per IP signed out; per token and account signed in),
    or against the one per-IP rule named `only` (sign_in, sign_up) from inside a route."""
    ctx = ctx_of(request)
    if not ctx.settings.rate_limits_enabled:
        return
    rules, ip = ctx.rate_rules, client_key(_ip(request))
    if only is not None:
        checks = [(rules[only], f"ip:{ip}")]
    elif viewer.account is None:
        checks = [(rules["unauthenticated"], f"ip:{ip}")]
    else:
        checks = [(rules["token"], f"token:{viewer.token_id}"), (rules["user"], f"user:{viewer.account.id}")]
    decisions = await ctx.limiter.hit(checks)
    refused = [d for d in decisions if not d.allowed]
    if refused:
        worst = max(refused, key=lambda d: d.reset_at)
        raise ApiError(429, "Too many requests. Please wait a little and try again.",
                       headers=limit_headers(worst, throttled=True))
