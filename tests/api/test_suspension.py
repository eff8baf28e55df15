"""Suspend, stay invisible everywhere, unsuspend a year later: everything is back exactly."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.api.conftest import PASSWORD, assert_error, ids, post, register_app
from townsquare.core.clock import now
from townsquare.storage import tables as t

ADMIN_SCOPES = "read write follow admin:read admin:write"


async def _world(server):
    """The star has followers, follows, a history of statuses, favourites, reblogs and feed entries elsewhere."""
    star = await server.user("star")
    fan = await server.user("fan")
    friend = await server.user("friend")
    other = await server.user("other")
    mod = await server.user("mod", scopes=ADMIN_SCOPES, role="moderator")
    for follower, target in ((fan, star), (friend, star), (star, friend), (star, other), (fan, friend)):
        assert (await follower.post(f"/api/v1/accounts/{target.id}/follow")).status_code == 200
    friend_post = await post(friend, "hello world from friend #garden")
    history = [
        await post(star, "first public post #garden"),
        await post(star, "an unlisted thought", visibility="unlisted"),
        await post(star, "for my followers only", visibility="private"),
        await post(star, "hey @fan, look at this"),
        await post(star, "a reply to friend", in_reply_to_id=friend_post["id"]),
    ]
    await star.post(f"/api/v1/statuses/{friend_post['id']}/favourite")
    await star.post(f"/api/v1/statuses/{friend_post['id']}/reblog")
    for status in history[:2]:
        await fan.post(f"/api/v1/statuses/{status['id']}/favourite")
    await friend.post(f"/api/v1/statuses/{history[0]['id']}/reblog")
    await friend.post(f"/api/v1/statuses/{history[0]['id']}/bookmark")
    await server.settle()
    return star, fan, friend, other, mod, history, friend_post


async def _api_snapshot(star, fan, friend, anon, history, friend_post) -> dict:
    """Everything the API shows about the star, from several points of view."""
    async def body(user, url):
        r = await user.get(url)
        return r.status_code, r.json()

    snap = {
        "account": await body(anon, f"/api/v1/accounts/{star.id}"),
        "lookup": await body(anon, "/api/v1/accounts/lookup?acct=star"),
        "followers": await body(fan, f"/api/v1/accounts/{star.id}/followers"),
        "following": await body(fan, f"/api/v1/accounts/{star.id}/following"),
        "statuses_by_follower": await body(fan, f"/api/v1/accounts/{star.id}/statuses?limit=40"),
        "statuses_by_anon": await body(anon, f"/api/v1/accounts/{star.id}/statuses?limit=40"),
        "fan_home": await body(fan, "/api/v1/timelines/home?limit=40"),
        "friend_home": await body(friend, "/api/v1/timelines/home?limit=40"),
        "public": await body(anon, "/api/v1/timelines/public?limit=40"),
        "tag": await body(fan, "/api/v1/timelines/tag/garden"),
        "fan_favourites": await body(fan, "/api/v1/favourites"),
        "friend_bookmarks": await body(friend, "/api/v1/bookmarks"),
        "favourited_by_star": await body(friend, f"/api/v1/statuses/{friend_post['id']}/favourited_by"),
        "reblogged_by_star": await body(friend, f"/api/v1/statuses/{friend_post['id']}/reblogged_by"),
        "friend_followers": await body(friend, f"/api/v1/accounts/{friend.id}/followers"),
        "search": await body(fan, "/api/v2/search?q=star"),
        "search_text": await body(fan, "/api/v2/search?q=public&type=statuses"),
        "fan_notifications": await body(fan, "/api/v1/notifications"),
        "fan_unread": await body(fan, "/api/v1/notifications/unread_count"),
        "fan_grouped": await body(fan, "/api/v2/notifications"),
        "friend_notifications": await body(friend, "/api/v1/notifications"),
    }
    for s in history:
        snap[f"status {s['id']}"] = await body(fan, f"/api/v1/statuses/{s['id']}")
        snap[f"context {s['id']}"] = await body(fan, f"/api/v1/statuses/{s['id']}/context")
        snap[f"favourited_by {s['id']}"] = await body(fan, f"/api/v1/statuses/{s['id']}/favourited_by")
    return snap


async def _db_snapshot(server, star_id: int) -> dict:
    """Every row that mentions the star (moderation columns and warnings aside)."""
    snap = {}
    async with server.ctx.db.read() as conn:
        for table in (t.follows, t.statuses, t.favourites, t.bookmarks, t.mentions, t.feed_entries, t.status_tags):
            rows = (await conn.execute(select(table))).all()
            snap[table.name] = sorted(tuple(str(v) for v in r) for r in rows)
        notes = (await conn.execute(select(t.notifications).where(t.notifications.c.type != "moderation_warning"))).all()
        snap["notifications"] = sorted(tuple(str(v) for v in r) for r in notes)
        account = (await conn.execute(select(t.accounts).where(t.accounts.c.id == star_id))).first()._asdict()
        for column in ("suspended_at", "silenced_at", "sensitized_at", "disabled_at"):
            account.pop(column)
        snap["account"] = account
    return snap


async def test_suspended_account_is_invisible_everywhere_and_comes_back_exactly(server, anon):
    star, fan, friend, other, mod, history, friend_post = await _world(server)
    star_id = int(star.id)
    api_before = await _api_snapshot(star, fan, friend, anon, history, friend_post)
    db_before = await _db_snapshot(server, star_id)
    # Sanity: the snapshot really contains the star's traces.
    assert history[0]["id"] in ids(api_before["fan_home"][1])
    assert star.id in ids(api_before["friend_followers"][1])
    assert any(n["account"]["id"] == star.id for n in api_before["fan_notifications"][1])

    r = await mod.post(f"/api/v1/admin/accounts/{star.id}/action", data={"type": "suspend", "text": "ban evasion"})
    assert r.status_code == 200 and r.json() == {}

    # Gone everywhere, to everyone.
    for viewer in (fan, friend, anon, other):
        assert_error(await viewer.get(f"/api/v1/accounts/{star.id}"), 404)
        assert_error(await viewer.get(f"/api/v1/accounts/{star.id}/statuses"), 404)
        assert_error(await viewer.get(f"/api/v1/accounts/{star.id}/followers"), 404)
        for s in history:
            assert_error(await viewer.get(f"/api/v1/statuses/{s['id']}"), 404)
            assert_error(await viewer.get(f"/api/v1/statuses/{s['id']}/context"), 404)
            assert_error(await viewer.get(f"/api/v1/statuses/{s['id']}/favourited_by"), 404)
    assert_error(await anon.get("/api/v1/accounts/lookup?acct=star"), 404)
    star_ids = {s["id"] for s in history}
    for viewer, url in ((fan, "/api/v1/timelines/home?limit=40"), (friend, "/api/v1/timelines/home?limit=40"),
                        (anon, "/api/v1/timelines/public?limit=40"), (fan, "/api/v1/timelines/tag/garden"),
                        (fan, "/api/v1/favourites"), (friend, "/api/v1/bookmarks")):
        shown = (await viewer.get(url)).json()
        assert not star_ids & set(ids(shown)), url
        assert all(s["account"]["id"] != star.id and (s["reblog"] or {}).get("account", {}).get("id") != star.id for s in shown), url
    # friend's reblog of the star's post is hidden too; friend's own post stays.
    assert friend_post["id"] in ids((await fan.get("/api/v1/timelines/home?limit=40")).json())
    assert star.id not in ids((await friend.get(f"/api/v1/accounts/{friend.id}/followers")).json())
    assert ids((await friend.get(f"/api/v1/statuses/{friend_post['id']}/favourited_by")).json()) == []
    assert ids((await friend.get(f"/api/v1/statuses/{friend_post['id']}/reblogged_by")).json()) == []
    found = (await fan.get("/api/v2/search?q=star")).json()
    assert star.id not in ids(found["accounts"])
    assert not star_ids & set(ids((await fan.get("/api/v2/search?q=public&type=statuses")).json()["statuses"]))
    assert (await fan.get("/api/v1/notifications")).json() == []  # all of fan's came from the star
    assert (await fan.get("/api/v1/notifications/unread_count")).json() == {"count": 0}
    assert (await fan.get("/api/v2/notifications")).json()["notification_groups"] == []
    notes = (await friend.get("/api/v1/notifications")).json()
    assert notes and all(n["account"]["id"] != star.id for n in notes)  # fan's follow is still there
    # The star can neither use its token nor sign in nor post.
    assert_error(await star.get("/api/v1/accounts/verify_credentials"), 401)
    assert_error(await star.post("/api/v1/statuses", data={"status": "still here?"}), 401)
    app = await register_app(server.http)
    denied = await server.http.post("/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "star", "password": PASSWORD, "scope": "read"})
    assert_error(denied, 403)
    # Others cannot follow or favourite through the gap.
    assert_error(await other.post(f"/api/v1/accounts/{star.id}/follow"), 404)
    assert_error(await other.post(f"/api/v1/statuses/{history[0]['id']}/favourite"), 404)
    # Moderators still see it all.
    seen = (await mod.get(f"/api/v1/admin/accounts/{star.id}")).json()
    assert seen["suspended"] is True and seen["account"]["statuses_count"] == api_before["account"][1]["statuses_count"]
    # Nothing was deleted.
    assert await _db_snapshot(server, star_id) == db_before

    # A year passes.
    async with server.ctx.db.write() as conn:
        await conn.execute(update(t.accounts).where(t.accounts.c.id == star_id).values(suspended_at=now() - timedelta(days=366)))
    r = await mod.post(f"/api/v1/admin/accounts/{star.id}/unsuspend")
    assert r.status_code == 200 and r.json()["suspended"] is False
    await server.settle()

    assert await _db_snapshot(server, star_id) == db_before
    assert await _api_snapshot(star, fan, friend, anon, history, friend_post) == api_before
    assert (await star.get("/api/v1/accounts/verify_credentials")).status_code == 200
    assert (await star.post("/api/v1/statuses", data={"status": "I'm back"})).status_code == 200
