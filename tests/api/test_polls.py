"""Polls: creating them (form, JSON, Rails arrays), voting, hidden totals, the end job, edits and stream updates."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import func, select, update

from tests.api.conftest import assert_error, post
from tests.api.mastodon_schema import assert_entity
from townsquare.api import stream_render
from townsquare.core.clock import now
from townsquare.domain.models import Viewer
from townsquare.storage import accounts as account_store
from townsquare.storage.tables import jobs, polls, statuses
from townsquare.timelines import events


async def _poll_status(user, options=("yes", "no"), expires_in=600, **extra) -> dict:
    r = await user.post("/api/v1/statuses", json={"status": "Which?", "poll": {
        "options": list(options), "expires_in": expires_in, **extra}})
    assert r.status_code == 200, r.text
    return r.json()


async def _count(server, table) -> int:
    async with server.ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def _end_now(server, poll_id: str) -> None:
    """Move a poll's end (and its end job) into the past, as if its time had come."""
    past = now() - timedelta(seconds=1)
    async with server.ctx.db.write() as conn:
        await conn.execute(update(polls).where(polls.c.id == int(poll_id)).values(expires_at=past))
        await conn.execute(update(jobs).where(jobs.c.kind == "end_poll").values(run_at=past))
    await server.settle()


async def test_poll_from_form_fields_and_rails_arrays(server):
    alice = await server.user("alice")
    r = await alice.post("/api/v1/statuses", data={
        "status": "Tea or coffee?", "poll[options][]": ["Tea", "Coffee", "Water"], "poll[expires_in]": "3600",
        "poll[multiple]": "1", "poll[hide_totals]": "0"})
    assert r.status_code == 200, r.text
    status = r.json()
    assert_entity("Status", status)
    poll = status["poll"]
    assert_entity("Poll", poll)
    assert [o["title"] for o in poll["options"]] == ["Tea", "Coffee", "Water"]
    assert poll["multiple"] is True and poll["expired"] is False and poll["votes_count"] == 0
    assert poll["voted"] is True and poll["own_votes"] == []  # the author counts as having voted, as in Mastodon
    assert [o["votes_count"] for o in poll["options"]] == [0, 0, 0]
    # The poll is on every rendering of the status, for anonymous readers too (without voted/own_votes).
    anon = (await server.http.get(f"/api/v1/statuses/{status['id']}")).json()["poll"]
    assert anon["id"] == poll["id"] and "voted" not in anon
    assert_entity("Poll", anon)
    timeline = (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()
    assert timeline[0]["poll"]["id"] == poll["id"]


async def test_instance_announces_the_poll_limits(anon):
    for path in ("/api/v1/instance", "/api/v2/instance"):
        limits = (await anon.get(path)).json()["configuration"]["polls"]
        assert limits == {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
                          "max_expiration": 2629746}


async def test_bad_polls_are_refused_and_change_nothing(server):
    alice = await server.user("alice")
    bad = [
        {"options": ["only one"], "expires_in": 600},
        {"options": ["a", "b", "c", "d", "e"], "expires_in": 600},
        {"options": ["same", "same"], "expires_in": 600},
        {"options": ["x" * 51, "b"], "expires_in": 600},
        {"options": ["a", ""], "expires_in": 600},
        {"options": ["a", "b"], "expires_in": 299},
        {"options": ["a", "b"], "expires_in": 2629747},
        {"options": ["a", "b"], "expires_in": "soon"},
        {"options": ["a", "b"]},
        {"options": [{"nested": 1}, "b"], "expires_in": 600},
    ]
    for poll in bad:
        assert_error(await alice.post("/api/v1/statuses", json={"status": "x", "poll": poll}), 422)
    assert_error(await alice.post("/api/v1/statuses", json={"status": "x", "poll": "yes"}), 422)
    assert_error(await alice.post("/api/v1/statuses", json={
        "status": "x", "media_ids": ["1"], "poll": {"options": ["a", "b"], "expires_in": 600}}), 422)
    assert await _count(server, statuses) == 0 and await _count(server, polls) == 0


async def test_voting_counts_once_and_refuses_bad_votes(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    status = await _poll_status(alice, ("red", "green", "blue"))
    poll_id = status["poll"]["id"]
    r = await bob.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["1"]})
    assert r.status_code == 200, r.text
    poll = r.json()
    assert_entity("Poll", poll)
    assert poll["voted"] is True and poll["own_votes"] == [1] and poll["votes_count"] == 1 and poll["voters_count"] == 1
    assert [o["votes_count"] for o in poll["options"]] == [0, 1, 0]
    # Already voted, bad choices, several choices on a single-choice poll, own poll: 422, nothing recorded.
    assert "already voted" in assert_error(await bob.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]}), 422)["error"]
    for choices in (["3"], ["-1"], ["x"], ["0", "2"], []):
        assert_error(await carol.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": choices}), 422)
    assert_error(await alice.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]}), 422)
    assert_error(await bob.post("/api/v1/polls/999999/votes", data={"choices[]": ["0"]}), 404)
    seen = (await carol.get(f"/api/v1/polls/{poll_id}")).json()
    assert seen["votes_count"] == 1 and seen["voted"] is False and seen["own_votes"] == []
    assert (await alice.get(f"/api/v1/statuses/{status['id']}")).json()["poll"]["votes_count"] == 1


