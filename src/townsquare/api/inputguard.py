"""Cheap checks before any work: bodies over the size limit (413), NUL characters in the path or query (400)."""

from __future__ import annotations

import re

import orjson

from townsquare.core.errors import ApiError

_UPLOAD_PATH = re.compile(r"^/api/v\d+/media$")


class InputGuardMiddleware:
    """Caps the body of every request (max_body_bytes, or max_upload_bytes for media) and refuses NUL characters."""

    def __init__(self, app, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            # PostgreSQL cannot store or compare text with NUL; no legitimate client sends one.
            await _send_error(send, 400, "Invalid request parameters: NUL characters are not allowed")
            return
        limit = self.max_upload if _UPLOAD_PATH.match(scope.get("path", "")) else self.max_body
        message = f"Request body is too large (maximum is {limit} bytes)"
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False
            if too_big:
                await _send_error(send, 413, message)
                return
        seen = 0

        async def capped_receive():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:  # a chunked body that grew past the limit: stop before buffering more
                    raise ApiError(413, message)
            return msg

        await self.app(scope, capped_receive, send)


async def _send_error(send, status: int, message: str) -> None:
    body = orjson.dumps({"error": message})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
