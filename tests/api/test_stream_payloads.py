"""Streaming payloads, rendered once and shared by subscribers, still read as each viewer's own REST rendering."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.api.conftest import post
from townsquare.api import stream_render, streaming
from townsquare.domain.models import Viewer
from townsquare.storage import accounts as account_store


async def viewer_of(server, user) -> Viewer:
    async with server.ctx.db.read() as conn:
        return Viewer(account=await account_store.get(conn, int(user.id)), scopes=frozenset({"read"}))


async def streamed(server, user, status_id: str, stream: str = "user", event: str = "update") -> dict | None:
    """What a user's stream sends for a status, through the same session path as a WebSocket (filters included)."""
    session = await streaming.Session(server.ctx, await viewer_of(server, user)).open()
    try:
        await session.add(await streaming.resolve(server.ctx, session.viewer, stream, {}))
        out = await session.outgoing(next(iter(session.streams.values())).channels[0], {"event": event, "status_id": status_id})
    finally:
        await session.close()
    return json.loads(out[0][2]) if out else None


def comparable(status: dict) -> dict:
    """A rendering without what the stream has always rendered as nobody in particular (as before this cache):
    `filtered` (added per stream context) and quote_approval.current_user."""
    out = {k: v for k, v in status.items() if k != "filtered"}
    if isinstance(out.get("quote_approval"), dict):
        out["quote_approval"] = {k: v for k, v in out["quote_approval"].items() if k != "current_user"}
    if isinstance(out.get("reblog"), dict):
        out["reblog"] = comparable(out["reblog"])
    return out


async def test_shared_payload_equals_each_viewers_rest_rendering(server):
    alice, bob, carol, dave = [await server.user(n) for n in ("alice", "bob", "carol", "dave")]
    for reader in (bob, carol, dave):
        await reader.post(f"/api/v1/accounts/{alice.id}/follow")
    status = await post(alice, "shared words for #everyone")
    await bob.post(f"/api/v1/statuses/{status['id']}/favourite")
    await bob.post(f"/api/v1/statuses/{status['id']}/bookmark")
    r = await dave.post("/api/v2/filters", json={"title": "words", "context": ["home"], "filter_action": "warn",
                                                 "keywords_attributes": [{"keyword": "shared"}]})
    assert r.status_code == 200, r.text
    # Several viewers at once, as one bus message reaches them: the render is shared where it can be.
    got = await asyncio.gather(*(streamed(server, u, status["id"]) for u in (bob, carol, dave, carol)))
    for user, payload in zip((bob, carol, dave, carol), got):
        rest = (await user.get(f"/api/v1/statuses/{status['id']}")).json()
        assert comparable(payload) == comparable(rest)
    assert got[0]["favourited"] is True and got[0]["bookmarked"] is True
    assert got[1]["favourited"] is False and not got[1].get("filtered")
    assert [f["filter"]["title"] for f in got[2]["filtered"]] == ["words"]
    # A reblog is shared too, with the reblogger's and the viewer's parts right.
    await carol.post(f"/api/v1/accounts/{bob.id}/follow")
    reblog = (await bob.post(f"/api/v1/statuses/{status['id']}/reblog")).json()
    for user in (carol, bob):
        payload = await streamed(server, user, reblog["id"])
        assert comparable(payload) == comparable((await user.get(f"/api/v1/statuses/{reblog['id']}")).json())


async def test_hide_filter_and_edit_are_per_viewer(server):
    alice, bob, carol = [await server.user(n) for n in ("alice", "bob", "carol")]
    status = await post(alice, "spoilers ahead")
    r = await bob.post("/api/v2/filters", json={"title": "no spoilers", "context": ["public"], "filter_action": "hide",
                                                "keywords_attributes": [{"keyword": "spoilers"}]})
    assert r.status_code == 200, r.text
    assert await streamed(server, bob, status["id"], "public") is None
    assert (await streamed(server, carol, status["id"], "public"))["id"] == status["id"]
    await alice.put(f"/api/v1/statuses/{status['id']}", data={"status": "edited words"})
    edited = await streamed(server, carol, status["id"], "public", "status.update")
    assert comparable(edited) == comparable((await carol.get(f"/api/v1/statuses/{status['id']}")).json())
    assert "edited words" in edited["content"]


