"""Accounts: credentials, profiles, lookups, their statuses and social graph, and relationships."""

from __future__ import annotations

from tests.api.conftest import assert_error, ids, post


async def test_verify_credentials_has_source_and_role(server):
    alice = await server.user("alice")
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 200
    me = r.json()
    assert me["id"] == alice.id and me["username"] == "alice" and me["acct"] == "alice"
    assert me["url"] == "http://test.local/@alice"
    assert me["source"]["privacy"] == "public"
    assert me["source"]["note"] == ""
    assert me["source"]["follow_requests_count"] == 0
    assert me["role"]["name"] == ""
    assert me["locked"] is False and me["bot"] is False
    assert me["statuses_count"] == 0 and me["followers_count"] == 0 and me["following_count"] == 0
    assert me["avatar"].startswith("http://test.local/") and me["header"].startswith("http://test.local/")
    assert me["created_at"].endswith("T00:00:00.000Z")


async def test_update_credentials_form_style_fields(server):
    alice = await server.user("alice")
    r = await alice.patch("/api/v1/accounts/update_credentials", data={
        "display_name": "Alice <b>A</b>",
        "note": "Hello & welcome",
        "locked": "1",
        "bot": "false",
        "source[privacy]": "unlisted",
        "source[sensitive]": "true",
        "source[language]": "fr",
        "fields_attributes[0][name]": "Site",
        "fields_attributes[0][value]": "https://alice.example",
        "fields_attributes[1][name]": "Pronouns",
        "fields_attributes[1][value]": "she/her",
    })
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["display_name"] == "Alice A"  # plain text: markup is removed (tests/api/test_xss.py)
    assert me["note"] == "<p>Hello &amp; welcome</p>"
    assert me["source"]["note"] == "Hello & welcome"
    assert me["locked"] is True and me["bot"] is False
    assert me["source"]["privacy"] == "unlisted" and me["source"]["sensitive"] is True and me["source"]["language"] == "fr"
    assert [(f["name"], f["value"]) for f in me["source"]["fields"]] == [("Site", "https://alice.example"), ("Pronouns", "she/her")]
    assert [f["name"] for f in me["fields"]] == ["Site", "Pronouns"]
    assert 'href="https://alice.example"' in me["fields"][0]["value"]
    # Persisted: a fresh read agrees, and the defaults apply to new statuses.
    again = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert again["display_name"] == "Alice A" and again["locked"] is True
    status = await post(alice, "defaults apply")
    assert status["visibility"] == "unlisted" and status["sensitive"] is True and status["language"] == "fr"
    prefs = (await alice.get("/api/v1/preferences")).json()
    assert prefs["posting:default:visibility"] == "unlisted"
    assert prefs["posting:default:sensitive"] is True
    assert prefs["posting:default:language"] == "fr"


async def test_update_credentials_json_and_validation(server):
    alice = await server.user("alice")
    r = await alice.patch("/api/v1/accounts/update_credentials", json={
        "display_name": "Al", "fields_attributes": [{"name": "a", "value": "b"}], "source": {"privacy": "private"}})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Al" and r.json()["source"]["privacy"] == "private"
    assert r.json()["fields"][0]["name"] == "a"
    # A bad value anywhere rejects the whole change.
    r = await alice.patch("/api/v1/accounts/update_credentials", data={"display_name": "Changed", "note": "x" * 501})
    assert_error(r, 422)
    r = await alice.patch("/api/v1/accounts/update_credentials", data={"display_name": "Changed", "source[privacy]": "direct"})
    assert_error(r, 422)
    r = await alice.patch("/api/v1/accounts/update_credentials", data={"display_name": "x" * 31})
    assert_error(r, 422)
    five = {f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)}
    assert_error(await alice.patch("/api/v1/accounts/update_credentials", data=five), 422)
    me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert me["display_name"] == "Al" and me["source"]["privacy"] == "private" and len(me["fields"]) == 1


async def test_lookup_and_get(server, anon):
    alice = await server.user("alice")
    for acct in ("alice", "@alice", "ALICE", "alice@test.local"):
        r = await anon.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert r.status_code == 200, acct
        assert r.json()["id"] == alice.id
    assert_error(await anon.get("/api/v1/accounts/lookup", params={"acct": "alice@elsewhere.example"}), 404)
    assert_error(await anon.get("/api/v1/accounts/lookup", params={"acct": "nobody"}), 404)
    assert_error(await anon.get("/api/v1/accounts/lookup"), 422)
    r = await anon.get(f"/api/v1/accounts/{alice.id}")
    assert r.status_code == 200 and r.json()["username"] == "alice"
    assert "source" not in r.json()
    assert_error(await anon.get("/api/v1/accounts/123"), 404)
    assert_error(await anon.get("/api/v1/accounts/not-an-id"), 404)


