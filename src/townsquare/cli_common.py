"""What every `townsquare` command module shares: the settings it runs with and a database transaction.

The CLI modules form a tree: `cli` (the root command) imports `cli_admin` and `cli_ops`, and all three
import this module, which imports none of them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import typer

from townsquare.config import Settings

DataDir = typer.Option(None, "--data-dir", help="Where the SQLite database and secret key live (TOWNSQUARE_DATA_DIR).")


def settings_for(data_dir: Optional[Path] = None, host: Optional[str] = None, port: Optional[int] = None) -> Settings:
    """The settings from the environment (TOWNSQUARE_*), with the command line's options on top."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    return Settings(**overrides)


async def with_db(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Migrate, then run `work(conn)` in one write transaction on a database opened for it alone."""
    from townsquare.storage.db import Database, migrate

    await asyncio.to_thread(migrate, settings.effective_database_url)
    db = Database(settings.effective_database_url)
    changes = None
    if settings.redis_url and not db.is_sqlite:  # the servers' page caches must hear of the change (storage/changes)
        from townsquare.storage.changes import SharedChanges

        changes = SharedChanges(settings.redis_url, settings.redis_prefix)
        db.on_change = changes.bump
    try:
        async with db.write() as conn:
            return await work(conn)
    finally:
        await db.dispose()
        if changes is not None:
            await changes.close()


def run_db(data_dir: Optional[Path], work: Callable[[Any], Awaitable[Any]]) -> Any:
    """`with_db` on the command's settings, a refused change printing its reason and exiting 1."""
    return run_refusable(with_db(settings_for(data_dir), work))


def run_refusable(coro: Awaitable[Any]) -> Any:
    """Run a command's coroutine; a change the services refuse prints its reason and exits 1."""
    from townsquare.core.errors import ApiError

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except ApiError as exc:
        typer.echo(exc.error, err=True)
        raise typer.Exit(1) from None
