"""Who sees what: private, direct and blocks, on every read path (404 for everyone else)."""

from __future__ import annotations

from tests.api.conftest import assert_error, ids, post


async def _cast(server):
    """Alice posts; bob follows her, carol is mentioned, dave is a stranger."""
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    dave = await server.user("dave")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    return alice, bob, carol, dave


async def _cannot_see(user, status_id: str, account_id: str) -> None:
    """Every path gives `user` (a User or the anonymous client) nothing about the status."""
    assert_error(await user.get(f"/api/v1/statuses/{status_id}"), 404)
    assert_error(await user.get(f"/api/v1/statuses/{status_id}/context"), 404)
    assert_error(await user.get(f"/api/v1/statuses/{status_id}/history"), 404)
    assert_error(await user.get(f"/api/v1/statuses/{status_id}/favourited_by"), 404)
    assert_error(await user.get(f"/api/v1/statuses/{status_id}/reblogged_by"), 404)
    assert status_id not in ids((await user.get(f"/api/v1/accounts/{account_id}/statuses")).json())
    assert status_id not in ids((await user.get("/api/v1/timelines/public")).json())
    assert status_id not in ids((await user.get(f"/api/v1/statuses?id[]={status_id}")).json())


async def _cannot_touch(user, status_id: str) -> None:
    for action in ("favourite", "reblog", "bookmark", "unfavourite", "unbookmark", "pin"):
        assert_error(await user.post(f"/api/v1/statuses/{status_id}/{action}"), 404)
    assert_error(await user.post("/api/v1/statuses", data={"status": "reply", "in_reply_to_id": status_id}), 404)


