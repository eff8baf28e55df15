"""Benchmark: what filters cost on a read, and how full-text status search scales (SQLite FTS5, PostgreSQL tsvector).

Usage: .venv/bin/python bench/filters.py [--statuses 20000] [--requests 300] [--postgres postgresql+asyncpg://...]
Prints: matching one status against N keywords with the one compiled regex (and, for comparison, a regex per
keyword); loading a viewer's filter set; a home timeline request through the whole app with no filters and with
20 filters of 5 keywords; and a status search over the seeded statuses, against the substring scan it replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from townsquare.api.filtering import load_filter_set
from townsquare.config import Settings
from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.domain.filters import CustomFilter, FilterKeyword, FilterSet, keyword_pattern, searchable_text
from townsquare.domain.models import Status
from townsquare.main import create_app
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.services import auth
from townsquare.services import filters as filter_service
from townsquare.services.accounts import create_account
from townsquare.storage import search as search_store
from townsquare.storage.db import migrate
from townsquare.storage.tables import statuses
from townsquare.wiring import build_context

# A Zipf-like vocabulary of 5,000 words, so that a two-word query is as selective as real ones are.
VOCABULARY = [f"w{n}ord" for n in range(5000)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def _status(content: str) -> Status:
    return Status(id=1, account_id=2, text="", content=content, spoiler_text="", visibility="public", sensitive=False,
                  language=None, in_reply_to_id=None, in_reply_to_account_id=None, reblog_of_id=None, replies_count=0,
                  reblogs_count=0, favourites_count=0, created_at=now())


def _sentence(rng: random.Random, n: int = 30) -> str:
    return " ".join(rng.choices(VOCABULARY, WEIGHTS, k=n))


def page_step(n: int = 300) -> None:
    """Microseconds the filter step (drop hidden, mark the rest) adds to a page of 20 statuses, nothing matching."""
    from townsquare.api.filtering import EMPTY, kept, mark

    rng = random.Random(4)
    page = [_status(f"<p>{_sentence(rng)}</p>") for _ in range(20)]
    for i, s in enumerate(page):
        s.id = i + 1
    rendered = {"id": "1", "reblog": None, "filtered": []}
    for count in (0, 5, 100):
        keywords = [FilterKeyword(i, 1, f"zz{i}x", True) for i in range(count)]
        started = time.perf_counter()
        for _ in range(n):  # a new set per page, as each request loads its own
            fs = FilterSet(9, [CustomFilter(1, 9, "t", ["home"], "warn", None, keywords)], now()) if count else EMPTY
            for s in kept(fs, page, "home"):
                mark(fs, s, rendered, "home")
        print(f"filter step on a page of 20 statuses, {count:3d} keywords: {(time.perf_counter() - started) / n * 1e6:8.0f} us")


def matching(counts=(0, 10, 100, 1000), n: int = 5000) -> None:
    """Microseconds to match one status (that matches nothing) against N keywords."""
    rng = random.Random(1)
    texts = [_status(f"<p>{_sentence(rng)}</p>") for _ in range(200)]
    for count in counts:
        keywords = [FilterKeyword(i, 1, f"zz{i}word", True) for i in range(count)]
        fs = FilterSet(9, [CustomFilter(1, 9, "t", ["home"], "warn", None, keywords)], now())
        started = time.perf_counter()
        for i in range(n):
            status = texts[i % len(texts)]
            status.id = i  # a status not seen before: nothing memoised
            fs.match(status, "home")
        one = (time.perf_counter() - started) / n * 1e6
        each = [re.compile(keyword_pattern(k.keyword, k.whole_word), re.IGNORECASE) for k in keywords]
        started = time.perf_counter()
        for i in range(n):
            text = searchable_text(texts[i % len(texts)])
            any(p.search(text) for p in each)
        naive = (time.perf_counter() - started) / n * 1e6
        print(f"match one status, {count:5d} keywords: {one:8.1f} us (one regex)   {naive:8.1f} us (a regex per keyword)")


async def _seed(ctx, account_id: int, count: int) -> None:
    rng = random.Random(2)
    stamp = now()
    async with ctx.db.write() as conn:
        for start in range(0, count, 1000):
            rows = [dict(id=new_id(), account_id=account_id, text=(t := _sentence(rng, 20)), content=f"<p>{t}</p>",
                         spoiler_text="", visibility="public", sensitive=False, created_at=stamp)
                    for _ in range(min(1000, count - start))]
            await conn.execute(insert(statuses), rows)


async def _time(fn, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.perf_counter() - started) / n * 1e3


async def app_figures(url: str, label: str, statuses_count: int, requests: int) -> None:
    """Filter-set load, home requests with and without filters, and search latency on one database."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=url, data_dir=Path(tmp), domain="bench.local", secret_key="x",
                            rate_limits_enabled=False)
        ctx = build_context(settings)
        app = create_app(settings, run_migrations=False, context=ctx)
        async with ctx.db.write() as conn:
            account = await create_account(conn, f"bench{new_id() % 100000}", f"b{new_id()}@example.org", "correct horse battery")
            client = await auth.create_app(conn, "bench", [auth.OOB], ["read"], None)
            token, _ = await auth.issue_token(conn, client["id"], account.id, ["read"])
        await _seed(ctx, account.id, statuses_count)
        from townsquare.timelines.home import regenerate_home

        async with ctx.db.write() as conn:
            await regenerate_home(conn, ctx.feeds, account.id, settings.hybrid_threshold)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local") as http:
            async def home():
                r = await http.get("/api/v1/timelines/home", headers=headers)
                assert r.status_code == 200, r.text

            for _ in range(20):
                await home()
            plain = await _time(home, requests)

            async def load():
                async with ctx.db.read() as conn:
                    await load_filter_set(conn, account.id)

            empty_load = await _time(load, requests)
            async with ctx.db.write() as conn:
                for i in range(20):
                    await filter_service.create_filter(
                        conn, account.id, f"f{i}", ["home", "public"], "warn", None,
                        [filter_service.KeywordChange(keyword=f"zz{i}x{j}") for j in range(5)])
            full_load = await _time(load, requests)
            for _ in range(20):
                await home()
            filtered = await _time(home, requests)
        print(f"{label}: load filter set, none: {empty_load:.2f} ms   20 filters x 5 keywords: {full_load:.2f} ms")
        print(f"{label}: home timeline (20 statuses), no filters: {plain:.2f} ms   with 100 keywords: {filtered:.2f} ms "
              f"({(filtered - plain) / plain * 100:+.0f} %)")

        async with ctx.db.read() as conn:
            rng = random.Random(3)
            queries = [f"{rng.choice(VOCABULARY[20:400])} {rng.choice(VOCABULARY[20:400])}" for _ in range(50)]

            async def fts():
                await search_store.statuses_matching(conn, rng.choice(queries), account.id, limit=20)

            async def scan():
                q = "%" + rng.choice(queries) + "%"
                stmt = (select(statuses.c.id).where(statuses.c.reblog_of_id.is_(None)).where(visible_to(account.id))
                        .where(func.lower(statuses.c.text).like(q)).order_by(statuses.c.id.desc()).limit(20))
                await conn.execute(stmt, viewer_params(account.id))

            ranked = await _time(fts, 50)
            substring = await _time(scan, 50)
        print(f"{label}: search over {statuses_count} statuses, two words, 20 results: full-text {ranked:.1f} ms   "
              f"substring scan (before) {substring:.1f} ms")
        await ctx.db.dispose()


async def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--statuses", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL (postgresql+asyncpg://...)")
    args = parser.parse_args()
    matching()
    page_step()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'db.sqlite3'}"
        await asyncio.to_thread(migrate, url)
        await app_figures(url, "SQLite", args.statuses, args.requests)
    if args.postgres:
        await asyncio.to_thread(migrate, args.postgres)
        await app_figures(args.postgres, "PostgreSQL", args.statuses, args.requests)


if __name__ == "__main__":
    asyncio.run(main())
