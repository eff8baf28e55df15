"""Getting storage ready before serving: the secret key, migrations and the reserve, even on a full disk."""

from __future__ import annotations

import logging

from townsquare.config import Settings
from townsquare.storage.db import migrate
from townsquare.storage.faults import storage_failure
from townsquare.storage.writable import ensure_reserve, release_reserve

log = logging.getLogger("townsquare.storage")


class StartupFailed(Exception):
    """The server cannot start, with a sentence saying why and what to do."""


def _schema_is_current(url: str) -> bool:
    """Whether the database is already at the newest migration (read only)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from townsquare.storage.db import alembic_config

    if url.startswith("sqlite"):
        engine = create_engine(url.replace("+aiosqlite", ""))
        try:
            with engine.connect() as conn:
                revision = MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()
    else:
        import asyncio

        from sqlalchemy.ext.asyncio import create_async_engine

        async def current() -> str | None:
            engine = create_async_engine(url)
            try:
                async with engine.connect() as conn:
                    return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
            finally:
                await engine.dispose()
        revision = asyncio.run(current())
    return revision == ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _with_reserve(settings: Settings, step, what: str):
    """Run a start-up step; on a full disk release the reserve and try once more."""
    try:
        return step()
    except Exception as exc:
        if storage_failure(exc) is None or not release_reserve(settings.data_dir):
            raise
        log.warning("%s failed on a full disk (%s); trying again with the reserve released", what, exc)
        return step()


def prepare_storage(settings: Settings) -> bool:
    """Create the secret key and migrate; return False when the server must start read-only (disk full)."""
    try:
        _with_reserve(settings, lambda: settings.effective_secret_key, "creating the secret key")
        # Likewise the Web Push key, before several workers race to make it.
        _with_reserve(settings, lambda: settings.effective_vapid_private_key, "creating the Web Push key")
    except OSError as exc:
        raise StartupFailed(f"cannot create the secret key in {settings.data_dir}: {exc.strerror or exc}; "
                            "free some space (or set TOWNSQUARE_SECRET_KEY) and start again") from None
    url = settings.effective_database_url
    try:
        _with_reserve(settings, lambda: migrate(url), "migrating the database")
    except Exception as exc:
        full = storage_failure(exc)
        if full is None:
            raise
        try:
            current = _schema_is_current(url)
        except Exception as again:
            raise StartupFailed(f"the database cannot be opened: {full.reason}; free some space and start again") from again
        if not current:
            raise StartupFailed(f"the database needs migrating but storage is full ({full.reason}); "
                                "free some space and start again") from None
        log.warning("storage is full (%s): starting read-only; writes resume once space is freed", full.reason)
        return False
    ensure_reserve(settings.data_dir, settings.storage_reserve_bytes)
    return True
