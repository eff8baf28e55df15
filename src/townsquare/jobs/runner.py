"""The job runner: claims durable job rows, runs their handlers, retries with backoff, parks failures."""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import timedelta
from typing import Awaitable, Callable

from sqlalchemy import and_, delete, select, update

from townsquare.core.clock import now
from townsquare.storage.db import Database
from townsquare.storage.tables import jobs

log = logging.getLogger("townsquare.jobs")
MAX_ATTEMPTS = 8
STALE_AFTER = timedelta(minutes=5)

Handler = Callable[[object, object, dict], Awaitable[None]]


class JobRunner:
    """Runs jobs in-process: woken right after a commit, and polling as a safety net."""

    def __init__(self, db: Database, handlers: dict[str, Handler], context: object, batch: int = 20, *,
                 stale_after: timedelta = STALE_AFTER,
                 periodic: dict[str, float] | None = None):
        self.db = db
        self.stale_after = stale_after  # a job claimed longer ago than this belongs to a dead worker
        self.periodic = dict(periodic or {})  # handler kind -> seconds between runs (maintenance, no job row)
        self._last_periodic: dict[str, float] = {}
        self.handlers = handlers
        self.context = context
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    def wake(self) -> None:
        """Ask the runner to look for work now."""
        self._wake.set()

    def start(self) -> None:
        """Start the background loop."""
        self._task = asyncio.create_task(self._loop(), name="townsquare-jobs")

    async def stop(self) -> None:
        """Stop the loop after the job in hand."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        while not self._stopping:
            await self._run_periodic()
            try:
                ran = await self.run_once()
            except Exception:  # a broken database must not kill the loop
                log.exception("job loop failed")
                ran = 0
            if ran == 0 and not self._stopping:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()

    async def _run_periodic(self) -> None:
        clock = asyncio.get_running_loop().time()
        for kind, every in self.periodic.items():
            last = self._last_periodic.get(kind)
            if last is None:
                self._last_periodic[kind] = clock  # first run one interval after start
                continue
            if clock - last < every:
                continue
            self._last_periodic[kind] = clock
            try:
                async with self.db.write() as conn:
                    await self.handlers[kind](self.context, conn, {})
            except Exception:
                log.exception("periodic %s failed", kind)

    async def _claim(self) -> list:
        stamp = now()
        async with self.db.write() as conn:
            query = (
                select(jobs)
                .where(and_(jobs.c.run_at <= stamp, (jobs.c.state == "ready") | (
                    (jobs.c.state == "running") & (jobs.c.locked_at < stamp - self.stale_after))))
                .order_by(jobs.c.id)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(update(jobs).where(jobs.c.id.in_([r.id for r in rows]))
                                   .values(state="running", locked_at=stamp, attempts=jobs.c.attempts + 1))
        return rows

    async def run_once(self) -> int:
        """Claim and run one batch of due jobs; return how many were run."""
        rows = await self._claim()
        for row in rows:
            await self._run(row)
        return len(rows)

    async def _run(self, row) -> None:
        handler = self.handlers.get(row.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {row.kind!r}")
            if getattr(handler, "outside_transaction", False):
                # Network work (a push service's answer) must not hold the write lock: the handler opens its
                # own short transactions, and its effects are at-least-once rather than exactly-once.
                await handler(self.context, None, dict(row.payload))
                async with self.db.write() as conn:
                    await conn.execute(delete(jobs).where(jobs.c.id == row.id))
                return
            payload = dict(row.payload)
            prepare = getattr(handler, "prepare", None)
            if prepare is not None:  # slow outside work (a web fetch) runs before, never inside, the write transaction
                payload = await prepare(self.context, payload)
            # The handler's writes and the job's removal commit together: a job's effects land once.
            async with self.db.write() as conn:
                await handler(self.context, conn, payload)
                await conn.execute(delete(jobs).where(jobs.c.id == row.id))
        except Exception as exc:
            attempts = row.attempts + 1
            parked = attempts >= MAX_ATTEMPTS
            log.warning("job %s (%s) failed, attempt %s: %s", row.id, row.kind, attempts, exc)
            async with self.db.write() as conn:
                await conn.execute(update(jobs).where(jobs.c.id == row.id).values(
                    state="failed" if parked else "ready",
                    run_at=now() + timedelta(seconds=min(2 ** attempts, 3600)),
                    locked_at=None,
                    last_error="".join(traceback.format_exception_only(type(exc), exc))[-2000:],
                ))

    async def drain(self, rounds: int = 50) -> None:
        """Run due jobs until none are left (used by tests and the CLI)."""
        idle = 0
        while rounds > 0:
            if await self.run_once() > 0:
                rounds -= 1
                continue
            # Nothing left to claim, but the background loop may be claiming or running a job: wait for it.
            stamp = now()
            async with self.db.read() as conn:
                busy = (await conn.execute(select(jobs.c.id).where(
                    ((jobs.c.state == "running") & (jobs.c.locked_at >= stamp - STALE_AFTER))
                    | ((jobs.c.state == "ready") & (jobs.c.run_at <= stamp))).limit(1))).first()
            if busy is None or idle >= 500:
                return
            idle += 1
            await asyncio.sleep(0.01)
