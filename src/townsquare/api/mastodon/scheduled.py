"""Scheduled statuses: created by POST /api/v1/statuses with scheduled_at; listed, moved and cancelled here."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.mastodon.poll_params import parse_scheduled_at
from townsquare.api.params import as_list, read_params
from townsquare.api.serializers.conversations import scheduled_status
from townsquare.core.pagination import page_from
from townsquare.domain.models import Viewer
from townsquare.services import posting, scheduling
from townsquare.storage import scheduled as scheduled_store

router = APIRouter()


async def schedule(request: Request, viewer: Viewer, draft: posting.Draft, when, p: dict) -> Response:
    """Keep a status for later instead of posting it (POST /api/v1/statuses with scheduled_at)."""
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        item = await scheduling.schedule_status(
            conn, viewer.account, draft, when, max_chars=ctx.settings.max_status_chars, app_id=viewer.app_id,
            idempotency=request.headers.get("idempotency-key"), media_ids=[str(m) for m in as_list(p.get("media_ids"))])
    ctx.after_commit()
    return json(scheduled_status(item))


@router.get("/api/v1/scheduled_statuses")
async def list_scheduled(request: Request) -> Response:
    """List the viewer's scheduled statuses."""
    viewer = await get_viewer(request, "read:statuses")
    p = await read_params(request)
    page = page_from(p, 20, 40)
    async with ctx_of(request).db.read() as conn:
        items = await scheduled_store.page_of(conn, viewer.account.id, page)
    return paged(request, [scheduled_status(i) for i in items], p,
                 items[0].id if items else None, items[-1].id if items else None)


@router.get("/api/v1/scheduled_statuses/{scheduled_id}")
async def get_scheduled(request: Request, scheduled_id: str) -> Response:
    """Show one of the viewer's scheduled statuses."""
    viewer = await get_viewer(request, "read:statuses")
    async with ctx_of(request).db.read() as conn:
        item = await scheduling.owned(conn, viewer.account, path_id(scheduled_id))
    return json(scheduled_status(item))


@router.put("/api/v1/scheduled_statuses/{scheduled_id}")
async def update_scheduled(request: Request, scheduled_id: str) -> Response:
    """Move one of the viewer's scheduled statuses to another time."""
    viewer = await get_viewer(request, "write:statuses")
    sid = path_id(scheduled_id)
    p = await read_params(request)
    when = parse_scheduled_at(p.get("scheduled_at"))
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        item = await scheduling.reschedule(conn, viewer.account, sid, when)
    ctx.after_commit()
    return json(scheduled_status(item))


@router.delete("/api/v1/scheduled_statuses/{scheduled_id}")
async def delete_scheduled(request: Request, scheduled_id: str) -> Response:
    """Cancel one of the viewer's scheduled statuses."""
    viewer = await get_viewer(request, "write:statuses")
    sid = path_id(scheduled_id)
    async with ctx_of(request).db.write() as conn:
        await scheduling.cancel(conn, viewer.account, sid)
    return json({})
