"""Full-text status search in /api/v2/search: ranking, query syntax, paging, visibility, index upkeep, Tag entities."""

from __future__ import annotations

from sqlalchemy import text, update

from tests.api.conftest import assert_error, ids, post
from tests.api.mastodon_schema import assert_entity
from tests.conftest import BACKEND
from townsquare.core.clock import now
from townsquare.storage.tables import accounts


async def _statuses(user, q: str, **params) -> list[str]:
    r = await user.get("/api/v2/search", params={"q": q, "type": "statuses", **params})
    assert r.status_code == 200, r.text
    return ids(r.json()["statuses"])


async def test_ranked_full_text_with_phrases_exclusions_and_paging(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    best = await post(bob, "Red apple")
    weaker = await post(bob, "A red car drove past the orchard where nobody had picked a single apple all year long")
    pie = await post(alice, "Apple pie for dinner")
    await post(alice, "pineapple is not an apple")  # words, not substrings: "pine" is not found in it
    assert (await _statuses(alice, "red apple"))[:2] == [best["id"], weaker["id"]]  # rank beats recency
    assert await _statuses(alice, "RED Äpple".replace("Ä", "A")) == (await _statuses(alice, "red apple"))
    assert await _statuses(alice, '"apple pie"') == [pie["id"]]
    assert pie["id"] not in await _statuses(alice, "apple -pie")
    assert await _statuses(alice, "pine") == []
    assert set(await _statuses(alice, "apple", account_id=bob.id)) == {best["id"], weaker["id"]}
    every = await _statuses(alice, "apple")
    assert len(every) == 4
    assert await _statuses(alice, "apple", limit=2) == every[:2]
    assert await _statuses(alice, "apple", limit=2, offset=2) == every[2:]
    assert set(await _statuses(alice, "apple", max_id=pie["id"])) == {best["id"], weaker["id"]}
    assert set(await _statuses(alice, "apple", min_id=weaker["id"])) == set(every) - {best["id"], weaker["id"]}
    body = (await alice.get("/api/v2/search", params={"q": "apple", "type": "accounts"})).json()
    assert body["statuses"] == [] and body["hashtags"] == []


async def test_query_syntax_is_never_interpreted(server):
    alice = await server.user("alice")
    hundred = await post(alice, "100% sure")
    await post(alice, "1000 sure")
    assert await _statuses(alice, "100%") == [hundred["id"]]  # % is no wildcard
    for q in ('"', "*", "NEAR(a b)", "a OR b", "'); DROP TABLE statuses; --", "sure:", "-", "!!!", "_", "a & b | !c"):
        r = await alice.get("/api/v2/search", params={"q": q, "type": "statuses"})
        assert r.status_code == 200, (q, r.text)
    assert len(await _statuses(alice, "sure")) == 2


async def test_visibility_blocks_and_suspensions(server):
    alice, bob, carol, dave = [await server.user(n) for n in ("alice", "bob", "carol", "dave")]
    await carol.post(f"/api/v1/accounts/{bob.id}/follow")
    public = await post(bob, "moonlight public")
    private = await post(bob, "moonlight for followers", visibility="private")
    direct = await post(bob, "moonlight @dave only", visibility="direct")
    assert set(await _statuses(bob, "moonlight")) == {public["id"], private["id"], direct["id"]}
    assert set(await _statuses(carol, "moonlight")) == {public["id"], private["id"]}
    assert set(await _statuses(dave, "moonlight")) == {public["id"], direct["id"]}
    assert await _statuses(alice, "moonlight") == [public["id"]]
    assert (await server.http.get("/api/v2/search", params={"q": "moonlight"})).json()["statuses"] == []
    await alice.post(f"/api/v1/accounts/{bob.id}/block")
    assert await _statuses(alice, "moonlight") == []
    async with server.ctx.db.write() as conn:
        await conn.execute(update(accounts).where(accounts.c.id == int(bob.id)).values(suspended_at=now()))
    assert await _statuses(carol, "moonlight") == []


async def test_index_follows_edits_and_deletes(server):
    alice = await server.user("alice")
    s = await post(alice, "original wording", spoiler_text="Thunderstorm warning")
    assert await _statuses(alice, "thunderstorm") == [s["id"]]  # the content warning is searched too
    r = await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "revised phrasing"})
    assert r.status_code == 200, r.text
    assert await _statuses(alice, "original") == []
    assert await _statuses(alice, "revised") == [s["id"]]
    reblog = (await alice.post(f"/api/v1/statuses/{s['id']}/reblog")).json()
    assert await _statuses(alice, "revised") == [s["id"]]  # the reblog is not a second hit
    assert (await alice.delete(f"/api/v1/statuses/{reblog['reblog']['id']}")).status_code == 200
    assert await _statuses(alice, "revised") == []
    async with server.ctx.db.read() as conn:
        if BACKEND == "sqlite":
            left = (await conn.execute(text("SELECT count(*) FROM statuses_fts WHERE statuses_fts MATCH 'revised'"))).scalar()
        else:
            left = (await conn.execute(text("SELECT count(*) FROM statuses WHERE search_document @@ to_tsquery('simple', 'revised')"))).scalar()
    assert left == 0


