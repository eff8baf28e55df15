"""The database handle: engine creation, read and write transactions, and migrations."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from townsquare.storage.faults import connection_failure, storage_failure
from townsquare.storage.writable import StorageHealth

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
OUTBOX = "townsquare.after_commit"
log = logging.getLogger("townsquare.db")


def after_commit(conn: AsyncConnection, item: Any) -> None:
    """Hold an item until this write transaction commits, then hand it to the database's on_commit hook."""
    conn.info.setdefault(OUTBOX, []).append(item)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> AsyncEngine:
    """Create an async engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=8, max_overflow=8)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """Read and write transactions over one engine; SQLite writes are serialised in-process."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        # SQLite allows one writer; queueing writers here avoids SQLITE_BUSY on lock upgrades.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # Receives the items queued with after_commit() once their transaction has committed (wiring sets it).
        self.on_commit: Callable[[list], Awaitable[None]] | None = None
        # Whether writes are taken now; wiring gives it the data dir so it can report free space.
        self.health = StorageHealth()
        self.health.probe = self.probe_write

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """Open a transaction that commits on success and rolls back on error; then run its after-commit items.

        A full disk or read-only database raises StorageUnavailable (507) and a lost connection
        DatabaseUnavailable (503): the transaction is rolled back, so nothing is half-written.
        """
        pending: list = []
        if self._write_lock is not None:
            await self._write_lock.acquire()
        try:
            async with self.engine.begin() as conn:
                try:
                    yield conn
                finally:
                    pending = conn.info.pop(OUTBOX, None) or []  # a rollback drops them with the transaction
        except (DBAPIError, PendingRollbackError, OSError) as exc:
            full = storage_failure(exc)
            if full is not None:
                self.health.failed(full.reason)
                raise full from exc
            gone = connection_failure(exc)
            if gone is not None:
                raise gone from exc
            raise
        finally:
            if self._write_lock is not None:
                self._write_lock.release()
        if pending and self.on_commit is not None:
            try:
                await self.on_commit(pending)
            except Exception:  # the data is committed; a lost real-time event must not fail the request
                log.exception("after-commit hook failed")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """Open a connection for reads (a lost connection raises DatabaseUnavailable, 503)."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except (DBAPIError, PendingRollbackError) as exc:
            failure = connection_failure(exc) or storage_failure(exc)
            if failure is not None:
                raise failure from exc
            raise

    async def probe_write(self) -> None:
        """A trial write that touches the disk (a row rewritten in place), to learn whether writes work again."""
        async with self.write() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = version_num"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def alembic_config(url: str):
    """Build an Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the database schema up to date (blocking; run it in a thread from async code)."""
    from alembic import command

    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")
