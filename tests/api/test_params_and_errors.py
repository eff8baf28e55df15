"""Request parsing as clients send it, and Mastodon-shaped errors that change nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.api.conftest import assert_error, ids, post


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("True", True), ("on", True),
                                            ("0", False), ("false", False), ("f", False)])
async def test_boolean_strings(server, value, expected):
    alice = await server.user("alice")
    r = await alice.patch("/api/v1/accounts/update_credentials", data={"locked": value})
    assert r.status_code == 200, r.text
    assert r.json()["locked"] is expected
    s = await post(alice, "b", sensitive=value)
    assert s["sensitive"] is expected


async def test_bad_boolean_is_422_and_changes_nothing(server):
    alice = await server.user("alice")
    r = await alice.patch("/api/v1/accounts/update_credentials", data={"locked": "maybe", "display_name": "New"})
    assert "boolean" in assert_error(r, 422)["error"]
    me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert me["locked"] is False and me["display_name"] == ""
    assert_error(await alice.get(f"/api/v1/accounts/{alice.id}/statuses", params={"exclude_replies": "perhaps"}), 422)


async def test_json_bodies(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    r = await alice.post(f"/api/v1/accounts/{bob.id}/follow", json={"reblogs": False, "notify": True})
    assert r.status_code == 200 and r.json()["showing_reblogs"] is False and r.json()["notifying"] is True
    r = await alice.post("/api/v1/statuses", json={"status": "json", "sensitive": "true", "visibility": "private"})
    assert r.status_code == 200 and r.json()["sensitive"] is True and r.json()["visibility"] == "private"
    r = await alice.patch("/api/v1/accounts/update_credentials", json={"locked": 1, "bot": 0})
    assert r.json()["locked"] is True and r.json()["bot"] is False
    # A charset suffix or a +json media type is still JSON.
    r = await alice.http.post("/api/v1/statuses", content=b'{"status": "charset"}', headers={
        "Authorization": f"Bearer {alice.token}", "Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200 and r.json()["content"] == "<p>charset</p>"


async def test_malformed_json_is_400_and_changes_nothing(server):
    alice = await server.user("alice")
    headers = {"Authorization": f"Bearer {alice.token}", "Content-Type": "application/json"}
    assert_error(await alice.http.post("/api/v1/statuses", content=b'{"status": ', headers=headers), 400)
    assert_error(await alice.http.post("/api/v1/statuses", content=b'["status"]', headers=headers), 400)
    assert (await alice.get("/api/v1/accounts/verify_credentials")).json()["statuses_count"] == 0


async def test_multipart_form(server):
    alice = await server.user("alice")
    r = await alice.post("/api/v1/statuses", files={"status": (None, "multipart hello"), "visibility": (None, "unlisted")})
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "<p>multipart hello</p>" and r.json()["visibility"] == "unlisted"


async def test_query_string_parameters_on_post(server):
    alice = await server.user("alice")
    r = await alice.post("/api/v1/statuses?status=from+query&visibility=unlisted")
    assert r.status_code == 200 and r.json()["content"] == "<p>from query</p>" and r.json()["visibility"] == "unlisted"


async def test_array_parameters_in_every_form(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    for query in (f"id[]={bob.id}&id[]={carol.id}", f"id[0]={bob.id}&id[1]={carol.id}"):
        r = await alice.get(f"/api/v1/accounts/relationships?{query}")
        assert ids(r.json()) == [bob.id, carol.id], query
    r = await alice.get(f"/api/v1/accounts/relationships?id={bob.id}")
    assert ids(r.json()) == [bob.id]


async def test_rails_style_unindexed_hash_arrays(server):
    alice = await server.user("alice")
    body = urlencode([
        ("fields_attributes[][name]", "one"), ("fields_attributes[][value]", "1"),
        ("fields_attributes[][name]", "two"), ("fields_attributes[][value]", "2"),
    ])
    r = await alice.http.patch("/api/v1/accounts/update_credentials", content=body, headers={
        "Authorization": f"Bearer {alice.token}", "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    assert [(f["name"], f["value"]) for f in r.json()["source"]["fields"]] == [("one", "1"), ("two", "2")]


async def test_trailing_slash(server, anon):
    assert (await anon.get("/api/v1/instance/")).json()["uri"] == "test.local"
    alice = await server.user("alice")
    r = await alice.post("/api/v1/statuses/", data={"status": "slash"})
    assert r.status_code == 200 and r.json()["content"] == "<p>slash</p>"
    assert (await alice.get("/api/v1/timelines/home/")).status_code == 200


async def test_unknown_route_and_method_errors(server, anon):
    body = assert_error(await anon.get("/api/v1/nothing-here"), 404)
    assert body == {"error": "Not Found"}
    body = assert_error(await anon.delete("/api/v1/instance"), 405)
    assert body == {"error": "Method Not Allowed"}


async def test_error_shapes_by_status(server, anon):
    alice = await server.user("alice")
    reader = await server.user("reader", scopes="read")
    assert assert_error(await anon.get("/api/v1/notifications"), 401)["error"] == "The access token is invalid"
    assert_error(await anon.post("/api/v1/statuses", data={"status": "x"}), 401)
    assert_error(await reader.post(f"/api/v1/accounts/{alice.id}/follow"), 403)
    assert_error(await alice.get("/api/v1/statuses/1"), 404)
    assert_error(await alice.get("/api/v1/statuses/99999999999999999999999"), 404)
    assert_error(await alice.get("/api/v1/statuses/%C2%B2"), 404)  # '²' passes str.isdigit()
    assert_error(await alice.get("/api/v1/timelines/home", params={"max_id": "\u00b2"}), 422)
    assert_error(await alice.post("/api/v1/statuses", data={"status": "x" * 501}), 422)
    r = await alice.get("/api/v1/statuses/1")
    assert r.headers["content-type"].startswith("application/json")


async def test_rejected_writes_change_nothing(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "original")
    before = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert_error(await alice.post("/api/v1/statuses", data={"status": "y" * 501}), 422)
    assert_error(await alice.post("/api/v1/statuses", data={"status": "ok", "visibility": "everyone"}), 422)
    assert_error(await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": ""}), 422)
    assert_error(await bob.put(f"/api/v1/statuses/{s['id']}", data={"status": "mine now"}), 404)
    assert_error(await bob.delete(f"/api/v1/statuses/{s['id']}"), 404)
    after = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert after["statuses_count"] == before["statuses_count"] == 1
    current = (await alice.get(f"/api/v1/statuses/{s['id']}")).json()
    assert current["content"] == "<p>original</p>" and current["edited_at"] is None
    assert len((await alice.get(f"/api/v1/statuses/{s['id']}/history")).json()) == 1
    await server.settle()
    assert ids((await alice.get("/api/v1/timelines/home")).json()) == [s["id"]]
    assert ids((await alice.get("/api/v1/timelines/public")).json()) == [s["id"]]
    # A refused follow leaves both accounts' counts as they were.
    await alice.post(f"/api/v1/accounts/{bob.id}/block")
    assert_error(await bob.post(f"/api/v1/accounts/{alice.id}/follow"), 403)
    assert (await bob.get(f"/api/v1/accounts/{alice.id}")).json()["followers_count"] == 0
    assert (await bob.get(f"/api/v1/accounts/{bob.id}")).json()["following_count"] == 0
