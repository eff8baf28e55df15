"""The durable job runner: success removes the row, failures retry with backoff and are parked."""

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from townsquare.core.clock import now
from townsquare.jobs.runner import MAX_ATTEMPTS, JobRunner
from townsquare.storage.job_rows import enqueue
from townsquare.storage.tables import jobs


async def _own_runner(server, handlers):
    # Stop the app's runner so only this test's runner claims jobs.
    await server.ctx.jobs.stop()
    return JobRunner(server.ctx.db, handlers, server.ctx)


async def _job(db, job_id):
    async with db.read() as conn:
        return (await conn.execute(select(jobs).where(jobs.c.id == job_id))).first()


async def test_successful_job_commits_its_effect_and_disappears(server):
    db = server.ctx.db
    seen = []

    async def ok(ctx, conn, payload):
        seen.append(payload["n"])

    runner = await _own_runner(server, {"ok": ok})
    async with db.write() as conn:
        job_id = await enqueue(conn, "ok", {"n": 7})
    assert await runner.run_once() >= 1
    assert seen == [7]
    assert await _job(db, job_id) is None


async def test_failing_job_backs_off_then_is_parked(server):
    db = server.ctx.db

    async def broken(ctx, conn, payload):
        raise RuntimeError("boom")

    runner = await _own_runner(server, {"broken": broken})
    async with db.write() as conn:
        job_id = await enqueue(conn, "broken", {})
    await runner.run_once()
    row = await _job(db, job_id)
    assert row.state == "ready" and row.attempts == 1 and "boom" in row.last_error
    assert await runner.run_once() == 0  # backing off: not due yet
    for _ in range(MAX_ATTEMPTS - 1):
        async with db.write() as conn:
            await conn.execute(update(jobs).where(jobs.c.id == job_id).values(run_at=now() - timedelta(seconds=1)))
        await runner.run_once()
    row = await _job(db, job_id)
    assert row.state == "failed" and row.attempts == MAX_ATTEMPTS


async def test_job_abandoned_by_a_dead_worker_runs_again(server):
    db = server.ctx.db
    ran = []

    async def handler(ctx, conn, payload):
        ran.append(True)

    runner = await _own_runner(server, {"k": handler})
    async with db.write() as conn:
        job_id = await enqueue(conn, "k", {})
        # claimed by a worker that then died: running, locked long ago
        await conn.execute(update(jobs).where(jobs.c.id == job_id).values(state="running", locked_at=now() - timedelta(hours=1), attempts=1))
    await runner.run_once()
    assert ran == [True]
    assert await _job(db, job_id) is None


async def test_handler_failure_rolls_back_its_writes(server):
    db = server.ctx.db
    from townsquare.storage.tables import tags

    async def half(ctx, conn, payload):
        await conn.execute(tags.insert().values(id=1, name="halfway", created_at=now()))
        raise RuntimeError("after writing")

    runner = await _own_runner(server, {"half": half})
    async with db.write() as conn:
        await enqueue(conn, "half", {})
    await runner.run_once()
    async with db.read() as conn:
        assert (await conn.execute(select(tags).where(tags.c.name == "halfway"))).first() is None


async def test_job_whose_worker_stopped_heartbeating_is_taken_over_long_before_the_lease(server):
    db = server.ctx.db
    ran = []

    async def handler(ctx, conn, payload):
        ran.append(payload["n"])

    runner = await _own_runner(server, {"k": handler})
    if not runner.heartbeats:
        pytest.skip("heartbeats are for PostgreSQL workers: SQLite has one writer, the embedded server")
    assert runner.stale_after == timedelta(minutes=5)
    async with db.write() as conn:
        dead = await enqueue(conn, "k", {"n": "dead"})
        alive = await enqueue(conn, "k", {"n": "alive"})
        # Both claimed a moment ago; only the first one's worker stopped beating 10 s ago.
        await conn.execute(update(jobs).where(jobs.c.id == dead).values(
            state="running", locked_at=now() - timedelta(seconds=12), heartbeat_at=now() - timedelta(seconds=10)))
        await conn.execute(update(jobs).where(jobs.c.id == alive).values(
            state="running", locked_at=now() - timedelta(seconds=12), heartbeat_at=now()))
    await runner.run_once()
    assert ran == ["dead"]
    assert await _job(db, dead) is None
    assert (await _job(db, alive)).state == "running"


