"""One read at a time, in process through the ASGI app: CPU per request, SQL statements per request, a profile.

Usage:
  .venv/bin/python bench/read_profile.py [--requests 300] [--profile] [--only home,public,...]

Seeds the same world as bench/read_path.py (a reader following 100 accounts x 50 posts) on SQLite in
a temp dir and reads each timeline sequentially through httpx's ASGI transport (no sockets, no
concurrency): figures that stay meaningful on a loaded machine. With --profile, pyinstrument (if
installed) prints the home read's call tree. `--page-cache-seconds 0` reads without the page cache
(api/page_cache.py); with it (the default), every read after a page's first is a hit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))
from read_path import seed_notifications  # noqa: E402
from timelines import seed_authors  # noqa: E402


class _Local:
    """What the shared seeding helpers need of a cluster: a database handle."""

    def __init__(self, db_factory):
        self.database = db_factory


async def run(args) -> None:
    from townsquare.config import Settings
    from townsquare.main import create_app
    from townsquare.services import auth
    from townsquare.services.accounts import create_account
    from townsquare.storage.db import Database, migrate
    from townsquare.wiring import build_context

    tmp = Path(tempfile.mkdtemp(prefix="tsprofile-"))
    settings = Settings(data_dir=tmp, domain="bench.local", secret_key="bench", rate_limits_enabled=False,
                        overload_enabled=False, page_cache_seconds=args.page_cache_seconds)
    await asyncio.to_thread(migrate, settings.effective_database_url)
    ctx = build_context(settings)
    app = create_app(settings, run_migrations=False, context=ctx)
    async with ctx.db.write() as conn:
        reader = await create_account(conn, "reader", "reader@bench.invalid", "bench password 123")
        oauth = await auth.create_app(conn, "bench", [auth.OOB], ["read", "write", "follow"], None)
        token, _ = await auth.issue_token(conn, oauth["id"], reader.id, ["read", "write", "follow"])
    local = _Local(lambda: Database(settings.effective_database_url))
    authors = await seed_authors(local, 100, 50)
    await seed_notifications(local, reader.id, authors, 40)
    statements = [0]
    shown: list[str] = []

    def count(_conn, _cursor, sql, *_args) -> None:
        statements[0] += 1
        if args.echo and len(shown) < 40:
            shown.append(" ".join(sql.split())[:110] + " ... " + " ".join(sql.split())[-90:])

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    ctx.jobs.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{settings.domain}",
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            for aid in authors:
                (await http.post(f"/api/v1/accounts/{aid}/follow")).raise_for_status()
            list_id = (await http.post("/api/v1/lists", data={"title": "writers"})).json()["id"]
            await http.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [str(a) for a in authors]})
            paths = {"home": "/api/v1/timelines/home", "public": "/api/v1/timelines/public",
                     "list": f"/api/v1/timelines/list/{list_id}", "account": f"/api/v1/accounts/{authors[7]}/statuses",
                     "notifications": "/api/v1/notifications?limit=20"}
            for name in args.only.split(","):
                path = paths[name]
                for _ in range(20):  # warm: caches filled, connections open
                    (await http.get(path)).raise_for_status()
                if args.echo:
                    shown.clear()
                    await http.get(path)
                    print(f"-- the statements of one {name} read:", *shown, sep="\n   ")
                    print(f"   (cache: {ctx.status_cache.hits} hits, {ctx.status_cache.misses} misses so far)")
                statements[0] = 0
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(args.requests):
                    r = await http.get(path)
                    assert r.status_code == 200 and len(r.json()) == 20, (name, r.status_code)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(f"{name:>13}: {cpu / args.requests * 1000:.2f} ms CPU and {wall / args.requests * 1000:.2f} ms wall "
                      f"per read, {statements[0] / args.requests:.1f} SQL statements per read "
                      f"(page cache: {app.state.page_cache.hits} hits so far)", flush=True)
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled")
                profiler.start()
                for _ in range(args.requests):
                    await http.get(paths["home"])
                profiler.stop()
                print(profiler.output_text(unicode=False, color=False, show_all=False))
    finally:
        await ctx.jobs.stop()
        await ctx.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--echo", action="store_true", help="print the SQL of one read of each timeline")
    parser.add_argument("--only", default="home,public,list,account,notifications")
    parser.add_argument("--page-cache-seconds", type=float, default=1.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
