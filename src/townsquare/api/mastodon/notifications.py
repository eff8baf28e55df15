"""Notifications: list with type filters, show, dismiss and clear."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import and_, delete, select
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.filtering import render_notifications, request_filters
from townsquare.api.mastodon.common import paged
from townsquare.api.params import as_list, as_str, read_params
from townsquare.api.serializers.statuses import notification as render_notification
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.core.pagination import apply, ordered, page_from
from townsquare.domain.models import NOTIFICATION_TYPES, Notification
from townsquare.moderation.appeals import load_warnings
from townsquare.moderation.policy import not_suspended_sender
from townsquare.storage import accounts as account_store
from townsquare.storage import statuses as status_store
from townsquare.storage.tables import notifications

router = APIRouter()


async def _hydrate(conn, rows, viewer_id: int) -> list[Notification]:
    accounts = await account_store.get_many(conn, {r.from_account_id for r in rows})
    status_ids = list({r.status_id for r in rows if r.status_id})
    found = {s.id: s for s in await status_store.load_visible(conn, status_ids, viewer_id)}
    warnings = await load_warnings(conn, [r.account_warning_id for r in rows if r.account_warning_id])
    out = []
    for r in rows:
        if r.from_account_id not in accounts:
            continue
        status = found.get(r.status_id) if r.status_id else None
        if r.status_id and status is None:
            continue  # the status is gone or no longer visible
        if r.type == "reblog" and status is not None and status.reblog is not None:
            status = status.reblog  # Mastodon shows the reblogged status, not the reblog wrapper
        out.append(Notification(id=r.id, type=r.type, created_at=r.created_at, account=accounts[r.from_account_id], status=status,
                                moderation_warning=warnings.get(r.account_warning_id) if r.account_warning_id else None))
    return out


def _types(p: dict, name: str) -> list[str]:
    values = [str(v) for v in as_list(p.get(name))]
    for value in values:
        if value not in NOTIFICATION_TYPES and value not in ("admin.sign_up", "admin.report", "severed_relationships", "moderation_warning", "quote", "quoted_update"):
            raise ApiError(422, f"Validation failed: {name} contains an unknown type '{value}'")
    return values


def _filtered(p: dict, viewer_id: int):
    query = select(notifications).where(notifications.c.account_id == viewer_id)
    types, exclude = _types(p, "types"), _types(p, "exclude_types")
    if types:
        query = query.where(notifications.c.type.in_(types))
    if exclude:
        query = query.where(notifications.c.type.not_in(exclude))
    account_id = p.get("account_id")
    if account_id:
        query = query.where(notifications.c.from_account_id == (parse_id(account_id) or -1))
    return query


@router.get("/api/v1/notifications")
async def list_notifications(request: Request) -> Response:
    """List the viewer's notifications, newest first."""
    viewer = await get_viewer(request, "read:notifications")
    p = await read_params(request)
    page = page_from(p, 40, 80)
    base = ctx_of(request).settings.base_url
    async with ctx_of(request).db.read() as conn:
        rows = ordered((await conn.execute(apply(_filtered(p, viewer.account.id), notifications.c.id, page))).all(), page)
        items = await _hydrate(conn, rows, viewer.account.id)
        filters = await request_filters(request, conn)
    return paged(request, render_notifications(filters, items, base), p,
                 rows[0].id if rows else None, rows[-1].id if rows else None)


async def unread_rows(conn, viewer_id: int, cap: int = 1000) -> list:
    """Return up to `cap` notification rows newer than the viewer's notifications marker."""
    from townsquare.services.personal import get_markers

    marker = await get_markers(conn, viewer_id, ["notifications"])
    # Notifications from suspended accounts are hidden, so they are not counted either.
    query = select(notifications).where(notifications.c.account_id == viewer_id).where(not_suspended_sender())
    if marker:
        query = query.where(notifications.c.id > marker[0].last_read_id)
    return (await conn.execute(query.order_by(notifications.c.id.desc()).limit(cap))).all()


@router.get("/api/v1/notifications/unread_count")
async def unread_count(request: Request) -> Response:
    """Count notifications newer than the notifications marker (at most 1000)."""
    viewer = await get_viewer(request, "read:notifications")
    async with ctx_of(request).db.read() as conn:
        rows = await unread_rows(conn, viewer.account.id)
    return json({"count": len(rows)})


@router.post("/api/v1/notifications/clear")
async def clear(request: Request) -> Response:
    """Delete all of the viewer's notifications."""
    viewer = await get_viewer(request, "write:notifications")
    async with ctx_of(request).db.write() as conn:
        await conn.execute(delete(notifications).where(notifications.c.account_id == viewer.account.id))
    return json({})


@router.get("/api/v1/notifications/{notification_id}")
async def get_notification(request: Request, notification_id: str) -> Response:
    """Show one notification."""
    viewer = await get_viewer(request, "read:notifications")
    nid = path_id(notification_id)
    async with ctx_of(request).db.read() as conn:
        row = (await conn.execute(select(notifications).where(and_(notifications.c.id == nid, notifications.c.account_id == viewer.account.id)))).first()
        items = await _hydrate(conn, [row], viewer.account.id) if row else []
    if not items:
        raise not_found()
    return json(render_notification(items[0], ctx_of(request).settings.base_url))


async def _dismiss(request: Request, nid: int) -> Response:
    viewer = await get_viewer(request, "write:notifications")
    async with ctx_of(request).db.write() as conn:
        result = await conn.execute(delete(notifications).where(and_(notifications.c.id == nid, notifications.c.account_id == viewer.account.id)))
    if not result.rowcount:
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
