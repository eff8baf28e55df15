"""Shared fixtures: a migrated database per backend (SQLite or PostgreSQL) and API clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from townsquare.config import Settings
from townsquare.core.clock import now
from townsquare.main import create_app
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage.db import migrate
from townsquare.storage.tables import jobs, metadata
from townsquare.wiring import build_context

BACKEND = os.environ.get("TOWNSQUARE_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("TOWNSQUARE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BASE = "http://test.local"
# Rate limits stay on in every test (so their headers and code run), but high enough that a test making
# many accounts and requests from one address is never throttled; tests/api/test_ratelimit.py sets its own.
RELAXED_LIMITS = {f"rate_limit_{name}": "100000/5m" for name in
                  ("unauthenticated", "token", "user", "sign_up", "sign_in", "deletes", "media")}


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Migrate one database per test session; tests copy (SQLite) or truncate (PostgreSQL) it."""
    if BACKEND == "postgres":
        name = f"townsquare_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        migrate(url)
        yield url
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        migrate(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
def database_url(database_template, tmp_path):
    """A clean, migrated database for one test."""
    if BACKEND == "postgres":
        # One transaction of DELETEs: ~30 ms on the few rows a test leaves, where a TRUNCATE of the 48 tables
        # took ~0.7 s a test (it makes new files for every table and index). The replica role skips triggers for
        # this session only: the append-only log's guard, and foreign-key checks (every table is emptied).
        deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables))
        asyncio.run(_pg_admin_on(database_template,
                                 f"BEGIN; SET LOCAL session_replication_role = replica; {deletes}; COMMIT"))
        return database_template
    target = tmp_path / "townsquare.sqlite3"
    shutil.copy(database_template, target)
    return f"sqlite+aiosqlite:///{target}"


async def _pg_admin_on(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


REDIS_URL = os.environ.get("TOWNSQUARE_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _drop_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


@pytest.fixture
def redis_prefix():
    """A fresh Redis key prefix for one test (scale-out backend), removed afterwards."""
    prefix = f"tstest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    _drop_redis_prefix(prefix)


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto) on loopback for the whole session."""
    from tests.s3_server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url, tmp_path, redis_prefix, request):
    """Settings pointing at the test database; the PostgreSQL backend runs the scale-out mode with Redis and S3."""
    extra = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix} if BACKEND == "postgres" else {}
    if BACKEND == "postgres":  # media files go to a fresh bucket of the loopback S3 server
        s3 = request.getfixturevalue("s3_server")
        extra.update(s3.settings_for(s3.new_bucket()))
    return Settings(database_url=database_url, data_dir=tmp_path, domain="test.local", secret_key="test",
                    **RELAXED_LIMITS, **extra)


@dataclass
class User:
    """A test account with a token and an HTTP client acting as it."""

    id: str
    username: str
    token: str
    http: httpx.AsyncClient

    async def get(self, url, **kw):
        return await self.http.get(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)

    async def post(self, url, **kw):
        return await self.http.post(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)

    async def put(self, url, **kw):
        return await self.http.put(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)

    async def patch(self, url, **kw):
        return await self.http.patch(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)

    async def delete(self, url, **kw):
        return await self.http.delete(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)


class Server:
    """The app under test, its context, and helpers to make users and wait for jobs."""

    def __init__(self, app, ctx, http):
        self.app, self.ctx, self.http = app, ctx, http

    async def user(self, username: str, scopes: str = "read write follow push", role: str = "user") -> User:
        """Create an account and a token for it."""
        async with self.ctx.db.write() as conn:
            account = await create_account(conn, username, f"{username}@example.org", "correct horse battery", role=role)
            app = await auth.create_app(conn, "tests", [auth.OOB], auth.parse_scopes("read write follow push"), None)
            token, _ = await auth.issue_token(conn, app["id"], account.id, auth.parse_scopes(scopes))
        return User(str(account.id), username, token, self.http)

    async def settle(self) -> None:
        """Run every due background job now, and wait for any the in-process runner is running meanwhile."""
        for _ in range(500):
            await self.ctx.jobs.drain()
            # Drain skips a job the runner has claimed, and that job may queue another as it finishes.
            busy = (jobs.c.state == "running") | ((jobs.c.state == "ready") & (jobs.c.run_at <= now()))
            async with self.ctx.db.read() as conn:
                if not (await conn.execute(select(func.count()).select_from(jobs).where(busy))).scalar():
                    return
            await asyncio.sleep(0.01)


@pytest.fixture
async def server(settings):
    """The ASGI app with its job runner, reached through httpx."""
    ctx = build_context(settings)
    app = create_app(settings, run_migrations=False, context=ctx)
    ctx.jobs.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield Server(app, ctx, http)
    await ctx.jobs.stop()
    if ctx.audio is not None:
        await ctx.audio.close()  # rooms started by a test stop their pipeline threads
    await ctx.db.dispose()


@pytest.fixture
def anon(server):
    """An unauthenticated HTTP client."""
    return server.http
