"""Write path and fan-out benchmark: posting with and without group commit, and Redis fan-out batched vs per feed.

Usage: .venv/bin/python bench/write_path.py [--posts 400] [--feeds 100000] [--parts posting,fanout] [--profile]

posting: the app in-process (httpx over ASGI, no sockets), SQLite in a temp dir, the in-process job
runner; 8 concurrent clients post; run once with group commit and once with one transaction per unit
of work, in the same run. Prints posts/s, CPU per post (the post, its response and its fan-out job),
SQL statements per post, and write units per COMMIT. --profile prints a pyinstrument summary of the
group-commit run to stderr.
fanout: one entry delivered to N Redis feeds (127.0.0.1:6379) by the batched script and by the previous
one-call-per-feed script, in the same run, with the client's CPU and Redis's own time per delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import event

from townsquare.config import Settings
from townsquare.main import create_app
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage.db import migrate
from townsquare.wiring import build_context

REDIS = "redis://127.0.0.1:6379/0"


async def posting(posts: int, group_commit: bool, profile: bool) -> dict:
    """Post `posts` statuses from 8 concurrent clients; return the figures."""
    with tempfile.TemporaryDirectory(prefix="tsbench-write-") as tmp:
        settings = Settings(data_dir=Path(tmp), domain="bench.local", secret_key="bench", rate_limits_enabled=False,
                            overload_enabled=False, log_level="error")
        await asyncio.to_thread(migrate, settings.effective_database_url)
        ctx = build_context(settings)
        ctx.db.group_commit = group_commit
        app = create_app(settings, run_migrations=False, context=ctx)
        ctx.jobs.start()
        async with ctx.db.write() as conn:
            author = await create_account(conn, "poster", "poster@example.org", "bench password")
            row = await auth.create_app(conn, "bench", [auth.OOB], ["read", "write"], None)
            token, _ = await auth.issue_token(conn, row["id"], author.id, ["read", "write"])
        statements = [0]

        def count(*_args) -> None:
            statements[0] += 1

        event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local") as http:
            for i in range(20):  # warm caches and pools
                await http.post("/api/v1/statuses", data={"status": f"warm-up {i}"}, headers=headers)
            await ctx.jobs.drain()
            todo = list(range(posts))
            failures = []

            async def client() -> None:
                while todo:
                    i = todo.pop()
                    r = await http.post("/api/v1/statuses", data={"status": f"benchmark post number {i} #bench"}, headers=headers)
                    if r.status_code != 200:
                        failures.append(r.text)

            profiler = None
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.002)
                profiler.start()
            statements[0] = 0
            batches, units = ctx.db.batches, ctx.db.units
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client() for _ in range(8)))
            answered = time.perf_counter() - wall
            await ctx.jobs.drain()  # the fan-out jobs are part of a post's cost
            cpu = time.process_time() - cpu
            if profiler is not None:
                profiler.stop()
                print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
        await ctx.jobs.stop()
        await ctx.db.dispose()
    commits = ctx.db.batches - batches
    return {"rps": posts / answered, "cpu_ms": cpu / posts * 1000, "statements": statements[0] / posts,
            "units_per_commit": (ctx.db.units - units) / commits if commits else None, "failures": len(failures)}


async def fanout(feeds: int) -> dict:
    """Deliver one entry to `feeds` Redis feeds with the batched script and with one script call per feed."""
    from townsquare.timelines.feeds import Entry
    from townsquare.timelines.redis_feeds import RedisFeedStore

    store = RedisFeedStore(REDIS, f"tsbench:{uuid.uuid4().hex[:8]}:", limit=800)
    names = [f"home:{n}" for n in range(feeds)]

    async def redis_usec() -> int:
        return (await store.redis.info("commandstats")).get("cmdstat_evalsha", {}).get("usec", 0)

    async def per_feed(names: list[str], entry: Entry) -> list[str]:
        for start in range(0, len(names), 5000):  # as before: one ADD_SCRIPT call per feed, 5,000 per pipeline
            pipe = store.redis.pipeline(transaction=False)
            chunk = names[start:start + 5000]
            for feed in chunk:
                key = store._key(feed)
                await store.add_script(keys=[key, key + ":t"], args=[f"{entry.status_id:020d}", f"{entry.target_id:020d}", store.limit],
                                       client=pipe)
            await pipe.execute()
        return names

    out = {}
    try:
        await store._add(names, Entry(1, 1))  # the feeds exist, as for an author's followers
        for label, deliver, sid in (("per feed (before)", per_feed, 2), ("batched", store._add, 3)):
            usec, cpu, wall = await redis_usec(), time.process_time(), time.perf_counter()
            await deliver(names, Entry(sid, 1))
            out[label] = (time.perf_counter() - wall, time.process_time() - cpu, (await redis_usec() - usec) / 1e6)
        assert await store.page(None, names[-1], None, None, None, 5) == [3, 2, 1]
    finally:
        keys = [k async for k in store.redis.scan_iter(match=store.prefix + "*", count=10000)]
        for start in range(0, len(keys), 5000):
            await store.redis.delete(*keys[start:start + 5000])
        await store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--feeds", type=int, default=100_000)
    parser.add_argument("--parts", default="posting,fanout")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if "posting" in args.parts:
        print(f"posting, c=8, {args.posts} posts, in-process (SQLite, in-process jobs); target >= 1,000 posts/s (over HTTP)")
        for label, grouped in (("group commit", True), ("a transaction per unit (before)", False)):
            r = asyncio.run(posting(args.posts, grouped, args.profile and grouped))
            per = f", {r['units_per_commit']:.1f} write units per COMMIT" if r["units_per_commit"] else ""
            print(f"  {label:32s} {r['rps']:6.0f} posts/s  CPU {r['cpu_ms']:5.2f} ms/post  "
                  f"{r['statements']:4.1f} statements/post{per}  ({r['failures']} failed)", flush=True)
    if "fanout" in args.parts:
        print(f"Redis fan-out of one entry to {args.feeds:,} feeds; target < 0.5 s")
        for label, (wall, cpu, server) in asyncio.run(fanout(args.feeds)).items():
            verdict = "met" if wall < 0.5 else "not met"
            print(f"  {label:18s} {wall * 1000:7.0f} ms wall ({verdict})  client CPU {cpu * 1000:6.0f} ms  "
                  f"Redis script time {server * 1000:6.0f} ms", flush=True)


if __name__ == "__main__":
    main()
