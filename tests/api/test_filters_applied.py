"""Filters on every read path: `hide` drops, `warn`/`blur` mark with FilterResult, per context, expiry, and streaming."""

from __future__ import annotations

import json

from sqlalchemy import update

from tests.api.conftest import ids, post
from tests.api.mastodon_schema import assert_entity
from tests.api.test_streaming import frame, live  # noqa: F401  (live is a fixture)
from townsquare.core.clock import now
from townsquare.storage.tables import custom_filters
from townsquare.timelines import events

ALL = ["home", "notifications", "public", "thread", "account"]


async def _filter(user, title, keyword, action, context=ALL, whole_word=True) -> dict:
    r = await user.post("/api/v2/filters", json={"title": title, "context": context, "filter_action": action,
                                                 "keywords_attributes": [{"keyword": keyword, "whole_word": whole_word}]})
    assert r.status_code == 200, r.text
    return r.json()


def _by_id(items: list[dict]) -> dict[str, dict]:
    return {s["id"]: s for s in items}


def _check(items: list[dict], hidden: dict, warned: dict, clean: list[dict], warn_filter: dict, keyword: str = "spoiler"):
    got = _by_id(items)
    assert hidden["id"] not in got
    marked = got[warned["id"]]["filtered"]
    assert len(marked) == 1 and marked[0]["filter"]["id"] == warn_filter["id"]
    assert marked[0]["keyword_matches"] == [keyword] and marked[0]["filter"]["filter_action"] == warn_filter["filter_action"]
    assert "keywords" not in marked[0]["filter"]  # omitted inside a FilterResult, as Mastodon does
    assert_entity("FilterResult", marked[0])
    for s in clean:
        assert got[s["id"]]["filtered"] == []


async def _world(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    hide = await _filter(alice, "Fruit", "durian", "hide")
    warn = await _filter(alice, "Spoilers", "spoiler", "warn")
    return alice, bob, hide, warn


async def test_timelines_lists_and_account_statuses(server):
    alice, bob, _, warn = await _world(server)
    hidden = await post(bob, "I ate a Durian today #fruit")
    warned = await post(bob, "big SPOILER: the butler did it #fruit")
    clean = await post(bob, "durians are smelly #fruit")  # whole word: "durians" is not "durian"
    plain = await post(bob, "nothing special #fruit")
    await server.settle()
    everything = [hidden, warned, clean, plain]
    lid = (await alice.post("/api/v1/lists", data={"title": "B"})).json()["id"]
    assert (await alice.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [bob.id]})).status_code == 200
    await server.settle()
    for url, params in (("/api/v1/timelines/home", {}), ("/api/v1/timelines/public", {}),
                        ("/api/v1/timelines/public", {"local": "true"}), ("/api/v1/timelines/tag/fruit", {}),
                        (f"/api/v1/timelines/list/{lid}", {}), (f"/api/v1/accounts/{bob.id}/statuses", {})):
        r = await alice.get(url, params=params)
        assert r.status_code == 200, (url, r.text)
        _check(r.json(), hidden, warned, [clean, plain], warn)
    # Others, anonymous readers and the author see everything unmarked.
    for reader in (bob, server.http):
        got = (await reader.get("/api/v1/timelines/public")).json()
        assert set(ids(got)) == {s["id"] for s in everything} and all(s["filtered"] == [] for s in got)
    assert set(ids((await bob.get(f"/api/v1/accounts/{bob.id}/statuses")).json())) == {s["id"] for s in everything}


