"""Trends from real activity, with Mastodon's formulas: hashtags and links by unique accounts, statuses by interactions.

Tags and links: expected = distinct accounts yesterday (at least 1), observed = distinct accounts today;
score = (observed - expected)^2 / expected once observed reaches the threshold and exceeds expected.
The peak score decays with a half-life (tags 4 h, links 8 h) and is forgotten after 2 days.
Statuses: score = (reblogs + favourites - 1)^2 once that sum reaches the threshold, halving every 2 h of age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.domain.cards import DayUse
from townsquare.storage import trends as store
from townsquare.storage.job_rows import enqueue

DAY_MS = 86_400_000
HALFLIFE = {"tags": timedelta(hours=4), "links": timedelta(hours=8), "statuses": timedelta(hours=2)}
MAX_SCORE_COOLDOWN = timedelta(days=2)
STATUS_WINDOW = timedelta(days=2)  # older statuses cannot score above the decay threshold any more
REFRESH_JOB = "refresh_trends"


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _day(ms: int) -> int:
    return ms - ms % DAY_MS


def spike_score(observed: float, expected: float, threshold: int) -> float:
    """Mastodon's trend score: (observed - expected)^2 / expected, or 0 below the threshold or expectation."""
    expected = expected or 1.0
    if expected > observed or observed < threshold:
        return 0.0
    return (observed - expected) ** 2 / expected


def decayed(score: float, since: datetime, at: datetime, halflife: timedelta) -> float:
    """A score halved for every half-life elapsed since a moment."""
    return score * 0.5 ** ((at - since).total_seconds() / halflife.total_seconds())


def histories(counts: list[tuple[int, int, int, int]], at: datetime, days: int = 7) -> dict[int, list[DayUse]]:
    """Turn (item, day number, uses, accounts) counts into each item's last days, newest first, zeros included."""
    today = _day(_ms(at)) // DAY_MS
    by_day = {(item, day): (uses, people) for item, day, uses, people in counts}
    return {item: [DayUse(day=(today - n) * 86400, uses=by_day.get((item, today - n), (0, 0))[0],
                          accounts=by_day.get((item, today - n), (0, 0))[1]) for n in range(days)]
            for item in {c[0] for c in counts}}


def empty_history(at: datetime, days: int = 7) -> list[DayUse]:
    """Seven days without use."""
    today = _day(_ms(at)) // DAY_MS
    return [DayUse(day=(today - n) * 86400, uses=0, accounts=0) for n in range(days)]


async def tag_history(conn: AsyncConnection, tag_ids: list[int], at: datetime | None = None, days: int = 7) -> dict[int, list[DayUse]]:
    """Daily uses and accounts of these tags over the last days (every tag gets a full list)."""
    at = at or now()
    since = _day(_ms(at)) - (days - 1) * DAY_MS
    found = histories(await store.daily_tag_uses(conn, since, _ms(at) + 1, tag_ids), at, days) if tag_ids else {}
    return {t: found.get(t) or empty_history(at, days) for t in tag_ids}


async def link_history(conn: AsyncConnection, card_ids: list[int], at: datetime | None = None, days: int = 7) -> dict[int, list[DayUse]]:
    """Daily shares and accounts of these cards over the last days."""
    at = at or now()
    since = _day(_ms(at)) - (days - 1) * DAY_MS
    found = histories(await store.daily_link_shares(conn, since, _ms(at) + 1, card_ids), at, days) if card_ids else {}
    return {c: found.get(c) or empty_history(at, days) for c in card_ids}


@dataclass
class TrendScores:
    """A refresh's results, computed from reads alone so the write that stores them stays short."""

    tags: dict[int, tuple[float, float, datetime | None]] = field(default_factory=dict)
    links: dict[int, tuple[float, float, datetime | None]] = field(default_factory=dict)
    statuses: list[tuple[int, int, float, str | None]] = field(default_factory=list)


async def _score_peaked(conn: AsyncConnection, kind: str, at: datetime, threshold: int) -> dict[int, tuple[float, float, datetime | None]]:
    """Score tags or links by today's against yesterday's unique accounts, keeping each peak to decay from."""
    today = _day(_ms(at)) // DAY_MS
    reader = store.daily_tag_uses if kind == "tags" else store.daily_link_shares
    counts = await reader(conn, (today - 1) * DAY_MS, _ms(at) + 1)
    people = {(item, day): n for item, day, _uses, n in counts}
    old = await store.peaks(conn, kind)
    kept: dict[int, tuple[float, float, datetime | None]] = {}
    for item in {c[0] for c in counts} | set(old):
        expected = float(people.get((item, today - 1), 0)) or 1.0
        observed = float(people.get((item, today), 0))
        max_score, max_at = old.get(item, (0.0, None))
        if max_at is None or max_at < at - MAX_SCORE_COOLDOWN:
            max_score, max_at = 0.0, None
        score = spike_score(observed, expected, threshold)
        if score > max_score:
            max_score, max_at = score, at
        if max_score > 0 and max_at is not None:
            kept[item] = (decayed(max_score, max_at, at, HALFLIFE[kind]), max_score, max_at)
    return kept


async def _score_statuses(conn: AsyncConnection, at: datetime, threshold: int) -> list[tuple[int, int, float, str | None]]:
    """Score popular eligible statuses by reblogs plus favourites, decayed by their age."""
    items = []
    for row in await store.popular_statuses(conn, _ms(at - STATUS_WINDOW), threshold):
        score = spike_score(float(row.reblogs_count + row.favourites_count), 1.0, threshold)
        value = decayed(score, aware(row.created_at), at, HALFLIFE["statuses"]) if score else 0.0
        if value >= store.DECAY_THRESHOLD["statuses"]:
            items.append((row.id, row.account_id, value, row.language))
    return items


async def compute_trends(conn: AsyncConnection, *, at: datetime | None = None, threshold: int = 5) -> TrendScores:
    """Score every trend (tags, links, statuses) as of a moment from the committed activity, reading only."""
    at = at or now()
    return TrendScores(tags=await _score_peaked(conn, "tags", at, threshold),
                       links=await _score_peaked(conn, "links", at, threshold),
                       statuses=await _score_statuses(conn, at, threshold))


async def store_trends(conn: AsyncConnection, scores: TrendScores) -> None:
    """Replace the stored trends with a refresh's results."""
    await store.replace_peaked(conn, "tags", scores.tags)
    await store.replace_peaked(conn, "links", scores.links)
    await store.replace_status_trends(conn, scores.statuses)


async def refresh_trends(conn: AsyncConnection, *, at: datetime | None = None, threshold: int = 5) -> None:
    """Recompute and store every trend as of a moment, in the caller's transaction."""
    await store_trends(conn, await compute_trends(conn, at=at, threshold=threshold))


async def schedule_refresh(conn: AsyncConnection) -> None:
    """Queue one trends refresh job unless one is already waiting (the periodic tick calls this)."""
    if not await store.job_pending(conn, REFRESH_JOB):
        await enqueue(conn, REFRESH_JOB, {})
