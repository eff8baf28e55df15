"""Waiting rooms: joining a scheduled Space, the start reaching waiting listeners, and no stale "not live"."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

import httpx

from tests.api.conftest import assert_error
from tests.api.test_spaces import live_space, make_space
from tests.api.test_streaming import WAIT, _sse_lines, frame, live  # noqa: F401  (live is a fixture)
from tests.conftest import REDIS_URL


async def test_joining_a_scheduled_room_waits_in_it(make_server):
    server = await make_server(spaces_count_interval=0)  # counts sampled afresh on every read
    host, fan = await server.user("host"), await server.user("fan")
    when = datetime.now(timezone.utc) + timedelta(minutes=10)
    sid = (await make_space(host, scheduled_at=when.strftime("%Y-%m-%dT%H:%M:%S.000Z")))["id"]
    r = await server.http.post(f"/api/v1/spaces/{sid}/join")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "scheduled" and body["hls_url"] is None and body["space_id"] == sid
    assert body["scheduled_at"].startswith(when.strftime("%Y-%m-%dT%H:%M:%S"))
    assert body["heartbeat_interval"] == 30  # half the presence TTL while the start is far off
    assert body["stream"] == {"stream": "space", "space_id": sid}
    again = await server.http.post(f"/api/v1/spaces/{sid}/join", data={"listener_id": body["listener_id"]})
    assert again.json()["listener_id"] == body["listener_id"]
    assert (await fan.post(f"/api/v1/spaces/{sid}/join")).status_code == 200
    seen_by_host = (await host.get(f"/api/v1/spaces/{sid}")).json()
    assert seen_by_host["waiting_count"] == 2 and seen_by_host["listener_count"] == 0
    assert "waiting_count" not in (await fan.get(f"/api/v1/spaces/{sid}")).json()
    assert "waiting_count" not in (await server.http.get(f"/api/v1/spaces/{sid}")).json()
    # Once on air, those who waited are its listeners; the field is gone.
    started = (await host.post(f"/api/v1/spaces/{sid}/start")).json()
    assert "waiting_count" not in started and await server.ctx.spaces.listener_count(int(sid), fresh=True) == 2


async def test_waiting_heartbeat_shortens_near_the_start(server):
    host = await server.user("host")
    soon = (await make_space(host))["id"]  # no announced start: it may begin any moment
    assert (await server.http.post(f"/api/v1/spaces/{soon}/join")).json()["heartbeat_interval"] == 5
    past = datetime.now(timezone.utc) - timedelta(minutes=1)  # late host
    late = (await make_space(host, title="Late", scheduled_at=past.isoformat()))["id"]
    assert (await server.http.post(f"/api/v1/spaces/{late}/join")).json()["heartbeat_interval"] == 2


async def test_unknown_and_ended_rooms_still_refuse(server):
    host = await server.user("host")
    assert_error(await server.http.post("/api/v1/spaces/42/join"), 404)
    sid = (await live_space(host))["id"]
    await host.post(f"/api/v1/spaces/{sid}/end")
    assert_error(await server.http.post(f"/api/v1/spaces/{sid}/join"), 422)


async def test_a_room_that_just_started_is_never_answered_from_a_stale_cache(server):
    host = await server.user("host")
    sid = (await make_space(host))["id"]
    assert (await server.http.post(f"/api/v1/spaces/{sid}/join")).json()["state"] == "scheduled"  # cached now
    assert (await host.post(f"/api/v1/spaces/{sid}/start")).status_code == 200
    r = await server.http.post(f"/api/v1/spaces/{sid}/join")
    assert r.status_code == 200 and r.json()["state"] == "live" and r.json()["hls_url"]


async def test_a_read_begun_before_a_change_is_not_cached(server):
    host = await server.user("host")
    sid = int((await make_space(host))["id"])
    rooms = server.ctx.spaces
    before = asyncio.ensure_future(rooms.room(server.ctx.db, sid))  # a read under way...
    await asyncio.sleep(0)
    async with server.ctx.db.write() as conn:  # ...while the room goes live
        from townsquare.services import spaces as service
        await service.start(conn, sid, int(host.id))
    rooms.forget(sid)
    await before
    assert (await rooms.room(server.ctx.db, sid)).state == "live"


async def test_a_start_in_one_process_reaches_another_processs_cache_at_once(make_server):
    prefix = f"test:{uuid.uuid4().hex}:"
    one = await make_server(redis_url=REDIS_URL, redis_prefix=prefix)
    two = await make_server(redis_url=REDIS_URL, redis_prefix=prefix)
    await one.ctx.spaces.watch()
    await two.ctx.spaces.watch()
    host = await one.user("host")
    sid = (await make_space(host))["id"]
    assert (await two.http.post(f"/api/v1/spaces/{sid}/join")).json()["state"] == "scheduled"  # two caches it
    assert two.ctx.spaces.cached(int(sid))[0]
    assert (await host.post(f"/api/v1/spaces/{sid}/start")).status_code == 200  # on process one
    for _ in range(200):  # the change arrives over Redis within milliseconds, not after the cache's second
        if not two.ctx.spaces.cached(int(sid))[0]:
            break
        await asyncio.sleep(0.005)
    assert not two.ctx.spaces.cached(int(sid))[0]
    r = await two.http.post(f"/api/v1/spaces/{sid}/join")
    assert r.status_code == 200 and r.json()["state"] == "live"


async def test_waiting_listeners_hear_the_start_over_websocket_and_sse(server, live):  # noqa: F811
    host, fan = await server.user("host"), await server.user("fan")
    sid = (await make_space(host))["id"]
    assert (await fan.post(f"/api/v1/spaces/{sid}/join")).json()["state"] == "scheduled"
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        async with http.stream("GET", f"/api/v1/streaming/space?space_id={sid}&access_token={fan.token}") as r:
            assert r.status_code == 200
            source = r.aiter_lines()
            await _sse_lines(source, lambda lines: lines and lines[-1].startswith(":"))
            async with live.ws(fan.token) as ws:
                await ws.send(json.dumps({"type": "subscribe", "stream": "space", "space_id": sid}))
                await live.subscribed(f"space:{sid}")
                for _ in range(int(WAIT / 0.02)):  # both subscriptions (SSE and WebSocket) are on the channel
                    if server.ctx.bus.subscriber_count(f"space:{sid}") >= 2:
                        break
                    await asyncio.sleep(0.02)
                assert (await host.post(f"/api/v1/spaces/{sid}/start")).status_code == 200
                got = await frame(ws)
            lines = await _sse_lines(source, lambda lines: any(x.startswith("data: ") for x in lines))
    assert got["stream"] == ["space", sid] and got["event"] == "space"
    payload = json.loads(got["payload"]) if isinstance(got["payload"], str) else got["payload"]
    assert payload["type"] == "state" and payload["data"]["state"] == "live" and payload["data"]["hls_url"]
    sse = json.loads(next(x for x in lines if x.startswith("data: "))[6:])
    assert "event: space" in lines and sse["type"] == "state" and sse["data"]["state"] == "live"
