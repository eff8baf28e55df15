"""Polls: show one, vote in one."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.poll_params import parse_choices
from townsquare.api.params import read_params
from townsquare.api.serializers.polls import poll as render_poll
from townsquare.services import polls as poll_service

router = APIRouter()


@router.get("/api/v1/polls/{poll_id}")
async def get_poll(request: Request, poll_id: str) -> Response:
    """Show a poll of a status the viewer may see."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    async with ctx_of(request).db.read() as conn:
        status = await poll_service.visible_poll_status(conn, path_id(poll_id), viewer.account.id if viewer.account else None)
    return json(render_poll(status.poll))


@router.post("/api/v1/polls/{poll_id}/votes")
async def vote(request: Request, poll_id: str) -> Response:
    """Vote in a poll; streams showing its status hear a status.update with the new totals."""
    viewer = await get_viewer(request, "write:statuses")
    pid = path_id(poll_id)
    choices = parse_choices(await read_params(request))
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        status = await poll_service.visible_poll_status(conn, pid, viewer.account.id)
        await poll_service.vote(conn, viewer.account, status, choices, hybrid_threshold=ctx.settings.hybrid_threshold)
    async with ctx.db.read() as conn:
        status = await poll_service.visible_poll_status(conn, pid, viewer.account.id)
    return json(render_poll(status.poll))
