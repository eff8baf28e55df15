"""Rows of live audio rooms and their members, read back as plain room objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware
from townsquare.core.pagination import Page, apply, ordered
from townsquare.storage.tables import space_members, spaces

ROLE_ORDER = {"host": 0, "cohost": 1, "speaker": 2}


@dataclass
class Member:
    """Someone on a room's stage (host, cohost, speaker) or asking to be (requested)."""

    account_id: int
    role: str
    muted: bool
    created_at: datetime


@dataclass
class Space:
    """A live audio room with everyone on its stage."""

    id: int
    account_id: int
    title: str
    state: str
    record: bool
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    members: list[Member] = field(default_factory=list)

    def role_of(self, account_id: int | None) -> str | None:
        """Return this account's role in the room (host, cohost, speaker, requested) or None."""
        if account_id is None:
            return None
        if account_id == self.account_id:
            return "host"
        for m in self.members:
            if m.account_id == account_id:
                return m.role
        return None

    def can_manage(self, account_id: int | None) -> bool:
        """Whether this account is the host or a co-host."""
        return self.role_of(account_id) in ("host", "cohost")

    def with_role(self, *roles: str) -> list[Member]:
        """Return the members holding any of these roles, stage order first, then oldest first."""
        found = [m for m in self.members if m.role in roles]
        return sorted(found, key=lambda m: (ROLE_ORDER.get(m.role, 9), m.created_at))


def _space(row, members: list[Member]) -> Space:
    return Space(
        id=row.id, account_id=row.account_id, title=row.title, state=row.state, record=bool(row.record),
        scheduled_at=aware(row.scheduled_at), started_at=aware(row.started_at), ended_at=aware(row.ended_at),
        created_at=aware(row.created_at), members=members,
    )


async def load_many(conn: AsyncConnection, ids: list[int]) -> list[Space]:
    """Load rooms with their members, in the order of ids (missing ones skipped)."""
    if not ids:
        return []
    rows = {r.id: r for r in (await conn.execute(select(spaces).where(spaces.c.id.in_(ids)))).all()}
    members: dict[int, list[Member]] = {i: [] for i in rows}
    query = select(space_members).where(space_members.c.space_id.in_(list(rows)))
    for m in (await conn.execute(query)).all():
        members[m.space_id].append(Member(m.account_id, m.role, bool(m.muted), aware(m.created_at)))
    return [_space(rows[i], members[i]) for i in ids if i in rows]


async def load(conn: AsyncConnection, space_id: int) -> Space | None:
    """Load one room with its members, or None."""
    found = await load_many(conn, [space_id])
    return found[0] if found else None


async def count_role(conn: AsyncConnection, space_id: int, role: str) -> int:
    """Count the members of a room holding one role."""
    query = select(func.count()).select_from(space_members).where(
        and_(space_members.c.space_id == space_id, space_members.c.role == role))
    return int((await conn.execute(query)).scalar() or 0)


async def live_by_host(conn: AsyncConnection, account_id: int) -> int | None:
    """Return the id of the live room this account hosts, if any."""
    query = select(spaces.c.id).where(and_(spaces.c.account_id == account_id, spaces.c.state == "live")).limit(1)
    return (await conn.execute(query)).scalar()


async def ids_by_state(conn: AsyncConnection, state: str, limit: int = 40) -> list[int]:
    """Ids of the rooms in one state (live, scheduled, ended), newest first."""
    rows = await conn.execute(select(spaces.c.id).where(spaces.c.state == state).order_by(spaces.c.id.desc()).limit(limit))
    return [r.id for r in rows]


async def page_ids(conn: AsyncConnection, state: str, page: Page, host_id: int | None = None) -> list[int]:
    """Ids of the rooms in one state for a page of GET /api/v1/spaces (optionally one host's), newest first."""
    query = select(spaces.c.id).where(spaces.c.state == state)
    if host_id is not None:
        query = query.where(spaces.c.account_id == host_id)
    return [r.id for r in ordered((await conn.execute(apply(query, spaces.c.id, page))).all(), page)]
