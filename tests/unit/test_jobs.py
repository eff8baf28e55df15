"""The durable job runner: success removes the row, failures retry with backoff and are parked."""

from datetime import timedelta

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
