"""The append-only moderation log: every action by whom, on what, why and when."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.domain.models import Account
from townsquare.core.pagination import apply, ordered
from townsquare.storage.tables import action_logs

CATEGORIES = ("spam", "legal", "violation", "other")
SYSTEM_ACTOR = "system"


def actor_label(actor: Account | None) -> str:
    """How the log names an actor: the moderator's username, or `system` for the command line and jobs."""
    return actor.username if actor is not None else SYSTEM_ACTOR


async def record(conn: AsyncConnection, actor: Account | None, action: str, target_type: str, target_id: int | None,
                 target_handle: str | None = None, reason: str = "", category: str = "other") -> int:
    """Append one entry to the log (in the caller's transaction) and return its id."""
    entry_id = new_id()
    await conn.execute(action_logs.insert().values(
        id=entry_id, account_id=actor.id if actor is not None else None, actor=actor_label(actor), action=action,
        target_type=target_type, target_id=target_id, target_handle=target_handle, reason=reason or "",
        category=category if category in CATEGORIES else "other", created_at=now()))
    return entry_id


def page_query(action: str | None = None, target_id: int | None = None, actor_id: int | None = None):
    """A query over log entries with optional filters (the caller pages it)."""
    query = select(action_logs)
    if action:
        query = query.where(action_logs.c.action == action)
    if target_id is not None:
        query = query.where(action_logs.c.target_id == target_id)
    if actor_id is not None:
        query = query.where(action_logs.c.account_id == actor_id)
    return query


async def recent(conn: AsyncConnection, limit: int = 40) -> list:
    """Return the newest log entries."""
    return (await conn.execute(page_query().order_by(action_logs.c.id.desc()).limit(limit))).all()


async def page_rows(conn: AsyncConnection, page, action: str | None = None, target_id: int | None = None,
                    actor_id: int | None = None) -> list:
    """One page of log entries, newest first, with optional filters."""
    return ordered((await conn.execute(apply(page_query(action, target_id, actor_id), action_logs.c.id, page))).all(), page)
