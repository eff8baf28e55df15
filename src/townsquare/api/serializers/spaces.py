"""The Space entity (a live audio room), rendered from a room and its people."""

from __future__ import annotations

from townsquare.api.serializers.accounts import account as render_account
from townsquare.core.clock import iso
from townsquare.core.ids import render_id
from townsquare.domain.models import Account
from townsquare.storage.spaces import Space


def space(s: Space, accounts: dict[int, Account], base_url: str, *, listener_count: int, hls_url: str | None,
          recording_url: str | None, viewer_id: int | None = None, waiting_count: int | None = None) -> dict:
    """Render a Space entity; people whose accounts are missing are left out."""

    def person(account_id: int) -> dict | None:
        found = accounts.get(account_id)
        return render_account(found, base_url) if found is not None else None

    stage = [m for m in s.with_role("host", "cohost", "speaker") if m.account_id in accounts]
    data = {
        "id": render_id(s.id),
        "title": s.title,
        "state": s.state,
        "record": s.record,
        "scheduled_at": iso(s.scheduled_at),
        "started_at": iso(s.started_at),
        "ended_at": iso(s.ended_at),
        "created_at": iso(s.created_at),
        "host": person(s.account_id),
        "cohosts": [person(m.account_id) for m in s.with_role("cohost") if m.account_id in accounts],
        "speakers": [{"account": person(m.account_id), "role": m.role, "muted": m.muted} for m in stage],
        "listener_count": listener_count,
        "hls_url": hls_url,
        "recording_url": recording_url,
        "url": f"{base_url}/spaces/{s.id}",
    }
    if viewer_id is not None:
        data["role"] = s.role_of(viewer_id) or "listener"
        if s.can_manage(viewer_id):
            data["speak_requests"] = [person(m.account_id) for m in s.with_role("requested") if m.account_id in accounts]
            if s.state == "scheduled":
                data["waiting_count"] = waiting_count or 0  # listeners waiting for the start (hosts only)
    return data


def account_ids(s: Space) -> set[int]:
    """Return every account a rendered Space needs."""
    return {s.account_id} | {m.account_id for m in s.members}
