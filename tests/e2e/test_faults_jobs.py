"""kill -9 of a real server in the middle of a posting storm: after the restart every acknowledged post reaches
the followers' home timelines in seconds, not after the 300 s job lease."""

from __future__ import annotations

import signal
import time

import httpx

from tests.e2e.faults_support import Storm, home_ids, node, register, wait_until


def test_kill_9_mid_storm_then_every_acknowledged_post_reaches_followers(tmp_path):
    # The lease stays at its 300 s default: only start-up recovery (embedded) or heartbeats (scale-out) can pass.
    # Every fan-out is a job here (inline fan-out off): their recovery is what this test is about.
    with node(tmp_path, job_lease_seconds="300", inline_fan_out_followers="0") as n:
        n.start()
        author_id, author = register(n.url, "author")
        followers = [register(n.url, f"follower{i}")[1] for i in range(2)]
        for headers in followers:
            assert home_ids(n.url, headers) == set()  # first read: the reader is active from now on
            r = httpx.post(f"{n.url}/api/v1/accounts/{author_id}/follow", headers=headers, timeout=30)
            assert r.status_code == 200, r.text
        storm = Storm(n.url, author, threads=6, limit=600).start()
        running, _ = wait_until(lambda: len(storm.acked) >= 30 and n.sql(
            "SELECT count(*) FROM jobs WHERE state = 'running'")[0][0] > 0, timeout=60, interval=0.01)
        n.process.send_signal(signal.SIGKILL)
        n.process.wait(10)
        storm.stop()
        assert running, "no job was running during the storm"
        left_running = n.sql("SELECT count(*) FROM jobs WHERE state = 'running'")[0][0]
        assert left_running > 0, "every fan-out finished before the kill; the storm was too small to catch one"
        assert 500 not in storm.statuses
        acked = set(storm.acked)

        cleared = time.monotonic()
        n.start()
        up = time.monotonic() - cleared
        complete, waited = wait_until(lambda: all(acked <= home_ids(n.url, h) for h in followers), timeout=60,
                                      interval=0.2)
        recovery = time.monotonic() - cleared
        print(f"\nFAULT kill-9 mid storm: {len(acked)} acknowledged, {left_running} jobs left running, "
              f"server up in {up:.1f} s, all in followers' homes {recovery:.1f} s after the restart began")
        assert complete, f"missing after {waited:.0f} s: {len(acked - home_ids(n.url, followers[0]))} posts"
        n.stop()
        assert "Traceback" not in n.log_text(), n.log_text()


def test_kill_9_mid_storm_with_inline_fan_out_leaves_every_acknowledged_post_delivered(tmp_path):
    """A small author's posts are delivered in their own transactions: after a kill -9 nothing is left to recover."""
    import pytest

    from tests.conftest import BACKEND

    if BACKEND == "postgres":
        pytest.skip("the PostgreSQL backend runs with Redis feeds, which always fan out by a job (the test above)")
    with node(tmp_path) as n:
        n.start()
        author_id, author = register(n.url, "author")
        followers = [register(n.url, f"follower{i}")[1] for i in range(2)]
        for headers in followers:
            assert home_ids(n.url, headers) == set()
            assert httpx.post(f"{n.url}/api/v1/accounts/{author_id}/follow", headers=headers, timeout=30).status_code == 200
        storm = Storm(n.url, author, threads=6, limit=300).start()
        wait_until(lambda: len(storm.acked) >= 40, timeout=60, interval=0.01)
        n.process.send_signal(signal.SIGKILL)
        n.process.wait(10)
        storm.stop()
        assert 500 not in storm.statuses
        assert n.sql("SELECT count(*) FROM jobs WHERE kind = 'fan_out_status'")[0][0] == 0
        acked = set(storm.acked)
        n.start()
        for headers in followers:  # the first read after the restart: nothing waited for a job
            assert acked <= home_ids(n.url, headers)
        n.stop()
        assert "Traceback" not in n.log_text(), n.log_text()


def test_database_connections_killed_mid_storm_lose_nothing(tmp_path):
    """PostgreSQL restarting, as its clients see it: every connection of the server killed mid-storm."""
    import pytest

    from tests.conftest import BACKEND

    if BACKEND != "postgres":
        pytest.skip("SQLite has no server connections to kill; the kill -9 test covers the embedded mode")
    with node(tmp_path) as n:
        n.start()
        author_id, author = register(n.url, "author")
        _, reader = register(n.url, "reader")
        assert httpx.post(f"{n.url}/api/v1/accounts/{author_id}/follow", headers=reader, timeout=30).status_code == 200
        database = n.pg_url.rsplit("/", 1)[1]
        storm = Storm(n.url, author, threads=6, limit=300).start()
        wait_until(lambda: len(storm.acked) >= 40, timeout=60, interval=0.02)
        killed = n.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = $1 AND pid <> pg_backend_pid()", database)[0][0]
        cleared = time.monotonic()
        before = len(storm.statuses)
        back, _ = wait_until(lambda: storm.statuses[before:].count(200) >= 5, timeout=30, interval=0.02)
        recovery = time.monotonic() - cleared
        storm.stop()
        assert killed > 0 and back
        assert 500 not in storm.statuses, storm.statuses
        assert set(storm.statuses) <= {200, 503}
        acked = set(storm.acked)
        stored = {str(r[0]) for r in n.sql("SELECT id FROM statuses WHERE account_id = $1", int(author_id))}
        assert acked <= stored
        complete, waited = wait_until(lambda: acked <= home_ids(n.url, reader), timeout=60, interval=0.2)
        print(f"\nFAULT database connections killed mid storm: {killed} killed, {len(acked)} acknowledged, "
              f"{storm.statuses.count(503)} answered 503, posting back {recovery:.2f} s after the kill, "
              f"homes whole {waited:.1f} s later")
        assert complete
        n.stop()
        assert "Traceback" not in n.log_text(), n.log_text()
