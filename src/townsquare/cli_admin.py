"""`townsquare admin ...`: moderation from the command line, acting as the system moderator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

import typer

from townsquare.cli_common import DataDir, run_refusable, settings_for

admin_app = typer.Typer(help="Moderate accounts (logged in the audit log as `system`).", no_args_is_help=True)
Reason = typer.Option("", "--reason", help="Why: shown to the account and kept in the audit log.")
Category = typer.Option("other", "--category", help="Reason category: spam, legal, violation or other.")


def _run(data_dir: Optional[Path], work):
    """Run `work(conn, ctx)` in one transaction; a refused change prints its reason and exits 1."""
    return run_refusable(_with_context(settings_for(data_dir), work))


async def _with_context(settings, work):
    from townsquare.storage.db import migrate
    from townsquare.wiring import build_context

    await asyncio.to_thread(migrate, settings.effective_database_url)
    ctx = build_context(settings)
    try:
        async with ctx.db.write() as conn:
            return await work(conn, ctx)
    finally:
        await ctx.bus.close()
        await ctx.db.dispose()


async def _target(conn, username: str):
    from townsquare.core.errors import ApiError
    from townsquare.storage import accounts as account_store

    account = await account_store.by_username(conn, username)
    if account is None:
        raise ApiError(404, f"no account named {username}")
    return account


def _sanction(kind: str, name: str | None = None):
    def command(username: str, reason: str = Reason, category: str = Category, data_dir: Optional[Path] = DataDir) -> None:
        from townsquare.moderation import sanctions

        async def work(conn, ctx):
            target = await _target(conn, username)
            await sanctions.take_action(conn, None, target, kind, text=reason, category=category,
                                        retention_days=ctx.settings.suspended_retention_days)

        _run(data_dir, work)
        typer.echo(f"{kind} {username}: done")

    command.__doc__ = f"Apply `{kind}` to an account, warning it with the reason."
    admin_app.command(name or kind)(command)


def _lift(verb: str):
    def command(username: str, reason: str = Reason, data_dir: Optional[Path] = DataDir) -> None:
        from townsquare.moderation import sanctions

        async def work(conn, ctx):
            await sanctions.lift(conn, None, await _target(conn, username), verb, reason)

        _run(data_dir, work)
        typer.echo(f"{verb} {username}: done")

    command.__doc__ = f"Lift a sanction: {verb} an account."
    admin_app.command(verb)(command)


for _kind in ("suspend", "silence", "disable", "sensitive"):
    _sanction(_kind)
_sanction("none", "warn")
for _verb in ("unsuspend", "unsilence", "enable", "unsensitive"):
    _lift(_verb)


@admin_app.command("log")
def log(limit: int = typer.Option(40, "--limit"), data_dir: Optional[Path] = DataDir) -> None:
    """Print the audit log, newest first: when, who, action, target, category, reason."""
    from townsquare.core.clock import iso
    from townsquare.moderation import audit
    from townsquare.storage.tables import action_logs

    async def work(conn, ctx):
        return (await conn.execute(audit.page_query().order_by(action_logs.c.id.desc()).limit(limit))).all()

    for row in _run(data_dir, work):
        target = row.target_handle or (str(row.target_id) if row.target_id else "")
        typer.echo(f"{iso(row.created_at)}\t{row.actor}\t{row.action}\t{row.target_type}:{target}\t{row.category}\t{row.reason}")


@admin_app.command("purge-expired")
def purge_expired(data_dir: Optional[Path] = DataDir) -> None:
    """Purge accounts suspended for longer than TOWNSQUARE_SUSPENDED_RETENTION_DAYS (nothing when unset)."""
    from townsquare.moderation import purge

    async def work(conn, ctx):
        return await purge.purge_expired(conn, ctx.feeds, ctx.settings.suspended_retention_days)

    done = _run(data_dir, work)
    typer.echo(f"purged {len(done)} account(s){': ' + ', '.join(done) if done else ''}")
