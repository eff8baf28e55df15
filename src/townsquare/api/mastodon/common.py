"""Helpers shared by the Mastodon routes: rendering pages of statuses and accounts with Link headers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import JSON_TYPE, ctx_of, json
from townsquare.api.filtering import render_marked_json, request_filters
from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.statuses import status_json, statuses_json
from townsquare.core.pagination import Page, apply, link_header, ordered
from townsquare.storage import accounts as account_store
from townsquare.storage import statuses as status_store


def _link(request: Request, params: dict, first_id: int | None, last_id: int | None) -> dict:
    link = link_header(ctx_of(request).settings.base_url, request.url.path, params, first_id, last_id)
    return {"Link": link} if link else {}


def paged(request: Request, items: list, params: dict, first_id: int | None = None, last_id: int | None = None) -> Response:
    """Return a JSON list with Mastodon's Link header built from the page's edge ids."""
    return json(items, headers=_link(request, params, first_id, last_id))


def paged_bytes(request: Request, body: bytes, params: dict, first_id: int | None = None,
                last_id: int | None = None) -> Response:
    """Return an already-serialised JSON list with Mastodon's Link header."""
    return Response(body, headers=_link(request, params, first_id, last_id), media_type=JSON_TYPE)


async def statuses_response(request: Request, conn, ids: list[int], viewer_id: int | None, params: dict,
                            cursor_ids: list[int] | None = None, filter_context: str | None = None) -> Response:
    """Render visible statuses for ids (newest first) as a paginated list, with the viewer's filters of a context applied."""
    items = await status_store.load_visible(conn, ids, viewer_id, ctx_of(request).status_cache)
    filters = None if filter_context is None else await request_filters(request, conn)
    return loaded_statuses_response(request, items, params, cursor_ids if cursor_ids is not None else ids,
                                    filters, filter_context)


def loaded_statuses_response(request: Request, items: list, params: dict, cursors: list[int],
                             filters=None, context: str | None = None) -> Response:
    """Render statuses already loaded (and checked visible) as a paginated list, paged by the cursor ids,
    with the viewer's filters of a context applied when given."""
    base = ctx_of(request).settings.base_url
    if filters is None:
        body = statuses_json([status_json(s, base) for s in items])
    else:
        body = render_marked_json(filters, items, base, context)
    return paged_bytes(request, body, params, cursors[0] if cursors else None, cursors[-1] if cursors else None)


async def linked_accounts_response(request: Request, conn, rows: list, params: dict) -> Response:
    """Render rows of (id, other) links to accounts (already paged by a storage reader) with the Link header."""
    by_id = await account_store.get_many(conn, [r.other for r in rows])
    base = ctx_of(request).settings.base_url
    return paged(request, [render_account(by_id[r.other], base) for r in rows if r.other in by_id], params,
                 rows[0].id if rows else None, rows[-1].id if rows else None)


async def account_rows_response(request: Request, conn, query, column, page: Page, params: dict,
                                bind: dict | None = None) -> Response:
    """Page a query of (id, other) rows linking to accounts, paging by the linking rows' ids."""
    rows = ordered((await conn.execute(apply(query, column, page), bind or {})).all(), page)
    by_id = await account_store.get_many(conn, [r.other for r in rows])
    base = ctx_of(request).settings.base_url
    return paged(request, [render_account(by_id[r.other], base) for r in rows if r.other in by_id], params,
                 rows[0].id if rows else None, rows[-1].id if rows else None)
