"""Listener reactions: a small set of emoji, summed per room between ticks so a crowd sends few messages."""

from __future__ import annotations

import time

REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "👏", "🔥", "💯")
ALIASES = {"+1": "👍", "heart": "❤️", "laugh": "😂", "wow": "😮", "sad": "😢", "clap": "👏", "fire": "🔥", "100": "💯"}


def normalise(name: str) -> str | None:
    """Return the emoji a reaction name stands for, or None when it is not one of the allowed ones."""
    name = name.strip()
    if name in REACTIONS:
        return name
    if name + "\ufe0f" in REACTIONS:  # ❤ sent without the variation selector
        return name + "\ufe0f"
    return ALIASES.get(name.lower())


class ReactionCounter:
    """Counts reactions per room until the next tick takes them."""

    def __init__(self) -> None:
        self.pending: dict[int, dict[str, int]] = {}

    def add(self, space_id: int, emoji: str, count: int = 1) -> None:
        """Count one reaction in a room."""
        room = self.pending.setdefault(space_id, {})
        room[emoji] = room.get(emoji, 0) + count

    def take(self) -> dict[int, dict[str, int]]:
        """Return the counts gathered since the last call and start afresh."""
        taken, self.pending = self.pending, {}
        return taken


class TokenBucket:
    """A rate limit: up to `rate` actions per second with bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None):
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def allow(self, cost: float = 1.0) -> bool:
        """Take a token if one is available; False means the caller should shed the request."""
        if self.rate <= 0:
            return True  # zero or less means unlimited
        clock = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (clock - self.stamp) * self.rate)
        self.stamp = clock
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True
