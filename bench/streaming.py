"""Benchmark: time from a post's response until every follower's open WebSocket user stream has it.

Usage: .venv/bin/python bench/streaming.py [SUBSCRIBERS ...] [--profile]   (default: 10 100 500)
cpu_ms is this process's CPU (server and clients) from the post until the last client had it; --profile
prints a pyinstrument summary of that span to stderr.
Serves the app with uvicorn on a loopback port (SQLite in a temp dir, in-process jobs, in-process
bus) and opens one WebSocket per follower from this same process, so clients share the CPU
with the server: the figures are an upper bound for one machine.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import uvicorn
from websockets.asyncio.client import connect

from townsquare.config import Settings
from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.main import create_app
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage.db import migrate
from townsquare.storage.tables import accounts, follows
from townsquare.timelines import events
from townsquare.wiring import build_context


async def _seed(ctx, count: int) -> tuple[str, list[tuple[int, str]]]:
    """Create an author and `count` active followers with tokens; return the author's token and (id, token) pairs."""
    async with ctx.db.write() as conn:
        author = await create_account(conn, "author", "author@example.org", "bench password")
        app_row = await auth.create_app(conn, "bench", [auth.OOB], ["read", "write"], None)
        token, _ = await auth.issue_token(conn, app_row["id"], author.id, ["read", "write"])
        stamp = now()
        ids = [new_id() for _ in range(count)]
        await conn.execute(accounts.insert(), [dict(
            id=i, username=f"f{n}", username_lower=f"f{n}", display_name="", note="", locked=False, bot=False,
            discoverable=True, fields=[], email=f"f{n}@example.org", password_hash="x", role="user", approved=True,
            default_visibility="public", default_sensitive=False, statuses_count=0, followers_count=0,
            following_count=1, created_at=stamp, last_active_at=stamp) for n, i in enumerate(ids)])
        await conn.execute(follows.insert(), [dict(
            id=new_id(), account_id=i, target_account_id=author.id, show_reblogs=True, notify=False,
            created_at=stamp) for i in ids])
        readers = []
        for i in ids:
            secret, _ = await auth.issue_token(conn, app_row["id"], i, ["read"])
            readers.append((i, secret))
    return token, readers


async def run(count: int, profile: bool = False) -> tuple[float, float, float, float]:
    """Return (post latency, median and max delivery after the response, time until all had it)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), domain="bench.local", secret_key="bench")
        await asyncio.to_thread(migrate, settings.effective_database_url)
        ctx = build_context(settings)
        app = create_app(settings, run_migrations=False, context=ctx)
        ctx.jobs.start()
        token, readers = await _seed(ctx, count)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        clients = []
        for _, secret in readers:
            clients.append(await connect(f"ws://127.0.0.1:{port}/api/v1/streaming?stream=user&access_token={secret}"))
        while not all(ctx.bus.subscriber_count(events.home_channel(i)) for i, _ in readers):
            await asyncio.sleep(0.01)
        arrivals: list[float] = []

        async def wait(ws) -> None:
            while orjson.loads(await ws.recv())["event"] != "update":
                pass
            arrivals.append(time.perf_counter())

        waiting = [asyncio.create_task(wait(ws)) for ws in clients]
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled")
            profiler.start()
        cpu0 = time.process_time()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            t0 = time.perf_counter()
            r = await http.post("/api/v1/statuses", data={"status": "stream me"}, headers={"Authorization": f"Bearer {token}"})
            t1 = time.perf_counter()
            assert r.status_code == 200, r.text
            await asyncio.wait_for(asyncio.gather(*waiting), 120)
        cpu = time.process_time() - cpu0
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
        for ws in clients:
            await ws.close()
        server.should_exit = True
        await serving
        await ctx.jobs.stop()
        await ctx.db.dispose()
        after = [a - t1 for a in arrivals]
        return t1 - t0, statistics.median(after), max(after), max(arrivals) - t1, cpu


def main() -> None:
    """Run the benchmark for each subscriber count given on the command line."""
    profile = "--profile" in sys.argv
    counts = [int(a) for a in sys.argv[1:] if a.isdigit()] or [10, 100, 500]
    print("subscribers  post_ms  median_after_ms  all_after_ms  cpu_ms  cpu_per_subscriber_us  target  "
          "(WebSocket user streams, SQLite, in-process bus)")
    for count in counts:
        post, median, _, last, cpu = asyncio.run(run(count, profile))
        target = "  < 200 ms at 1,000: " + ("met" if last < 0.2 else "not met") if count == 1000 else ""
        print(f"{count:11d}  {post * 1000:7.1f}  {median * 1000:15.1f}  {last * 1000:12.1f}  {cpu * 1000:6.0f}  "
              f"{cpu / count * 1e6:21.0f}{target}")


if __name__ == "__main__":
    main()
