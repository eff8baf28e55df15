"""A small author's post is delivered in its own transaction; a bigger audience still gets a fan-out job."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.conftest import post
from tests.conftest import REDIS_URL
from townsquare.storage.tables import jobs


async def _fan_out_jobs(server) -> int:
    async with server.ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(jobs).where(jobs.c.kind == "fan_out_status"))).scalar()


async def _home(user) -> list[str]:
    r = await user.get("/api/v1/timelines/home")
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()]


async def test_a_post_reaches_followers_home_lists_and_subscribers_at_its_commit(make_server):
    server = await make_server(redis_url=None)  # feeds in the database (on PostgreSQL too)
    assert server.ctx.inline_fan_out is not None
    await server.ctx.jobs.stop()  # no job may run: what follows must come from the post itself
    try:
        author, reader, subscriber = await server.user("author"), await server.user("reader"), await server.user("subscriber")
        assert (await reader.post(f"/api/v1/accounts/{author.id}/follow")).status_code == 200
        assert (await subscriber.post(f"/api/v1/accounts/{author.id}/follow", data={"notify": "true"})).status_code == 200
        made = await reader.post("/api/v1/lists", data={"title": "people"})
        list_id = made.json()["id"]
        assert (await reader.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": author.id})).status_code == 200
        status = await post(author, "hello, few followers")
        assert await _fan_out_jobs(server) == 0
        assert status["id"] in await _home(reader)
        assert status["id"] in await _home(author)
        listed = await reader.get(f"/api/v1/timelines/list/{list_id}")
        assert status["id"] in [s["id"] for s in listed.json()]
        notes = (await subscriber.get("/api/v1/notifications", params={"types[]": "status"})).json()
        assert [n["status"]["id"] for n in notes] == [status["id"]]
    finally:
        server.ctx.jobs.start()


async def test_an_author_nobody_follows_still_reaches_hashtag_followers(make_server):
    server = await make_server(redis_url=None)
    await server.ctx.jobs.stop()
    try:
        author, gardener = await server.user("lonely"), await server.user("gardener")
        assert (await gardener.post("/api/v1/tags/gardening/follow")).status_code == 200
        tagged = await post(author, "tomatoes #Gardening")
        untagged = await post(author, "no tag here")
        assert await _fan_out_jobs(server) == 0
        home = await _home(gardener)
        assert tagged["id"] in home and untagged["id"] not in home
        assert {tagged["id"], untagged["id"]} <= set(await _home(author))
    finally:
        server.ctx.jobs.start()


async def test_above_the_threshold_the_post_queues_its_fan_out_job(make_server):
    server = await make_server(inline_fan_out_followers=1, redis_url=None)
    author, one, two = await server.user("popular"), await server.user("fan1"), await server.user("fan2")
    await server.ctx.jobs.stop()
    try:
        assert (await one.post(f"/api/v1/accounts/{author.id}/follow")).status_code == 200
        first = await post(author, "one follower: inline")
        assert await _fan_out_jobs(server) == 0
        assert first["id"] in await _home(one)
        assert (await two.post(f"/api/v1/accounts/{author.id}/follow")).status_code == 200
        second = await post(author, "two followers: a job")
        assert await _fan_out_jobs(server) == 1
        assert second["id"] not in await _home(two)  # not yet: the job has not run
    finally:
        server.ctx.jobs.start()
    await server.settle()
    assert second["id"] in await _home(two) and second["id"] in await _home(one)


async def test_redis_feeds_always_get_the_job(make_server, redis_prefix):
    """Redis feeds are not part of the post's transaction: they are written by the job, after the commit."""
    server = await make_server(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    assert server.ctx.inline_fan_out is None
    author = await server.user("redis_author")
    await server.ctx.jobs.stop()
    try:
        status = await post(author, "to Redis feeds")
        assert await _fan_out_jobs(server) == 1
    finally:
        server.ctx.jobs.start()
    await server.settle()
    assert status["id"] in await _home(author)
