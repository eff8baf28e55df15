"""Trends from real activity made in the test: tags and links by unique accounts, statuses by interactions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api.conftest import assert_error, post
from tests.api.mastodon_schema import schema_errors
from tests.api.linksite import LinkSite
from townsquare.core.clock import now
from townsquare.services import trends
from townsquare.storage.tables import jobs, status_trends, tag_trends


async def _users(server, prefix: str, n: int):
    return [await server.user(f"{prefix}{i}") for i in range(n)]


async def _refresh(server) -> None:
    """Queue the trends job the periodic tick queues, and let the runner run it."""
    async with server.ctx.db.write() as conn:
        await trends.schedule_refresh(conn)
    await server.settle()


async def _scores(server, table, key) -> dict:
    async with server.ctx.db.read() as conn:
        return {r[0]: r[1] for r in await conn.execute(select(key, table.c.score))}


async def test_tags_trend_by_unique_accounts_and_decay_with_a_4h_half_life(server, anon):
    people = await _users(server, "p", 7)
    for person in people[:6]:
        await post(person, "#Otters are great")
    await post(people[0], "#otters again, same account: still 6 accounts")  # uses 7, accounts 6
    for person in people[:5]:
        await post(person, "#cats")
    for person in people[:2]:
        await post(person, "#rare")  # below the threshold of 5 accounts
    for person in people:
        await post(person, "#quiet", visibility="unlisted")  # only public posts count
        await post(person, "#spoilers", spoiler_text="cw")  # nor posts behind a content warning
    r = await people[6].patch("/api/v1/accounts/update_credentials", data={"discoverable": "0"})
    assert r.status_code == 200, r.text
    for person in people[2:7]:
        await post(person, "#half")  # 4 discoverable accounts + 1 that is not: below the threshold
    await _refresh(server)

    listed = (await anon.get("/api/v1/trends/tags")).json()
    assert [t["name"] for t in listed] == ["otters", "cats"]
    assert listed[0]["history"][0]["uses"] == "7" and listed[0]["history"][0]["accounts"] == "6"
    assert len(listed[0]["history"]) == 7 and "following" not in listed[0]
    assert all(schema_errors(t, "Tag") == [] for t in listed)
    assert (await anon.get("/api/v1/trends")).json() == listed
    mine = (await people[0].get("/api/v1/trends/tags", params={"limit": 1, "offset": 1})).json()
    assert [t["name"] for t in mine] == ["cats"] and mine[0]["following"] is False

    scores = await _scores(server, tag_trends, tag_trends.c.tag_id)
    by_name = {t["name"]: scores[int(t["id"])] for t in listed}
    assert by_name == {"otters": pytest.approx(25.0), "cats": pytest.approx(16.0)}  # (6-1)^2/1, (5-1)^2/1
    at = now()
    async with server.ctx.db.write() as conn:
        await trends.refresh_trends(conn, at=at + timedelta(hours=4))
    later = await _scores(server, tag_trends, tag_trends.c.tag_id)
    assert later[int(listed[0]["id"])] == pytest.approx(12.5, rel=0.01)  # one half-life after the peak
    async with server.ctx.db.write() as conn:
        await trends.refresh_trends(conn, at=at + timedelta(days=2, hours=1))
    assert (await anon.get("/api/v1/trends/tags")).json() == []  # the peak is forgotten after 2 days


async def test_statuses_trend_by_reblogs_and_favourites_with_a_2h_half_life(server, anon):
    author = (await _users(server, "author", 1))[0]
    fans = await _users(server, "fan", 8)
    hot = await post(author, "a hot take")
    warm = await post(author, "a warm take")
    cool = await post(author, "a cool take")
    hidden = await post(author, "sensitive take", sensitive="true")
    reply = await post(author, "a reply", in_reply_to_id=cool["id"])
    for fan in fans[:6]:
        await fan.post(f"/api/v1/statuses/{hot['id']}/favourite")
    for fan in fans[6:8]:
        await fan.post(f"/api/v1/statuses/{hot['id']}/reblog")
    for fan in fans[:5]:
        await fan.post(f"/api/v1/statuses/{warm['id']}/favourite")
    for fan in fans[:4]:
        await fan.post(f"/api/v1/statuses/{cool['id']}/favourite")  # 4 < threshold 5
    for status in (hidden, reply):
        for fan in fans:
            await fan.post(f"/api/v1/statuses/{status['id']}/favourite")
    await _refresh(server)

    listed = (await anon.get("/api/v1/trends/statuses")).json()
    assert [s["id"] for s in listed] == [hot["id"], warm["id"]]
    scores = await _scores(server, status_trends, status_trends.c.status_id)
    assert scores[int(hot["id"])] == pytest.approx(49.0, rel=0.01)  # (6 + 2 - 1)^2, seconds old
    assert scores[int(warm["id"])] == pytest.approx(16.0, rel=0.01)
    page = await fans[0].get("/api/v1/trends/statuses", params={"limit": 1})
    assert [s["id"] for s in page.json()] == [hot["id"]] and page.json()[0]["favourited"] is True
    assert 'rel="next"' in page.headers["Link"] and "offset=1" in page.headers["Link"]
    second = (await anon.get("/api/v1/trends/statuses", params={"limit": 1, "offset": 1})).json()
    assert [s["id"] for s in second] == [warm["id"]]

    async with server.ctx.db.write() as conn:
        await trends.refresh_trends(conn, at=now() + timedelta(hours=2))
    halved = await _scores(server, status_trends, status_trends.c.status_id)
    assert halved[int(hot["id"])] == pytest.approx(24.5, rel=0.01)
    await fans[0].post(f"/api/v1/accounts/{author.id}/mute")
    assert (await fans[0].get("/api/v1/trends/statuses")).json() == []  # muted authors stay out of a viewer's trends
    # Deleting the status takes it out of the trends.
    r = await author.delete(f"/api/v1/statuses/{hot['id']}")
    assert r.status_code == 200
    assert [s["id"] for s in (await anon.get("/api/v1/trends/statuses")).json()] == [warm["id"]]


async def test_links_trend_by_accounts_sharing_the_card(make_server, anon):
    with LinkSite() as site:
        server = await make_server(link_cards_allow_private="127.0.0.1/32", link_cards_timeout=2.0)
        people = await _users(server, "s", 6)
        first = None
        for person in people[:4]:
            status = await post(person, f"read {site.url}/article")
            first = first or status
        await post(people[5], f"{site.url}/plain once")
        await server.settle()
        await people[4].post(f"/api/v1/statuses/{first['id']}/reblog")  # the fifth account shares it by reblogging
        await _refresh(server)
        links = (await server.http.get("/api/v1/trends/links")).json()
    assert [link["url"] for link in links] == [f"{site.url}/article"]
    assert links[0]["title"] == "Otters (video)"
    assert links[0]["history"][0] == {"day": links[0]["history"][0]["day"], "uses": "5", "accounts": "5"}
    assert schema_errors(links[0], "TrendsLink") == []


async def test_tag_history_and_following(server, anon):
    alice, bob = await _users(server, "h", 2)
    await post(alice, "#Gardening today")
    await post(alice, "more #gardening")
    await post(bob, "#gardening too")
    await post(bob, "#gardening privately", visibility="private")
    shown = (await alice.get("/api/v1/tags/Gardening")).json()
    assert shown["name"] == "gardening" and shown["following"] is False
    assert schema_errors(shown, "Tag") == []
    today = shown["history"][0]
    assert (today["uses"], today["accounts"]) == ("3", "2")
    assert int(today["day"]) % 86400 == 0 and int(today["day"]) <= now().timestamp() < int(today["day"]) + 86400
    assert [int(d["day"]) for d in shown["history"]] == [int(today["day"]) - n * 86400 for n in range(7)]
    assert all(d["uses"] == "0" for d in shown["history"][1:])
    followed = (await alice.post("/api/v1/tags/gardening/follow")).json()
    assert followed["following"] is True and followed["history"] == shown["history"]
    assert (await alice.get("/api/v1/tags/gardening")).json()["following"] is True
    assert (await alice.get("/api/v1/followed_tags")).json()[0]["history"][0]["uses"] == "3"
    assert "following" not in (await anon.get("/api/v1/tags/gardening")).json()
    assert_error(await anon.get("/api/v1/tags/nosuchtag"), 404)
    assert_error(await anon.get("/api/v1/tags/not%20a%20tag"), 404)


async def test_trends_bad_input_and_one_refresh_job_at_a_time(server, anon):
    assert_error(await anon.get("/api/v1/trends/tags", params={"limit": "many"}), 422)
    assert_error(await anon.get("/api/v1/trends/links", params={"offset": "x"}), 422)
    assert (await anon.get("/api/v1/trends/statuses", params={"limit": 1000})).json() == []
    async with server.ctx.db.write() as conn:
        await trends.schedule_refresh(conn)
        await trends.schedule_refresh(conn)
        count = (await conn.execute(select(func.count()).select_from(jobs).where(jobs.c.kind == trends.REFRESH_JOB))).scalar()
    assert count == 1
    await server.settle()


def test_mastodon_spike_score():
    assert trends.spike_score(10, 4, 5) == pytest.approx(9.0)  # (10 - 4)^2 / 4
    assert trends.spike_score(4, 1, 5) == 0  # below the threshold
    assert trends.spike_score(6, 8, 5) == 0  # fewer than expected
    assert trends.spike_score(6, 0, 5) == pytest.approx(25.0)  # nothing yesterday counts as 1
