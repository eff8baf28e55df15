"""Timeline benchmarks against real `townsquare` processes on loopback, in both modes.

Usage:
  .venv/bin/python bench/timelines.py [--modes embedded,scale-out] [--duration 10]
                                      [--fanout 1000,10000,100000] [--hybrid 1000000]
                                      [--parts home,posting,fanout]

For each mode it starts the servers (embedded: one `serve` on SQLite; scale-out: PostgreSQL +
Redis, `serve --workers 2` and one `worker`), then measures with wrk (installed if missing):
  * home timeline reads at concurrency 32, for a reader following 100 accounts x 50 posts;
  * posting at concurrency 8;
  * fan-out: seconds from a post's response until every follower's home feed holds it;
  * hybrid delivery: a post by an account with --hybrid followers, visible in a follower's home.
Prints one table per mode. Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 for scale-out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"], check=True,
                       stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def cli(env: dict, *args: str) -> str:
    out = subprocess.run([str(BIN / "townsquare"), *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"townsquare {' '.join(args)} failed: {out.stderr}")
    return out.stdout.strip()


class Cluster:
    """The processes of one mode, started fresh in a temp dir."""

    def __init__(self, mode: str, tmp: Path, extra_env: dict | None = None):
        self.mode, self.tmp, self.procs = mode, tmp, []
        self.data_dir = tmp / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
        # One wrk client and one token stand in for thousands of users: per-token/IP rate limits off.
        self.env.update(TOWNSQUARE_DOMAIN=f"127.0.0.1:{self.port}", TOWNSQUARE_SECRET_KEY="bench",
                        TOWNSQUARE_LOG_LEVEL="error", TOWNSQUARE_RATE_LIMITS_ENABLED="false", **(extra_env or {}))
        self.pg_name = None
        if mode == "scale-out":
            self.pg_name = f"townsquare_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg(f'CREATE DATABASE "{self.pg_name}"'))
            self.env.update(TOWNSQUARE_DATABASE_URL=f"{PG.replace('postgresql://', 'postgresql+asyncpg://')}/{self.pg_name}",
                            TOWNSQUARE_REDIS_URL=REDIS, TOWNSQUARE_REDIS_PREFIX=f"bench:{self.pg_name}:",
                            TOWNSQUARE_RUN_JOBS_IN_PROCESS="false")

    def start(self) -> None:
        cli(self.env, "migrate", "--data-dir", str(self.data_dir))
        serve = [str(BIN / "townsquare"), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        if self.mode == "scale-out":
            serve += ["--workers", "2"]
            self._spawn([str(BIN / "townsquare"), "worker", "--data-dir", str(self.data_dir)], "worker")
        self._spawn(serve, "serve")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/instance", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def _spawn(self, cmd: list[str], name: str) -> None:
        log = open(self.tmp / f"{name}.log", "wb")
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
            import redis

            client = redis.Redis.from_url(REDIS)
            keys = list(client.scan_iter(match=f"bench:{self.pg_name}:*", count=5000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i:i + 1000])

    def account(self, name: str) -> tuple[str, str]:
        """Create an account with the CLI; return (id, token)."""
        account_id = cli(self.env, "accounts", "create", name, "--email", f"{name}@bench.invalid", "--password",
                         "bench password 123", "--data-dir", str(self.data_dir)).splitlines()[-1]
        token = cli(self.env, "accounts", "token", name, "--data-dir", str(self.data_dir)).splitlines()[-1]
        return account_id, token

    def database(self):
        from townsquare.config import Settings
        from townsquare.storage.db import Database

        return Database(Settings(**_settings_env(self.env, self.data_dir)).effective_database_url)


def _settings_env(env: dict, data_dir: Path) -> dict:
    out = {"data_dir": data_dir}
    if "TOWNSQUARE_DATABASE_URL" in env:
        out["database_url"] = env["TOWNSQUARE_DATABASE_URL"]
    return out


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed_authors(cluster: Cluster, authors: int, posts: int) -> list[int]:
    """Insert authors with posts straight into the database (fast); return their ids."""
    from townsquare.core.clock import now
    from townsquare.core.ids import new_id
    from townsquare.storage.tables import accounts, statuses

    db = cluster.database()
    ids = []
    try:
        async with db.write() as conn:
            stamp = now()
            people, rows = [], []
            for a in range(authors):
                aid = new_id()
                ids.append(aid)
                people.append(dict(id=aid, username=f"writer{a}", username_lower=f"writer{a}", display_name=f"Writer {a}",
                                   note="", locked=False, bot=False, discoverable=True, fields=[], email=f"w{a}@bench.invalid",
                                   password_hash="!", role="user", approved=True, default_visibility="public",
                                   default_sensitive=False, statuses_count=posts, followers_count=0, following_count=0,
                                   created_at=stamp, last_active_at=stamp))
            await conn.execute(accounts.insert(), people)
            for p in range(posts):
                for aid in ids:
                    text = f"post {p} by {aid}: a benchmark status with a few words in it #bench"
                    rows.append(dict(id=new_id(), account_id=aid, text=text, content=f"<p>{text}</p>", spoiler_text="",
                                     visibility="public", sensitive=False, language="en", in_reply_to_id=None,
                                     in_reply_to_account_id=None, reblog_of_id=None, application_id=None,
                                     replies_count=0, reblogs_count=0, favourites_count=0, created_at=stamp))
            for i in range(0, len(rows), 2000):
                await conn.execute(statuses.insert(), rows[i:i + 2000])
    finally:
        await db.dispose()
    return ids


def wrk(url: str, token: str, connections: int, duration: int, script: str | None = None) -> dict:
    cmd = [ensure_wrk(), "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-H", f"Authorization: Bearer {token}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": ms("50%"), "p99": ms("99%"),
            "errors": int(non2xx.group(1)) if non2xx else 0, "requests": int(total.group(1)) if total else 0}


POST_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local body = "status=benchmark+post+number+" .. counter .. "+from+thread+" .. tostring(math.random(1, 1000000))
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", "/api/v1/statuses", headers, body)
end
"""