async def test_frames_of_one_event_are_the_same_text_for_every_subscriber(server):
    label, payload = ("user",), '{"id":"1"}'
    first = streaming.frame_text(label, "update", payload)
    assert first is streaming.frame_text(label, "update", payload)  # built once, sent to each
    assert json.loads(first) == {"stream": ["user"], "event": "update", "payload": payload}
    assert json.loads(streaming.frame_text(("user",), "delete", None)) == {"stream": ["user"], "event": "delete"}


async def user_session(server, user) -> streaming.Session:
    session = await streaming.Session(server.ctx, await viewer_of(server, user)).open()
    await session.add(await streaming.resolve(server.ctx, session.viewer, "user", {}))
    return session


async def test_a_status_checked_for_all_at_once_still_arrives_before_the_next_event(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    status = await post(alice, "first this")
    session = await user_session(server, bob)
    channel = next(iter(session.streams.values())).channels[0]
    got = []
    try:
        # The update waits for the personaliser's batch; the delete right behind it needs no check at all.
        await session.feed(channel, {"event": "update", "status_id": status["id"]}, lambda s, e, p: got.append((e, p)))
        await session.feed(channel, {"event": "delete", "status_id": status["id"]}, lambda s, e, p: got.append((e, p)))
        await session._settle()
    finally:
        await session.close()
    assert [event for event, _ in got] == ["update", "delete"]
    assert json.loads(got[0][1])["id"] == status["id"] and got[1][1] == status["id"]


async def test_a_full_socket_holds_up_only_its_own_stream(server):
    alice, bob, carol = [await server.user(n) for n in ("alice", "bob", "carol")]
    for reader in (bob, carol):
        await reader.post(f"/api/v1/accounts/{alice.id}/follow")
    status = await post(alice, "for both")
    stuck, got = asyncio.Event(), {"bob": [], "carol": []}

    async def bob_send(event: str) -> None:  # as a WebSocket send waits while the client's socket is full
        await stuck.wait()
        got["bob"].append(event)

    sessions = [await user_session(server, bob), await user_session(server, carol)]
    try:
        emits = [lambda s, e, p: bob_send(e), lambda s, e, p: got["carol"].append(e)]
        for session, emit in zip(sessions, emits):
            channel = next(iter(session.streams.values())).channels[0]
            await session.feed(channel, {"event": "update", "status_id": status["id"]}, emit)
        await sessions[1]._settle()
        assert got == {"bob": [], "carol": ["update"]}  # carol's came from the same batch, bob's send still waits
        stuck.set()
        await sessions[0]._settle()
        assert got["bob"] == ["update"]
    finally:
        for session in sessions:
            await session.close()


async def test_run_eagerly_finishes_at_once_or_hands_the_rest_to_a_task():
    steps = []

    async def quick() -> None:
        steps.append("quick")

    async def waits(gate: asyncio.Future) -> str:
        steps.append("before")
        try:
            value = await gate
        except asyncio.CancelledError:
            steps.append("cancelled")
            raise
        steps.append(value)
        return value

    assert streaming.run_eagerly(quick()) is None and steps == ["quick"]
    gate = asyncio.get_running_loop().create_future()
    task = streaming.run_eagerly(waits(gate))
    assert steps == ["quick", "before"] and not task.done()  # ran up to its wait without the loop
    gate.set_result("after")
    assert await task == "after" and steps[-1] == "after"
    for settle in (False, True):  # cancelled before the task's first step, and while it waits
        cancelled = streaming.run_eagerly(waits(asyncio.get_running_loop().create_future()))
        if settle:
            await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert steps[-2:] == ["before", "cancelled"]  # the cancellation reached the coroutine's own wait
