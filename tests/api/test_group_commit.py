"""Group commit: concurrent posts share a transaction on SQLite, and every acknowledged post is kept on both backends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from tests.api.conftest import assert_error
from townsquare.storage import sqlite_driver
from townsquare.storage.tables import jobs, statuses


@pytest.fixture
async def server(make_server):
    """The test server with overload shedding off: these tests send bursts of concurrent writes on purpose."""
    return await make_server(overload_enabled=False)


async def stored_ids(server) -> set[str]:
    async with server.ctx.db.read() as conn:
        return {str(r[0]) for r in await conn.execute(select(statuses.c.id))}


async def test_fifty_concurrent_posts_are_all_kept_with_their_jobs(server):
    users = [await server.user(f"poster{n}") for n in range(5)]
    db = server.ctx.db
    batches = db.batches
    replies = await asyncio.gather(*(users[n % 5].post("/api/v1/statuses", data={"status": f"post {n} #group"})
                                     for n in range(50)))
    assert [r.status_code for r in replies] == [200] * 50, [r.text for r in replies if r.status_code != 200][:2]
    posted = {r.json()["id"] for r in replies}
    assert len(posted) == 50 and posted <= await stored_ids(server)
    if db.group_commit:  # SQLite: fewer commits than posts (several posts rode in one)
        assert db.batches - batches < 50
    await server.settle()  # each post's fan-out job was committed with it
    for user in users:
        home = (await user.get("/api/v1/timelines/home", params={"limit": 40})).json()
        assert len([s for s in home if s["account"]["id"] == user.id]) == 10
    tagged = (await users[0].get("/api/v1/timelines/tag/group", params={"limit": 40})).json()
    assert len(tagged) == 40
    for user in users:
        assert (await user.get(f"/api/v1/accounts/{user.id}")).json()["statuses_count"] == 10


async def test_one_bad_post_in_a_batch_fails_alone(server):
    alice = await server.user("alice")
    texts = ["fine one", "fine two", "x" * 600, "fine three", "fine four"]  # the third is over the limit
    replies = await asyncio.gather(*(alice.post("/api/v1/statuses", data={"status": t}) for t in texts))
    body = assert_error(replies[2], 422)
    assert "character limit" in body["error"]
    good = [r for i, r in enumerate(replies) if i != 2]
    assert [r.status_code for r in good] == [200] * 4
    assert await stored_ids(server) == {r.json()["id"] for r in good}


async def test_a_unit_failing_in_the_database_is_rolled_back_alone(server):
    """A unit that wrote rows and then hit a database error leaves nothing; the units beside it commit."""
    db = server.ctx.db
    alice = await server.user("alice")

    async def broken_unit():
        async with db.write() as conn:
            await conn.execute(jobs.insert().values(id=1, queue="default", kind="noop", payload={}, state="failed",
                                                    attempts=0, run_at=func.now(), created_at=func.now()))
            await conn.execute(text("SELECT * FROM no_such_table"))

    posts = [alice.post("/api/v1/statuses", data={"status": f"beside a broken unit {n}"}) for n in range(6)]
    results = await asyncio.gather(broken_unit(), *posts, return_exceptions=True)
    assert isinstance(results[0], Exception)
    assert [r.status_code for r in results[1:]] == [200] * 6
    async with db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(jobs).where(jobs.c.id == 1))).scalar() == 0
    assert len(await stored_ids(server)) == 6


async def test_a_first_unit_failing_takes_only_its_own_writes_back(server):
    """The first unit of a transaction runs without a savepoint: when it fails, the transaction is rolled back
    and begun again, and the units waiting behind it commit."""
    db = server.ctx.db
    statements: list[str] = []
    release = asyncio.Event()

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    def trace(dbapi_connection, _record) -> None:  # every statement SQLite runs, SQLAlchemy's own or not
        raw = sqlite_driver.raw_sqlite(dbapi_connection)
        if raw is not None:
            raw.set_trace_callback(statements.append)

    async def unit(job_id: int, fail: bool = False):
        async with db.write() as conn:
            await conn.execute(jobs.insert().values(id=job_id, queue="default", kind="noop", payload={}, state="failed",
                                                    attempts=0, run_at=func.now(), created_at=func.now()))
            if fail:
                await release.wait()  # the others queue up behind it meanwhile
                raise RuntimeError("the first unit fails")

    from sqlalchemy import event

    await server.ctx.jobs.stop()  # no job claim may open the transaction before the first unit
    if db.is_sqlite:  # savepoints and BEGIN run on the sqlite3 connection itself: trace it (new connections)
        await db.engine.dispose()
        event.listen(db.engine.sync_engine, "connect", trace)
    else:
        event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        first = asyncio.create_task(unit(11, fail=True))
        await asyncio.sleep(0.01)
        others = [asyncio.create_task(unit(n)) for n in (12, 13)]
        await asyncio.sleep(0.01)
        release.set()
        results = await asyncio.gather(first, *others, return_exceptions=True)
    finally:
        if db.is_sqlite:
            event.remove(db.engine.sync_engine, "connect", trace)
        else:
            event.remove(db.engine.sync_engine, "before_cursor_execute", note)
        server.ctx.jobs.start()
    assert isinstance(results[0], RuntimeError) and results[1:] == [None, None]
    async with db.read() as conn:
        kept = {r[0] for r in await conn.execute(select(jobs.c.id).where(jobs.c.id.in_([11, 12, 13])))}
    assert kept == {12, 13}
    if db.group_commit:
        first_insert = next(i for i, st in enumerate(statements) if st.startswith("INSERT INTO jobs"))
        began = max(i for i, st in enumerate(statements[:first_insert]) if st.startswith("BEGIN"))
        assert not any(st.startswith("SAVEPOINT") for st in statements[began:first_insert]), statements[:first_insert + 1]
        assert any(st.startswith("SAVEPOINT") for st in statements[first_insert:]), statements  # the later units' own


async def test_a_failed_commit_loses_no_acknowledged_post(server, monkeypatch):
    """A commit that fails mid-run fails every post of its batch (none was acknowledged); every 200 is stored."""
    db = server.ctx.db
    alice = await server.user("alice")
    real = type(db)._commit
    state = {"failed": False}

    async def flaky(self, conn):
        # Fail the first commit whose batch holds posts (no statuses existed before this test).
        if not state["failed"] and (await conn.execute(select(func.count()).select_from(statuses))).scalar():
            state["failed"] = True
            raise OperationalError("COMMIT", None, Exception("disk I/O error"))
        await real(self, conn)

    if db.group_commit:
        monkeypatch.setattr(type(db), "_commit", flaky)
    replies = await asyncio.gather(*(alice.post("/api/v1/statuses", data={"status": f"post {n}"}) for n in range(30)))
    ok = {r.json()["id"] for r in replies if r.status_code == 200}
    failed = [r for r in replies if r.status_code != 200]
    stored = await stored_ids(server)
    assert ok <= stored and len(stored) == len(ok)  # nothing acknowledged is missing, nothing refused is there
    for r in failed:
        body = assert_error(r, 507)  # a disk I/O error is the storage answer, in Mastodon's shape
        assert body["error"]
    if db.group_commit:
        assert failed  # the batch whose commit failed answered each of its posts with an error
    # The database takes writes again afterwards.
    monkeypatch.undo()
    r = await alice.post("/api/v1/statuses", data={"status": "after the failure"})
    assert r.status_code == 200


@pytest.mark.parametrize("where", ["before", "inside"])
async def test_a_cancelled_caller_does_not_stall_the_others(server, where):
    db = server.ctx.db
    alice = await server.user("alice")
    started = asyncio.Event()

    async def slow():
        async with db.write() as conn:
            started.set()
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    if where == "inside":
        await asyncio.wait_for(started.wait(), 5)
    posts = [asyncio.create_task(alice.post("/api/v1/statuses", data={"status": f"p{n}"})) for n in range(3)]
    await asyncio.sleep(0.05)
    task.cancel()
    replies = await asyncio.wait_for(asyncio.gather(*posts), 20)
    assert [r.status_code for r in replies] == [200] * 3
    assert len(await stored_ids(server)) == 3
