"""Benchmark: what rate limiting costs per request, in process and on Redis.

Usage: .venv/bin/python bench/ratelimit.py [REQUESTS]   (default 2000)
Prints the time of one limiter hit (memory, Redis at 127.0.0.1:6379) and of an authenticated
GET /api/v1/accounts/verify_credentials through the whole app with limits off, in memory and on Redis.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from townsquare.config import Settings
from townsquare.main import create_app
from townsquare.ratelimit.limiter import MemoryRateLimiter, RedisRateLimiter
from townsquare.ratelimit.rules import build_rules
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage.db import migrate
from townsquare.wiring import build_context

REDIS_URL = "redis://127.0.0.1:6379/0"


async def limiter_hit(limiter, n: int) -> float:
    """Return microseconds per hit of the token and user rules together."""
    rules = build_rules({})
    checks = [(rules["token"], "token:1"), (rules["user"], "user:1")]
    started = time.perf_counter()
    for _ in range(n):
        await limiter.hit(checks)
    elapsed = time.perf_counter() - started
    await limiter.close()
    return elapsed / n * 1e6


async def app_request(n: int, **overrides) -> float:
    """Return microseconds per authenticated request through the ASGI app with these settings."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'db.sqlite3'}"
        await asyncio.to_thread(migrate, url)
        settings = Settings(database_url=url, data_dir=Path(tmp), domain="bench.local", secret_key="x",
                            rate_limit_token=f"{n * 10}/5m", rate_limit_user=f"{n * 10}/5m", **overrides)
        ctx = build_context(settings)
        app = create_app(settings, run_migrations=False, context=ctx)
        async with ctx.db.write() as conn:
            account = await create_account(conn, "bench", "bench@example.org", "correct horse battery")
            client = await auth.create_app(conn, "bench", [auth.OOB], ["read"], None)
            token, _ = await auth.issue_token(conn, client["id"], account.id, ["read"])
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local") as http:
            for _ in range(50):
                await http.get("/api/v1/accounts/verify_credentials", headers=headers)
            started = time.perf_counter()
            for _ in range(n):
                r = await http.get("/api/v1/accounts/verify_credentials", headers=headers)
            elapsed = time.perf_counter() - started
            assert r.status_code == 200, r.text
        await ctx.limiter.close()
        await ctx.db.dispose()
        return elapsed / n * 1e6


async def main(n: int) -> None:
    """Print the figures."""
    prefix = f"bench-{uuid.uuid4().hex}:"
    print(f"limiter hit, memory:        {await limiter_hit(MemoryRateLimiter(), n):8.1f} us")
    print(f"limiter hit, Redis:         {await limiter_hit(RedisRateLimiter(REDIS_URL, prefix), n):8.1f} us")
    print(f"request, limits off:        {await app_request(n, rate_limits_enabled=False):8.1f} us")
    print(f"request, limits in memory:  {await app_request(n):8.1f} us")
    print(f"request, limits on Redis:   {await app_request(n, redis_url=REDIS_URL, redis_prefix=prefix):8.1f} us")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
