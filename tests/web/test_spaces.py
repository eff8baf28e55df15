"""Space pages: creating a room, and the host's controls as forms with the Spaces API's permissions."""

from __future__ import annotations

import re


async def _space(server, token_user, sid: str) -> dict:
    r = await token_user.get(f"/api/v1/spaces/{sid}")
    assert r.status_code == 200, r.text
    return r.json()


async def _stage(server, token_user, sid: str) -> dict:
    """Who is on the stage, by account id, as the API says: role and muted."""
    return {p["account"]["id"]: p for p in (await _space(server, token_user, sid))["speakers"]}


def _refused(r) -> None:
    """A refused form: Mastodon's 403 as a page of the site, not JSON."""
    assert r.status_code == 403, (r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("text/html") and "<main" in r.text and "Not allowed" in r.text


async def test_host_controls_are_forms_with_the_apis_permissions(server, browsers):
    reader = await server.user("reader")  # an API client to check what the forms changed
    host, fan, stranger, guest = browsers(), browsers(), browsers(), browsers()
    await host.sign_up("hoster")
    await fan.sign_up("fanny")
    await stranger.sign_up("stranger")
    listing = (await host.get("/spaces")).text
    assert 'action="/spaces"' in listing and "Host a space" in listing
    assert "Host a space" not in (await guest.get("/spaces")).text  # signed out: no form

    r = await host.post("/spaces", {"title": "  ", "record": "1"})
    assert r.status_code == 422 and "title can&#39;t be blank" in r.text
    r = await host.post("/spaces", {"title": "Web chat", "record": "1"})
    assert r.status_code == 303
    sid = re.fullmatch(r"/spaces/(\d+)", r.headers["location"]).group(1)
    assert (await _space(server, reader, sid))["state"] == "scheduled"
    page = (await host.get(f"/spaces/{sid}")).text
    assert "Host controls" in page and "Start the space" in page
    assert "Host controls" not in (await stranger.get(f"/spaces/{sid}")).text

    _refused(await stranger.post(f"/spaces/{sid}/start"))
    assert (await _space(server, reader, sid))["state"] == "scheduled"
    assert (await host.post(f"/spaces/{sid}/start")).status_code == 303
    assert (await _space(server, reader, sid))["state"] == "live"
    page = (await host.get(f"/spaces/{sid}?done=start")).text
    assert "You are on air." in page and 'id="speak"' in page and "End the space" in page
    assert 'data-socket="/api/v1/spaces/' in page

    # The fan asks to speak; only a host or co-host may answer.
    assert "Request to speak" in (await fan.get(f"/spaces/{sid}")).text
    assert (await fan.post(f"/spaces/{sid}/request")).status_code == 303
    fan_id = (await reader.get("/api/v1/accounts/lookup?acct=fanny")).json()["id"]
    page = (await host.get(f"/spaces/{sid}")).text
    assert "Approve fanny" in page and "Decline fanny" in page
    _refused(await stranger.post(f"/spaces/{sid}/approve", {"account_id": fan_id}))
    assert fan_id not in await _stage(server, reader, sid)
    assert (await host.post(f"/spaces/{sid}/approve", {"account_id": fan_id})).status_code == 303
    assert fan_id in await _stage(server, reader, sid)
    assert 'id="speak"' in (await fan.get(f"/spaces/{sid}")).text  # the new speaker gets the microphone controls

    # Mute: the host may, a stranger may not; the page shows it.
    _refused(await stranger.post(f"/spaces/{sid}/mute", {"account_id": fan_id}))
    assert (await host.post(f"/spaces/{sid}/mute", {"account_id": fan_id})).status_code == 303
    assert (await _stage(server, reader, sid))[fan_id]["muted"] is True
    stage = (await guest.get(f"/spaces/{sid}?part=stage")).text
    assert re.search(r"fanny</a>\s*<span class=\"role\">speaker</span>\s*<span class=\"tag\">muted</span>", stage)
    # The page's script sends the same forms and gets the notice alone.
    r = await fan.post(f"/spaces/{sid}/unmute", {"account_id": fan_id}, headers={"x-requested-with": "fetch"})
    assert r.status_code == 200 and r.text == "Unmuted." and (await _stage(server, reader, sid))[fan_id]["muted"] is False

    # Co-host rights are the host's alone to give.
    _refused(await stranger.post(f"/spaces/{sid}/cohost", {"account_id": fan_id}))
    assert (await host.post(f"/spaces/{sid}/cohost", {"account_id": fan_id})).status_code == 303
    assert fan_id in [a["id"] for a in (await _space(server, reader, sid))["cohosts"]]

    # Invite by username; an unknown name is a clear error and changes nothing.
    r = await host.post(f"/spaces/{sid}/invite", {"username": "nobody_here"})
    assert r.status_code == 422 and "no account called @nobody_here" in r.text
    assert (await host.post(f"/spaces/{sid}/invite", {"username": "@stranger"})).status_code == 303
    stranger_id = (await reader.get("/api/v1/accounts/lookup?acct=stranger")).json()["id"]
    assert stranger_id in await _stage(server, reader, sid)
    # A plain speaker still cannot remove others or end the room; it may leave the stage itself.
    _refused(await stranger.post(f"/spaces/{sid}/end"))
    assert (await stranger.post(f"/spaces/{sid}/remove", {"account_id": stranger_id})).status_code == 303
    assert stranger_id not in await _stage(server, reader, sid)

    # Reactions go to live rooms only, and only the allowed ones.
    assert (await fan.post(f"/spaces/{sid}/react", {"name": "👏"})).status_code == 303
    assert (await fan.post(f"/spaces/{sid}/react", {"name": "<script>"})).status_code == 422
    # A form without its CSRF token, and one signed out, change nothing.
    assert (await host.post(f"/spaces/{sid}/end", csrf=False)).status_code == 403
    await guest.get(f"/spaces/{sid}")
    assert (await guest.post(f"/spaces/{sid}/end")).status_code == 401
    assert (await _space(server, reader, sid))["state"] == "live"
    # The co-host may end it, as in the API.
    assert (await fan.post(f"/spaces/{sid}/end")).status_code == 303
    ended = await _space(server, reader, sid)
    assert ended["state"] == "ended"
    page = (await guest.get(f"/spaces/{sid}")).text
    assert "Recording" in page and "recording.m3u8" in page and 'property="og:audio"' in page
    assert (await host.post(f"/spaces/{sid}/nonsense")).status_code == 404


async def test_a_scheduled_space_can_be_deleted_by_its_host_only(server, browsers):
    reader = await server.user("reader2")
    host, other = browsers(), browsers()
    await host.sign_up("planner")
    await other.sign_up("onlooker")
    r = await host.post("/spaces", {"title": "Later", "scheduled_at": "2031-05-01T18:30"})
    sid = r.headers["location"].rsplit("/", 1)[1]
    space = await _space(server, reader, sid)
    assert space["scheduled_at"].startswith("2031-05-01T18:30") and space["state"] == "scheduled"
    assert (await host.post("/spaces", {"title": "Bad", "scheduled_at": "next tuesday"})).status_code == 422
    _refused(await other.post(f"/spaces/{sid}/delete"))
    assert (await host.post(f"/spaces/{sid}/delete")).status_code == 303
    assert (await reader.get(f"/api/v1/spaces/{sid}")).status_code == 404
