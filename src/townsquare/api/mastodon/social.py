"""The viewer's social lists: follow requests, blocks and mutes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import linked_accounts_response
from townsquare.api.params import read_params
from townsquare.api.serializers.accounts import relationship
from townsquare.core.pagination import page_from
from townsquare.services import relations
from townsquare.storage import graph

router = APIRouter()


async def _listing(request: Request, kind: str, scope: str, incoming: bool = False) -> Response:
    viewer = await get_viewer(request, scope)
    p = await read_params(request)
    page = page_from(p, 40, 80)
    async with ctx_of(request).db.read() as conn:
        rows = await graph.link_rows(conn, kind, viewer.account.id, page, incoming)
        return await linked_accounts_response(request, conn, rows, p)


@router.get("/api/v1/follow_requests")
async def list_follow_requests(request: Request) -> Response:
    """Accounts asking to follow the viewer."""
    return await _listing(request, "follow_requests", "read:follows", incoming=True)


@router.get("/api/v1/blocks")
async def list_blocks(request: Request) -> Response:
    """Accounts the viewer blocks."""
    return await _listing(request, "blocks", "read:blocks")


@router.get("/api/v1/mutes")
async def list_mutes(request: Request) -> Response:
    """Accounts the viewer mutes."""
    return await _listing(request, "mutes", "read:mutes")


async def _answer(request: Request, account_id: str, accept: bool) -> Response:
    viewer = await get_viewer(request, "write:follows")
    requester = path_id(account_id)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await relations.answer_request(conn, viewer.account, requester, accept, ctx.feeds)
        rel = (await relations.relationships(conn, viewer.account.id, [requester]))[0]
    return json(relationship(rel))


@router.post("/api/v1/follow_requests/{account_id}/authorize")
async def authorize(request: Request, account_id: str) -> Response:
    """Accept a follow request."""
    return await _answer(request, account_id, True)


@router.post("/api/v1/follow_requests/{account_id}/reject")
async def reject(request: Request, account_id: str) -> Response:
    """Reject a follow request."""
    return await _answer(request, account_id, False)
