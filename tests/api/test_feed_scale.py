"""Timelines at scale: bounded feeds, reblog dedup, fan-out to recently active followers only
(with regeneration for returning readers), hybrid read-time merge for accounts with many
followers, and feed upkeep on deletes, unfollows, blocks and follows. Runs on both feed stores:
SQL on SQLite, Redis on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import func, select, update

from tests.api.conftest import assert_error, ids, post
from townsquare.core.clock import now
from townsquare.jobs.handlers import HANDLERS
from townsquare.storage.tables import accounts, jobs
from townsquare.timelines.redis_feeds import RedisFeedStore

HOME = "/api/v1/timelines/home"


# --- helpers ---------------------------------------------------------------------------------

async def settle(server) -> None:
    """Run every due job, wait out any the background runner holds, and check none failed."""
    for _ in range(500):
        await server.settle()
        async with server.ctx.db.read() as conn:
            pending = (await conn.execute(select(func.count()).select_from(jobs).where(
                (jobs.c.state == "running") | ((jobs.c.state == "ready") & (jobs.c.run_at <= now()))))).scalar_one()
            failed = (await conn.execute(select(jobs.c.kind, jobs.c.last_error).where(jobs.c.last_error.is_not(None)))).all()
        assert not failed, failed
        if pending == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("jobs did not settle")


async def trim(server) -> None:
    """Run the periodic trim sweep now (the SQL store trims in sweeps; Redis on insert, so it is a no-op there)."""
    async with server.ctx.db.write() as conn:
        await HANDLERS["trim_feeds"](server.ctx, conn, {})


async def feed(server, user) -> list[str]:
    """The status ids stored in a user's home feed (not merged, not filtered), newest first."""
    async with server.ctx.db.read() as conn:
        return [str(i) for i in await server.ctx.feeds.page(conn, f"home:{user.id}", None, None, None, 10_000)]


async def feed_size(server, user) -> int:
    async with server.ctx.db.read() as conn:
        return await server.ctx.feeds.size(conn, f"home:{user.id}")


async def home(user, status: int = 200, **params) -> list[dict]:
    r = await user.get(HOME, params=params)
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()


async def home_ids(user, **params) -> list[str]:
    return ids(await home(user, **params))


async def follow(user, target) -> None:
    r = await user.post(f"/api/v1/accounts/{target.id}/follow")
    assert r.status_code == 200, r.text
    assert r.json()["following"] is True, r.json()


async def reblog(user, status: dict) -> dict:
    r = await user.post(f"/api/v1/statuses/{status['id']}/reblog")
    assert r.status_code == 200, r.text
    return r.json()


async def set_away(server, user, days: int) -> None:
    """Make an account look like it last read its feed `days` ago."""
    async with server.ctx.db.write() as conn:
        await conn.execute(update(accounts).where(accounts.c.id == int(user.id))
                           .values(last_active_at=now() - timedelta(days=days)))


def newest_first(*statuses: dict) -> list[str]:
    return sorted((s["id"] for s in statuses), key=int, reverse=True)


def links(response) -> dict[str, str]:
    header = response.headers.get("link", "")
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;\s*rel="(\w+)"', header)}


async def walk(user, params: dict, rel: str = "next") -> list[list[str]]:
    """Follow the home Link header until an empty page; return each page's ids."""
    pages = []
    r = await user.get(HOME, params=params)
    for _ in range(50):
        assert r.status_code == 200, r.text
        if not r.json():
            return pages
        pages.append(ids(r.json()))
        r = await user.get(links(r)[rel])
    raise AssertionError("pagination did not end")


# --- 1. bounded feeds ------------------------------------------------------------------------

