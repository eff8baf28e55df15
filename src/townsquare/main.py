"""The application factory: routes, error shapes and the lifespan that starts the backends."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from townsquare import __version__
from townsquare.api.deps import json
from townsquare.api.admin import accounts as admin_accounts
from townsquare.api.admin import appeals as admin_appeals
from townsquare.api.admin import reports as admin_reports
from townsquare.api.mastodon import (
    accounts,
    grouped_notifications,
    instance,
    lists,
    media,
    moderation,
    notifications,
    personal,
    placeholders,
    push,
    reports,
    search,
    social,
    spaces,
    statuses,
    timelines,
    trends,
)
from townsquare.api import health, streaming
from townsquare.api.mastodon import filters as filter_routes
from townsquare.api.overload import Overload, OverloadFirst
from townsquare.api import spaces_audio
from townsquare.api.mastodon import conversations, polls, quotes, scheduled
from townsquare.api.oauth import routes as oauth
from townsquare.web import app as web_app
from townsquare.web import spaces as space_pages
from townsquare.api.cors import outermost as cors_outermost
from townsquare.api.dispatch import FastDispatch, FastDispatchMiddleware
from townsquare.api.inputguard import InputGuardMiddleware
from townsquare.api.page_cache import PageCache, PageCacheMiddleware
from townsquare.api.openapi import describe_parameters
from townsquare.api.ratelimit import RateLimitMiddleware
from townsquare.config import Settings
from townsquare.core.errors import ApiError
from townsquare.storage import room_list
from townsquare.storage.db import migrate
from townsquare.storage.faults import connection_failure, storage_failure
from townsquare.wiring import AppContext, build_context

log = logging.getLogger("townsquare")

# Routes are matched in this order (the first whose path and method match wins): the hottest paths (Spaces joins,
# timeline reads) come first. Each router is included as is (no prefix or dependencies), and the fast dispatcher
# builds its table from this same list.
ROUTERS = (
    *(module.router for module in (spaces, timelines, oauth, instance, accounts, statuses, notifications,
                                   grouped_notifications, social, search, personal, trends, placeholders, lists,
                                   streaming, reports, moderation, admin_accounts, admin_reports, admin_appeals, media,
                                   push)),
    spaces_audio.router,
    space_pages.router,  # the page beside the room's audio paths (/spaces/:id/live.m3u8)
    *(module.router for module in (polls, scheduled, conversations, quotes)),
    filter_routes.router,
    health.router,
)


class StripTrailingSlash:
    """Serve /api/v1/instance/ and /api/v1/instance alike, as clients use both."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            path = scope.get("path", "")
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope, path=path.rstrip("/") or "/", raw_path=None)
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, run_migrations: bool = True, context: AppContext | None = None) -> FastAPI:
    """Build the ASGI app for these settings."""
    settings = settings or Settings()
    ctx = context or build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if run_migrations:
            await asyncio.to_thread(migrate, settings.effective_database_url)
        if ctx.jobs is not None:
            ctx.jobs.start()
        if ctx.spaces is not None:
            ctx.spaces.start()
        if ctx.room_list is not None:
            await room_list.list_all(ctx.db, ctx.room_list)
        if ctx.status_cache is not None and hasattr(ctx.bus, "redis"):
            await ctx.status_cache.listen(ctx.bus, ctx.tokens)  # other processes' invalidations (this one's apply at commit)
        try:
            yield
        finally:
            if ctx.jobs is not None:
                await ctx.jobs.stop()
            if ctx.audio is not None:
                await ctx.audio.close()
            if ctx.spaces is not None:
                await ctx.spaces.close()
            if ctx.status_cache is not None:
                await ctx.status_cache.close()
            await ctx.bus.close()
            await ctx.feeds.close()
            await ctx.limiter.close()
            await ctx.db.health.close()
            await ctx.db.dispose()
            page_cache.close()
            if ctx.changes is not None:
                await ctx.changes.close()

    app = OverloadFirst(title="Townsquare", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.ctx = ctx
    if ctx.audio is not None:  # a live room whose host is gone too long ends as POST /end would end it
        ctx.audio.on_host_gone = partial(spaces.end_abandoned_room, ctx)
    # /health/ready runs every check of this list; storage reports writable or read-only and why.
    app.state.readiness_checks = getattr(app.state, "readiness_checks", None) or []
    app.state.readiness_checks.append(ctx.db.health.check)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return json(exc.body(), status=exc.status, headers=exc.headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and web_app.wants_page(request):
            return web_app.not_found_page(request)
        messages = {404: "Not Found", 405: "Method Not Allowed"}
        return json({"error": messages.get(exc.status_code, str(exc.detail))}, status=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return json({"error": "Validation failed", "details": str(exc.errors())[:500]}, status=422)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        answer = storage_failure(exc) or connection_failure(exc)  # a full disk or lost database: 507/503
        if answer is not None:
            log.warning("%s %s: %s", request.method, request.url.path, answer.reason)
            return json(answer.body(), status=answer.status, headers=answer.headers)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json({"error": "Internal server error"}, status=500)

    own_routes = list(app.router.routes)  # FastAPI's own (the OpenAPI schema), matched before any of ours
    for router in ROUTERS:
        app.include_router(router)
    web_app.mount(app)  # the web pages last: the API's routes are matched first
    # The API's routes in the same order, straight to their endpoints (api/dispatch.py); the web pages after
    # them, and anything the table does not serve, go through FastAPI's router.
    app.state.dispatch = dispatch = FastDispatch(
        lambda: [*own_routes, *(route for router in ROUTERS for route in router.routes)],
        enabled=settings.fast_dispatch)
    describe_parameters(app)
    app.state.overload = overload = Overload(settings)
    app.state.readiness_checks = getattr(app.state, "readiness_checks", None) or []
    app.state.readiness_checks.extend(health.default_checks(ctx))
    app.state.page_cache = page_cache = PageCache(ctx)
    app.add_middleware(FastDispatchMiddleware, dispatch=dispatch, owner=app)  # innermost, inside the page cache
    app.add_middleware(PageCacheMiddleware, cache=page_cache)  # a hit passes every layer above as any request
    app.add_middleware(InputGuardMiddleware, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes)
    app.add_middleware(RateLimitMiddleware, ctx=ctx)
    app.add_middleware(StripTrailingSlash)  # the limits and the shedding see the normalised path
    cors_outermost(app)  # around everything, even the 500 handler: preflights cost no auth or rate limit
    app.gate(ctx, overload)  # in front of it all (FastAPI's telemetry too): sheds before anything does any work
    return app


def app_from_environment() -> FastAPI:
    """The app for one of several server processes: settings from TOWNSQUARE_* variables, schema already migrated."""
    return create_app(Settings(), run_migrations=False)
