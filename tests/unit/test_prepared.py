"""Prepared statements: the same rows and stored values as through SQLAlchemy, errors as SQLAlchemy raises them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from townsquare.storage.db import Database, migrate
from townsquare.storage.prepared import RAW, Prepared
from townsquare.storage.tables import accounts, statuses

STAMP = datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=timezone.utc)


def _account(account_id: int, name: str) -> dict:
    return dict(id=account_id, username=name, username_lower=name.lower(), display_name=f"{name} 🐘", note="<p>hi</p>",
                locked=True, bot=False, discoverable=True, fields=[{"name": "a", "value": "b"}], role="user",
                approved=True, locale="en", default_visibility="unlisted", default_sensitive=True, statuses_count=3,
                followers_count=0, following_count=0, feed_hybrid=False, created_at=STAMP, last_status_at=None)


@pytest.fixture
async def db(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/t.sqlite3"
    await asyncio.to_thread(migrate, url)
    database = Database(url)
    yield database
    await database.dispose()


async def _sqlalchemy_row(db, account_id):
    async with db.read() as conn:
        return (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()


async def test_a_write_unit_runs_it_on_the_batch_connection_and_stores_what_sqlalchemy_would(db):
    insert = Prepared(accounts.insert())
    async with db.write() as conn:
        assert conn.info.get(RAW) is not None  # the raw path, not the fallback
        assert await insert.run(conn, _account(1, "Ann")) == []
    assert list(insert._forms.values()) != [None]  # compiled for the raw path, not left to SQLAlchemy
    async with db.write() as conn:
        await conn.execute(accounts.insert(), _account(2, "Bob"))  # the same values through SQLAlchemy
    one, two = await _sqlalchemy_row(db, 1), await _sqlalchemy_row(db, 2)
    differ = {k for k in one._mapping if k not in ("id", "username", "username_lower", "display_name")
              and one._mapping[k] != two._mapping[k]}
    assert differ == set()
    assert one.fields == [{"name": "a", "value": "b"}] and one.locked is True and one.created_at == two.created_at


async def test_rows_come_back_typed_as_sqlalchemy_gives_them(db):
    async with db.write() as conn:
        await conn.execute(accounts.insert(), _account(1, "Ann"))
    by_id = Prepared(select(accounts).where(accounts.c.id == bindparam("account_id")))
    expected = await _sqlalchemy_row(db, 1)
    (read,) = await by_id.read(db, {"account_id": 1})  # the database's own reader
    assert db.reader() is not None
    assert dict(read._mapping) == dict(expected._mapping)
    assert read.fields == expected.fields and read.created_at == expected.created_at and read.bot is False
    assert await by_id.read(db, {"account_id": 99}) == []
    bump = Prepared(accounts.update().where(accounts.c.id == bindparam("author_id"))
                    .values(statuses_count=accounts.c.statuses_count + 1, last_status_at=bindparam("stamp"))
                    .returning(*accounts.c))
    async with db.write() as conn:
        (written,) = await bump.run(conn, {"author_id": 1, "stamp": STAMP})
    after = await _sqlalchemy_row(db, 1)
    assert list(bump._forms.values()) != [None]  # its own literal (the 1 of "+ 1") bound without SQLAlchemy
    assert written.statuses_count == 4 == after.statuses_count
    assert dict(written._mapping) == dict(after._mapping)


async def test_a_read_sees_each_commit_at_once(db):
    by_id = Prepared(select(accounts.c.statuses_count).where(accounts.c.id == bindparam("account_id")))
    async with db.write() as conn:
        await conn.execute(accounts.insert(), _account(1, "Ann"))
    assert [r.statuses_count for r in await by_id.read(db, {"account_id": 1})] == [3]
    async with db.write() as conn:
        await conn.execute(accounts.update().values(statuses_count=7))
    assert [r.statuses_count for r in await by_id.read(db, {"account_id": 1})] == [7]


async def test_an_error_is_sqlalchemys_and_the_unit_alone_is_rolled_back(db):
    insert = Prepared(accounts.insert())
    async with db.write() as conn:
        await insert.run(conn, _account(1, "Ann"))

    async def duplicate():
        async with db.write() as conn:
            await insert.run(conn, _account(1, "Ann again"))

    async def other():
        async with db.write() as conn:
            await insert.run(conn, _account(3, "Cid"))

    results = await asyncio.gather(duplicate(), other(), return_exceptions=True)
    assert isinstance(results[0], IntegrityError) and results[1] is None
    assert (await _sqlalchemy_row(db, 1)).username == "Ann" and (await _sqlalchemy_row(db, 3)) is not None


async def test_what_it_does_not_handle_runs_through_sqlalchemy(db):
    async with db.write() as conn:
        for i in (1, 2):
            await conn.execute(accounts.insert(), _account(i, f"u{i}"))
    many = Prepared(select(accounts.c.id).where(accounts.c.id.in_(bindparam("ids", expanding=True))).order_by(accounts.c.id))
    assert [r.id for r in await many.read(db, {"ids": [1, 2, 5]})] == [1, 2]
    assert list(many._forms.values()) == [None]  # expanding: left to SQLAlchemy
    # a statement with Python-side defaults that are not constants, and a missing value: SQLAlchemy's own answer
    insert = Prepared(statuses.insert())
    async with db.write() as conn:
        await insert.run(conn, dict(id=10, account_id=1, text="t", visibility="public", created_at=STAMP))
    async with db.read() as conn:
        row = (await conn.execute(select(statuses).where(statuses.c.id == 10))).first()
    assert row.content == "" and row.sensitive is False and row.replies_count == 0  # the columns' defaults applied
