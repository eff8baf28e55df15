"""Streaming: the WebSocket and server-sent events, served by a real uvicorn on loopback around the test app."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.api.conftest import post
from tests.conftest import REDIS_URL
from townsquare.api import streaming
from townsquare.core.clock import now
from townsquare.storage.tables import accounts
from townsquare.timelines import events

WAIT = 10.0  # generous: a missing event fails the test, a slow one does not


class Live:
    """A uvicorn server on a loopback port in front of a test server's app."""

    def __init__(self, server, port: int):
        self.server, self.port = server, port
        self.http_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/api/v1/streaming"

    async def subscribed(self, channel: str) -> None:
        """Wait until some stream listens on a bus channel (for Redis: until Redis itself knows)."""
        bus = self.server.ctx.bus
        for _ in range(int(WAIT / 0.02)):
            if bus.subscriber_count(channel) > 0:
                if not hasattr(bus, "redis"):
                    return
                counts = await bus.redis.pubsub_numsub(bus.prefix + channel)
                if counts and counts[0][1] > 0:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError(f"nobody subscribed to {channel}")

    def ws(self, token: str | None = None, stream: str | None = None, **kw):
        """Open a WebSocket, with the token in the query string unless told otherwise."""
        query = []
        if token:
            query.append(f"access_token={token}")
        if stream:
            query.append(f"stream={stream}")
        return connect(self.ws_url + ("?" + "&".join(query) if query else ""), open_timeout=WAIT, **kw)


