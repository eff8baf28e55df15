"""The hottest statements, compiled once and run straight on SQLite's own connection.

Every post and every authenticated request runs a few Core statements (the viewer's account, the new
status, the author's counts, the author's feed entry). Through SQLAlchemy each execution costs ~50-60 us
of Python (execution context, parameter and result processing, the greenlet hops of the async layer) for a
statement SQLite itself runs in 5-40 us. A Prepared statement is compiled once per set of parameter names,
keeps SQLAlchemy's own bind and result processors for its columns (so values are stored and read exactly
as through SQLAlchemy), and runs on a sqlite3 connection on the event loop:

* in a group commit's unit, on the batch's connection (storage/db.py: inside its BEGIN IMMEDIATE, so no
  statement waits for a lock);
* for a read, on the Database's reader, a connection of its own (WAL: a reader never waits for the writer,
  and sees every committed transaction).

Everywhere else (PostgreSQL, a connection outside a group commit, a statement or parameters this does not
handle: expanding IN lists, Python-side defaults that are not constants) it runs through SQLAlchemy and
gives the same rows. A SQLite error is raised as SQLAlchemy would raise it (a DBAPIError subclass with the
sqlite3 error as its cause), so storage/faults.py answers 507 or 503 as before.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from typing import Any, Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

RAW = "townsquare.raw_sqlite"  # conn.info key: the sqlite3 connection of the group commit's batch (storage/db.py)


class _Form:
    """One compiled shape of a statement: its SQL, parameters in order with their processors, its row type."""

    __slots__ = ("sql", "names", "binds", "defaults", "row", "results")

    def __init__(self, sql: str, names: list[str], binds: list, defaults: dict, row, results: list) -> None:
        self.sql, self.names, self.binds, self.defaults, self.row, self.results = sql, names, binds, defaults, row, results


def execute(raw: sqlite3.Connection, sql: str, values=()) -> list:
    """Run a statement on a sqlite3 connection; its rows (empty if none), errors raised as SQLAlchemy raises them."""
    try:
        cursor = raw.execute(sql, values)
        fetched = cursor.fetchall() if cursor.description is not None else []
        cursor.close()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, values, exc, sqlite3.Error) from exc
    return fetched


def _row_type(names: list[str]):
    base = namedtuple("Row", names, rename=True)
    # Attribute access like a SQLAlchemy Row, and `_mapping` as domain.models.from_row reads it.
    return type("Row", (base,), {"__slots__": (), "_mapping": property(lambda self: dict(zip(names, self)))})


class Prepared:
    """A Core statement run on SQLite without SQLAlchemy's per-execution work (module docstring)."""

    def __init__(self, statement) -> None:
        self.statement = statement
        self._forms: dict[tuple, _Form | None] = {}

    def _form(self, dialect, keys: tuple) -> _Form | None:
        form = self._forms.get(keys, False)
        if form is False:
            form = self._forms[keys] = self._compile(dialect, keys)
        return form

    def _compile(self, dialect, keys: tuple) -> _Form | None:
        is_insert = getattr(self.statement, "is_insert", False)
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys) if is_insert else None)
        if "POSTCOMPILE" in compiled.string or not compiled.positional:
            return None  # expanding parameters: SQLAlchemy renders them per call
        defaults: dict[str, Any] = {}
        for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
            default = column.default if is_insert else column.onupdate
            if default is None or not default.is_scalar:
                return None  # computed per row by SQLAlchemy
            defaults[column.key] = default.arg
        names = list(compiled.positiontup or ())
        binds = []
        for name in names:
            param = compiled.binds.get(name)
            if param is None or param.expanding or param.callable is not None:
                return None
            if not param.required and name not in defaults:
                defaults[name] = param.value  # a literal of the statement's own (e.g. the 1 of "count + 1")
            binds.append(param.type.dialect_impl(dialect).bind_processor(dialect))
        columns = list(self.statement.exported_columns) if compiled.returning or getattr(self.statement, "is_select", False) else []
        labels = [c.name for c in columns]
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        return _Form(compiled.string, names, binds, defaults, _row_type(labels) if labels else None, results)

    def run_raw(self, raw: sqlite3.Connection, dialect, params: dict) -> list:
        """Run on a sqlite3 connection; return the rows (empty for a statement without any). None: not handled."""
        form = self._form(dialect, tuple(params))
        if form is None:
            return None
        values = []
        for name, process in zip(form.names, form.binds):
            if name in params:
                value = params[name]
            elif name in form.defaults:  # a column default or the statement's own literal
                value = form.defaults[name]
            else:
                return None  # SQLAlchemy says which value is missing
            values.append(process(value) if process is not None and value is not None else value)
        fetched = execute(raw, form.sql, values)
        if form.row is None:
            return []
        results: list[Callable | None] = form.results
        return [form.row(*[v if p is None or v is None else p(v) for p, v in zip(results, r)]) for r in fetched]

    async def run(self, conn: AsyncConnection, params: dict) -> list:
        """Run in a transaction or read connection: on the batch's sqlite3 connection if there is one."""
        raw = conn.info.get(RAW)
        if raw is not None:
            rows = self.run_raw(raw, conn.dialect, params)
            if rows is not None:
                return rows
        result = await conn.execute(self.statement, params)
        return result.all() if result.returns_rows else []

    async def read(self, db, params: dict) -> list:
        """Run a read on the database's own reader (SQLite), else on a pooled read connection."""
        raw = db.reader()
        if raw is not None:
            rows = self.run_raw(raw, db.engine.dialect, params)
            if rows is not None:
                return rows
        async with db.read() as conn:
            result = await conn.execute(self.statement, params)
            return result.all()
