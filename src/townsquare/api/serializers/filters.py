"""Filter, FilterKeyword, FilterStatus, FilterResult and V1 Filter entities."""

from __future__ import annotations

from townsquare.core.clock import iso
from townsquare.core.ids import render_id
from townsquare.domain.filters import CustomFilter, FilterKeyword, FilterMatch, FilterStatus


def keyword(k: FilterKeyword) -> dict:
    """Render a FilterKeyword."""
    return {"id": render_id(k.id), "keyword": k.keyword, "whole_word": bool(k.whole_word)}


def filter_status(s: FilterStatus) -> dict:
    """Render a FilterStatus."""
    return {"id": render_id(s.id), "status_id": render_id(s.status_id)}


def custom_filter(f: CustomFilter, *, nested: bool = True) -> dict:
    """Render a Filter (keywords and statuses omitted inside a FilterResult, as Mastodon does)."""
    data = {
        "id": render_id(f.id),
        "title": f.title,
        "context": list(f.context),
        "expires_at": iso(f.expires_at),
        "filter_action": f.action,
    }
    if nested:
        data["keywords"] = [keyword(k) for k in f.keywords]
        data["statuses"] = [filter_status(s) for s in f.statuses]
    return data


def filter_result(m: FilterMatch) -> dict:
    """Render a FilterResult."""
    return {
        "filter": custom_filter(m.filter, nested=False),
        "keyword_matches": m.keyword_matches or None,
        "status_matches": [render_id(i) for i in m.status_matches] or None,
    }


def v1_filter(f: CustomFilter, k: FilterKeyword) -> dict:
    """Render a V1 Filter: one keyword with its filter's context, expiry and action."""
    return {
        "id": render_id(k.id),
        "phrase": k.keyword,
        "context": list(f.context),
        "whole_word": bool(k.whole_word),
        "expires_at": iso(f.expires_at),
        "irreversible": f.action == "hide",
    }