async def _serve(app) -> tuple[uvicorn.Server, asyncio.Task, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    for _ in range(500):
        if srv.started:
            break
        await asyncio.sleep(0.01)
    return srv, task, sock.getsockname()[1]


@pytest.fixture
async def live(server):
    """The test server's app behind a real HTTP/WebSocket server."""
    srv, task, port = await _serve(server.app)
    yield Live(server, port)
    srv.should_exit = True
    await asyncio.wait_for(task, 10)


async def frame(ws) -> dict:
    """The next event frame of a WebSocket."""
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def test_user_stream_receives_a_followed_accounts_status(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    async with live.ws(bob.token, "user") as ws:
        await live.subscribed(events.home_channel(int(bob.id)))
        posted = await post(alice, "hello streaming world")
        got = await frame(ws)
    assert got["stream"] == ["user"] and got["event"] == "update"
    assert isinstance(got["payload"], str)
    status = json.loads(got["payload"])
    assert status["id"] == posted["id"] and status["content"] == posted["content"]
    assert status["account"]["id"] == alice.id and status["favourited"] is False


async def test_status_update_and_delete_events(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    async with live.ws(bob.token, "user") as ws:
        await live.subscribed(events.home_channel(int(bob.id)))
        posted = await post(alice, "first words")
        assert (await frame(ws))["event"] == "update"
        r = await alice.put(f"/api/v1/statuses/{posted['id']}", data={"status": "second thoughts"})
        assert r.status_code == 200, r.text
        edited = await frame(ws)
        assert edited["event"] == "status.update"
        assert "second thoughts" in json.loads(edited["payload"])["content"]
        assert (await alice.delete(f"/api/v1/statuses/{posted['id']}")).status_code == 200
        deleted = await frame(ws)
    assert deleted == {"stream": ["user"], "event": "delete", "payload": posted["id"]}


async def test_notification_stream_gets_mentions_and_favourites(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    mine = await post(bob, "a status of bob's")
    async with live.ws(bob.token, "user:notification") as ws:
        await live.subscribed(events.notification_channel(int(bob.id)))
        mention = await post(alice, "@bob look at this")
        got = await frame(ws)
        assert got["stream"] == ["user:notification"] and got["event"] == "notification"
        note = json.loads(got["payload"])
        assert note["type"] == "mention" and note["status"]["id"] == mention["id"] and note["account"]["id"] == alice.id
        await alice.post(f"/api/v1/statuses/{mine['id']}/favourite")
        fav = json.loads((await frame(ws))["payload"])
    assert fav["type"] == "favourite" and fav["status"]["id"] == mine["id"]


async def test_user_stream_carries_notifications_too(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    async with live.ws(bob.token, "user") as ws:
        await live.subscribed(events.notification_channel(int(bob.id)))
        await alice.post(f"/api/v1/accounts/{bob.id}/follow")
        got = await frame(ws)
    assert got["stream"] == ["user"] and got["event"] == "notification"
    assert json.loads(got["payload"])["type"] == "follow"


async def test_reblogs_reach_followers_unless_the_original_author_is_muted(server, live):
    alice, bob, carol, dan = (await server.user("alice"), await server.user("bob"), await server.user("carol"),
                              await server.user("dan"))
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    await bob.post(f"/api/v1/accounts/{dan.id}/mute")
    carols, dans = await post(carol, "worth sharing"), await post(dan, "muted by bob")
    async with live.ws(bob.token, "user") as ws:
        await live.subscribed(events.home_channel(int(bob.id)))
        await alice.post(f"/api/v1/statuses/{dans['id']}/reblog")
        r = await alice.post(f"/api/v1/statuses/{carols['id']}/reblog")
        got = await frame(ws)
    wrapper = json.loads(got["payload"])
    assert got["event"] == "update" and wrapper["id"] == r.json()["id"]
    assert wrapper["reblog"]["id"] == carols["id"] and wrapper["account"]["id"] == alice.id


async def test_user_stream_without_notification_scope_carries_no_notifications(server, live):
    alice = await server.user("alice")
    reader = await server.user("reader", scopes="read:statuses write")
    async with live.ws(reader.token, "user") as ws:
        await live.subscribed(events.home_channel(int(reader.id)))
        assert server.ctx.bus.subscriber_count(events.notification_channel(int(reader.id))) == 0
        await alice.post(f"/api/v1/accounts/{reader.id}/follow")  # a follow notification, not streamed
        own = await post(reader, "my own status reaches my own stream")
        got = await frame(ws)
    assert got["event"] == "update" and json.loads(got["payload"])["id"] == own["id"]


async def test_hashtag_and_public_streams_skip_private_statuses(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    async with live.ws(bob.token) as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Cats"}))
        await ws.send(json.dumps({"type": "subscribe", "stream": "public:local"}))
        await live.subscribed(events.hashtag_channel("cats"))
        await live.subscribed(events.PUBLIC_LOCAL)
        await post(alice, "secret #cats", visibility="private")
        await post(alice, "quiet #cats", visibility="unlisted")
        public = await post(alice, "loud #cats")
        first, second = await frame(ws), await frame(ws)
    assert {tuple(first["stream"]), tuple(second["stream"])} == {("hashtag", "Cats"), ("public:local",)}
    assert json.loads(first["payload"])["id"] == json.loads(second["payload"])["id"] == public["id"]


async def test_unsubscribe_stops_a_stream(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    async with live.ws(bob.token, "public") as ws:
        await live.subscribed(events.PUBLIC)
        first = await post(alice, "seen")
        assert json.loads((await frame(ws))["payload"])["id"] == first["id"]
        await ws.send(json.dumps({"type": "unsubscribe", "stream": "public"}))
        await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "marker"}))
        await live.subscribed(events.hashtag_channel("marker"))
        assert server.ctx.bus.subscriber_count(events.PUBLIC) == 0
        await post(alice, "not seen: public is unsubscribed")
        marker = await post(alice, "#marker comes after")
        got = await frame(ws)
    assert got["stream"] == ["hashtag", "marker"] and json.loads(got["payload"])["id"] == marker["id"]


async def test_muted_and_blocked_authors_are_not_streamed(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    muted, blocker = await server.user("muted"), await server.user("blocker")
    for target in (alice, muted):
        await bob.post(f"/api/v1/accounts/{target.id}/follow")
    await bob.post(f"/api/v1/accounts/{muted.id}/mute")
    await blocker.post(f"/api/v1/accounts/{bob.id}/block")
    async with live.ws(bob.token, "user") as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
        await live.subscribed(events.PUBLIC)
        await post(muted, "muted speaks")
        await post(blocker, "blocker speaks")
        last = await post(alice, "alice speaks")
        got = [await frame(ws), await frame(ws)]
    assert sorted(tuple(f["stream"]) for f in got) == [("public",), ("user",)]
    assert {json.loads(f["payload"])["id"] for f in got} == {last["id"]}


async def test_replies_to_strangers_stay_off_the_user_stream(server, live):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    carols = await post(carol, "carol's thread")
    async with live.ws(bob.token, "user") as ws:
        await live.subscribed(events.home_channel(int(bob.id)))
        await post(alice, "@carol a reply bob should not see", in_reply_to_id=carols["id"])
        plain = await post(alice, "a plain status")
        got = await frame(ws)
    assert json.loads(got["payload"])["id"] == plain["id"]


async def test_private_status_reaches_followers_user_stream(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    async with live.ws(bob.token, "user") as ws:
        await live.subscribed(events.home_channel(int(bob.id)))
        private = await post(alice, "followers only", visibility="private")
        got = json.loads((await frame(ws))["payload"])
    assert got["id"] == private["id"] and got["visibility"] == "private"


async def test_direct_stream_gets_conversations(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    async with live.ws(bob.token, "direct") as ws:
        await live.subscribed(events.direct_channel(int(bob.id)))
        dm = await post(alice, "@bob just between us", visibility="direct")
        got = await frame(ws)
    assert got["stream"] == ["direct"] and got["event"] == "conversation"
    conversation = json.loads(got["payload"])
    assert conversation["last_status"]["id"] == dm["id"] and conversation["unread"] is True
    assert [a["id"] for a in conversation["accounts"]] == [alice.id]


async def test_list_stream_gets_its_members_statuses(server, live):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    for target in (alice, carol):
        await bob.post(f"/api/v1/accounts/{target.id}/follow")
    list_id = (await bob.post("/api/v1/lists", data={"title": "Close friends"})).json()["id"]
    r = await bob.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [alice.id]})
    assert r.status_code == 200, r.text
    async with live.ws(bob.token) as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "list", "list": list_id}))
        await live.subscribed(events.list_channel(int(list_id)))
        await ws.send(json.dumps({"type": "unsubscribe", "stream": "user"}))  # not subscribed: harmless
        await post(carol, "followed, but not on the list")
        member = await post(alice, "on the list")
        got = await frame(ws)
    assert got["stream"] == ["list", list_id] and got["event"] == "update"
    assert json.loads(got["payload"])["id"] == member["id"]


async def test_space_stream_forwards_space_events(server, live):
    bob = await server.user("bob")
    async with live.ws(bob.token) as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "space", "space_id": "42"}))
        await live.subscribed(events.space_channel(42))
        await server.ctx.bus.publish("space:42", {"event": "space", "payload": {"state": "live", "listeners": 3}})
        got = await frame(ws)
    assert got["stream"] == ["space", "42"] and got["event"] == "space"
    assert json.loads(got["payload"]) == {"state": "live", "listeners": 3}


