"""Real streaming clients against a real `townsquare serve`: Mastodon.py over SSE, and a plain WebSocket client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import httpx
from mastodon import Mastodon, StreamListener
from websockets.sync.client import connect

from tests.e2e.conftest import PASSWORD, _cli_create, _free_port, _townsquare_cmd, wait_for

SCOPES = ["read", "write", "follow"]
WAIT = 15.0  # generous on a busy machine; the latency is printed, not asserted


def _logged_in(live_server, prefix: str) -> tuple[Mastodon, str]:
    account_id, _, email = live_server.create_account(prefix)
    client_id, client_secret = Mastodon.create_app("streaming e2e", api_base_url=live_server.url, scopes=SCOPES)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url,
                   version_check_mode="created")
    api.log_in(email, PASSWORD, scopes=SCOPES, allow_http=True)
    return api, account_id


class Recorder(StreamListener):
    """Remembers when the stream opened and every status it was told about."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.arrived = threading.Event()
        self.updates: list[tuple[float, dict]] = []

    def handle_heartbeat(self) -> None:
        self.open.set()

    def on_update(self, status) -> None:
        self.updates.append((time.monotonic(), status))
        self.arrived.set()


def test_mastodon_py_stream_user_receives_a_followed_accounts_status(live_server):
    alice, alice_id = _logged_in(live_server, "sse_alice")
    bob, _ = _logged_in(live_server, "sse_bob")
    bob.account_follow(alice_id)
    recorder = Recorder()
    handle = bob.stream_user(recorder, run_async=True, timeout=60)
    try:
        assert recorder.open.wait(WAIT), "the SSE stream never opened"
        sent = time.monotonic()
        posted = alice.status_post("streamed to bob over server-sent events")
        assert recorder.arrived.wait(WAIT), "no update arrived"
    finally:
        handle.close()
    received, status = recorder.updates[0]
    print(f"\nMastodon.py stream_user (SSE): update received {1000 * (received - sent):.0f} ms after posting")
    assert status.id == posted.id and status.account.id == posted.account.id
    assert status.content == posted.content


def test_websocket_client_receives_a_followed_accounts_status(live_server):
    alice, alice_id = _logged_in(live_server, "ws_alice")
    bob, _ = _logged_in(live_server, "ws_bob")
    bob.account_follow(alice_id)
    url = f"ws://127.0.0.1:{live_server.port}/api/v1/streaming?stream=user"
    with connect(url, additional_headers={"Authorization": f"Bearer {bob.access_token}"}, open_timeout=WAIT) as ws:
        # Messages are handled in order after the initial subscription: this answer proves it is in place.
        ws.send(json.dumps({"type": "subscribe", "stream": "no-such-stream"}))
        assert json.loads(ws.recv(timeout=WAIT))["status"] == 400
        sent = time.monotonic()
        posted = alice.status_post("streamed to bob over a WebSocket")
        while True:
            frame = json.loads(ws.recv(timeout=WAIT))
            if frame.get("event") == "update":
                break
        received = time.monotonic()
    print(f"\nWebSocket client: update received {1000 * (received - sent):.0f} ms after posting")
    assert frame["stream"] == ["user"]
    status = json.loads(frame["payload"])
    assert str(status["id"]) == str(posted.id) and status["account"]["id"] == str(alice_id)


def test_server_stops_promptly_with_an_event_stream_open(tmp_path):
    """SIGTERM ends open SSE responses, which uvicorn would otherwise wait for forever."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}  # SQLite in tmp_path
    data_dir = tmp_path / "data"
    _, username, _ = _cli_create(data_dir, env, "stopper")
    out = subprocess.run([*_townsquare_cmd(), "accounts", "token", username, "--scopes", "read", "--data-dir", str(data_dir)],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")
    process = subprocess.Popen([*_townsquare_cmd(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: _health(port), timeout=30), (tmp_path / "server.log").read_text()
        with httpx.stream("GET", f"http://127.0.0.1:{port}/api/v1/streaming/user",
                          headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(WAIT, read=5)) as response:
            lines = response.iter_lines()
            assert next(lines) == ":)"
            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            rest = list(lines)  # the server ends the response (a hanging one times out: heartbeats come every 15 s)
            # uvicorn re-raises the signal once it has shut down cleanly, so -SIGTERM is a clean exit too.
            assert process.wait(timeout=WAIT) in (0, -signal.SIGTERM)
        print(f"\nserver stopped {1000 * (time.monotonic() - started):.0f} ms after SIGTERM with a stream open")
        assert all(line.startswith(":") or not line for line in rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def _health(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/streaming/health", timeout=1).text == "OK"
    except httpx.TransportError:
        return False