async def test_private_visible_to_followers_and_mentioned_only(server, anon):
    alice, bob, carol, dave = await _cast(server)
    s = await post(alice, "for followers and @carol", visibility="private")
    await server.settle()
    for viewer in (alice, bob, carol):
        r = await viewer.get(f"/api/v1/statuses/{s['id']}")
        assert r.status_code == 200, viewer.username
        assert s["id"] in ids((await viewer.get(f"/api/v1/accounts/{alice.id}/statuses")).json())
    assert s["id"] in ids((await bob.get("/api/v1/timelines/home")).json())
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/public")).json())
    for outsider in (dave, anon):
        await _cannot_see(outsider, s["id"], alice.id)
    await _cannot_touch(dave, s["id"])
    # Carol was mentioned, so she got a notification she can open.
    notes = (await carol.get("/api/v1/notifications")).json()
    assert [n["status"]["id"] for n in notes] == [s["id"]]
    # Bob can favourite it; dave never sees that in favourited_by either.
    assert (await bob.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200
    assert_error(await dave.get(f"/api/v1/statuses/{s['id']}/favourited_by"), 404)
    # Unfollowing takes the access away.
    await bob.post(f"/api/v1/accounts/{alice.id}/unfollow")
    assert_error(await bob.get(f"/api/v1/statuses/{s['id']}"), 404)
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/home")).json())


async def test_direct_visible_to_mentioned_only(server, anon):
    alice, bob, carol, dave = await _cast(server)
    s = await post(alice, "psst @carol", visibility="direct")
    await server.settle()
    assert (await carol.get(f"/api/v1/statuses/{s['id']}")).status_code == 200
    assert (await alice.get(f"/api/v1/statuses/{s['id']}")).status_code == 200
    for outsider in (bob, dave, anon):
        await _cannot_see(outsider, s["id"], alice.id)
    await _cannot_touch(bob, s["id"])
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/home")).json())
    # A reply to a direct message stays direct.
    reply = await post(carol, "@alice got it", in_reply_to_id=s["id"])
    assert reply["visibility"] == "direct"
    assert_error(await bob.get(f"/api/v1/statuses/{reply['id']}"), 404)
    assert (await alice.get(f"/api/v1/statuses/{reply['id']}")).status_code == 200


async def test_context_hides_what_the_viewer_cannot_see(server, anon):
    alice, bob, carol, dave = await _cast(server)
    root = await post(alice, "public root")
    hidden = await post(alice, "followers-only reply", visibility="private", in_reply_to_id=root["id"])
    visible = await post(carol, "public reply", in_reply_to_id=root["id"])
    assert ids((await bob.get(f"/api/v1/statuses/{root['id']}/context")).json()["descendants"]) == [hidden["id"], visible["id"]]
    for outsider in (dave, anon):
        ctx = (await outsider.get(f"/api/v1/statuses/{root['id']}/context")).json()
        assert ids(ctx["descendants"]) == [visible["id"]]
    deep = await post(alice, "public under private", in_reply_to_id=hidden["id"])
    ctx = (await dave.get(f"/api/v1/statuses/{deep['id']}/context")).json()
    assert ids(ctx["ancestors"]) == [root["id"]]


async def test_blocker_shows_nothing_to_the_blocked(server):
    alice, bob, carol, dave = await _cast(server)
    public = await post(alice, "public #topic")
    await alice.post(f"/api/v1/accounts/{dave.id}/block")
    await _cannot_see(dave, public["id"], alice.id)
    await _cannot_touch(dave, public["id"])
    assert public["id"] not in ids((await dave.get("/api/v1/timelines/tag/topic")).json())
    later = await post(alice, "after the block")
    await server.settle()
    assert later["id"] not in ids((await dave.get("/api/v1/timelines/home")).json())
    # The blocker does not see the blocked account's statuses either.
    daves = await post(dave, "dave talks")
    assert_error(await alice.get(f"/api/v1/statuses/{daves['id']}"), 404)
    assert daves["id"] not in ids((await alice.get("/api/v1/timelines/public")).json())
    # Others are unaffected, and unblocking restores access.
    assert (await carol.get(f"/api/v1/statuses/{public['id']}")).status_code == 200
    await alice.post(f"/api/v1/accounts/{dave.id}/unblock")
    assert (await dave.get(f"/api/v1/statuses/{public['id']}")).status_code == 200


async def test_block_removes_follow_and_home_entries(server):
    alice, bob, carol, dave = await _cast(server)
    s = await post(alice, "for bob", visibility="private")
    await server.settle()
    assert s["id"] in ids((await bob.get("/api/v1/timelines/home")).json())
    await alice.post(f"/api/v1/accounts/{bob.id}/block")
    assert (await bob.get("/api/v1/timelines/home")).json() == []
    assert_error(await bob.get(f"/api/v1/statuses/{s['id']}"), 404)


async def test_muted_account_hidden_from_public_timeline_for_muter(server, anon):
    alice, bob, carol, dave = await _cast(server)
    s = await post(carol, "carol public")
    await alice.post(f"/api/v1/accounts/{carol.id}/mute")
    assert s["id"] not in ids((await alice.get("/api/v1/timelines/public")).json())
    assert s["id"] in ids((await anon.get("/api/v1/timelines/public")).json())
    assert (await alice.get(f"/api/v1/statuses/{s['id']}")).json()["muted"] is True


async def test_unlisted_is_readable_but_not_in_public_timelines(server, anon):
    alice, bob, carol, dave = await _cast(server)
    s = await post(alice, "quiet #tagged", visibility="unlisted")
    assert (await anon.get(f"/api/v1/statuses/{s['id']}")).status_code == 200
    assert s["id"] in ids((await anon.get(f"/api/v1/accounts/{alice.id}/statuses")).json())
    assert s["id"] not in ids((await anon.get("/api/v1/timelines/public")).json())
    assert s["id"] not in ids((await anon.get("/api/v1/timelines/tag/tagged")).json())


async def test_search_respects_visibility(server):
    alice, bob, carol, dave = await _cast(server)
    s = await post(alice, "secret pineapple", visibility="private")
    assert ids((await bob.get("/api/v2/search", params={"q": "pineapple"})).json()["statuses"]) == [s["id"]]
    assert (await dave.get("/api/v2/search", params={"q": "pineapple"})).json()["statuses"] == []


async def test_blocker_status_does_not_leak_through_someone_elses_reblog(server):
    alice, bob, carol, dave = await _cast(server)
    await dave.post(f"/api/v1/accounts/{bob.id}/follow")
    s = await post(alice, "not for dave")
    await alice.post(f"/api/v1/accounts/{dave.id}/block")
    wrapper = (await bob.post(f"/api/v1/statuses/{s['id']}/reblog")).json()
    own = await post(bob, "bob's own words")
    await server.settle()
    assert_error(await dave.get(f"/api/v1/statuses/{wrapper['id']}"), 404)
    assert ids((await dave.get(f"/api/v1/accounts/{bob.id}/statuses")).json()) == [own["id"]]
    assert ids((await dave.get("/api/v1/timelines/home")).json()) == [own["id"]]
    assert_error(await dave.post(f"/api/v1/statuses/{wrapper['id']}/favourite"), 404)
    # Carol, who is not blocked, still sees the reblog.
    assert (await carol.get(f"/api/v1/statuses/{wrapper['id']}")).json()["reblog"]["id"] == s["id"]
    assert ids((await carol.get(f"/api/v1/accounts/{bob.id}/statuses")).json()) == [own["id"], wrapper["id"]]


async def test_deleted_status_takes_its_reblogs_along(server, anon):
    alice, bob, carol, dave = await _cast(server)
    s = await post(alice, "soon gone")
    wrapper = (await carol.post(f"/api/v1/statuses/{s['id']}/reblog")).json()
    await server.settle()
    await alice.delete(f"/api/v1/statuses/{s['id']}")
    assert_error(await anon.get(f"/api/v1/statuses/{wrapper['id']}"), 404)
    assert (await anon.get(f"/api/v1/accounts/{carol.id}/statuses")).json() == []
    assert (await anon.get(f"/api/v1/accounts/{carol.id}")).json()["statuses_count"] == 0