async def test_feeds_hold_only_the_newest_entries(make_server):
    server = await make_server(feed_limit=5)
    reader = await server.user("reader")
    author = await server.user("author")
    await follow(reader, author)
    made = [await post(author, f"post {i}") for i in range(8)]
    await settle(server)
    if isinstance(server.ctx.feeds, RedisFeedStore):
        assert await feed_size(server, reader) == 5  # trimmed on every insert, before any sweep
    else:
        assert await feed_size(server, reader) == 8  # the SQL store waits for the sweep
    await trim(server)
    newest = newest_first(*made)[:5]
    assert await feed_size(server, reader) == 5
    assert await feed_size(server, author) == 5  # the author's own home is bounded too
    assert await feed(server, reader) == newest
    assert await home_ids(reader) == newest
    assert await home_ids(author) == newest
    pages = await walk(reader, {"limit": 2})
    assert pages == [newest[0:2], newest[2:4], newest[4:5]]
    # A trimmed status stays out: nothing older than the bound comes back through max_id.
    assert await home_ids(reader, max_id=newest[-1]) == []
    # One more post pushes the oldest kept entry out.
    ninth = await post(author, "post 8")
    await settle(server)
    await trim(server)
    assert await feed_size(server, reader) == 5
    assert await home_ids(reader) == [ninth["id"], *newest[:4]]
    # Trimming is idempotent.
    await trim(server)
    assert await home_ids(reader) == [ninth["id"], *newest[:4]]


async def test_follow_of_a_prolific_account_stays_within_the_bound(make_server):
    server = await make_server(feed_limit=5)
    reader = await server.user("reader")
    author = await server.user("author")
    made = [await post(author, f"post {i}") for i in range(8)]
    await follow(reader, author)
    await trim(server)
    assert await feed_size(server, reader) == 5
    assert await home_ids(reader) == newest_first(*made)[:5]


# --- 2. reblog dedup -------------------------------------------------------------------------

async def test_a_status_reblogged_by_several_followed_accounts_appears_once(server):
    reader = await server.user("reader")
    other = await server.user("other")
    original_author = await server.user("orig")
    b = await server.user("b")
    c = await server.user("c")
    for target in (original_author, b, c):
        await follow(reader, target)
    for target in (b, c):
        await follow(other, target)  # does not follow the original author
    status = await post(original_author, "worth sharing")
    await settle(server)
    first = await reblog(b, status)
    await settle(server)
    second = await reblog(c, status)
    await settle(server)
    shown = await home(reader)
    assert ids(shown) == [status["id"]]
    assert shown[0]["reblog"] is None
    assert await feed_size(server, reader) == 1
    # Without the original in the feed, the first reblog stands for it and the second is skipped.
    shown = await home(other)
    assert ids(shown) == [first["id"]]
    assert shown[0]["reblog"]["id"] == status["id"]
    assert second["id"] not in await feed(server, other)
    assert await feed_size(server, other) == 1


async def test_after_an_unreblog_another_reblog_of_the_status_is_delivered(server):
    reader = await server.user("reader")
    original_author = await server.user("orig")
    b = await server.user("b")
    c = await server.user("c")
    await follow(reader, b)
    await follow(reader, c)
    status = await post(original_author, "worth sharing")
    first = await reblog(b, status)
    await settle(server)
    assert await home_ids(reader) == [first["id"]]
    assert (await b.post(f"/api/v1/statuses/{status['id']}/unreblog")).status_code == 200
    assert await home_ids(reader) == []
    assert await feed_size(server, reader) == 0
    second = await reblog(c, status)
    await settle(server)
    shown = await home(reader)
    assert ids(shown) == [second["id"]]
    assert shown[0]["reblog"]["id"] == status["id"]


# --- 3. fan-out to recently active followers, regeneration for the returning ---------------

