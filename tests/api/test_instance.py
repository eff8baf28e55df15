"""Discovery and start-up endpoints: instance v1/v2, nodeinfo, webfinger, preferences, search, empty lists."""

from __future__ import annotations

import pytest

from townsquare import __version__
from tests.api.conftest import assert_error, ids, post

VERSION = f"4.4.0 (compatible; Townsquare {__version__})"


async def test_instance_v1(server, anon):
    await server.user("admin_user", role="admin")
    alice = await server.user("alice")
    await post(alice, "one")
    s = await post(alice, "two")
    await alice.post(f"/api/v1/statuses/{s['id']}/reblog")
    r = await anon.get("/api/v1/instance")
    assert r.status_code == 200
    v1 = r.json()
    assert v1["uri"] == "test.local"
    assert v1["version"] == VERSION
    assert v1["urls"]["streaming_api"] == "ws://test.local"
    assert v1["configuration"]["statuses"]["max_characters"] == 500
    assert v1["stats"] == {"user_count": 2, "status_count": 2, "domain_count": 1}
    assert v1["registrations"] is True and v1["approval_required"] is False
    assert v1["contact_account"]["username"] == "admin_user"
    assert v1["title"] == "Townsquare" and isinstance(v1["languages"], list)


async def test_instance_v2(anon):
    r = await anon.get("/api/v2/instance")
    assert r.status_code == 200
    v2 = r.json()
    assert v2["domain"] == "test.local"
    assert v2["version"] == VERSION
    assert v2["api_versions"]["mastodon"] >= 1
    assert v2["configuration"]["statuses"]["max_characters"] == 500
    assert v2["configuration"]["urls"]["streaming"] == "ws://test.local"
    assert v2["registrations"]["enabled"] is True and v2["registrations"]["approval_required"] is False
    assert v2["contact"]["account"] is None
    assert v2["thumbnail"]["url"].startswith("http://test.local/")
    assert (await anon.get(v2["thumbnail"]["url"])).headers["content-type"] == "image/png"


async def test_instance_follows_settings(make_server):
    srv = await make_server(max_status_chars=1000, title="Elsewhere", scheme="https")
    v1 = (await srv.http.get("/api/v1/instance")).json()
    assert v1["configuration"]["statuses"]["max_characters"] == 1000 and v1["title"] == "Elsewhere"
    assert v1["urls"]["streaming_api"] == "wss://test.local"
    v2 = (await srv.http.get("/api/v2/instance")).json()
    assert v2["configuration"]["urls"]["streaming"] == "wss://test.local"
    user = await srv.user("long")
    r = await user.post("/api/v1/statuses", data={"status": "z" * 1000})
    assert r.status_code == 200
    assert r.json()["account"]["url"] == "https://test.local/@long"
    assert_error(await user.post("/api/v1/statuses", data={"status": "z" * 1001}), 422)


async def test_instance_extras(anon):
    for path in ("/api/v1/instance/peers", "/api/v1/instance/activity", "/api/v1/instance/rules"):
        r = await anon.get(path)
        assert r.status_code == 200 and r.json() == [], path


async def test_nodeinfo(server, anon):
    await server.user("alice")
    links = (await anon.get("/.well-known/nodeinfo")).json()["links"]
    assert links[0]["href"] == "http://test.local/nodeinfo/2.0"
    info = (await anon.get("/nodeinfo/2.0")).json()
    assert info["version"] == "2.0"
    assert info["software"]["name"] == "townsquare" and info["software"]["version"] == __version__
    assert isinstance(info["metadata"], dict)
    assert info["usage"]["users"]["total"] == 1 and info["usage"]["localPosts"] == 0
    assert info["openRegistrations"] is True


async def test_webfinger(server, anon):
    await server.user("alice")
    for resource in ("acct:alice@test.local", "alice@test.local", "acct:ALICE@test.local", "http://test.local/@alice"):
        r = await anon.get("/.well-known/webfinger", params={"resource": resource})
        assert r.status_code == 200, resource
        assert r.headers["content-type"].startswith("application/jrd+json")
        body = r.json()
        assert body["subject"] == "acct:alice@test.local"
        assert {"rel": "self", "type": "application/activity+json", "href": "http://test.local/users/alice"} in body["links"]
    assert_error(await anon.get("/.well-known/webfinger", params={"resource": "acct:alice@other.example"}), 404)
    assert_error(await anon.get("/.well-known/webfinger", params={"resource": "acct:nobody@test.local"}), 404)
    assert_error(await anon.get("/.well-known/webfinger"), 400)