async def fanout_seconds(cluster: Cluster, token: str, author_id: str, followers: int) -> tuple[float, float]:
    """Post once; return (post response ms, seconds until every follower's feed holds the status)."""
    from sqlalchemy import func, select

    from townsquare.storage.tables import feed_entries, follows, jobs

    async with httpx.AsyncClient(timeout=120) as http:
        t0 = time.perf_counter()
        r = await http.post(f"{cluster.url}/api/v1/statuses", data={"status": f"fan-out to {followers}"},
                            headers={"Authorization": f"Bearer {token}"})
        t1 = time.perf_counter()
    r.raise_for_status()
    sid = int(r.json()["id"])
    db = cluster.database()
    try:
        while True:
            async with db.read() as conn:
                pending = (await conn.execute(select(func.count()).select_from(jobs).where(jobs.c.kind == "fan_out_status"))).scalar_one()
            if pending == 0:
                break
            await asyncio.sleep(0.005)
        t2 = time.perf_counter()
        async with db.read() as conn:
            follower_ids = [x[0] for x in await conn.execute(select(follows.c.account_id).where(follows.c.target_account_id == int(author_id)))]
            if cluster.mode == "embedded":
                have = (await conn.execute(select(func.count()).select_from(feed_entries).where(feed_entries.c.status_id == sid))).scalar_one() - 1
            else:
                import redis.asyncio as redis

                client = redis.from_url(REDIS)
                pipe = client.pipeline(transaction=False)
                for fid in follower_ids:
                    pipe.zscore(f"{cluster.env['TOWNSQUARE_REDIS_PREFIX']}feed:home:{fid}", f"{sid:020d}")
                have = sum(1 for x in await pipe.execute() if x is not None)
                await client.aclose()
        if have != len(follower_ids):
            raise RuntimeError(f"only {have} of {len(follower_ids)} feeds got the status")
    finally:
        await db.dispose()
    return (t1 - t0) * 1000, t2 - t1


