"""Neither the rendered-status cache nor the page cache ever shows anything stale: every change is in the very next read.

Each case first reads a URL until a cache serves it (a hit counter proves it), then changes something and
reads again. Every case runs twice: once proving the rendered-status cache (api/page_cache off while it
waits for the hit), once proving the page cache (whole responses, api/page_cache.py), which is on only on
the embedded SQLite backend. Entities keep their schema (assert_status) whether rendered fresh or from a cache.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error, ids, post
from tests.api.mastodon_schema import assert_status
from tests.api.test_media import upload
from tests.media_fixtures import png

ADMIN_SCOPES = "read write follow admin:read admin:write"


@pytest.fixture(params=["status", "page"])
def server(server, request):
    """The suite's server, told which cache its `cached` reads must be answered by."""
    if request.param == "page" and not server.app.state.page_cache.enabled:
        pytest.skip("the page cache is off on the scale-out backend")
    server.cache_layer = request.param
    return server


def cache(server):
    return server.ctx.status_cache if server.cache_layer == "status" else server.app.state.page_cache


async def cached(server, user, url: str):
    """Read a URL until the cache under test serves it: return that body.

    A background job finishing during a read (the post's fan-out, its link card) invalidates, and a reader
    that saw an invalidation while it read does not store what it built; so settle the jobs first, and
    allow a few reads. While it waits for the rendered-status cache the page cache is off (else it would
    answer first); it is back on for the reads that follow.
    """
    page = server.app.state.page_cache
    was, page.enabled = page.enabled, page.enabled and server.cache_layer == "page"
    try:
        await server.settle()
        await user.get(url)
        for _ in range(5):
            before = cache(server).hits
            r = await user.get(url)
            assert r.status_code == 200, r.text
            if cache(server).hits > before:
                break
            await server.settle()
        assert cache(server).hits > before, f"{url} was not served from the {server.cache_layer} cache"
    finally:
        page.enabled = was
    body = r.json()
    for s in body if isinstance(body, list) else [body]:
        assert_status(s)
    return body


async def one(server, user, status_id: str) -> dict:
    """The status as the user's home timeline shows it (from the cache when it holds it)."""
    home = (await user.get("/api/v1/timelines/home")).json()
    found = [s for s in home if s["id"] == status_id or (s["reblog"] or {}).get("id") == status_id]
    assert found, f"{status_id} not in home"
    assert_status(found[0])
    return found[0]