async def test_preferences(server, anon):
    alice = await server.user("alice")
    prefs = (await alice.get("/api/v1/preferences")).json()
    assert prefs["posting:default:visibility"] == "public"
    assert prefs["posting:default:sensitive"] is False
    assert prefs["posting:default:language"] is None
    assert prefs["reading:expand:spoilers"] is False
    assert_error(await anon.get("/api/v1/preferences"), 401)


EMPTY = ["/api/v1/custom_emojis", "/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/followed_tags",
         "/api/v1/trends/tags", "/api/v1/trends/statuses", "/api/v1/announcements", "/api/v1/conversations",
         "/api/v1/trends", "/api/v1/domain_blocks", "/api/v1/scheduled_statuses", "/api/v2/suggestions"]


@pytest.mark.parametrize("path", EMPTY)
async def test_empty_start_up_endpoints(server, path):
    alice = await server.user("alice")
    r = await alice.get(path)
    assert r.status_code == 200, r.text
    assert r.json() == []


async def test_markers_empty_and_public_lists_need_no_token(server, anon):
    alice = await server.user("alice")
    r = await alice.get("/api/v1/markers", params={"timeline[]": "home"})
    assert r.status_code == 200 and r.json() == {}
    assert (await anon.get("/api/v1/custom_emojis")).json() == []
    assert (await anon.get("/api/v1/trends/tags")).json() == []
    assert_error(await anon.get("/api/v1/lists"), 401)
    assert_error(await anon.get("/api/v1/markers"), 401)


async def test_search(server, anon):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await alice.patch("/api/v1/accounts/update_credentials", data={"display_name": "Alice Wonder"})
    s = await post(alice, "Searching for #Pineapples and pine cones")
    await post(bob, "nothing to see")
    r = await alice.get("/api/v2/search", params={"q": "pine"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"accounts", "statuses", "hashtags"}
    assert ids(body["statuses"]) == [s["id"]]
    assert [t["name"] for t in body["hashtags"]] == ["pineapples"]
    assert body["hashtags"][0]["url"] == "http://test.local/tags/pineapples"
    assert body["accounts"] == []
    r = await alice.get("/api/v2/search", params={"q": "wonder", "type": "accounts"})
    assert ids(r.json()["accounts"]) == [alice.id] and r.json()["statuses"] == [] and r.json()["hashtags"] == []
    r = await alice.get("/api/v2/search", params={"q": "#pineapples", "type": "hashtags"})
    assert [t["name"] for t in r.json()["hashtags"]] == ["pineapples"] and r.json()["accounts"] == []
    r = await alice.get("/api/v2/search", params={"q": "pine", "type": "statuses", "account_id": bob.id})
    assert r.json()["statuses"] == []
    # Anonymous searches find accounts and tags but never statuses.
    r = await anon.get("/api/v2/search", params={"q": "pine"})
    assert r.status_code == 200 and r.json()["statuses"] == [] and r.json()["hashtags"]
    assert (await anon.get("/api/v2/search", params={"q": "bob"})).json()["accounts"][0]["id"] == bob.id
    assert (await anon.get("/api/v2/search", params={"q": ""})).json() == {"accounts": [], "statuses": [], "hashtags": []}
    assert_error(await alice.get("/api/v2/search", params={"q": "x", "type": "everything"}), 422)
    assert_error(await anon.get("/api/v2/search", params={"q": "x", "offset": 5}), 401)


async def test_search_following_only(server):
    alice = await server.user("alice")
    bobby = await server.user("bobby")
    await server.user("bobcat")
    await alice.post(f"/api/v1/accounts/{bobby.id}/follow")
    r = await alice.get("/api/v2/search", params={"q": "bob", "type": "accounts", "following": "true"})
    assert ids(r.json()["accounts"]) == [bobby.id]
    r = await alice.get("/api/v2/search", params={"q": "bob", "type": "accounts"})
    assert len(r.json()["accounts"]) == 2


async def test_search_wildcards_are_literal(server):
    alice = await server.user("alice")
    await post(alice, "100% sure")
    await post(alice, "1000 sure")
    r = await alice.get("/api/v2/search", params={"q": "100%", "type": "statuses"})
    assert len(r.json()["statuses"]) == 1  # full-text search reads words: % is punctuation, not a wildcard
