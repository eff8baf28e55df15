"""Notifications: each type, type filters, showing one, dismissing and clearing."""

from __future__ import annotations

from tests.api.conftest import assert_error, ids, post


async def _busy_alice(server):
    """Alice gets a follow, a mention, a favourite and a reblog (oldest to newest)."""
    alice = await server.user("alice")
    bob = await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    mention = await post(bob, "hey @alice")
    mine = await post(alice, "mine")
    await bob.post(f"/api/v1/statuses/{mine['id']}/favourite")
    await bob.post(f"/api/v1/statuses/{mine['id']}/reblog")
    return alice, bob, mention, mine


async def test_types_and_entities(server):
    alice, bob, mention, mine = await _busy_alice(server)
    notes = (await alice.get("/api/v1/notifications")).json()
    assert [n["type"] for n in notes] == ["reblog", "favourite", "mention", "follow"]
    assert all(n["account"]["id"] == bob.id for n in notes)
    assert notes[3]["status"] is None
    assert notes[2]["status"]["id"] == mention["id"]
    assert notes[1]["status"]["id"] == mine["id"] and notes[0]["status"]["id"] == mine["id"]
    assert all(n["created_at"].endswith("Z") and n["group_key"] for n in notes)
    assert (await bob.get("/api/v1/notifications")).json() == []
    assert (await alice.get("/api/v1/notifications/unread_count")).json() == {"count": 4}


async def test_type_filters(server):
    alice, bob, mention, mine = await _busy_alice(server)
    only = (await alice.get("/api/v1/notifications", params={"types[]": "mention"})).json()
    assert [n["type"] for n in only] == ["mention"]
    r = await alice.get("/api/v1/notifications?types[]=follow&types[]=favourite")
    assert [n["type"] for n in r.json()] == ["favourite", "follow"]
    r = await alice.get("/api/v1/notifications?exclude_types[]=follow&exclude_types[]=reblog")
    assert [n["type"] for n in r.json()] == ["favourite", "mention"]
    r = await alice.get("/api/v1/notifications", params={"account_id": bob.id, "exclude_types[]": "mention"})
    assert [n["type"] for n in r.json()] == ["reblog", "favourite", "follow"]
    assert (await alice.get("/api/v1/notifications", params={"account_id": alice.id})).json() == []
    assert_error(await alice.get("/api/v1/notifications", params={"types[]": "bogus"}), 422)


async def test_get_one_dismiss_and_clear(server):
    alice, bob, mention, mine = await _busy_alice(server)
    notes = (await alice.get("/api/v1/notifications")).json()
    one = await alice.get(f"/api/v1/notifications/{notes[2]['id']}")
    assert one.status_code == 200 and one.json()["type"] == "mention" and one.json()["id"] == notes[2]["id"]
    # Someone else's notification is not found, nor can it be dismissed.
    assert_error(await bob.get(f"/api/v1/notifications/{notes[2]['id']}"), 404)
    assert_error(await bob.post(f"/api/v1/notifications/{notes[2]['id']}/dismiss"), 404)
    r = await alice.post(f"/api/v1/notifications/{notes[2]['id']}/dismiss")
    assert r.status_code == 200 and r.json() == {}
    assert_error(await alice.get(f"/api/v1/notifications/{notes[2]['id']}"), 404)
    assert_error(await alice.post(f"/api/v1/notifications/{notes[2]['id']}/dismiss"), 404)
    remaining = ids((await alice.get("/api/v1/notifications")).json())
    assert remaining == [notes[0]["id"], notes[1]["id"], notes[3]["id"]]
    r = await alice.post("/api/v1/notifications/dismiss", data={"id": notes[0]["id"]})
    assert r.status_code == 200
    assert ids((await alice.get("/api/v1/notifications")).json()) == [notes[1]["id"], notes[3]["id"]]
    r = await alice.post("/api/v1/notifications/clear")
    assert r.status_code == 200 and r.json() == {}
    assert (await alice.get("/api/v1/notifications")).json() == []
    assert_error(await alice.get("/api/v1/notifications/12345"), 404)


async def test_no_self_notifications_and_none_from_blocked(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    mine = await post(alice, "talking to @alice myself")
    await alice.post(f"/api/v1/statuses/{mine['id']}/favourite")
    assert (await alice.get("/api/v1/notifications")).json() == []
    await alice.post(f"/api/v1/accounts/{bob.id}/block")
    await post(bob, "hello @alice")
    assert (await alice.get("/api/v1/notifications")).json() == []


async def test_notifications_about_deleted_statuses_disappear(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    mention = await post(bob, "hi @alice")
    assert len((await alice.get("/api/v1/notifications")).json()) == 1
    await bob.delete(f"/api/v1/statuses/{mention['id']}")
    assert (await alice.get("/api/v1/notifications")).json() == []


async def test_status_and_update_notifications(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow", data={"notify": "true"})
    s = await post(alice, "news")
    await server.settle()
    notes = (await bob.get("/api/v1/notifications", params={"types[]": "status"})).json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("status", s["id"])]
    await bob.post(f"/api/v1/statuses/{s['id']}/reblog")
    await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "news, corrected"})
    notes = (await bob.get("/api/v1/notifications", params={"types[]": "update"})).json()
    assert [n["status"]["id"] for n in notes] == [s["id"]]
    assert "corrected" in notes[0]["status"]["content"]


async def test_notification_scopes(server):
    reader = await server.user("reader", scopes="read:notifications")
    assert (await reader.get("/api/v1/notifications")).status_code == 200
    assert_error(await reader.post("/api/v1/notifications/clear"), 403)
