"""Read path against the framework's ceiling, side by side in one run.

Usage:
  .venv/bin/python bench/read_path.py [--duration 10] [--connections 32] [--only home,public,...]

Starts one embedded `townsquare serve` (SQLite, no Redis) and, on the same uvicorn settings, a bare
Starlette app that answers every request with the very bytes of the reader's home page. Seeds a reader
following 100 accounts x 50 posts (plus a list of them and 40 notifications), checks that each read
answers 200 with 20 items, then measures with wrk (-t2, -c32 by default):

  * the ceiling: the bare app serving the home page's bytes;
  * home, public, tag, list, account-statuses and notifications reads on the real server.

Prints req/s, p50, p99 and the ratio to the ceiling for each, the page sizes, and the CPU each server process
spent per answered request (utime + stime from /proc). `--page-cache-seconds 0` measures without the page cache
(api/page_cache.py), the "before" of docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from timelines import BIN, Cluster, free_port, seed_authors, wrk  # noqa: E402  (the shared bench helpers)

CEILING_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

body = open(sys.argv[1], "rb").read()

async def page(request):
    return Response(body, media_type="application/json; charset=utf-8")

app = Starlette(routes=[Route("/{path:path}", page)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="error", access_log=False,
            proxy_headers=True)
"""


async def seed_notifications(cluster: Cluster, reader_id: int, authors: list[int], count: int) -> None:
    """Mentions of the reader by the authors, as the posting path would leave them (status + mention + notification)."""
    from townsquare.core.clock import now
    from townsquare.core.ids import new_id
    from townsquare.storage.tables import mentions, notifications, statuses

    db = cluster.database()
    try:
        async with db.write() as conn:
            stamp = now()
            for i in range(count):
                author = authors[i % len(authors)]
                sid = new_id()
                text = f"@reader hello number {i}"
                await conn.execute(statuses.insert().values(
                    id=sid, account_id=author, text=text, content=f"<p>{text}</p>", spoiler_text="", visibility="public",
                    sensitive=False, language="en", in_reply_to_id=None, in_reply_to_account_id=None, reblog_of_id=None,
                    application_id=None, replies_count=0, reblogs_count=0, favourites_count=0, created_at=stamp))
                await conn.execute(mentions.insert().values(status_id=sid, account_id=reader_id))
                await conn.execute(notifications.insert().values(
                    id=new_id(), account_id=reader_id, from_account_id=author, type="mention", status_id=sid,
                    created_at=stamp))
    finally:
        await db.dispose()


def tag_all(cluster: Cluster) -> None:
    """Give every seeded post the #bench tag the text already names (the seed inserts rows directly)."""
    async def run() -> None:
        from sqlalchemy import select

        from townsquare.core.clock import now
        from townsquare.core.ids import new_id
        from townsquare.storage.tables import status_tags, statuses, tags

        db = cluster.database()
        try:
            async with db.write() as conn:
                tag_id = new_id()
                await conn.execute(tags.insert().values(id=tag_id, name="bench", created_at=now()))
                ids = [r[0] for r in await conn.execute(select(statuses.c.id).where(statuses.c.text.like("%#bench")))]
                await conn.execute(status_tags.insert(), [dict(status_id=i, tag_id=tag_id) for i in ids])
        finally:
            await db.dispose()

    asyncio.run(run())


