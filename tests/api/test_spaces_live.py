"""Spaces on air: joining without database writes, listener counts, reactions, room events and load shedding."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import event

from tests.api.conftest import assert_error
from tests.api.test_spaces import live_space, make_space

REDIS_URL = "redis://127.0.0.1:6379/0"


async def next_event(sub, timeout: float = 1.0) -> dict:
    _, message = await asyncio.wait_for(sub.__anext__(), timeout)
    assert message["event"] == "space"
    return message["payload"]


async def test_join_answers_with_the_playlist_and_writes_nothing(server):
    host = await server.user("host")
    sid = (await live_space(host))["id"]
    await server.settle()  # the follower-notification job is done before we watch the database
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = server.ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        answers = [await server.http.post(f"/api/v1/spaces/{sid}/join") for _ in range(50)]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert all(r.status_code == 200 for r in answers), answers[0].text
    body = answers[0].json()
    assert body["space_id"] == sid and body["state"] == "live"
    assert body["hls_url"] == f"http://test.local/spaces/{sid}/live.m3u8"
    assert len(body["listener_id"]) >= 8 and body["heartbeat_interval"] == 30
    assert len({r.json()["listener_id"] for r in answers}) == 50
    verbs = {s.split(None, 1)[0].upper() for s in statements}
    assert not {"INSERT", "UPDATE", "DELETE"} & verbs, statements
    room_reads = [s for s in statements if "space" in s]
    assert len(room_reads) <= 4  # the room is read once and then served from the one-second cache


async def test_listener_count_counts_each_listener_once(server):
    host, fan = await server.user("host"), await server.user("fan")
    sid = (await live_space(host))["id"]
    first = (await server.http.post(f"/api/v1/spaces/{sid}/join")).json()
    again = await server.http.post(f"/api/v1/spaces/{sid}/join", data={"listener_id": first["listener_id"]})
    assert again.json()["listener_id"] == first["listener_id"]  # a heartbeat, not a new listener
    await server.http.post(f"/api/v1/spaces/{sid}/join")
    for _ in range(2):
        assert (await fan.post(f"/api/v1/spaces/{sid}/join")).json()["listener_id"] == f"a{fan.id}"
    assert await server.ctx.spaces.listener_count(int(sid), fresh=True) == 3
    assert (await server.http.post(f"/api/v1/spaces/{sid}/leave", data={"listener_id": first["listener_id"]})).status_code == 200
    assert (await fan.post(f"/api/v1/spaces/{sid}/leave")).status_code == 200
    assert await server.ctx.spaces.listener_count(int(sid), fresh=True) == 1
    assert_error(await server.http.post(f"/api/v1/spaces/{sid}/leave"), 422)
    assert_error(await server.http.post(f"/api/v1/spaces/{sid}/join", headers={"Authorization": "Bearer nope"}), 401)


async def test_space_shows_the_sampled_listener_count(make_server):
    srv = await make_server(spaces_count_interval=0)
    host = await srv.user("host")
    sid = (await live_space(host))["id"]
    for _ in range(4):
        await srv.http.post(f"/api/v1/spaces/{sid}/join")
    assert (await srv.http.get(f"/api/v1/spaces/{sid}")).json()["listener_count"] == 4
    assert (await srv.http.get("/api/v1/spaces")).json()[0]["listener_count"] == 4
    await host.post(f"/api/v1/spaces/{sid}/end")
    assert (await srv.http.get(f"/api/v1/spaces/{sid}")).json()["listener_count"] == 0


async def test_live_and_scheduled_rooms_can_be_joined_ended_ones_not(server):
    host = await server.user("host")
    scheduled = await make_space(host)
    assert (await server.http.post(f"/api/v1/spaces/{scheduled['id']}/join")).json()["state"] == "scheduled"
    assert_error(await server.http.post("/api/v1/spaces/42/join"), 404)
    live = await live_space(host, title="Now")
    await host.post(f"/api/v1/spaces/{live['id']}/end")
    server.ctx.spaces.forget(int(live["id"]))
    assert_error(await server.http.post(f"/api/v1/spaces/{live['id']}/join"), 422)


async def test_reactions_go_out_once_per_tick(server):
    host, fan = await server.user("host"), await server.user("fan")
    sid = (await live_space(host))["id"]
    sub = await server.ctx.bus.subscribe([f"space:{sid}"])
    for name in ["👍"] * 20 + ["fire", "🔥"]:
        r = await fan.post(f"/api/v1/spaces/{sid}/reactions", data={"name": name})
        assert r.status_code == 200, r.text
    assert_error(await fan.post(f"/api/v1/spaces/{sid}/reactions", data={"name": "🍕"}), 422)
    assert_error(await server.http.post(f"/api/v1/spaces/{sid}/reactions", data={"name": "👍"}), 401)
    with pytest.raises(asyncio.TimeoutError):
        await next_event(sub, 0.05)  # nothing is sent per reaction
    await server.ctx.spaces.tick()
    assert await next_event(sub) == {"type": "reactions", "space_id": sid, "data": {"👍": 20, "🔥": 2}}
    await sub.close()
    scheduled = await make_space(host, title="Later")
    assert_error(await fan.post(f"/api/v1/spaces/{scheduled['id']}/reactions", data={"name": "👍"}), 422)


async def test_room_events_for_state_and_stage(server):
    host, fan = await server.user("host"), await server.user("fan")
    sid = (await make_space(host))["id"]
    sub = await server.ctx.bus.subscribe([f"space:{sid}"])
    await host.post(f"/api/v1/spaces/{sid}/start")
    started = await next_event(sub)
    assert started["type"] == "state" and started["data"]["state"] == "live" and started["data"]["hls_url"]
    await fan.post(f"/api/v1/spaces/{sid}/speak_requests")
    requested = await next_event(sub)
    assert requested["type"] == "speakers" and [a["id"] for a in requested["data"]["speak_requests"]] == [fan.id]
    await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": fan.id})
    approved = await next_event(sub)
    assert [(s["account"]["id"], s["role"]) for s in approved["data"]["speakers"]] == [(host.id, "host"), (fan.id, "speaker")]
    await host.post(f"/api/v1/spaces/{sid}/end")
    ended = await next_event(sub)
    assert ended["type"] == "state" and ended["data"]["state"] == "ended"
    await sub.close()


async def test_overload_is_answered_with_retry_after(make_server):
    srv = await make_server(spaces_join_rate=3, spaces_reaction_rate=2)
    host = await srv.user("host")
    sid = (await live_space(host))["id"]
    codes = [(await srv.http.post(f"/api/v1/spaces/{sid}/join")).status_code for _ in range(6)]
    assert codes[:3] == [200] * 3 and 503 in codes[3:]
    shed = await srv.http.post(f"/api/v1/spaces/{sid}/join")
    assert_error(shed, 503)
    assert shed.headers["retry-after"] == "1"
    reactions = [(await host.post(f"/api/v1/spaces/{sid}/reactions", data={"name": "👍"})).status_code for _ in range(5)]
    assert reactions[:2] == [200, 200] and 503 in reactions[2:]


async def test_a_listener_is_not_a_speaker(server):
    host, fan = await server.user("host"), await server.user("fan")
    sid = (await live_space(host))["id"]
    await fan.post(f"/api/v1/spaces/{sid}/join")
    space = (await fan.get(f"/api/v1/spaces/{sid}")).json()
    assert space["role"] == "listener" and fan.id not in [s["account"]["id"] for s in space["speakers"]]


async def test_scale_out_presence_is_shared_through_redis(make_server):
    prefix = f"test:{uuid.uuid4().hex}:"
    one = await make_server(redis_url=REDIS_URL, redis_prefix=prefix, spaces_count_interval=0)
    two = await make_server(redis_url=REDIS_URL, redis_prefix=prefix, spaces_count_interval=0)
    host = await one.user("host")
    sid = (await live_space(host))["id"]
    first = (await one.http.post(f"/api/v1/spaces/{sid}/join")).json()
    await two.http.post(f"/api/v1/spaces/{sid}/join")
    await two.http.post(f"/api/v1/spaces/{sid}/join", data={"listener_id": first["listener_id"]})  # same listener
    await two.ctx.spaces.presence.flush()
    assert (await one.http.get(f"/api/v1/spaces/{sid}")).json()["listener_count"] == 2
    await host.post(f"/api/v1/spaces/{sid}/end")
    keys = [k async for k in one.ctx.spaces.presence.redis.scan_iter(match=f"{prefix}space:*")]
    assert keys == []
