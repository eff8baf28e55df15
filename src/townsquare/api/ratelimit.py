"""Applies the rate limits before any work: 429 with Retry-After, and X-RateLimit-* headers on API responses."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request

from townsquare.core.errors import ApiError
from townsquare.ratelimit.limiter import Decision
from townsquare.ratelimit.rules import client_ip, client_key, matching, parse_networks
from townsquare.services.auth import digest, lookup_token

if TYPE_CHECKING:  # the app context is built by wiring, above the api layer
    from townsquare.wiring import AppContext

STATE_KEY = "townsquare.ratelimit"
CACHE_SECONDS = 60.0
CACHE_LIMIT = 10_000


def _reset_iso(reset_at: float) -> str:
    # Mastodon renders the reset time with six fractional digits.
    return datetime.fromtimestamp(reset_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def limit_headers(decision: Decision, *, throttled: bool = False) -> dict[str, str]:
    """Return the X-RateLimit-* headers of a decision (and Retry-After when throttled)."""
    headers = {
        "X-RateLimit-Limit": str(decision.rule.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": _reset_iso(decision.reset_at),
    }
    if throttled:
        headers["Retry-After"] = str(max(1, math.ceil(decision.reset_at - time.time())))
    return headers


def _tightest(decisions: list[Decision]) -> Decision:
    return min(decisions, key=lambda d: (d.remaining, -d.reset_at))


class RateLimitMiddleware:
    """Counts each request against its rules and refuses it with 429 once one is exceeded."""

    def __init__(self, app, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx
        self.trusted = parse_networks(ctx.settings.trusted_proxies)
        self.tokens: dict[str, tuple[int | None, int | None, float]] = {}

    async def _identify(self, secret: str) -> tuple[int | None, int | None]:
        """Return (token id, account id) of a bearer secret, cached briefly; (None, None) when invalid."""
        key = digest(secret)
        now = time.monotonic()
        hit = self.tokens.get(key)
        if hit is not None and hit[2] > now:
            return hit[0], hit[1]
        row = await lookup_token(self.ctx.db, secret)
        found = (row.id, row.account_id) if row is not None else (None, None)
        if len(self.tokens) >= CACHE_LIMIT:
            self.tokens.clear()
        self.tokens[key] = (*found, now + CACHE_SECONDS)
        return found

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if (scope["type"] != "http" or not self.ctx.settings.rate_limits_enabled
                or not (path.startswith("/api/") or path.startswith("/oauth/"))):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        peer = scope.get("client")[0] if scope.get("client") else ""
        ip = client_ip(peer, request.headers.get("x-forwarded-for"), self.trusted)
        secret = None
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            secret = auth[7:].strip() or None
        secret = secret or request.query_params.get("access_token") or None
        token_id, account_id = await self._identify(secret) if secret and path.startswith("/api/") else (None, None)
        checks = matching(self.ctx.rate_rules, scope["method"], path, ip, token_id, account_id)
        decisions = await self.ctx.limiter.hit(checks)
        refused = [d for d in decisions if not d.allowed]
        if refused:
            worst = max(refused, key=lambda d: d.reset_at)
            await _send_429(send, worst)
            return
        state = {"ip": ip, "decisions": list(decisions)}
        scope[STATE_KEY] = state

        async def send_with_headers(message):
            if message["type"] == "http.response.start" and state["decisions"]:
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in limit_headers(_tightest(state["decisions"])).items()
                         if k.lower().encode() not in present]
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send_429(send, decision: Decision) -> None:
    body = orjson.dumps({"error": "Too many requests"})
    headers = [(k.lower().encode(), v.encode()) for k, v in limit_headers(decision, throttled=True).items()]
    headers += [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def throttle(request: Request, ctx: AppContext, rule_name: str) -> None:
    """Count a hit of a per-IP rule from inside a route (e.g. only for the password grant); 429 when over."""
    if not ctx.settings.rate_limits_enabled:
        return
    state = request.scope.get(STATE_KEY)
    if state is None:
        peer = request.client.host if request.client else ""
        state = {"ip": client_ip(peer, request.headers.get("x-forwarded-for"), parse_networks(ctx.settings.trusted_proxies)),
                 "decisions": []}
    [decision] = await ctx.limiter.hit([(ctx.rate_rules[rule_name], f"ip:{client_key(state['ip'])}")])
    state["decisions"].append(decision)
    if not decision.allowed:
        raise ApiError(429, "Too many requests", headers=limit_headers(decision, throttled=True))