def post_steadily(url: str, token: str, rate: float, stop: threading.Event) -> None:
    """Post `rate` statuses a second until stopped (the write load beside the reads)."""
    me = threading.current_thread()
    me.posted = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        next_at = time.monotonic()
        while not stop.is_set():
            http.post("/api/v1/statuses", data={"status": f"meanwhile {me.posted}"}).raise_for_status()
            me.posted += 1
            next_at += 1 / rate
            stop.wait(max(0.0, next_at - time.monotonic()))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def start_ceiling(tmp: Path, body: bytes) -> tuple[subprocess.Popen, str]:
    """The bare Starlette app on uvicorn, answering every path with these bytes."""
    (tmp / "page.json").write_bytes(body)
    (tmp / "ceiling.py").write_text(CEILING_APP)
    port = free_port()
    proc = subprocess.Popen([str(BIN / "python"), str(tmp / "ceiling.py"), str(tmp / "page.json"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/", timeout=1).content == body:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("ceiling app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default="home,public,tag,list,account,notifications")
    parser.add_argument("--page-cache-seconds", default=None, help="TOWNSQUARE_PAGE_CACHE_SECONDS (0: cache off)")
    parser.add_argument("--writes-per-second", type=float, default=0,
                        help="meanwhile post this many statuses a second as the reader (each commit invalidates the page cache)")
    parser.add_argument("--rate-limits", action="store_true",
                        help="count every request against the rate limits (set too high to refuse any), as production does")
    args = parser.parse_args()
    print(f"# townsquare read path vs the framework ceiling, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"wrk -t2 -c{args.connections} -d{args.duration}s", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="tsbench-read-"))
    # Overload shedding off: the figure is what the read path serves, not what the limiter turns away.
    env = {"TOWNSQUARE_OVERLOAD_ENABLED": "false"}
    if args.page_cache_seconds is not None:
        env["TOWNSQUARE_PAGE_CACHE_SECONDS"] = str(args.page_cache_seconds)
    cluster = Cluster("embedded", tmp, env)
    if args.rate_limits:  # over the bench helpers' default (off)
        cluster.env.update(TOWNSQUARE_RATE_LIMITS_ENABLED="true", TOWNSQUARE_RATE_LIMIT_TOKEN="1000000000/5m",
                           TOWNSQUARE_RATE_LIMIT_USER="1000000000/5m", TOWNSQUARE_RATE_LIMIT_UNAUTHENTICATED="1000000000/5m")
    ceiling = None
    try:
        cluster.start()
        reader_id, token = cluster.account("reader")
        authors = asyncio.run(seed_authors(cluster, 100, 50))
        tag_all(cluster)
        asyncio.run(seed_notifications(cluster, int(reader_id), authors, 40))
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=cluster.url, headers=auth, timeout=60) as http:
            for aid in authors:
                http.post(f"/api/v1/accounts/{aid}/follow").raise_for_status()
            list_id = http.post("/api/v1/lists", data={"title": "writers"}).json()["id"]
            http.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [str(a) for a in authors]}).raise_for_status()
            paths = {
                "home": "/api/v1/timelines/home",
                "public": "/api/v1/timelines/public",
                "tag": "/api/v1/timelines/tag/bench",
                "list": f"/api/v1/timelines/list/{list_id}",
                "account": f"/api/v1/accounts/{authors[7]}/statuses",
                "notifications": "/api/v1/notifications?limit=20",
            }
            sizes = {}
            for name, path in paths.items():
                r = http.get(path)
                r.raise_for_status()
                assert len(r.json()) == 20, (name, len(r.json()))
                sizes[name] = len(r.content)
            home_bytes = http.get(paths["home"]).content
        ceiling, ceiling_url = start_ceiling(tmp, home_bytes)
        cpu = cpu_seconds([ceiling.pid])
        base = wrk(ceiling_url + paths["home"], token, args.connections, args.duration)
        cpu = (cpu_seconds([ceiling.pid]) - cpu) / max(base["requests"], 1) * 1000
        print(f"ceiling (bare Starlette, same {len(home_bytes):,} bytes): {base['rps']:.0f} req/s, p50 {base['p50']:.1f} ms, "
              f"p99 {base['p99']:.1f} ms, {cpu:.3f} ms CPU/request", flush=True)
        servers = [p.pid for p in cluster.procs]
        stop = threading.Event()
        writer = threading.Thread(target=post_steadily, args=(cluster.url, token, args.writes_per_second, stop), daemon=True)
        if args.writes_per_second > 0:
            writer.start()
        for name in args.only.split(","):
            cpu = cpu_seconds(servers)
            got = wrk(cluster.url + paths[name], token, args.connections, args.duration)
            cpu = (cpu_seconds(servers) - cpu) / max(got["requests"] - got["errors"], 1) * 1000
            if got["errors"]:  # only answered reads count
                got["rps"] *= 1 - got["errors"] / max(got["requests"], 1)
            ratio = got["rps"] / base["rps"] if base["rps"] else float("nan")
            print(f"{name:>13}: {got['rps']:.0f} req/s, p50 {got['p50']:.1f} ms, p99 {got['p99']:.1f} ms, "
                  f"ratio {ratio:.3f}, {cpu:.3f} ms CPU/request ({sizes[name]:,} bytes, {got['requests']} requests, "
                  f"{got['errors']} non-2xx)", flush=True)
        stop.set()
        if writer.is_alive():
            writer.join(10)
            print(f"(meanwhile {writer.posted} posts by the reader, {args.writes_per_second}/s)")
    finally:
        if ceiling is not None:
            ceiling.terminate()
            ceiling.wait(10)
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
