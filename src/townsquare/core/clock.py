"""Wall-clock helpers, in UTC, with Mastodon's timestamp format."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def iso(value: datetime | None) -> str | None:
    """Render a datetime with exactly three fractional digits and a Z, as iOS clients need."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_date(value: datetime | None) -> str | None:
    """Render only the date part of a datetime."""
    return None if value is None else value.strftime("%Y-%m-%d")


def aware(value: datetime | None) -> datetime | None:
    """Attach UTC to a naive datetime read back from SQLite."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value
