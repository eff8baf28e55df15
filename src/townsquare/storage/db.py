"""The database handle: engine creation, read and write transactions, and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from townsquare.storage import sqlite_driver
from townsquare.storage import prepared
from townsquare.storage.prepared import RAW
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
    cur.execute(f"PRAGMA busy_timeout={sqlite_driver.BUSY_TIMEOUT_MS}")
    cur.close()


def make_engine(url: str) -> AsyncEngine:
    """Create an async engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Enough pooled connections for the readers of a busy server, so none is opened (a thread and four
        # PRAGMAs) and closed again per burst; each statement makes one trip to a connection's thread.
        engine = create_async_engine(url, pool_size=16, max_overflow=16,
                                     connect_args={"async_creator_fn": sqlite_driver.connect})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Plan every statement for its own parameters. asyncpg prepares each statement once per connection, and after five
    # runs PostgreSQL may switch to a generic plan costed for the tables as they were: a worker whose first fan-outs
    # went to a handful of followers then sent a 40,000-follower post through a nested loop that ran for minutes.
    engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                 connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}})
    event.listen(engine.sync_engine, "after_cursor_execute", _note_change)
    return engine


CHANGED = "townsquare.changed"  # conn.info key: the transaction changed rows (a commit others must hear of)
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SHOW", "BEGIN", "PRAGMA")


def _note_change(conn, cursor, statement, parameters, context, executemany) -> None:
    """Mark a connection's transaction as changing data: any statement but a read that touched a row or may have."""
    if conn.info.get(CHANGED) or statement.lstrip()[:9].upper().startswith(_READS):
        return
    if getattr(cursor, "rowcount", -1) != 0:
        conn.info[CHANGED] = True


# A unit's savepoint, as plain SQL: SQLAlchemy's begin_nested() compiles its SAVEPOINT and RELEASE anew on every
# call (they are not cached), which cost more than running them. Units run one at a time, so one name serves all.
# On SQLite they run in place, on the loop (storage/sqlite_driver.py: inside the batch's BEGIN IMMEDIATE).
_SAVEPOINT = "SAVEPOINT townsquare_unit"
_RELEASE = "RELEASE SAVEPOINT townsquare_unit"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT townsquare_unit"
# conn.info[RAW] is the batch's sqlite3 connection (set by _begin, dropped after the batch): a unit's SAVEPOINT and
# RELEASE go straight to it, as do Prepared statements (storage/prepared.py). Through exec_driver_sql each cost
# ~80 us of SQLAlchemy (an uncached text statement) for a statement SQLite runs in ~3 us; SQLAlchemy keeps no state
# about savepoints it did not make, so nothing is skipped.


MAX_BATCH = 64  # units of work in one group commit at most
MAX_BATCH_SECONDS = 0.05  # and no more joining a batch this long after it opened, so it gets committed


async def _plain(conn: AsyncConnection, sql: str) -> None:
    """Run a statement without parameters or rows: on the batch's sqlite3 connection if it has one."""
    raw = conn.info.get(RAW)
    if raw is None:
        await conn.exec_driver_sql(sql)
    else:
        prepared.execute(raw, sql)


class _Unit:
    """One caller's unit of work inside a group commit: its turn on the connection, its end, the batch's commit."""

    __slots__ = ("turn", "finished", "committed", "outbox", "broken", "task", "first", "undo")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.task = asyncio.current_task()  # the caller: if it ends without finishing its unit, the batch must not wait forever
        self.turn: asyncio.Future = loop.create_future()  # the shared connection, once it is this unit's turn
        self.finished: asyncio.Future = loop.create_future()  # True: keep the unit; False: rolled back to its savepoint
        self.committed: asyncio.Future = loop.create_future()  # None once the batch committed, else its error
        self.committed.add_done_callback(lambda f: f.cancelled() or f.exception())  # nobody waiting is fine
        self.outbox: list = []
        self.broken: BaseException | None = None  # why the transaction cannot go on (its savepoint could not be ended)
        # The first unit of a transaction runs without a savepoint (two statements fewer): the transaction holds
        # nothing else, so when it fails the leader rolls the whole transaction back (`undo`) and begins another.
        self.first = False
        self.undo = False