async def test_heartbeat_keeps_a_long_job_its_own(server):
    db = server.ctx.db
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(ctx, conn, payload):
        started.set()
        await release.wait()

    await server.ctx.jobs.stop()
    runner = JobRunner(db, {"slow": slow}, server.ctx, heartbeat_every=0.05)
    if not runner.heartbeats:
        pytest.skip("heartbeats are for PostgreSQL workers: SQLite has one writer, the embedded server")
    async with db.write() as conn:
        job_id = await enqueue(conn, "slow", {})
    runner.start()
    await asyncio.wait_for(started.wait(), 30)
    first = (await _job(db, job_id)).heartbeat_at
    for _ in range(200):
        await asyncio.sleep(0.05)
        if (await _job(db, job_id)).heartbeat_at != first:
            break
    assert (await _job(db, job_id)).heartbeat_at != first
    release.set()
    await runner.stop()
    assert await _job(db, job_id) is None


async def test_the_only_runner_of_its_database_reruns_jobs_left_running_at_once(server):
    db = server.ctx.db
    ran = []

    async def handler(ctx, conn, payload):
        ran.append(True)

    await server.ctx.jobs.stop()
    runner = JobRunner(db, {"k": handler}, server.ctx, exclusive=True)
    async with db.write() as conn:
        job_id = await enqueue(conn, "k", {})
        # claimed a second ago by a process that was then killed: fresh lock, fresh heartbeat
        await conn.execute(update(jobs).where(jobs.c.id == job_id).values(
            state="running", locked_at=now(), heartbeat_at=now(), attempts=1))
    assert await runner.run_once() == 1
    assert ran == [True] and await _job(db, job_id) is None


class _SwallowsCancellation:
    """The database as a driver can behave when a task is cancelled mid-statement: the cancellation does not
    come out of the write, which returns as if nothing had happened."""

    def __init__(self, db):
        self._db = db
        self.is_sqlite = db.is_sqlite
        self.committing = asyncio.Event()
        self.cancels_swallowed = 0

    def __getattr__(self, name):
        return getattr(self._db, name)

    @contextlib.asynccontextmanager
    async def write(self):
        async with self._db.write() as conn:
            yield conn
        self.committing.set()
        try:
            await asyncio.sleep(0.5)  # the commit's round trip, where the cancel lands
        except asyncio.CancelledError:
            self.cancels_swallowed += 1


async def test_a_stopped_heartbeat_ends_even_when_a_write_swallows_its_cancellation(server):
    await server.ctx.jobs.stop()
    db = _SwallowsCancellation(server.ctx.db)
    runner = JobRunner(db, {}, server.ctx, heartbeat_every=0.001)
    runner._held.add(1)  # it holds a job, so every beat writes
    beat = asyncio.create_task(runner._heartbeat())
    await asyncio.wait_for(db.committing.wait(), 30)
    runner._stopping = True  # what stop() does, in its order: the flag, then the cancel
    beat.cancel()
    # Before: the swallowed cancel left the beat going round for ever, and stop() waited on it for ever.
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(beat, 30)
    assert beat.done() and db.cancels_swallowed == 1


async def test_batchable_jobs_run_together_and_a_failing_one_fails_alone(server):
    db = server.ctx.db
    from townsquare.storage.tables import tags

    together = []

    async def tag(ctx, conn, payload):
        together.append(payload["n"])
        await conn.execute(tags.insert().values(id=100 + payload["n"], name=f"batch{payload['n']}", created_at=now()))
        if payload["n"] == 2:
            raise RuntimeError("the second one breaks")

    tag.batchable = True
    runner = await _own_runner(server, {"tag": tag})
    ids = []
    async with db.write() as conn:
        for n in range(4):
            ids.append(await enqueue(conn, "tag", {"n": n}))
    assert await runner.run_once() == 4
    assert together[:3] == [0, 1, 2]  # run together until the failure, then each alone
    async with db.read() as conn:
        names = {r[0] for r in await conn.execute(select(tags.c.name).where(tags.c.name.like("batch%")))}
    assert names == {"batch0", "batch1", "batch3"}  # the failing job's write rolled back, the others kept
    assert [await _job(db, i) for i in (ids[0], ids[1], ids[3])] == [None, None, None]
    failed = await _job(db, ids[2])
    assert failed.state == "ready" and failed.attempts == 1 and "second one breaks" in failed.last_error

    async with db.write() as conn:
        ids = [await enqueue(conn, "tag", {"n": n}) for n in (5, 6, 7)]
    together.clear()
    assert await runner.run_once() == 3
    assert together == [5, 6, 7]  # all in one transaction, removed by one statement
    assert [await _job(db, i) for i in ids] == [None, None, None]
