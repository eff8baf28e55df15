"""The night the world shows up: a join storm on a scheduled Space through the shipped nginx config.

One command, prints a table of every figure with its target:
  .venv/bin/python bench/night.py [--scale 1.0] [--c N] [--listeners 1000] [--processes 2]
Starts `townsquare serve` (one process, SQLite, shedding on, rate limits off: every simulated client is
127.0.0.1) and nginx running deploy/nginx-spaces.conf (ports and cache path changed), then:
1. measures in-process what a shed answer costs against a join (CPU per request through the whole ASGI app);
2. calibrates C with the night's two speakers on the air: open-loop joins through nginx at rates x1.4 until one
   does not hold p99 < 100 ms (each tried twice), then two halvings of the last gap; C is the highest that held;
3. the night: a room scheduled at T0 = 30 s; legit joins ramp 0 -> C, 10 C in the T0 second, 2 C for 10 s,
   then C for 10 s; 30% of clients ignore Retry-After; from 20 s junk at twice the legit rate (forged
   tokens, unknown rooms, cache-busting playlist URLs, search floods) and 50 slow clients; the host starts
   the room at T0, two speakers stream PCM over the speaker WebSocket, the host works the stage twice a
   second, and --listeners admitted listeners poll HLS through nginx.
--scale shrinks every duration (T0 = 30 s x scale, ...) when the full night does not fit; figures stay the same.
For a short check on a busy box: --scale 0.3 --c N --listeners 300 --no-cost (N: what the box gives the server).

The load generator (--processes processes on uvloop) offers what it plans: each legit client's first try is
written at its planned time on an idle keep-alive connection, or a new one (up to --connections per process;
past that it is pipelined), never queued behind other clients; junk is written in one pipelined batch per
junk connection every 2 ms and its answers are only counted (status and length parsed, no future per
request). Clients ignoring Retry-After retry every --ignorer-interval seconds (0.5-1.5 s: nginx answers those
retries itself, the app sees each token at most once per 2 s either way; 0.05,0.2 is the older, harsher
setting, whose retries alone outgrow the generator's core at full scale). The generator processes run at nice 5:
on their shared core nginx (measured) and the host's client come first, and a short core shows as the generator
running late, not as slow host controls. The table prints, per phase, planned
vs offered first tries and junk, how late the first tries left, the retries, and what reached the app.

Placement (a fairer measurement, not a weaker night): on a box with two or more cores the server is pinned to
the first core and nginx, the generator processes and this process (host, speakers) to the others, in the
calibration and the night alike (--no-pin turns it off). Unpinned, the generator offering 10 C and nginx
answering it took the server's core from it during the overload only, so C (measured with the server alone on
its core) and the night's goodput were measured under different conditions. The table prints what each got:
the server's CPU, nginx's, the generator's own CPU and its offered vs achieved rate of legit first tries.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import httpx
import uvloop

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
from spaces_listeners import LOG_FORMAT, nginx_config  # noqa: E402  (the same nginx set-up as the listener bench)

IGNORE_RETRY_AFTER = 0.30
# The generator shares its core with nginx and the host's client: it yields to them (nginx is part of what is
# measured, the host is the one user who must never wait), so when that core is short it is the generator that
# runs late, which the table shows (planned vs offered), not nginx or the host's controls.
GENERATOR_NICE = 5
MAX_WAIT = 90.0  # a legit client that has not joined this long after arriving counts as failed


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User+system CPU time of a process (and, with children, of its live child processes) so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if children:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += cpu_seconds(int(child))
    return total


def cap_cpu(pid: int, cores: float) -> Path:
    """Hold a process (and what it starts later) to `cores` of CPU time with a CPU cgroup (v2 or v1).

    The period is 10 ms, so a capped server is held back for at most a few ms at a time, not 100 ms as with
    the default period. Returns the group's folder, for uncap()."""
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    group = (Path("/sys/fs/cgroup") if v2 else Path("/sys/fs/cgroup/cpu")) / f"townsquare-night-{os.getpid()}"
    group.mkdir()
    period = 10_000
    if v2:
        (group / "cpu.max").write_text(f"{int(cores * period)} {period}")
    else:
        (group / "cpu.cfs_period_us").write_text(str(period))
        (group / "cpu.cfs_quota_us").write_text(str(int(cores * period)))
    (group / "cgroup.procs").write_text(str(pid))
    return group


def uncap(group: Path | None) -> None:
    """Remove a group of cap_cpu() once its processes have ended (moving any left back to the parent)."""
    if group is None:
        return
    for pid in (group / "cgroup.procs").read_text().split():
        try:
            (group.parent / "cgroup.procs").write_text(pid)
        except OSError:
            pass
    try:
        group.rmdir()
    except OSError as exc:
        print(f"could not remove {group}: {exc}", file=sys.stderr)


def pin(cpus) -> None:
    """Run this process on these CPUs only (None: anywhere)."""
    if cpus:
        os.sched_setaffinity(0, cpus)


def pct(values: list[float], p: float) -> float:
    """The p-quantile of values (nan when empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


# ---------------------------------------------------------------- raw HTTP/1.1 client

class Conn:
    """One keep-alive HTTP/1.1 connection for a client that asks one thing at a time (HLS listeners)."""

    def __init__(self, port: int) -> None:
        self.port, self.reader, self.writer = port, None, None

    async def request(self, method: str, path: str, headers: str = "", body: bytes = b"") -> tuple[int, dict, bytes]:
        """Send one request; return (status, lower-cased headers, body)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
                          .encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        found = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in found:
            data = await self.reader.readexactly(int(found["content-length"]))
        elif found.get("transfer-encoding") == "chunked":
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                data += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            data = b""
        if found.get("connection", "").lower() == "close":
            self.close()
        return status, found, data

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def encode(method: str, path: str, headers: str = "", body: bytes = b"") -> bytes:
    """One HTTP/1.1 request's bytes."""
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body


