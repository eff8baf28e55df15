"""ScheduledStatus and Conversation entities, rendered from domain objects."""

from __future__ import annotations

from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.clock import iso
from townsquare.core.ids import render_id
from townsquare.domain.models import Conversation, ScheduledStatus


def scheduled_status(item: ScheduledStatus, media_attachments: list | None = None) -> dict:
    """Render a ScheduledStatus entity (params as Mastodon keeps them)."""
    params = dict(item.params)
    params["application_id"] = params.get("application_id") or 0  # the entity requires an integer
    return {
        "id": render_id(item.id),
        "scheduled_at": iso(item.scheduled_at),
        "params": params,
        "media_attachments": media_attachments or [],
    }


def conversation(c: Conversation, base_url: str) -> dict:
    """Render a Conversation entity."""
    return {
        "id": render_id(c.id),
        "unread": bool(c.unread),
        "accounts": [render_account(a, base_url) for a in c.accounts],
        "last_status": render_status(c.last_status, base_url) if c.last_status is not None else None,
    }
