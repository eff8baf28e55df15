"""Helpers of the fault tests: servers started and killed for real, accounts made over the API, posting storms."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import BACKEND, PG_ADMIN_URL, REDIS_URL, RELAXED_LIMITS, _drop_redis_prefix, _pg_admin
from tests.e2e.conftest import _free_port, _townsquare_cmd


@dataclass
class Node:
    """Where a test's server keeps its data, the environment it runs with, and its current process."""

    tmp: Path
    data_dir: Path
    env: dict
    port: int
    pg_url: str | None = None
    prefix: str | None = None
    process: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *args: str, label: str = "serve", wait: bool = True) -> subprocess.Popen:
        """Start `townsquare serve` (or another command) with this node's settings."""
        log = self.tmp / f"{label}-{len(self.logs)}.log"
        self.logs.append(log)
        cmd = [*_townsquare_cmd(), *(args or ("serve", "--port", str(self.port))), "--data-dir", str(self.data_dir)]
        proc = subprocess.Popen(cmd, env=self.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        if args == () or args[0] == "serve":
            self.process = proc
            if wait:
                self.wait_up(proc, log)
        return proc

    def wait_up(self, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
        """Wait until the server answers /api/v1/instance."""
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/api/v1/instance", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self, proc: subprocess.Popen | None = None) -> None:
        """Stop a process gently (SIGTERM), killing it if it lingers."""
        proc = proc or self.process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def sql(self, query: str, *args):
        """Run one query on the node's database from outside the server (SQLite file or PostgreSQL)."""
        if self.pg_url is None:
            import sqlite3

            conn = sqlite3.connect(f"file:{self.data_dir / 'townsquare.sqlite3'}?mode=ro", uri=True, timeout=10)
            try:
                return conn.execute(query.replace("$1", "?"), args).fetchall()
            finally:
                conn.close()

        async def run():
            import asyncpg

            conn = await asyncpg.connect(self.pg_url)
            try:
                return [tuple(r) for r in await conn.fetch(query, *args)]
            finally:
                await conn.close()
        return asyncio.run(run())

    def log_text(self) -> str:
        """Everything the node's processes printed."""
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


@contextmanager
def node(tmp: Path, data_dir: Path | None = None, **settings: str):
    """A place to run servers: a data dir, and on the PostgreSQL backend a fresh database and Redis prefix."""
    data_dir = data_dir or tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(TOWNSQUARE_DOMAIN=f"127.0.0.1:{port}", TOWNSQUARE_LOG_LEVEL="warning", TOWNSQUARE_SECRET_KEY="faults")
    env.update({f"TOWNSQUARE_{k.upper()}": v for k, v in RELAXED_LIMITS.items()})
    env.update({f"TOWNSQUARE_{k.upper()}": v for k, v in settings.items()})
    n = Node(tmp=tmp, data_dir=data_dir, env=env, port=port)
    name = None
    if BACKEND == "postgres":
        name = f"townsquare_faults_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        n.pg_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        n.prefix = f"tsfaults:{name}:"
        env.update(TOWNSQUARE_DATABASE_URL=n.pg_url.replace("postgresql://", "postgresql+asyncpg://"),
                   TOWNSQUARE_REDIS_URL=REDIS_URL, TOWNSQUARE_REDIS_PREFIX=n.prefix)
    try:
        yield n
    finally:
        for proc in [n.process]:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        if name:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            _drop_redis_prefix(n.prefix)


def register(url: str, username: str) -> tuple[str, dict]:
    """Sign up over the Mastodon API (app, client token, account); return the account id and auth headers."""
    app = httpx.post(f"{url}/api/v1/apps", data={"client_name": "faults", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                  "scopes": "read write follow"}, timeout=30).json()
    client = httpx.post(f"{url}/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                    "client_secret": app["client_secret"], "scope": "read write follow"},
                        timeout=30).json()
    r = httpx.post(f"{url}/api/v1/accounts", headers={"Authorization": f"Bearer {client['access_token']}"}, timeout=30,
                   data={"username": username, "email": f"{username}@example.org", "password": "correct horse battery staple",
                         "agreement": "true", "locale": "en"})
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = httpx.get(f"{url}/api/v1/accounts/verify_credentials", headers=headers, timeout=30).json()
    return me["id"], headers


def home_ids(url: str, headers: dict) -> set[str]:
    """Every status id in a home timeline, paged through with max_id."""
    ids: set[str] = set()
    max_id = None
    for _ in range(50):
        params = {"limit": "40", **({"max_id": max_id} if max_id else {})}
        r = httpx.get(f"{url}/api/v1/timelines/home", headers=headers, params=params, timeout=30)
        assert r.status_code in (200, 206), r.text
        page = [s["id"] for s in r.json()]
        if not page:
            break
        ids.update(page)
        max_id = page[-1]
    return ids


class Storm:
    """Threads posting statuses as fast as the server takes them; records acknowledged ids and error statuses."""

    def __init__(self, url: str, headers: dict, threads: int = 6, limit: int = 400):
        self.url, self.headers, self.limit = url, headers, limit
        self.acked: list[str] = []
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._post, daemon=True) for _ in range(threads)]

    def _post(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                with self._lock:
                    n = len(self.statuses) + len(self.failures)
                    if n >= self.limit:
                        return
                try:
                    r = client.post(f"{self.url}/api/v1/statuses", headers=self.headers, data={"status": f"storm {n}"})
                except httpx.TransportError as exc:
                    with self._lock:
                        self.failures.append(type(exc).__name__)
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self.statuses.append(r.status_code)
                    if r.status_code == 200:
                        self.acked.append(r.json()["id"])

    def start(self) -> "Storm":
        """Start posting."""
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop posting and wait for the threads."""
        self._stop.set()
        for t in self._threads:
            t.join(30)


def wait_until(predicate, timeout: float, interval: float = 0.1):
    """Poll predicate() until truthy or timeout; return (value, seconds waited)."""
    start = time.monotonic()
    while True:
        value = predicate()
        elapsed = time.monotonic() - start
        if value or elapsed > timeout:
            return value, elapsed
        time.sleep(interval)
