"""Account and relationship entities, rendered from domain objects."""

from __future__ import annotations

from datetime import datetime, time, timezone

from townsquare.core.clock import aware, iso, iso_date
from townsquare.core.html import plain_text, plain_to_html
from townsquare.core.ids import render_id
from townsquare.domain.models import Account, AccountWarning, Relationship
from townsquare.media.profile_images import file_url


def _midnight(value: datetime) -> str:
    value = aware(value)
    return iso(datetime.combine(value.date(), time(0), tzinfo=timezone.utc))


def account(a: Account, base_url: str) -> dict:
    """Render a public Account entity."""
    avatar = file_url(a.avatar_file, base_url) or f"{base_url}/static/avatar.png"
    header = file_url(a.header_file, base_url) or f"{base_url}/static/header.png"
    return {
        "id": render_id(a.id),
        "username": a.username,
        "acct": a.acct,
        "display_name": plain_text(a.display_name),
        "locked": bool(a.locked),
        "bot": bool(a.bot),
        "discoverable": bool(a.discoverable),
        "indexable": bool(a.discoverable),
        "group": False,
        "created_at": _midnight(a.created_at),
        "note": plain_to_html(a.note),
        "url": f"{base_url}/@{a.username}",
        "uri": f"{base_url}/users/{a.username}",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "avatar_description": a.avatar_description or "",
        "header_description": a.header_description or "",
        "followers_count": a.followers_count,
        "following_count": a.following_count,
        "statuses_count": a.statuses_count,
        "last_status_at": iso_date(aware(a.last_status_at)),
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [{"name": plain_text(f["name"]), "value": plain_to_html(f["value"]), "verified_at": None}
                   for f in (a.fields or [])],
    }


def credential_account(a: Account, base_url: str, follow_requests_count: int = 0) -> dict:
    """Render the viewer's own account, with its source and role."""
    data = account(a, base_url)
    data["source"] = {
        "privacy": a.default_visibility,
        "sensitive": bool(a.default_sensitive),
        "language": a.default_language,
        "note": a.note,
        "fields": [{"name": f["name"], "value": f["value"], "verified_at": None} for f in (a.fields or [])],
        "follow_requests_count": follow_requests_count,
        "indexable": bool(a.discoverable),
        "hide_collections": False,
        "discoverable": bool(a.discoverable),
    }
    data["role"] = {
        "id": {"user": "-99", "moderator": "2", "admin": "3"}.get(a.role, "-99"),
        "name": a.role if a.role != "user" else "",
        "permissions": "1" if a.role == "admin" else ("1024" if a.role == "moderator" else "0"),
        "color": "",
        "highlighted": a.role != "user",
    }
    return data


def relationship(r: Relationship) -> dict:
    """Render a Relationship entity."""
    return {
        "id": render_id(r.id),
        "following": r.following,
        "showing_reblogs": r.showing_reblogs,
        "notifying": r.notifying,
        "languages": r.languages,
        "followed_by": r.followed_by,
        "blocking": r.blocking,
        "blocked_by": r.blocked_by,
        "muting": r.muting,
        "muting_notifications": r.muting_notifications,
        "requested": r.requested,
        "requested_by": r.requested_by,
        "domain_blocking": r.domain_blocking,
        "endorsed": r.endorsed,
        "note": r.note,
    }


def account_warning(w: AccountWarning, base_url: str) -> dict:
    """Render an AccountWarning entity (the decision as its account sees it)."""
    return {
        "id": render_id(w.id),
        "action": w.action,
        "text": w.text,
        "status_ids": [str(v) for v in (w.status_ids or [])] or None,
        "target_account": account(w.target_account, base_url) if w.target_account else None,
        "appeal": {"text": w.appeal_text, "state": w.appeal_state} if w.appeal_state else None,
        "created_at": iso(w.created_at),
    }