async def test_absent_follower_is_skipped_then_regenerated(server):
    away = await server.user("away")
    active = await server.user("active")
    a = await server.user("a")
    b = await server.user("b")
    stranger = await server.user("stranger")
    old = await post(a, "before the follow")
    for target in (a, b):
        await follow(away, target)
        await follow(active, target)
    own = await post(away, "my own, before leaving")
    await settle(server)
    assert await home_ids(away) == newest_first(old, own)
    await set_away(server, away, days=30)
    fresh = [await post(a, "a while you were away"), await post(b, "b while you were away"),
             await post(stranger, "not followed"), await post(a, "a again")]
    await settle(server)
    stored = await feed(server, away)
    assert stored == newest_first(old, own)  # nothing was delivered to the absent reader
    assert await feed(server, active) == newest_first(old, fresh[0], fresh[1], fresh[3])
    # The first read is answered from the stale feed with 206 while the feed is rebuilt. The in-process
    # runner, woken at the commit that queues the rebuild, is held so the read comes first.
    await server.ctx.jobs.stop()
    try:
        stale = await home(away, status=206)
    finally:
        server.ctx.jobs.start()
    assert ids(stale) == newest_first(old, own)
    await settle(server)
    expected = newest_first(old, own, fresh[0], fresh[1], fresh[3])
    assert await home_ids(away) == expected  # 200
    assert await feed(server, away) == expected
    assert fresh[2]["id"] not in await feed(server, away)
    # Back to normal: the reader gets new posts by fan-out and reads answer 200.
    later = await post(b, "now that you are back")
    await settle(server)
    assert (await home_ids(away))[0] == later["id"]


async def test_regeneration_rebuilds_a_lost_feed_respecting_filters(server):
    reader = await server.user("reader")
    a = await server.user("a")
    b = await server.user("b")
    muted = await server.user("muted")
    stranger = await server.user("stranger")
    await follow(reader, a)
    await follow(reader, b)
    await follow(reader, muted)
    r = await reader.post(f"/api/v1/accounts/{b.id}/follow", data={"reblogs": "false"})
    assert r.status_code == 200
    await reader.post(f"/api/v1/accounts/{muted.id}/mute")
    await set_away(server, reader, days=30)
    s1 = await post(a, "one")
    theirs = await post(stranger, "stranger's")
    hidden_reply = await post(a, "@stranger reply to a stranger", in_reply_to_id=theirs["id"])
    b_reblog = await reblog(b, theirs)
    s2 = await post(b, "two")
    quiet = await post(muted, "muted")
    direct = await post(a, "@stranger psst", visibility="direct")
    await settle(server)
    async with server.ctx.db.write() as conn:  # the stored feed is gone (e.g. Redis restarted)
        await server.ctx.feeds.clear(conn, f"home:{reader.id}")
    await server.ctx.jobs.stop()  # held, so the read comes before the rebuild it queues
    try:
        assert await home(reader, status=206) == []
    finally:
        server.ctx.jobs.start()
    await settle(server)
    assert await home_ids(reader) == newest_first(s1, s2)
    stored = await feed(server, reader)
    for absent in (theirs, hidden_reply, b_reblog, quiet, direct):
        assert absent["id"] not in stored


async def test_active_days_setting_decides_who_is_recently_active(make_server):
    server = await make_server(active_days=60)
    reader = await server.user("reader")
    author = await server.user("author")
    await follow(reader, author)
    await set_away(server, reader, days=30)  # absent, but within 60 days: still active
    s = await post(author, "hello")
    await settle(server)
    assert await feed(server, reader) == [s["id"]]
    assert await home_ids(reader) == [s["id"]]


# --- 4. hybrid delivery ----------------------------------------------------------------------

async def _hybrid_world(make_server):
    server = await make_server(hybrid_threshold=3)
    users = {name: await server.user(name) for name in ("big", "normal", "r1", "r2", "r3", "x")}
    for name in ("r1", "r2", "r3"):
        await follow(users[name], users["big"])
    await follow(users["r1"], users["normal"])
    await follow(users["x"], users["normal"])
    return server, users


