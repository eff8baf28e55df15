"""Poll rows: creating polls, recording votes and loading tallies for the statuses being shown."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, delete, distinct, func, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.ids import new_id
from townsquare.domain.models import Poll, Status
from townsquare.storage.tables import poll_votes, polls


async def insert(conn: AsyncConnection, status_id: int, account_id: int, options: list[str], multiple: bool,
                 hide_totals: bool, expires_at: datetime) -> int:
    """Insert a poll for a status and return its id."""
    poll_id = new_id()
    await conn.execute(polls.insert().values(
        id=poll_id, status_id=status_id, account_id=account_id, options=list(options), multiple=multiple,
        hide_totals=hide_totals, expires_at=expires_at, ended_notified=False, created_at=now()))
    return poll_id


async def replace_options(conn: AsyncConnection, poll_id: int, options: list[str], multiple: bool, hide_totals: bool,
                          expires_at: datetime) -> None:
    """Give a poll new options and a new end, dropping every vote (the old choices no longer mean anything)."""
    await conn.execute(delete(poll_votes).where(poll_votes.c.poll_id == poll_id))
    await conn.execute(update(polls).where(polls.c.id == poll_id).values(
        options=list(options), multiple=multiple, hide_totals=hide_totals, expires_at=expires_at, ended_notified=False))


async def replace_end(conn: AsyncConnection, poll_id: int, hide_totals: bool, expires_at: datetime) -> None:
    """Move a poll's end (and its hide_totals), keeping its votes."""
    await conn.execute(update(polls).where(polls.c.id == poll_id).values(
        hide_totals=hide_totals, expires_at=expires_at, ended_notified=False))


async def remove(conn: AsyncConnection, poll_id: int) -> None:
    """Delete a poll and its votes."""
    await conn.execute(delete(polls).where(polls.c.id == poll_id))


async def get_row(conn: AsyncConnection, poll_id: int):
    """Return a poll's raw row, or None."""
    return (await conn.execute(select(polls).where(polls.c.id == poll_id))).first()


async def row_for_status(conn: AsyncConnection, status_id: int):
    """Return the raw row of a status's poll, or None."""
    return (await conn.execute(select(polls).where(polls.c.status_id == status_id))).first()


async def own_choices(conn: AsyncConnection, poll_id: int, account_id: int) -> list[int]:
    """The choices an account has voted for in a poll."""
    rows = await conn.execute(select(poll_votes.c.choice).where(and_(
        poll_votes.c.poll_id == poll_id, poll_votes.c.account_id == account_id)).order_by(poll_votes.c.choice))
    return [r[0] for r in rows]


async def add_votes(conn: AsyncConnection, poll_id: int, account_id: int, choices: Iterable[int]) -> None:
    """Record an account's choices (the unique key refuses a second vote racing the first)."""
    stamp = now()
    for choice in choices:
        await conn.execute(poll_votes.insert().values(
            id=new_id(), poll_id=poll_id, account_id=account_id, choice=choice, created_at=stamp))


async def voter_ids(conn: AsyncConnection, poll_id: int) -> list[int]:
    """Every account that voted in a poll."""
    rows = await conn.execute(select(poll_votes.c.account_id).where(poll_votes.c.poll_id == poll_id).distinct())
    return [r[0] for r in rows]


async def mark_notified(conn: AsyncConnection, poll_id: int) -> bool:
    """Mark a poll's end as announced; False when another run already did (so it is announced once)."""
    result = await conn.execute(update(polls).where(and_(polls.c.id == poll_id, polls.c.ended_notified.is_(False)))
                                .values(ended_notified=True))
    return result.rowcount == 1


async def load(conn: AsyncConnection, poll_ids: list[int], viewer_id: int | None) -> dict[int, Poll]:
    """Load polls by id with their tallies and the viewer's own votes."""
    if not poll_ids:
        return {}
    rows = (await conn.execute(select(polls).where(polls.c.id.in_(poll_ids)))).all()
    return await _with_tallies(conn, rows, viewer_id)


async def attach(conn: AsyncConnection, items: list[Status], viewer_id: int | None,
                 poll_ids: dict[int, int] | None = None) -> None:
    """Set `poll` on the statuses that have one; `poll_ids` (status id -> poll id) may come from a presence query."""
    ids = [s.id for s in items]
    if not ids or poll_ids == {}:
        return
    if poll_ids is None:
        rows = (await conn.execute(select(polls).where(polls.c.status_id.in_(ids)))).all()
    else:
        rows = (await conn.execute(select(polls).where(polls.c.id.in_(list(poll_ids.values()))))).all()
    if not rows:
        return
    by_status = {p.status_id: p for p in (await _with_tallies(conn, rows, viewer_id)).values()}
    for s in items:
        s.poll = by_status.get(s.id)


async def _with_tallies(conn: AsyncConnection, rows: list, viewer_id: int | None) -> dict[int, Poll]:
    found = {r.id: Poll.from_row(r) for r in rows}
    ids = list(found)
    for p in found.values():
        p.expires_at = aware(p.expires_at)
        p.tallies = [0] * len(p.options)
    # Tallies, voter counts and the viewer's own choices in one statement.
    parts = [
        select(literal("t").label("k"), poll_votes.c.poll_id.label("poll"), poll_votes.c.choice.label("choice"),
               func.count().label("n")).where(poll_votes.c.poll_id.in_(ids)).group_by(poll_votes.c.poll_id, poll_votes.c.choice),
        select(literal("v"), poll_votes.c.poll_id, literal(0), func.count(distinct(poll_votes.c.account_id)))
        .where(poll_votes.c.poll_id.in_(ids)).group_by(poll_votes.c.poll_id),
    ]
    if viewer_id is not None:
        parts.append(select(literal("o"), poll_votes.c.poll_id, poll_votes.c.choice, literal(0)).where(and_(
            poll_votes.c.poll_id.in_(ids), poll_votes.c.account_id == viewer_id)))
        for p in found.values():
            p.own_votes = []
    for kind, poll_id, choice, n in await conn.execute(union_all(*parts)):
        p = found[poll_id]
        if kind == "t" and 0 <= choice < len(p.tallies):
            p.tallies[choice] = n
            p.votes_count += n
        elif kind == "v":
            p.voters_count = n
        elif kind == "o":
            p.own_votes.append(choice)
    if viewer_id is not None:
        for p in found.values():
            p.own_votes.sort()
            p.voted = bool(p.own_votes) or p.account_id == viewer_id
    return found
