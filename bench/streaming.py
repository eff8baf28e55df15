"""Benchmark: time from a post until every follower's open WebSocket user stream has it.

Usage: .venv/bin/python bench/streaming.py [SUBSCRIBERS ...] [--client-procs N] [--rounds R] [--profile]
                                          [--deflate] [--no-freeze]   (default: 10 100 500, 3 rounds)
Serves the app with uvicorn on uvloop on a loopback port as `townsquare serve` does (its uvicorn options, and
the start-up objects frozen out of the garbage collector's sight; --deflate and --no-freeze undo those), with
SQLite in a temp dir and in-process jobs and bus. A warm-up post precedes the R measured ones, one row each.
The WebSocket clients run in N other processes (default 1), so the server's CPU figure is its own: server_cpu_ms is this process's CPU (the server, its database threads and the one
posting client) from the post until the last client had it, and client_cpu_ms the client processes'.
published_ms is when the fan-out job's first event reached the bus. Times count from the post's request.
Arrival times are taken in the clients on CLOCK_MONOTONIC, which all processes share. --profile prints
cProfile's summary of the server's last round to stderr (the main thread only).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import uvicorn
import uvloop
from websockets.asyncio.client import connect

from townsquare import cli
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


async def _client(url: str) -> None:
    """A client process: open one WebSocket per secret read from stdin, say ready, then for each "go" line
    wait until every socket has one more update and report the arrival times (and the CPU spent) as JSON."""
    secrets = orjson.loads(sys.stdin.readline())
    clients = [await connect(f"{url}/api/v1/streaming?stream=user&access_token={s}", max_queue=None) for s in secrets]

    async def wait(ws) -> float:
        while orjson.loads(await ws.recv())["event"] != "update":
            pass
        return time.monotonic()

    print("ready", flush=True)
    while (await asyncio.to_thread(sys.stdin.readline)).strip() == "go":
        waiting = [asyncio.create_task(wait(ws)) for ws in clients]
        cpu0 = time.process_time()
        arrivals = await asyncio.wait_for(asyncio.gather(*waiting), 120)
        print(orjson.dumps({"arrivals": arrivals, "cpu": time.process_time() - cpu0}).decode(), flush=True)
    for ws in clients:
        await ws.close()


class GcTimer:
    """Wall time this process spends in the garbage collector (gc.callbacks), by generation."""

    def __init__(self) -> None:
        self.spent, self.started = [0.0, 0.0, 0.0], 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.spent[info["generation"]] += time.perf_counter() - self.started


async def run(count: int, procs: int, rounds: int, profile: bool = False, deflate: bool = False,
              freeze: bool = True) -> list[dict]:
    """A warm-up post, then `rounds` posts, each to `count` followers' streams: the timings in seconds and the CPU."""
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
        options = {**getattr(cli, "SERVE_OPTIONS", {}), **({"ws_per_message_deflate": True} if deflate else {})}
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1, **options))
        if freeze and hasattr(cli, "freeze_startup_objects"):
            cli.freeze_startup_objects()  # as `townsquare serve` does once started
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        children = []
        for n in range(procs):
            child = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client", f"ws://127.0.0.1:{port}", env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=2**24)
            child.stdin.write(orjson.dumps([s for _, s in readers[n::procs]]) + b"\n")
            await child.stdin.drain()
            children.append(child)
        for child in children:
            assert (await child.stdout.readline()).strip() == b"ready"
        while not all(ctx.bus.subscriber_count(events.home_channel(i)) for i, _ in readers):
            await asyncio.sleep(0.01)
        results = []
        gc_timer = GcTimer()
        published: list[float] = []
        dispatch = ctx.bus._dispatch

        def timed_dispatch(channel: str, message: dict) -> None:  # when the fan-out's events reach the bus
            if not published and message.get("event") == "update":
                published.append(time.monotonic())
            dispatch(channel, message)

        ctx.bus._dispatch = timed_dispatch
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for n in range(rounds + 1):  # round 0 warms the server up (statement caches, first imports)
                for child in children:
                    child.stdin.write(b"go\n")
                    await child.stdin.drain()
                await asyncio.sleep(0.3)  # the clients are waiting now
                profiler = None
                if profile and n == rounds:
                    profiler = cProfile.Profile()
                    profiler.enable()
                gc_timer.spent = [0.0, 0.0, 0.0]
                published.clear()
                cpu0 = time.process_time()
                t0 = time.monotonic()
                r = await http.post("/api/v1/statuses", data={"status": f"stream me {n}"},
                                    headers={"Authorization": f"Bearer {token}"})
                t1 = time.monotonic()
                assert r.status_code == 200, r.text
                reports = [orjson.loads(await asyncio.wait_for(c.stdout.readline(), 120)) for c in children]
                cpu = time.process_time() - cpu0
                gc_spent = list(gc_timer.spent)
                if profiler is not None:
                    profiler.disable()
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
                arrivals = [a for rep in reports for a in rep["arrivals"]]
                assert len(arrivals) == count
                if n:
                    results.append({"post": t1 - t0, "published": published[0] - t0, "median": statistics.median(arrivals) - t0,
                                    "last": max(arrivals) - t0, "after": max(arrivals) - t1, "cpu": cpu,
                                    "client_cpu": sum(rep["cpu"] for rep in reports), "gc": gc_spent})
        for child in children:
            child.stdin.close()
            await child.wait()
        server.should_exit = True
        await serving
        await ctx.jobs.stop()
        await ctx.db.dispose()
        gc.callbacks.remove(gc_timer)
        return results


def main() -> None:
    """Run the benchmark for each subscriber count given on the command line."""
    if sys.argv[1:2] == ["--client"]:
        uvloop.run(_client(sys.argv[2]))
        return
    profile = "--profile" in sys.argv
    procs = int(sys.argv[sys.argv.index("--client-procs") + 1]) if "--client-procs" in sys.argv else 1
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    counts = [int(a) for i, a in enumerate(sys.argv[1:], 1) if a.isdigit() and sys.argv[i - 1] not in ("--client-procs", "--rounds")]
    print(f"load average {os.getloadavg()[0]:.1f}; {procs} client process(es); WebSocket user streams, SQLite, in-process bus"
          + ("; per-message deflate" if "--deflate" in sys.argv else "") + ("; no gc.freeze" if "--no-freeze" in sys.argv else ""))
    print("subscribers  post_ms  published_ms  median_ms  all_ms  all_after_response_ms  server_cpu_ms  per_subscriber_us  client_cpu_ms  server_gc_ms (gen 0/1/2)  target")
    for count in counts or [10, 100, 500]:
        for r in uvloop.run(run(count, procs, rounds, profile, "--deflate" in sys.argv, "--no-freeze" not in sys.argv)):
            target = "< 200 ms after the response at 1,000: " + ("met" if r["after"] < 0.2 else "not met") if count == 1000 else ""
            print(f"{count:11d}  {r['post'] * 1000:7.1f}  {r['published'] * 1000:12.1f}  {r['median'] * 1000:9.1f}  {r['last'] * 1000:6.1f}  "
                  f"{r['after'] * 1000:21.1f}  {r['cpu'] * 1000:13.0f}  {r['cpu'] / count * 1e6:17.0f}  "
                  f"{r['client_cpu'] * 1000:13.0f}  {'/'.join(f'{g * 1000:.0f}' for g in r['gc']):>23}  {target}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
