"""The page cache (api/page_cache.py) answers exactly what the route would, and never anything old.

A hit is proved by the cache's hit counter; "the route would" by reading the same URL with the cache
turned off. Every kind of change is followed by a read that must show it: posts, filters, notifications,
a revoked token, a suspension (this process, and the admin CLI writing the database from another
process). The cache is on only on the embedded SQLite backend; the same reads run on PostgreSQL with it
off (test_read_cache.py covers edits, counts, marks, names, sanctions, blocks, mutes and polls both ways).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from tests.api.conftest import assert_error, ids, password_token, post, register_app
from tests.api.test_filters_applied import _filter
from tests.conftest import BACKEND

ADMIN_SCOPES = "read write follow admin:read admin:write"
VOLATILE = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"}  # differ between any two requests


def pc(server):
    return server.app.state.page_cache


async def kept(server, get, url: str, **kw):
    """Read a URL until the page cache answers it (when it is on): return that response."""
    await server.settle()
    await get(url, **kw)
    cache = pc(server)
    for _ in range(5):
        before = cache.hits
        r = await get(url, **kw)
        assert r.status_code == 200, r.text
        if cache.hits > before or not cache.enabled:
            break
        await server.settle()
    assert cache.hits > before or not cache.enabled, f"{url} was not answered from the page cache"
    return r


def comparable(r) -> tuple:
    return r.status_code, sorted((k, v) for k, v in r.headers.items() if k not in VOLATILE), r.content


async def test_on_wherever_a_change_can_be_told(server, make_server):
    # SQLite: its data_version; scale-out (PostgreSQL + Redis): the change counter every commit bumps.
    assert pc(server).enabled is True
    assert (pc(server).data_version is not None) is (BACKEND == "sqlite")
    assert pc(await make_server(page_cache_seconds=0)).enabled is False


async def test_a_hit_is_the_routes_answer_byte_for_byte(server, anon):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    for n in range(3):
        await post(alice, f"post {n}")
    for get, url in [(bob.get, "/api/v1/timelines/home?limit=2"), (anon.get, "/api/v1/timelines/public?limit=2"),
                     (bob.get, f"/api/v1/accounts/{alice.id}/statuses"), (bob.get, "/api/v1/notifications")]:
        hit = await kept(server, get, url)
        pc(server).enabled = False
        try:
            slow = await get(url)
        finally:
            pc(server).enabled = True
        assert comparable(hit) == comparable(slow)
        assert hit.headers["access-control-allow-origin"] == "*" and hit.headers["x-request-id"]
        assert hit.headers["x-ratelimit-limit"]
        if "limit=2" in url:
            assert 'rel="next"' in hit.headers["link"]
    # A client's own request id is echoed on a hit too, and each hit gets a fresh one otherwise.
    first = await kept(server, bob.get, "/api/v1/timelines/home?limit=2")
    again = await bob.get("/api/v1/timelines/home?limit=2")
    assert first.headers["x-request-id"] != again.headers["x-request-id"]
    mine = await bob.http.get("/api/v1/timelines/home?limit=2", headers={"Authorization": f"Bearer {bob.token}",
                                                                          "X-Request-Id": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"


async def test_each_viewer_and_each_query_has_its_own_answer(server, anon):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    s = await post(alice, "something to like")
    await post(alice, "and another")
    assert (await bob.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200
    mine = (await kept(server, bob.get, "/api/v1/timelines/public")).json()
    assert [x["favourited"] for x in mine if x["id"] == s["id"]] == [True]
    for get in (anon.get, carol.get):
        theirs = (await kept(server, get, "/api/v1/timelines/public")).json()
        assert [x["favourited"] for x in theirs if x["id"] == s["id"]] == [False]
    one = (await kept(server, bob.get, "/api/v1/timelines/public?limit=1")).json()
    assert len(one) == 1 and len((await bob.get("/api/v1/timelines/public")).json()) == 2
    # Bob's token answers for Bob only: the home timeline is refused without a token, not served from his.
    await kept(server, bob.get, "/api/v1/timelines/home")
    assert_error(await anon.get("/api/v1/timelines/home"), 401)
    assert_error(await anon.get("/api/v1/timelines/home", headers={"Authorization": "Bearer nonsense"}), 401)


async def test_errors_are_never_kept(server, anon):
    stores = pc(server).stores
    for _ in range(3):
        assert_error(await anon.get("/api/v1/statuses/123456789"), 404)
        assert_error(await anon.get("/api/v1/timelines/home"), 401)
    assert pc(server).stores == stores


async def test_new_posts_notifications_and_filters_show_at_once(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    await post(alice, "an old post")
    await kept(server, bob.get, "/api/v1/timelines/home")
    fresh = await post(alice, "a new spoiler post")
    await server.settle()  # the fan-out into Bob's feed is a job
    assert fresh["id"] in ids((await bob.get("/api/v1/timelines/home")).json())

    await kept(server, bob.get, "/api/v1/timelines/home")
    hide = await _filter(bob, "no spoilers", "spoiler", "hide", ["home"])
    assert fresh["id"] not in ids((await bob.get("/api/v1/timelines/home")).json())
    await kept(server, bob.get, "/api/v1/timelines/home")
    assert (await bob.delete(f"/api/v2/filters/{hide['id']}")).status_code == 200
    assert fresh["id"] in ids((await bob.get("/api/v1/timelines/home")).json())

    mine = await post(bob, "bob's own words")
    await kept(server, bob.get, "/api/v1/notifications")
    assert (await carol.post(f"/api/v1/statuses/{mine['id']}/favourite")).status_code == 200
    await server.settle()
    notes = (await bob.get("/api/v1/notifications")).json()
    assert notes and notes[0]["type"] == "favourite" and notes[0]["account"]["id"] == carol.id
    await kept(server, bob.get, "/api/v1/notifications")
    await post(carol, f"hello @bob")
    await server.settle()
    assert (await bob.get("/api/v1/notifications")).json()[0]["type"] == "mention"

    lid = (await bob.post("/api/v1/lists", data={"title": "friends"})).json()["id"]
    assert (await kept(server, bob.get, f"/api/v1/timelines/list/{lid}")).json() == []
    assert (await bob.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [alice.id]})).status_code == 200
    await server.settle()
    assert fresh["id"] in ids((await bob.get(f"/api/v1/timelines/list/{lid}")).json())


async def test_a_revoked_token_and_a_suspended_viewer_are_refused_on_the_next_request(server):
    alice = await server.user("alice")
    mod = await server.user("mod", scopes=ADMIN_SCOPES, role="moderator")
    app = await register_app(server.http)
    token = await password_token(server.http, app, "alice")
    headers = {"Authorization": f"Bearer {token}"}
    await kept(server, server.http.get, "/api/v1/timelines/home", headers=headers)
    r = await server.http.post("/oauth/revoke", data={"client_id": app["client_id"], "client_secret": app["client_secret"],
                                                      "token": token})
    assert r.status_code == 200, r.text
    assert_error(await server.http.get("/api/v1/timelines/home", headers=headers), 401)

    await kept(server, alice.get, "/api/v1/timelines/home")
    await kept(server, alice.get, "/api/v1/timelines/public")
    r = await mod.post(f"/api/v1/admin/accounts/{alice.id}/action", data={"type": "suspend", "text": "spam"})
    assert r.status_code == 200, r.text
    assert_error(await alice.get("/api/v1/timelines/home"), 401)
    assert_error(await alice.get("/api/v1/timelines/public"), 401)


def _admin_cli(settings, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOWNSQUARE_DATABASE_URL": settings.effective_database_url}
    if settings.redis_url:
        env.update(TOWNSQUARE_REDIS_URL=settings.redis_url, TOWNSQUARE_REDIS_PREFIX=settings.redis_prefix)
    return subprocess.run([sys.executable, "-m", "townsquare.cli", "admin", *args, "--data-dir", str(settings.data_dir)],
                          env=env, capture_output=True, text=True, timeout=120)


async def test_the_admin_cli_writing_from_another_process_shows_at_once(make_server, settings):
    # A long cap, so that only noticing the other process's commit can explain a fresh answer.
    server = await make_server(page_cache_seconds=3600)
    anon = server.http
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    s = await post(alice, "soon gone")
    await kept(server, bob.get, "/api/v1/timelines/home")
    await kept(server, anon.get, "/api/v1/timelines/public")
    await kept(server, alice.get, "/api/v1/timelines/home")
    out = await asyncio.to_thread(_admin_cli, settings, "suspend", "alice", "--reason", "court order")
    assert out.returncode == 0, out.stderr
    assert s["id"] not in ids((await bob.get("/api/v1/timelines/home")).json())
    assert s["id"] not in ids((await anon.get("/api/v1/timelines/public")).json())
    assert_error(await alice.get("/api/v1/timelines/home"), 401)


async def test_rate_limits_count_every_hit(make_server):
    server = await make_server(rate_limit_token="4/1d", rate_limit_user="1000/1d")
    bob = await server.user("bob")
    seen = []
    for _ in range(4):
        r = await bob.get("/api/v1/timelines/public")
        assert r.status_code == 200
        seen.append(r.headers["x-ratelimit-remaining"])
    assert seen == ["3", "2", "1", "0"]
    assert pc(server).hits >= 2 or not pc(server).enabled
    r = await bob.get("/api/v1/timelines/public")
    assert r.status_code == 429 and r.json() == {"error": "Too many requests"}


async def test_kept_no_later_than_a_poll_ends_or_a_filter_expires(make_server):
    server = await make_server(page_cache_seconds=3600)
    if not pc(server).enabled:
        pytest.skip("the page cache is off on the scale-out backend")
    alice = await server.user("alice")
    plain = await post(alice, "nothing timed")
    r = await alice.post("/api/v1/statuses", json={"status": "pick", "poll": {"options": ["a", "b"], "expires_in": 600}})
    assert r.status_code == 200, r.text
    poll_ends = time.time() + 600

    def expiry(url: str) -> float:
        [entry] = [e for (path, query, _), e in pc(server).entries.items() if path + ("?" + query.decode() if query else "") == url]
        return entry.expires

    await kept(server, alice.get, f"/api/v1/statuses/{plain['id']}")
    assert expiry(f"/api/v1/statuses/{plain['id']}") > time.time() + 3000  # only the cap
    await kept(server, alice.get, f"/api/v1/statuses/{r.json()['id']}")
    assert expiry(f"/api/v1/statuses/{r.json()['id']}") <= poll_ends
    await kept(server, alice.get, "/api/v1/timelines/public")
    assert expiry("/api/v1/timelines/public") <= poll_ends

    other = await server.user("other")
    r = await other.post("/api/v2/filters", json={"title": "t", "context": ["public"], "filter_action": "warn",
                                                 "expires_in": 1800, "keywords_attributes": [{"keyword": "zebra"}]})
    assert r.status_code == 200, r.text
    await post(other, "no poll here")
    await kept(server, other.get, "/api/v1/timelines/public?limit=1")
    assert expiry("/api/v1/timelines/public?limit=1") <= time.time() + 1800
    # An entry past its time is not served: the route answers.
    for entry in pc(server).entries.values():
        entry.expires = time.time() - 1
    hits = pc(server).hits
    assert (await other.get("/api/v1/timelines/public?limit=1")).status_code == 200
    assert pc(server).hits == hits


async def test_concurrent_misses_of_one_read_are_built_once(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    s = await post(alice, "popular")
    await kept(server, bob.get, "/api/v1/timelines/home")
    assert (await alice.post(f"/api/v1/statuses/{s['id']}/favourite")).status_code == 200  # a change: all entries old
    cache = pc(server)
    hits, misses = cache.hits, cache.misses
    answers = await asyncio.gather(*[bob.get("/api/v1/timelines/home") for _ in range(8)])
    assert {r.status_code for r in answers} == {200} and len({r.content for r in answers}) == 1
    assert answers[0].json()[0]["favourites_count"] == 1
    if cache.enabled:
        assert (cache.misses - misses, cache.hits - hits) == (1, 7)


async def test_a_read_in_progress_answers_only_those_who_came_before_a_change(server):
    """Requests arriving while a read runs take its answer, even one not kept because a write committed meanwhile;
    a request arriving after that write runs a read of its own."""
    if not pc(server).enabled:
        pytest.skip("the page cache is off on the scale-out backend")
    from townsquare.api.page_cache import PageCache, PageCacheMiddleware

    release, calls = asyncio.Event(), []

    async def route(scope, receive, send):
        calls.append(1)
        n = len(calls)
        await release.wait()
        body = f"answer {n}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    cache = PageCache(server.ctx, seconds=60)
    middleware = PageCacheMiddleware(route, cache)

    async def get() -> bytes:
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/api/v1/timelines/public", "query_string": b"", "headers": []}
        await middleware(scope, None, send)
        return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

    first = asyncio.create_task(get())
    await asyncio.sleep(0)
    second = asyncio.create_task(get())  # nothing changed since the first began: it waits for that answer
    await asyncio.sleep(0)
    await server.user("somebody")  # a commit
    third = asyncio.create_task(get())  # after the commit: the first's answer may be old for it
    await asyncio.sleep(0.05)
    release.set()
    assert await first == b"answer 1" and await second == b"answer 1" and await third == b"answer 2"
    assert len(calls) == 2 and cache.joined == 1
    assert [e.body for e in cache.entries.values()] == [b"answer 2"]  # the first was read before the commit: not kept
    assert await get() == b"answer 2" and len(calls) == 2
    cache.close()


async def test_bounded_in_entries_and_bytes(server):
    if not pc(server).enabled:
        pytest.skip("the page cache is off on the scale-out backend")
    from townsquare.api.page_cache import Entry, PageCache

    cache = PageCache(server.ctx, max_entries=3, max_bytes=10_000)
    version = await cache.version()
    later = time.time() + 60
    for n in range(10):
        assert cache.store(("/p", str(n).encode(), None), Entry(version, later, 200, [], b"x" * 100), version)
    assert [k[1] for k in cache.entries] == [b"7", b"8", b"9"]  # the least recently used went first
    assert cache.store(("/big", b"", None), Entry(version, later, 200, [], b"y" * 6_000), version)
    assert cache.store(("/big2", b"", None), Entry(version, later, 200, [], b"z" * 6_000), version)
    assert cache.bytes <= 10_000 and ("/big", b"", None) not in cache.entries
    assert not cache.store(("/huge", b"", None), Entry(version, later, 200, [], b"h" * (2 * 1024 * 1024)), version)
    assert sum(e.size for e in cache.entries.values()) == cache.bytes
    cache.close()
