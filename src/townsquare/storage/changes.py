"""Whether the database changed: SQLite's data_version, read on a connection of its own.

`PRAGMA data_version` on one connection changes whenever any other connection commits a change to the
file: this process's pooled connections, and other processes too (the `townsquare` admin CLI writes
the database directly). A commit becomes visible to readers and changes the value at the same moment
(both are the WAL index's header), so a value unchanged since a read began proves that nothing the
read could have seen has changed. A read-only or empty transaction does not change it.

It is a blocking call of a few microseconds (no I/O but the shared-memory WAL index), made on the event
loop's thread on purpose: a thread hop would cost a hundred times more.
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger("townsquare.changes")


class DataVersion:
    """Reads PRAGMA data_version of one SQLite file; None when it cannot tell (then nothing may be trusted)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        # Read-write like the pool's (it never writes): a read-only connection to a WAL file needs its -shm to exist.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=20")  # never block the loop for long: an unknown answer is only a miss
        return conn

    def __call__(self) -> int | None:
        try:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:
            log.debug("data_version unavailable: %s", exc)
            self.close()
            return None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None


def data_version_for(url: str) -> DataVersion | None:
    """The data_version probe of a SQLite database URL (None for other backends and in-memory databases)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return DataVersion(path)


class SharedChanges:
    """A change counter in Redis for several processes on PostgreSQL: every committed change increments it
    (Database.on_change, awaited before the writer's response), and a page cache reads it before each lookup.

    What a reader sees after a writer's answer is therefore never older than that answer; a change is known
    to every process at once, not when a message arrives. None when Redis cannot be reached (nothing trusted).
    """

    def __init__(self, redis_url: str, prefix: str) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(redis_url)
        self.key = f"{prefix}changes"

    async def bump(self) -> None:
        await self.redis.incr(self.key)

    async def value(self) -> int | None:
        try:
            raw = await self.redis.get(self.key)
        except Exception as exc:  # Redis away: no entry can be proven fresh
            log.debug("change counter unavailable: %s", exc)
            return None
        return int(raw) if raw is not None else 0

    async def close(self) -> None:
        try:
            await self.redis.aclose()
        except Exception:
            pass
