"""Real streaming clients against a real `townsquare serve`: Mastodon.py over SSE, and a plain WebSocket client."""

from __future__ import annotations

import json
import threading
import time

from mastodon import Mastodon, StreamListener
from websockets.sync.client import connect

from tests.e2e.conftest import PASSWORD

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