class Piped(asyncio.Protocol):
    """A keep-alive connection that takes requests while earlier ones are still out (HTTP/1.1 pipelining).

    Responses come back in order; each request's future gets (status, lower-cased headers, body). A protocol,
    not streams: the generator has to write tens of thousands of requests a second from a shared core.
    """

    def __init__(self, pool: "Pool") -> None:
        self.pool, self.transport, self.buf, self.waiters, self.closed = pool, None, bytearray(), deque(), False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, data: bytes) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        self.transport.write(data)
        return future

    def data_received(self, data: bytes) -> None:
        try:
            self._parse(data)
        except (ValueError, IndexError):  # not HTTP: drop the connection (its waiters fail in connection_lost)
            self.transport.close()

    def _parse(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if self.pool.on_answer is not None:
            return self._parse_lean()
        while self.waiters:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            found = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            start = end + 4
            if "content-length" in found:
                stop = start + int(found["content-length"])
                if len(buf) < stop:
                    return
                body = bytes(buf[start:stop])
            elif found.get("transfer-encoding") == "chunked":
                tail = buf.find(b"0\r\n\r\n", start)  # good enough for JSON bodies
                if tail < 0:
                    return
                stop, body = tail + 5, b""
            else:
                stop, body = start, b""
            del buf[:stop]
            future = self.waiters.popleft()
            if not future.done():
                future.set_result((int(lines[0].split(" ", 2)[1]), found, body))
            if found.get("connection", "").lower() == "close":
                self.transport.close()
                self.closed = True
                return
        if not self.waiters and not self.closed:
            self.pool.idle.append(self)

    def _parse_lean(self) -> None:
        """Junk's answers: status and length only, each reported to the pool's on_answer (no future per request)."""
        buf, waiters, on_answer = self.buf, self.waiters, self.pool.on_answer
        while waiters:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower() + b"\r\n"
            at = head.find(b"\r\ncontent-length:")
            start = end + 4
            if at >= 0:
                stop = start + int(head[at + 17:head.find(b"\r\n", at + 2)])
                if len(buf) < stop:
                    return
            elif b"transfer-encoding: chunked" in head:
                tail = buf.find(b"0\r\n\r\n", start)
                if tail < 0:
                    return
                stop = tail + 5
            else:
                stop = start
            del buf[:stop]
            on_answer(waiters.popleft(), int(head[9:12]))
            if b"\r\nconnection: close" in head:
                self.transport.close()
                self.closed = True
                return

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.pool.conns.discard(self)
        while self.waiters:
            future = self.waiters.popleft()
            if self.pool.on_answer is not None:
                self.pool.on_answer(future, 0)
            elif not future.done():
                future.set_exception(ConnectionError("connection lost"))


class Pool:
    """Keep-alive connections shared by many simulated clients; never makes a client wait for a free one.

    A request goes on an idle connection; with none idle a new one is opened (up to `cap`); past the cap it is
    pipelined behind the requests on a busy connection. So a request always leaves when its client means it
    to: what was planned is offered, and the latency measured is the server's (and nginx's), not a queue here.
    """

    def __init__(self, port: int, cap: int, on_answer=None) -> None:
        self.port, self.cap = port, cap
        self.on_answer = on_answer  # set: a pool for junk, written in batches (send_batch), answers reported here
        self.idle: list[Piped] = []
        self.conns: set[Piped] = set()
        self.order: list[Piped] = []  # the same, to pick from at random (closed ones are dropped now and then)
        self.opening = 0
        self.sent = self.opened = self.piped = 0

    async def _open(self) -> Piped:
        self.opening += 1
        try:
            _, conn = await asyncio.get_running_loop().create_connection(lambda: Piped(self), "127.0.0.1", self.port)
        finally:
            self.opening -= 1
        self.conns.add(conn)
        self.order.append(conn)
        self.opened += 1
        return conn

    async def warm(self, count: int) -> None:
        """Open `count` connections ahead of the load (opening them is work for nginx and for us)."""
        for conn in await asyncio.gather(*[self._open() for _ in range(count)], return_exceptions=True):
            if isinstance(conn, Piped):
                self.idle.append(conn)

    def _pick(self) -> Piped | None:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed and not conn.waiters:
                return conn
        if len(self.conns) + self.opening < self.cap:
            return None
        if len(self.order) > 2 * len(self.conns) + 64:  # drop the closed ones now and then
            self.order = [c for c in self.order if not c.closed]
        busy = [c for c in (random.choice(self.order) for _ in range(4)) if not c.closed] if self.order else []
        if not busy:
            return None
        self.piped += 1
        return min(busy, key=lambda c: len(c.waiters))

    def send_batch(self, items: list[tuple[bytes, object]]) -> int:
        """Write these requests now, spread over the open connections in one write each (junk: no futures);
        each answer goes to on_answer(record, status). Returns how many were written."""
        conns = [c for c in self.conns if not c.closed]
        if not conns:
            return 0
        per = max(1, math.ceil(len(items) / len(conns)))
        random.shuffle(conns)
        for i, conn in zip(range(0, len(items), per), conns):
            chunk = items[i:i + per]
            conn.waiters.extend(record for _, record in chunk)
            conn.transport.write(b"".join(data for data, _ in chunk))
        self.sent += len(items)
        self.piped += len(items)
        return len(items)

    async def request(self, data: bytes) -> tuple[int, dict, bytes, float, float]:
        """Send a request now; return (status, headers, body, latency, the time it was written)."""
        conn = self._pick()
        if conn is None:
            try:
                conn = await self._open()
            except OSError:
                raise ConnectionError("connect failed") from None
        self.sent += 1
        written = time.time()
        began = time.perf_counter()
        try:
            status, found, body = await conn.send(data)
        except (ValueError, IndexError):
            conn.transport.close()
            raise ConnectionError("bad response") from None
        return status, found, body, time.perf_counter() - began, written


# ---------------------------------------------------------------- the generator processes

PHASES = ("ramp 0 -> C", "T0 second, 10 C", "2 C, 10 s", "C, 10 s")


def phase_of(t: float, t0: float, s: float) -> int:
    """Which phase of the night second t (since the start) is in: 0 ramp, 1 the T0 second, 2 the 2 C, 3 the C."""
    return 0 if t < t0 else 1 if t < t0 + s else 2 if t < t0 + 11 * s else 3


def legit_rate(t: float, c: float, t0: float, s: float) -> float:
    """Legit joins per second at time t: ramp to C, 10 C in the T0 second, 2 C for 10 s, then C."""
    if t < t0:
        return c * t / t0
    if t < t0 + 1 * s:
        return 10 * c
    if t < t0 + 11 * s:
        return 2 * c
    if t < t0 + 21 * s:
        return c
    return 0.0


def arrivals(rate, start: float, end: float, share: int, shares: int) -> list[float]:
    """Evenly spaced arrival times of a rate function over [start, end), this process's share of them."""
    out, t, k, step = [], start, 0, 0.01
    due = 0.0
    while t < end:
        due += rate(t) * step
        while due >= 1:
            if k % shares == share:
                out.append(t + random.random() * step)
            k += 1
            due -= 1
        t += step
    return sorted(out)


def _retry_after(headers: dict) -> float:
    try:
        return float(headers.get("retry-after", "1"))
    except ValueError:
        return 1.0


async def _generator(cfg: dict) -> dict:
    port, sid, start = cfg["port"], cfg["space_id"], cfg["start_wall"]
    c, t0, s = cfg["c"], cfg["t0"], cfg["scale"]
    pool = Pool(port, cfg["connections"])
    junk_pool = Pool(port, cfg["junk_connections"], on_answer=lambda record, status: junk_answer(record, status))
    lat: dict[str, list[float]] = {k: [] for k in ("join", "waiting", "shed", "junk", "hls")}
    st = {k: 0 for k in ("legit", "joined", "waited_then_joined", "failed", "gave_up", "conn_errors", "requests",
                         "junk_sent", "junk_served_ok", "junk_5xx", "hls_errors", "late_s")}
    # Per phase: planned and offered (written to a socket in that phase) first tries and junk, how late the
    # first tries left, and the retries the legit clients sent (obeying Retry-After or not).
    ph = {k: [0] * len(PHASES) for k in ("legit_planned", "legit_offered", "junk_planned", "junk_offered",
                                          "retry_obeying", "retry_ignoring")}
    late: list[list[float]] = [[] for _ in PHASES]
    ok_at: list[float] = []  # wall-clock times of successful joins (goodput per phase)
    junk_codes: dict[str, int] = {}
    join_path = f"/api/v1/spaces/{sid}/join"
    join_bytes = encode("POST", join_path)
    rng = random.Random(cfg["share"])

    def phase(at_wall: float) -> int:
        return phase_of(at_wall - start, t0, s)

    async def until(at: float) -> None:
        delay = start + at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def legit(at: float) -> None:
        st["legit"] += 1
        ignorer = rng.random() < IGNORE_RETRY_AFTER
        first, token, waited = time.time(), None, False
        while True:
            if time.time() - first > MAX_WAIT:
                st["gave_up"] += 1
                return
            data = encode("POST", join_path, f"Townsquare-Queue-Token: {token}\r\n") if token else join_bytes
            try:
                status, h, _, took, written = await pool.request(data)
            except ConnectionError:
                st["conn_errors"] += 1
                await asyncio.sleep(0.5)
                continue
            st["requests"] += 1
            p = phase(written)
            if not waited:
                ph["legit_offered"][p] += 1
                late[p].append(max(0.0, written - (start + at)))
                st["late_s"] += max(0.0, written - (start + at))
            else:
                ph["retry_ignoring" if ignorer else "retry_obeying"][p] += 1
            if status == 200:
                lat["join"].append(took)
                st["joined"] += 1
                st["waited_then_joined"] += waited
                ok_at.append(time.time())
                return
            if status == 429:
                lat["waiting"].append(took)
                token = h.get("townsquare-queue-token", token)
            elif status in (502, 503, 504):
                lat["shed"].append(took)
            else:
                st["failed"] += 1
                junk_codes[f"legit failed {status}"] = junk_codes.get(f"legit failed {status}", 0) + 1
                return
            waited = True
            delay = _retry_after(h)
            if ignorer:
                lo, hi = cfg["ignorer_interval"]  # ignores Retry-After (but keeps its token, as a browser does)
                delay = lo + rng.random() * (hi - lo)
            await asyncio.sleep(delay)

    kinds = ("forged token", "unknown room", "cache-busting playlist", "search flood")

    def junk_answer(record: tuple[int, float], status: int) -> None:
        kind, began = record
        if status == 0:
            st["conn_errors"] += 1
            return
        lat["junk"].append(time.perf_counter() - began)
        st["junk_5xx"] += status >= 500 and status != 503
        key = (kind, status)
        junk_codes[key] = junk_codes.get(key, 0) + 1

    def junk_request(kind: int, stamp: int) -> bytes:
        if kind == 0:
            return encode("POST", join_path, f"Townsquare-Queue-Token: w.{stamp}.abc.forged\r\n")
        if kind == 1:
            return encode("POST", f"/api/v1/spaces/{rng.randrange(10**15, 10**16)}/join")
        if kind == 2:
            return encode("GET", f"/spaces/{sid}/live.m3u8?cb={rng.random()}")
        return encode("GET", f"/api/v2/search?q=flood{rng.randrange(10**6)}&resolve=true")

    def junk(kinds_due: list[int]) -> None:
        """Send the junk due now, pipelined in one write per junk connection (no coroutine, no future)."""
        stamp, began = int(time.time() * 1000), time.perf_counter()
        written = junk_pool.send_batch([(junk_request(k, stamp), (k, began)) for k in kinds_due])
        st["junk_sent"] += written
        st["conn_errors"] += len(kinds_due) - written
        ph["junk_offered"][phase(time.time())] += written
        missing = cfg["junk_connections"] - len(junk_pool.conns) - junk_pool.opening
        if missing > cfg["junk_connections"] // 4:  # nginx closes a connection after 1,000 requests: open new ones
            refills.append(asyncio.ensure_future(junk_pool.warm(missing)))

    async def slow_client(at: float) -> None:
        await until(at)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            line = f"POST {join_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode()
            for byte in line:
                writer.write(bytes([byte]))
                await asyncio.sleep(1.0)
                if time.time() > start + cfg["end"]:
                    break
            writer.close()
        except OSError:
            pass

    seen_segments: set[int] = set()
    listener_gaps = [0]

    async def hls_listener(at: float) -> None:
        await until(at)
        conn, seen, last = Conn(port), set(), None
        while time.time() < start + cfg["end"] + cfg["hls_tail"]:
            began = time.monotonic()
            t1 = time.perf_counter()
            try:
                status, _, body = await conn.request("GET", f"/spaces/{sid}/live.m3u8")
                lat["hls"].append(time.perf_counter() - t1)
                names = re.findall(r"^seg(\d+)\.ts$", body.decode(), re.M) if status == 200 else []
                for number in [int(n) for n in (names[-3:] if last is None else names)]:
                    if number in seen:
                        continue
                    if last is not None and number > last + 1:
                        listener_gaps[0] += number - last - 1
                    seen.add(number)
                    last = number if last is None else max(last, number)
                    t1 = time.perf_counter()
                    status, _, _ = await conn.request("GET", f"/spaces/{sid}/seg{number}.ts")
                    lat["hls"].append(time.perf_counter() - t1)
                    st["hls_errors"] += status != 200
                    seen_segments.add(number)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                st["hls_errors"] += 1
                conn.close()
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))

    legit_times = arrivals(lambda t: legit_rate(t, c, t0, s), 0.0, t0 + 21 * s, cfg["share"], cfg["shares"])
    junk_times = arrivals(lambda t: 2 * legit_rate(t, c, t0, s), cfg["junk_from"], t0 + 21 * s, cfg["share"], cfg["shares"])
    for at in legit_times:
        ph["legit_planned"][phase_of(at, t0, s)] += 1
    for at in junk_times:
        ph["junk_planned"][phase_of(at, t0, s)] += 1
    await pool.warm(cfg["warm"])
    await junk_pool.warm(cfg["junk_connections"])
    tasks: list[asyncio.Task] = []
    refills: list[asyncio.Future] = []

    async def ticker() -> None:
        """Every 2 ms, send what is due: a task per legit client (it retries), junk written on the spot."""
        li = ji = 0
        while li < len(legit_times) or ji < len(junk_times):
            now = time.time() - start
            while li < len(legit_times) and legit_times[li] <= now:
                tasks.append(asyncio.ensure_future(legit(legit_times[li])))
                li += 1
            due = []
            while ji < len(junk_times) and junk_times[ji] <= now:
                due.append(ji % 4)
                ji += 1
            if due:
                junk(due)
            await asyncio.sleep(0.002)

    others = [asyncio.ensure_future(slow_client(cfg["junk_from"])) for _ in range(cfg["slow_clients"])]
    others += [asyncio.ensure_future(hls_listener(t0 + 2 * s + i / max(1, cfg["listeners"])))
               for i in range(cfg["listeners"])]
    await ticker()
    await asyncio.gather(*tasks, *others, return_exceptions=True)
    await asyncio.sleep(1.0)  # the last junk answers
    kinds = ("forged token", "unknown room", "cache-busting playlist", "search flood")
    for key in [k for k in junk_codes if isinstance(k, tuple)]:
        junk_codes[f"{kinds[key[0]]} {key[1]}"] = junk_codes.pop(key)
    return {"lat": lat, "st": st, "ph": ph, "late": late, "ok_at": ok_at, "junk_codes": junk_codes,
            "segments": sorted(seen_segments), "offered": len(legit_times) + len(junk_times),
            "sent": pool.sent + junk_pool.sent, "opened": pool.opened, "piped": pool.piped + junk_pool.piped,
            "listener_gaps": listener_gaps[0]}


