"""Room facts other parts need cheaply: who may send audio to a room, and its state."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.storage.tables import space_members, spaces

SPEAKING_ROLES = ("cohost", "speaker")


async def get_space_state(conn: AsyncConnection, space_id: int) -> tuple[str, bool] | None:
    """Return (state, record) of a room, or None when there is no such room."""
    row = (await conn.execute(select(spaces.c.state, spaces.c.record).where(spaces.c.id == space_id))).first()
    return None if row is None else (row.state, bool(row.record))


async def speaker_role(conn: AsyncConnection, space_id: int, account_id: int) -> str | None:
    """Return "host", "cohost" or "speaker" when this account may send audio to this live room, else None."""
    row = (await conn.execute(select(spaces.c.account_id, spaces.c.state).where(spaces.c.id == space_id))).first()
    if row is None or row.state != "live":
        return None
    if row.account_id == account_id:
        return "host"
    role = (
        await conn.execute(
            select(space_members.c.role).where(
                space_members.c.space_id == space_id, space_members.c.account_id == account_id
            )
        )
    ).scalar()
    return role if role in SPEAKING_ROLES else None
