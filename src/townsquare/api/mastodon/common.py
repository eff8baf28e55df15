"""Helpers shared by the Mastodon routes: rendering pages of statuses and accounts with Link headers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, json
from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.pagination import link_header
from townsquare.storage import statuses as status_store


def paged(request: Request, items: list, params: dict, first_id: int | None = None, last_id: int | None = None) -> Response:
    """Return a JSON list with Mastodon's Link header built from the page's edge ids."""
    ctx = ctx_of(request)
    headers = {}
    link = link_header(ctx.settings.base_url, request.url.path, params, first_id, last_id)
    if link:
        headers["Link"] = link
    return json(items, headers=headers)


async def statuses_response(request: Request, conn, ids: list[int], viewer_id: int | None, params: dict,
                            cursor_ids: list[int] | None = None) -> Response:
    """Render visible statuses for ids (newest first) as a paginated list."""
    base = ctx_of(request).settings.base_url
    items = await status_store.load_visible(conn, ids, viewer_id)
    cursors = cursor_ids if cursor_ids is not None else ids
    return paged(
        request, [render_status(s, base) for s in items], params,
        cursors[0] if cursors else None, cursors[-1] if cursors else None,
    )


def accounts_response(request: Request, accounts: list, params: dict, cursor_ids: list[int]) -> Response:
    """Render accounts as a paginated list, paging by the ids of the rows that linked them."""
    base = ctx_of(request).settings.base_url
    return paged(request, [render_account(a, base) for a in accounts], params,
                 cursor_ids[0] if cursor_ids else None, cursor_ids[-1] if cursor_ids else None)
