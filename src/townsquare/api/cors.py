"""CORS as Mastodon answers it: any origin, no credentials, on the API and OAuth token paths; and X-Request-Id."""

from __future__ import annotations

import itertools
import os
import re

# The paths browser-based clients (Elk, Phanpy, masto.js) call from their own origin; web pages and the
# OAuth authorize form are left out on purpose, so another site cannot frame or script them.
CORS_PREFIXES = ("/api/", "/.well-known/", "/nodeinfo/")
CORS_EXACT = frozenset({"/oauth/token", "/oauth/revoke", "/oauth/userinfo"})
ALLOW_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = ("authorization", "content-type", "idempotency-key", "accept", "accept-language", "x-requested-with")
EXPOSE_HEADERS = b"Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id"
MAX_AGE = b"7200"
_TOKEN = re.compile(rb"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")  # an HTTP header name
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9-]{1,255}$")  # what Rails keeps of a client's X-Request-Id
# Request ids need to be unique, not secret: a random per-process prefix and a counter cost far less than uuid4.
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def new_request_id() -> bytes:
    """A request id unique across processes and restarts (random prefix, then a counter)."""
    return f"{_ID_PREFIX}-{next(_ID_COUNTER):08x}".encode()


def is_cors_path(path: str) -> bool:
    """Whether cross-origin calls to this path are allowed."""
    return path.startswith(CORS_PREFIXES) or path.rstrip("/") in CORS_EXACT


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def _allowed_headers(requested: bytes | None) -> bytes:
    """Our fixed list plus whatever valid header names the preflight asks for (Mastodon allows any)."""
    names = list(ALLOW_HEADERS)
    for item in (requested or b"").split(b","):
        item = item.strip().lower()
        if item and _TOKEN.match(item) and item.decode() not in names:
            names.append(item.decode())
    return ", ".join(names).encode()


class CorsMiddleware:
    """Answers preflights before routing, authentication and rate limits, and marks API responses shareable."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming is not None and _REQUEST_ID.match(incoming) else new_request_id()
        cors = is_cors_path(scope.get("path", ""))
        if cors and scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", ALLOW_METHODS),
                (b"access-control-allow-headers", _allowed_headers(_header(scope, b"access-control-request-headers"))),
                (b"access-control-max-age", MAX_AGE),
                (b"vary", b"Access-Control-Request-Headers"),
                (b"x-request-id", request_id),
            ]})
            await send({"type": "http.response.body", "body": b""})
            return
        extra = [(b"x-request-id", request_id)]
        if cors:
            extra += [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", EXPOSE_HEADERS)]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", ()), *extra])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def outermost(app) -> None:
    """Wrap the whole middleware stack of a Starlette app, so even its 500 page carries the CORS headers."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: CorsMiddleware(build())
