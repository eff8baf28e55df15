"""Rate limits on Redis hold across two real `townsquare serve` processes sharing one key prefix."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid

import httpx

from tests.conftest import BACKEND, PG_ADMIN_URL, _pg_admin
from tests.e2e.conftest import _free_port, _townsquare_cmd

REDIS_URL = "redis://127.0.0.1:6379/0"


def _wait_up(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, f"server exited: {log.read_text()}"
        try:
            if httpx.get(f"{url}/.well-known/nodeinfo", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"server did not start: {log.read_text()}"
        time.sleep(0.1)


def test_two_processes_share_the_limits(tmp_path):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(TOWNSQUARE_REDIS_URL=REDIS_URL, TOWNSQUARE_REDIS_PREFIX=f"test-{uuid.uuid4().hex}:",
               TOWNSQUARE_RATE_LIMIT_UNAUTHENTICATED="6/1d", TOWNSQUARE_DOMAIN="127.0.0.1")
    pg_name = None
    if BACKEND == "postgres":
        pg_name = f"townsquare_rl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{pg_name}"'))
        env["TOWNSQUARE_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{pg_name}"
    subprocess.run([*_townsquare_cmd(), "migrate", "--data-dir", str(data_dir)], env=env, check=True, timeout=120,
                   capture_output=True)
    processes, urls = [], []
    try:
        for n in range(2):
            port = _free_port()
            log = tmp_path / f"server{n}.log"
            processes.append(subprocess.Popen([*_townsquare_cmd(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
                                              env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
            _wait_up(urls[-1], processes[-1], log)
        answers = [httpx.get(f"{urls[n % 2]}/api/v1/instance", timeout=10) for n in range(8)]
        assert [r.status_code for r in answers] == [200] * 6 + [429] * 2
        assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["5", "4", "3", "2", "1", "0", "0", "0"]
        assert all(r.headers["x-ratelimit-limit"] == "6" for r in answers)
        assert int(answers[-1].headers["retry-after"]) > 0 and answers[-1].json() == {"error": "Too many requests"}
        # Another client address (through the trusted loopback proxy) has its own count on both processes.
        other = httpx.get(f"{urls[1]}/api/v1/instance", headers={"X-Forwarded-For": "198.51.100.4"}, timeout=10)
        assert other.status_code == 200 and other.headers["x-ratelimit-remaining"] == "5"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        if pg_name:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    for n in range(2):
        assert "Traceback" not in (tmp_path / f"server{n}.log").read_text()