async def test_token_in_websocket_protocol_is_echoed(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    async with live.ws(None, "user", subprotocols=[bob.token]) as ws:
        assert ws.subprotocol == bob.token
        await live.subscribed(events.home_channel(int(bob.id)))
        posted = await post(alice, "via subprotocol")
        assert json.loads((await frame(ws))["payload"])["id"] == posted["id"]


async def test_authorization_header_works_for_websocket(server, live):
    bob = await server.user("bob")
    async with live.ws(None, "user", additional_headers={"Authorization": f"Bearer {bob.token}"}):
        await live.subscribed(events.home_channel(int(bob.id)))


@pytest.mark.parametrize("token", [None, "not-a-real-token"])
async def test_websocket_refuses_bad_tokens(server, live, token):
    with pytest.raises(InvalidStatus) as caught:
        async with live.ws(token, "user"):
            pass
    assert caught.value.response.status_code == 403


async def test_suspended_accounts_cannot_stream(server, live):
    bob = await server.user("bob")
    async with server.ctx.db.write() as conn:
        await conn.execute(update(accounts).where(accounts.c.id == int(bob.id)).values(suspended_at=now()))
    with pytest.raises(InvalidStatus):
        async with live.ws(bob.token, "user"):
            pass
    assert (await bob.get("/api/v1/streaming/user")).status_code == 401


async def test_websocket_reports_bad_requests_and_scopes(server, live):
    bob = await server.user("bob")
    async with live.ws(bob.token) as ws:
        for request, status in [
            ({"type": "subscribe", "stream": "nonsense"}, 400),
            ({"type": "subscribe", "stream": "hashtag"}, 400),
            ({"type": "subscribe", "stream": "list", "list": "12345"}, 404),
            ({"type": "dance"}, 400),
        ]:
            await ws.send(json.dumps(request))
            got = await frame(ws)
            assert got["status"] == status and isinstance(got["error"], str), (request, got)
        await ws.send("not json")
        assert (await frame(ws))["status"] == 400
        await ws.send(b'{"type": "subscribe", "stream": "nonsense"}')  # a binary frame is read like a text one
        assert (await frame(ws))["status"] == 400
    notes_only = await server.user("notes", scopes="read:notifications")
    async with live.ws(notes_only.token) as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
        assert (await frame(ws))["status"] == 403
        await ws.send(json.dumps({"type": "subscribe", "stream": "user:notification"}))
        await live.subscribed(events.notification_channel(int(notes_only.id)))
    write_only = await server.user("writer", scopes="write")
    with pytest.raises(InvalidStatus):
        async with live.ws(write_only.token, "user"):
            pass


async def _sse_lines(source, until):
    """Read lines of an SSE response's line iterator until `until(lines)` holds; return them."""
    lines: list[str] = []

    async def read():
        while not until(lines):
            lines.append(await source.__anext__())

    await asyncio.wait_for(read(), WAIT)
    return lines


async def test_sse_user_stream_and_heartbeat(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        async with http.stream("GET", "/api/v1/streaming/user", headers={"Authorization": f"Bearer {bob.token}"}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            source = r.aiter_lines()
            await _sse_lines(source, lambda lines: lines and lines[-1].startswith(":"))
            posted = await post(alice, "over server-sent events")
            lines = await _sse_lines(source, lambda lines: any(x.startswith("data: ") for x in lines))
    assert "event: update" in lines
    data = next(x for x in lines if x.startswith("data: "))[6:]
    assert json.loads(data)["id"] == posted["id"]


async def test_sse_sends_heartbeats_while_idle(server, live, monkeypatch):
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.1)
    bob = await server.user("bob")
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        async with http.stream("GET", "/api/v1/streaming/public", params={"access_token": bob.token}) as r:
            lines = await _sse_lines(r.aiter_lines(), lambda lines: ":thump" in lines)
    assert lines[0] == ":)" and ":thump" in lines


async def test_sse_hashtag_and_public_local(server, live):
    alice, bob = await server.user("alice"), await server.user("bob")
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        for path in ("/api/v1/streaming/hashtag?tag=python", "/api/v1/streaming/public/local",
                     "/api/v1/streaming?stream=hashtag:local&tag=python"):
            tag = uuid.uuid4().hex[:8]
            async with http.stream("GET", f"{path}&access_token={bob.token}" if "?" in path else f"{path}?access_token={bob.token}") as r:
                assert r.status_code == 200
                source = r.aiter_lines()
                await _sse_lines(source, lambda lines: lines and lines[-1].startswith(":"))
                posted = await post(alice, f"about #python {tag}")
                lines = await _sse_lines(source, lambda lines: any(x.startswith("data: ") for x in lines))
            assert json.loads(next(x for x in lines if x.startswith("data: "))[6:])["id"] == posted["id"], path


async def test_sse_errors_and_health(server, live, anon):
    reader = await server.user("reader", scopes="write")
    r = await anon.get("/api/v1/streaming/health")
    assert r.status_code == 200 and r.text == "OK"
    r = await anon.get("/api/v1/streaming/user")
    assert r.status_code == 401 and r.json()["error"]
    r = await reader.get("/api/v1/streaming/public")
    assert r.status_code == 403 and r.json()["error"]
    bob = await server.user("bob")
    r = await bob.get("/api/v1/streaming/nowhere")
    assert r.status_code == 400 and r.json() == {"error": "Unknown channel requested"}
    r = await bob.get("/api/v1/streaming/hashtag")
    assert r.status_code == 400 and r.json()["error"]
    r = await bob.get("/api/v1/streaming/list", params={"list": "123"})
    assert r.status_code == 404


async def test_instance_points_clients_at_this_streaming_server(server, anon):
    v1 = (await anon.get("/api/v1/instance")).json()
    v2 = (await anon.get("/api/v2/instance")).json()
    assert v1["urls"]["streaming_api"] == "ws://test.local"
    assert v2["configuration"]["urls"]["streaming"] == "ws://test.local"


async def test_hybrid_authors_reach_followers_through_their_author_channel(make_server):
    srv = await make_server(hybrid_threshold=1)
    alice, bob = await srv.user("alice"), await srv.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")  # one follower: alice is now a hybrid author
    uv, task, port = await _serve(srv.app)
    live = Live(srv, port)
    try:
        async with live.ws(bob.token, "user") as ws:
            await live.subscribed(events.author_channel(int(alice.id)))
            posted = await post(alice, "read-time merged, still streamed")
            got = await frame(ws)
            assert got["stream"] == ["user"] and json.loads(got["payload"])["id"] == posted["id"]
            await alice.put(f"/api/v1/statuses/{posted['id']}", data={"status": "edited, still streamed"})
            edited = await frame(ws)
        assert edited["event"] == "status.update" and json.loads(edited["payload"])["id"] == posted["id"]
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_redis_bus_streams_a_post_made_through_another_server(make_server, redis_prefix):
    writer = await make_server(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    reader = await make_server(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    alice, bob = await writer.user("alice"), await writer.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    uv, task, port = await _serve(reader.app)
    live = Live(reader, port)
    try:
        async with live.ws(bob.token, "user") as ws:
            await live.subscribed(events.home_channel(int(bob.id)))
            posted = await post(alice, "written on one server, streamed from another")
            got = await frame(ws)
        assert json.loads(got["payload"])["id"] == posted["id"]
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 10)
