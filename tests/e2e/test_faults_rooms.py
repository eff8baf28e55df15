"""Rooms that look after themselves on a real server: a host gone too long ends the room, and the end of a
room closes its speakers' sockets even when they send nothing."""

from __future__ import annotations

import time

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.faults_support import node, register, wait_until


def test_host_gone_ends_the_room_and_the_end_closes_speaker_sockets(tmp_path):
    with node(tmp_path, spaces_host_gone_seconds="2") as n:
        n.start()
        host_id, host = register(n.url, "host")
        token = host["Authorization"].split()[1]

        def room() -> str:
            sid = httpx.post(f"{n.url}/api/v1/spaces", headers=host, data={"title": "Faults"}, timeout=30).json()["id"]
            assert httpx.post(f"{n.url}/api/v1/spaces/{sid}/start", headers=host, timeout=30).status_code == 200
            return sid

        def state(sid: str) -> str:
            return httpx.get(f"{n.url}/api/v1/spaces/{sid}", headers=host, timeout=30).json()["state"]

        # 1. The host speaks, then goes away without ending the room: it ends by itself.
        sid = room()
        ws_url = n.url.replace("http://", "ws://") + f"/api/v1/spaces/{sid}/audio?access_token={token}&format=s16le"
        with connect(ws_url, open_timeout=30) as ws:
            ws.send(b"\x00\x00" * 4800)
            time.sleep(2.5)  # longer than the limit, but the host is connected: the room stays live
            assert state(sid) == "live"
        left = time.monotonic()
        ended, waited = wait_until(lambda: state(sid) == "ended", timeout=30, interval=0.2)
        assert ended
        print(f"\nFAULT host gone (limit 2 s): room ended {time.monotonic() - left:.1f} s after the host left")

        # 2. A speaker connected and silent when the room ends: its socket is closed by the server.
        sid = room()
        ws_url = n.url.replace("http://", "ws://") + f"/api/v1/spaces/{sid}/audio?access_token={token}&format=s16le"
        with connect(ws_url, open_timeout=30) as ws:
            ws.send(b"\x00\x00" * 4800)
            assert httpx.post(f"{n.url}/api/v1/spaces/{sid}/end", headers=host, timeout=30).status_code == 200
            ended_at = time.monotonic()
            try:
                ws.recv(timeout=15)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1000, closed
            else:
                raise AssertionError("the server sent data instead of closing")
            print(f"FAULT room ended: silent speaker socket closed {time.monotonic() - ended_at:.2f} s later")
        n.stop()
        assert "Traceback" not in n.log_text(), n.log_text()
