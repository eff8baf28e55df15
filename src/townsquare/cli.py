"""The `townsquare` command: serve, migrate, and account administration."""

from __future__ import annotations

import errno
import gc
import os
from pathlib import Path
from typing import Optional

import typer

from townsquare import cli_ops
from townsquare.cli_admin import admin_app
from townsquare.cli_common import DataDir, run_db, settings_for
from townsquare.spaces import cli_rooms
from townsquare.spaces.audio.cli_speak import speak

app = typer.Typer(help="Townsquare: a self-hostable social platform speaking the Mastodon API.", no_args_is_help=True)
accounts_app = typer.Typer(help="Create accounts and tokens.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
spaces_app = typer.Typer(help="Live audio rooms (Spaces).", no_args_is_help=True)
app.add_typer(spaces_app, name="spaces")
spaces_app.command("speak")(speak)
for _name in ("create", "start", "end", "invite", "show"):
    spaces_app.command(_name)(getattr(cli_rooms, _name))


# Streaming frames go out uncompressed, as Mastodon's streaming server sends them: per-message deflate costs a
# zlib pass per subscriber per event (each connection has its own compression context), for events of a few KB.
SERVE_OPTIONS = {"ws_per_message_deflate": False}


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, the app, its tables) out of the garbage collector's sight.

    They live as long as the process; without this every full collection walks them all again (~370,000
    objects, ~0.4 s on a busy 2-core box, bench/streaming.py), pausing every request and stream meanwhile.
    """
    gc.collect()
    gc.freeze()


@app.command()
def serve(
    host: str = typer.Option(None, "--host", help="Interface to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port to listen on (default 8000)."),
    data_dir: Optional[Path] = DataDir,
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes sharing the port (PostgreSQL only)."),
) -> None:
    """Run the server (migrating the database first)."""
    import uvicorn

    from townsquare.main import create_app
    from townsquare.storage.startup import StartupFailed, prepare_storage

    settings = settings_for(data_dir, host, port)
    if workers > 1 and settings.effective_database_url.startswith("sqlite"):
        typer.echo("--workers needs the scale-out mode: set TOWNSQUARE_DATABASE_URL to PostgreSQL "
                   "(and TOWNSQUARE_REDIS_URL); SQLite serves from one process.", err=True)
        raise typer.Exit(2)
    try:  # the secret key and migrations; on a full disk the server starts read-only rather than crash
        writable = prepare_storage(settings)
    except StartupFailed as exc:
        typer.echo(f"cannot start: {exc}", err=True)
        raise typer.Exit(2) from None
    if not writable:
        typer.echo("storage is full: serving read-only until space is freed", err=True)
    # Take the port before saying where the server runs: a port in use is a clear message, not a URL and a trace.
    sock = _listen(settings.host, settings.port)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    typer.echo(f"Townsquare is running at http://{shown}:{settings.port} (public URL {settings.base_url})")
    options = dict(host=settings.host, port=settings.port, log_level=os.environ.get("TOWNSQUARE_LOG_LEVEL", "warning"),
                   proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies, access_log=False, **SERVE_OPTIONS)
    if workers > 1:
        # uvicorn binds the port anew for its worker processes; each builds its own app from the environment.
        sock.close()
        os.environ.update(TOWNSQUARE_HOST=settings.host, TOWNSQUARE_PORT=str(settings.port),
                          TOWNSQUARE_DATA_DIR=str(settings.data_dir), TOWNSQUARE_SECRET_KEY=settings.effective_secret_key)
        uvicorn.run("townsquare.main:app_from_environment", factory=True, workers=workers, **options)
    else:
        app = create_app(settings, run_migrations=False)
        if not writable:
            app.state.ctx.db.health.failed("storage was full at start-up")
        server = uvicorn.Server(uvicorn.Config(app, **options))
        freeze_startup_objects()
        server.run(sockets=[sock])


def _listen(host: str, port: int):
    """A listening socket on host:port, or exit 2 saying why it cannot be had."""
    import socket

    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=2048)
    except OSError as exc:
        hint = " (another program has it; pick a free one with --port)" if exc.errno == errno.EADDRINUSE else ""
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        typer.echo(f"cannot listen on {host}:{port}: {reason}{hint}", err=True)
        raise typer.Exit(2) from None


@app.command("migrate")
def migrate_cmd(data_dir: Optional[Path] = DataDir) -> None:
    """Bring the database schema up to date."""
    from townsquare.storage.db import migrate

    settings = settings_for(data_dir)
    migrate(settings.effective_database_url)
    typer.echo("database is up to date")


@accounts_app.command("create")
def accounts_create(
    username: str,
    email: str = typer.Option(..., "--email"),
    password: str = typer.Option(..., "--password"),
    admin: bool = typer.Option(False, "--admin", help="Make the account an administrator."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Create an approved account and print its id."""
    from townsquare.services.accounts import create_account

    async def work(conn):
        return await create_account(conn, username, email, password, role="admin" if admin else "user", allow_reserved=True)

    account = run_db(data_dir, work)
    typer.echo(str(account.id))


@accounts_app.command("token")
def accounts_token(
    username: str,
    scopes: str = typer.Option("read write follow", "--scopes"),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Print a new bearer token for an account (for scripts)."""
    from townsquare.core.errors import ApiError
    from townsquare.services import auth
    from townsquare.storage import accounts as account_store

    async def work(conn):
        account = await account_store.by_username(conn, username)
        if account is None:
            raise ApiError(404, f"no account named {username}")
        app_row = await auth.app_by_client_id(conn, "townsquare-cli")
        if app_row is None:
            from sqlalchemy import update

            from townsquare.storage.tables import oauth_apps

            row = await auth.create_app(conn, "townsquare CLI", [auth.OOB], sorted(auth.ALL_SCOPES), None)
            await conn.execute(update(oauth_apps).where(oauth_apps.c.id == row["id"]).values(client_id="townsquare-cli"))
            app_id = row["id"]
        else:
            app_id = app_row.id
        secret, _ = await auth.issue_token(conn, app_id, account.id, auth.parse_scopes(scopes))
        return secret

    token = run_db(data_dir, work)
    typer.echo(token)


@accounts_app.command("approve")
def accounts_approve(username: str, data_dir: Optional[Path] = DataDir) -> None:
    """Approve an account that signed up while registrations needed approval (logged in the audit log)."""
    from townsquare.core.errors import ApiError
    from townsquare.moderation import sanctions
    from townsquare.storage import accounts as account_store

    async def work(conn):
        account = await account_store.by_username(conn, username)
        if account is None:
            raise ApiError(404, f"no account named {username}")
        return await sanctions.approve(conn, None, account)

    account = run_db(data_dir, work)
    typer.echo(f"approved {account.username} ({account.id})")


@accounts_app.command("pending")
def accounts_pending(data_dir: Optional[Path] = DataDir) -> None:
    """List sign-ups waiting for approval, with the reason they gave."""
    from sqlalchemy import select

    from townsquare.storage.tables import accounts

    async def work(conn):
        query = select(accounts.c.username, accounts.c.email, accounts.c.registration_reason).where(accounts.c.approved.is_(False))
        return (await conn.execute(query.order_by(accounts.c.id))).all()

    for row in run_db(data_dir, work):
        typer.echo(f"{row.username}\t{row.email}\t{row.registration_reason or ''}")


cli_ops.register(app)
app.add_typer(admin_app, name="admin")

if __name__ == "__main__":
    app()
