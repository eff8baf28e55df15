"""Lists: CRUD, members, and the list timeline."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import linked_accounts_response, statuses_response
from townsquare.api.params import as_bool, as_list, as_str, read_params
from townsquare.core.errors import unprocessable
from townsquare.core.ids import parse_id, render_id
from townsquare.core.pagination import page_from
from townsquare.services import lists as list_service
from townsquare.storage import graph

router = APIRouter()


def render_list(info: list_service.ListInfo) -> dict:
    """A List entity."""
    return {"id": render_id(info.id), "title": info.title, "replies_policy": info.replies_policy, "exclusive": info.exclusive}


def _ids(p: dict) -> list[int]:
    raw = as_list(p.get("account_ids"))
    ids = [parse_id(str(v)) for v in raw]
    if any(i is None for i in ids):
        raise unprocessable("account_ids must be account ids")
    return ids


@router.get("/api/v1/lists")
async def index(request: Request) -> Response:
    """The viewer's lists."""
    viewer = await get_viewer(request, "read:lists")
    async with ctx_of(request).db.read() as conn:
        return json([render_list(i) for i in await list_service.all_of(conn, viewer.account.id)])


@router.post("/api/v1/lists")
async def create(request: Request) -> Response:
    """Create a list."""
    viewer = await get_viewer(request, "write:lists")
    p = await read_params(request)
    async with ctx_of(request).db.write() as conn:
        info = await list_service.create(conn, viewer.account.id, as_str(p.get("title"), "title"),
                                         as_str(p.get("replies_policy"), "replies_policy"), as_bool(p.get("exclusive")))
    return json(render_list(info))


@router.get("/api/v1/lists/{list_id}")
async def show(request: Request, list_id: str) -> Response:
    """One of the viewer's lists."""
    viewer = await get_viewer(request, "read:lists")
    async with ctx_of(request).db.read() as conn:
        return json(render_list(await list_service.owned(conn, viewer.account.id, path_id(list_id))))


@router.put("/api/v1/lists/{list_id}")
async def change(request: Request, list_id: str) -> Response:
    """Rename a list or change its replies policy or exclusivity."""
    viewer = await get_viewer(request, "write:lists")
    p = await read_params(request)
    ctx = ctx_of(request)
    exclusive = as_bool(p.get("exclusive")) if p.get("exclusive") is not None else None
    async with ctx.db.write() as conn:
        info = await list_service.change(conn, viewer.account.id, path_id(list_id), as_str(p.get("title"), "title"),
                                         as_str(p.get("replies_policy"), "replies_policy"), exclusive, ctx.feeds)
    return json(render_list(info))


@router.delete("/api/v1/lists/{list_id}")
async def destroy(request: Request, list_id: str) -> Response:
    """Delete a list."""
    viewer = await get_viewer(request, "write:lists")
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await list_service.remove(conn, viewer.account.id, path_id(list_id), ctx.feeds)
    return json({})


@router.get("/api/v1/lists/{list_id}/accounts")
async def members(request: Request, list_id: str) -> Response:
    """The accounts in a list (limit=0 for all of them)."""
    viewer = await get_viewer(request, "read:lists")
    p = await read_params(request)
    lid = path_id(list_id)
    page = page_from(p, default=40, maximum=80)
    if str(p.get("limit", "")) == "0":
        page.limit = 100_000
    async with ctx_of(request).db.read() as conn:
        await list_service.owned(conn, viewer.account.id, lid)
        rows = await graph.list_member_rows(conn, lid, page)
        return await linked_accounts_response(request, conn, rows, p)


@router.post("/api/v1/lists/{list_id}/accounts")
async def add_members(request: Request, list_id: str) -> Response:
    """Add followed accounts to a list."""
    viewer = await get_viewer(request, "write:lists")
    p = await read_params(request)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await list_service.add_accounts(conn, viewer.account.id, path_id(list_id), _ids(p), ctx.feeds)
    return json({})


@router.delete("/api/v1/lists/{list_id}/accounts")
async def remove_members(request: Request, list_id: str) -> Response:
    """Remove accounts from a list."""
    viewer = await get_viewer(request, "write:lists")
    p = await read_params(request)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await list_service.remove_accounts(conn, viewer.account.id, path_id(list_id), _ids(p), ctx.feeds)
    return json({})


@router.get("/api/v1/accounts/{account_id}/lists")
async def lists_of_account(request: Request, account_id: str) -> Response:
    """The viewer's lists that include an account."""
    viewer = await get_viewer(request, "read:lists")
    async with ctx_of(request).db.read() as conn:
        return json([render_list(i) for i in await list_service.containing(conn, viewer.account.id, path_id(account_id))])


@router.get("/api/v1/timelines/list/{list_id}")
async def list_timeline(request: Request, list_id: str) -> Response:
    """Statuses from the accounts of a list, newest first."""
    viewer = await get_viewer(request, "read:lists")
    p = await read_params(request)
    page = page_from(p)
    ctx = ctx_of(request)
    lid = path_id(list_id)
    async with ctx.db.read() as conn:
        ids = await list_service.timeline_ids(conn, ctx.feeds, viewer.account.id, lid, ctx.settings.hybrid_threshold,
                                              page.max_id, page.since_id, page.min_id, page.limit)
        return await statuses_response(request, conn, ids, viewer.account.id, p, filter_context="home")
