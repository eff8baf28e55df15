"""`townsquare admin ...` against a live server's database: sanctions, lifting them, and the audit log."""

import subprocess

import httpx

from tests.e2e.conftest import _townsquare_cmd


def _cli(live_server, *args):
    return subprocess.run([*_townsquare_cmd(), "admin", *args, "--data-dir", str(live_server.data_dir)],
                          env=live_server.env, capture_output=True, text=True, timeout=60)


def test_suspend_and_unsuspend_from_the_command_line(live_server):
    account_id, username, _ = live_server.create_account("cli_mod")
    url = f"{live_server.url}/api/v1/accounts/{account_id}"
    assert httpx.get(url).status_code == 200
    out = _cli(live_server, "suspend", username, "--reason", "court order", "--category", "legal")
    assert out.returncode == 0, out.stderr
    assert httpx.get(url).status_code == 404
    log = _cli(live_server, "log")
    assert log.returncode == 0
    line = next(row for row in log.stdout.splitlines() if f"account:{username}" in row)
    assert "\tsystem\tsuspend\t" in line and "\tlegal\tcourt order" in line
    assert _cli(live_server, "unsuspend", username, "--reason", "order lifted").returncode == 0
    assert httpx.get(url).status_code == 200
    public = httpx.get(f"{live_server.url}/api/v1/instance/moderation_log").json()
    mine = [e for e in public if e["action"] in ("suspend", "unsuspend")]
    assert [e["action"] for e in mine][:2] == ["unsuspend", "suspend"] and mine[1]["category"] == "legal"


def test_silence_and_warn_tell_the_user_and_errors_are_clear(live_server):
    account_id, username, _ = live_server.create_account("cli_quiet")
    made = subprocess.run([*_townsquare_cmd(), "accounts", "token", username, "--data-dir", str(live_server.data_dir)],
                          env=live_server.env, capture_output=True, text=True, timeout=60)
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    status = httpx.post(f"{live_server.url}/api/v1/statuses", data={"status": "loud"}, headers=headers).json()
    statuses_url = f"{live_server.url}/api/v1/accounts/{account_id}/statuses"
    assert [s["id"] for s in httpx.get(statuses_url).json()] == [status["id"]]
    assert _cli(live_server, "silence", username, "--reason", "spam").returncode == 0
    assert httpx.get(statuses_url).json() == []  # strangers no longer see it
    notes = httpx.get(f"{live_server.url}/api/v1/notifications", headers=headers).json()
    assert [(n["type"], n["moderation_warning"]["text"]) for n in notes] == [("moderation_warning", "spam")]
    assert _cli(live_server, "unsilence", username).returncode == 0
    assert [s["id"] for s in httpx.get(statuses_url).json()] == [status["id"]]
    assert _cli(live_server, "warn", username, "--reason", "be nice").returncode == 0
    missing = _cli(live_server, "suspend", "nobody_at_all", "--reason", "x")
    assert missing.returncode == 1 and "nobody_at_all" in missing.stderr
    not_suspended = _cli(live_server, "unsuspend", username)
    assert not_suspended.returncode == 1 and "not suspended" in not_suspended.stderr
    expired = _cli(live_server, "purge-expired")
    assert expired.returncode == 0 and "purged 0 account(s)" in expired.stdout
