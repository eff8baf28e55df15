"""Direct conversations: list, mark read, remove."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.params import read_params
from townsquare.api.serializers.conversations import conversation as render_conversation
from townsquare.core.pagination import page_from
from townsquare.services import conversations
from townsquare.storage import conversations as conversation_store
from townsquare.storage import statuses as status_store

router = APIRouter()


@router.get("/api/v1/conversations")
async def list_conversations(request: Request) -> Response:
    """List the viewer's direct threads, newest message first (paged by the last status's id)."""
    viewer = await get_viewer(request, "read:statuses")
    p = await read_params(request)
    page = page_from(p, 20, 40)
    base = ctx_of(request).settings.base_url
    async with ctx_of(request).db.read() as conn:
        items = await conversation_store.page_of(conn, viewer.account.id, page)
        items = await conversation_store.hydrate(conn, items, viewer.account.id, status_store.load_visible)
    return paged(request, [render_conversation(c, base) for c in items], p,
                 items[0].last_status_id if items else None, items[-1].last_status_id if items else None)


@router.post("/api/v1/conversations/{conversation_id}/read")
async def read_conversation(request: Request, conversation_id: str) -> Response:
    """Mark one of the viewer's threads read."""
    viewer = await get_viewer(request, "write:conversations")
    cid = path_id(conversation_id)
    async with ctx_of(request).db.write() as conn:
        found = await conversations.read_conversation(conn, viewer.account, cid)
    return json(render_conversation(found, ctx_of(request).settings.base_url))


@router.delete("/api/v1/conversations/{conversation_id}")
async def delete_conversation(request: Request, conversation_id: str) -> Response:
    """Remove one of the viewer's threads from their list."""
    viewer = await get_viewer(request, "write:conversations")
    cid = path_id(conversation_id)
    async with ctx_of(request).db.write() as conn:
        await conversations.remove_conversation(conn, viewer.account, cid)
    return json({})
