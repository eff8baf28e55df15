"""Benchmark: join storm on a live Space; joins per second and latency percentiles at a given concurrency.

Usage: .venv/bin/python bench/join_storm.py [--concurrency 256] [--seconds 10] [--processes 2]
                                            [--auth] [--redis redis://127.0.0.1:6379/0]
Starts a real `townsquare serve` on a free loopback port (SQLite in a temp dir, shedding off),
creates and starts a room, then N keep-alive connections spread over P load processes POST
/api/v1/spaces/ID/join as fast as they can. --auth joins with a bearer token (one token lookup per join);
--redis puts presence in Redis (a random key prefix, removed at the end). Prints one summary line,
including the server's CPU time per join (a figure that holds up when other work shares the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from townsquare.config import Settings
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage.db import Database, migrate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _seed(settings: Settings) -> str:
    """Create the host account and return a token for it."""
    db = Database(settings.effective_database_url)
    async with db.write() as conn:
        host = await create_account(conn, "host", "host@example.org", "bench password")
        app = await auth.create_app(conn, "bench", [auth.OOB], ["read", "write"], None)
        token, _ = await auth.issue_token(conn, app["id"], host.id, ["read", "write"])
    await db.dispose()
    return token


async def _join(reader, writer, request: bytes) -> int:
    """Send one join on a keep-alive connection and return the status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


def _load(port: int, request: bytes, connections: int, seconds: float, out) -> None:
    """Open `connections` keep-alive connections, then join back to back on each for `seconds`."""
    async def main():
        latencies: list[float] = []
        errors: list[int] = []
        conns = []
        for _ in range(connections):  # connect first, so connection setup is not part of the storm
            conns.append(await asyncio.open_connection("127.0.0.1", port))
        # One warm-up join each, all at once, so no connection sits idle past the server's keep-alive timeout.
        await asyncio.gather(*[_join(reader, writer, request) for reader, writer in conns])
        started = time.perf_counter()
        deadline = started + seconds

        async def storm(reader, writer):
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    code = await _join(reader, writer, request)
                except (asyncio.IncompleteReadError, ConnectionError):
                    errors.append(0)  # the server dropped the connection: count it as code 0 and reconnect
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - t0)
                if code != 200:
                    errors.append(code)

        await asyncio.gather(*[storm(r, w) for r, w in conns])
        elapsed = time.perf_counter() - started
        for _, writer in conns:
            writer.close()  # (reconnected ones are closed when the process exits)
        return latencies, errors, elapsed

    out.put(asyncio.run(main()))


def _cpu_seconds(pid: int) -> float:
    """Return the user+system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def main() -> None:
    """Start a server, open a room and storm its join endpoint; print joins/s and latency percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--auth", action="store_true", help="join with a bearer token instead of anonymously")
    parser.add_argument("--redis", default=None, help="keep presence in Redis at this URL")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = dict(os.environ, TOWNSQUARE_DATA_DIR=str(Path(tmp) / "data"), TOWNSQUARE_PORT=str(port),
                   TOWNSQUARE_HOST="127.0.0.1", TOWNSQUARE_SECRET_KEY="bench", TOWNSQUARE_SPACES_JOIN_RATE="0",
                   # every simulated listener comes from 127.0.0.1: per-IP limits would stop the storm at 300
                   TOWNSQUARE_RATE_LIMITS_ENABLED="false")
        prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        if args.redis:
            env.update(TOWNSQUARE_REDIS_URL=args.redis, TOWNSQUARE_REDIS_PREFIX=prefix)
        settings = Settings(data_dir=Path(tmp) / "data")
        migrate(settings.effective_database_url)
        token = asyncio.run(_seed(settings))
        exe = Path(sys.executable).parent / "townsquare"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "townsquare.cli"]
        server = subprocess.Popen([*cmd, "serve"], env=env, stdout=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    httpx.get(f"{base}/api/v1/instance", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {token}"}
            space = httpx.post(f"{base}/api/v1/spaces", data={"title": "Storm"}, headers=headers).json()
            httpx.post(f"{base}/api/v1/spaces/{space['id']}/start", headers=headers).raise_for_status()
            auth_line = f"Authorization: Bearer {token}\r\n" if args.auth else ""
            request = (f"POST /api/v1/spaces/{space['id']}/join HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth_line}"
                       "Content-Length: 0\r\n\r\n").encode()
            queue: multiprocessing.Queue = multiprocessing.Queue()
            share = [args.concurrency // args.processes + (i < args.concurrency % args.processes) for i in range(args.processes)]
            workers = [multiprocessing.Process(target=_load, args=(port, request, n, args.seconds, queue)) for n in share]
            cpu_before = _cpu_seconds(server.pid)
            for w in workers:
                w.start()
            results = [queue.get() for _ in workers]
            server_cpu = _cpu_seconds(server.pid) - cpu_before  # includes the warm-up joins, counted below
            for w in workers:
                w.join()
            latencies = [x for lat, _, _ in results for x in lat]
            errors = [x for _, err, _ in results for x in err]
            elapsed = max(e for _, _, e in results)
            count = httpx.get(f"{base}/api/v1/spaces/{space['id']}").json()["listener_count"]
        finally:
            server.terminate()
            server.wait(timeout=30)
            if args.redis:
                import redis

                client = redis.from_url(args.redis)
                for key in client.scan_iter(match=f"{prefix}*"):
                    client.delete(key)
    summary = {
        "concurrency": args.concurrency, "presence": "redis" if args.redis else "memory",
        "auth": args.auth, "joins": len(latencies), "joins_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1), "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "server_cpu_us_per_join": round(server_cpu / (len(latencies) + args.concurrency) * 1e6),
        "joins_per_server_core_s": round((len(latencies) + args.concurrency) / server_cpu) if server_cpu else None,
        "errors": len(errors), "error_codes": {str(k): errors.count(k) for k in sorted(set(errors))},
        "listener_count_after": count,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
