"""Direct conversations: one row per account and set of other participants, kept as direct statuses are posted."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.ids import new_id
from townsquare.core.pagination import Page
from townsquare.domain.models import Conversation
from townsquare.storage import accounts as account_store
from townsquare.storage.tables import account_conversations, conversation_statuses


def _upsert(conn: AsyncConnection):
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def add_status(conn: AsyncConnection, account_id: int, others: list[int], status_id: int, unread: bool) -> int:
    """Make a direct status the last of the account's thread with these others (creating it); return the thread id."""
    others = sorted(set(others))
    key = ",".join(str(i) for i in others)
    insert = _upsert(conn)(account_conversations).values(
        id=new_id(), account_id=account_id, participant_key=key, participant_ids=others,
        last_status_id=status_id, unread=unread)
    insert = insert.on_conflict_do_update(index_elements=["account_id", "participant_key"],
                                          set_={"last_status_id": status_id, "unread": unread})
    conversation_id = (await conn.execute(insert.returning(account_conversations.c.id))).scalar_one()
    await conn.execute(conversation_statuses.insert().values(conversation_id=conversation_id, status_id=status_id))
    return conversation_id


async def for_status(conn: AsyncConnection, status_id: int) -> list[tuple[int, int]]:
    """(account id, conversation id) of every thread a status belongs to."""
    rows = await conn.execute(select(account_conversations.c.account_id, account_conversations.c.id)
                              .join(conversation_statuses, conversation_statuses.c.conversation_id == account_conversations.c.id)
                              .where(conversation_statuses.c.status_id == status_id))
    return [(r[0], r[1]) for r in rows]


async def forget_status(conn: AsyncConnection, status_id: int) -> None:
    """Before a direct status is deleted: threads it ended fall back to their previous status, or disappear."""
    rows = (await conn.execute(select(account_conversations.c.id).where(account_conversations.c.last_status_id == status_id))).all()
    for (conversation_id,) in rows:
        previous = (await conn.execute(select(func.max(conversation_statuses.c.status_id)).where(and_(
            conversation_statuses.c.conversation_id == conversation_id, conversation_statuses.c.status_id != status_id)))).scalar()
        if previous is None:
            await conn.execute(delete(account_conversations).where(account_conversations.c.id == conversation_id))
        else:
            await conn.execute(update(account_conversations).where(account_conversations.c.id == conversation_id)
                               .values(last_status_id=previous))


async def page_of(conn: AsyncConnection, account_id: int, page: Page) -> list[Conversation]:
    """One page of an account's threads, newest last status first (paged by that status's id, as Mastodon does)."""
    column = account_conversations.c.last_status_id
    query = select(account_conversations).where(and_(account_conversations.c.account_id == account_id, column.is_not(None)))
    if page.max_id is not None:
        query = query.where(column < page.max_id)
    if page.since_id is not None:
        query = query.where(column > page.since_id)
    if page.min_id is not None:
        query = query.where(column > page.min_id)
    query = query.order_by(column.asc() if page.ascending else column.desc()).limit(page.limit)
    rows = (await conn.execute(query)).all()
    if page.ascending:
        rows = list(reversed(rows))
    return [Conversation.from_row(r) for r in rows]


async def get(conn: AsyncConnection, account_id: int, conversation_id: int) -> Conversation | None:
    """One of the account's threads, or None."""
    row = (await conn.execute(select(account_conversations).where(and_(
        account_conversations.c.id == conversation_id, account_conversations.c.account_id == account_id)))).first()
    return None if row is None else Conversation.from_row(row)


async def mark_read(conn: AsyncConnection, conversation_id: int) -> None:
    """Mark a thread read."""
    await conn.execute(update(account_conversations).where(account_conversations.c.id == conversation_id).values(unread=False))


async def remove(conn: AsyncConnection, conversation_id: int) -> None:
    """Remove a thread from its account's list (a new direct status brings it back)."""
    await conn.execute(delete(account_conversations).where(account_conversations.c.id == conversation_id))


async def hydrate(conn: AsyncConnection, items: list[Conversation], viewer_id: int, load_statuses) -> list[Conversation]:
    """Attach participants and the last status (when the viewer may still see it) to threads."""
    from_ids = {i for c in items for i in c.participant_ids}
    accounts = await account_store.get_many(conn, from_ids)
    last = {s.id: s for s in await load_statuses(conn, [c.last_status_id for c in items if c.last_status_id], viewer_id)}
    for c in items:
        c.accounts = [accounts[i] for i in c.participant_ids if i in accounts]
        c.last_status = last.get(c.last_status_id)
    return items