def run_mode(mode: str, args) -> list[str]:
    lines = [f"## {mode}"]
    tmp = Path(tempfile.mkdtemp(prefix=f"tsbench-{mode}-"))
    cluster = Cluster(mode, tmp, {"TOWNSQUARE_HYBRID_THRESHOLD": str(args.hybrid_threshold)})
    try:
        cluster.start()
        reader_id, reader_token = cluster.account("reader")
        authors = asyncio.run(seed_authors(cluster, 100, 50))
        with httpx.Client(timeout=60) as http:
            for aid in authors:
                http.post(f"{cluster.url}/api/v1/accounts/{aid}/follow", headers={"Authorization": f"Bearer {reader_token}"}).raise_for_status()
            page = http.get(f"{cluster.url}/api/v1/timelines/home", headers={"Authorization": f"Bearer {reader_token}"}).json()
        assert len(page) == 20, page
        if "home" in args.parts:
            home = wrk(f"{cluster.url}/api/v1/timelines/home", reader_token, 32, args.duration)
            lines.append(f"home timeline reads, c=32: {home['rps']:.0f} req/s, p50 {home['p50']:.1f} ms, p99 {home['p99']:.1f} ms "
                         f"({home['requests']} requests, {home['errors']} non-2xx)")
        if "posting" in args.parts:
            lines.append(posting(cluster, tmp, args))
            time.sleep(3)  # let the posting burst's fan-out jobs drain before timing single posts
        for n in (args.fanout if "fanout" in args.parts else []):
            name = f"star{n}"
            author_id, token = cluster.account(name)
            t0 = time.perf_counter()
            cli(cluster.env, "bench", "seed-followers", name, "--count", str(n), "--data-dir", str(cluster.data_dir))
            seeded = time.perf_counter() - t0
            post_ms, delivered = asyncio.run(fanout_seconds(cluster, token, author_id, n))
            target = "  [target < 500 ms on Redis: " + ("met]" if delivered < 0.5 else "not met]") if n == 100_000 and mode == "scale-out" else ""
            lines.append(f"fan-out to {n:,} followers: post {post_ms:.0f} ms, all feeds after {delivered * 1000:.0f} ms "
                         f"(seeding {n:,} followers took {seeded:.1f} s){target}")
    finally:
        cluster.stop()
    if args.hybrid:
        lines.append(hybrid(mode, args))
    shutil.rmtree(tmp, ignore_errors=True)
    return lines


def posting(cluster: Cluster, tmp: Path, args) -> str:
    """Posting at c=8 with wrk; checks afterwards that every acknowledged post is in the database."""
    from sqlalchemy import func, select

    from townsquare.storage.tables import jobs, statuses

    poster_id, poster_token = cluster.account("poster")
    script = tmp / "post.lua"
    script.write_text(POST_LUA)
    cpu0 = _server_cpu(cluster)
    post = wrk(f"{cluster.url}/api/v1/statuses", poster_token, 8, args.duration, str(script))
    cpu_at_end = _server_cpu(cluster) - cpu0

    async def count(query) -> int:
        db = cluster.database()
        try:
            async with db.read() as conn:
                return (await conn.execute(query)).scalar_one()
        finally:
            await db.dispose()

    # The CPU per post counts each post's fan-out job: fan-outs still queued when wrk stops are waited for (their
    # CPU is the posts' too; a runner that falls behind would otherwise look cheaper the further behind it is).
    waiting = select(func.count()).select_from(jobs).where(jobs.c.kind == "fan_out_status")
    backlog = asyncio.run(count(waiting))
    deadline, drained = time.monotonic() + 120, backlog == 0
    while not drained and time.monotonic() < deadline:
        time.sleep(0.1)
        drained = asyncio.run(count(waiting)) == 0
    cpu = _server_cpu(cluster) - cpu0
    kept = asyncio.run(count(select(func.count()).select_from(statuses).where(statuses.c.account_id == int(poster_id))))
    ok = post["requests"] - post["errors"]
    target = ("  [target >= 1,000/s: " + ("met]" if post["rps"] >= 1000 else "not met]")) if cluster.mode == "embedded" else ""
    return (f"posting, c=8: {post['rps']:.0f} req/s, p50 {post['p50']:.1f} ms, p99 {post['p99']:.1f} ms "
            f"({post['requests']} requests, {post['errors']} non-2xx; {kept} stored, >= {ok} acknowledged: "
            f"{'none lost' if kept >= ok else 'LOST POSTS'}; server CPU {cpu / max(ok, 1) * 1000:.2f} ms per post "
            f"incl. its fan-out job; {backlog} fan-outs still queued when wrk stopped"
            f"{'' if drained else ', NOT DRAINED in 120 s'}, {cpu_at_end / max(ok, 1) * 1000:.2f} ms per post "
            f"without them){target}")


