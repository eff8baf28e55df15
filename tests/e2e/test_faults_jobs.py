"""kill -9 of a real server in the middle of a posting storm: after the restart every acknowledged post reaches
the followers' home timelines in seconds, not after the 300 s job lease."""

from __future__ import annotations

import signal
import time

import httpx

from tests.e2e.faults_support import Storm, home_ids, node, register, wait_until


def test_kill_9_mid_storm_then_every_acknowledged_post_reaches_followers(tmp_path):
    # The lease stays at its 300 s default: only start-up recovery (embedded) or heartbeats (scale-out) can pass.
    with node(tmp_path, job_lease_seconds="300") as n:
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
