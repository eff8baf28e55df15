"""Durable job rows: enqueued inside the transaction of the change that needs them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.storage.db import OUTBOX, after_commit
from townsquare.storage.prepared import Prepared
from townsquare.storage.tables import jobs

# Sent on the bus once a transaction that queued jobs commits: wakes the in-process runner (wiring) and workers.
JOBS_QUEUED = ("jobs", {})


async def enqueue(conn: AsyncConnection, kind: str, payload: dict, queue: str = "default", run_at: datetime | None = None) -> int:
    """Insert a ready job row in the caller's transaction and return its id."""
    job_id = new_id()
    stamp = now()
    await _INSERT.run(conn, {"id": job_id, "queue": queue, "kind": kind, "payload": payload, "state": "ready",
                                 "attempts": 0, "run_at": run_at or stamp, "created_at": stamp})
    if JOBS_QUEUED not in conn.info.get(OUTBOX, ()):
        after_commit(conn, JOBS_QUEUED)
    return job_id


_INSERT = Prepared(jobs.insert())  # built once: building it cost more than running it
