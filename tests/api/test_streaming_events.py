"""Real-time events leave only after their transaction commits, on the channels their audience listens to."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from tests.api.conftest import post
from townsquare.domain.models import Status
from townsquare.storage.db import OUTBOX
from townsquare.storage.tables import statuses
from townsquare.timelines import events
from townsquare.timelines.bus import MemoryBus


async def _drain(sub) -> list[tuple[str, dict]]:
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(sub.__anext__(), 0.05))
        except asyncio.TimeoutError:
            return got


async def test_events_wait_for_the_commit_and_vanish_with_a_rollback(server):
    bus = MemoryBus()
    server.ctx.db.on_commit = lambda items: events.flush(bus, items)
    sub = await bus.subscribe(["timeline:1", "timeline:2"])
    async with server.ctx.db.write() as conn:
        events.publish_after_commit(conn, "timeline:1", {"event": "filters_changed"})
        await asyncio.sleep(0)
        assert await _drain(sub) == []  # not before the commit
    assert await _drain(sub) == [("timeline:1", {"event": "filters_changed"})]
    with pytest.raises(RuntimeError):
        async with server.ctx.db.write() as conn:
            events.publish_after_commit(conn, "timeline:2", {"event": "filters_changed"})
            raise RuntimeError("rolled back")
    async with server.ctx.db.write() as conn:
        pass  # the same pooled connection again: nothing left over from the rolled-back transaction
    assert await _drain(sub) == []


async def test_channels_of_a_new_status(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    public = await post(alice, "hello #Python")
    private = await post(alice, "followers only", visibility="private")
    direct = await post(alice, "@carol psst", visibility="direct")
    await server.settle()

    async def channels_of(status_id: str) -> set[str]:
        async with server.ctx.db.read() as conn:
            row = (await conn.execute(select(statuses).where(statuses.c.id == int(status_id)))).first()
            await events.publish_new_status(conn, Status.from_row(row))
            queued = conn.info.pop(OUTBOX, [])  # what a commit would have handed to the bus
        assert all(message["status_id"] == status_id for _, message in queued)
        return {channel for channel, _ in queued}

    a, b, c = alice.id, bob.id, carol.id
    assert await channels_of(public["id"]) == {
        f"timeline:{a}", f"timeline:{b}", "timeline:public", "timeline:public:local",
        "timeline:hashtag:python", "timeline:hashtag:python:local"}
    assert await channels_of(private["id"]) == {f"timeline:{a}", f"timeline:{b}"}
    assert await channels_of(direct["id"]) == {f"timeline:direct:{a}", f"timeline:direct:{c}"}
