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
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager


class _Cursor(aiosqlite.Cursor):
    """A cursor that executes and fetches in one trip, and closes without one."""

    _rows: list | None = None

    async def execute(self, sql: str, parameters: Any = None) -> "_Cursor":
        """Execute a statement and, if it returns rows, fetch them all in the same trip."""
        cursor = self._cursor

        def run() -> list | None:
            cursor.execute(sql, [] if parameters is None else parameters)
            return cursor.fetchall() if cursor.description is not None else None

        self._rows = await self._execute(run)
        return self

    async def executemany(self, sql: str, parameters: Any) -> "_Cursor":
        """Execute a statement for each set of parameters (no rows)."""
        self._rows = None
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


class _Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are made here, and whose idle ROLLBACK is skipped."""

    @contextmanager  # awaitable and an async context manager, as aiosqlite's own (SQLAlchemy enters it)
    async def cursor(self) -> _Cursor:
        """A new cursor (making one does no I/O)."""
        return _Cursor(self, self._conn.cursor())

    async def rollback(self) -> None:
        """Roll back the open transaction, if there is one."""
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().rollback()


def connect(database: str, **kwargs: Any) -> _Connection:
    """Open a connection as aiosqlite.connect does (SQLAlchemy's aiosqlite dialect calls this instead)."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = _Connection(connector, 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own: a stuck thread must not keep the process alive
    return connection
