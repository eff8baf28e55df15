"""The toot CLI, unmodified, run as a subprocess against a real `townsquare serve` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, wait_for

TOOT = Path(sys.executable).parent / "toot"


class Toot:
    """Runs toot with a private config directory."""

    def __init__(self, home: Path):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOT_", "XDG_"))}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1", COLUMNS="120", TERM="dumb")

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(TOOT), *args], env=self.env, capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL)
        if ok:
            assert result.returncode == 0, f"toot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    @property
    def config(self) -> dict:
        return json.loads((self.home / ".config" / "toot" / "config.json").read_text())


class ApiUser:
    """An account reached over plain HTTP with a password-grant token (independent of toot)."""

    def __init__(self, live_server, account):
        self.id, self.username, self.email = account
        self.http = httpx.Client(base_url=live_server.url, timeout=10)
        app = self.http.post("/api/v1/apps", data={"client_name": "verifier", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                   "scopes": "read write follow"}).json()
        token = self.http.post("/oauth/token", data={
            "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
            "username": self.email, "password": PASSWORD, "scope": "read write follow"})
        assert token.status_code == 200, token.text
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def get(self, path, **kw):
        response = self.http.get(path, **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path, **kw):
        response = self.http.post(path, **kw)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def toot_session(live_server, tmp_path_factory):
    """A toot config logged in with login_cli, plus an API handle on the same account."""
    account = live_server.create_account("tooter")
    toot = Toot(tmp_path_factory.mktemp("toot-home"))
    result = toot("login_cli", "-i", live_server.url, "-e", account[2], "-p", PASSWORD)
    return toot, ApiUser(live_server, account), result


def test_login_cli_saves_app_and_user(live_server, toot_session):
    toot, me, result = toot_session
    assert "Successfully logged in" in result.stdout
    config = toot.config
    instance = f"127.0.0.1:{live_server.port}"
    assert config["active_user"] == f"{me.username}@{instance}"
    user = config["users"][config["active_user"]]
    assert user["username"] == me.username and user["instance"] == instance and user["access_token"]
    assert config["apps"][instance]["base_url"] == live_server.url
    # The saved token really works.
    r = httpx.get(f"{live_server.url}/api/v1/accounts/verify_credentials",
                  headers={"Authorization": f"Bearer {user['access_token']}"})
    assert r.status_code == 200 and r.json()["id"] == me.id
    whoami = toot("whoami")
    assert f"@{me.username}" in whoami.stdout


def test_login_cli_with_wrong_password_fails(live_server, tmp_path):
    _, _, email = live_server.create_account("tootbad")
    toot = Toot(tmp_path)
    result = toot("login_cli", "-i", live_server.url, "-e", email, "-p", "wrong password!", ok=False)
    assert result.returncode != 0
    assert "Login failed" in result.stderr + result.stdout


def test_post_and_timeline(toot_session):
    toot, me, _ = toot_session
    text = f"Hello from toot, I am {me.username} #TootE2E"
    result = toot("post", text)
    assert result.stdout.startswith("Toot posted: ")
    url = result.stdout.split("Toot posted: ", 1)[1].strip()

    statuses = me.get(f"/api/v1/accounts/{me.id}/statuses")
    assert statuses[0]["url"] == url
    assert statuses[0]["account"]["id"] == me.id
    assert text.split(" #")[0] in statuses[0]["content"]
    assert [t["name"] for t in statuses[0]["tags"]] == ["toote2e"]
    assert statuses[0]["application"]["name"].startswith("toot")

    shown = wait_for(lambda: text.split(" #")[0] in toot("timeline", "--once").stdout)
    assert shown, toot("timeline", "--once").stdout

    # toot post --json returns the Status entity; visibility and spoiler are passed through.
    status = json.loads(toot("post", "quiet words", "--visibility", "unlisted", "--spoiler-text", "cw here", "--json").stdout)
    assert status["visibility"] == "unlisted" and status["spoiler_text"] == "cw here"
    assert me.get(f"/api/v1/statuses/{status['id']}")["visibility"] == "unlisted"


def test_follow_then_home_timeline(live_server, toot_session):
    toot, me, _ = toot_session
    target = ApiUser(live_server, live_server.create_account("followee"))
    result = toot("follow", target.username)
    assert f"You are now following {target.username}" in result.stdout

    rel = me.get("/api/v1/accounts/relationships", params={"id[]": target.id})
    assert rel[0]["id"] == target.id and rel[0]["following"] is True
    assert [a["id"] for a in target.get(f"/api/v1/accounts/{target.id}/followers")] == [me.id]
    notes = target.get("/api/v1/notifications", params={"types[]": "follow"})
    assert [(n["type"], n["account"]["id"]) for n in notes] == [("follow", me.id)]

    post = target.post("/api/v1/statuses", data={"status": f"a post for my new follower {target.id}"})
    shown = wait_for(lambda: f"a post for my new follower {target.id}" in toot("timeline", "--once").stdout)
    assert shown, "the followed account's post never showed up in `toot timeline`"

    toot("favourite", post["id"])
    assert target.get(f"/api/v1/statuses/{post['id']}")["favourites_count"] == 1
    assert [n["type"] for n in target.get("/api/v1/notifications")][:2] == ["favourite", "follow"]

    toot("unfollow", target.username)
    assert me.get("/api/v1/accounts/relationships", params={"id[]": target.id})[0]["following"] is False


def test_delete(toot_session):
    toot, me, _ = toot_session
    status = json.loads(toot("post", "short-lived", "--json").stdout)
    toot("delete", status["id"])
    assert me.http.get(f"/api/v1/statuses/{status['id']}").status_code == 404


def test_reply_thread_and_notifications(live_server, toot_session):
    toot, me, _ = toot_session
    other = ApiUser(live_server, live_server.create_account("chatty"))
    root = other.post("/api/v1/statuses", data={"status": f"what do you grow, @{me.username}?"})
    reply = json.loads(toot("post", f"@{other.username} tomatoes, mostly", "--reply-to", root["id"], "--json").stdout)
    assert reply["in_reply_to_id"] == root["id"]
    context = other.get(f"/api/v1/statuses/{root['id']}/context")
    assert [s["id"] for s in context["descendants"]] == [reply["id"]]
    thread = toot("thread", root["id"]).stdout
    assert "what do you grow" in thread and "tomatoes, mostly" in thread
    other.post(f"/api/v1/statuses/{reply['id']}/favourite")
    shown = json.loads(toot("notifications", "--json").stdout)
    kinds = {(n["type"], n["account"]["id"]) for n in shown}
    assert ("mention", other.id) in kinds and ("favourite", other.id) in kinds
    mentions_only = json.loads(toot("notifications", "--type", "mention", "--json").stdout)
    assert mentions_only and {n["type"] for n in mentions_only} == {"mention"}
    assert [n["type"] for n in other.get("/api/v1/notifications", params={"types[]": "mention"})] == ["mention"]