async def test_hybrid_author_posts_are_merged_at_read_time(make_server):
    server, u = await _hybrid_world(make_server)
    big, normal, r1 = u["big"], u["normal"], u["r1"]
    readers = [u["r1"], u["r2"], u["r3"]]
    first = await post(big, "to the masses")
    for reader in readers:  # no fan-out is needed: visible before any job runs
        assert first["id"] in await home_ids(reader)
    made = [first]
    for i in range(3):
        made.append(await post(normal, f"normal {i}"))
        made.append(await post(big, f"big {i}"))
    await settle(server)
    big_ids = {s["id"] for s in made if s["account"]["id"] == big.id}
    normal_ids = newest_first(*[s for s in made if s["account"]["id"] == normal.id])
    for reader in readers:
        assert not big_ids & set(await feed(server, reader)), "hybrid posts must not be fanned out"
    assert await feed(server, r1) == normal_ids
    assert await feed_size(server, u["r2"]) == 0
    assert set(await feed(server, big)) == big_ids  # the author's own home still gets them
    expected = newest_first(*made)
    assert await home_ids(r1) == expected
    for reader in (u["r2"], u["r3"]):
        assert await home_ids(reader) == newest_first(*[s for s in made if s["id"] in big_ids])
    assert not big_ids & set(await home_ids(u["x"]))
    # Pagination across the merge.
    assert await home_ids(r1, limit=3) == expected[:3]
    assert await home_ids(r1, max_id=expected[1]) == expected[2:]
    assert await home_ids(r1, max_id=expected[1], limit=2) == expected[2:4]
    assert await home_ids(r1, since_id=expected[4]) == expected[:4]
    assert await home_ids(r1, since_id=expected[6], limit=2) == expected[:2]
    assert await home_ids(r1, min_id=expected[6], limit=2) == expected[4:6]
    assert await home_ids(r1, min_id=expected[3]) == expected[:3]
    assert await home_ids(r1, max_id=expected[0], since_id=expected[4]) == expected[1:4]
    assert await home_ids(r1, max_id=expected[-1]) == []
    assert await home_ids(r1, min_id=expected[0]) == []
    for size in (1, 2, 3):
        pages = await walk(r1, {"limit": size})
        assert [i for p in pages for i in p] == expected, size
        assert all(len(p) == size for p in pages[:-1]), (size, pages)
    r = await r1.get(HOME, params={"limit": 2, "min_id": "0"})
    back = [ids(r.json())]
    while True:
        r = await r1.get(links(r)["prev"])
        if not r.json():
            break
        back.append(ids(r.json()))
    assert [i for p in reversed(back) for i in p] == expected
    assert back[0] == expected[-2:]


async def test_hybrid_merge_respects_mutes_replies_and_visibility(make_server):
    server, u = await _hybrid_world(make_server)
    big, normal, r1, r2, r3, x = (u[k] for k in ("big", "normal", "r1", "r2", "r3", "x"))
    stranger = await server.user("stranger")
    await r2.post(f"/api/v1/accounts/{big.id}/mute")
    plain = await post(big, "plain")
    assert plain["id"] in await home_ids(r1)
    assert plain["id"] not in await home_ids(r2)
    assert plain["id"] in await home_ids(r3)
    # A reply to someone the reader does not follow stays out; one to a followed account comes in.
    theirs = await post(stranger, "stranger says")
    to_stranger = await post(big, "@stranger replying", in_reply_to_id=theirs["id"])
    normals = await post(normal, "normal says")
    to_normal = await post(big, "@normal replying", in_reply_to_id=normals["id"])
    self_thread = await post(big, "continuing my thread", in_reply_to_id=plain["id"])
    r1_home = await home_ids(r1)
    assert to_stranger["id"] not in r1_home
    assert to_normal["id"] in r1_home  # r1 follows normal
    assert self_thread["id"] in r1_home
    r3_home = await home_ids(r3)
    assert to_stranger["id"] not in r3_home
    assert to_normal["id"] not in r3_home  # r3 does not follow normal
    assert self_thread["id"] in r3_home
    # Private: followers only. Direct, to someone else: not theirs.
    private = await post(big, "followers only", visibility="private")
    direct = await post(big, "@x just you", visibility="direct")
    await settle(server)
    for reader in (r1, r3):
        got = await home_ids(reader)
        assert private["id"] in got
        assert direct["id"] not in got
    assert private["id"] not in await home_ids(r2)  # muted
    assert private["id"] not in await home_ids(x)
    assert_error(await x.get(f"/api/v1/statuses/{private['id']}"), 404)
    assert await home_ids(r1) == newest_first(self_thread, to_normal, normals, plain, private)
    assert await home_ids(r3) == newest_first(self_thread, plain, private)
    assert await home_ids(r2) == []
    assert await feed_size(server, r2) == 0 and await feed_size(server, r3) == 0


