"""Scheduled statuses: scheduling with limits, list/get/update/delete, and publication by the durable job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from tests.api.conftest import assert_error
from tests.api.mastodon_schema import assert_entity
from townsquare.core.clock import iso, now
from townsquare.storage.tables import jobs, scheduled_statuses, statuses


def _at(minutes: float) -> str:
    return iso(now() + timedelta(minutes=minutes))


async def _count(server, table) -> int:
    async with server.ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def _make_due(server, scheduled_id: str) -> None:
    """Move a scheduled status (and its publish jobs) to now, as if its time had come."""
    past = now() - timedelta(seconds=1)
    async with server.ctx.db.write() as conn:
        await conn.execute(update(scheduled_statuses).where(scheduled_statuses.c.id == int(scheduled_id)).values(scheduled_at=past))
        await conn.execute(update(jobs).where(jobs.c.kind == "publish_scheduled_status").values(run_at=past))
    await server.settle()


async def test_schedule_shows_a_scheduled_status_and_publishes_it_with_its_poll(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    when = _at(10)
    r = await alice.post("/api/v1/statuses", json={
        "status": "Later, @bob", "scheduled_at": when, "visibility": "unlisted", "spoiler_text": "cw",
        "poll": {"options": ["now", "later"], "expires_in": 3600, "multiple": "1"}})
    assert r.status_code == 200, r.text
    item = r.json()
    assert_entity("ScheduledStatus", item)
    assert item["scheduled_at"] == when and item["media_attachments"] == []
    params = item["params"]
    assert params["text"] == "Later, @bob" and params["visibility"] == "unlisted" and params["spoiler_text"] == "cw"
    assert params["poll"] == {"options": ["now", "later"], "expires_in": 3600, "multiple": True, "hide_totals": False}
    assert await _count(server, statuses) == 0  # nothing is posted yet
    assert (await alice.get(f"/api/v1/scheduled_statuses/{item['id']}")).json() == item
    await _make_due(server, item["id"])
    assert (await alice.get("/api/v1/scheduled_statuses")).json() == []
    posted = (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()
    assert len(posted) == 1 and posted[0]["visibility"] == "unlisted" and posted[0]["spoiler_text"] == "cw"
    assert [o["title"] for o in posted[0]["poll"]["options"]] == ["now", "later"] and posted[0]["poll"]["multiple"]
    # The same path as a normal post: the mention notified, the follower's home feed has it.
    notes = (await bob.get("/api/v1/notifications")).json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", posted[0]["id"])]
    assert [s["id"] for s in (await bob.get("/api/v1/timelines/home")).json()] == [posted[0]["id"]]


async def test_too_soon_bad_time_and_bad_content_are_refused(server):
    alice = await server.user("alice")
    for when in (_at(4), _at(-60), "tomorrow", "2026-13-45T00:00:00Z"):
        assert_error(await alice.post("/api/v1/statuses", data={"status": "x", "scheduled_at": when}), 422)
    assert_error(await alice.post("/api/v1/statuses", json={"status": "x", "scheduled_at": ["a"]}), 422)
    assert_error(await alice.post("/api/v1/statuses", data={"status": "", "scheduled_at": _at(10)}), 422)
    assert_error(await alice.post("/api/v1/statuses", json={"status": "x", "scheduled_at": _at(10),
                                                            "poll": {"options": ["a"], "expires_in": 600}}), 422)
    assert await _count(server, scheduled_statuses) == 0 and await _count(server, statuses) == 0


async def test_daily_and_total_limits(server):
    alice = await server.user("alice")
    day = (now() + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    for i in range(25):
        r = await alice.post("/api/v1/statuses", data={"status": f"n{i}", "scheduled_at": iso(day + timedelta(minutes=i))})
        assert r.status_code == 200, r.text
    assert "day" in assert_error(await alice.post("/api/v1/statuses", data={
        "status": "one too many", "scheduled_at": iso(day + timedelta(hours=5))}), 422)["error"]
    assert (await alice.post("/api/v1/statuses", data={
        "status": "next day", "scheduled_at": iso(day + timedelta(days=1))})).status_code == 200
    # 300 pending in all: fill up the rest directly (as many days of 25), then one more is refused.
    async with server.ctx.db.write() as conn:
        rows = [{"id": 10**15 + i, "account_id": int(alice.id), "scheduled_at": day + timedelta(days=10 + i // 20),
                 "params": {"text": "x"}, "created_at": now()} for i in range(300 - 26)]
        await conn.execute(scheduled_statuses.insert(), rows)
    assert "limit" in assert_error(await alice.post("/api/v1/statuses", data={
        "status": "over", "scheduled_at": iso(day + timedelta(days=200))}), 422)["error"]
    assert await _count(server, scheduled_statuses) == 300


async def test_list_pages_update_and_delete(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    made = []
    for i in range(3):
        made.append((await alice.post("/api/v1/statuses", data={"status": f"s{i}", "scheduled_at": _at(30 + i)})).json()["id"])
    page = await alice.get("/api/v1/scheduled_statuses", params={"limit": 2})
    assert [s["id"] for s in page.json()] == [made[2], made[1]]
    assert 'rel="next"' in page.headers["link"]
    rest = await alice.get("/api/v1/scheduled_statuses", params={"limit": 2, "max_id": made[1]})
    assert [s["id"] for s in rest.json()] == [made[0]]
    # Someone else's scheduled statuses do not exist for bob.
    assert (await bob.get("/api/v1/scheduled_statuses")).json() == []
    assert_error(await bob.get(f"/api/v1/scheduled_statuses/{made[0]}"), 404)
    assert_error(await bob.put(f"/api/v1/scheduled_statuses/{made[0]}", data={"scheduled_at": _at(60)}), 404)
    assert_error(await bob.delete(f"/api/v1/scheduled_statuses/{made[0]}"), 404)
    # Moving: too soon is refused and changes nothing; a good time is kept.
    before = (await alice.get(f"/api/v1/scheduled_statuses/{made[0]}")).json()
    assert_error(await alice.put(f"/api/v1/scheduled_statuses/{made[0]}", data={"scheduled_at": _at(1)}), 422)
    assert_error(await alice.put(f"/api/v1/scheduled_statuses/{made[0]}", data={}), 422)
    assert (await alice.get(f"/api/v1/scheduled_statuses/{made[0]}")).json() == before
    later = _at(120)
    moved = (await alice.put(f"/api/v1/scheduled_statuses/{made[0]}", data={"scheduled_at": later})).json()
    assert moved["scheduled_at"] == later
    assert (await alice.delete(f"/api/v1/scheduled_statuses/{made[1]}")).json() == {}
    assert_error(await alice.get(f"/api/v1/scheduled_statuses/{made[1]}"), 404)
    assert_error(await alice.get("/api/v1/scheduled_statuses/nonsense"), 404)


async def test_a_moved_status_is_published_at_its_new_time_only(server):
    alice = await server.user("alice")
    item = (await alice.post("/api/v1/statuses", data={"status": "moved", "scheduled_at": _at(10)})).json()
    await alice.put(f"/api/v1/scheduled_statuses/{item['id']}", data={"scheduled_at": _at(600)})
    # The job for the old time runs: the status now belongs later, so nothing is published.
    async with server.ctx.db.write() as conn:
        await conn.execute(update(jobs).where(jobs.c.kind == "publish_scheduled_status")
                           .where(jobs.c.run_at < now() + timedelta(minutes=20)).values(run_at=now()))
    await server.settle()
    assert await _count(server, statuses) == 0
    assert len((await alice.get("/api/v1/scheduled_statuses")).json()) == 1
    await _make_due(server, item["id"])
    assert [s["content"] for s in (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()] == ["<p>moved</p>"]


async def test_a_cancelled_or_unpublishable_status_is_dropped(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    target = (await bob.post("/api/v1/statuses", data={"status": "soon gone"})).json()
    reply = (await alice.post("/api/v1/statuses", data={"status": "a reply", "in_reply_to_id": target["id"],
                                                        "scheduled_at": _at(10)})).json()
    cancelled = (await alice.post("/api/v1/statuses", data={"status": "never", "scheduled_at": _at(10)})).json()
    await alice.delete(f"/api/v1/scheduled_statuses/{cancelled['id']}")
    await bob.delete(f"/api/v1/statuses/{target['id']}")
    await _make_due(server, reply["id"])
    assert (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json() == []
    assert (await alice.get("/api/v1/scheduled_statuses")).json() == []
    async with server.ctx.db.read() as conn:  # no job is left retrying
        assert (await conn.execute(select(func.count()).select_from(jobs).where(
            jobs.c.kind == "publish_scheduled_status"))).scalar_one() == 0
