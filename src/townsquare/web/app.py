"""The web app: its page routers in matching order, its static files, and HTML 404s for page addresses."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from townsquare.web import compose, pages_actions, pages_admin, pages_auth, pages_explore, pages_lists, pages_me, pages_public
from townsquare.web.assets import PREFIX, STATIC
from townsquare.web.routing import error_page

router = APIRouter(include_in_schema=False)
# Specific paths (/@name/report, /@name/follow) before the catch-all status page /@name/{id}.
for _module in (pages_auth, pages_me, pages_admin, compose, pages_lists, pages_explore, pages_actions, pages_public):
    router.include_router(_module.router)

API_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo", "/users/", "/static/")


def mount(app: FastAPI) -> None:
    """Add the pages and the static files (CSS, script, and the installed htmx) to the app."""
    app.include_router(router)
    app.mount(PREFIX, StaticFiles(directory=STATIC, check_dir=False), name="web-static")


def wants_page(request: Request) -> bool:
    """Whether a not-found answer should be a page (a browser asking for a page address) rather than JSON."""
    return (not request.url.path.startswith(API_PREFIXES)) and "text/html" in request.headers.get("accept", "")


def not_found_page(request: Request) -> Response:
    """The site's 404 page."""
    return error_page(request, 404, "This page does not exist, or you may not see it.")