async def test_contexts_expiry_and_own_posts(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    public_only = await _filter(alice, "Public", "cricket", "hide", context=["public"])
    expiring = await _filter(alice, "Old", "tennis", "hide")
    s1 = await post(bob, "cricket scores")
    s2 = await post(bob, "tennis scores")
    mine = await post(alice, "my cricket and tennis")
    await server.settle()
    home = ids((await alice.get("/api/v1/timelines/home")).json())
    assert s1["id"] in home and s2["id"] not in home and mine["id"] in home
    assert s1["id"] not in ids((await alice.get("/api/v1/timelines/public")).json())
    async with server.ctx.db.write() as conn:  # the filter runs out
        await conn.execute(update(custom_filters).where(custom_filters.c.id == int(expiring["id"])).values(expires_at=now()))
    assert s2["id"] in ids((await alice.get("/api/v1/timelines/home")).json())
    assert (await alice.get(f"/api/v2/filters/{expiring['id']}")).json()["expires_at"] is not None  # listed, not applied
    # A status named in a filter is matched whatever its words.
    r = await alice.post(f"/api/v2/filters/{public_only['id']}/statuses", data={"status_id": s2["id"]})
    assert r.status_code == 200
    assert s2["id"] not in ids((await alice.get("/api/v1/timelines/public")).json())


async def test_home_page_is_filled_past_hidden_statuses(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await _filter(alice, "Noise", "noise", "hide")
    kept = [await post(bob, f"signal {i}") for i in range(3)]
    for i in range(4):
        await post(bob, f"noise {i}")
    await server.settle()
    page = (await alice.get("/api/v1/timelines/home", params={"limit": 2})).json()
    assert ids(page) == [kept[2]["id"], kept[1]["id"]]


async def test_thread_and_notifications(server):
    alice, bob, _, warn = await _world(server)
    carol = await server.user("carol")
    root = await post(bob, "a thread")
    hidden = await post(carol, "durian in reply", in_reply_to_id=root["id"])
    warned = await post(carol, "spoiler in reply", in_reply_to_id=root["id"])
    clean = await post(carol, "fine reply", in_reply_to_id=root["id"])
    context = (await alice.get(f"/api/v1/statuses/{hidden['id']}/context")).json()
    assert ids(context["ancestors"]) == [root["id"]]
    _check((await alice.get(f"/api/v1/statuses/{root['id']}/context")).json()["descendants"], hidden, warned, [clean], warn)

    m_hidden = await post(carol, "@alice durian for you")
    m_warned = await post(carol, "@alice spoiler for you")
    m_clean = await post(carol, "@alice hello")
    await server.settle()
    notes = (await alice.get("/api/v1/notifications")).json()
    statuses = [n["status"] for n in notes if n["status"] is not None]
    _check(statuses, m_hidden, m_warned, [m_clean], warn)
    grouped = (await alice.get("/api/v2/notifications")).json()
    _check(grouped["statuses"], m_hidden, m_warned, [m_clean], warn)
    assert m_hidden["id"] not in {g["status_id"] for g in grouped["notification_groups"]}


async def test_reblogs_are_judged_by_the_shared_status(server):
    alice, bob, _, warn = await _world(server)
    carol = await server.user("carol")
    original = await post(carol, "spoiler from carol")
    dropped = await post(carol, "durian from carol")
    reblog = (await bob.post(f"/api/v1/statuses/{original['id']}/reblog")).json()
    hidden_reblog = (await bob.post(f"/api/v1/statuses/{dropped['id']}/reblog")).json()
    await server.settle()
    home = _by_id((await alice.get("/api/v1/timelines/home")).json())
    assert hidden_reblog["id"] not in home
    inner = home[reblog["id"]]["reblog"]["filtered"]
    assert inner[0]["filter"]["id"] == warn["id"] and home[reblog["id"]]["filtered"] == inner


async def test_streaming_applies_filters_and_announces_changes(server, live):  # noqa: F811
    alice, bob, _, warn = await _world(server)
    async with live.ws(alice.token, "user") as ws:
        await live.subscribed(events.home_channel(int(alice.id)))
        await post(bob, "durian again")  # hidden: never sent
        warned = await post(bob, "a spoiler again")
        got = await frame(ws)
        assert got["event"] == "update"
        status = json.loads(got["payload"])
        assert status["id"] == warned["id"] and status["filtered"][0]["filter"]["id"] == warn["id"]
        new = await _filter(alice, "Weather", "rain", "blur")
        changed = await frame(ws)
        assert changed == {"stream": ["user"], "event": "filters_changed"}
        rainy = await post(bob, "more rain today")
        got = json.loads((await frame(ws))["payload"])
        assert got["id"] == rainy["id"] and got["filtered"][0]["filter"]["id"] == new["id"]
        assert got["filtered"][0]["filter"]["filter_action"] == "blur"
    async with live.ws(alice.token, "public") as ws:
        await live.subscribed(events.PUBLIC)
        await post(bob, "public durian")
        await post(bob, "public hello")
        assert json.loads((await frame(ws))["payload"])["content"] == "<p>public hello</p>"
        assert (await alice.delete(f"/api/v2/filters/{new['id']}")).status_code == 200
        await live.subscribed(events.filters_channel(int(alice.id)))
        await post(bob, "public rain")
        got = json.loads((await frame(ws))["payload"])
        assert "rain" in got["content"] and got["filtered"] == []
