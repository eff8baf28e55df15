"""Spaces: creating, starting and ending rooms, listing them, and the Space entity."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from tests.api.conftest import assert_error
from townsquare.storage.tables import notifications


async def make_space(user, **fields) -> dict:
    r = await user.post("/api/v1/spaces", data={"title": "Town hall", **fields})
    assert r.status_code == 200, r.text
    return r.json()


async def live_space(user, **fields) -> dict:
    space = await make_space(user, **fields)
    r = await user.post(f"/api/v1/spaces/{space['id']}/start")
    assert r.status_code == 200, r.text
    return r.json()


async def test_create_renders_a_scheduled_space(server):
    host = await server.user("host")
    when = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    space = await make_space(host, title="  Launch  ", scheduled_at=when, record="1")
    assert space["title"] == "Launch"
    assert space["state"] == "scheduled" and space["record"] is True
    assert space["scheduled_at"] == when
    assert space["started_at"] is None and space["ended_at"] is None and space["created_at"]
    assert space["host"]["id"] == host.id and space["cohosts"] == []
    assert space["speakers"] == [{"account": space["host"], "role": "host", "muted": False}]
    assert space["listener_count"] == 0 and space["hls_url"] is None and space["recording_url"] is None
    assert space["url"] == f"http://test.local/spaces/{space['id']}"
    assert space["role"] == "host" and space["speak_requests"] == []
    fetched = (await host.get(f"/api/v1/spaces/{space['id']}")).json()
    assert fetched == space


async def test_create_rejects_bad_input_and_changes_nothing(server):
    host = await server.user("host")
    assert_error(await host.post("/api/v1/spaces", data={"title": "  "}), 422)
    assert_error(await host.post("/api/v1/spaces", data={"title": "x" * 201}), 422)
    assert_error(await host.post("/api/v1/spaces", data={"title": "t", "scheduled_at": "tomorrow"}), 422)
    assert_error(await host.post("/api/v1/spaces", data={"title": "t", "scheduled_at": "2001-01-01T00:00:00Z"}), 422)
    assert_error(await host.post("/api/v1/spaces", data={"title": "t", "record": "maybe"}), 422)
    assert_error(await server.http.post("/api/v1/spaces", data={"title": "t"}), 401)
    reader = await server.user("reader", scopes="read")
    assert_error(await reader.post("/api/v1/spaces", data={"title": "t"}), 403)
    assert (await host.get("/api/v1/spaces", params={"state": "scheduled"})).json() == []


async def test_start_and_end_move_through_the_states(server):
    host = await server.user("host")
    space = await live_space(host, record="true")
    assert space["state"] == "live" and space["started_at"]
    assert space["hls_url"] == f"http://test.local/spaces/{space['id']}/live.m3u8"
    read = (await host.get(f"/api/v1/spaces/{space['id']}")).json()  # the start's answer is what a read shows
    assert {k: v for k, v in read.items() if k != "listener_count"} == {
        k: v for k, v in space.items() if k != "listener_count"}
    assert_error(await host.post(f"/api/v1/spaces/{space['id']}/start"), 422)
    r = await host.post(f"/api/v1/spaces/{space['id']}/end")
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["state"] == "ended" and ended["ended_at"] and ended["hls_url"] is None
    assert ended["recording_url"] == f"http://test.local/spaces/{space['id']}/recording.m3u8"
    assert_error(await host.post(f"/api/v1/spaces/{space['id']}/end"), 422)
    assert_error(await host.post(f"/api/v1/spaces/{space['id']}/start"), 422)
    assert_error(await host.delete(f"/api/v1/spaces/{space['id']}"), 422)


async def test_unrecorded_space_has_no_recording(server):
    host = await server.user("host")
    space = await live_space(host)
    ended = (await host.post(f"/api/v1/spaces/{space['id']}/end")).json()
    assert ended["record"] is False and ended["recording_url"] is None


async def test_a_host_runs_one_live_space_at_a_time(server):
    host = await server.user("host")
    await live_space(host)
    second = await make_space(host, title="Second")
    assert_error(await host.post(f"/api/v1/spaces/{second['id']}/start"), 422)


async def test_delete_only_scheduled_spaces(server):
    host = await server.user("host")
    space = await make_space(host)
    r = await host.delete(f"/api/v1/spaces/{space['id']}")
    assert r.status_code == 200 and r.json() == {}
    assert_error(await host.get(f"/api/v1/spaces/{space['id']}"), 404)
    assert_error(await host.get("/api/v1/spaces/nope"), 404)


async def test_list_by_state_and_host_with_pagination(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    a_live = await live_space(alice, title="Alice live")
    a_sched = await make_space(alice, title="Alice later")
    b_live = await live_space(bob, title="Bob live")
    b_ended = await make_space(bob, title="Bob later")
    await bob.post(f"/api/v1/spaces/{b_live['id']}/end")
    live = (await server.http.get("/api/v1/spaces")).json()
    assert [s["id"] for s in live] == [a_live["id"]]
    assert "role" not in live[0]  # anonymous viewers get no role
    scheduled = (await alice.get("/api/v1/spaces", params={"state": "scheduled"})).json()
    assert [s["id"] for s in scheduled] == [b_ended["id"], a_sched["id"]]
    by_alice = (await alice.get("/api/v1/spaces", params={"state": "scheduled", "account_id": alice.id})).json()
    assert [s["id"] for s in by_alice] == [a_sched["id"]]
    ended = (await alice.get("/api/v1/spaces", params={"state": "ended", "account_id": bob.id})).json()
    assert [s["id"] for s in ended] == [b_live["id"]]
    r = await alice.get("/api/v1/spaces", params={"state": "scheduled", "limit": 1})
    assert [s["id"] for s in r.json()] == [b_ended["id"]] and 'rel="next"' in r.headers["link"]
    older = (await alice.get("/api/v1/spaces", params={"state": "scheduled", "max_id": b_ended["id"]})).json()
    assert [s["id"] for s in older] == [a_sched["id"]]
    newer = (await alice.get("/api/v1/spaces", params={"state": "scheduled", "min_id": a_sched["id"]})).json()
    assert [s["id"] for s in newer] == [b_ended["id"]]
    assert (await alice.get("/api/v1/spaces", params={"state": "scheduled", "since_id": b_ended["id"]})).json() == []
    assert (await alice.get("/api/v1/spaces", params={"state": "scheduled", "account_id": "nobody"})).json() == []
    assert_error(await alice.get("/api/v1/spaces", params={"state": "bogus"}), 422)


async def test_followers_are_notified_when_a_space_starts(server):
    host = await server.user("host")
    fans = [await server.user(f"fan{i}") for i in range(3)]
    for fan in fans:
        assert (await fan.post(f"/api/v1/accounts/{host.id}/follow")).status_code == 200
    await fans[2].post(f"/api/v1/accounts/{host.id}/mute")
    await live_space(host)
    await server.settle()
    for fan, expected in zip(fans, (1, 1, 0)):
        got = (await fan.get("/api/v1/notifications", params={"types[]": "space"})).json()
        assert len(got) == expected
        if expected:
            assert got[0]["type"] == "space" and got[0]["account"]["id"] == host.id and got[0]["status"] is None
    own = (await host.get("/api/v1/notifications", params={"types[]": "space"})).json()
    assert own == []


async def test_follower_notifications_run_in_batches(server, monkeypatch):
    from townsquare.services import spaces as service

    monkeypatch.setattr(service, "NOTIFY_BATCH", 2)
    monkeypatch.setattr(service, "NOTIFY_PAUSE", timedelta(0))
    host = await server.user("host")
    for i in range(5):
        fan = await server.user(f"fan{i}")
        await fan.post(f"/api/v1/accounts/{host.id}/follow")
    await live_space(host)
    await server.settle()
    async with server.ctx.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(notifications).where(notifications.c.type == "space"))).scalar()
    assert count == 5


async def test_space_page_has_an_audio_player(server):
    host = await server.user("host")
    space = await live_space(host, title="Evening <talk>")
    r = await server.http.get(f"/spaces/{space['id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Evening &lt;talk&gt;" in r.text and f'src="{space["hls_url"]}"' in r.text
    assert (await server.http.get("/spaces/123")).status_code == 404
