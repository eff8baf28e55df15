"""A full disk is an answer, not a crash: a real size-capped file system (tmpfs) as the data dir, filled up.

Writes get 507 and Mastodon's error shape, nothing half-written, reads keep working, a restart on the full
disk serves reads, and writes resume by themselves once space is freed. The PostgreSQL run proves the same
of a read-only database (its disk is the machine's, shared with others, so it is not filled)."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND, PG_ADMIN_URL
from tests.e2e.faults_support import home_ids, node, register, wait_until

FULL = {"error": "The server is out of storage; try again later"}


@contextmanager
def small_disk(where: Path, size: str = "24m"):
    """A tmpfs of the given size mounted at `where` (we run as root), unmounted even when the test fails."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True)
    assert done.returncode == 0, f"cannot mount a tmpfs (the test needs root): {done.stderr}"
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(path: Path) -> Path:
    """Write a file until the file system has no byte left."""
    filler = path / "filler.bin"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError:
            pass
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass
    return filler


def post(url: str, headers: dict, text: str) -> httpx.Response:
    """Post one status."""
    return httpx.post(f"{url}/api/v1/statuses", headers=headers, data={"status": text}, timeout=30)


@pytest.mark.skipif(BACKEND != "sqlite", reason="the embedded mode keeps its database in the data dir")
def test_full_disk_then_restart_on_it_then_space_freed(tmp_path):
    with small_disk(tmp_path / "disk") as disk, node(tmp_path, data_dir=disk / "data", secret_key="") as n:
        n.start()
        author_id, author = register(n.url, "author")
        _, reader = register(n.url, "reader")
        assert httpx.post(f"{n.url}/api/v1/accounts/{author_id}/follow", headers=reader, timeout=30).status_code == 200
        acked = [post(n.url, author, f"with room {i}").json()["id"] for i in range(10)]
        assert (disk / "data" / "townsquare.reserve").exists()  # kept free for a start on a full disk
        # Fan-out is a job that runs after the 200: let it reach the follower before the disk fills.
        delivered, _ = wait_until(lambda: set(acked) <= home_ids(n.url, reader), timeout=30)
        assert delivered, "the posts made with room to spare never reached the follower"

        filler = fill(disk)
        answers = []
        for i in range(40):
            r = post(n.url, author, f"on a full disk {i} " + "x" * 400)
            answers.append(r.status_code)
            if r.status_code == 200:
                acked.append(r.json()["id"])
            else:
                assert (r.status_code, r.json()) == (507, FULL), r.text
                assert r.headers["retry-after"]
        assert set(answers) <= {200, 507} and answers[-5:] == [507] * 5, answers
        # Reads keep working, and every acknowledged post is there (the follower's too, for those fanned out before).
        assert httpx.get(f"{n.url}/api/v1/statuses/{acked[0]}", timeout=30).status_code == 200
        mine = httpx.get(f"{n.url}/api/v1/accounts/{author_id}/statuses", params={"limit": 40}, headers=author, timeout=30)
        assert mine.status_code == 200 and set(acked) <= {s["id"] for s in mine.json()}
        assert set(acked[:10]) <= home_ids(n.url, reader)

        # Restart on the completely full disk. Removing SQLite's shared-memory index of the closed database
        # (rebuilt from the WAL on open) stands for a clean shutdown: a new one must be written to read at all.
        n.stop()
        (disk / "data" / "townsquare.sqlite3-shm").unlink(missing_ok=True)
        started = time.monotonic()
        n.start()
        print(f"\nFAULT full disk: restart on the full disk serving reads after {time.monotonic() - started:.1f} s")
        assert set(acked) <= {s["id"] for s in httpx.get(
            f"{n.url}/api/v1/accounts/{author_id}/statuses", params={"limit": 80}, headers=author, timeout=30).json()}
        # The released reserve lets a few writes in before the disk is full again; then 507 once more.
        for i in range(200):
            r = post(n.url, author, f"after the restart {i} " + "x" * 400)
            if r.status_code != 200:
                break
            acked.append(r.json()["id"])
        assert (r.status_code, r.json()) == (507, FULL)

        filler.unlink()  # the operator frees space; nothing is restarted
        freed = time.monotonic()
        resumed, waited = wait_until(lambda: post(n.url, author, "room again").status_code == 200, timeout=30, interval=0.1)
        assert resumed, "writes did not resume after space was freed"
        print(f"FAULT full disk: writes resumed {waited:.2f} s after space was freed")
        last = post(n.url, author, "and fanned out").json()["id"]
        delivered, _ = wait_until(lambda: last in home_ids(n.url, reader), timeout=30)
        assert delivered
        # Nothing half-written: exactly the acknowledged posts exist (the counter moves in the same transaction).
        me = httpx.get(f"{n.url}/api/v1/accounts/verify_credentials", headers=author, timeout=30).json()
        assert me["statuses_count"] == len(acked) + 2
        n.stop()
        assert "Traceback" not in n.log_text(), n.log_text()


async def _set_read_only(database: str, on: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = {"on" if on else "off"}')
        # Sessions take the setting when they connect: end the server's, as a failover to a replica would.
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()


@pytest.mark.skipif(BACKEND != "postgres", reason="the SQLite run fills a real disk instead")
def test_read_only_database_then_writable_again(tmp_path):
    import asyncio

    with node(tmp_path) as n:
        n.start()
        author_id, author = register(n.url, "author")
        acked = [post(n.url, author, f"writable {i}").json()["id"] for i in range(5)]
        database = n.pg_url.rsplit("/", 1)[1]
        asyncio.run(_set_read_only(database, True))
        answers = [post(n.url, author, f"read-only {i}") for i in range(6)]
        codes = [r.status_code for r in answers]
        assert 500 not in codes and set(codes) <= {503, 507}, codes  # the first may meet a killed connection
        assert (answers[-1].status_code, answers[-1].json()) == (507, FULL)
        mine = httpx.get(f"{n.url}/api/v1/accounts/{author_id}/statuses", headers=author, timeout=30)
        assert mine.status_code == 200 and {s["id"] for s in mine.json()} == set(acked)
        asyncio.run(_set_read_only(database, False))
        cleared = time.monotonic()
        resumed, waited = wait_until(lambda: post(n.url, author, "writable again").status_code == 200, timeout=30)
        assert resumed
        print(f"\nFAULT read-only PostgreSQL: writes resumed {time.monotonic() - cleared:.2f} s after it was writable")
        n.stop()
        assert "Traceback" not in n.log_text(), n.log_text()
