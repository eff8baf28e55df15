"""The web app: its page routers in matching order, its static files, and HTML 404s for page addresses."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles

from townsquare.web import (compose, pages_actions, pages_admin, pages_auth, pages_explore, pages_lists, pages_me,
                            pages_public, pages_settings)
from townsquare.web.assets import PREFIX, STATIC, VERSION_PARAM
from townsquare.web.routing import error_page

router = APIRouter(include_in_schema=False)
# Specific paths (/@name/report, /@name/follow) before the catch-all status page /@name/{id}.
for _module in (pages_auth, pages_me, pages_settings, pages_admin, compose, pages_lists, pages_explore, pages_actions,
                pages_public):
    router.include_router(_module.router)

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MAX_HELD = 256  # distinct static paths held in memory (each is a real file under STATIC)
API_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo", "/users/", "/static/")


@dataclass
class _Held:
    path: str
    mtime_ns: int
    headers: dict
    body: bytes
    gzipped: bytes | None


class StaticAssets(StaticFiles):
    """The static files, held in memory once read (no file-system thread hop per request, which is what a loaded
    machine slows most: the style sheet is on the way to every first paint), gzipped once for the browsers that
    take it, with caching headers: a year (immutable) for content-versioned URLs, five minutes else."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held: dict[str, _Held] = {}

    async def get_response(self, path: str, scope) -> Response:
        held = self._held.get(path)
        if held is not None:
            try:
                fresh = os.stat(held.path).st_mtime_ns == held.mtime_ns  # a local stat: microseconds, no thread
            except OSError:
                fresh = False
            if not fresh:  # changed on disk (a developer's edit): read it again
                self._held.pop(path, None)
                held = None
        if held is None:
            response = await super().get_response(path, scope)
            if not isinstance(response, FileResponse) or response.status_code != 200:
                return self._cache_headers(response, scope)
            body = await run_in_threadpool(Path(response.path).read_bytes)
            held = self._hold(path, response, body)
        headers = dict(held.headers)
        self._cache_headers_into(headers, scope)
        request_headers = Headers(scope=scope)
        if self.is_not_modified(Headers(headers), request_headers):
            return NotModifiedResponse(Headers(headers))
        if held.gzipped is not None and "gzip" in request_headers.get("accept-encoding", ""):
            headers["content-encoding"] = "gzip"
            return Response(held.gzipped, headers=headers)
        return Response(held.body, headers=headers)

    def _hold(self, path: str, response: FileResponse, body: bytes) -> _Held:
        headers = {k: response.headers[k] for k in ("content-type", "etag", "last-modified") if k in response.headers}
        gzipped = None
        if headers.get("content-type", "").startswith(COMPRESSIBLE):
            packed = gzip.compress(body, 9, mtime=0)
            gzipped = packed if len(packed) < len(body) else None
            headers["vary"] = "Accept-Encoding"
        held = _Held(str(response.path), os.stat(response.path).st_mtime_ns, headers, body, gzipped)
        if len(self._held) < MAX_HELD:
            self._held[path] = held
        return held

    @staticmethod
    def _cache_headers_into(headers: dict, scope) -> None:
        versioned = f"{VERSION_PARAM}=".encode() in scope.get("query_string", b"")
        headers["cache-control"] = "public, max-age=31536000, immutable" if versioned else "public, max-age=300"

    def _cache_headers(self, response: Response, scope) -> Response:
        if response.status_code in (200, 304):
            headers: dict = {}
            self._cache_headers_into(headers, scope)
            response.headers["Cache-Control"] = headers["cache-control"]
        return response


def mount(app: FastAPI) -> None:
    """Add the pages and the static files (CSS, script, and the installed htmx) to the app."""
    app.include_router(router)
    app.mount(PREFIX, StaticAssets(directory=STATIC, check_dir=False), name="web-static")


def wants_page(request: Request) -> bool:
    """Whether a not-found answer should be a page (a browser asking for a page address) rather than JSON."""
    return (not request.url.path.startswith(API_PREFIXES)) and "text/html" in request.headers.get("accept", "")


def not_found_page(request: Request) -> Response:
    """The site's 404 page."""
    return error_page(request, 404, "This page does not exist, or you may not see it.")
