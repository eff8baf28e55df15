"""The job runner: claims durable job rows, runs their handlers, retries with backoff, parks failures."""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import timedelta
from typing import Awaitable, Callable

from sqlalchemy import and_, bindparam, delete, select, update

from townsquare.core.clock import now
from townsquare.core.tasks import cancel_requested
from townsquare.storage.db import Database
from townsquare.storage.faults import DatabaseUnavailable, StorageUnavailable
from townsquare.storage.tables import jobs
from townsquare.timelines.feeds import FeedsUnavailable

# Outages, not the job's fault: the job goes back to the queue without counting an attempt, and waits. (A fan-out
# while Redis is down must not use up its attempts and be parked, or the post would never reach the feeds.)
OUTAGES = (StorageUnavailable, DatabaseUnavailable, FeedsUnavailable)

log = logging.getLogger("townsquare.jobs")
MAX_ATTEMPTS = 8
STALE_AFTER = timedelta(minutes=5)
HEARTBEAT_EVERY = 1.5  # seconds between a worker's heartbeats on the jobs it holds
DEAD_AFTER = timedelta(seconds=6)  # a held job whose heartbeat is older than this belongs to a dead worker

# Jobs of a batchable kind claimed together are removed by one statement once they all ran.
_DELETE_JOBS = delete(jobs).where(jobs.c.id.in_(bindparam("ids", expanding=True)))

Handler = Callable[[object, object, dict], Awaitable[None]]


