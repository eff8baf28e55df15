"""Quotes (Mastodon 4.5): quoting with policies, quote state per viewer, the quotes list, revocation, notifications."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.api.conftest import assert_error, post
from tests.api.mastodon_schema import assert_entity, assert_status
from townsquare.api import stream_render
from townsquare.domain.models import Viewer
from townsquare.storage import accounts as account_store
from townsquare.storage.tables import quotes, statuses


async def _quote(user, quoted_id: str, text: str = "look at this", **extra):
    return await user.post("/api/v1/statuses", json={"status": text, "quoted_status_id": quoted_id, **extra})


async def _count(server, table) -> int:
    async with server.ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_quote_renders_the_quoted_status_and_notifies(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    original = await post(alice, "an original thought")
    assert original["quote_approval"] == {"automatic": ["public"], "manual": [], "current_user": "automatic"}
    r = await _quote(bob, original["id"])
    assert r.status_code == 200, r.text
    quote = r.json()
    assert_status(quote)
    assert_entity("Quote", quote["quote"])
    assert quote["quote"]["state"] == "accepted" and quote["quote"]["quoted_status"]["id"] == original["id"]
    assert quote["quote"]["quoted_status"]["content"] == original["content"]
    assert_entity("QuoteApproval", quote["quote_approval"])
    # The quoted author is told, and sees the count.
    notes = (await alice.get("/api/v1/notifications")).json()
    assert [(n["type"], n["status"]["id"], n["account"]["id"]) for n in notes] == [("quote", quote["id"], bob.id)]
    assert (await alice.get(f"/api/v1/statuses/{original['id']}")).json()["quotes_count"] == 1
    # A quote of a quote shows the inner quote shallowly.
    carol = await server.user("carol")
    outer = (await _quote(carol, quote["id"])).json()
    inner = outer["quote"]["quoted_status"]
    assert inner["id"] == quote["id"] and inner["quote"] == {"state": "accepted", "quoted_status_id": original["id"]}
    assert_entity("ShallowQuote", inner["quote"])


async def test_policies_decide_who_may_quote(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    followers = (await alice.post("/api/v1/statuses", data={"status": "followers may quote",
                                                            "quote_approval_policy": "followers"})).json()
    nobody = (await alice.post("/api/v1/statuses", data={"status": "nobody may", "quote_approval_policy": "nobody"})).json()
    assert followers["quote_approval"]["automatic"] == ["followers"]
    assert nobody["quote_approval"]["automatic"] == []
    seen_by = {u.username: (await u.get(f"/api/v1/statuses/{followers['id']}")).json()["quote_approval"]["current_user"]
               for u in (bob, carol)}
    assert seen_by == {"bob": "automatic", "carol": "denied"}
    anon = (await server.http.get(f"/api/v1/statuses/{followers['id']}")).json()
    assert anon["quote_approval"]["current_user"] == "unknown"
    assert (await _quote(bob, followers["id"])).status_code == 200
    assert_error(await _quote(carol, followers["id"]), 422)
    assert_error(await _quote(bob, nobody["id"]), 422)
    assert (await _quote(alice, nobody["id"], "quoting myself is fine")).status_code == 200
    assert_error(await alice.post("/api/v1/statuses", data={"status": "x", "quote_approval_policy": "friends"}), 422)
    assert_error(await _quote(bob, "999999"), 404)
    assert_error(await _quote(bob, "nonsense"), 404)
    # Private and direct statuses are never quotable by others, and say so.
    private = (await alice.post("/api/v1/statuses", data={"status": "close friends", "visibility": "private",
                                                          "quote_approval_policy": "public"})).json()
    assert private["quote_approval"] == {"automatic": [], "manual": [], "current_user": "automatic"}
    assert_error(await _quote(bob, private["id"]), 422)
    dm = await post(alice, "@bob secret", visibility="direct")
    assert_error(await _quote(bob, dm["id"]), 422)
    assert_error(await _quote(alice, dm["id"]), 422)
    assert await _count(server, quotes) == 2


async def test_quoting_own_private_post_keeps_the_quote_private(server):
    alice = await server.user("alice")
    private = await post(alice, "followers only", visibility="private")
    quote = (await _quote(alice, private["id"], visibility="public")).json()
    assert quote["visibility"] == "private" and quote["quote"]["state"] == "accepted"


async def test_a_viewer_who_may_not_see_the_quoted_post_never_gets_its_content(server):
    alice, bob, carol, dave = [await server.user(n) for n in ("alice", "bob", "carol", "dave")]
    original = await post(alice, "secret sauce recipe")
    quote = (await _quote(bob, original["id"])).json()
    await alice.post(f"/api/v1/accounts/{carol.id}/block")  # the quoted author blocks carol
    await dave.post(f"/api/v1/accounts/{alice.id}/block")  # dave blocks the quoted author
    for viewer, state in ((carol, "unauthorized"), (dave, "blocked_account")):
        seen = (await viewer.get(f"/api/v1/statuses/{quote['id']}")).json()
        assert seen["quote"] == {"state": state, "quoted_status": None}, viewer.username
        assert "secret sauce" not in str(seen)
        assert_status(seen)
    erin = await server.user("erin")
    await erin.post(f"/api/v1/accounts/{alice.id}/mute")
    muted = (await erin.get(f"/api/v1/statuses/{quote['id']}")).json()["quote"]
    assert muted["state"] == "muted_account" and muted["quoted_status"]["id"] == original["id"]
    # Deleting the quoted post leaves the quote in state deleted.
    await alice.delete(f"/api/v1/statuses/{original['id']}")
    assert (await bob.get(f"/api/v1/statuses/{quote['id']}")).json()["quote"] == {"state": "deleted", "quoted_status": None}


async def test_quotes_list_is_for_the_author_and_revoke(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    original = await post(alice, "quote me")
    first = (await _quote(bob, original["id"], "first")).json()
    second = (await _quote(carol, original["id"], "second")).json()
    listed = await alice.get(f"/api/v1/statuses/{original['id']}/quotes", params={"limit": 1})
    assert [s["id"] for s in listed.json()] == [second["id"]] and 'rel="next"' in listed.headers["link"]
    rest = (await alice.get(f"/api/v1/statuses/{original['id']}/quotes", params={"max_id": second["id"]})).json()
    assert [s["id"] for s in rest] == [first["id"]]
    assert_error(await bob.get(f"/api/v1/statuses/{original['id']}/quotes"), 403)
    assert_error(await bob.post(f"/api/v1/statuses/{original['id']}/quotes/{first['id']}/revoke"), 403)
    assert_error(await alice.post(f"/api/v1/statuses/{original['id']}/quotes/{original['id']}/revoke"), 404)
    r = await alice.post(f"/api/v1/statuses/{original['id']}/quotes/{first['id']}/revoke")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first["id"] and r.json()["quote"] == {"state": "revoked", "quoted_status": None}
    assert (await bob.get(f"/api/v1/statuses/{first['id']}")).json()["quote"]["state"] == "revoked"
    remaining = (await alice.get(f"/api/v1/statuses/{original['id']}/quotes")).json()
    assert [s["id"] for s in remaining] == [second["id"]]
    assert (await alice.get(f"/api/v1/statuses/{original['id']}")).json()["quotes_count"] == 1


async def test_edit_changes_the_policy(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    original = await post(alice, "open for now")
    edited = (await alice.put(f"/api/v1/statuses/{original['id']}", data={
        "status": "closed now", "quote_approval_policy": "nobody"})).json()
    assert edited["quote_approval"]["automatic"] == []
    assert_error(await _quote(bob, original["id"]), 422)
    assert await _count(server, statuses) == 1


async def test_streamed_quote_of_a_followers_only_post_shows_it_to_followers(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    private = await post(alice, "for followers", visibility="private")
    quote = (await _quote(alice, private["id"], "quoting myself")).json()
    async with server.ctx.db.read() as conn:
        viewer = Viewer(account=await account_store.get(conn, int(bob.id)), scopes=frozenset({"read"}))
    event, payload = await stream_render.render(server.ctx, viewer, "user", {"event": "update", "status_id": quote["id"]})
    streamed = json.loads(payload)
    assert streamed["quote"]["state"] == "accepted" and streamed["quote"]["quoted_status"]["id"] == private["id"]


async def test_editing_a_quoted_post_tells_the_quoters(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    original = await post(alice, "first draft")
    quote = (await _quote(bob, original["id"])).json()
    await alice.put(f"/api/v1/statuses/{original['id']}", data={"status": "second draft"})
    notes = (await bob.get("/api/v1/notifications", params={"types[]": "quoted_update"})).json()
    assert [(n["type"], n["status"]["id"], n["account"]["id"]) for n in notes] == [("quoted_update", quote["id"], alice.id)]
    assert "second draft" in (await bob.get(f"/api/v1/statuses/{quote['id']}")).json()["quote"]["quoted_status"]["content"]