def generator_process(cfg: dict, out) -> None:
    """Run one generator process's share of the night and send back its figures (and its own CPU time)."""
    pin(cfg.get("pin"))
    os.nice(GENERATOR_NICE)
    random.seed(cfg["share"] * 7919)
    result = uvloop.run(_generator(cfg))
    times = os.times()
    result["cpu"] = times.user + times.system
    out.put(result)


async def _open_loop(port: int, path: str, rate: float, seconds: float, connections: int) -> dict:
    pool, lat, codes = Pool(port, connections), [], {}
    data = encode("POST", path)
    await pool.warm(min(connections, 64))
    begin = time.perf_counter()

    async def one(at: float) -> None:
        await asyncio.sleep(max(0.0, at - (time.perf_counter() - begin)))
        try:
            status, _, _, took, _ = await pool.request(data)
        except ConnectionError:
            status, took = 0, float("inf")
        lat.append(took)
        codes[status] = codes.get(status, 0) + 1

    count = int(rate * seconds)
    await asyncio.gather(*[one(i / rate) for i in range(count)])
    return {"lat": lat, "codes": codes, "elapsed": time.perf_counter() - begin}


def open_loop_process(args: tuple, cpus, out) -> None:
    """One process's share of an open-loop calibration step."""
    pin(cpus)
    os.nice(GENERATOR_NICE)
    result = uvloop.run(_open_loop(*args))
    times = os.times()
    result["cpu"] = times.user + times.system
    out.put(result)


