"""Poll, Quote and QuoteApproval entities, rendered from domain objects."""

from __future__ import annotations

from townsquare.core import horizon
from townsquare.core.clock import iso, now
from townsquare.core.ids import render_id
from townsquare.domain.models import Poll, Status, quote_policy

AUTOMATIC = {"public": ["public"], "followers": ["followers"], "nobody": []}


def poll(p: Poll | None) -> dict | None:
    """Render a Poll entity; with hide_totals the option counts stay hidden until it ends, as Mastodon does."""
    if p is None:
        return None
    expired = p.expires_at <= now()
    if not expired:
        horizon.note(p.expires_at)  # `expired` (and hidden totals) change by themselves then
    show_totals = expired or not p.hide_totals
    data = {
        "id": render_id(p.id),
        "expires_at": iso(p.expires_at),
        "expired": expired,
        "multiple": bool(p.multiple),
        "votes_count": p.votes_count,
        "voters_count": p.voters_count,
        "options": [{"title": title, "votes_count": p.tallies[i] if show_totals else None}
                    for i, title in enumerate(p.options)],
        "emojis": [],
    }
    if p.voted is not None:
        data["voted"] = p.voted
        data["own_votes"] = list(p.own_votes or [])
    return data


def quote_approval(s: Status) -> dict:
    """Render the QuoteApproval of a status: who may quote it, and whether the viewer may."""
    return {"automatic": AUTOMATIC[quote_policy(s)], "manual": [], "current_user": s.quote_current_user}


def quote(s: Status, render_status) -> dict | None:
    """Render the Quote (or, inside a quoted status, the ShallowQuote) a status carries, if any."""
    q = s.quote
    if q is None:
        return None
    if q.shallow:
        return {"state": q.state, "quoted_status_id": render_id(q.quoted_status_id) if q.quoted_status_id else None}
    return {"state": q.state, "quoted_status": render_status(q.quoted_status) if q.quoted_status is not None else None}
