"""Applying the viewer's filters to what a read path renders: `hide` drops a status, `warn`/`blur` mark it.

The filter set is loaded once per request (kept on request.state) and matched with one compiled
regular expression per context. The `filtered` key is added to a copy of a status's rendered JSON
afterwards, so the rendering of a status stays the same for every viewer (and cacheable).
"""

from __future__ import annotations

from starlette.requests import Request

from townsquare.api.serializers.filters import filter_result
from townsquare.api.serializers.statuses import notification as render_notification
from townsquare.api.serializers.statuses import status as render_status
from townsquare.api.serializers.statuses import notification_json, status_json, statuses_json
from townsquare.core import horizon
from townsquare.core.clock import now
from townsquare.domain.filters import FilterSet
from townsquare.domain.models import Status
from townsquare.storage import filters as filter_store

EMPTY = FilterSet(None, [], now())


async def load_filter_set(conn, account_id: int | None) -> FilterSet:
    """The active filters of an account (an empty set for anonymous viewers)."""
    if account_id is None:
        return EMPTY
    active = await filter_store.active_for(conn, account_id)
    for f in active:
        horizon.note(f.expires_at)  # an expiring filter stops applying by itself
    return FilterSet(account_id, active, now())


async def request_filters(request: Request, conn) -> FilterSet:
    """The viewer's filter set for this request, loaded on first use."""
    cached = getattr(request.state, "filter_set", None)
    if cached is None:
        viewer = getattr(request.state, "viewer", None)
        account = getattr(viewer, "account", None)
        cached = request.state.filter_set = await load_filter_set(conn, account.id if account is not None else None)
    return cached


def kept(filters: FilterSet, items: list[Status], context: str) -> list[Status]:
    """The statuses no `hide` filter of this context drops."""
    if not filters:
        return items
    return [s for s in items if not filters.hides(filters.match(s, context))]


def mark(filters: FilterSet, s: Status, data: dict, context: str) -> dict | None:
    """A status's rendered JSON with `filtered` set for this viewer, or None when a `hide` filter drops it."""
    if not filters:
        return data
    matches = filters.match(s, context)
    if not matches:
        return data
    if filters.hides(matches):
        return None
    results = [filter_result(m) for m in matches]
    data = {**data, "filtered": results}
    if data.get("reblog"):
        data["reblog"] = {**data["reblog"], "filtered": results}
    return data


def render_marked(filters: FilterSet, items: list[Status], base_url: str, context: str) -> list[dict]:
    """Render statuses for a viewer in a context, dropping the hidden and marking the filtered."""
    out = []
    for s in items:
        data = mark(filters, s, render_status(s, base_url), context)
        if data is not None:
            out.append(data)
    return out


def render_marked_json(filters: FilterSet, items: list[Status], base_url: str, context: str) -> bytes:
    """The JSON array of statuses for a viewer in a context (hidden ones dropped, filtered ones marked), as bytes."""
    out = []
    for s in items:
        results = None
        if filters:
            matches = filters.match(s, context)
            if matches:
                if filters.hides(matches):
                    continue
                results = [filter_result(m) for m in matches]
        out.append(status_json(s, base_url, results))
    return statuses_json(out)


async def render_filtered(request: Request, conn, items: list[Status], context: str) -> list[dict]:
    """Render statuses with the request viewer's filters of a context applied."""
    filters = await request_filters(request, conn)
    return render_marked(filters, items, request.app.state.ctx.settings.base_url, context)


def kept_notifications(filters: FilterSet, items: list) -> list:
    """The notifications whose status no `hide` filter of the notifications context drops."""
    if not filters:
        return items
    return [n for n in items if n.status is None or not filters.hides(filters.match(n.status, "notifications"))]


def render_notifications(filters: FilterSet, items: list, base_url: str) -> list[dict]:
    """Render notifications for a viewer: those about a hidden status dropped, filtered statuses marked."""
    out = []
    for n in kept_notifications(filters, items):
        data = render_notification(n, base_url)
        if n.status is not None and data.get("status") is not None:
            data["status"] = mark(filters, n.status, data["status"], "notifications")
        out.append(data)
    return out


def render_notifications_json(filters: FilterSet, items: list, base_url: str) -> bytes:
    """The JSON array of notifications for a viewer (see render_notifications), statuses from their cached form."""
    out = []
    for n in kept_notifications(filters, items):
        results = None
        if filters and n.status is not None:
            matches = filters.match(n.status, "notifications")
            results = [filter_result(m) for m in matches] or None
        out.append(notification_json(n, base_url, results))
    return statuses_json(out)