async def test_resolve_hashtags_and_bad_input(server, anon):
    alice, bob = await server.user("alice"), await server.user("bob")
    await post(bob, "Loving #Gardening and #garden tools")
    s = await post(bob, "linked one")
    assert await _statuses(alice, f"http://test.local/@bob/{s['id']}", resolve="true") == [s["id"]]
    assert_error(await anon.get("/api/v2/search", params={"q": "x", "resolve": "true"}), 401)
    await alice.post("/api/v1/tags/garden/follow")
    tags = (await alice.get("/api/v2/search", params={"q": "#garden", "type": "hashtags"})).json()["hashtags"]
    assert [t["name"] for t in tags] == ["garden", "gardening"]
    for tag in tags:
        assert_entity("Tag", tag)
    assert [t["following"] for t in tags] == [True, False]
    for tag in (await anon.get("/api/v2/search", params={"q": "garden"})).json()["hashtags"]:
        assert_entity("Tag", tag)
    assert_error(await alice.get("/api/v2/search", params={"q": "x", "account_id": "bob"}), 422)
    assert_error(await alice.get("/api/v2/search", params={"q": "x", "limit": "many"}), 422)
    assert_error(await alice.get("/api/v2/search", params={"q": "x", "max_id": "zz"}), 422)
    assert_error(await alice.get("/api/v2/search", params={"q": "x", "type": "toots"}), 422)


async def test_accounts_by_following_offsets_and_empty_queries(server, anon):
    alice, bob = await server.user("alice"), await server.user("bobcat")
    await server.user("bobby")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    every = (await alice.get("/api/v2/search", params={"q": "bob", "type": "accounts"})).json()["accounts"]
    assert sorted(a["username"] for a in every) == ["bobby", "bobcat"]
    followed = (await alice.get("/api/v2/search", params={"q": "bob", "type": "accounts", "following": "true"})).json()
    assert [a["id"] for a in followed["accounts"]] == [bob.id]
    second = (await alice.get("/api/v2/search", params={"q": "bob", "type": "accounts", "limit": 1, "offset": 1})).json()
    assert [a["id"] for a in second["accounts"]] == [every[1]["id"]]
    assert_error(await anon.get("/api/v2/search", params={"q": "bob", "offset": 1}), 401)
    for q in ("", "   "):
        assert (await alice.get("/api/v2/search", params={"q": q})).json() == {"accounts": [], "statuses": [], "hashtags": []}
    s = await post(bob, "findable words")
    assert (await alice.get("/api/v2/search", params={"q": f"http://test.local/@bobcat/{s['id']}", "offset": 1})).json()["statuses"] == []
