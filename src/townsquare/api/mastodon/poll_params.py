"""Reading the poll, quote and scheduling parameters of a status as clients send them (form, JSON, Rails arrays)."""

from __future__ import annotations

from datetime import datetime, timezone

from townsquare.api.params import as_bool, as_list
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.services.polls import PollDraft


def _integer(value, name: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ApiError(422, f"Validation failed: {name} must be a number") from None
    if abs(number) > 2**31:
        raise ApiError(422, f"Validation failed: {name} is out of range")
    return number


def parse_poll(raw) -> PollDraft | None:
    """The poll[...] parameters as a PollDraft (None when absent); shapes no client sends get a 422."""
    if raw in (None, "", {}):
        return None
    if not isinstance(raw, dict):
        raise ApiError(422, "Validation failed: poll must be an object with options and expires_in")
    options = as_list(raw.get("options"))
    if any(not isinstance(o, (str, int, float)) or isinstance(o, bool) for o in options):
        raise ApiError(422, "Validation failed: Poll options must be strings")
    if raw.get("expires_in") in (None, ""):
        raise ApiError(422, "Validation failed: Poll expires_in can't be blank")
    return PollDraft(
        options=[str(o) for o in options],
        expires_in=_integer(raw.get("expires_in"), "poll[expires_in]"),
        multiple=as_bool(raw.get("multiple")),
        hide_totals=as_bool(raw.get("hide_totals")),
    )


def parse_quoted_id(raw) -> int | None:
    """The quoted_status_id parameter (404 when it cannot be an id, as for a missing status)."""
    if raw in (None, ""):
        return None
    value = parse_id(raw)
    if value is None:
        raise not_found()
    return value


def parse_scheduled_at(raw) -> datetime:
    """An ISO 8601 timestamp (a trailing Z or an offset; naive times are UTC)."""
    if not isinstance(raw, str):
        raise ApiError(422, "Validation failed: scheduled_at must be an ISO 8601 timestamp")
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "Validation failed: scheduled_at must be an ISO 8601 timestamp") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if not (2000 <= value.year <= 9000):
        raise ApiError(422, "Validation failed: scheduled_at is out of range")
    return value.astimezone(timezone.utc)


def parse_choices(params: dict) -> list[int]:
    """The choices[] of a vote as option indexes."""
    raw = as_list(params.get("choices"))
    if not raw:
        raise ApiError(422, "Validation failed: choices can't be blank")
    return [_integer(c, "choices") for c in raw]