async def test_account_search(server):
    alice = await server.user("alice")
    await server.user("alicia")
    await server.user("bob")
    r = await alice.get("/api/v1/accounts/search", params={"q": "ali"})
    assert r.status_code == 200
    assert sorted(a["username"] for a in r.json()) == ["alice", "alicia"]
    r = await alice.get("/api/v1/accounts/search", params={"q": "alice"})
    assert r.json()[0]["username"] == "alice"


async def test_account_statuses_filters(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    bobs = await post(bob, "bob's post")
    top = await post(alice, "top level")
    reply_to_bob = await post(alice, "@bob a reply", in_reply_to_id=bobs["id"])
    self_reply = await post(alice, "self thread", in_reply_to_id=top["id"])
    r = await alice.post(f"/api/v1/statuses/{bobs['id']}/reblog")
    reblog = r.json()
    url = f"/api/v1/accounts/{alice.id}/statuses"
    everything = (await bob.get(url)).json()
    assert ids(everything) == [reblog["id"], self_reply["id"], reply_to_bob["id"], top["id"]]
    assert everything[0]["reblog"]["id"] == bobs["id"]
    no_replies = (await bob.get(url, params={"exclude_replies": "true"})).json()
    assert ids(no_replies) == [reblog["id"], self_reply["id"], top["id"]]
    no_reblogs = (await bob.get(url, params={"exclude_reblogs": "1"})).json()
    assert ids(no_reblogs) == [self_reply["id"], reply_to_bob["id"], top["id"]]
    both = (await bob.get(url, params={"exclude_replies": "1", "exclude_reblogs": "1"})).json()
    assert ids(both) == [self_reply["id"], top["id"]]
    assert (await bob.get(url, params={"only_media": "true"})).json() == []
    assert ids((await bob.get(url, params={"exclude_reblogs": "0", "exclude_replies": "false"})).json()) == ids(everything)
    # Pinned statuses, in pin order (newest pin first).
    assert (await bob.get(url, params={"pinned": "true"})).json() == []
    assert (await alice.post(f"/api/v1/statuses/{top['id']}/pin")).status_code == 200
    assert (await alice.post(f"/api/v1/statuses/{self_reply['id']}/pin")).status_code == 200
    pinned = (await bob.get(url, params={"pinned": "true"})).json()
    assert ids(pinned) == [self_reply["id"], top["id"]]
    mine = (await alice.get(url, params={"pinned": "1"})).json()
    assert all(s["pinned"] for s in mine)
    assert_error(await bob.get("/api/v1/accounts/999/statuses"), 404)


async def test_account_statuses_tagged(server, anon):
    alice = await server.user("alice")
    tagged = await post(alice, "about #Cats")
    await post(alice, "about #dogs")
    r = await anon.get(f"/api/v1/accounts/{alice.id}/statuses", params={"tagged": "cats"})
    assert ids(r.json()) == [tagged["id"]]


async def test_account_statuses_filters_and_pin_order(server, anon):
    alice, bob = await server.user("alice"), await server.user("bob")
    first = await post(alice, "first")
    own_thread = await post(alice, "more on that", in_reply_to_id=first["id"])
    to_bob = await post(bob, "bob says")
    reply = await post(alice, "@bob answer", in_reply_to_id=to_bob["id"])
    boost = (await alice.post(f"/api/v1/statuses/{to_bob['id']}/reblog")).json()
    hidden = await post(alice, "followers only", visibility="private")
    url = f"/api/v1/accounts/{alice.id}/statuses"
    everything = [hidden["id"], boost["id"], reply["id"], own_thread["id"], first["id"]]
    assert ids((await alice.get(url)).json()) == everything
    assert ids((await anon.get(url)).json()) == everything[1:]  # the private post is not the stranger's to see
    # Replies to others go, a thread the author continues stays; reblogs go on their own filter.
    assert ids((await alice.get(url, params={"exclude_replies": "true"})).json()) == [hidden["id"], boost["id"], own_thread["id"], first["id"]]
    assert ids((await alice.get(url, params={"exclude_reblogs": "true"})).json()) == [hidden["id"], reply["id"], own_thread["id"], first["id"]]
    assert ids((await alice.get(url, params={"limit": 2, "max_id": reply["id"]})).json()) == [own_thread["id"], first["id"]]
    assert ids((await alice.get(url, params={"min_id": own_thread["id"]})).json()) == everything[:3]
    # Pins list in the order they were pinned (newest pin first) and page by the pin, not the status id.
    for s in (own_thread, first, reply):
        assert (await alice.post(f"/api/v1/statuses/{s['id']}/pin")).status_code == 200
    pinned = await anon.get(url, params={"pinned": "true", "limit": 2})
    assert ids(pinned.json()) == [reply["id"], first["id"]]
    older = pinned.headers["link"].split(";")[0].strip("<>")
    assert ids((await anon.get(older)).json()) == [own_thread["id"]]
    assert ids((await anon.get(url, params={"pinned": "true", "exclude_replies": "true"})).json()) == [first["id"], own_thread["id"]]


async def test_followers_following_and_counts(server, anon):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    assert (await bob.post(f"/api/v1/accounts/{alice.id}/follow")).status_code == 200
    assert (await carol.post(f"/api/v1/accounts/{alice.id}/follow")).status_code == 200
    assert (await alice.post(f"/api/v1/accounts/{carol.id}/follow")).status_code == 200
    followers = (await anon.get(f"/api/v1/accounts/{alice.id}/followers")).json()
    assert ids(followers) == [carol.id, bob.id]
    following = (await anon.get(f"/api/v1/accounts/{alice.id}/following")).json()
    assert ids(following) == [carol.id]
    assert ids((await anon.get(f"/api/v1/accounts/{bob.id}/following")).json()) == [alice.id]
    a = (await anon.get(f"/api/v1/accounts/{alice.id}")).json()
    assert a["followers_count"] == 2 and a["following_count"] == 1
    # Following twice changes nothing.
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    assert (await anon.get(f"/api/v1/accounts/{alice.id}")).json()["followers_count"] == 2
    r = await bob.post(f"/api/v1/accounts/{alice.id}/unfollow")
    assert r.status_code == 200 and r.json()["following"] is False
    assert ids((await anon.get(f"/api/v1/accounts/{alice.id}/followers")).json()) == [carol.id]
    a = (await anon.get(f"/api/v1/accounts/{alice.id}")).json()
    assert a["followers_count"] == 1
    assert (await anon.get(f"/api/v1/accounts/{bob.id}")).json()["following_count"] == 0
    page = await anon.get(f"/api/v1/accounts/{alice.id}/followers", params={"limit": 1})
    assert len(page.json()) == 1 and 'rel="next"' in page.headers["link"]


async def test_cannot_follow_self(server):
    alice = await server.user("alice")
    assert_error(await alice.post(f"/api/v1/accounts/{alice.id}/follow"), 403)
    assert_error(await alice.post("/api/v1/accounts/12345/follow"), 404)


async def test_relationships(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow", data={"reblogs": "false", "notify": "true"})
    await carol.post(f"/api/v1/accounts/{alice.id}/follow")
    r = await alice.get(f"/api/v1/accounts/relationships?id[]={bob.id}&id[]={carol.id}&id[]={alice.id}")
    assert r.status_code == 200
    rels = r.json()
    assert ids(rels) == [bob.id, carol.id, alice.id]
    assert rels[0]["following"] is True and rels[0]["followed_by"] is False
    assert rels[0]["showing_reblogs"] is False and rels[0]["notifying"] is True
    assert rels[1]["following"] is False and rels[1]["followed_by"] is True
    assert not any(rels[2][k] for k in ("following", "followed_by", "blocking", "muting", "requested"))
    single = (await alice.get("/api/v1/accounts/relationships", params={"id": bob.id})).json()
    assert ids(single) == [bob.id] and single[0]["following"] is True
    # Updating the follow's options by following again.
    r = await alice.post(f"/api/v1/accounts/{bob.id}/follow", json={"reblogs": True, "notify": False})
    assert r.json()["showing_reblogs"] is True and r.json()["notifying"] is False


async def test_locked_account_follow_request_authorize(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await alice.patch("/api/v1/accounts/update_credentials", data={"locked": "true"})
    r = await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    assert r.status_code == 200
    assert r.json()["following"] is False and r.json()["requested"] is True
    notes = (await alice.get("/api/v1/notifications")).json()
    assert [(n["type"], n["account"]["id"]) for n in notes] == [("follow_request", bob.id)]
    requests = (await alice.get("/api/v1/follow_requests")).json()
    assert ids(requests) == [bob.id]
    assert (await alice.get("/api/v1/accounts/verify_credentials")).json()["source"]["follow_requests_count"] == 1
    rel = (await alice.get("/api/v1/accounts/relationships", params={"id[]": bob.id})).json()[0]
    assert rel["requested_by"] is True
    assert (await alice.get(f"/api/v1/accounts/{alice.id}/followers")).json() == []
    r = await alice.post(f"/api/v1/follow_requests/{bob.id}/authorize")
    assert r.status_code == 200
    assert r.json()["followed_by"] is True and r.json()["requested_by"] is False
    assert (await alice.get("/api/v1/follow_requests")).json() == []
    assert ids((await alice.get(f"/api/v1/accounts/{alice.id}/followers")).json()) == [bob.id]
    rel = (await bob.get("/api/v1/accounts/relationships", params={"id[]": alice.id})).json()[0]
    assert rel["following"] is True and rel["requested"] is False
    assert_error(await alice.post(f"/api/v1/follow_requests/{bob.id}/authorize"), 404)


async def test_locked_account_follow_request_reject(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await alice.patch("/api/v1/accounts/update_credentials", json={"locked": True})
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    r = await alice.post(f"/api/v1/follow_requests/{bob.id}/reject")
    assert r.status_code == 200 and r.json()["followed_by"] is False
    assert (await alice.get("/api/v1/follow_requests")).json() == []
    rel = (await bob.get("/api/v1/accounts/relationships", params={"id[]": alice.id})).json()[0]
    assert rel["following"] is False and rel["requested"] is False
    assert (await bob.get(f"/api/v1/accounts/{alice.id}")).json()["followers_count"] == 0


async def test_withdrawing_a_follow_request(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await alice.patch("/api/v1/accounts/update_credentials", data={"locked": "1"})
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    r = await bob.post(f"/api/v1/accounts/{alice.id}/unfollow")
    assert r.json()["requested"] is False
    assert (await alice.get("/api/v1/follow_requests")).json() == []


async def test_block_and_unblock(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    r = await alice.post(f"/api/v1/accounts/{bob.id}/block")
    assert r.status_code == 200
    rel = r.json()
    assert rel["blocking"] is True and rel["following"] is False and rel["followed_by"] is False
    assert ids((await alice.get("/api/v1/blocks")).json()) == [bob.id]
    assert (await bob.get("/api/v1/accounts/relationships", params={"id[]": alice.id})).json()[0]["blocked_by"] is True
    assert (await alice.get(f"/api/v1/accounts/{alice.id}")).json()["followers_count"] == 0
    assert (await alice.get(f"/api/v1/accounts/{alice.id}")).json()["following_count"] == 0
    # The blocked account cannot follow back.
    assert_error(await bob.post(f"/api/v1/accounts/{alice.id}/follow"), 403)
    r = await alice.post(f"/api/v1/accounts/{bob.id}/unblock")
    assert r.json()["blocking"] is False
    assert (await alice.get("/api/v1/blocks")).json() == []
    assert (await bob.post(f"/api/v1/accounts/{alice.id}/follow")).json()["following"] is True


async def test_mute_and_unmute(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    r = await alice.post(f"/api/v1/accounts/{bob.id}/mute", data={"notifications": "false"})
    assert r.status_code == 200
    assert r.json()["muting"] is True and r.json()["muting_notifications"] is False and r.json()["following"] is True
    assert ids((await alice.get("/api/v1/mutes")).json()) == [bob.id]
    r = await alice.post(f"/api/v1/accounts/{bob.id}/mute")
    assert r.json()["muting_notifications"] is True
    # A muted account's new statuses stay out of home, and its mentions make no notification.
    status = await post(bob, "@alice can you hear me")
    await server.settle()
    assert status["id"] not in ids((await alice.get("/api/v1/timelines/home")).json())
    assert (await alice.get("/api/v1/notifications")).json() == []
    r = await alice.post(f"/api/v1/accounts/{bob.id}/unmute")
    assert r.json()["muting"] is False
    assert (await alice.get("/api/v1/mutes")).json() == []
    assert_error(await alice.post(f"/api/v1/accounts/{bob.id}/mute", data={"duration": "soon"}), 422)
    assert_error(await alice.post(f"/api/v1/accounts/{alice.id}/mute"), 403)


async def test_familiar_followers(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await bob.post(f"/api/v1/accounts/{carol.id}/follow")
    r = await alice.get("/api/v1/accounts/familiar_followers", params={"id[]": carol.id})
    assert r.status_code == 200
    assert r.json() == [{"id": carol.id, "accounts": [r.json()[0]["accounts"][0]]}]
    assert r.json()[0]["accounts"][0]["id"] == bob.id
