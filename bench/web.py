"""Benchmark: how fast the web app renders a status page, and paints it in a browser.

Usage: .venv/bin/python bench/web.py [--requests 200] [--thread 600] [--loads 5] [--profile PAGE]
Measures, on the embedded default (SQLite) with rate limits off:
  * server render time of a status page (a post with 3 replies), anonymous and signed in, through the
    whole ASGI app in process (httpx transport): median and p95 of --requests renders after warm-up, with
    the process CPU time per render and the SQL statements per render (both barely move with machine load);
  * for comparison on the same (shared) machine, the JSON twin: GET /api/v1/statuses/:id + /context;
  * server render time of the page of a --thread-post thread (one root, the rest replies in a tree),
    anonymous and signed in;
  * largest contentful paint of the status page in headless Chromium (/usr/bin/chromium) against a real
    `townsquare serve` on loopback, a fresh browser context per load (cold cache): median of --loads.
--profile status|signed|thread|thread-signed prints a pyinstrument profile of 20 renders of that page
(pip install pyinstrument first) and stops before the browser part.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from sqlalchemy import event

from townsquare.config import Settings
from townsquare.main import create_app
from townsquare.services import posting, sessions
from townsquare.services.accounts import create_account
from townsquare.storage.db import migrate
from townsquare.wiring import build_context

BIN = Path(sys.executable).parent
BASE = "http://bench.local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def seed(ctx, thread_size: int) -> tuple[int, int, str]:
    """Accounts, a status with three replies, and a thread; returns (status id, thread root id, a session secret)."""
    s = ctx.settings
    kw = dict(base_url=s.base_url, domain=s.effective_domain, max_chars=s.max_status_chars)
    async with ctx.db.write() as conn:
        people = [await create_account(conn, f"user{i}", f"user{i}@example.org", "correct horse battery") for i in range(8)]
        author = people[0]
        status_id = await posting.post_status(conn, author, posting.Draft("A status page worth reading #bench"), **kw)
        for i, who in enumerate(people[1:4]):
            await posting.post_status(conn, who, posting.Draft(f"@user0 reply {i}", in_reply_to_id=status_id), **kw)
        root = await posting.post_status(conn, author, posting.Draft("The root of a long thread"), **kw)
        parents = [root]
        for i in range(thread_size - 1):
            who = people[i % len(people)]
            parent = parents[(i * 7) % len(parents)]  # a tree: replies spread over earlier posts
            draft = posting.Draft(f"Reply number {i} in the thread", in_reply_to_id=parent)
            parents.append(await posting.post_status(conn, who, draft, **kw))
        secret = await sessions.start_session(conn, people[5])
    return status_id, root, secret


class Meter:
    """Counts the SQL statements the app sends, so each render's statement count can be printed."""

    def __init__(self, engine):
        self.statements = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.statements += 1


async def timed(http, path: str, n: int, cookies: dict | None = None, meter: Meter | None = None) -> dict:
    """Wall milliseconds per GET of a page (n times after a few warm-up requests), CPU ms and statements per GET."""
    for _ in range(min(5, n)):
        r = await http.get(path, cookies=cookies)
        assert r.status_code == 200, r.status_code
    out = []
    statements = meter.statements if meter else 0
    cpu = time.process_time()  # this process's CPU, the app's worker threads (aiosqlite) included
    for _ in range(n):
        started = time.perf_counter()
        r = await http.get(path, cookies=cookies)
        out.append((time.perf_counter() - started) * 1000)
    return {"wall": out, "cpu": (time.process_time() - cpu) * 1000 / n,
            "statements": ((meter.statements - statements) / n) if meter else None}


def summary(values: list[float] | dict) -> str:
    extra = ""
    if isinstance(values, dict):
        extra = f"; CPU {values['cpu']:.1f} ms/render"
        if values.get("statements") is not None:
            extra += f", {values['statements']:.0f} SQL statements/render"
        values = values["wall"]
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms (n={len(values)}){extra}"


async def profile(http, path: str, cookies: dict | None) -> None:
    """Print where 20 renders of a page spend their time (pyinstrument)."""
    from pyinstrument import Profiler

    for _ in range(5):
        await http.get(path, cookies=cookies)
    profiler = Profiler(interval=0.0005, async_mode="enabled")
    profiler.start()
    for _ in range(20):
        await http.get(path, cookies=cookies)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))


