"""Storage faults as answers: a full disk or read-only database is a 507, a lost database connection a 503.

Other rooms (media uploads, Spaces segments) use the same mapping: catch ``OSError`` or a database
error, pass it to ``storage_failure`` and raise what it returns (an ``ApiError``) when it is not None.
"""

from __future__ import annotations

import errno

from townsquare.core.errors import ApiError

OUT_OF_STORAGE = "The server is out of storage; try again later"
DATABASE_GONE = "The database is unavailable; try again later"
# errno values that mean "no room to write here" (EFBIG: a file-size limit, as RLIMIT_FSIZE gives).
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
SQLITE_MESSAGES = ("database or disk is full", "attempt to write a readonly database", "disk i/o error",
                   "unable to open database file")
# PostgreSQL SQLSTATEs: disk_full, insufficient_resources, read_only_sql_transaction.
PG_STORAGE_STATES = {"53100", "53000", "25006"}
# admin_shutdown, crash_shutdown, cannot_connect_now (a restart), and the connection exception class.
PG_GONE_STATES = {"57P01", "57P02", "57P03"}
GONE_NAMES = ("ConnectionDoesNotExistError", "CannotConnectNowError", "AdminShutdownError")


class StorageUnavailable(ApiError):
    """A write refused because the disk is full or the database is read-only; nothing was written."""

    def __init__(self, reason: str, retry_after: int = 30):
        super().__init__(507, OUT_OF_STORAGE, headers={"Retry-After": str(retry_after)})
        self.reason = reason


class DatabaseUnavailable(ApiError):
    """A request cut off by a lost database connection (a restart or a killed backend); it did not commit."""

    def __init__(self, reason: str, retry_after: int = 1):
        super().__init__(503, DATABASE_GONE, headers={"Retry-After": str(retry_after)})
        self.reason = reason


def _chain(exc: BaseException):
    """The exception, what it wraps (SQLAlchemy's .orig) and what caused it, without repeats."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend([getattr(item, "orig", None), item.__cause__, item.__context__])


def storage_failure(exc: BaseException) -> StorageUnavailable | None:
    """The 507 answer for an exception that means the storage is full or read-only, else None."""
    if isinstance(exc, StorageUnavailable):
        return exc
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno in STORAGE_ERRNOS:
            return StorageUnavailable(f"{type(item).__name__}: {item.strerror or item}")
        state = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if state in PG_STORAGE_STATES:
            return StorageUnavailable(f"PostgreSQL {state}: {str(item).splitlines()[0][:200]}")
        if type(item).__module__.startswith("sqlite3") or type(item).__name__ == "OperationalError":
            text = str(item).lower()
            if any(message in text for message in SQLITE_MESSAGES):
                return StorageUnavailable(f"SQLite: {str(item)[:200]}")
    return None


def connection_failure(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 answer for an exception that means the database connection was lost, else None."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    for item in _chain(exc):
        state = getattr(item, "sqlstate", None)
        if state in PG_GONE_STATES or (isinstance(state, str) and state.startswith("08")):
            return DatabaseUnavailable(f"PostgreSQL {state}")
        if getattr(item, "connection_invalidated", False):
            return DatabaseUnavailable("connection invalidated")
        if type(item).__name__ == "PendingRollbackError":  # SQLAlchemy: a transaction on a connection that died
            return DatabaseUnavailable("connection lost mid-transaction")
        name = type(item).__name__
        if "asyncpg" in type(item).__module__ and (
                name in GONE_NAMES or (name == "InterfaceError" and "connection is closed" in str(item))):
            return DatabaseUnavailable(name)
        if isinstance(item, (ConnectionResetError, ConnectionRefusedError, BrokenPipeError)):
            return DatabaseUnavailable(type(item).__name__)
    return None
