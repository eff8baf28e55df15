"""Filters: /api/v2/filters with keyword and status sub-resources, and /api/v1/filters for older apps."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.params import as_bool, as_list, as_str, read_params
from townsquare.api.serializers import filters as render
from townsquare.core.errors import not_found, unprocessable
from townsquare.core.ids import parse_id
from townsquare.services import filters as filter_service
from townsquare.services.filters import UNSET, KeywordChange
from townsquare.storage import filters as filter_store

router = APIRouter()


def _context(p: dict) -> list[str] | None:
    if "context" not in p:
        return None
    values = as_list(p.get("context"))
    if any(not isinstance(v, str) for v in values):
        raise unprocessable("context must be a list of strings")
    return values


def _expires_in(p: dict):
    """The expires_in parameter: UNSET when absent, None for never (empty), else a whole number of seconds."""
    if "expires_in" not in p:
        return UNSET
    raw = p.get("expires_in")
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or isinstance(raw, (dict, list)):
        raise unprocessable("expires_in must be a number of seconds")
    try:
        return int(float(str(raw).strip()))
    except (ValueError, OverflowError):
        raise unprocessable("expires_in must be a number of seconds") from None


def _keywords(p: dict) -> list[KeywordChange] | None:
    if "keywords_attributes" not in p:
        return None
    changes = []
    for item in as_list(p.get("keywords_attributes")):
        if not isinstance(item, dict):
            raise unprocessable("keywords_attributes must be a list of objects")
        raw_id = item.get("id")
        keyword_id = None
        if raw_id not in (None, ""):
            keyword_id = parse_id(raw_id)
            if keyword_id is None:
                raise not_found()
        changes.append(KeywordChange(id=keyword_id, keyword=as_str(item.get("keyword"), "keyword"),
                                     whole_word=None if item.get("whole_word") in (None, "") else as_bool(item.get("whole_word")),
                                     destroy=as_bool(item.get("_destroy"))))
    return changes


def _optional_bool(p: dict, name: str) -> bool | None:
    return None if p.get(name) in (None, "") else as_bool(p.get(name))


# ---- v2 ------------------------------------------------------------------------------------------

@router.get("/api/v2/filters")
async def list_filters(request: Request) -> Response:
    """The viewer's filters, expired ones included."""
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        found = await filter_store.all_of(conn, viewer.account.id)
    return json([render.custom_filter(f) for f in found])


@router.post("/api/v2/filters")
async def create_filter(request: Request) -> Response:
    """Create a filter, with keywords_attributes for its first keywords."""
    viewer = await get_viewer(request, "write:filters")
    p = await read_params(request)
    expires_in = _expires_in(p)
    async with ctx_of(request).db.write() as conn:
        f = await filter_service.create_filter(
            conn, viewer.account.id, as_str(p.get("title"), "title"), _context(p), as_str(p.get("filter_action"), "filter_action"),
            None if expires_in is UNSET else expires_in, _keywords(p) or [])
    return json(render.custom_filter(f))


@router.get("/api/v2/filters/{filter_id}")
async def show_filter(request: Request, filter_id: str) -> Response:
    """One of the viewer's filters."""
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        f = await filter_store.get(conn, viewer.account.id, path_id(filter_id))
    if f is None:
        raise not_found()
    return json(render.custom_filter(f))


@router.put("/api/v2/filters/{filter_id}")
async def update_filter(request: Request, filter_id: str) -> Response:
    """Change a filter; keywords_attributes adds, changes (id) or removes (id, _destroy) keywords."""
    viewer = await get_viewer(request, "write:filters")
    p = await read_params(request)
    async with ctx_of(request).db.write() as conn:
        f = await filter_service.update_filter(
            conn, viewer.account.id, path_id(filter_id), title=as_str(p.get("title"), "title"), context=_context(p),
            action=as_str(p.get("filter_action"), "filter_action"), expires_in=_expires_in(p), keywords=_keywords(p))
    return json(render.custom_filter(f))


@router.delete("/api/v2/filters/{filter_id}")
async def delete_filter(request: Request, filter_id: str) -> Response:
    """Delete a filter."""
    viewer = await get_viewer(request, "write:filters")
    async with ctx_of(request).db.write() as conn:
        await filter_service.delete_filter(conn, viewer.account.id, path_id(filter_id))
    return json({})


@router.get("/api/v2/filters/{filter_id}/keywords")
async def list_keywords(request: Request, filter_id: str) -> Response:
    """The keywords of one of the viewer's filters."""
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        f = await filter_store.get(conn, viewer.account.id, path_id(filter_id))
    if f is None:
        raise not_found()
    return json([render.keyword(k) for k in f.keywords])


@router.post("/api/v2/filters/{filter_id}/keywords")
async def add_keyword(request: Request, filter_id: str) -> Response:
    """Add a keyword to a filter."""
    viewer = await get_viewer(request, "write:filters")
    p = await read_params(request)
    async with ctx_of(request).db.write() as conn:
        k = await filter_service.add_keyword(conn, viewer.account.id, path_id(filter_id), as_str(p.get("keyword"), "keyword"),
                                             _optional_bool(p, "whole_word"))
    return json(render.keyword(k))


async def _show_keyword(request: Request, keyword_id: str) -> Response:
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        k = await filter_service.keyword_of(conn, viewer.account.id, path_id(keyword_id))
    return json(render.keyword(k))


