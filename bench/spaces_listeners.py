"""Listener load on a live Space: N simulated HLS listeners through nginx (the shipped deploy/ config) vs at the app.

Starts `townsquare serve` and nginx (own process, loopback port, temp prefix), opens a live room, then:
1. N listeners behave like HLS players (reload the live playlist every second, fetch each new segment once)
   for --seconds, first straight at the app, then through nginx: requests/s served, and how many requests
   reached the app per new segment (from nginx's log of upstream requests);
2. --clients connections fetch the newest segment back to back for --burst seconds: requests/s capacity.
Usage: .venv/bin/python bench/spaces_listeners.py [--listeners 500] [--seconds 20] [--clients 64] [--burst 5]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Conn:
    """A minimal keep-alive HTTP/1.1 client connection (the bench must not be slower than what it measures)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET a path; return (status, body)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.writer = None
        return status, body


async def _listener(port: int, path: str, until: float, stats: dict) -> None:
    conn, seen = Conn(port), set()
    await asyncio.sleep(random.random())
    first = True
    while time.monotonic() < until:
        started = time.monotonic()
        status, body = await conn.get(f"{path}/live.m3u8")
        stats["requests"] += 1
        names = re.findall(r"^(seg\d+\.ts)$", body.decode(), re.M) if status == 200 else []
        for name in (names[-3:] if first else names):  # a player starts three segments from the live edge
            if name not in seen:
                seen.add(name)
                status, body = await conn.get(f"{path}/{name}")
                stats["requests"] += 1
                stats["bytes"] += len(body)
                stats["errors"] += status != 200
        first = False
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def _hammer(port: int, path: str, until: float, stats: dict) -> None:
    conn = Conn(port)
    while time.monotonic() < until:
        status, _ = await conn.get(path)
        stats["requests"] += 1
        stats["errors"] += status != 200


def _worker(args: tuple) -> dict:
    kind, port, path, count, seconds = args
    stats = {"requests": 0, "bytes": 0, "errors": 0}

    async def main():
        until = time.monotonic() + seconds
        task = _listener if kind == "listen" else _hammer
        await asyncio.gather(*(task(port, path, until, stats) for _ in range(count)))

    asyncio.run(main())
    return stats


def run_clients(kind: str, port: int, path: str, count: int, seconds: float, processes: int) -> dict:
    """Run `count` simulated clients over `processes` processes; return summed counts."""
    shares = [count // processes + (i < count % processes) for i in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(_worker, [(kind, port, path, n, seconds) for n in shares if n])
    return {k: sum(r[k] for r in results) for k in results[0]}


LOG_FORMAT = "$upstream_addr $upstream_cache_status $uri $status $upstream_status $msec"


def nginx_config(tmp: Path, app_port: int, port: int, worker_connections: int = 8192, log_format: str = LOG_FORMAT,
                 line_check: bool = True, spaces_dir: Path | None = None) -> Path:
    """Write an nginx.conf that includes deploy/nginx-spaces.conf with loopback ports and a temp cache.

    spaces_dir is the app's (default <tmp>/data/spaces), where it lists its rooms for the joins' check.
    line_check=False drops the joins' line check (auth_request), to measure what it saves."""
    shipped = (ROOT / "deploy" / "nginx-spaces.conf").read_text()
    if not line_check:
        shipped = "\n".join(line for line in shipped.splitlines() if not line.strip().startswith("auth_request /"))
    shipped = shipped.replace("/var/cache/nginx/townsquare-spaces", str(tmp / "cache"))
    shipped = shipped.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{app_port}")
    shipped = shipped.replace("listen 80;", f"listen 127.0.0.1:{port};")
    shipped = shipped.replace("/var/lib/townsquare/data/spaces", str(spaces_dir or tmp / "data" / "spaces"))
    (tmp / "spaces.conf").write_text(shipped)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    log_format upstream '{log_format}';
    access_log {tmp}/access.log upstream;
    log_subrequest on;  # the joins' line checks reach the app as subrequests: count them too
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    include {tmp}/spaces.conf;
}}
""")
    return conf


def app_hits(log: Path) -> int:
    """Count requests in nginx's log that went to the app."""
    return sum(1 for line in log.read_text().splitlines() if not line.startswith("-"))


def media_sequence(port: int, path: str) -> int:
    """The live playlist's newest segment number."""
    text = httpx.get(f"http://127.0.0.1:{port}{path}/live.m3u8").text
    return int(re.findall(r"^seg(\d+)\.ts$", text, re.M)[-1])


def main() -> None:
    """Start the app and nginx, run the listener phases, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listeners", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--burst", type=float, default=5)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    tmp = Path(tempfile.mkdtemp(prefix="spaces-bench-"))
    tmp.chmod(0o755)  # nginx workers run as an unprivileged user when started as root
    app_port, proxy_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(TOWNSQUARE_DOMAIN=f"127.0.0.1:{app_port}", TOWNSQUARE_DATA_DIR=str(tmp / "data"))
    cli = [str(BIN / "townsquare")]
    server = proxy = None
    try:
        subprocess.run([*cli, "accounts", "create", "benchhost", "--email", "b@example.org", "--password", "bench pass 123"],
                       env=env, check=True, capture_output=True)
        token = subprocess.run([*cli, "accounts", "token", "benchhost"], env=env, check=True, capture_output=True,
                               text=True).stdout.strip()
        server = subprocess.Popen([*cli, "serve", "--port", str(app_port)], env=env, stdout=subprocess.DEVNULL)
        api = httpx.Client(base_url=f"http://127.0.0.1:{app_port}", headers={"Authorization": f"Bearer {token}"})
        for _ in range(100):
            try:
                api.get("/api/v1/instance")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        sid = api.post("/api/v1/spaces", json={"title": "Listener bench"}).json()["id"]
        api.post(f"/api/v1/spaces/{sid}/start").raise_for_status()
        path = f"/spaces/{sid}"
        proxy = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(nginx_config(tmp, app_port, proxy_port))])
        time.sleep(6)  # a few segments in the live window
        print(f"{args.listeners} listeners, {args.seconds:.0f} s each phase, 2 s segments, "
              f"{args.processes} client processes on this machine's {os.cpu_count()} cores")
        for label, port in (("straight at the app", app_port), ("through nginx (deploy/nginx-spaces.conf)", proxy_port)):
            log = tmp / "access.log"
            log.write_text("")
            os.kill(proxy.pid, 10)  # SIGUSR1: reopen the log
            time.sleep(0.3)
            first = media_sequence(app_port, path)
            stats = run_clients("listen", port, path, args.listeners, args.seconds, args.processes)
            segments = max(1, media_sequence(app_port, path) - first)
            reached = stats["requests"] if port == app_port else app_hits(log)
            print(f"  {label}: {stats['requests'] / args.seconds:,.0f} req/s served, {stats['errors']} errors, "
                  f"{reached} requests reached the app = {reached / segments:,.1f} per new segment "
                  f"({segments} segments, {stats['bytes'] / args.seconds / 1e6:.2f} MB/s)")
        newest = f"{path}/seg{media_sequence(app_port, path)}.ts"
        print(f"capacity: {args.clients} keep-alive clients fetching one segment back to back for {args.burst:.0f} s")
        for label, port in (("app", app_port), ("nginx cache", proxy_port)):
            stats = run_clients("hammer", port, newest, args.clients, args.burst, args.processes)
            print(f"  {label}: {stats['requests'] / args.burst:,.0f} req/s, {stats['errors']} errors")
    finally:
        for process in (proxy, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
