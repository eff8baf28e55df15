"""Timelines: home delivery, public and tag timelines, and pagination with the Link header."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.api.conftest import assert_error, ids, post


def links(response) -> dict[str, str]:
    """Parse a Link header into {rel: url}."""
    header = response.headers.get("link", "")
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;\s*rel="(\w+)"', header)}


async def walk(user, url: str, params: dict, rel: str = "next", limit: int = 50) -> list[list[str]]:
    """Follow Link rel=next (or prev) pages until an empty page; return the ids of each page."""
    pages = []
    r = await user.get(url, params=params)
    for _ in range(limit):
        assert r.status_code == 200, r.text
        if not r.json():
            assert "link" not in r.headers
            return pages
        pages.append(ids(r.json()))
        nxt = links(r)[rel]
        assert nxt.startswith("http://test.local/")
        r = await user.get(nxt)
    raise AssertionError("pagination did not end")


async def test_home_gets_followed_statuses_after_jobs_settle(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    mine = await post(alice, "my own")
    bobs = await post(bob, "from bob")
    carols = await post(carol, "from carol, not followed")
    await server.settle()
    home = (await alice.get("/api/v1/timelines/home")).json()
    assert ids(home) == [bobs["id"], mine["id"]]
    assert carols["id"] not in ids(home)
    assert ids((await bob.get("/api/v1/timelines/home")).json()) == [bobs["id"]]


async def test_follow_backfills_and_unfollow_removes_from_home(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    older = await post(bob, "before the follow")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    assert ids((await alice.get("/api/v1/timelines/home")).json()) == [older["id"]]
    newer = await post(bob, "after the follow")
    await server.settle()
    assert ids((await alice.get("/api/v1/timelines/home")).json()) == [newer["id"], older["id"]]
    await alice.post(f"/api/v1/accounts/{bob.id}/unfollow")
    assert (await alice.get("/api/v1/timelines/home")).json() == []
    later = await post(bob, "after unfollow")
    await server.settle()
    assert later["id"] not in ids((await alice.get("/api/v1/timelines/home")).json())


async def test_home_reblogs_replies_and_deletes(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    carols = await post(carol, "carol says")
    wrapper = (await bob.post(f"/api/v1/statuses/{carols['id']}/reblog")).json()
    reply_to_stranger = await post(bob, "@carol reply to someone alice does not follow", in_reply_to_id=carols["id"])
    await server.settle()
    home = (await alice.get("/api/v1/timelines/home")).json()
    assert ids(home) == [wrapper["id"]]
    assert home[0]["reblog"]["id"] == carols["id"]
    assert reply_to_stranger["id"] not in ids(home)
    # Deleting a status or undoing a reblog takes it out of followers' homes at once.
    gone = await post(bob, "short-lived")
    await server.settle()
    assert gone["id"] in ids((await alice.get("/api/v1/timelines/home")).json())
    await bob.delete(f"/api/v1/statuses/{gone['id']}")
    assert gone["id"] not in ids((await alice.get("/api/v1/timelines/home")).json())
    await bob.post(f"/api/v1/statuses/{carols['id']}/unreblog")
    assert (await alice.get("/api/v1/timelines/home")).json() == []


async def test_follow_without_reblogs_hides_reblogs(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow", data={"reblogs": "false"})
    carols = await post(carol, "carol says")
    await bob.post(f"/api/v1/statuses/{carols['id']}/reblog")
    own = await post(bob, "bob's own")
    await server.settle()
    assert ids((await alice.get("/api/v1/timelines/home")).json()) == [own["id"]]


async def test_public_timeline(server, anon):
    alice = await server.user("alice")
    bob = await server.user("bob")
    public = await post(alice, "public #one")
    await post(alice, "unlisted", visibility="unlisted")
    await post(alice, "private", visibility="private")
    await post(alice, "@bob direct", visibility="direct")
    await bob.post(f"/api/v1/statuses/{public['id']}/reblog")
    reply = await post(bob, "public reply", in_reply_to_id=public["id"])
    for params in ({}, {"local": "true"}, {"local": "1"}):
        r = await anon.get("/api/v1/timelines/public", params=params)
        assert r.status_code == 200
        assert ids(r.json()) == [reply["id"], public["id"]], params
    assert (await anon.get("/api/v1/timelines/public", params={"remote": "true"})).json() == []
    assert (await anon.get("/api/v1/timelines/public", params={"only_media": "true"})).json() == []
    assert ids((await bob.get("/api/v1/timelines/public", params={"local": "true"})).json()) == [reply["id"], public["id"]]


async def test_tag_timeline(server, anon):
    alice = await server.user("alice")
    cats = await post(alice, "I love #cats")
    dogs = await post(alice, "and #Dogs")
    both = await post(alice, "#cats and #dogs")
    await post(alice, "private #cats", visibility="private")
    await post(alice, "unlisted #cats", visibility="unlisted")
    assert ids((await anon.get("/api/v1/timelines/tag/cats")).json()) == [both["id"], cats["id"]]
    assert ids((await anon.get("/api/v1/timelines/tag/CATS")).json()) == [both["id"], cats["id"]]
    assert ids((await anon.get("/api/v1/timelines/tag/dogs")).json()) == [both["id"], dogs["id"]]
    r = await anon.get("/api/v1/timelines/tag/cats", params={"any[]": "dogs"})
    assert ids(r.json()) == [both["id"], dogs["id"], cats["id"]]
    assert ids((await anon.get("/api/v1/timelines/tag/cats", params={"all[]": "dogs"})).json()) == [both["id"]]
    assert ids((await anon.get("/api/v1/timelines/tag/cats", params={"none[]": "dogs"})).json()) == [cats["id"]]
    assert (await anon.get("/api/v1/timelines/tag/nothing")).json() == []


async def test_home_requires_auth(anon):
    assert_error(await anon.get("/api/v1/timelines/home"), 401)


async def _seven(server):
    alice = await server.user("alice")
    made = [await post(alice, f"status {i}") for i in range(7)]
    await server.settle()
    newest_first = [s["id"] for s in reversed(made)]
    return alice, newest_first


async def test_pagination_parameters(server):
    alice, all_ids = await _seven(server)
    url = "/api/v1/timelines/home"
    assert ids((await alice.get(url)).json()) == all_ids
    assert ids((await alice.get(url, params={"limit": 3})).json()) == all_ids[:3]
    assert ids((await alice.get(url, params={"max_id": all_ids[2]})).json()) == all_ids[3:]
    assert ids((await alice.get(url, params={"since_id": all_ids[4]})).json()) == all_ids[:4]
    # since_id gives the newest above the cursor, min_id the ones right above it.
    assert ids((await alice.get(url, params={"since_id": all_ids[6], "limit": 2})).json()) == all_ids[:2]
    assert ids((await alice.get(url, params={"min_id": all_ids[6], "limit": 2})).json()) == all_ids[4:6]
    assert ids((await alice.get(url, params={"max_id": all_ids[0], "since_id": all_ids[4]})).json()) == all_ids[1:4]
    assert (await alice.get(url, params={"max_id": all_ids[6]})).json() == []
    assert (await alice.get(url, params={"min_id": all_ids[0]})).json() == []
    assert len((await alice.get(url, params={"limit": 1000})).json()) == 7
    assert len((await alice.get(url, params={"limit": 0})).json()) == 1
    assert_error(await alice.get(url, params={"limit": "many"}), 422)
    assert_error(await alice.get(url, params={"max_id": "abc"}), 422)


async def test_link_header_shape(server):
    alice, all_ids = await _seven(server)
    r = await alice.get("/api/v1/timelines/home", params={"limit": 3})
    rels = links(r)
    assert set(rels) == {"next", "prev"}
    nxt = urlsplit(rels["next"])
    assert nxt.path == "/api/v1/timelines/home"
    assert parse_qs(nxt.query) == {"limit": ["3"], "max_id": [all_ids[2]]}
    assert parse_qs(urlsplit(rels["prev"]).query) == {"limit": ["3"], "min_id": [all_ids[0]]}


async def test_link_header_walks_home_and_public_exactly_once(server):
    alice, all_ids = await _seven(server)
    for url in ("/api/v1/timelines/home", "/api/v1/timelines/public", f"/api/v1/accounts/{alice.id}/statuses"):
        pages = await walk(alice, url, {"limit": 3})
        assert [len(p) for p in pages] == [3, 3, 1], url
        assert [i for p in pages for i in p] == all_ids, url
        # And back up: start from the oldest entry and follow rel=prev.
        r = await alice.get(url, params={"limit": 3, "min_id": "0"})
        back = [ids(r.json())]
        while True:
            r = await alice.get(links(r)["prev"])
            if not r.json():
                break
            back.append(ids(r.json()))
        assert [i for p in reversed(back) for i in p] == all_ids, url
        assert back[0] == all_ids[-3:]


async def test_link_walk_over_collections(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    made = [await post(bob, f"s{i}") for i in range(5)]
    for s in made:
        assert (await alice.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200
        assert (await alice.post(f"/api/v1/statuses/{s['id']}/bookmark")).status_code == 200
    expected = [s["id"] for s in reversed(made)]
    for url in ("/api/v1/favourites", "/api/v1/bookmarks"):
        pages = await walk(alice, url, {"limit": 2})
        assert [i for p in pages for i in p] == expected, url
    notes = await walk(bob, "/api/v1/notifications", {"limit": 2, "types[]": "favourite"})
    assert sum(len(p) for p in notes) == 5
    assert len({i for p in notes for i in p}) == 5
    followers = []
    for i in range(5):
        follower = await server.user(f"f{i}")
        await follower.post(f"/api/v1/accounts/{bob.id}/follow")
        followers.append(follower.id)
    pages = await walk(alice, f"/api/v1/accounts/{bob.id}/followers", {"limit": 2})
    assert [i for p in pages for i in p] == list(reversed(followers))


async def test_reblog_of_a_muted_or_blocked_author_stays_out_of_home(server):
    reader = await server.user("reader")
    friend = await server.user("friend")
    muted = await server.user("muted")
    blocker = await server.user("blocker")
    await reader.post(f"/api/v1/accounts/{friend.id}/follow")
    await reader.post(f"/api/v1/accounts/{muted.id}/mute")
    await blocker.post(f"/api/v1/accounts/{reader.id}/block")
    loud = (await muted.post("/api/v1/statuses", data={"status": "from the muted"})).json()
    hidden = (await blocker.post("/api/v1/statuses", data={"status": "from the blocker"})).json()
    fine = (await friend.post("/api/v1/statuses", data={"status": "fine"})).json()
    await friend.post(f"/api/v1/statuses/{loud['id']}/reblog")
    await friend.post(f"/api/v1/statuses/{hidden['id']}/reblog")
    await server.settle()
    home = (await reader.get("/api/v1/timelines/home")).json()
    assert [s["id"] for s in home] == [fine["id"]]
    async with server.ctx.db.read() as conn:
        rows = await server.ctx.feeds.size(conn, f"home:{reader.id}")
    assert rows == 1  # nothing was even written for the filtered reblogs
