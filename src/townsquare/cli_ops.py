"""Operations commands: `townsquare worker`, `townsquare jobs ...` and `townsquare bench seed-followers`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Optional

import typer

from townsquare.cli_common import DataDir, run_db, settings_for
from townsquare.config import Settings

jobs_app = typer.Typer(help="Inspect and retry background jobs.", invoke_without_command=True)
bench_app = typer.Typer(help="Load-test helpers: seed data in bulk.", no_args_is_help=True)


def worker(
    data_dir: Optional[Path] = DataDir,
    batch: int = typer.Option(20, "--batch", help="Jobs claimed per round."),
) -> None:
    """Run background jobs (fan-out, feed regeneration, notifications) until stopped with SIGTERM or Ctrl-C."""
    logging.basicConfig(level=os.environ.get("TOWNSQUARE_LOG_LEVEL", "WARNING").upper())
    settings = settings_for(data_dir)
    asyncio.run(_work(settings, batch))


async def _work(settings: Settings, batch: int) -> None:
    from townsquare.jobs.handlers import HANDLERS
    from townsquare.jobs.runner import JobRunner
    from townsquare.storage.db import migrate
    from townsquare.wiring import build_context, periodic_jobs

    await asyncio.to_thread(migrate, settings.effective_database_url)
    ctx = build_context(settings.model_copy(update={"run_jobs_in_process": False}))
    runner = JobRunner(ctx.db, HANDLERS, ctx, batch=batch, periodic=periodic_jobs(settings),
                       stale_after=timedelta(seconds=settings.job_lease_seconds))
    ctx.jobs = runner
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Servers announce new job rows on the bus, so a worker starts at once instead of at its next poll.
    wakeups = await ctx.bus.subscribe(["jobs"])

    async def listen() -> None:
        async for _ in wakeups:
            runner.wake()

    listener = asyncio.create_task(listen())
    runner.start()
    typer.echo(f"townsquare worker {os.getpid()} running jobs from {_safe_url(settings.effective_database_url)}")
    await stop.wait()
    await runner.stop()
    listener.cancel()
    await wakeups.close()
    await ctx.bus.close()
    await ctx.feeds.close()
    await ctx.db.dispose()


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


@jobs_app.callback()
def jobs_summary(ctx: typer.Context, data_dir: Optional[Path] = DataDir) -> None:
    """Show job counts by queue, kind and state, and the parked (failed) jobs with their last error."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy import func, select

    from townsquare.storage.tables import jobs

    async def work(conn):
        counts = (await conn.execute(
            select(jobs.c.queue, jobs.c.kind, jobs.c.state, func.count(), func.min(jobs.c.created_at))
            .group_by(jobs.c.queue, jobs.c.kind, jobs.c.state).order_by(jobs.c.queue, jobs.c.kind, jobs.c.state))).all()
        failed = (await conn.execute(
            select(jobs.c.id, jobs.c.kind, jobs.c.attempts, jobs.c.last_error).where(jobs.c.state == "failed")
            .order_by(jobs.c.id).limit(50))).all()
        return counts, failed

    counts, failed = run_db(data_dir, work)
    typer.echo("queue\tkind\tstate\tcount\toldest")
    for queue, kind, state, count, oldest in counts:
        typer.echo(f"{queue}\t{kind}\t{state}\t{count}\t{oldest}")
    if not counts:
        typer.echo("(no jobs waiting)")
    if failed:
        typer.echo("\nparked after repeated failures:")
        for row in failed:
            error = (row.last_error or "").strip().splitlines()
            typer.echo(f"{row.id}\t{row.kind}\tattempts={row.attempts}\t{error[-1] if error else ''}")


@jobs_app.command("retry")
def jobs_retry(job_id: Optional[int] = typer.Argument(None, help="One parked job; all parked jobs when omitted."),
               data_dir: Optional[Path] = DataDir) -> None:
    """Put parked jobs back in the queue with a fresh attempt count."""
    from sqlalchemy import update

    from townsquare.core.clock import now
    from townsquare.storage.tables import jobs

    async def work(conn):
        query = update(jobs).where(jobs.c.state == "failed")
        if job_id is not None:
            query = query.where(jobs.c.id == job_id)
        result = await conn.execute(query.values(state="ready", attempts=0, run_at=now(), locked_at=None))
        return result.rowcount or 0

    typer.echo(f"{run_db(data_dir, work)} job(s) queued again")


@bench_app.command("seed-followers")
def seed_followers(
    username: str,
    count: int = typer.Option(..., "--count", min=1, help="How many follower accounts to create."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Create COUNT accounts USERNAME_f1..USERNAME_fN that follow USERNAME and count as recently active."""
    from rich.progress import Progress

    started = time.perf_counter()
    with Progress(transient=True) as progress:
        task = progress.add_task(f"seeding followers of {username}", total=count)
        made = run_db(data_dir, lambda conn: _seed(conn, username, count, lambda n: progress.advance(task, n)))
    typer.echo(f"created {made} followers of {username} in {time.perf_counter() - started:.1f} s")


async def _seed(conn, username: str, count: int, advance) -> int:
    from sqlalchemy import select, update

    from townsquare.core.clock import now
    from townsquare.core.errors import ApiError
    from townsquare.core.ids import new_id
    from townsquare.storage import accounts as account_store
    from townsquare.storage.tables import accounts, follows

    target = await account_store.by_username(conn, username)
    if target is None:
        raise ApiError(404, f"no account named {username}")
    prefix = f"{username.lower()}_f"
    existing = {r[0] for r in await conn.execute(
        select(accounts.c.username_lower).where(accounts.c.username_lower.like(prefix + "%")))}
    stamp = now()
    made = 0
    chunk = 5000
    for start in range(1, count + 1, chunk):
        people, links = [], []
        for i in range(start, min(start + chunk, count + 1)):
            name = f"{username}_f{i}"
            if name.lower() in existing:
                continue
            aid = new_id()
            people.append(dict(
                id=aid, username=name, username_lower=name.lower(), display_name="", note="", locked=False, bot=True,
                discoverable=False, fields=[], email=f"{name.lower()}@bench.invalid", password_hash="!", role="user",
                approved=True, registration_reason=None, locale=None, default_visibility="public",
                default_sensitive=False, statuses_count=0, followers_count=0, following_count=1, created_at=stamp,
                last_active_at=stamp))
            links.append(dict(id=new_id(), account_id=aid, target_account_id=target.id, show_reblogs=True, notify=False,
                              languages=None, created_at=stamp))
        if people:
            await conn.execute(accounts.insert(), people)
            await conn.execute(follows.insert(), links)
            made += len(people)
        advance(min(chunk, count + 1 - start))
    await conn.execute(update(accounts).where(accounts.c.id == target.id)
                       .values(followers_count=accounts.c.followers_count + made))
    return made


def register(app: typer.Typer) -> None:
    """Add the operations commands to the main CLI."""
    app.command("worker")(worker)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(bench_app, name="bench")
