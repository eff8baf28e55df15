"""End-to-end fixtures: a real `townsquare serve` process on a free loopback port, and accounts made with the CLI."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND, PG_ADMIN_URL, REDIS_URL, RELAXED_LIMITS, _drop_redis_prefix, _pg_admin

VENV_BIN = Path(sys.executable).parent
# The multi-process scale-out test needs PostgreSQL and Redis: it belongs to the PostgreSQL run only.
# The PostgreSQL run keeps the end-to-end files whose behaviour depends on the database or Redis (scale-out,
# faults, shared rate limits) and the real clients of each feature; the browser, audio, CLI and streaming-protocol
# files drive code that is the same on both databases and run once, on the embedded default (the readers and
# services they reach are covered on both databases by the API tests). This keeps CI within its time.
SQLITE_ONLY = ["test_web_browser.py", "test_web_a11y.py", "test_cors_browser.py", "test_spaces_audio.py",
               "test_faults_rooms.py", "test_spaces_rooms_cli.py", "test_streaming_clients.py", "test_toot_cli.py",
               "test_admin_cli.py", "test_cli.py", "test_media_nginx.py", "test_mastodon_py_admin.py",
               "test_web_spaces.py", "test_spaces_nginx.py"]
collect_ignore = SQLITE_ONLY if BACKEND == "postgres" else ["test_scale_out.py"]
PASSWORD = "correct horse battery staple"
POOL_SIZE = 22  # accounts made ahead of time, in the background, while the server runs
_serial = count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _townsquare_cmd() -> list[str]:
    exe = VENV_BIN / "townsquare"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "townsquare.cli"]


def _cli_create(data_dir: Path, env: dict, prefix: str = "user") -> tuple[str, str, str]:
    """Create an approved account with `townsquare accounts create`; return (id, username, email)."""
    username = f"{prefix}{next(_serial)}_{uuid.uuid4().hex[:5]}"[:30]
    email = f"{username}@example.org"
    out = subprocess.run(
        [*_townsquare_cmd(), "accounts", "create", username, "--email", email, "--password", PASSWORD,
         "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    account_id = out.stdout.strip().splitlines()[-1]
    assert account_id.isdigit(), out.stdout
    return account_id, username, email


@dataclass
class LiveServer:
    """A running server process and how to reach it."""

    url: str
    port: int
    data_dir: Path
    env: dict
    process: subprocess.Popen
    tmp: Path
    early_account: tuple[str, str, str]
    pool: list[Future] = field(default_factory=list)

    def create_account(self, prefix: str = "user") -> tuple[str, str, str]:
        """Return a fresh account made by the CLI: one from the background pool, or a new one."""
        if self.pool:
            return self.pool.pop(0).result()
        return _cli_create(self.data_dir, self.env, prefix)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Start `townsquare serve` as a subprocess (SQLite, or a fresh PostgreSQL database) and stop it at the end."""
    tmp = tmp_path_factory.mktemp("e2e")
    data_dir = tmp / "data"
    data_dir.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(TOWNSQUARE_DOMAIN=f"127.0.0.1:{port}", TOWNSQUARE_LOG_LEVEL="warning")
    env.update({f"TOWNSQUARE_{k.upper()}": v for k, v in RELAXED_LIMITS.items()})
    # Link cards may be read from the tests' loopback pages; trends refresh every second and start at 2 accounts.
    env.update(TOWNSQUARE_LINK_CARDS_ALLOW_PRIVATE="127.0.0.1/32", TOWNSQUARE_TRENDS_REFRESH_SECONDS="1",
               TOWNSQUARE_TRENDS_THRESHOLD="2")
    env["TOWNSQUARE_PUSH_ALLOW_PRIVATE_ADDRESSES"] = "true"  # the Web Push receiver of the tests is on loopback
    pg_name = None
    if BACKEND == "postgres":
        pg_name = f"townsquare_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{pg_name}"'))
        env["TOWNSQUARE_DATABASE_URL"] = (
            PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{pg_name}")
        # The PostgreSQL run is the scale-out mode: feeds and the event bus live in Redis.
        env["TOWNSQUARE_REDIS_URL"] = REDIS_URL
        env["TOWNSQUARE_REDIS_PREFIX"] = f"tse2e:{pg_name}:"
    early = _cli_create(data_dir, env, "early")  # made before the server exists: the CLI migrates the database
    log = open(tmp / "server.log", "wb")
    process = subprocess.Popen(
        [*_townsquare_cmd(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {(tmp / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/api/v1/instance", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(tmp / 'server.log').read_text()}")
            time.sleep(0.1)
        with ThreadPoolExecutor(max_workers=2) as workers:
            pool = [workers.submit(_cli_create, data_dir, env) for _ in range(POOL_SIZE)]
            try:
                yield LiveServer(url=url, port=port, data_dir=data_dir, env=env, process=process, tmp=tmp,
                                 early_account=early, pool=pool)
            finally:
                for future in pool:
                    future.cancel()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        text = (tmp / "server.log").read_text(errors="replace")
        if pg_name:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            _drop_redis_prefix(f"tse2e:{pg_name}:")
        # An unhandled exception in the server is a bug even when every client call looked fine.
        assert "Traceback" not in text, text


def wait_for(predicate, timeout: float = 3.0, interval: float = 0.05):
    """Poll predicate() until it returns a truthy value or the timeout passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