class JobRunner:
    """Runs jobs in-process: woken right after a commit, and polling as a safety net."""

    def __init__(self, db: Database, handlers: dict[str, Handler], context: object, batch: int = 20, *,
                 stale_after: timedelta = STALE_AFTER,
                 periodic: dict[str, float] | None = None, exclusive: bool = False,
                 heartbeat_every: float = HEARTBEAT_EVERY, dead_after: timedelta = DEAD_AFTER):
        self.db = db
        self.stale_after = stale_after  # the last resort: a job claimed longer ago than this runs again
        # The embedded server is the only runner of its database: any running job it does not hold was
        # left by a dead process (a crash, kill -9) and is run again at once, at start-up included.
        self.exclusive = exclusive
        # Heartbeats need concurrent writers: on SQLite the running job's transaction holds the only write lock.
        self.heartbeats = not exclusive and not db.is_sqlite
        self.heartbeat_every = heartbeat_every
        self.dead_after = dead_after
        self._held: set[int] = set()  # ids of the jobs this runner has claimed and not yet finished
        self._beat: asyncio.Task | None = None
        self._paused: tuple[str | None, float] = (None, 0.0)  # the last pause logged, and when
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
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="townsquare-jobs")
        if self.heartbeats:
            self._beat = asyncio.create_task(self._heartbeat(), name="townsquare-jobs-heartbeat")

    async def stop(self) -> None:
        """Stop the loop after the job in hand."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._beat is not None:
            self._beat.cancel()
            try:
                await self._beat
            except asyncio.CancelledError:
                pass
            self._beat = None

    async def _heartbeat(self) -> None:
        """Stamp the jobs this runner holds every few seconds, so others can tell a slow job from a dead worker."""
        while not self._stopping:
            await asyncio.sleep(self.heartbeat_every)
            held = list(self._held)
            if not held:
                continue
            try:
                async with self.db.write() as conn:
                    await conn.execute(update(jobs).where(jobs.c.id.in_(held)).where(jobs.c.state == "running")
                                       .values(heartbeat_at=now()))
            except Exception as exc:  # the database is away; the lease or the next beat covers it
                if cancel_requested():  # stop() cancelled us mid-statement and the driver said so its own way
                    raise asyncio.CancelledError from exc
                log.warning("job heartbeat failed: %s", exc)

    async def _loop(self) -> None:
        while not self._stopping:
            await self._run_periodic()
            try:
                ran = await self.run_once()
            except OUTAGES as exc:  # an answer, not a bug: wait and retry
                clock = asyncio.get_running_loop().time()
                if exc.reason != self._paused[0] or clock - self._paused[1] > 60:  # once a minute, not every second
                    log.warning("job loop paused: %s", exc.reason)
                    self._paused = (exc.reason, clock)
                ran = 0
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
            except OUTAGES as exc:
                log.warning("periodic %s skipped: %s", kind, exc.reason)
            except Exception:
                log.exception("periodic %s failed", kind)

    def _abandoned(self, stamp):
        """The condition for a running job that nobody alive holds."""
        running = jobs.c.state == "running"
        if self.exclusive:
            return running & jobs.c.id.not_in(list(self._held)) if self._held else running
        expired = jobs.c.locked_at < stamp - self.stale_after
        if not self.heartbeats:
            return running & expired
        dead = jobs.c.heartbeat_at.is_not(None) & (jobs.c.heartbeat_at < stamp - self.dead_after)
        return running & (dead | expired)

    async def _claim(self) -> list:
        stamp = now()
        claimed: list[int] = []
        try:
            return await self._claim_into(stamp, claimed)
        except BaseException:
            self._held.difference_update(claimed)  # the claim did not commit: nothing is held
            raise

    async def _claim_into(self, stamp, claimed: list[int]) -> list:
        async with self.db.write() as conn:
            query = (
                select(jobs)
                .where(and_(jobs.c.run_at <= stamp, (jobs.c.state == "ready") | self._abandoned(stamp)))
                .order_by(jobs.c.id)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            if rows:
                taken = [r.id for r in rows if r.state == "running"]
                if taken:
                    log.warning("taking over %s job(s) abandoned by a dead worker: %s", len(taken), taken[:10])
                await conn.execute(update(jobs).where(jobs.c.id.in_([r.id for r in rows]))
                                   .values(state="running", locked_at=stamp, heartbeat_at=stamp,
                                           attempts=jobs.c.attempts + 1))
                # Held before the claim commits (SQLite writes are serialised), so a concurrent claim skips them.
                claimed.extend(r.id for r in rows)
                self._held.update(claimed)
        return rows

    async def run_once(self) -> int:
        """Claim and run one batch of due jobs; return how many were run."""
        rows = await self._claim()
        try:
            for group in self._groups(rows):
                if len(group) > 1 and await self._run_together(group):
                    self._held.difference_update(r.id for r in group)
                    continue
                for row in group:
                    await self._run(row)
                    self._held.discard(row.id)
        finally:
            left = [r.id for r in rows if r.id in self._held]
            if left:
                await self._hand_back(left)
            self._held.difference_update(left)
        return len(rows)

    def _groups(self, rows: list) -> list[list]:
        """The claimed jobs in order, runs of the same batchable kind together (a handler marked `batchable`)."""
        groups: list[list] = []
        for row in rows:
            handler = self.handlers.get(row.kind)
            if groups and getattr(handler, "batchable", False) and groups[-1][0].kind == row.kind:
                groups[-1].append(row)
            else:
                groups.append([row])
        return groups

    async def _run_together(self, group: list) -> bool:
        """Run jobs of one batchable kind in one transaction, removed by one statement; False if any failed.

        The transaction then held nothing (it was rolled back whole), and the caller runs each job alone, so
        each gets its own error, retry and parking as usual.
        """
        handler = self.handlers[group[0].kind]
        try:
            async with self.db.write() as conn:
                for row in group:
                    await handler(self.context, conn, dict(row.payload))
                await conn.execute(_DELETE_JOBS, {"ids": [r.id for r in group]})
        except OUTAGES:
            raise  # not the jobs' fault: run_once hands them back
        except Exception as exc:
            log.info("%s %s jobs run together failed (%s); running each alone", len(group), group[0].kind, exc)
            return False
        return True

    async def _hand_back(self, ids: list[int]) -> None:
        """Return claimed jobs not run (the database went away) to the queue at once, without counting an attempt.

        If even this write fails they stay claimed, and are taken again once nobody holds them.
        """
        try:
            async with self.db.write() as conn:
                await conn.execute(update(jobs).where(jobs.c.id.in_(ids)).where(jobs.c.state == "running")
                                   .values(state="ready", locked_at=None, attempts=jobs.c.attempts - 1))
        except Exception as exc:
            log.warning("could not hand back %s job(s): %s", len(ids), exc)

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
        except OUTAGES:
            raise  # not the job's fault: run_once hands it back
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
