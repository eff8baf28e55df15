"""How long what a request renders stays true by the clock alone: the earliest time-based change it shows.

A rendering that depends on the time (a poll still open, a filter not yet expired) notes the moment it
would change with `note`; a cache of whole responses (api/page_cache) reads the earliest note of the
request it is building and serves the stored answer no later than that. Outside such a request,
`note` does nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime


class Horizon:
    """The earliest wall-clock time (epoch seconds) a change by time alone was noted, or None."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None


_current: ContextVar[Horizon | None] = ContextVar("townsquare_horizon", default=None)


def begin() -> tuple[Horizon, object]:
    """Start collecting notes for the current request; returns the horizon and the token for `end`."""
    horizon = Horizon()
    return horizon, _current.set(horizon)


def end(token) -> None:
    """Stop collecting (restore what was before `begin`)."""
    _current.reset(token)


def note(when: datetime | float | None) -> None:
    """What is being rendered changes by itself at `when` (an aware datetime or epoch seconds)."""
    horizon = _current.get()
    if horizon is None or when is None:
        return
    at = when.timestamp() if isinstance(when, datetime) else float(when)
    if horizon.at is None or at < horizon.at:
        horizon.at = at