async def test_hybrid_reblogs_follow_the_same_rules(make_server):
    server, u = await _hybrid_world(make_server)
    big, normal, r1, r3 = u["big"], u["normal"], u["r1"], u["r3"]
    muted = await server.user("muted")
    outsider = await server.user("outsider")
    await r1.post(f"/api/v1/accounts/{muted.id}/mute")
    loud = await post(muted, "from the muted")
    shared = await post(outsider, "worth sharing")
    normals = await post(normal, "already in r1's feed")
    await settle(server)
    rb_loud = await reblog(big, loud)
    rb_shared = await reblog(big, shared)
    rb_normal = await reblog(big, normals)
    await settle(server)
    # A reblog of a muted account's status stays out, as it does with fan-out.
    assert rb_loud["id"] not in await home_ids(r1)
    assert rb_loud["id"] in await home_ids(r3)
    # A status already shown in the home (as itself) is not shown again as a hybrid reblog.
    r1_home = await home(r1)
    shown = [s["reblog"]["id"] if s["reblog"] else s["id"] for s in r1_home]
    assert sorted(shown) == sorted(set(shown)), shown
    assert ids(r1_home) == newest_first(rb_shared, normals)
    # Without reblogs from the big account, none of its reblogs show.
    r = await r3.post(f"/api/v1/accounts/{big.id}/follow", data={"reblogs": "false"})
    assert r.status_code == 200
    assert await home_ids(r3) == []


async def test_hybrid_and_fanned_out_reblogs_of_one_status_show_it_once(make_server):
    server, u = await _hybrid_world(make_server)
    big, normal, r1, r3 = u["big"], u["normal"], u["r1"], u["r3"]
    other_big = await server.user("otherbig")
    outsider = await server.user("outsider")
    for name in ("r1", "r2", "r3"):
        await follow(u[name], other_big)
    # Two hybrid authors reblog the same status: the first reblog stands for it.
    shared = await post(outsider, "worth sharing")
    first = await reblog(big, shared)
    await reblog(other_big, shared)
    # A normal account reblogs a hybrid author's post: the original shows, not the fanned-out reblog.
    bigs = await post(big, "by big")
    await settle(server)
    await reblog(normal, bigs)
    await settle(server)
    for reader in (r1, r3):
        shown = await home(reader)
        assert ids(shown) == newest_first(bigs, first), reader.username
        assert shown[1]["reblog"]["id"] == shared["id"]
    # The same holds page by page.
    assert [i for p in await walk(r1, {"limit": 1}) for i in p] == newest_first(bigs, first)


# --- 5. deletes, unfollows, blocks -----------------------------------------------------------

async def test_deleted_status_and_its_reblogs_leave_every_home(server):
    reader = await server.user("reader")
    via_reblog = await server.user("via")
    a = await server.user("a")
    b = await server.user("b")
    await follow(reader, a)
    await follow(reader, b)
    await follow(via_reblog, b)
    s1 = await post(a, "one")
    s2 = await post(a, "two")
    await settle(server)
    wrapper = await reblog(b, s1)
    await settle(server)
    assert await home_ids(reader) == newest_first(s1, s2)
    assert await home_ids(via_reblog) == [wrapper["id"]]
    assert (await a.delete(f"/api/v1/statuses/{s1['id']}")).status_code == 200
    assert await home_ids(reader) == [s2["id"]]
    assert await home_ids(via_reblog) == []
    assert await home_ids(a) == [s2["id"]]
    # The entries are gone from the store, not just filtered at render time.
    assert await feed(server, reader) == [s2["id"]]
    assert await feed(server, via_reblog) == []
    assert await feed(server, a) == [s2["id"]]
    assert await feed(server, b) == []


