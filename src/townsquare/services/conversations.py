"""Direct conversations: kept up to date as direct statuses are posted; read and removed by their participants."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.errors import not_found
from townsquare.domain.models import Account, Conversation
from townsquare.storage import conversations as conversation_store
from townsquare.storage import statuses as status_store


async def record_direct_status(conn: AsyncConnection, author: Account, status_id: int, mentioned_ids: list[int]) -> None:
    """File a new direct status in the thread of each participant (author and mentioned), unread for the recipients."""
    participants = {author.id, *mentioned_ids}
    for account_id in participants:
        others = [i for i in participants if i != account_id]
        await conversation_store.add_status(conn, account_id, others, status_id, unread=account_id != author.id)


async def load_conversation(conn: AsyncConnection, viewer: Account, conversation_id: int) -> Conversation:
    """One of the viewer's threads with its participants and last status (404 if it is not theirs)."""
    found = await conversation_store.get(conn, viewer.id, conversation_id)
    if found is None:
        raise not_found()
    return (await conversation_store.hydrate(conn, [found], viewer.id, status_store.load_visible))[0]


async def read_conversation(conn: AsyncConnection, viewer: Account, conversation_id: int) -> Conversation:
    """Mark one of the viewer's threads read and return it."""
    found = await load_conversation(conn, viewer, conversation_id)
    await conversation_store.mark_read(conn, conversation_id)
    found.unread = False
    return found


async def remove_conversation(conn: AsyncConnection, viewer: Account, conversation_id: int) -> None:
    """Remove one of the viewer's threads from their list."""
    if await conversation_store.get(conn, viewer.id, conversation_id) is None:
        raise not_found()
    await conversation_store.remove(conn, conversation_id)
