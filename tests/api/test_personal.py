"""Markers, private account notes, hashtags that can be followed, and OAuth userinfo."""


async def test_markers_round_trip_and_versions(server):
    alice = await server.user("alice")
    assert (await alice.get("/api/v1/markers", params={"timeline[]": "home"})).json() == {}
    status = (await alice.post("/api/v1/statuses", data={"status": "one"})).json()
    r = await alice.post("/api/v1/markers", data={"home[last_read_id]": status["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["home"]["last_read_id"] == status["id"]
    assert r.json()["home"]["version"] == 0
    r = await alice.post("/api/v1/markers", json={"home": {"last_read_id": status["id"]}, "notifications": {"last_read_id": "5"}})
    got = (await alice.get("/api/v1/markers", params={"timeline[]": ["home", "notifications"]})).json()
    assert got["home"]["version"] == 1 and got["notifications"]["last_read_id"] == "5"
    bad = await alice.post("/api/v1/markers", data={"home[last_read_id]": "not-an-id"})
    assert bad.status_code == 422 and "error" in bad.json()
    assert (await alice.get("/api/v1/markers")).json()["home"]["version"] == 1


async def test_account_note_shows_in_relationship_only_to_its_author(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    r = await alice.post(f"/api/v1/accounts/{bob.id}/note", data={"comment": "met at the fair"})
    assert r.status_code == 200 and r.json()["note"] == "met at the fair"
    rel = (await alice.get("/api/v1/accounts/relationships", params={"id[]": bob.id})).json()[0]
    assert rel["note"] == "met at the fair"
    reverse = (await bob.get("/api/v1/accounts/relationships", params={"id[]": alice.id})).json()[0]
    assert reverse["note"] == ""
    await alice.post(f"/api/v1/accounts/{bob.id}/note", data={"comment": ""})
    assert (await alice.get("/api/v1/accounts/relationships", params={"id[]": bob.id})).json()[0]["note"] == ""
    assert (await alice.post("/api/v1/accounts/999/note", data={"comment": "x"})).status_code == 404


async def test_followed_hashtag_brings_public_posts_home(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    r = await alice.post("/api/v1/tags/Gardening/follow")
    assert r.status_code == 200 and r.json()["name"] == "gardening" and r.json()["following"] is True
    assert [t["name"] for t in (await alice.get("/api/v1/followed_tags")).json()] == ["gardening"]
    public = (await bob.post("/api/v1/statuses", data={"status": "tomatoes #gardening"})).json()
    private = (await bob.post("/api/v1/statuses", data={"status": "secret #gardening", "visibility": "private"})).json()
    untagged = (await bob.post("/api/v1/statuses", data={"status": "no tag here"})).json()
    await server.settle()
    home_ids = [s["id"] for s in (await alice.get("/api/v1/timelines/home")).json()]
    assert public["id"] in home_ids
    assert private["id"] not in home_ids and untagged["id"] not in home_ids
    assert (await alice.get("/api/v1/tags/gardening")).json()["following"] is True
    await alice.post("/api/v1/tags/gardening/unfollow")
    assert (await alice.get("/api/v1/tags/gardening")).json()["following"] is False
    assert (await alice.get("/api/v1/followed_tags")).json() == []
    assert (await alice.get("/api/v1/tags/nosuchtag")).status_code == 404


async def test_userinfo_needs_profile_or_read_scope(server):
    alice = await server.user("alice", scopes="profile")
    r = await alice.get("/oauth/userinfo")
    assert r.status_code == 200 and r.json()["preferred_username"] == "alice"
    writer = await server.user("writer", scopes="write")
    assert (await writer.get("/oauth/userinfo")).status_code == 403
    meta = (await server.http.get("/.well-known/oauth-authorization-server")).json()
    assert meta["userinfo_endpoint"].endswith("/oauth/userinfo")
