"""Reads for health and metrics: a database round trip, live rooms, and the job queue's depth and lag."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware
from townsquare.storage.tables import jobs, spaces


async def ping(conn: AsyncConnection) -> None:
    """Make one round trip to the database."""
    await conn.execute(text("SELECT 1"))


async def live_room_ids(conn: AsyncConnection, limit: int = 1000) -> list[int]:
    """Return the ids of rooms on air (newest first, at most limit)."""
    query = select(spaces.c.id).where(spaces.c.state == "live").order_by(spaces.c.id.desc()).limit(limit)
    return [r[0] for r in (await conn.execute(query)).all()]


async def job_counts(conn: AsyncConnection) -> dict[str, int]:
    """Return the number of job rows in each state."""
    query = select(jobs.c.state, func.count()).group_by(jobs.c.state)
    return {state: int(count) for state, count in (await conn.execute(query)).all()}


async def oldest_due_job(conn: AsyncConnection, at: datetime) -> datetime | None:
    """Return the run_at of the oldest ready job already due at this time, or None."""
    query = select(func.min(jobs.c.run_at)).where(jobs.c.state == "ready", jobs.c.run_at <= at)
    return aware((await conn.execute(query)).scalar())