def open_loop(port: int, path: str, rate: float, seconds: float, processes: int, cpus=None) -> dict:
    """Offer `rate` joins/s for `seconds` over several processes; return p99, success share and achieved rate."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=open_loop_process,
                                       args=((port, path, rate / processes, seconds, 128), cpus, queue)) for _ in range(processes)]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    lat = [x for r in results for x in r["lat"]]
    ok = sum(r["codes"].get(200, 0) for r in results)
    elapsed = max(r["elapsed"] for r in results)
    return {"p99": pct(lat, 0.99), "ok_share": ok / max(1, len(lat)), "achieved": len(lat) / elapsed,
            "cpu": sum(r["cpu"] for r in results)}


# ---------------------------------------------------------------- in-process shed cost

def shed_cost() -> dict:
    """CPU per request through the whole ASGI app, in process: a join, a shed search, a waiting-room answer."""
    from townsquare.config import Settings
    from townsquare.main import create_app
    from townsquare.services import spaces as service
    from townsquare.services.accounts import create_account
    from townsquare.storage.db import migrate
    from townsquare.wiring import build_context

    tmp = Path(tempfile.mkdtemp(prefix="night-cost-"))
    settings = Settings(data_dir=tmp, secret_key="bench", rate_limits_enabled=False, run_jobs_in_process=False,
                        spaces_store="memory")
    migrate(settings.effective_database_url)
    ctx = build_context(settings)
    app = create_app(settings, run_migrations=False, context=ctx)

    async def call(method: str, path: str) -> int:
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [(b"host", b"bench"), (b"content-length", b"0")], "http_version": "1.1",
                 "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000), "root_path": "",
                 "app": app}
        status = [0]

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]

        await app(scope, receive, send)
        return status[0]

    async def main() -> dict:
        async with ctx.db.write() as conn:
            host = await create_account(conn, "costhost", "c@example.org", "bench password")
            sid = await service.create(conn, host.id, "Cost", None, False)
            await service.start(conn, sid, host.id)
        overload = app.state.overload
        from townsquare.spaces.reactions import TokenBucket
        app.overload_gate.lookups = TokenBucket(0)  # unlimited: measure the look-up itself, not its budget's 503
        join = f"/api/v1/spaces/{sid}/join"
        assert await call("POST", join) == 200
        figures = {}
        for label, method, path, inflight in (("join", "POST", join, 0), ("shed", "GET", "/api/v2/search", 10**6),
                                              ("waiting", "POST", join, 10**6),
                                              ("unknown", "POST", "/api/v1/spaces/1234567890123456/join", 0)):
            n = 3000
            for _ in range(200):
                overload.limiter.inflight = inflight
                await call(method, path)
            cpu = time.process_time()
            for _ in range(n):
                overload.limiter.inflight = inflight
                code = await call(method, path)
            figures[label] = (time.process_time() - cpu) / n
            figures[label + "_code"] = code
            overload.limiter.inflight = 0
        await ctx.db.dispose()
        return figures

    try:
        return asyncio.run(main())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- the host, the speakers, the stage

async def _speaker(url: str, token: str, until: float, stats: dict, stop: threading.Event | None = None) -> None:
    from websockets.asyncio.client import connect

    chunk = (b"\x00\x10" * 960)  # 20 ms of 48 kHz mono s16le
    try:
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30,
                           max_size=None) as ws:
            begin = time.monotonic()
            sent = due = 0
            while time.monotonic() < until and not (stop is not None and stop.is_set()):
                due = int((time.monotonic() - begin) / 0.02) + 1
                while sent < due:
                    await ws.send(chunk)
                    sent += 1
                await asyncio.sleep(0.02)
            stats["sent"] += sent
            stats["due"] += due
            await ws.close()
            stats["closed_clean"] += ws.close_code == 1000
    except Exception as exc:  # a refused or dropped speaker is a failed figure, not a crash
        stats["errors"].append(repr(exc)[:200])


async def _stage(api: httpx.AsyncClient, sid: str, speaker_id: str, until: float, stats: dict) -> None:
    muted = False
    while time.monotonic() < until:
        t0 = time.perf_counter()
        try:
            r = await api.post(f"/api/v1/spaces/{sid}/speakers/{speaker_id}/{'unmute' if muted else 'mute'}")
            stats["codes"][r.status_code] = stats["codes"].get(r.status_code, 0) + 1
        except httpx.HTTPError as exc:
            stats["codes"][type(exc).__name__] = stats["codes"].get(type(exc).__name__, 0) + 1
        stats["lat"].append(time.perf_counter() - t0)
        muted = not muted
        await asyncio.sleep(0.5)


async def _first_segment(api: httpx.AsyncClient, sid: str, since: float) -> float:
    """Seconds from `since` until the live playlist (through nginx) lists a segment."""
    while time.perf_counter() - since < 30:
        r = await api.get(f"/spaces/{sid}/live.m3u8")
        if r.status_code == 200 and re.search(r"^seg\d+\.ts$", r.text, re.M):
            return time.perf_counter() - since
        await asyncio.sleep(0.05)
    return float("nan")


async def conduct(cfg: dict, host_token: str, speaker_token: str, speaker_id: str, stats: dict) -> None:
    """The host's night: start on time, put the second speaker on stage, stream two speakers, work the stage."""
    sid, start = cfg["space_id"], cfg["start_wall"]
    base = f"http://127.0.0.1:{cfg['port']}"

    async def sample_cpu() -> None:  # the server's CPU time at each phase boundary
        for at in cfg["bounds"]:
            await asyncio.sleep(max(0.0, start + at - time.time()))
            stats["server_cpu_at"].append(cpu_seconds(cfg["server_pid"]))

    async def sample_limiter() -> None:  # the app's limit, work in flight and baseline, once a second (/metrics: a
        # scrape costs the server ~20 ms; four a second took 8% of its CPU in the overload)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cfg['app_port']}", timeout=5) as direct:
            while time.time() < start + cfg["bounds"][-1]:
                try:
                    text = (await direct.get("/metrics")).text
                    found = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                             if line.startswith(("townsquare_concurrency_limit ", "townsquare_requests_in_flight ",
                                                 "townsquare_min_rtt_seconds "))}
                    stats["limiter"].append((time.time() - start, found.get("townsquare_concurrency_limit"),
                                             found.get("townsquare_requests_in_flight"),
                                             found.get("townsquare_min_rtt_seconds")))
                except (httpx.HTTPError, ValueError, IndexError):
                    pass
                await asyncio.sleep(1.0)

    sampler = asyncio.ensure_future(asyncio.gather(sample_cpu(), sample_limiter()))
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {host_token}"},
                                 timeout=30) as api:
        await asyncio.sleep(max(0.0, start + cfg["t0"] - time.time()))
        t0 = time.perf_counter()
        try:
            r = await api.post(f"/api/v1/spaces/{sid}/start")
            stats["start_code"] = r.status_code
        except httpx.HTTPError as exc:  # a start that never answered is a failed figure, not a crash
            stats["start_code"] = type(exc).__name__
        stats["start_latency"] = time.perf_counter() - t0
        first = asyncio.ensure_future(_first_segment(api, sid, t0))
        r = await api.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": speaker_id})
        stats["stage_codes"] = {r.status_code: 1}
        until = time.monotonic() + (cfg["end"] - cfg["t0"])
        ws = f"ws://127.0.0.1:{cfg['port']}/api/v1/spaces/{sid}/audio?format=s16le"
        await asyncio.gather(_speaker(ws, host_token, until, stats["speakers"]),
                             _speaker(ws, speaker_token, until, stats["speakers"]),
                             _stage(api, sid, speaker_id, until, stats["control"]))
        stats["first_segment"] = await first
        await sampler


