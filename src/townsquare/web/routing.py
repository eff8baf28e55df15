"""The web router's route class: limits and sanctions before every page, and errors as HTML pages, not JSON."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from townsquare.core.errors import ApiError
from townsquare.web.render import page
from townsquare.web.session import enforce_limits, viewer_of

log = logging.getLogger("townsquare.web")
# What a suspended (or not yet approved) account may still reach: its warnings, the appeal form and sign-out.
RESTRICTED_ALLOWED = ("/auth/sign_out", "/account_status", "/about")
TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 410: "Gone", 422: "That did not work",
          429: "Slow down", 503: "Unavailable"}


def error_page(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    """An error as a page of the site, with Mastodon's status code."""
    return page(request, "error.html", status=status, headers=headers, title=TITLES.get(status, "Error"),
                message=message.removeprefix("Validation failed: "))


class WebRoute(APIRoute):
    """A page route: counts the request against the rate limits, applies sanctions, renders errors as HTML."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                viewer = await viewer_of(request)
                await enforce_limits(request, viewer)
                if viewer.restricted and not request.url.path.startswith(RESTRICTED_ALLOWED):
                    if request.method == "GET":
                        from townsquare.web.pages_settings import account_status

                        return await account_status(request)
                    raise ApiError(403, "Your account cannot do this now.")
                return await handler(request)
            except ApiError as exc:
                return error_page(request, exc.status, exc.error, exc.headers or None)

        return run


def web_router() -> APIRouter:
    """A router whose routes are page routes."""
    return APIRouter(route_class=WebRoute, include_in_schema=False)
