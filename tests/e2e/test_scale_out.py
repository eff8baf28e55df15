"""The scale-out mode for real: two server processes and a worker process sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, REDIS_URL, _drop_redis_prefix, _pg_admin
from tests.e2e.conftest import _cli_create, _free_port, _townsquare_cmd, wait_for


def _wait_up(url: str, process: subprocess.Popen, log_path) -> None:
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}: {log_path.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/instance", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {log_path.read_text()}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Servers A and B (no in-process jobs) and one `townsquare worker`, on one PostgreSQL database and Redis prefix."""
    tmp = tmp_path_factory.mktemp("cluster")
    name = f"townsquare_cluster_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    prefix = f"tscluster:{name}:"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(
        TOWNSQUARE_DATABASE_URL=PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}",
        TOWNSQUARE_REDIS_URL=REDIS_URL, TOWNSQUARE_REDIS_PREFIX=prefix, TOWNSQUARE_RUN_JOBS_IN_PROCESS="false",
        TOWNSQUARE_SECRET_KEY="cluster-secret", TOWNSQUARE_DOMAIN="cluster.test", TOWNSQUARE_LOG_LEVEL="warning",
        # The job lease stays at its 300 s default: a dead worker's jobs are taken over through its stopped heartbeat.
        TOWNSQUARE_HYBRID_THRESHOLD="1000000",  # the kill test fans out to 40,000 followers for real
    )
    data_dir = tmp / "data"
    accounts = [_cli_create(data_dir, env, "node") for _ in range(2)]  # also migrates the database
    processes, logs = [], []
    try:
        urls = []
        for label in ("a", "b"):
            port = _free_port()
            log_path = tmp / f"serve-{label}.log"
            logs.append(log_path)
            proc = subprocess.Popen([*_townsquare_cmd(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
                                    env=env, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
            processes.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
        worker_log = tmp / "worker.log"
        logs.append(worker_log)
        worker = subprocess.Popen([*_townsquare_cmd(), "worker", "--data-dir", str(data_dir)],
                                  env=env, stdout=open(worker_log, "wb"), stderr=subprocess.STDOUT)
        processes.append(worker)
        for url, proc, log_path in zip(urls, processes, logs):
            _wait_up(url, proc, log_path)
        tokens = []
        for _, username, _ in accounts:
            out = subprocess.run([*_townsquare_cmd(), "accounts", "token", username, "--data-dir", str(data_dir)],
                                 env=env, capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            tokens.append(out.stdout.strip().splitlines()[-1])
        yield {"urls": urls, "accounts": accounts, "tokens": tokens, "env": env, "data_dir": data_dir,
               "worker": worker}
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        _drop_redis_prefix(prefix)
        for log_path in logs:
            text = log_path.read_text(errors="replace")
            assert "Traceback" not in text, text


def test_post_through_one_server_read_and_stream_through_the_other(cluster):
    url_a, url_b = cluster["urls"]
    (author_id, _, _), (reader_id, _, _) = cluster["accounts"]
    author = {"Authorization": f"Bearer {cluster['tokens'][0]}"}
    reader = {"Authorization": f"Bearer {cluster['tokens'][1]}"}
    assert httpx.post(f"{url_b}/api/v1/accounts/{author_id}/follow", headers=reader).json()["following"] is True

    received: list[dict] = []
    ready = threading.Event()

    def listen() -> None:
        # Mastodon's server-sent events stream of the reader's home timeline, served by server B.
        with httpx.stream("GET", f"{url_b}/api/v1/streaming/user", headers=reader, timeout=15) as response:
            assert response.status_code == 200
            ready.set()
            event = None
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "update":
                    received.append(json.loads(line.split(":", 1)[1]))
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    time.sleep(0.3)  # let server B's subscription reach Redis
    posted = httpx.post(f"{url_a}/api/v1/statuses", headers=author, data={"status": "hello from server A"})
    assert posted.status_code == 200, posted.text
    status_id = posted.json()["id"]

    # The worker process fans out; server B reads the Redis feed.
    home = wait_for(lambda: [s["id"] for s in httpx.get(f"{url_b}/api/v1/timelines/home", headers=reader).json()
                             if s["id"] == status_id], timeout=10)
    assert home == [status_id]
    thread.join(10)
    assert [s["id"] for s in received] == [status_id]


def test_jobs_command_shows_an_empty_queue_after_the_worker_ran(cluster):
    url_a, _ = cluster["urls"]
    author = {"Authorization": f"Bearer {cluster['tokens'][0]}"}
    for n in range(5):
        assert httpx.post(f"{url_a}/api/v1/statuses", headers=author, data={"status": f"burst {n}"}).status_code == 200

    def queue_empty():
        out = subprocess.run([*_townsquare_cmd(), "jobs", "--data-dir", str(cluster["data_dir"])], env=cluster["env"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return "(no jobs waiting)" in out.stdout and out

    assert wait_for(queue_empty, timeout=15, interval=0.5)


def test_deploy_nginx_config_balances_both_servers(cluster, tmp_path):
    """deploy/nginx.conf, pointed at the two servers, serves the API and the stream through nginx."""
    import shutil
    from pathlib import Path

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    ports = [u.rsplit(":", 1)[1] for u in cluster["urls"]]
    listen = _free_port()
    conf = (deploy / "nginx.conf").read_text()
    conf = conf.replace("127.0.0.1:8001", f"127.0.0.1:{ports[0]}").replace("127.0.0.1:8002", f"127.0.0.1:{ports[1]}")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    (tmp_path / "nginx.conf").write_text(conf)
    main = (deploy / "nginx-main.conf").read_text().replace("/tmp/townsquare-nginx.pid", str(tmp_path / "nginx.pid"))
    main = main.replace("http {", f"http {{\n    client_body_temp_path {tmp_path}/body;\n    proxy_temp_path {tmp_path}/proxy;")
    (tmp_path / "main.conf").write_text(main)
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "main.conf"), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        front = f"http://127.0.0.1:{listen}"
        assert wait_for(lambda: _up(front), timeout=10), proc.stdout.read1().decode() if proc.poll() is not None else "nginx not up"
        reader = {"Authorization": f"Bearer {cluster['tokens'][1]}"}
        for _ in range(6):  # least_conn spreads these over both servers; every one must succeed
            assert httpx.get(f"{front}/api/v1/timelines/home", headers=reader).status_code == 200
        with httpx.stream("GET", f"{front}/api/v1/streaming/user", headers=reader, timeout=10) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
    finally:
        proc.terminate()
        proc.wait(10)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/instance", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_killing_a_worker_mid_job_loses_nothing(cluster, tmp_path):
    """A worker killed with SIGKILL in the middle of a fan-out: the job runs again elsewhere and every feed gets the post."""
    import signal

    import asyncpg
    import redis

    pg_url = cluster["env"]["TOWNSQUARE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")

    def sql(query: str, *args):
        async def run():
            conn = await asyncpg.connect(pg_url)
            try:
                return await conn.fetch(query, *args)
            finally:
                await conn.close()
        return asyncio.run(run())

    env, data_dir = cluster["env"], cluster["data_dir"]
    star_id, star_name, _ = _cli_create(data_dir, env, "star")
    out = subprocess.run([*_townsquare_cmd(), "bench", "seed-followers", star_name, "--count", "40000",
                          "--data-dir", str(data_dir)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    token = subprocess.run([*_townsquare_cmd(), "accounts", "token", star_name, "--data-dir", str(data_dir)],
                           env=env, capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[-1]
    worker = cluster["worker"]
    worker.send_signal(signal.SIGSTOP)  # the cluster's worker sleeps while a second one takes the job
    doomed = None
    try:
        r = httpx.post(f"{cluster['urls'][0]}/api/v1/statuses", headers={"Authorization": f"Bearer {token}"},
                       data={"status": "to forty thousand followers"})
        assert r.status_code == 200, r.text
        status_id = int(r.json()["id"])
        doomed = subprocess.Popen([*_townsquare_cmd(), "worker", "--data-dir", str(data_dir), "--batch", "1"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        mine = "SELECT state FROM jobs WHERE kind = 'fan_out_status' AND payload->>'status_id' = $1"

        def claimed():
            return [r["state"] for r in sql(mine, str(status_id))] == ["running"]

        assert wait_for(claimed, timeout=30, interval=0.02)
        doomed.kill()  # SIGKILL: no cleanup, the transaction is cut off mid-way
        doomed.wait(10)
        killed = time.monotonic()
        left = len(sql(mine, str(status_id)))
        assert left == 1, "the job finished before the kill; the test needs a bigger fan-out to catch it mid-way"
    finally:
        worker.send_signal(signal.SIGCONT)
        if doomed is not None and doomed.poll() is None:
            doomed.kill()

    def done():
        return not sql("SELECT id FROM jobs WHERE kind = 'fan_out_status'")

    def taken_over():  # claimed again (a second attempt) or already done
        rows = sql("SELECT attempts FROM jobs WHERE kind = 'fan_out_status' AND payload->>'status_id' = $1", str(status_id))
        return not rows or rows[0]["attempts"] >= 2

    assert wait_for(taken_over, timeout=60, interval=0.1)
    print(f"\nFAULT worker killed mid fan-out: job taken over {time.monotonic() - killed:.1f} s after the kill")
    assert wait_for(done, timeout=90, interval=0.5)
    print(f"FAULT worker killed mid fan-out: 40,000 feeds complete {time.monotonic() - killed:.1f} s after the kill")
    followers = [r["account_id"] for r in sql("SELECT account_id FROM follows WHERE target_account_id = $1", int(star_id))]
    client = redis.Redis.from_url(REDIS_URL)
    pipe = client.pipeline(transaction=False)
    for fid in followers:
        pipe.zscore(f"{env['TOWNSQUARE_REDIS_PREFIX']}feed:home:{fid}", f"{status_id:020d}")
    assert len(followers) == 40000
    assert sum(1 for v in pipe.execute() if v is not None) == 40000
    client.close()