async def test_edit_counts_and_viewer_marks_show_at_once(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    s = await post(alice, "first words")
    await cached(server, bob, "/api/v1/timelines/home")

    assert (await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "second words"})).status_code == 200
    got = await one(server, bob, s["id"])
    assert "second words" in got["content"] and got["edited_at"] is not None

    await cached(server, bob, "/api/v1/timelines/home")
    assert (await carol.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200
    got = await one(server, bob, s["id"])
    assert got["favourites_count"] == 1 and got["favourited"] is False
    # The viewer's own marks are spliced into the shared rendering, for each viewer apart.
    assert (await bob.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200
    assert (await bob.post(f"/api/v1/statuses/{s['id']}/bookmark")).status_code == 200
    got = await one(server, bob, s["id"])
    assert got["favourites_count"] == 2 and got["favourited"] is True and got["bookmarked"] is True
    carols_view = (await carol.get(f"/api/v1/statuses/{s['id']}")).json()
    assert carols_view["favourited"] is True and carols_view["bookmarked"] is False
    assert (await alice.get(f"/api/v1/statuses/{s['id']}")).json()["favourited"] is False

    await cached(server, bob, f"/api/v1/statuses/{s['id']}")
    assert (await carol.post(f"/api/v1/statuses/{s['id']}/reblog")).status_code == 200
    assert (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["reblogs_count"] == 1
    await post(carol, "a reply", in_reply_to_id=s["id"])
    assert (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["replies_count"] == 1
    assert (await bob.post(f"/api/v1/statuses/{s['id']}/unfavourite")).status_code == 200
    got = (await bob.get(f"/api/v1/statuses/{s['id']}")).json()
    assert got["favourites_count"] == 1 and got["favourited"] is False

    await cached(server, bob, "/api/v1/timelines/home")
    assert (await alice.delete(f"/api/v1/statuses/{s['id']}")).status_code == 200
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/home")).json())
    assert_error(await bob.get(f"/api/v1/statuses/{s['id']}"), 404)


async def test_a_reblog_shows_the_shared_status_as_it_is_now(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{carol.id}/follow")
    s = await post(alice, "shared words")
    reblog = (await carol.post(f"/api/v1/statuses/{s['id']}/reblog")).json()
    await server.settle()
    await cached(server, bob, "/api/v1/timelines/home")
    assert (await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "changed words"})).status_code == 200
    assert (await alice.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200
    got = await one(server, bob, s["id"])
    assert got["id"] == reblog["id"] and "changed words" in got["reblog"]["content"]
    assert got["reblog"]["favourites_count"] == 1
    assert (await bob.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200
    assert (await one(server, bob, s["id"]))["reblog"]["favourited"] is True


async def test_account_changes_and_sanctions_show_at_once(server, anon):
    alice, bob, dave = await server.user("alice"), await server.user("bob"), await server.user("dave")
    mod = await server.user("mod", scopes=ADMIN_SCOPES, role="moderator")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    s = await post(alice, "hello @dave")
    await cached(server, bob, "/api/v1/timelines/home")

    r = await alice.patch("/api/v1/accounts/update_credentials", data={"display_name": "Alice Anew"})
    assert r.status_code == 200, r.text
    assert (await one(server, bob, s["id"]))["account"]["display_name"] == "Alice Anew"

    await cached(server, bob, f"/api/v1/statuses/{s['id']}")
    assert [m["id"] for m in (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["mentions"]] == [dave.id]
    r = await mod.post(f"/api/v1/admin/accounts/{dave.id}/action", data={"type": "suspend", "text": "spam"})
    assert r.status_code == 200, r.text
    assert (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["mentions"] == []
    assert (await mod.post(f"/api/v1/admin/accounts/{dave.id}/unsuspend")).status_code == 200
    assert [m["id"] for m in (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["mentions"]] == [dave.id]

    await cached(server, anon, "/api/v1/timelines/public")
    r = await mod.post(f"/api/v1/admin/accounts/{alice.id}/action", data={"type": "sensitive"})
    assert r.status_code == 200, r.text
    assert (await anon.get(f"/api/v1/statuses/{s['id']}")).json()["sensitive"] is True

    await cached(server, bob, "/api/v1/timelines/home")
    r = await mod.post(f"/api/v1/admin/accounts/{alice.id}/action", data={"type": "suspend", "text": "gone"})
    assert r.status_code == 200, r.text
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/home")).json())
    assert s["id"] not in ids((await anon.get("/api/v1/timelines/public")).json())
    assert_error(await bob.get(f"/api/v1/statuses/{s['id']}"), 404)
    # The suspended author's token stops working at once, though the token lookup is cached.
    await alice.get("/api/v1/timelines/home")
    assert_error(await alice.get("/api/v1/timelines/home"), 401)


async def test_blocks_and_mutes_show_at_once(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    s = await post(alice, "before the block")
    await cached(server, bob, f"/api/v1/statuses/{s['id']}")
    assert (await bob.post(f"/api/v1/accounts/{alice.id}/mute")).status_code == 200
    assert (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["muted"] is True
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/public")).json())
    assert (await bob.post(f"/api/v1/accounts/{alice.id}/unmute")).status_code == 200
    assert (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["muted"] is False
    assert (await alice.post(f"/api/v1/accounts/{bob.id}/block")).status_code == 200
    assert_error(await bob.get(f"/api/v1/statuses/{s['id']}"), 404)
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/home")).json())


async def test_poll_votes_and_media_descriptions_show_at_once(server, anon):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    r = await alice.post("/api/v1/statuses", json={"status": "pick", "poll": {"options": ["red", "blue"], "expires_in": 600}})
    assert r.status_code == 200, r.text
    s = r.json()
    await cached(server, anon, f"/api/v1/statuses/{s['id']}")
    await cached(server, carol, f"/api/v1/statuses/{s['id']}")
    assert (await bob.post(f"/api/v1/polls/{s['poll']['id']}/votes", data={"choices[]": ["1"]})).status_code == 200
    seen = (await anon.get(f"/api/v1/statuses/{s['id']}")).json()["poll"]
    assert seen["votes_count"] == 1 and [o["votes_count"] for o in seen["options"]] == [0, 1] and "voted" not in seen
    mine = (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["poll"]
    assert mine["voted"] is True and mine["own_votes"] == [1]
    other = (await carol.get(f"/api/v1/statuses/{s['id']}")).json()["poll"]
    assert other["voted"] is False and other["own_votes"] == [] and other["votes_count"] == 1
    assert (await alice.get(f"/api/v1/statuses/{s['id']}")).json()["poll"]["voted"] is True  # the author's own poll

    media = (await upload(alice, png(), "p.png", "image/png", description="old words")).json()
    r = await alice.post("/api/v1/statuses", data={"status": "look", "media_ids[]": [media["id"]]})
    assert r.status_code == 200, r.text
    pic = r.json()
    await cached(server, anon, f"/api/v1/statuses/{pic['id']}")
    r = await alice.put(f"/api/v1/statuses/{pic['id']}", json={
        "status": "look", "media_ids": [media["id"]], "media_attributes": [{"id": media["id"], "description": "new words"}]})
    assert r.status_code == 200, r.text
    assert (await anon.get(f"/api/v1/statuses/{pic['id']}")).json()["media_attachments"][0]["description"] == "new words"


async def test_quote_counts_and_text_that_looks_like_a_slot(server, anon):
    alice, bob = await server.user("alice"), await server.user("bob")
    s = await post(alice, 'tricky "\\u0000favourited" text')
    first = await cached(server, anon, f"/api/v1/statuses/{s['id']}")
    assert first["content"] == s["content"] and first["quotes_count"] == 0
    r = await bob.post("/api/v1/statuses", json={"status": "quoting", "quoted_status_id": s["id"]})
    assert r.status_code == 200, r.text
    assert (await anon.get(f"/api/v1/statuses/{s['id']}")).json()["quotes_count"] == 1
    assert (await bob.delete(f"/api/v1/statuses/{r.json()['id']}")).status_code == 200
    assert (await anon.get(f"/api/v1/statuses/{s['id']}")).json()["quotes_count"] == 0