def _server_cpu(cluster: Cluster) -> float:
    """CPU seconds used so far by the cluster's processes and their children (the uvicorn workers)."""
    total = 0.0
    for p in cluster.procs:
        pids = [str(p.pid)]
        try:
            pids += Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
        except OSError:
            pass
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def hybrid(mode: str, args) -> str:
    """A post by an account with a huge following: constant write cost, visible at once to a follower."""
    tmp = Path(tempfile.mkdtemp(prefix=f"tsbench-hybrid-{mode}-"))
    cluster = Cluster(mode, tmp)
    try:
        cluster.start()
        star_id, star_token = cluster.account("megastar")
        t0 = time.perf_counter()
        cli(cluster.env, "bench", "seed-followers", "megastar", "--count", str(args.hybrid), "--data-dir", str(cluster.data_dir))
        seeded = time.perf_counter() - t0
        fan_id, fan_token = cluster.account("fan")
        with httpx.Client(timeout=60) as http:
            http.post(f"{cluster.url}/api/v1/accounts/{star_id}/follow", headers={"Authorization": f"Bearer {fan_token}"}).raise_for_status()
            t1 = time.perf_counter()
            r = http.post(f"{cluster.url}/api/v1/statuses", data={"status": "to my million followers"},
                          headers={"Authorization": f"Bearer {star_token}"})
            t2 = time.perf_counter()
            sid = r.json()["id"]
            while True:
                ids = [s["id"] for s in http.get(f"{cluster.url}/api/v1/timelines/home", headers={"Authorization": f"Bearer {fan_token}"}).json()]
                if sid in ids:
                    break
            t3 = time.perf_counter()
            reads = wrk(f"{cluster.url}/api/v1/timelines/home", fan_token, 32, args.duration)
        return (f"hybrid: account with {args.hybrid + 1:,} followers posts in {(t2 - t1) * 1000:.0f} ms; in a follower's home "
                f"{(t3 - t2) * 1000:.0f} ms after the response; that follower's home reads {reads['rps']:.0f} req/s "
                f"p99 {reads['p99']:.1f} ms (seeding took {seeded:.1f} s)")
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="embedded,scale-out")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--fanout", default="1000,10000,100000")
    parser.add_argument("--hybrid", type=int, default=1_000_000)
    parser.add_argument("--parts", default="home,posting,fanout", help="which measurements to take (default all)")
    parser.add_argument("--hybrid-threshold", type=int, default=10_000_000,
                        help="threshold during the fan-out runs, so that 100,000 followers are fanned out (default 10M)")
    args = parser.parse_args()
    args.fanout = [int(x) for x in args.fanout.split(",") if x]
    print(f"# townsquare timeline benchmarks, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for mode in args.modes.split(","):
        for line in run_mode(mode, args):
            print(line, flush=True)


if __name__ == "__main__":
    main()
