"""deploy/nginx-spaces.conf in front of a real server: the retries of a line whose turn has not come are answered
by nginx, which asks the app once per slice of arrivals (and keeps the answer as long as told); the head of the
line, newcomers, malformed tokens and too-early retries each get what the config promises."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from tests.e2e.conftest import _free_port, wait_for
from tests.e2e.faults_support import register
from townsquare.overload.waiting import WaitingRoom

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _samples(text: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus counter's samples with these labels (0 when absent)."""
    assert f"# HELP {name} " in text, name  # a misspelt name would always read 0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()))


def _nginx(tmp: Path, app_port: int, port: int, spaces_dir: Path) -> subprocess.Popen:
    shipped = (DEPLOY / "nginx-spaces.conf").read_text()
    shipped = shipped.replace("/var/lib/townsquare/data/spaces", str(spaces_dir))
    shipped = shipped.replace("/var/cache/nginx/townsquare-spaces", str(tmp / "cache"))
    shipped = shipped.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{app_port}")
    shipped = shipped.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (tmp / "spaces.conf").write_text(shipped)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers as "nobody" could not enter pytest's private tmp dir
    (tmp / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$upstream_addr $uri $status';
    access_log {tmp}/access.log upstream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    include {tmp}/spaces.conf;
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return subprocess.Popen([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _nginx_up(tmp: Path, live_server) -> tuple[subprocess.Popen, str]:
    """nginx in front of the live server, answering; returns the process and its URL."""
    port = _free_port()
    proc = _nginx(tmp, live_server.port, port, live_server.data_dir / "spaces")
    front = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(f"{front}/api/v1/instance", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    if not wait_for(up, timeout=15):
        proc.terminate()
        raise AssertionError(proc.stdout.read1().decode() if proc.poll() is not None else "nginx not up")
    return proc, front


def test_nginx_holds_the_line_and_lets_its_head_through(live_server, tmp_path):
    app = live_server.url
    _, host = register(app, "linehost")
    when = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    space = httpx.post(f"{app}/api/v1/spaces", headers=host, data={"title": "Queue", "scheduled_at": when}, timeout=30)
    assert space.status_code == 200, space.text
    sid = space.json()["id"]
    # A line in this process: the ticket nginx hands out when the app is full puts one more in line each time. The
    # app answers tickets for rooms it has in its cache (a join puts it there for a second).
    with httpx.Client(base_url=app, timeout=30) as client:
        assert client.post(f"/api/v1/spaces/{sid}/join").status_code == 200
        tickets = []
        for _ in range(40):
            ticket = client.get(f"/api/v1/spaces/{sid}/queue_ticket")
            if ticket.status_code != 429:
                assert ticket.status_code == 503, ticket.text  # the room's cached copy expired: enough tickets
                break
            tickets.append(ticket)
    assert len(tickets) >= 24, len(tickets)  # more than a second of admissions' look-ahead (16 at the least)
    head = tickets[0].headers["townsquare-queue-token"]
    room = WaitingRoom((live_server.data_dir / "secret_key").read_text().strip())
    later = time.time() + 0.35  # a few slices behind the line (a token as this server signs them)
    behind = [room.issue(int(sid), later, nonce=f"behind{i}") for i in range(2)]

    proc, front = _nginx_up(tmp_path, live_server)
    try:
        metrics = httpx.get(f"{app}/metrics", timeout=30).text
        joins_before = _samples(metrics, "townsquare_http_requests_total", route_class="listen")
        held = [httpx.post(f"{front}/api/v1/spaces/{sid}/join", headers={"Townsquare-Queue-Token": t}, timeout=30)
                for t in behind]
        for r in held:  # told by nginx, with the wait the app gave for that slice
            assert r.status_code == 429, r.text
            assert r.json() == {"error": "Still in line: retry after Retry-After with the same token, your place in "
                                         "line is kept", "in_waiting_room": True}
            assert int(r.headers["retry-after"]) >= 2
        metrics = httpx.get(f"{app}/metrics", timeout=30).text
        assert _samples(metrics, "townsquare_http_requests_total", route_class="listen") == joins_before  # none reached it
        assert _samples(metrics, "townsquare_shed_requests_total", reason="line_held") == 1  # one check for the slice

        # The head of the line comes in (the app admits it: its slice is the first), and so does a newcomer
        # (the process is far from full), through the same location.
        first = httpx.post(f"{front}/api/v1/spaces/{sid}/join", headers={"Townsquare-Queue-Token": head}, timeout=30)
        assert first.status_code == 200 and first.json()["state"] == "scheduled", first.text
        assert first.headers["townsquare-admission"].startswith("a.")
        newcomer = httpx.post(f"{front}/api/v1/spaces/{sid}/join", timeout=30)
        assert newcomer.status_code == 200, newcomer.text
        # An admitted listener's heartbeat token is never held back.
        beat = httpx.post(f"{front}/api/v1/spaces/{sid}/join", timeout=30,
                          headers={"Townsquare-Queue-Token": first.headers["townsquare-admission"]})
        assert beat.status_code == 200, beat.text
        # The same head token twice more at once: past its burst of one, nginx's per-token limit answers it.
        again = [httpx.post(f"{front}/api/v1/spaces/{sid}/join", headers={"Townsquare-Queue-Token": head}, timeout=30)
                 for _ in range(2)]
        assert again[-1].status_code == 429 and again[-1].json()["error"].startswith("Too soon"), again[-1].text
        bad = httpx.post(f"{front}/api/v1/spaces/{sid}/join", headers={"Townsquare-Queue-Token": "w.1.x"}, timeout=30)
        assert bad.status_code == 400 and "error" in bad.json()
        assert httpx.get(f"{app}/api/v1/spaces/{sid}/queue_line?slice=x", timeout=30).status_code == 400
    finally:
        proc.terminate()
        proc.wait(10)


def test_nginx_sends_joins_for_unlisted_rooms_to_the_app_a_few_a_second(live_server, tmp_path):
    app = live_server.url
    _, host = register(app, "listhost")
    sid = httpx.post(f"{app}/api/v1/spaces", headers=host, data={"title": "Listed"}, timeout=30).json()["id"]
    listed = live_server.data_dir / "spaces" / "listed"
    assert (listed / sid).is_file()
    proc, front = _nginx_up(tmp_path, live_server)
    try:
        with httpx.Client(base_url=front, timeout=30) as client:
            assert client.post(f"/api/v1/spaces/{sid}/join").status_code == 200  # listed: straight on
            before = _samples(httpx.get(f"{app}/metrics", timeout=30).text, "townsquare_http_requests_total",
                              route_class="listen")
            made_up = [client.post(f"/api/v1/spaces/{9_000_000_000 + i}/join") for i in range(60)]
            after = _samples(httpx.get(f"{app}/metrics", timeout=30).text, "townsquare_http_requests_total",
                             route_class="listen")
            # The first (a burst of 20, and 10 a second) reach the app, which says there is no such room (or, past
            # its own few look-ups a second, to retry); nginx answers the rest itself with a retry.
            assert 1 <= after - before <= 30, after - before
            codes = [r.status_code for r in made_up]
            assert set(codes) <= {404, 503} and codes[0] == 404, codes
            assert codes.count(503) >= 30, codes
            assert made_up[0].json() == {"error": "Record not found"}
            shed = made_up[-1]
            assert shed.status_code == 503 and int(shed.headers["retry-after"]) >= 2 and "error" in shed.json()
            # A real room whose file is lost is never refused for it: its joins take the slow lane to the app.
            (listed / sid).unlink()
            time.sleep(1.2)  # the lane's rate refills
            slow = client.post(f"/api/v1/spaces/{sid}/join")
            assert slow.status_code == 200 and slow.json()["state"] == "scheduled", slow.text
    finally:
        proc.terminate()
        proc.wait(10)