class Database:
    """Read and write transactions over one engine.

    On SQLite (one writer at a time) writes are group-committed: concurrent units of work run one after
    another in one transaction, each inside its own SAVEPOINT, and share one COMMIT (and one fsync).
    A unit that raises is rolled back to its savepoint and gets its own error while the others go on;
    every unit returns only after the commit that made it durable, and a failed commit fails every unit
    of that batch (none of them was acknowledged). PostgreSQL keeps one transaction per unit.
    """

    def __init__(self, url: str, *, group_commit: bool | None = None):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self.group_commit = self.is_sqlite if group_commit is None else group_commit
        self._waiting: deque[_Unit] = deque()
        self._leader: asyncio.Task | None = None
        # Receives the items queued with after_commit() once their transaction has committed (wiring sets it).
        self.on_commit: Callable[[list], Awaitable[None]] | None = None
        # Awaited after every committed transaction that changed rows, before the writer goes on (PostgreSQL only;
        # SQLite's own data_version says as much): scale-out's page caches learn of the change through it.
        self.on_change: Callable[[], Awaitable[None]] | None = None
        # Whether writes are taken now; wiring gives it the data dir so it can report free space.
        self.health = StorageHealth()
        self.health.probe = self.probe_write
        self.batches = 0  # group commits made (for benchmarks: units per commit)
        self.units = 0
        # SQLite file: a connection of its own for Prepared reads on the loop (storage/prepared.py), opened when needed.
        path = self.engine.url.database if self.is_sqlite else None
        self._reader_path = path if path and path != ":memory:" and not path.startswith("file:") else None
        self._reader: sqlite3.Connection | None = None

    def reader(self) -> sqlite3.Connection | None:
        """The SQLite reader for Prepared reads (None on PostgreSQL or an in-memory database)."""
        if self._reader is None and self._reader_path is not None:
            conn = sqlite3.connect(self._reader_path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=2000")  # WAL readers wait only while a checkpoint resets the log
            conn.execute("PRAGMA query_only=ON")
            self._reader = conn
        return self._reader

    def _translate(self, exc: BaseException) -> BaseException | None:
        """The answer a storage error means (507 full or read-only, 503 connection lost), or None."""
        if not isinstance(exc, (DBAPIError, PendingRollbackError, OSError)):
            return None
        full = storage_failure(exc)
        if full is not None:
            self.health.failed(full.reason)
            return full
        return connection_failure(exc)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """Open a transaction that commits on success and rolls back on error; then run its after-commit items.

        A full disk or read-only database raises StorageUnavailable (507) and a lost connection
        DatabaseUnavailable (503): the transaction is rolled back, so nothing is half-written.
        """
        if self.group_commit:
            async with self._grouped() as conn:
                yield conn
            return
        pending: list = []
        changed = False
        try:
            async with self.engine.begin() as conn:
                try:
                    yield conn
                finally:
                    pending = conn.info.pop(OUTBOX, None) or []  # a rollback drops them with the transaction
                    changed = bool(conn.info.pop(CHANGED, False))
        except (DBAPIError, PendingRollbackError, OSError) as exc:
            answer = self._translate(exc)
            if answer is not None:
                raise answer from exc
            raise
        if changed and self.on_change is not None:
            try:
                await self.on_change()
            except Exception:  # committed; a cache elsewhere then trusts its entries for at most its cap
                log.exception("change notice failed")
        await self._after(pending)

    async def _after(self, pending: list) -> None:
        if pending and self.on_commit is not None:
            try:
                await self.on_commit(pending)
            except Exception:  # the data is committed; a lost real-time event must not fail the request
                log.exception("after-commit hook failed")

    @asynccontextmanager
    async def _grouped(self) -> AsyncIterator[AsyncConnection]:
        """A unit of work in the current group commit: a savepoint on the shared connection, acknowledged at the commit."""
        loop = asyncio.get_running_loop()
        unit = _Unit(loop)
        self._waiting.append(unit)
        if self._leader is None or self._leader.done():
            self._leader = loop.create_task(self._lead(), name="townsquare-group-commit")
        try:
            conn = await unit.turn
        except asyncio.CancelledError:
            if unit.turn.done() and not unit.turn.cancelled() and unit.turn.exception() is None:
                unit.finished.set_result(False)  # given the connection as it was cancelled: hand it straight back
            raise
        except (DBAPIError, PendingRollbackError, OSError) as exc:  # the batch could not even begin
            answer = self._translate(exc)
            if answer is not None:
                raise answer from exc
            raise
        kept = False
        try:
            savepoint = not unit.first
            if savepoint:
                await _plain(conn, _SAVEPOINT)
            conn.info[OUTBOX] = []
            try:
                yield conn
            except BaseException as exc:
                if not savepoint:
                    unit.undo = True  # the leader rolls the transaction back: it holds only this unit's writes
                    raise
                try:
                    await _plain(conn, _ROLLBACK_TO)
                    await _plain(conn, _RELEASE)
                except Exception:
                    unit.broken = exc  # e.g. SQLite rolled the whole transaction back (disk full): the batch fails
                raise
            if savepoint:
                try:
                    await _plain(conn, _RELEASE)
                except BaseException as exc:
                    unit.broken = exc
                    raise
            unit.outbox = conn.info.pop(OUTBOX, None) or []
            kept = True
        except (DBAPIError, PendingRollbackError, OSError) as exc:
            answer = self._translate(exc)
            if answer is not None:
                raise answer from exc
            raise
        finally:
            conn.info.pop(OUTBOX, None)
            if not kept and not unit.finished.done():
                unit.finished.set_result(False)
        unit.finished.set_result(True)
        try:
            await asyncio.shield(unit.committed)
        except (DBAPIError, PendingRollbackError, OSError) as exc:
            answer = self._translate(exc)
            if answer is not None:
                raise answer from exc
            raise
        await self._after(unit.outbox)

    async def _lead(self) -> None:
        """Run the waiting units batch by batch: BEGIN, each unit in turn, one COMMIT; then tell each unit."""
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch: list[_Unit] = []
            given: list[_Unit] = []
            try:
                async with self.engine.connect() as conn:
                    try:
                        await self._begin(conn)
                        opened = loop.time()
                        while self._waiting and len(batch) < MAX_BATCH and loop.time() - opened < MAX_BATCH_SECONDS:
                            unit = self._waiting.popleft()
                            if unit.turn.cancelled():
                                continue
                            unit.first = not batch  # nothing kept in the transaction yet
                            unit.turn.set_result(conn)
                            given.append(unit)
                            if unit.task is not None and not unit.finished.done():
                                await asyncio.wait({unit.finished, unit.task}, return_when=asyncio.FIRST_COMPLETED)
                            if not unit.finished.done():  # its caller ended mid-unit: the transaction's state is unknown
                                unit.finished.set_result(False)
                                unit.broken = unit.broken or RuntimeError("a write unit ended without finishing")
                            if await unit.finished:
                                batch.append(unit)
                            if unit.broken is not None:
                                raise _BatchBroken(unit.broken)
                            if unit.undo:  # a first unit failed: drop its writes with the transaction, begin anew
                                await conn.rollback()
                                await self._begin(conn)
                        await self._commit(conn)
                    except BaseException:
                        with contextlib.suppress(Exception):
                            await conn.rollback()
                        raise
                    finally:
                        conn.info.pop(RAW, None)
            except BaseException as exc:
                if not given:  # BEGIN itself failed: the next waiting unit learns why, the others try again
                    while self._waiting:
                        unit = self._waiting.popleft()
                        if not unit.turn.done():
                            unit.turn.set_exception(exc if isinstance(exc, Exception) else RuntimeError("write cancelled"))
                            break
                for unit in batch:
                    if not unit.committed.done():
                        unit.committed.set_exception(_batch_error(exc))
                if not isinstance(exc, Exception):  # cancelled (shutdown): nobody else will lead, so fail the waiting
                    while self._waiting:
                        unit = self._waiting.popleft()
                        if not unit.turn.done():
                            unit.turn.set_exception(RuntimeError("the database is closing"))
                    raise
                continue
            self.batches += 1
            self.units += len(batch)
            for unit in batch:
                if not unit.committed.done():
                    unit.committed.set_result(None)

    @staticmethod
    async def _begin(conn: AsyncConnection) -> None:
        await conn.begin()
        # Take the write lock now (other processes, e.g. the CLI, may write too) rather than on the first write:
        # in place when nobody holds it (storage/sqlite_driver.py), else on the thread, waiting up to the busy timeout.
        fairy = await conn.get_raw_connection()
        if not sqlite_driver.begin_immediate_now(fairy):
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.info[RAW] = sqlite_driver.raw_sqlite(fairy)  # the batch's statements that can, run straight on it

    async def _commit(self, conn: AsyncConnection) -> None:
        """Commit a group's transaction (a seam for tests that make a commit fail)."""
        await conn.commit()

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
        """Close every pooled connection (after the group commit in progress, if any)."""
        if self._leader is not None and not self._leader.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._leader), 10)  # the commit in progress, not a stuck unit
            if not self._leader.done():
                self._leader.cancel()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self.engine.dispose()


class _BatchBroken(Exception):
    """A unit's savepoint could not be rolled back: the shared transaction is lost."""


def _batch_error(exc: BaseException) -> BaseException:
    """The error each unit of a failed group commit gets (none of them was acknowledged)."""
    if isinstance(exc, _BatchBroken):  # carries the cause (a full disk is still a 507 for every unit)
        cause = exc.args[0] if isinstance(exc.args[0], Exception) else RuntimeError("the transaction was lost")
        return DBAPIError("group commit", None, cause)
    if not isinstance(exc, Exception):  # the leader was cancelled (shutdown) before the commit
        return RuntimeError("the database closed before this write was committed")
    return exc


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