async def _update_keyword(request: Request, keyword_id: str) -> Response:
    viewer = await get_viewer(request, "write:filters")
    p = await read_params(request)
    async with ctx_of(request).db.write() as conn:
        k = await filter_service.update_keyword(conn, viewer.account.id, path_id(keyword_id), as_str(p.get("keyword"), "keyword"),
                                                _optional_bool(p, "whole_word"))
    return json(render.keyword(k))


async def _delete_keyword(request: Request, keyword_id: str) -> Response:
    viewer = await get_viewer(request, "write:filters")
    async with ctx_of(request).db.write() as conn:
        await filter_service.delete_keyword(conn, viewer.account.id, path_id(keyword_id))
    return json({})


@router.get("/api/v2/filters/{filter_id}/statuses")
async def list_statuses(request: Request, filter_id: str) -> Response:
    """The statuses one of the viewer's filters names."""
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        f = await filter_store.get(conn, viewer.account.id, path_id(filter_id))
    if f is None:
        raise not_found()
    return json([render.filter_status(s) for s in f.statuses])


@router.post("/api/v2/filters/{filter_id}/statuses")
async def add_status(request: Request, filter_id: str) -> Response:
    """Name a status in a filter."""
    viewer = await get_viewer(request, "write:filters")
    p = await read_params(request)
    async with ctx_of(request).db.write() as conn:
        s = await filter_service.add_status(conn, viewer.account.id, path_id(filter_id),
                                            parse_id(as_str(p.get("status_id"), "status_id") or ""))
    return json(render.filter_status(s))


async def _show_status(request: Request, row_id: str) -> Response:
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        s = await filter_service.status_of(conn, viewer.account.id, path_id(row_id))
    return json(render.filter_status(s))


async def _delete_status(request: Request, row_id: str) -> Response:
    viewer = await get_viewer(request, "write:filters")
    async with ctx_of(request).db.write() as conn:
        await filter_service.delete_status(conn, viewer.account.id, path_id(row_id))
    return json({})


# Mastodon's routes are /api/v2/filters/keywords/:id and /api/v2/filters/statuses/:id; the flat
# /api/v2/filter_keywords/:id and /api/v2/filter_statuses/:id forms answer the same.
for _prefix in ("/api/v2/filters/keywords", "/api/v2/filter_keywords"):
    router.get(_prefix + "/{keyword_id}", name="show_keyword" + _prefix.replace("/", "_"))(_show_keyword)
    router.put(_prefix + "/{keyword_id}", name="update_keyword" + _prefix.replace("/", "_"))(_update_keyword)
    router.delete(_prefix + "/{keyword_id}", name="delete_keyword" + _prefix.replace("/", "_"))(_delete_keyword)
for _prefix in ("/api/v2/filters/statuses", "/api/v2/filter_statuses"):
    router.get(_prefix + "/{row_id}", name="show_status" + _prefix.replace("/", "_"))(_show_status)
    router.delete(_prefix + "/{row_id}", name="delete_status" + _prefix.replace("/", "_"))(_delete_status)


# ---- v1 ------------------------------------------------------------------------------------------

@router.get("/api/v1/filters")
async def list_v1(request: Request) -> Response:
    """Every keyword of the viewer's filters as a v1 filter."""
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        pairs = await filter_service.v1_filters(conn, viewer.account.id)
    return json([render.v1_filter(f, k) for f, k in pairs])


@router.post("/api/v1/filters")
async def create_v1(request: Request) -> Response:
    """Create a v1 filter (a filter with one keyword)."""
    viewer = await get_viewer(request, "write:filters")
    p = await read_params(request)
    expires_in = _expires_in(p)
    async with ctx_of(request).db.write() as conn:
        f, k = await filter_service.create_v1_filter(
            conn, viewer.account.id, as_str(p.get("phrase"), "phrase"), _context(p), as_bool(p.get("irreversible")),
            as_bool(p.get("whole_word")), None if expires_in is UNSET else expires_in)
    return json(render.v1_filter(f, k))


@router.get("/api/v1/filters/{filter_id}")
async def show_v1(request: Request, filter_id: str) -> Response:
    """One v1 filter."""
    viewer = await get_viewer(request, "read:filters")
    async with ctx_of(request).db.read() as conn:
        f, k = await filter_service.v1_filter(conn, viewer.account.id, path_id(filter_id))
    return json(render.v1_filter(f, k))


@router.put("/api/v1/filters/{filter_id}")
async def update_v1(request: Request, filter_id: str) -> Response:
    """Change a v1 filter."""
    viewer = await get_viewer(request, "write:filters")
    p = await read_params(request)
    async with ctx_of(request).db.write() as conn:
        f, k = await filter_service.update_v1_filter(
            conn, viewer.account.id, path_id(filter_id), phrase=as_str(p.get("phrase"), "phrase"), context=_context(p),
            irreversible=_optional_bool(p, "irreversible"), whole_word=_optional_bool(p, "whole_word"), expires_in=_expires_in(p))
    return json(render.v1_filter(f, k))


@router.delete("/api/v1/filters/{filter_id}")
async def delete_v1(request: Request, filter_id: str) -> Response:
    """Delete a v1 filter."""
    viewer = await get_viewer(request, "write:filters")
    async with ctx_of(request).db.write() as conn:
        await filter_service.delete_v1_filter(conn, viewer.account.id, path_id(filter_id))
    return json({})

