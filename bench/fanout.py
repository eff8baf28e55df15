"""Benchmark: time from a post's response until it is in every follower's home feed (embedded default).

Usage: .venv/bin/python bench/fanout.py [FOLLOWERS ...]   (default: 100 1000 10000)
Prints one line per follower count. Uses a throwaway SQLite database in a temp dir.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from townsquare.config import Settings
from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.main import create_app
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage.db import migrate
from townsquare.storage.tables import accounts, feed_entries, follows
from townsquare.wiring import build_context


async def run(count: int) -> tuple[float, float]:
    """Seed `count` followers, post once, and return (post latency, time until fully delivered)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), domain="bench.local", secret_key="bench")
        await asyncio.to_thread(migrate, settings.effective_database_url)
        ctx = build_context(settings)
        app = create_app(settings, run_migrations=False, context=ctx)
        ctx.jobs.start()
        async with ctx.db.write() as conn:
            author = await create_account(conn, "author", "author@example.org", "bench password")
            app_row = await auth.create_app(conn, "bench", [auth.OOB], ["read", "write"], None)
            token, _ = await auth.issue_token(conn, app_row["id"], author.id, ["read", "write"])
            stamp = now()
            for start in range(0, count, 5000):
                batch = range(start, min(count, start + 5000))
                ids = [new_id() for _ in batch]
                await conn.execute(accounts.insert(), [dict(
                    id=i, username=f"f{n}", username_lower=f"f{n}", display_name="", note="", locked=False, bot=False,
                    discoverable=True, fields=[], email=f"f{n}@example.org", password_hash="x", role="user",
                    approved=True, default_visibility="public", default_sensitive=False, statuses_count=0,
                    followers_count=0, following_count=1, created_at=stamp) for i, n in zip(ids, batch)])
                await conn.execute(follows.insert(), [dict(
                    id=new_id(), account_id=i, target_account_id=author.id, show_reblogs=True, notify=False,
                    created_at=stamp) for i in ids])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as http:
            t0 = time.perf_counter()
            r = await http.post("/api/v1/statuses", data={"status": "fan me out"}, headers={"Authorization": f"Bearer {token}"})
            t1 = time.perf_counter()
            status_id = int(r.json()["id"])
            while True:
                async with ctx.db.read() as conn:
                    n = (await conn.execute(select(func.count()).select_from(feed_entries).where(feed_entries.c.status_id == status_id))).scalar_one()
                if n >= count + 1:
                    break
                await asyncio.sleep(0.005)
            t2 = time.perf_counter()
        await ctx.jobs.stop()
        await ctx.db.dispose()
        return t1 - t0, t2 - t1


def main() -> None:
    """Run the benchmark for each follower count given on the command line."""
    counts = [int(a) for a in sys.argv[1:]] or [100, 1000, 10000]
    print("followers  post_ms  delivered_after_ms  (embedded default, SQLite)")
    for count in counts:
        post, delivered = asyncio.run(run(count))
        print(f"{count:9d}  {post * 1000:7.1f}  {delivered * 1000:18.1f}")


if __name__ == "__main__":
    main()