def lcp(url: str, loads: int) -> dict:
    """Largest contentful paint in milliseconds, one fresh context per load, with when the HTML's first byte and
    the style sheet arrived (what the paint waited for; the rest is the browser's own work on a loaded box)."""
    from playwright.sync_api import sync_playwright

    out = {"lcp": [], "ttfb": [], "css": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for _ in range(loads):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url, wait_until="load")
            value = page.evaluate("""() => new Promise(resolve => {
                new PerformanceObserver(list => { const e = list.getEntries(); resolve(e[e.length - 1].startTime); })
                  .observe({type: 'largest-contentful-paint', buffered: true});
            })""")
            timing = page.evaluate("""() => ({
                ttfb: performance.getEntriesByType('navigation')[0].responseStart,
                css: Math.max(0, ...performance.getEntriesByType('resource')
                                      .filter(r => r.name.includes('.css')).map(r => r.responseEnd)),
            })""")
            out["lcp"].append(value)
            out["ttfb"].append(timing["ttfb"])
            out["css"].append(timing["css"])
            context.close()
        browser.close()
    return out


def paint_summary(paints: dict) -> str:
    return (f"{summary(paints['lcp'])}; HTML first byte at median {statistics.median(paints['ttfb']):.0f} ms, "
            f"style sheet loaded at {statistics.median(paints['css']):.0f} ms")


def wait_ready(url: str) -> None:
    """Wait (at most a minute) until a started server answers its instance route."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v1/instance", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)


async def main(requests: int, thread_size: int, loads: int, profile_page: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = Settings(data_dir=data, domain="bench.local", secret_key="bench", rate_limits_enabled=False,
                            run_jobs_in_process=False)
        await asyncio.to_thread(migrate, settings.effective_database_url)
        ctx = build_context(settings)
        app = create_app(settings, run_migrations=False, context=ctx)
        started = time.perf_counter()
        status_id, root, secret = await seed(ctx, thread_size)
        print(f"seeded {thread_size + 4} statuses in {time.perf_counter() - started:.1f} s")
        meter = Meter(ctx.db.engine)
        signed = {"ts_session": secret}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
            page = f"/@user0/{status_id}"
            if profile_page is not None:
                path = page if profile_page in ("status", "signed") else f"/@user0/{root}"
                await profile(http, path, signed if profile_page.endswith("signed") else None)
                await ctx.db.dispose()
                return
            print(f"status page, anonymous:    {summary(await timed(http, page, requests, meter=meter))}")
            print(f"status page, signed in:    {summary(await timed(http, page, requests, signed, meter))}")
            one = await timed(http, f"/api/v1/statuses/{status_id}", requests, meter=meter)
            context = await timed(http, f"/api/v1/statuses/{status_id}/context", requests, meter=meter)
            api = {"wall": [a + b for a, b in zip(one["wall"], context["wall"])], "cpu": one["cpu"] + context["cpu"],
                   "statements": one["statements"] + context["statements"]}
            print(f"its JSON twin (status + context): {summary(api)}")
            n = max(5, requests // 20)
            for label, cookies in (("anonymous", None), ("signed in", signed)):
                thread = await timed(http, f"/@user0/{root}", n, cookies, meter)
                body = (await http.get(f"/@user0/{root}", cookies=cookies)).text
                print(f"{thread_size}-post thread page, {label}: {summary(thread)}; {body.count('<article')} articles, "
                      f"{len(body) // 1024} KB HTML, {len(gzip.compress(body.encode())) // 1024} KB gzipped")
        await ctx.db.dispose()
        port = free_port()
        server = subprocess.Popen([str(BIN / "townsquare"), "serve", "--port", str(port), "--data-dir", str(data)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={"PATH": "/usr/bin:/bin", "TOWNSQUARE_SECRET_KEY": "bench",
                                       "TOWNSQUARE_DOMAIN": "bench.local", "TOWNSQUARE_RATE_LIMITS_ENABLED": "false"})
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url)
            paints = await asyncio.to_thread(lcp, f"{url}/@user0/{status_id}", loads)
            print(f"status page LCP in headless Chromium: {paint_summary(paints)}")
            paints = await asyncio.to_thread(lcp, f"{url}/@user0/{root}", max(1, loads // 2))
            print(f"{thread_size}-post thread LCP: {paint_summary(paints)}")
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--thread", type=int, default=600)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--profile", choices=("status", "signed", "thread", "thread-signed"))
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.thread, args.loads, args.profile))
