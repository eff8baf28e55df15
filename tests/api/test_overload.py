"""Shedding through the whole app: low classes go first, host controls never, joins wait in line in order."""

from __future__ import annotations

import asyncio
import math

from sqlalchemy import event

from tests.api.conftest import assert_error
from tests.api.test_health import _samples
from tests.api.test_spaces import live_space, make_space
from townsquare.spaces.reactions import TokenBucket


class Statements:
    """Records the SQL a block of requests runs."""

    def __init__(self, server) -> None:
        self.engine, self.seen = server.ctx.db.engine.sync_engine, []

    def _record(self, conn, cursor, statement, *args):
        self.seen.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


async def test_a_saturated_process_sheds_low_classes_while_host_controls_pass(server):
    host = await server.user("host")
    sid = (await make_space(host))["id"]
    limiter = server.app.state.overload.limiter
    limiter.inflight = math.ceil(limiter.effective_limit() * 0.7)  # the low and timeline shares are full, posting's not
    with Statements(server) as sql:
        search = await host.get("/api/v2/search", params={"q": "night"})
        trends = await server.http.get("/api/v1/trends/tags")
        timeline = await host.get("/api/v1/timelines/home")
    assert sql == []  # refused before any database work (not even the token lookup)
    for r in (search, trends, timeline):
        assert_error(r, 503)
        assert 1 <= int(r.headers["retry-after"]) <= 3
    assert (await host.post("/api/v1/statuses", data={"status": "still posting"})).status_code == 200  # share 0.85
    limiter.inflight = 500  # far past the limit: everything limited is refused...
    assert_error(await host.post("/api/v1/statuses", data={"status": "no"}), 503)
    started = await host.post(f"/api/v1/spaces/{sid}/start")  # ...but the host's controls are served
    assert started.status_code == 200 and started.json()["state"] == "live"
    assert (await host.post(f"/api/v1/spaces/{sid}/speakers/{host.id}/mute")).status_code == 200
    assert (await host.post(f"/api/v1/spaces/{sid}/end")).status_code == 200
    assert limiter.inflight == 500  # the served ones were counted in and out
    got = _samples((await server.http.get("/metrics")).text)
    assert got[("townsquare_shed_requests_total", (("reason", "limit"), ("route_class", "low")))] == 2
    assert got[("townsquare_shed_requests_total", (("reason", "limit"), ("route_class", "timeline")))] == 1
    assert got[("townsquare_shed_requests_total", (("reason", "limit"), ("route_class", "post")))] == 1


async def test_joins_past_the_limit_wait_in_line_and_keep_their_place(server):
    host = await server.user("host")
    sid = (await live_space(host))["id"]
    join = f"/api/v1/spaces/{sid}/join"
    assert (await server.http.post(join)).status_code == 200  # the room is in the cache now
    limiter = server.app.state.overload.limiter
    limiter.inflight = 500
    first = await server.http.post(join)
    await asyncio.sleep(0.11)  # arrivals are told apart by 100 ms slices
    second = await server.http.post(join)
    for r in (first, second):
        assert r.status_code == 429, r.text
        body = r.json()
        assert body["in_waiting_room"] is True and body["wait_time_known"] is True and body["error"]
        assert 1 <= int(r.headers["retry-after"]) <= 30 and body["refresh_interval_seconds"] == int(r.headers["retry-after"])
        assert r.headers["townsquare-queue-token"] == body["queue_token"]
    assert first.json()["position"] == 0 and second.json()["position"] == 1
    token = second.json()["queue_token"]
    for _ in range(3):  # retrying early keeps the place (the same arrival), never a better one
        again = await server.http.post(join, headers={"Townsquare-Queue-Token": token})
        assert again.status_code == 429 and again.json()["position"] == 1
        # the very same token back (nginx's per-token retry limit is keyed by it: a new one would reset it)
        assert again.json()["queue_token"] == again.headers["townsquare-queue-token"] == token
    assert_error(await server.http.post(join, headers={"Townsquare-Queue-Token": token[:-2] + "xx"}), 400)
    assert_error(await server.http.post(join + "?queue_token=w.1.abc.def"), 400)
    limiter.inflight = 0  # room again: the line moves, oldest first
    admitted = await server.http.post(join + f"?queue_token={first.json()['queue_token']}")
    assert admitted.status_code == 200 and admitted.json()["state"] == "live"
    ticket = admitted.headers["townsquare-admission"]
    assert (await server.http.post(join, headers={"Townsquare-Queue-Token": token})).status_code == 200
    limiter.inflight = 500  # full again: an admitted listener's heartbeat still gets through
    beat = await server.http.post(join, headers={"Townsquare-Queue-Token": ticket},
                                  data={"listener_id": admitted.json()["listener_id"]})
    assert beat.status_code == 200 and beat.json()["listener_id"] == admitted.json()["listener_id"]
    got = _samples((await server.http.get("/metrics")).text)
    assert got[("townsquare_shed_requests_total", (("reason", "waiting_room"), ("route_class", "listen")))] == 5
    assert got[("townsquare_shed_requests_total", (("reason", "bad_token"), ("route_class", "listen")))] == 2