async def test_unfollow_and_block_remove_statuses_from_home(server):
    reader = await server.user("reader")
    a = await server.user("a")
    b = await server.user("b")
    c = await server.user("c")
    d = await server.user("d")
    for target in (a, b, c, d):
        await follow(reader, target)
    made = {user.username: [await post(user, f"{user.username} one"), await post(user, f"{user.username} two")]
            for user in (a, b, c, d)}
    mine = await post(reader, "my own")
    await settle(server)
    assert len(await home_ids(reader)) == 9
    assert (await reader.post(f"/api/v1/accounts/{a.id}/unfollow")).status_code == 200
    assert (await reader.post(f"/api/v1/accounts/{b.id}/block")).status_code == 200
    assert (await c.post(f"/api/v1/accounts/{reader.id}/block")).status_code == 200  # blocked by the author
    expected = newest_first(*made["d"], mine)
    assert await home_ids(reader) == expected
    assert await feed(server, reader) == expected
    # And nothing new arrives from them.
    for user in (a, b, c):
        await post(user, "later")
    await settle(server)
    assert await home_ids(reader) == expected
    # The blocked side loses the blocker's statuses too.
    assert mine["id"] not in await feed(server, c)


async def test_unfollowing_a_hybrid_author_removes_its_posts(make_server):
    server, u = await _hybrid_world(make_server)
    big, r3 = u["big"], u["r3"]
    for name in ("r4", "r5"):
        await follow(await server.user(name), big)  # five followers: big stays hybrid after two leave
    s = await post(big, "hello")
    assert s["id"] in await home_ids(r3)
    assert (await r3.post(f"/api/v1/accounts/{big.id}/unfollow")).status_code == 200
    assert await home_ids(r3) == []
    assert (await u["r2"].post(f"/api/v1/accounts/{big.id}/block")).status_code == 200
    assert await home_ids(u["r2"]) == []
    assert await home_ids(u["r1"]) == [s["id"]]


async def test_hybrid_posts_stay_when_the_author_drops_below_the_threshold(make_server):
    server, u = await _hybrid_world(make_server)
    s = await post(u["big"], "while big")
    await settle(server)
    assert s["id"] in await home_ids(u["r1"])
    assert (await u["r3"].post(f"/api/v1/accounts/{u['big'].id}/unfollow")).status_code == 200  # 2 followers left
    assert s["id"] in await home_ids(u["r1"])
    # Still merged at read time (the account stays hybrid), so later posts reach the remaining followers too.
    later = await post(u["big"], "after shrinking")
    await settle(server)
    assert (await home_ids(u["r1"]))[:2] == [later["id"], s["id"]]


# --- 6. follows merge recent statuses --------------------------------------------------------

async def test_follow_merges_recent_statuses_into_home(server):
    reader = await server.user("reader")
    a = await server.user("a")
    b = await server.user("b")
    stranger = await server.user("stranger")
    await follow(reader, b)
    a1 = await post(a, "a one")
    b1 = await post(b, "b one")
    mine = await post(reader, "mine")
    theirs = await post(stranger, "stranger")
    a2 = await post(a, "a two")
    a_private = await post(a, "a private", visibility="private")
    a_direct = await post(a, "@stranger a direct", visibility="direct")
    a_reply = await post(a, "@stranger a reply to a stranger", in_reply_to_id=theirs["id"])
    await settle(server)
    assert await home_ids(reader) == newest_first(b1, mine)
    await follow(reader, a)
    expected = newest_first(a1, b1, mine, a2, a_private)
    assert await home_ids(reader) == expected  # merged at once, no job needed
    assert await feed(server, reader) == expected
    for absent in (a_direct, a_reply, theirs):
        assert absent["id"] not in await feed(server, reader)
    # Following again is a no-op for the feed.
    await follow(reader, a)
    assert await feed(server, reader) == expected


async def test_authorized_follow_request_merges_statuses(server):
    reader = await server.user("reader")
    locked = await server.user("locked")
    r = await locked.patch("/api/v1/accounts/update_credentials", data={"locked": "true"})
    assert r.status_code == 200 and r.json()["locked"] is True, r.text
    public = await post(locked, "public")
    private = await post(locked, "private", visibility="private")
    r = await reader.post(f"/api/v1/accounts/{locked.id}/follow")
    assert r.status_code == 200 and r.json()["requested"] is True, r.text
    assert await home_ids(reader) == []
    r = await locked.post(f"/api/v1/follow_requests/{reader.id}/authorize")
    assert r.status_code == 200, r.text
    assert await home_ids(reader) == newest_first(public, private)
