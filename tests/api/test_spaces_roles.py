"""Spaces: who may manage a room, co-hosts, speakers, requests to speak, mutes and the stage limits."""

from __future__ import annotations

from tests.api.conftest import assert_error
from tests.api.test_spaces import live_space, make_space
from townsquare.spaces.rooms import get_space_state, speaker_role


def stage(space: dict) -> list[tuple[str, str, bool]]:
    return [(s["account"]["username"], s["role"], s["muted"]) for s in space["speakers"]]


async def test_only_host_or_cohost_manage_a_room(server):
    host, stranger = await server.user("host"), await server.user("stranger")
    space = await make_space(host)
    sid = space["id"]
    for path in ("start", "end"):
        assert_error(await stranger.post(f"/api/v1/spaces/{sid}/{path}"), 403)
    assert_error(await stranger.delete(f"/api/v1/spaces/{sid}"), 403)
    assert_error(await stranger.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": stranger.id}), 403)
    assert_error(await stranger.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": stranger.id}), 403)
    assert_error(await server.http.post(f"/api/v1/spaces/{sid}/start"), 401)
    after = (await host.get(f"/api/v1/spaces/{sid}")).json()
    assert after["state"] == "scheduled" and stage(after) == [("host", "host", False)]
    assert "speak_requests" not in (await stranger.get(f"/api/v1/spaces/{sid}")).json()
    await host.post(f"/api/v1/spaces/{sid}/start")
    assert_error(await stranger.post(f"/api/v1/spaces/{sid}/end"), 403)
    assert (await host.get(f"/api/v1/spaces/{sid}")).json()["state"] == "live"


async def test_cohosts_manage_but_only_the_host_names_them(server):
    host, co, other = await server.user("host"), await server.user("co"), await server.user("other")
    space = await make_space(host)
    sid = space["id"]
    r = await host.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": co.id})
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()["cohosts"]] == [co.id]
    assert_error(await co.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": other.id}), 403)
    assert (await co.post(f"/api/v1/spaces/{sid}/start")).status_code == 200
    r = await co.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": other.id})
    assert stage(r.json()) == [("host", "host", False), ("co", "cohost", False), ("other", "speaker", False)]
    r = await co.delete(f"/api/v1/spaces/{sid}/cohosts/{co.id}")  # stepping down leaves them a speaker
    assert r.json()["cohosts"] == [] and ("co", "speaker", False) in stage(r.json())
    assert_error(await co.post(f"/api/v1/spaces/{sid}/end"), 403)
    assert (await host.post(f"/api/v1/spaces/{sid}/end")).status_code == 200


async def test_at_most_two_cohosts(server):
    host = await server.user("host")
    people = [await server.user(f"p{i}") for i in range(3)]
    sid = (await make_space(host))["id"]
    for p in people[:2]:
        assert (await host.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": p.id})).status_code == 200
    assert_error(await host.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": people[2].id}), 422)
    assert_error(await host.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": host.id}), 422)
    assert_error(await host.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": "999"}), 404)
    assert_error(await host.post(f"/api/v1/spaces/{sid}/cohosts", data={}), 422)
    assert len((await host.get(f"/api/v1/spaces/{sid}")).json()["cohosts"]) == 2


async def test_at_most_thirteen_speakers(server):
    host = await server.user("host")
    sid = (await live_space(host))["id"]
    people = [await server.user(f"s{i}") for i in range(14)]
    for p in people[:13]:
        assert (await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": p.id})).status_code == 200
    assert_error(await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": people[13].id}), 422)
    # Inviting someone already on stage is a no-op, not an error.
    assert (await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": people[0].id})).status_code == 200
    space = (await host.get(f"/api/v1/spaces/{sid}")).json()
    assert len([s for s in space["speakers"] if s["role"] == "speaker"]) == 13


async def test_request_to_speak_then_approve_or_reject(server):
    host, fan, shy = await server.user("host"), await server.user("fan"), await server.user("shy")
    scheduled = await make_space(host)
    assert_error(await fan.post(f"/api/v1/spaces/{scheduled['id']}/speak_requests"), 422)
    sid = (await live_space(host, title="Live"))["id"]
    r = await fan.post(f"/api/v1/spaces/{sid}/speak_requests")
    assert r.status_code == 200 and r.json()["role"] == "requested"
    await shy.post(f"/api/v1/spaces/{sid}/speak_requests")
    seen = (await host.get(f"/api/v1/spaces/{sid}")).json()
    assert [a["username"] for a in seen["speak_requests"]] == ["fan", "shy"]
    assert_error(await fan.delete(f"/api/v1/spaces/{sid}/speak_requests/{shy.id}"), 403)
    r = await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": fan.id})
    assert ("fan", "speaker", False) in stage(r.json())
    r = await shy.delete(f"/api/v1/spaces/{sid}/speak_requests")
    assert r.json()["role"] == "listener"
    assert (await host.get(f"/api/v1/spaces/{sid}")).json()["speak_requests"] == []
    await shy.post(f"/api/v1/spaces/{sid}/speak_requests")
    assert (await host.delete(f"/api/v1/spaces/{sid}/speak_requests/{shy.id}")).status_code == 200
    assert_error(await host.delete(f"/api/v1/spaces/{sid}/speak_requests/{shy.id}"), 404)


async def test_mute_and_remove_speakers(server):
    host, sp, other = await server.user("host"), await server.user("sp"), await server.user("other")
    sid = (await live_space(host))["id"]
    await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": sp.id})
    r = await host.post(f"/api/v1/spaces/{sid}/speakers/{sp.id}/mute")
    assert ("sp", "speaker", True) in stage(r.json())
    assert_error(await other.post(f"/api/v1/spaces/{sid}/speakers/{sp.id}/unmute"), 403)
    assert_error(await sp.post(f"/api/v1/spaces/{sid}/speakers/{host.id}/mute"), 403)
    r = await sp.post(f"/api/v1/spaces/{sid}/speakers/{sp.id}/unmute")
    assert ("sp", "speaker", False) in stage(r.json())
    r = await host.post(f"/api/v1/spaces/{sid}/speakers/{host.id}/mute")
    assert ("host", "host", True) in stage(r.json())
    assert_error(await other.delete(f"/api/v1/spaces/{sid}/speakers/{sp.id}"), 403)
    assert_error(await host.delete(f"/api/v1/spaces/{sid}/speakers/{other.id}"), 404)
    r = await host.delete(f"/api/v1/spaces/{sid}/speakers/{sp.id}")
    assert [s for s in stage(r.json()) if s[0] == "sp"] == []


async def test_blocked_accounts_cannot_take_the_stage(server):
    host, troll = await server.user("host"), await server.user("troll")
    await host.post(f"/api/v1/accounts/{troll.id}/block")
    sid = (await live_space(host))["id"]
    assert_error(await troll.post(f"/api/v1/spaces/{sid}/speak_requests"), 403)
    assert_error(await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": troll.id}), 403)


async def test_speaker_role_for_the_audio_pipeline(server):
    host, co, sp, fan = [await server.user(n) for n in ("host", "co", "sp", "fan")]
    space = await make_space(host, record="1")
    sid = int(space["id"])
    await host.post(f"/api/v1/spaces/{sid}/cohosts", data={"account_id": co.id})
    async with server.ctx.db.read() as conn:
        assert await speaker_role(conn, sid, int(host.id)) is None  # not live yet
        assert await get_space_state(conn, sid) == ("scheduled", True)
        assert await get_space_state(conn, 12345) is None
    await host.post(f"/api/v1/spaces/{sid}/start")
    await host.post(f"/api/v1/spaces/{sid}/speakers", data={"account_id": sp.id})
    await fan.post(f"/api/v1/spaces/{sid}/speak_requests")
    async with server.ctx.db.read() as conn:
        roles = [await speaker_role(conn, sid, int(u.id)) for u in (host, co, sp, fan)]
        assert roles == ["host", "cohost", "speaker", None]
        assert await get_space_state(conn, sid) == ("live", True)
    await host.post(f"/api/v1/spaces/{sid}/end")
    async with server.ctx.db.read() as conn:
        assert await speaker_role(conn, sid, int(host.id)) is None
