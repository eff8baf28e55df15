"""Grouped notifications (v2): favourites, reblogs and follows folded into groups, as Mastodon 4.3+ serves them."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.filtering import kept_notifications, mark, request_filters
from townsquare.api.mastodon.common import paged
from townsquare.api.mastodon.notifications import _filtered, _types
from townsquare.api.params import read_params
from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.accounts import account_warning
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.clock import iso
from townsquare.core.errors import not_found
from townsquare.core.ids import render_id
from townsquare.core.pagination import Page, page_from
from townsquare.domain.models import GROUPABLE_TYPES, group_key
from townsquare.services import inbox
from townsquare.storage import notifications as notification_store

router = APIRouter()
SAMPLE_ACCOUNTS = 8


def _grouped_types(p: dict) -> tuple[str, ...]:
    if "grouped_types" not in p:
        return GROUPABLE_TYPES
    return tuple(t for t in _types(p, "grouped_types") if t in GROUPABLE_TYPES)


async def _groups(conn, p: dict, viewer_id: int, page: Page, wanted: int, grouped: tuple[str, ...], filters=None):
    """Fold a window of notifications into at most `wanted` groups; return (groups, consumed row ids)."""
    window = Page(page.max_id, page.since_id, page.min_id, min(wanted * 5, 400))
    rows = await notification_store.page_rows(conn, _filtered(p, viewer_id), window)
    items = await inbox.hydrate(conn, rows, viewer_id)
    if filters is not None:
        items = kept_notifications(filters, items)
    groups: dict[str, list] = {}
    consumed: list[int] = []
    for n in items:
        key = group_key(n, grouped)
        if key not in groups and len(groups) >= wanted:
            break
        groups.setdefault(key, []).append(n)
        consumed.append(n.id)
    return groups, consumed


def _render(groups: dict[str, list], base: str, filters=None) -> dict:
    accounts, statuses, out = {}, {}, []
    for key, members in groups.items():
        newest = members[0]
        samples = []
        for n in members:
            if n.account.id not in samples and len(samples) < SAMPLE_ACCOUNTS:
                samples.append(n.account.id)
            accounts.setdefault(n.account.id, n.account)
        if newest.status is not None:
            statuses.setdefault(newest.status.id, newest.status)
        out.append({
            "group_key": key,
            "notifications_count": len(members),
            "type": newest.type,
            "most_recent_notification_id": render_id(newest.id),
            "page_min_id": render_id(members[-1].id),
            "page_max_id": render_id(newest.id),
            "latest_page_notification_at": iso(newest.created_at),
            "sample_account_ids": [render_id(a) for a in samples],
            "status_id": render_id(newest.status.id) if newest.status is not None else None,
        })
        if newest.moderation_warning is not None:
            out[-1]["moderation_warning"] = account_warning(newest.moderation_warning, base)
    return {
        "accounts": [render_account(a, base) for a in accounts.values()],
        "statuses": [render_status(s, base) if filters is None else mark(filters, s, render_status(s, base), "notifications")
                     for s in statuses.values()],
        "notification_groups": out,
    }


@router.get("/api/v2/notifications")
async def list_grouped(request: Request) -> Response:
    """List the viewer's notifications folded into groups, newest group first."""
    viewer = await get_viewer(request, "read:notifications")
    p = await read_params(request)
    page = page_from(p, 40, 80)
    async with ctx_of(request).db.read() as conn:
        filters = await request_filters(request, conn)
        groups, consumed = await _groups(conn, p, viewer.account.id, page, page.limit, _grouped_types(p), filters)
    base = ctx_of(request).settings.base_url
    return paged(request, _render(groups, base, filters), p, max(consumed) if consumed else None, min(consumed) if consumed else None)


@router.get("/api/v2/notifications/unread_count")
async def grouped_unread_count(request: Request) -> Response:
    """Count unread notification groups (after the notifications marker), up to 1000 notifications."""
    viewer = await get_viewer(request, "read:notifications")
    async with ctx_of(request).db.read() as conn:
        items = await inbox.hydrate(conn, await inbox.unread_rows(conn, viewer.account.id), viewer.account.id)
    return json({"count": len({group_key(n) for n in items})})


async def _members(conn, viewer_id: int, key: str) -> list:
    """Return the viewer's notifications in a group (among the newest 2000), or raise 404."""
    rows = await notification_store.newest_rows(conn, viewer_id, 2000)
    members = [n for n in await inbox.hydrate(conn, rows, viewer_id) if group_key(n) == key]
    if not members:
        raise not_found()
    return members


@router.get("/api/v2/notifications/{key}")
async def get_group(request: Request, key: str) -> Response:
    """Show one notification group."""
    viewer = await get_viewer(request, "read:notifications")
    async with ctx_of(request).db.read() as conn:
        members = await _members(conn, viewer.account.id, key)
    return json(_render({key: members}, ctx_of(request).settings.base_url))


@router.post("/api/v2/notifications/{key}/dismiss")
async def dismiss_group(request: Request, key: str) -> Response:
    """Dismiss every notification of a group."""
    viewer = await get_viewer(request, "write:notifications")
    async with ctx_of(request).db.write() as conn:
        members = await _members(conn, viewer.account.id, key)
        await notification_store.delete_rows(conn, viewer.account.id, [n.id for n in members])
    return json({})
