"""Conversations: direct threads per participant set, unread, read, remove, paging and deletion of messages."""

from __future__ import annotations

import asyncio
import json

from tests.api.conftest import assert_error, post
from tests.api.mastodon_schema import assert_entity
from townsquare.api import stream_render
from townsquare.domain.models import Viewer
from townsquare.storage import accounts as account_store
from townsquare.timelines import events


async def _threads(user, **params) -> list[dict]:
    r = await user.get("/api/v1/conversations", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_direct_status_files_a_thread_for_each_participant(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    dm = await post(alice, "@bob @carol lunch?", visibility="direct")
    mine = await _threads(alice)
    assert len(mine) == 1
    assert_entity("Conversation", mine[0])
    assert mine[0]["unread"] is False and mine[0]["last_status"]["id"] == dm["id"]
    assert sorted(a["id"] for a in mine[0]["accounts"]) == sorted([bob.id, carol.id])
    for user, others in ((bob, [alice.id, carol.id]), (carol, [alice.id, bob.id])):
        theirs = await _threads(user)
        assert len(theirs) == 1 and theirs[0]["unread"] is True and theirs[0]["last_status"]["id"] == dm["id"]
        assert sorted(a["id"] for a in theirs[0]["accounts"]) == sorted(others)
    # A reply among the same people stays in the same thread; a public post makes none.
    reply = await post(bob, "@alice @carol yes", visibility="direct", in_reply_to_id=dm["id"])
    await post(bob, "@alice public hello")
    mine = await _threads(alice)
    assert len(mine) == 1 and mine[0]["last_status"]["id"] == reply["id"] and mine[0]["unread"] is True
    # Another set of participants is another thread.
    other = await post(alice, "@bob just us", visibility="direct")
    assert [c["last_status"]["id"] for c in await _threads(alice)] == [other["id"], reply["id"]]
    assert await _threads(await server.user("dave")) == []


async def test_read_remove_and_errors(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await post(alice, "@bob hi", visibility="direct")
    thread = (await _threads(bob))[0]
    r = await bob.post(f"/api/v1/conversations/{thread['id']}/read")
    assert r.status_code == 200, r.text
    assert r.json()["unread"] is False and r.json()["id"] == thread["id"]
    assert_entity("Conversation", r.json())
    assert (await _threads(bob))[0]["unread"] is False
    # Someone else's thread does not exist for carol; nonsense ids are 404 too.
    assert_error(await carol.post(f"/api/v1/conversations/{thread['id']}/read"), 404)
    assert_error(await carol.delete(f"/api/v1/conversations/{thread['id']}"), 404)
    assert_error(await bob.post("/api/v1/conversations/abc/read"), 404)
    assert_error(await server.http.get("/api/v1/conversations"), 401)
    assert (await bob.delete(f"/api/v1/conversations/{thread['id']}")).json() == {}
    assert await _threads(bob) == [] and len(await _threads(alice)) == 1
    # A new message brings the thread back, unread.
    again = await post(alice, "@bob still there?", visibility="direct")
    back = await _threads(bob)
    assert len(back) == 1 and back[0]["unread"] is True and back[0]["last_status"]["id"] == again["id"]


async def test_paging_by_last_status(server):
    alice = await server.user("alice")
    others = [await server.user(f"user{i}") for i in range(3)]
    posted = [await post(alice, f"@{u.username} hello", visibility="direct") for u in others]
    first = await alice.get("/api/v1/conversations", params={"limit": 2})
    assert [c["last_status"]["id"] for c in first.json()] == [posted[2]["id"], posted[1]["id"]]
    assert 'rel="next"' in first.headers["link"]
    rest = await _threads(alice, limit=2, max_id=posted[1]["id"])
    assert [c["last_status"]["id"] for c in rest] == [posted[0]["id"]]
    newer = await _threads(alice, min_id=posted[0]["id"])
    assert [c["last_status"]["id"] for c in newer] == [posted[2]["id"], posted[1]["id"]]


async def test_deleting_the_last_message_falls_back_or_removes_the_thread(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    first = await post(alice, "@bob one", visibility="direct")
    second = await post(alice, "@bob two", visibility="direct")
    await alice.delete(f"/api/v1/statuses/{second['id']}")
    for user in (alice, bob):
        assert [c["last_status"]["id"] for c in await _threads(user)] == [first["id"]]
    await alice.delete(f"/api/v1/statuses/{first['id']}")
    assert await _threads(alice) == [] and await _threads(bob) == []


async def test_a_blocked_participant_does_not_see_the_last_status(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await post(alice, "@bob hi", visibility="direct")
    await alice.post(f"/api/v1/accounts/{bob.id}/block")
    threads = await _threads(bob)
    assert all(c["last_status"] is None for c in threads)


async def test_direct_stream_event_carries_each_participants_own_thread(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    subscription = await server.ctx.bus.subscribe()
    try:
        await subscription.add({events.direct_channel(int(bob.id))})
        await asyncio.sleep(0.2 if hasattr(server.ctx.bus, "redis") else 0)
        dm = await post(alice, "@bob over here", visibility="direct")
        await server.settle()
        channel, message = await asyncio.wait_for(subscription.__anext__(), 10)
    finally:
        await subscription.close()
    thread = (await _threads(bob))[0]
    assert message == {"event": "conversation", "status_id": dm["id"], "conversation_id": thread["id"]}
    async with server.ctx.db.read() as conn:
        viewer = Viewer(account=await account_store.get(conn, int(bob.id)), scopes=frozenset({"read"}))
    event, payload = await stream_render.render(server.ctx, viewer, "direct", message)
    rendered = json.loads(payload)
    assert event == "conversation" and rendered == thread
    assert_entity("Conversation", rendered)
