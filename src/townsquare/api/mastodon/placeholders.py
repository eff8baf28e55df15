"""Endpoints clients call at start-up for features that have no data here yet: correct empty answers."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import get_viewer, json

router = APIRouter()

# path -> scope needed (None: public). Each answers an empty list until its feature exists.
EMPTY_LISTS = {
    "/api/v1/custom_emojis": None,
    "/api/v1/directory": None,
    "/api/v1/announcements": None,
    "/api/v1/suggestions": "read",
    "/api/v2/suggestions": "read",
    "/api/v1/endorsements": "read:accounts",
    "/api/v1/featured_tags": "read:accounts",
    "/api/v1/domain_blocks": "read:blocks",
}


def _empty_list(path: str, scope: str | None):
    async def endpoint(request: Request) -> Response:
        if scope is not None:
            await get_viewer(request, scope)
        return json([])

    endpoint.__name__ = "empty_" + path.strip("/").replace("/", "_")
    endpoint.__doc__ = f"{path}: no entries yet."
    router.get(path)(endpoint)


for _path, _scope in EMPTY_LISTS.items():
    _empty_list(_path, _scope)

