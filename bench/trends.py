"""Benchmark: the trends refresh, tag history and link-card reading (embedded default, SQLite; PostgreSQL with --pg).

Usage: .venv/bin/python bench/trends.py [--statuses 20000,100000] [--pg]
For each size: that many public statuses over the last two days by 2,000 accounts, each with one of 500
hashtags (Zipf-like), a fifth linking to one of 200 cards, and favourites on 1% of them. Prints the time
of one full refresh (tags, links, statuses), of the 7-day history of the 10 trending tags, and of the card
lookup a timeline page of 40 statuses adds. Then the card reader: pages parsed per second from a loopback site.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.linksite import LinkSite  # noqa: E402  (a real loopback site, shared with the tests)
from townsquare.cards.fetch import FetchPolicy  # noqa: E402
from townsquare.cards.service import read_card  # noqa: E402
from townsquare.core.clock import now  # noqa: E402
from townsquare.core.ids import new_id  # noqa: E402
from townsquare.services import trends  # noqa: E402
from townsquare.storage import cards as card_store  # noqa: E402
from townsquare.storage import trends as trend_store  # noqa: E402
from townsquare.storage.db import Database, migrate  # noqa: E402
from townsquare.storage.tables import accounts, preview_cards, status_preview_cards, status_tags, statuses, tags  # noqa: E402

ACCOUNTS, TAGS, CARDS = 2000, 500, 200


async def _seed(db: Database, count: int) -> list[int]:
    rng = random.Random(7)
    stamp = now()
    account_ids = [new_id() for _ in range(ACCOUNTS)]
    tag_ids = [new_id() for _ in range(TAGS)]
    card_ids = [new_id() for _ in range(CARDS)]
    async with db.write() as conn:
        await conn.execute(accounts.insert(), [dict(
            id=i, username=f"a{n}", username_lower=f"a{n}", display_name="", note="", locked=False, bot=False,
            discoverable=True, fields=[], email=f"a{n}@example.org", password_hash="x", role="user", approved=True,
            default_visibility="public", default_sensitive=False, created_at=stamp) for n, i in enumerate(account_ids)])
        await conn.execute(tags.insert(), [dict(id=i, name=f"tag{n}", created_at=stamp) for n, i in enumerate(tag_ids)])
        await conn.execute(preview_cards.insert(), [dict(
            id=i, url=f"https://news.example/{n}", title=f"Story {n}", description="", type="link", author_name="",
            author_url="", provider_name="", provider_url="", html="", width=0, height=0, image_description="",
            embed_url="", authors=[], created_at=stamp, updated_at=stamp) for n, i in enumerate(card_ids)])
    start_ms = int((stamp - timedelta(days=2)).timestamp() * 1000)
    span = 2 * 86_400_000
    ids = sorted({new_id(start_ms + rng.randrange(span)) + n % 65536 for n in range(count)})
    count = len(ids)
    for lo in range(0, count, 5000):
        chunk = ids[lo:lo + 5000]
        rows, tagged, carded = [], [], []
        for sid in chunk:
            rows.append(dict(id=sid, account_id=rng.choice(account_ids), text="x", content="<p>x</p>", spoiler_text="",
                             visibility="public", sensitive=False, language="en", replies_count=0, reblogs_count=0,
                             favourites_count=rng.randrange(20) if rng.random() < 0.01 else 0, created_at=stamp))
            tagged.append(dict(status_id=sid, tag_id=tag_ids[min(int(rng.paretovariate(1.2)) - 1, TAGS - 1)]))
            if rng.random() < 0.2:
                carded.append(dict(status_id=sid, preview_card_id=rng.choice(card_ids)))
        async with db.write() as conn:
            await conn.execute(statuses.insert(), rows)
            await conn.execute(status_tags.insert(), tagged)
            if carded:
                await conn.execute(status_preview_cards.insert(), carded)
    # A spike: ten hashtags each used in the last minutes by 20, 40 ... 200 accounts (these should trend).
    spike_ms = int(stamp.timestamp() * 1000) - 600_000
    async with db.write() as conn:
        for n in range(10):
            tag_id = new_id()
            await conn.execute(tags.insert().values(id=tag_id, name=f"spike{n}", created_at=stamp))
            fresh = [new_id(spike_ms + k) + 1 + n for k in range(20 * (n + 1))]
            await conn.execute(statuses.insert(), [dict(
                id=sid, account_id=account_ids[k], text="x", content="<p>x</p>", spoiler_text="", visibility="public",
                sensitive=False, language="en", replies_count=0, reblogs_count=0, favourites_count=0, created_at=stamp)
                for k, sid in enumerate(fresh)])
            await conn.execute(status_tags.insert(), [dict(status_id=sid, tag_id=tag_id) for sid in fresh])
    return ids


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms"


async def _measure(url: str, count: int) -> None:
    db = Database(url)
    ids = await _seed(db, count)
    refresh = []
    for _ in range(3):
        started = time.perf_counter()
        async with db.write() as conn:
            await trends.refresh_trends(conn)
        refresh.append(time.perf_counter() - started)
    history, hydrate = [], []
    for _ in range(5):
        async with db.read() as conn:
            started = time.perf_counter()
            top = await trend_store.trending_tags(conn, 10, 0)
            await trends.tag_history(conn, [r.id for r in top])
            history.append(time.perf_counter() - started)
            started = time.perf_counter()
            await card_store.cards_for(conn, ids[-40:])
            hydrate.append(time.perf_counter() - started)
    print(f"| {count:>7} | {_median_ms(refresh):>12} | {_median_ms(history):>16} | {_median_ms(hydrate):>16} | {len(top):>4} |")
    await db.dispose()


async def _cards(rounds: int = 200) -> None:
    with LinkSite() as site:
        policy = FetchPolicy.allowing("127.0.0.1/32")
        started = time.perf_counter()
        for n in range(rounds):
            card = await read_card(f"{site.url}/article?n={n}", policy)
            assert card is not None
        took = time.perf_counter() - started
    print(f"card reader: {rounds} pages (+ their oEmbed) in {took:.2f} s = {rounds / took:.0f} cards/s, one at a time")


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--statuses", default="20000,100000")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432 instead of SQLite")
    args = parser.parse_args()
    print("| statuses | refresh (3x) | history top-10 | cards of 40 | tags |")
    print("|---------:|-------------:|---------------:|------------:|-----:|")
    for count in (int(c) for c in args.statuses.split(",")):
        if args.pg:
            import asyncpg

            name = f"townsquare_bench_{uuid.uuid4().hex[:6]}"

            async def admin(sql: str) -> None:
                """Run one statement on the PostgreSQL server."""
                conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
                await conn.execute(sql)
                await conn.close()

            asyncio.run(admin(f'CREATE DATABASE "{name}"'))
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            try:
                migrate(url)
                asyncio.run(_measure(url, count))
            finally:
                asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
                migrate(url)
                asyncio.run(_measure(url, count))
    asyncio.run(_cards())


if __name__ == "__main__":
    main()