async def test_multiple_choice_and_json_votes(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    status = await _poll_status(alice, ("a", "b", "c"), multiple=True)
    poll_id = status["poll"]["id"]
    assert (await bob.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [0, 2]})).status_code == 200
    poll = (await carol.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": ["2"]})).json()
    assert poll["votes_count"] == 3 and poll["voters_count"] == 2
    assert [o["votes_count"] for o in poll["options"]] == [1, 0, 2]
    assert_error(await carol.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [0, 0]}), 422)


async def test_hidden_totals_until_the_end_and_end_notifications(server):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    status = await _poll_status(alice, hide_totals=True)
    poll_id = status["poll"]["id"]
    await bob.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]})
    hidden = (await carol.get(f"/api/v1/polls/{poll_id}")).json()
    assert [o["votes_count"] for o in hidden["options"]] == [None, None]
    assert_entity("Poll", hidden)
    await _end_now(server, poll_id)
    ended = (await carol.get(f"/api/v1/polls/{poll_id}")).json()
    assert ended["expired"] is True and [o["votes_count"] for o in ended["options"]] == [1, 0]
    assert "ended" in assert_error(await carol.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["1"]}), 422)["error"]
    # The durable job told the author and the voter, once; the non-voter heard nothing.
    for user in (alice, bob):
        notes = (await user.get("/api/v1/notifications", params={"types[]": "poll"})).json()
        assert [(n["type"], n["status"]["id"], n["account"]["id"]) for n in notes] == [("poll", status["id"], alice.id)]
        assert_entity("Notification", notes[0])
    assert (await carol.get("/api/v1/notifications", params={"types[]": "poll"})).json() == []
    async with server.ctx.db.write() as conn:  # the job running again (a retry) announces nothing twice
        from townsquare.services.polls import end_poll
        await end_poll(conn, int(poll_id))
    assert len((await bob.get("/api/v1/notifications", params={"types[]": "poll"})).json()) == 1


async def test_private_poll_is_hidden_from_strangers(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    r = await alice.post("/api/v1/statuses", json={"status": "followers only", "visibility": "private",
                                                   "poll": {"options": ["a", "b"], "expires_in": 600}})
    status = r.json()
    poll_id = status["poll"]["id"]
    assert_error(await bob.get(f"/api/v1/polls/{poll_id}"), 404)
    assert_error(await bob.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]}), 404)
    assert_error(await server.http.get(f"/api/v1/polls/{poll_id}"), 404)


async def test_editing_options_resets_votes_and_no_poll_removes_it(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    status = await _poll_status(alice, ("a", "b"))
    poll_id = status["poll"]["id"]
    await bob.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]})
    same = await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Which, really?", "poll": {
        "options": ["a", "b"], "expires_in": 900}})
    assert same.json()["poll"]["votes_count"] == 1  # same options: the votes stay
    changed = (await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Which?", "poll": {
        "options": ["a", "c"], "expires_in": 900}})).json()
    assert changed["poll"]["id"] == poll_id and changed["poll"]["votes_count"] == 0
    assert [o["title"] for o in changed["poll"]["options"]] == ["a", "c"]
    assert (await bob.get(f"/api/v1/polls/{poll_id}")).json()["voted"] is False
    assert_error(await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "x", "poll": {
        "options": ["a"], "expires_in": 900}}), 422)
    gone = (await alice.put(f"/api/v1/statuses/{status['id']}", data={"status": "no poll now"})).json()
    assert gone["poll"] is None
    assert_error(await bob.get(f"/api/v1/polls/{poll_id}"), 404)


async def test_a_vote_publishes_status_update(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    status = await _poll_status(alice)
    await server.settle()
    subscription = await server.ctx.bus.subscribe()
    try:
        await subscription.add({events.home_channel(int(bob.id))})
        await asyncio.sleep(0.2 if hasattr(server.ctx.bus, "redis") else 0)
        await bob.post(f"/api/v1/polls/{status['poll']['id']}/votes", data={"choices[]": ["1"]})
        channel, message = await asyncio.wait_for(subscription.__anext__(), 10)
    finally:
        await subscription.close()
    assert message == {"event": "status.update", "status_id": status["id"]}


async def test_streamed_status_carries_the_subscribers_own_vote(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    status = await _poll_status(alice)
    await bob.post(f"/api/v1/polls/{status['poll']['id']}/votes", data={"choices[]": ["1"]})
    message = {"event": "status.update", "status_id": status["id"]}
    async with server.ctx.db.read() as conn:
        viewer = Viewer(account=await account_store.get(conn, int(bob.id)), scopes=frozenset({"read"}))
    event, payload = await stream_render.render(server.ctx, viewer, "user", message)
    poll = json.loads(payload)["poll"]
    assert event == "status.update" and poll["voted"] is True and poll["own_votes"] == [1] and poll["votes_count"] == 1
