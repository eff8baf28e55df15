"""Benchmark: what polls and quotes cost on every status read, and how fast votes are taken (in-process).

Usage: .venv/bin/python bench/polls.py [--backend sqlite|postgres] [--rounds 300] [--votes 500]
Seeds 40 plain statuses, 40 with polls (10 votes each) and 40 quoting others, then prints:
  * the median time to load and hydrate one page of 20 statuses (the storage step every timeline,
    thread and notification read goes through) for plain, poll and quote pages, and the SQL
    statements each page costs;
  * votes per second through the vote service (one transaction per vote, as the route does).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event

from townsquare.services import polls as poll_service
from townsquare.services.accounts import create_account
from townsquare.services.posting import Draft, post_status
from townsquare.storage import statuses as status_store
from townsquare.storage.db import Database, migrate

PG = "postgresql://postgres@127.0.0.1:5432"


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed(db: Database, voters: int) -> tuple[dict[str, list[int]], int, list]:
    async with db.write() as conn:
        author = await create_account(conn, "author", "author@example.org", "bench password")
        reader = await create_account(conn, "reader", "reader@example.org", "bench password")
        people = [await create_account(conn, f"v{i}", f"v{i}@example.org", "bench password") for i in range(voters)]
        kw = dict(base_url="http://bench.local", domain="bench.local", max_chars=500)
        plain = [await post_status(conn, author, Draft(text=f"plain {i}"), **kw) for i in range(40)]
        polled = [await post_status(conn, author, Draft(text=f"poll {i}", poll=poll_service.PollDraft(
            ["a", "b", "c"], 3600)), **kw) for i in range(40)]
        quoting = [await post_status(conn, people[i % voters], Draft(text=f"quote {i}", quoted_status_id=plain[i]), **kw)
                   for i in range(40)]
    async with db.write() as conn:
        for sid in polled:
            status = await status_store.get_visible(conn, sid, None)
            for voter in people[:10]:
                await poll_service.vote(conn, voter, status, [hash((sid, voter.id)) % 3])
    return {"plain": plain, "poll": polled, "quote": quoting}, reader.id, people


async def _page_cost(db: Database, ids: list[int], viewer_id: int, rounds: int) -> tuple[float, int]:
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        async with db.read() as conn:
            await status_store.load_visible(conn, ids, viewer_id)
        times.append(time.perf_counter() - start)
    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    async with db.read() as conn:
        await status_store.load_visible(conn, ids, viewer_id)
    event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    return statistics.median(times) * 1000, statements


async def _votes_per_second(db: Database, people: list, count: int) -> float:
    async with db.write() as conn:
        author = people[0]
        sid = await post_status(conn, author, Draft(text="big poll", poll=poll_service.PollDraft(["x", "y"], 3600)),
                                base_url="http://bench.local", domain="bench.local", max_chars=500)
    voters = []
    async with db.write() as conn:
        for i in range(count):
            voters.append(await create_account(conn, f"w{i}", f"w{i}@example.org", "bench password"))
    start = time.perf_counter()
    for voter in voters:
        async with db.write() as conn:
            status = await status_store.get_visible(conn, sid, voter.id)
            await poll_service.vote(conn, voter, status, [voter.id % 2])
    return count / (time.perf_counter() - start)


async def run(backend: str, rounds: int, votes: int) -> None:
    name = None
    if backend == "postgres":
        name = f"bench_polls_{uuid.uuid4().hex[:8]}"
        await _pg(f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    try:
        await asyncio.to_thread(migrate, url)
        db = Database(url)
        try:
            pages, reader, people = await _seed(db, 12)
            print(f"backend: {backend}, {rounds} rounds per page of 20 statuses (viewer: a reader)")
            for kind, ids in pages.items():
                ms, statements = await _page_cost(db, ids[:20], reader, rounds)
                print(f"  {kind:6} page: median {ms:6.2f} ms, {statements} SQL statements")
            print(f"  votes: {await _votes_per_second(db, people, votes):.0f} per second ({votes} voters, one transaction each)")
        finally:
            await db.dispose()
    finally:
        if name:
            await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--votes", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(run(args.backend, args.rounds, args.votes))


if __name__ == "__main__":
    main()
