"""Benchmark: what suspension costs when it is applied at read time (embedded default, SQLite).

Usage: .venv/bin/python bench/moderation.py [FOLLOWERS ...]   (default: 1000 10000)
For each follower count: a star with that many followers and 800 statuses, each follower's
feed holding 400 of them; prints the median suspend and unsuspend response times over five rounds
(nothing is copied or deleted, so they should not grow with the audience) and the median home/public timeline read time for one follower before,
during and after the suspension.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from townsquare.config import Settings
from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.main import create_app
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage.db import migrate
from townsquare.storage.tables import accounts, feed_entries, follows, statuses
from townsquare.timelines.feeds import home_key
from townsquare.wiring import build_context

STAR_STATUSES = 800


async def _seed(ctx, count: int):
    async with ctx.db.write() as conn:
        star = await create_account(conn, "star", "star@example.org", "bench password")
        reader = await create_account(conn, "reader", "reader@example.org", "bench password")
        other = await create_account(conn, "other", "other@example.org", "bench password")
        mod = await create_account(conn, "mod", "mod@example.org", "bench password", role="moderator")
        app_row = await auth.create_app(conn, "bench", [auth.OOB], ["read", "write", "admin:read", "admin:write"], None)
        reader_token, _ = await auth.issue_token(conn, app_row["id"], reader.id, ["read"])
        mod_token, _ = await auth.issue_token(conn, app_row["id"], mod.id, ["read", "admin:read", "admin:write"])
        stamp = now()
        fan_ids = [reader.id]
        for start in range(0, count - 1, 5000):
            batch = range(start, min(count - 1, start + 5000))
            ids = [new_id() for _ in batch]
            fan_ids += ids
            await conn.execute(accounts.insert(), [dict(
                id=i, username=f"f{n}", username_lower=f"f{n}", display_name="", note="", locked=False, bot=False,
                discoverable=True, fields=[], email=f"f{n}@example.org", password_hash="x", role="user",
                approved=True, default_visibility="public", default_sensitive=False, statuses_count=0,
                followers_count=0, following_count=1, created_at=stamp) for i, n in zip(ids, batch)])
        for start in range(0, len(fan_ids), 5000):
            await conn.execute(follows.insert(), [dict(
                id=new_id(), account_id=i, target_account_id=star.id, show_reblogs=True, notify=False, created_at=stamp)
                for i in fan_ids[start:start + 5000]])
        rows = []
        for n in range(STAR_STATUSES):
            author = star.id if n % 2 == 0 else other.id
            rows.append(dict(id=new_id(), account_id=author, text=f"post {n}", content=f"<p>post {n}</p>", spoiler_text="",
                             visibility="public", sensitive=False, replies_count=0, reblogs_count=0, favourites_count=0,
                             created_at=stamp))
        await conn.execute(statuses.insert(), rows)
        star_rows = [r for r in rows if r["account_id"] == star.id]
        for start in range(0, len(fan_ids), 500):
            await conn.execute(feed_entries.insert(), [dict(feed=home_key(f), status_id=r["id"], author_id=star.id, reblog_of_id=None)
                                                       for f in fan_ids[start:start + 500] for r in star_rows])
        await conn.execute(feed_entries.insert(), [dict(feed=home_key(reader.id), status_id=r["id"], author_id=r["account_id"], reblog_of_id=None)
                                                   for r in rows if r["account_id"] == other.id])
    return star, reader_token, mod_token


async def _median_ms(http, url: str, token: str, rounds: int = 15) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = await http.get(url, headers={"Authorization": f"Bearer {token}"})
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return statistics.median(times) * 1000


async def run(count: int) -> dict:
    """Seed the world for `count` followers and measure; return the figures in milliseconds."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), domain="bench.local", secret_key="bench")
        await asyncio.to_thread(migrate, settings.effective_database_url)
        ctx = build_context(settings)
        app = create_app(settings, run_migrations=False, context=ctx)
        star, reader, mod = await _seed(ctx, count)
        async with ctx.db.write() as conn:  # fold the seeding into the database file so the first write does not pay for it
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        out = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local") as http:
            home, public = "/api/v1/timelines/home?limit=40", "/api/v1/timelines/public?limit=40"
            out["home_before"] = await _median_ms(http, home, reader)
            out["public_before"] = await _median_ms(http, public, reader)
            admin = {"Authorization": f"Bearer {mod}"}
            suspend_times, unsuspend_times = [], []
            for round_ in range(5):
                t0 = time.perf_counter()
                r = await http.post(f"/api/v1/admin/accounts/{star.id}/action", data={"type": "suspend"}, headers=admin)
                suspend_times.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
                if round_ == 0:
                    out["home_during"] = await _median_ms(http, home, reader)
                    out["public_during"] = await _median_ms(http, public, reader)
                t0 = time.perf_counter()
                r = await http.post(f"/api/v1/admin/accounts/{star.id}/unsuspend", headers=admin)
                unsuspend_times.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
            out["suspend"] = statistics.median(suspend_times) * 1000
            out["unsuspend"] = statistics.median(unsuspend_times) * 1000
            out["home_after"] = await _median_ms(http, home, reader)
        await ctx.db.dispose()
        return out


def main() -> None:
    """Run the benchmark for each follower count given on the command line."""
    counts = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    print("followers  suspend_ms  unsuspend_ms  home_before/during/after_ms  public_before/during_ms  (SQLite)")
    for count in counts:
        f = asyncio.run(run(count))
        print(f"{count:9d}  {f['suspend']:10.1f}  {f['unsuspend']:12.1f}  "
              f"{f['home_before']:8.1f} / {f['home_during']:6.1f} / {f['home_after']:6.1f}  "
              f"{f['public_before']:8.1f} / {f['public_during']:6.1f}")


if __name__ == "__main__":
    main()