# ---------------------------------------------------------------- main

def cli(env: dict, *args: str) -> str:
    """Run a townsquare CLI command; return its output."""
    return subprocess.run([str(BIN / "townsquare"), *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    """Set up the server and nginx, calibrate C, run the night, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every duration by this factor")
    parser.add_argument("--c", type=float, default=None, help="skip calibration and use this C (joins/s)")
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--connections", type=int, default=3000,
                        help="most connections per generator process for legit clients (past it, requests are pipelined)")
    parser.add_argument("--junk-connections", type=int, default=128,
                        help="connections per generator process for junk, opened up front (junk is pipelined on them)")
    parser.add_argument("--no-cost", action="store_true", help="skip the in-process shed cost measurement")
    parser.add_argument("--ignorer-interval", default="0.5,1.5",
                        help="seconds between the retries of a client ignoring Retry-After, low,high (the app's is 2-20 s)")
    parser.add_argument("--calibrate-silent", action="store_true",
                        help="calibrate C with the room on the air but nobody speaking (before session 7: the night's "
                             "two speakers then cost the night's joins a share of the server that C did not)")
    parser.add_argument("--no-line-check", action="store_true",
                        help="run nginx without the joins' line check (auth_request), to measure what it saves")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (nginx's log, the server's log)")
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place the server, nginx and the generator")
    parser.add_argument("--server-cores", type=float, default=None,
                        help="hold the server to this much CPU (a CPU cgroup, e.g. 0.35) on its pinned core, and let nginx "
                             "and the generator use every core: a smaller server, so this box can offer it the full night")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    # The server on one core, nginx and the generator on the other(s), in the calibration and the night alike:
    # C and the night's goodput are then measured under the same conditions, and the generator offering 10 C
    # cannot take the server's core from it.
    server_cpus, load_cpus = ({cpus[0]}, set(cpus[1:])) if len(cpus) >= 2 and not args.no_pin else (None, None)
    if args.server_cores and server_cpus:
        load_cpus = set(cpus)  # the server cannot take more than its cap; the rest of its core is the world's
    pin(load_cpus)
    s = args.scale
    t0, junk_from = 30.0 * s, 20.0 * s
    end = t0 + 21 * s

    if args.no_cost:
        cost = {"shed": float("nan"), "join": float("nan"), "waiting": float("nan")}
    else:
        print("shed cost, in process (CPU per request through the whole ASGI app) ...", flush=True)
        cost = shed_cost()

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    tmp = Path(tempfile.mkdtemp(prefix="night-bench-"))
    tmp.chmod(0o755)
    app_port, proxy_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(TOWNSQUARE_DOMAIN=f"127.0.0.1:{proxy_port}", TOWNSQUARE_DATA_DIR=str(tmp / "data"),
               TOWNSQUARE_SECRET_KEY="night bench", TOWNSQUARE_RATE_LIMITS_ENABLED="false")
    server = proxy = group = None
    try:
        for name in ("nighthost", "nightspeaker"):
            cli(env, "accounts", "create", name, "--email", f"{name}@example.org", "--password", "bench pass 123")
        host_token, speaker_token = cli(env, "accounts", "token", "nighthost"), cli(env, "accounts", "token", "nightspeaker")
        server = subprocess.Popen([str(BIN / "townsquare"), "serve", "--port", str(app_port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "w"),
                                  preexec_fn=(lambda: pin(server_cpus)) if server_cpus else None)
        if args.server_cores:
            group = cap_cpu(server.pid, args.server_cores)
        proxy = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(nginx_config(tmp, app_port, proxy_port, worker_connections=16000, log_format="$townsquare_in_line $request_time " + LOG_FORMAT,
                                                                    line_check=not args.no_line_check))])  # on load_cpus, as this process is
        api = httpx.Client(base_url=f"http://127.0.0.1:{proxy_port}", headers={"Authorization": f"Bearer {host_token}"},
                           timeout=30)
        for _ in range(300):
            try:
                if api.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        speaker_id = api.get("/api/v1/accounts/verify_credentials",
                             headers={"Authorization": f"Bearer {speaker_token}"}).json()["id"]

        if args.c is None:
            print("calibrating C through nginx (open-loop joins, 3 s per step) ...", flush=True)
            calib = api.post("/api/v1/spaces", data={"title": "Calibration"}).json()["id"]
            api.post(f"/api/v1/spaces/{calib}/start").raise_for_status()
            stop, voices = threading.Event(), None
            if not args.calibrate_silent:  # the night's two speakers on the air: C is what the box takes while they talk
                api.post(f"/api/v1/spaces/{calib}/speakers", data={"account_id": speaker_id}).raise_for_status()
                ws, never = f"ws://127.0.0.1:{proxy_port}/api/v1/spaces/{calib}/audio?format=s16le", time.monotonic() + 3600
                calib_audio = {"sent": 0, "due": 0, "closed_clean": 0, "errors": []}
                async def on_air() -> None:  # gather() inside the thread's own loop: outside one it has no loop to use
                    await asyncio.gather(_speaker(ws, host_token, never, calib_audio, stop),
                                         _speaker(ws, speaker_token, never, calib_audio, stop))

                voices = threading.Thread(target=lambda: asyncio.run(on_air()), daemon=True)
                voices.start()
                time.sleep(2.0)  # both on the air before the first step
            steps: list[tuple[float, dict]] = []

            def holds(rate: float) -> bool:
                """One calibration step at `rate`, tried twice on a miss (on a shared box one spike ends a step)."""
                for attempt in range(2):
                    cpu0 = cpu_seconds(server.pid)
                    step = open_loop(proxy_port, f"/api/v1/spaces/{calib}/join", rate, 3.0, args.processes, load_cpus)
                    step["server_cpu"] = cpu_seconds(server.pid) - cpu0
                    steps.append((rate, step))
                    print(f"  offered {rate:,.0f}/s: achieved {step['achieved']:,.0f}/s, p99 {step['p99'] * 1000:.0f} ms, "
                          f"{step['ok_share']:.1%} answered 200; server CPU {step['server_cpu'] / 3:.2f} core "
                          f"({step['server_cpu'] / max(1, rate * 3) * 1e6:.0f} us per join), generator {step['cpu']:.1f} s",
                          flush=True)
                    time.sleep(1.0)
                    if step["p99"] < 0.1 and step["ok_share"] >= 0.99 and step["achieved"] >= 0.9 * rate:
                        return True
                return False

            c, rate = 0.0, 100.0
            while rate < 20000 and holds(rate):  # rates x1.4 up to the first that does not hold ...
                c, rate = rate, rate * 1.4
            high = rate
            for _ in range(2 if c else 0):  # ... then halve the gap twice: C to within ~9% instead of 40%
                middle = math.sqrt(c * high)
                if holds(middle):
                    c = middle
                else:
                    high = middle
            passed = [step for rate, step in steps if rate == c]
            c_cpu = passed[-1]["server_cpu"] / max(1, c * 3) if passed else float("nan")
            stop.set()
            if voices is not None:
                voices.join(timeout=10)
            api.post(f"/api/v1/spaces/{calib}/end")
            if voices is not None:  # the speakers must have been on the air, or C is not the night's
                print(f"  calibration speakers: {calib_audio['sent']:,} of {calib_audio['due']:,} chunks sent, "
                      f"{calib_audio['closed_clean']}/2 closed cleanly, errors {calib_audio['errors'][:2]}", flush=True)
            if not c:  # not even the first step held: the machine is that busy
                c, c_cpu = 50.0, steps[0][1]["server_cpu"] / max(1, steps[0][0] * 3)
        else:
            c, c_cpu = args.c, float("nan")
        print(f"C = {c:,.0f} joins/s; the night: T0 = {t0:.0f} s, {end:.0f} s in all ...", flush=True)

        start_wall = time.time() + 3.0
        scheduled = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_wall + t0))
        sid = api.post("/api/v1/spaces", data={"title": "The night", "scheduled_at": scheduled}).json()["id"]
        cfg = {"port": proxy_port, "space_id": sid, "start_wall": start_wall, "c": c, "t0": t0, "scale": s,
               "junk_from": junk_from, "end": end, "hls_tail": 10.0, "connections": args.connections,
               "junk_connections": args.junk_connections, "warm": min(args.connections, 256),
               "ignorer_interval": tuple(float(x) for x in args.ignorer_interval.split(",")),
               "slow_clients": 50 // args.processes, "listeners": args.listeners // args.processes,
               "shares": args.processes, "pin": load_cpus, "server_cpus": server_cpus, "server_pid": server.pid,
               "bounds": [0.0, t0, t0 + s, t0 + 11 * s, t0 + 21 * s], "c_cpu": c_cpu, "app_port": app_port}
        log = tmp / "access.log"
        queue: multiprocessing.Queue = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=generator_process, args=(dict(cfg, share=i), queue))
                   for i in range(args.processes)]
        for w in workers:
            w.start()
        host_stats = {"speakers": {"sent": 0, "due": 0, "closed_clean": 0, "errors": []}, "control": {"codes": {}, "lat": []},
                      "server_cpu_at": [], "limiter": []}
        cpu_server, cpu_nginx = cpu_seconds(server.pid), cpu_seconds(proxy.pid, children=True)
        wall = time.time()
        asyncio.run(conduct(cfg, host_token, speaker_token, speaker_id, host_stats))
        results = [queue.get() for _ in workers]
        for w in workers:
            w.join()
        api.post(f"/api/v1/spaces/{sid}/end")  # only now: clients still in line would be told it has ended
        cpu_server, cpu_nginx = cpu_seconds(server.pid) - cpu_server, cpu_seconds(proxy.pid, children=True) - cpu_nginx
        cfg["wall"] = time.time() - wall
        metrics = httpx.get(f"http://127.0.0.1:{app_port}/metrics").text
        playlist = httpx.get(f"http://127.0.0.1:{app_port}/spaces/{sid}/live.m3u8").text
        lines = log.read_text().splitlines()
        origin = [next((f for f in line.split() if f.startswith("/")), "") for line in lines
                  if not line.split(" ", 2)[-1].startswith("-")]  # the uri field ($upstream_addr may hold "a : b")
        started = [line.split() for line in lines if f"/api/v1/spaces/{sid}/start " in line]
        if started:  # where the host's start spent its time: from nginx on (the app, one upstream), or before nginx
            host_stats["start_nginx"] = started[0][1]
        cfg["app_requests"] = app_requests(lines, cfg)
    finally:
        for process in (proxy, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)
        uncap(group)

    report(args, c, cost, cfg, results, host_stats, origin, playlist, metrics, cpu_server, cpu_nginx)
    if args.keep:
        print("kept:", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def app_requests(lines: list[str], cfg: dict) -> list[dict[str, int]]:
    """Per phase, the requests nginx passed to the app, by what they were and what the app answered (its log)."""
    sid, out = cfg["space_id"], [{} for _ in PHASES]
    for line in lines:
        # the log's first fields: did the join carry a waiting-room token (1) or not (0), and nginx's time for it
        in_line, _, *fields = line.split()
        try:
            uri_at = next(i for i, f in enumerate(fields) if f.startswith("/"))
            at = float(fields[-1]) - cfg["start_wall"]
        except (StopIteration, ValueError):
            continue
        if not 0 <= at < cfg["bounds"][-1]:
            continue
        uri = fields[uri_at]
        addrs = [f for f in fields[:uri_at - 1] if f not in (":", ",")]
        codes = [f for f in fields[uri_at + 2:-1] if f not in (":", ",", "-")]
        if uri == f"/api/v1/spaces/{sid}/join":
            # a join that found the crowd's upstream full goes on to the ticket lane
            kinds = ["join in line", "ticket"] if in_line == "1" else ["join newcomer", "ticket"]
        elif re.match(r"^/api/v1/spaces/[0-9]+/join$", uri):
            kinds = ["unknown room join", "unknown room ticket"]
        elif uri == "/_townsquare_line" or uri.endswith("/queue_line"):  # nginx logs the subrequest by its location
            kinds = ["line check"]
        elif "/search" in uri:
            kinds = ["search"]
        elif uri.endswith(".m3u8"):
            kinds = ["playlist"]
        elif uri.endswith(".ts"):
            kinds = ["segment"]
        else:
            kinds = ["other"]
        for i, (addr, code) in enumerate(zip(addrs, codes)):
            if not addr[0].isdigit():  # nginx found the upstream full: nothing reached the app
                continue
            key = f"{kinds[min(i, len(kinds) - 1)]} {code}"
            phase = out[phase_of(at, cfg["t0"], cfg["scale"])]
            phase[key] = phase.get(key, 0) + 1
    return out


def report(args, c, cost, cfg, results, host, origin, playlist, metrics, cpu_server, cpu_nginx) -> None:
    """Print the table: every figure with its target."""
    st = {k: sum(r["st"][k] for r in results) for k in results[0]["st"]}
    lat = {k: [x for r in results for x in r["lat"][k]] for k in results[0]["lat"]}
    ok_at = sorted(x for r in results for x in r["ok_at"])
    start, t0, s = cfg["start_wall"], cfg["t0"], cfg["scale"]

    def goodput(a: float, b: float) -> float:
        return sum(1 for x in ok_at if start + a <= x < start + b) / (b - a)

    sid = cfg["space_id"]
    seg_origin = sum(1 for uri in origin if re.match(rf"^/spaces/{sid}/seg\d+\.ts$", uri))
    list_origin = sum(1 for uri in origin if re.match(rf"^/spaces/{sid}/live\.m3u8$", uri))
    segments = sorted({n for r in results for n in r["segments"]})
    missing = (segments[-1] - segments[0] + 1 - len(segments)) if segments else 0
    gaps = sum(r["listener_gaps"] for r in results)
    discontinuities = playlist.count("#EXT-X-DISCONTINUITY")
    control = host["control"]
    served = control["codes"].get(200, 0)
    asked = sum(control["codes"].values())
    speakers = host["speakers"]
    audio_share = speakers["sent"] / speakers["due"] if speakers["due"] else 0.0
    junk_codes: dict[str, int] = {}
    for r in results:
        for k, v in r["junk_codes"].items():
            junk_codes[k] = junk_codes.get(k, 0) + v
    failed = st["failed"] + st["gave_up"]
    overload = goodput(t0, t0 + 11 * s)
    sent = sum(r["sent"] for r in results)
    gen_cpu = sum(r["cpu"] for r in results)
    ph = {k: [sum(r["ph"][k][i] for r in results) for i in range(len(PHASES))] for k in results[0]["ph"]}
    late = [[x for r in results for x in r["late"][i]] for i in range(len(PHASES))]
    bounds = [(0.0, t0), (t0, t0 + s), (t0 + s, t0 + 11 * s), (t0 + 11 * s, t0 + 21 * s)]
    planned_over = sum(ph["legit_planned"][1:3])
    offered_over = sum(ph["legit_offered"][1:3])
    rows = [
        ("C (joins/s at p99 < 100 ms, through nginx" + ("" if args.calibrate_silent else ", two speakers on the air") + ")",
         f"{c:,.0f}", "calibrated", ""),
        ("host start latency", f"{host.get('start_latency', float('nan')) * 1000:.0f} ms (HTTP {host.get('start_code')}; "
                               f"from nginx on {host.get('start_nginx', '?')} s)",
         "< 1 s", host.get("start_latency", 9) < 1 and host.get("start_code") == 200),
        ("first segment after T0 (playlist through nginx)", f"{host.get('first_segment', float('nan')):.2f} s", "", ""),
        ("legit clients", f"{st['legit']:,}", "", ""),
        ("joined (200: live, or waiting in the scheduled room)", f"{st['joined']:,}", "all", st["joined"] == st["legit"]),
        ("  of which waited in line first (429/503, then 200)", f"{st['waited_then_joined']:,}", "", ""),
        ("failed joins (error, or not in after 90 s)", f"{failed:,} ({st['failed']} errors, {st['gave_up']} gave up)",
         "0", failed == 0),
        ("goodput of joins, T0 second (10 C offered)", f"{goodput(t0, t0 + s):,.0f}/s = {goodput(t0, t0 + s) / c:.2f} C", "", ""),
        ("goodput of joins, T0 .. T0+11 s (overload)", f"{overload:,.0f}/s = {overload / c:.2f} C", ">= 0.9 C",
         overload >= 0.9 * c),
        ("goodput of joins, the C phase after", f"{goodput(t0 + 11 * s, t0 + 21 * s) / c:.2f} C", "", ""),
        ("p99 join (200)", f"{pct(lat['join'], 0.99) * 1000:.0f} ms", "", ""),
        ("p99 waiting-room answer (429)", f"{pct(lat['waiting'], 0.99) * 1000:.0f} ms ({len(lat['waiting']):,})", "", ""),
        ("p99 shed answer (503)", f"{pct(lat['shed'], 0.99) * 1000:.0f} ms ({len(lat['shed']):,})", "", ""),
        ("p99 junk", f"{pct(lat['junk'], 0.99) * 1000:.0f} ms ({st['junk_sent']:,} sent)", "", ""),
        ("p99 HLS through nginx", f"{pct(lat['hls'], 0.99) * 1000:.0f} ms ({len(lat['hls']):,})", "", ""),
        ("p99 host control", f"{pct(control['lat'], 0.99) * 1000:.0f} ms", "", ""),
        ("host control served", f"{served}/{asked} ({control['codes']})", "100%", asked > 0 and served == asked),
        ("speaker audio served (2 speakers, 20 ms chunks sent on time, socket open to the end)",
         f"{audio_share:.1%}, {speakers['closed_clean']}/2 closed cleanly {speakers['errors'] or ''}", "100%",
         audio_share >= 0.999 and not speakers["errors"] and speakers["closed_clean"] == 2),
        ("shed cost per request (in-process CPU, vs a join)",
         f"{cost['shed'] * 1e6:.0f} us vs {cost['join'] * 1e6:.0f} us = {cost['shed'] / cost['join']:.1%}", "<= 5%",
         "" if args.no_cost else cost["shed"] <= 0.05 * cost["join"]),
        ("waiting-room answer cost (in-process CPU)", f"{cost['waiting'] * 1e6:.0f} us = {cost['waiting'] / cost['join']:.1%} of a join",
         "", ""),
        ("a join to a room never seen, looked up (in-process CPU; 5/s at most)",
         f"{cost.get('unknown', float('nan')) * 1e6:.0f} us = {cost.get('unknown', float('nan')) / cost['join']:.0%} of a join", "", ""),
        ("origin requests per segment (segment fetches)", f"{seg_origin / max(1, len(segments)):.2f} ({seg_origin}/{len(segments)})",
         "<= 1.1", bool(segments) and seg_origin <= 1.1 * len(segments)),
        ("  playlist fetches reaching the origin, per segment", f"{list_origin / max(1, len(segments)):.2f}", "", ""),
        ("segment continuity (missing in the union / per listener gaps)", f"{missing} / {gaps}, "
         f"{discontinuities} discontinuities", "no missing segment",
         bool(segments) and missing == 0 and gaps == 0 and discontinuities == 0),
        ("server CPU during the night (and the share of one core it got)",
         f"{cpu_server:.1f} s = {cpu_server / cfg['wall']:.2f} core over {cfg['wall']:.0f} s, nginx {cpu_nginx:.1f} s", "", ""),
        ("generator: legit first tries, planned vs offered on time, T0 .. T0+11 s",
         f"{planned_over / (11 * s):,.0f}/s vs {offered_over / (11 * s):,.0f}/s "
         f"({offered_over / max(1, planned_over):.1%}), mean {st['late_s'] / max(1, st['legit']) * 1000:.0f} ms late",
         "all", offered_over >= 0.98 * planned_over),
        ("generator: requests sent, connections opened, pipelined, its own CPU",
         f"{sent:,} in {cfg['wall']:.0f} s, {sum(r['opened'] for r in results):,} opened, "
         f"{sum(r['piped'] for r in results):,} pipelined, CPU {gen_cpu:.1f} s = {gen_cpu / cfg['wall']:.2f} core", "", ""),
        ("connection errors (generator side)", f"{st['conn_errors']:,}", "", ""),
    ]
    print()
    placed = (f"server pinned to CPU {sorted(cfg['server_cpus'])}, nginx + generator to {sorted(cfg['pin'])}"
              if cfg.get("server_cpus") else "not pinned")
    if args.server_cores:
        placed += f"; the server held to {args.server_cores:g} core (CPU cgroup)"
    print(f"The night: T0 = {t0:.0f} s, scale {s:g}, {cfg['listeners'] * cfg['shares']} HLS listeners, "
          f"{cfg['shares']} generator processes on this machine's {os.cpu_count()} cores ({placed}); "
          f"load average {os.getloadavg()[0]:.1f} at the end; clients ignoring Retry-After retry every "
          f"{cfg['ignorer_interval'][0]:g}-{cfg['ignorer_interval'][1]:g} s")
    width = max(len(r[0]) for r in rows)
    print(f"| {'figure':<{width}} | measured | target | met |")
    print(f"|{'-' * (width + 2)}|---|---|---|")
    for name, value, target, met in rows:
        mark = "" if met == "" else ("yes" if met else "NO")
        print(f"| {name:<{width}} | {value} | {target} | {mark} |")
    print()
    print("Per phase (rates per second; legit first tries are offered when written to a socket, late by how much; "
          "retries are the legit clients' own, obeying Retry-After or not):")
    print("| phase | legit planned | legit offered | late p50 / p99 | retries obeying / ignoring | junk planned | junk offered "
          "| joined (goodput) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for i, name in enumerate(PHASES):
        a, b = bounds[i]
        span = max(1e-9, b - a)
        print(f"| {name} | {ph['legit_planned'][i] / span:,.0f} | {ph['legit_offered'][i] / span:,.0f} "
              f"({ph['legit_offered'][i] / max(1, ph['legit_planned'][i]):.0%}) | {pct(late[i], 0.5) * 1000:.0f} / "
              f"{pct(late[i], 0.99) * 1000:.0f} ms | {ph['retry_obeying'][i] / span:,.0f} / {ph['retry_ignoring'][i] / span:,.0f} "
              f"| {ph['junk_planned'][i] / span:,.0f} | {ph['junk_offered'][i] / span:,.0f} | "
              f"{goodput(a, b):,.0f} = {goodput(a, b) / c:.2f} C |")
    print()
    cpu_at = host["server_cpu_at"]
    print("Per phase, the server: its CPU (share of a core), joins admitted per server CPU-second (calibration at C: "
          f"{1 / cfg['c_cpu'] if cfg['c_cpu'] == cfg['c_cpu'] else float('nan'):,.0f}), and what reached it (nginx's log):")
    for i, name in enumerate(PHASES):
        a, b = bounds[i]
        used = cpu_at[i + 1] - cpu_at[i] if len(cpu_at) > i + 1 else float("nan")
        reached = cfg.get("app_requests", [{}] * len(PHASES))[i]
        seen = [x for x in host["limiter"] if a <= x[0] < b and x[1] is not None]
        limiter = (f"limit {sum(x[1] for x in seen) / len(seen):.0f}, in flight {sum(x[2] for x in seen) / len(seen):.0f}, "
                   f"min RTT {sum(x[3] for x in seen) / len(seen) * 1000:.1f} ms ({len(seen)} samples)" if seen else "no sample")
        print(f"  {name}: {used / (b - a):.2f} core, {goodput(a, b) * (b - a) / used if used else float('nan'):,.0f} joins per "
              f"CPU-s; limiter: {limiter}; {sum(reached.values()) / (b - a):,.0f}/s reached the app: "
              + ", ".join(f"{k} {v / (b - a):,.0f}/s" for k, v in sorted(reached.items(), key=lambda kv: -kv[1])))
    print()
    print("junk answers (and legit failures):", ", ".join(f"{k}: {v:,}" for k, v in sorted(junk_codes.items())))
    shed_lines = [line for line in metrics.splitlines() if line.startswith("townsquare_shed_requests_total")]
    print("server's shed counters:", "; ".join(shed_lines))


if __name__ == "__main__":
    main()
