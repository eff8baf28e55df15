"""Notifications: list with type filters, show, dismiss and clear."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.filtering import render_notifications_json, request_filters
from townsquare.api.mastodon.common import paged_bytes
from townsquare.api.params import as_list, as_str, read_params
from townsquare.api.serializers.statuses import notification as render_notification
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.core.pagination import page_from
from townsquare.domain.models import NOTIFICATION_TYPES
from townsquare.services import inbox
from townsquare.storage import notifications as notification_store

router = APIRouter()


def _types(p: dict, name: str) -> list[str]:
    values = [str(v) for v in as_list(p.get(name))]
    for value in values:
        if value not in NOTIFICATION_TYPES and value not in ("admin.sign_up", "admin.report", "severed_relationships", "moderation_warning", "quote", "quoted_update"):
            raise ApiError(422, f"Validation failed: {name} contains an unknown type '{value}'")
    return values


def _filtered(p: dict, viewer_id: int):
    account_id = p.get("account_id")
    return notification_store.filtered_query(viewer_id, _types(p, "types"), _types(p, "exclude_types"),
                                             (parse_id(account_id) or -1) if account_id else None)


@router.get("/api/v1/notifications")
async def list_notifications(request: Request) -> Response:
    """List the viewer's notifications, newest first."""
    viewer = await get_viewer(request, "read:notifications")
    p = await read_params(request)
    page = page_from(p, 40, 80)
    base = ctx_of(request).settings.base_url
    async with ctx_of(request).db.read() as conn:
        rows = await notification_store.page_rows(conn, _filtered(p, viewer.account.id), page)
        items = await inbox.hydrate(conn, rows, viewer.account.id, ctx_of(request).status_cache)
        filters = await request_filters(request, conn)
    return paged_bytes(request, render_notifications_json(filters, items, base), p,
                       rows[0].id if rows else None, rows[-1].id if rows else None)


@router.get("/api/v1/notifications/unread_count")
async def unread_count(request: Request) -> Response:
    """Count notifications newer than the notifications marker (at most 1000)."""
    viewer = await get_viewer(request, "read:notifications")
    async with ctx_of(request).db.read() as conn:
        rows = await inbox.unread_rows(conn, viewer.account.id)
    return json({"count": len(rows)})


@router.post("/api/v1/notifications/clear")
async def clear(request: Request) -> Response:
    """Delete all of the viewer's notifications."""
    viewer = await get_viewer(request, "write:notifications")
    async with ctx_of(request).db.write() as conn:
        await notification_store.delete_rows(conn, viewer.account.id)
    return json({})


@router.get("/api/v1/notifications/{notification_id}")
async def get_notification(request: Request, notification_id: str) -> Response:
    """Show one notification."""
    viewer = await get_viewer(request, "read:notifications")
    nid = path_id(notification_id)
    async with ctx_of(request).db.read() as conn:
        row = await notification_store.get_row(conn, viewer.account.id, nid)
        items = await inbox.hydrate(conn, [row], viewer.account.id) if row else []
    if not items:
        raise not_found()
    return json(render_notification(items[0], ctx_of(request).settings.base_url))


async def _dismiss(request: Request, nid: int) -> Response:
    viewer = await get_viewer(request, "write:notifications")
    async with ctx_of(request).db.write() as conn:
        removed = await notification_store.delete_rows(conn, viewer.account.id, [nid])
    if not removed:
        raise not_found()
    return json({})


@router.post("/api/v1/notifications/{notification_id}/dismiss")
async def dismiss(request: Request, notification_id: str) -> Response:
    """Dismiss one notification."""
    return await _dismiss(request, path_id(notification_id))


@router.post("/api/v1/notifications/dismiss")
async def dismiss_legacy(request: Request) -> Response:
    """Dismiss one notification given as the id parameter (the pre-3.1 form)."""
    p = await read_params(request)
    return await _dismiss(request, path_id(as_str(p.get("id"), "id") or ""))
