"""Mastodon-style pagination: max_id, since_id, min_id, limit and the Link header."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from townsquare.core.errors import ApiError
from townsquare.core.ids import parse_id


@dataclass
class Page:
    """The window a list request asks for."""

    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20
    offset: int = 0

    @property
    def ascending(self) -> bool:
        """Whether rows must be fetched oldest-first (min_id asks for the ones just above it)."""
        return self.min_id is not None


MAX_OFFSET = 100_000


def page_from(params: dict, default: int = 20, maximum: int = 40) -> Page:
    """Read a Page from request parameters, clamping the limit as Mastodon does."""
    page = Page(limit=default)
    for name in ("max_id", "since_id", "min_id"):
        raw = params.get(name)
        if raw not in (None, ""):
            value = parse_id(raw)
            if value is None:
                raise ApiError(422, f"Validation failed: {name} is not a valid id")
            setattr(page, name, value)
    raw_limit = params.get("limit")
    if raw_limit not in (None, ""):
        try:
            page.limit = max(1, min(int(str(raw_limit)), maximum))
        except ValueError:
            raise ApiError(422, "Validation failed: limit must be a number") from None
    raw_offset = params.get("offset")
    if raw_offset not in (None, ""):
        try:
            page.offset = max(0, int(str(raw_offset)))
        except ValueError:
            raise ApiError(422, "Validation failed: offset must be a number") from None
        if page.offset > MAX_OFFSET:  # also keeps the value inside a 64-bit SQL integer
            raise ApiError(422, f"Validation failed: offset must be at most {MAX_OFFSET}")
    return page


def apply(query, column, page: Page):
    """Restrict and order a SQLAlchemy select by an id column according to the page."""
    if page.max_id is not None:
        query = query.where(column < page.max_id)
    if page.since_id is not None:
        query = query.where(column > page.since_id)
    if page.min_id is not None:
        query = query.where(column > page.min_id)
    query = query.order_by(column.asc() if page.ascending else column.desc())
    return query.limit(page.limit)


def ordered(rows: list, page: Page) -> list:
    """Return rows newest-first whatever direction they were fetched in."""
    return list(reversed(rows)) if page.ascending else rows


def link_header(base_url: str, path: str, params: dict, first_id: int | None, last_id: int | None) -> str | None:
    """Build the Link header with rel=next (older) and rel=prev (newer) for a page of results."""
    if first_id is None or last_id is None:
        return None
    keep = {k: v for k, v in params.items() if k not in ("max_id", "since_id", "min_id", "offset") and not isinstance(v, dict)}
    def url(extra: dict) -> str:
        query = []
        for k, v in {**keep, **extra}.items():
            if isinstance(v, list):
                query.extend((f"{k}[]", item) for item in v)
            else:
                query.append((k, v))
        return f"{base_url}{path}?{urlencode(query)}"
    return f'<{url({"max_id": last_id})}>; rel="next", <{url({"min_id": first_id})}>; rel="prev"'