async def test_a_waiter_let_in_while_the_process_is_full_waits_for_a_free_slot_then_joins(server, monkeypatch):
    from townsquare.api import overload

    host = await server.user("host")
    sid = (await live_space(host))["id"]
    join = f"/api/v1/spaces/{sid}/join"
    assert (await server.http.post(join)).status_code == 200  # the room is in the cache now
    limiter, gate = server.app.state.overload.limiter, server.app.overload_gate
    limiter.inflight = 500
    tokens = [(await server.http.post(join)).json()["queue_token"] for _ in range(3)]  # one slice of arrivals
    limiter.inflight = 0
    first = await server.http.post(join, headers={"Townsquare-Queue-Token": tokens[0]})
    assert first.status_code == 200  # the head comes in, and its slice with it
    limiter.inflight = 500  # full again: the rest of that slice is let in, but waits for its turn
    waiter = asyncio.create_task(server.http.post(join, headers={"Townsquare-Queue-Token": tokens[1]}))
    for _ in range(50):
        await asyncio.sleep(0.01)
        if gate.turns:
            break
    assert len(gate.turns) == 1 and not waiter.done()
    metrics = (await server.http.get("/metrics")).text  # exempt: not counted in, so it frees no slot
    assert "townsquare_join_turns_waiting 1.0" in metrics
    await asyncio.sleep(0.1)
    assert not waiter.done()  # nothing finished: still waiting, not refused
    limiter.inflight = 2  # room now; the next request to finish gives the waiter its turn
    assert (await server.http.get("/api/v1/timelines/public")).status_code == 200
    joined = await asyncio.wait_for(waiter, 5)
    assert joined.status_code == 200 and joined.json()["state"] == "live", joined.text
    assert not gate.turns
    # With nothing finishing at all, a waiter goes on after TURN_WAIT: its turn is late, never lost.
    monkeypatch.setattr(overload, "TURN_WAIT", 0.2)
    limiter.inflight = 500
    began = asyncio.get_running_loop().time()
    late = await server.http.post(join, headers={"Townsquare-Queue-Token": tokens[2]})
    assert late.status_code == 200 and asyncio.get_running_loop().time() - began >= 0.2
    assert "townsquare_join_turns_waiting 0.0" in (await server.http.get("/metrics")).text


async def test_a_ticket_gives_every_holder_the_same_place_and_costs_no_database_work(server):
    host = await server.user("host")
    sid = (await live_space(host))["id"]
    join = f"/api/v1/spaces/{sid}/join"
    assert (await server.http.post(join)).status_code == 200  # the room is in the cache now
    assert_error(await server.http.get("/api/v1/spaces/99999999/queue_ticket"), 503)  # not a room this process knows
    limiter = server.app.state.overload.limiter
    limiter.inflight = 500
    with Statements(server) as sql:
        ticket = await server.http.get(f"/api/v1/spaces/{sid}/queue_ticket")
    assert sql == []
    assert ticket.status_code == 429, ticket.text
    token = ticket.headers["townsquare-queue-token"]
    assert ticket.json()["queue_token"] == token + ".holder"  # where nginx writes each holder's request id
    assert int(ticket.headers["retry-after"]) >= 2
    for mark in ("holder", "0bbd5da3f818e0656a751fde078892a5"):  # two holders of the same ticket
        again = await server.http.post(join, headers={"Townsquare-Queue-Token": f"{token}.{mark}"})
        assert again.status_code == 429 and again.json()["queue_token"].split(".")[1] == token.split(".")[1]
        assert again.headers["townsquare-queue-token"] == f"{token}.{mark}"  # each holder keeps its own mark
    limiter.inflight = 0
    admitted = await server.http.post(join, headers={"Townsquare-Queue-Token": f"{token}.0bbd5da3"})
    assert admitted.status_code == 200 and admitted.json()["state"] == "live"


async def test_rooms_never_seen_here_are_looked_up_a_few_a_second_at_most(server):
    host = await server.user("host")
    sid = (await live_space(host))["id"]
    join = f"/api/v1/spaces/{sid}/join"
    assert (await server.http.post(join)).status_code == 200  # a room joined once is known here from then on
    gate = server.app.overload_gate
    gate.lookups = TokenBucket(0.001, 3)  # a budget of three look-ups, refilled too slowly to matter here
    codes = [(await server.http.post(f"/api/v1/spaces/{1234567 + i}/join")).status_code for i in range(3)]
    assert codes == [404, 404, 404]  # looked up (and not found)
    with Statements(server) as sql:
        flood = [await server.http.post(f"/api/v1/spaces/{7654321 + i}/join") for i in range(5)]
    assert sql == []  # past the budget: shed before any database work
    for r in flood:
        assert_error(r, 503)
        assert 1 <= int(r.headers["retry-after"]) <= 3
    assert (await server.http.post(join)).status_code == 200  # the known room is not held back by the flood


async def test_the_line_check_answers_nginx_without_database_work(server):
    host = await server.user("host")
    sid = (await live_space(host))["id"]
    assert (await server.http.post(f"/api/v1/spaces/{sid}/join")).status_code == 200  # the room is in the cache now
    line = f"/api/v1/spaces/{sid}/queue_line"
    for bad in ("", "?slice=", "?slice=-1", "?slice=x1", "?slice=1234567890123456"):
        assert_error(await server.http.get(line + bad), 400)
    limiter = server.app.state.overload.limiter
    limiter.inflight = 500
    tickets = [await server.http.get(f"/api/v1/spaces/{sid}/queue_ticket") for _ in range(40)]
    assert {t.status_code for t in tickets} == {429}
    limiter.inflight = 0
    head = int(tickets[0].headers["townsquare-queue-token"].split(".")[1]) // 100
    with Statements(server) as sql:
        first = await server.http.get(f"{line}?slice={head}")
        far = await server.http.get(f"{line}?slice={head + 9}")  # behind all 40, almost a second later
    assert sql == []
    assert first.status_code == 204 and int(first.headers["x-accel-expires"]) >= 1 and not first.content
    assert far.status_code == 403 and int(far.headers["x-accel-expires"]) >= 1
    assert int(far.headers["retry-after"]) >= 2  # what nginx tells the held clients: never under its per-token interval
    got = _samples((await server.http.get("/metrics")).text)
    assert got[("townsquare_shed_requests_total", (("reason", "line_held"), ("route_class", "listen")))] == 1
