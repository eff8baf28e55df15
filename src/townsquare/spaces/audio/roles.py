"""Whether an approved speaker is muted right now (the host's mute silences them in the mix)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.storage.tables import space_members


async def is_muted(conn: AsyncConnection, space_id: int, account_id: int) -> bool:
    """Return True when the account's speaker seat in this room is muted."""
    query = select(space_members.c.muted).where(space_members.c.space_id == space_id,
                                                space_members.c.account_id == account_id)
    return bool((await conn.execute(query)).scalar())
