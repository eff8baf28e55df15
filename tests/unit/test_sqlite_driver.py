"""The SQLite driver: which statements run in place on the loop and which make a trip to the connection's thread."""

from __future__ import annotations

import asyncio
import sqlite3

import aiosqlite.core
import pytest
from sqlalchemy import text

from townsquare.storage import sqlite_driver
from townsquare.storage.db import Database


@pytest.fixture
async def db(tmp_path, monkeypatch):
    trips: list[str] = []
    original = aiosqlite.core.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(getattr(fn, "__qualname__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (a INTEGER)"))
    database.trips = trips
    yield database
    await database.dispose()


async def test_reads_make_no_trip(db):
    async with db.read() as conn:  # a pooled connection, opened by the fixture's set-up
        db.trips.clear()
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        assert (await conn.execute(text("SELECT 1 UNION SELECT 2"))).all() == [(1,), (2,)]
    assert db.trips == []


async def test_a_group_commit_makes_one_trip_whatever_its_units_do(db):
    db.trips.clear()

    async def unit(value: int) -> None:
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t VALUES (:a)"), {"a": value})
            await conn.execute(text("UPDATE t SET a = a + 0 WHERE a = :a"), {"a": value})
            await conn.execute(text("SELECT count(*) FROM t"))

    await asyncio.gather(*(unit(i) for i in range(5)))
    commits = db.trips.count("Connection.commit")
    assert commits == db.batches >= 1
    # per transaction only the COMMIT: a free write lock is taken in place, and the inserts, updates, selects and
    # savepoints run in place
    assert len(db.trips) == commits, db.trips
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 5


async def test_a_write_lock_held_elsewhere_is_waited_for_on_the_thread(tmp_path, db):
    other = sqlite3.connect(f"{tmp_path}/t.db", isolation_level=None)  # another process's writer, say the CLI
    other.execute("BEGIN IMMEDIATE")
    db.trips.clear()

    async def write() -> None:
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t VALUES (9)"))

    task = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not task.done()  # waiting for the lock, on the thread: the loop runs meanwhile
    assert db.trips and db.trips[0] == "_Cursor.execute.<locals>.run"  # the BEGIN IMMEDIATE's trip
    other.execute("COMMIT")
    await asyncio.wait_for(task, 10)
    other.close()
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t WHERE a = 9"))).scalar() == 1


async def test_a_failing_unit_in_place_is_rolled_back_alone(db):
    async def good() -> None:
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))

    async def bad() -> None:
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            await conn.execute(text("INSERT INTO nowhere VALUES (2)"))

    results = await asyncio.gather(good(), bad(), good(), return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert "nowhere" in str(results[1])
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT a FROM t ORDER BY a"))).scalars().all() == [1, 1]


async def test_writes_outside_an_immediate_transaction_go_to_the_thread(tmp_path, db):
    plain = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db", group_commit=False)  # implicit, deferred BEGIN
    try:
        async with plain.write() as conn:
            db.trips.clear()
            await conn.execute(text("INSERT INTO t VALUES (7)"))  # may wait for another process's lock
        assert db.trips[0] == "_Cursor.execute.<locals>.run" and "Connection.commit" in db.trips
    finally:
        await plain.dispose()


async def test_a_statement_once_slow_in_place_goes_to_the_thread_from_then_on(db, monkeypatch):
    monkeypatch.setattr(sqlite_driver, "SLOW_SECONDS", 0.0)  # every statement counts as slow
    monkeypatch.setattr(sqlite_driver, "_slow", set())
    sql = "SELECT count(*) FROM t WHERE a > 41"
    async with db.read() as conn:
        db.trips.clear()
        await conn.execute(text(sql))
        assert db.trips == []  # the first run was in place: nothing knew it would be slow
        await conn.execute(text(sql))
        assert db.trips == ["_Cursor.execute.<locals>.run"]
    assert sql in sqlite_driver._slow


async def test_errors_in_place_are_the_drivers_errors(db):
    async with db.read() as conn:
        with pytest.raises(Exception) as caught:
            await conn.execute(text("SELECT nothing FROM nowhere"))
    assert isinstance(caught.value.orig, sqlite3.OperationalError)
