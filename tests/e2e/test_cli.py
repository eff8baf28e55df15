"""The administration commands against a live server: migrate, accounts create, accounts token, serve's banner."""

import subprocess

import httpx

from tests.e2e.conftest import _townsquare_cmd


def _cli(live_server, *args):
    return subprocess.run([*_townsquare_cmd(), *args, "--data-dir", str(live_server.data_dir)],
                          env=live_server.env, capture_output=True, text=True, timeout=60)


def test_serve_prints_its_url(live_server):
    assert f"http://127.0.0.1:{live_server.port}" in (live_server.tmp / "server.log").read_text()


def test_migrate_is_idempotent(live_server):
    out = _cli(live_server, "migrate")
    assert out.returncode == 0 and "up to date" in out.stdout


def test_token_command_gives_a_working_scoped_token(live_server):
    account_id, username, _ = live_server.create_account("cli")
    out = _cli(live_server, "accounts", "token", username, "--scopes", "read")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    me = httpx.get(f"{live_server.url}/api/v1/accounts/verify_credentials", headers=headers)
    assert me.status_code == 200 and me.json()["id"] == account_id
    denied = httpx.post(f"{live_server.url}/api/v1/statuses", data={"status": "nope"}, headers=headers)
    assert denied.status_code == 403 and "error" in denied.json()


def test_cli_errors_are_clear_and_change_nothing(live_server):
    missing = _cli(live_server, "accounts", "token", "nobody_here")
    assert missing.returncode == 1 and "nobody_here" in missing.stderr
    _, username, email = live_server.create_account("dupe")
    dup = _cli(live_server, "accounts", "create", username, "--email", "other@example.org", "--password", "long enough pw")
    assert dup.returncode == 1 and "taken" in dup.stderr
    bad = _cli(live_server, "accounts", "create", "bad name!", "--email", "x@example.org", "--password", "long enough pw")
    assert bad.returncode == 1 and "Username" in bad.stderr
    found = httpx.get(f"{live_server.url}/api/v1/accounts/lookup", params={"acct": "bad name!"})
    assert found.status_code == 404


def test_sign_up_awaiting_approval_is_listed_and_approved_from_the_cli(live_server):
    """With registrations=approval, an API sign-up waits until `accounts approve` (same database as the server)."""
    import sys
    import uuid

    username = f"waiting_{uuid.uuid4().hex[:6]}"
    env = dict(live_server.env, TOWNSQUARE_REGISTRATIONS="approval")
    script = f"""
import asyncio, httpx
from townsquare.config import Settings
from townsquare.main import create_app
async def main():
    app = create_app(Settings(data_dir={str(live_server.data_dir)!r}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            a = (await c.post("/api/v1/apps", data={{"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"}})).json()
            t = (await c.post("/oauth/token", data={{"grant_type": "client_credentials", "client_id": a["client_id"], "client_secret": a["client_secret"], "scope": "write"}})).json()
            r = await c.post("/api/v1/accounts", data={{"username": {username!r}, "email": {username + "@example.org"!r}, "password": "long enough pw", "agreement": "1", "reason": "I garden"}}, headers={{"Authorization": "Bearer " + t["access_token"]}})
            print(r.status_code)
asyncio.run(main())
"""
    made = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and made.stdout.strip() == "200", made.stderr
    # pending: invisible and unable to sign in on the running server
    assert httpx.get(f"{live_server.url}/api/v1/accounts/lookup", params={"acct": username}).status_code == 404
    pending = _cli(live_server, "accounts", "pending")
    assert username in pending.stdout and "I garden" in pending.stdout
    approved = _cli(live_server, "accounts", "approve", username)
    assert approved.returncode == 0 and f"approved {username}" in approved.stdout
    assert username not in _cli(live_server, "accounts", "pending").stdout
    again = _cli(live_server, "accounts", "approve", username)
    assert again.returncode == 1 and "not pending" in again.stderr
    log = _cli(live_server, "admin", "log").stdout
    assert any(f"\tsystem\tapprove\taccount:{username}\t" in line for line in log.splitlines())
    assert httpx.get(f"{live_server.url}/api/v1/accounts/lookup", params={"acct": username}).status_code == 200


def test_serve_on_a_port_in_use_says_so_and_prints_no_url(tmp_path):
    """The port is taken before the URL is printed: a busy port is one clear line and exit code 2."""
    import os
    import socket

    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
        out = subprocess.run([*_townsquare_cmd(), "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                             env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in out.stderr and "--port" in out.stderr
    assert "running at" not in out.stdout and "Traceback" not in out.stderr
