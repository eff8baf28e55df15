"""A host runs a room from the command line against a live server: create, start, invite, end."""

from __future__ import annotations

import json
import subprocess

import httpx

from tests.e2e.conftest import _townsquare_cmd


def _run(live_server, *args, token: str):
    return subprocess.run([*_townsquare_cmd(), "spaces", *args, "--server", live_server.url, "--token", token],
                          env=live_server.env, capture_output=True, text=True, timeout=60)


def _token(live_server, username: str) -> str:
    out = subprocess.run([*_townsquare_cmd(), "accounts", "token", username, "--data-dir", str(live_server.data_dir)],
                         env=live_server.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_host_runs_a_room_from_the_command_line(live_server):
    _, host_name, _ = live_server.create_account("host")
    guest_id, guest_name, _ = live_server.create_account("guest")
    token, guest_token = _token(live_server, host_name), _token(live_server, guest_name)

    made = _run(live_server, "create", "CLI town hall", "--record", "--start", token=token)
    assert made.returncode == 0, made.stderr
    space = json.loads(made.stdout)
    assert space["state"] == "live" and space["hls_url"].endswith(f"/spaces/{space['id']}/live.m3u8")
    joined = httpx.post(f"{live_server.url}/api/v1/spaces/{space['id']}/join").json()
    assert joined["hls_url"] == space["hls_url"]

    invited = _run(live_server, "invite", space["id"], guest_id, token=token)
    assert invited.returncode == 0, invited.stderr
    assert f"speaker  {guest_id} @{guest_name}" in invited.stdout
    refused = _run(live_server, "end", space["id"], token=guest_token)
    assert refused.returncode == 1 and "403" in refused.stderr

    ended = _run(live_server, "end", space["id"], token=token)
    assert ended.returncode == 0, ended.stderr
    summary = json.loads(ended.stdout)
    assert summary["state"] == "ended" and summary["recording_url"].endswith("/recording.m3u8")
    shown = json.loads(_run(live_server, "show", space["id"], token=token).stdout)
    assert [s["role"] for s in shown["speakers"]] == ["host", "speaker"]
