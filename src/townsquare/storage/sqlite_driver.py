"""aiosqlite with fewer trips to its thread: one per statement instead of three or four.

aiosqlite runs every call on a connection's own thread, and each trip there and back costs about as
much CPU as a small statement itself. Through SQLAlchemy a SELECT took four (make a cursor, execute,
fetch, close) and a write three; a returned connection's reset (ROLLBACK) took one more. Here:

* making a cursor and closing it run where they are called: neither touches the database file (the
  statement has been stepped to its end by then, so closing only resets it);
* a statement's rows are fetched in the same trip as its execution;
* ROLLBACK outside any transaction (a read connection going back to the pool) is skipped: it has
  nothing to undo.

Calls on one connection never overlap (SQLAlchemy awaits each before the next), so the connection's
thread is idle whenever the event loop touches the sqlite3 objects; SQLAlchemy opens it with
check_same_thread=False already.

Most statements make no trip at all: they run in place, on the event loop. A trip costs the loop a turn
per statement, and on a busy server (the night's start: a host's start is ten statements) each turn is
long, while the statements themselves are index lookups of a few microseconds. What runs in place is what
cannot wait on a lock or the disk for long:

* reads (WAL: a reader never waits for the writer);
* writes inside a transaction begun with BEGIN IMMEDIATE (every group commit's): it holds the write lock
  already, so no statement of it waits for another process.

BEGIN, COMMIT (which may checkpoint the WAL), ROLLBACK, PRAGMAs, a write outside an IMMEDIATE transaction
(its implicit BEGIN may wait up to the busy timeout for another process's lock) and any statement that once
took more than SLOW_SECONDS of CPU in place still go to the connection's thread, so a slow search cannot stall
the loop twice.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager


class _Cursor(aiosqlite.Cursor):
    """A cursor that executes and fetches in one trip, and closes without one."""

    _rows: list | None = None

    async def execute(self, sql: str, parameters: Any = None) -> "_Cursor":
        """Execute a statement and, if it returns rows, fetch them all: in place, or in one trip to the thread."""
        cursor = self._cursor

        def run() -> list | None:
            cursor.execute(sql, [] if parameters is None else parameters)
            return cursor.fetchall() if cursor.description is not None else None

        self._rows = _in_place(run, sql) if self._conn.may_run_in_place(sql) else await self._execute(run)
        return self

    async def executemany(self, sql: str, parameters: Any) -> "_Cursor":
        """Execute a statement for each set of parameters (no rows)."""
        self._rows = None
        if self._conn.may_run_in_place(sql):
            _in_place(lambda: self._cursor.executemany(sql, parameters), sql)
        else:
            await super().executemany(sql, parameters)
        return self

    async def fetchall(self) -> list:
        """The rows left."""
        rows = self._rows
        if rows is None:
            return await super().fetchall()
        self._rows = []
        return rows

    async def fetchone(self):
        """The next row, or None."""
        if self._rows is None:
            return await super().fetchone()
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list:
        """The next rows, `size` (or arraysize) at most."""
        if self._rows is None:
            return await super().fetchmany(size)
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def close(self) -> None:
        """Close the cursor here: its statement is finished, so this does no I/O."""
        self._rows = None
        self._cursor.close()


SLOW_SECONDS = 0.004  # a statement that took this much CPU in place goes to the thread from then on
_slow: set[str] = set()  # those statements' SQL
_NEVER_IN_PLACE = ("BEGIN", "COMMIT", "END", "ROLLBACK", "PRAGMA", "VACUUM", "ANALYZE", "ATTACH", "DETACH")


def _in_place(run, sql: str):
    # CPU time, not wall time: a process held to a CPU share (a cgroup) or preempted by the machine's other work is
    # stopped mid-statement for tens of milliseconds, which says nothing of the statement.
    began = time.thread_time()
    try:
        return run()
    finally:
        if time.thread_time() - began > SLOW_SECONDS:
            if len(_slow) > 1000:  # statements are built from a bounded set of shapes; this only keeps a bug small
                _slow.clear()
            _slow.add(sql)


class _Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are made here, that runs short statements in place, and whose idle
    ROLLBACK is skipped."""

    _immediate = False  # in a transaction begun with BEGIN IMMEDIATE: it holds the write lock

    def may_run_in_place(self, sql: str) -> bool:
        """Whether `sql` can run on the event loop: a read, or a write holding the write lock (module docstring)."""
        conn = self._connection
        if conn is None or sql in _slow:
            return False
        head = sql.lstrip()[:9].upper()
        if head.startswith("BEGIN IMM"):
            self._immediate = True  # set before the trip: the statement is only run on the thread
            return False
        if head.startswith(_NEVER_IN_PLACE):
            return False
        if not conn.in_transaction:
            self._immediate = False  # ended (committed, rolled back, or dropped by SQLite itself, e.g. disk full)
            return head.startswith("SELECT")
        return self._immediate or head.startswith("SELECT")

    @contextmanager  # awaitable and an async context manager, as aiosqlite's own (SQLAlchemy enters it)
    async def cursor(self) -> _Cursor:
        """A new cursor (making one does no I/O)."""
        return _Cursor(self, self._conn.cursor())

    async def rollback(self) -> None:
        """Roll back the open transaction, if there is one."""
        self._immediate = False
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().rollback()

    async def commit(self) -> None:
        """Commit on the thread (a commit may checkpoint the WAL: fsyncs)."""
        self._immediate = False
        await super().commit()


def _driver(fairy) -> _Connection | None:
    driver = getattr(fairy, "driver_connection", None)
    return driver if isinstance(driver, _Connection) else None


def raw_sqlite(fairy) -> sqlite3.Connection | None:
    """The sqlite3 connection under a pooled connection of this driver (None for any other driver)."""
    driver = _driver(fairy)
    return driver._connection if driver is not None else None


BUSY_TIMEOUT_MS = 10_000  # every connection's (storage/db.py sets it as it opens one)


def begin_immediate_now(fairy) -> bool:
    """BEGIN IMMEDIATE in place if the write lock is free this instant; False (nothing begun) if it is not.

    Taking a free lock reads the WAL index in shared memory only, so it cannot stall the loop; a lock held by
    another process (the CLI, a second server) would, so then the caller begins on the thread and waits there.
    """
    driver = _driver(fairy)
    if driver is None or driver._connection is None or driver._connection.in_transaction:
        return False
    raw = driver._connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # SQLITE_BUSY: someone else writes
        return False
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    driver._immediate = True
    return True


def connect(database: str, **kwargs: Any) -> _Connection:
    """Open a connection as aiosqlite.connect does (SQLAlchemy's aiosqlite dialect calls this instead)."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = _Connection(connector, 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own: a stuck thread must not keep the process alive
    return connection
