"""Who sees what: every read endpoint x every visibility x every relationship, table-driven."""

from __future__ import annotations

import pytest

from tests.api.conftest import ids, post

VIS = ("public", "unlisted", "private", "direct")
ALL, OPEN, NONE = set(VIS), {"public", "unlisted"}, set()
FOLLOWERS = {"public", "unlisted", "private"}

# relationship -> (follows the author, is mentioned, author blocks viewer, sanction on the author, anonymous, owner)
CASES = {
    "owner": dict(owner=True),
    "follower": dict(follows=True),
    "mentioned": dict(mentioned=True),
    "stranger": dict(),
    "blocked": dict(blocked=True),
    "anonymous": dict(anonymous=True),
    "suspended_author": dict(follows=True, mentioned=True, sanction="suspend"),
    "silenced_author_follower": dict(follows=True, sanction="silence"),
    "silenced_author_mentioned": dict(mentioned=True, sanction="silence"),
    "silenced_author_stranger": dict(sanction="silence"),
    "silenced_author_anonymous": dict(anonymous=True, sanction="silence"),
}

# relationship -> the visibilities whose status the viewer may see on status-level endpoints
SEES = {
    "owner": ALL, "follower": FOLLOWERS, "mentioned": ALL, "stranger": OPEN, "blocked": NONE, "anonymous": OPEN,
    "suspended_author": NONE, "silenced_author_follower": FOLLOWERS, "silenced_author_mentioned": ALL,
    "silenced_author_stranger": NONE, "silenced_author_anonymous": NONE,
}
# relationship -> what lands in the viewer's home timeline (None: 401, no home for anonymous)
HOME = {
    "owner": FOLLOWERS, "follower": FOLLOWERS, "mentioned": NONE, "stranger": NONE, "blocked": NONE, "anonymous": None,
    "suspended_author": NONE, "silenced_author_follower": FOLLOWERS, "silenced_author_mentioned": NONE,
    "silenced_author_stranger": NONE, "silenced_author_anonymous": None,
}
# relationship -> the visibilities the viewer is notified of (mentions; None: 401)
NOTIFIED = {
    "owner": NONE, "follower": NONE, "mentioned": ALL, "stranger": NONE, "blocked": NONE, "anonymous": None,
    "suspended_author": NONE, "silenced_author_follower": NONE, "silenced_author_mentioned": ALL,
    "silenced_author_stranger": NONE, "silenced_author_anonymous": None,
}


async def _world(server, anon, case: dict):
    author = await server.user("author")
    viewer = await server.user("viewer")
    mod = await server.user("mod", scopes="read write admin:read admin:write", role="moderator")
    if case.get("follows"):
        assert (await viewer.post(f"/api/v1/accounts/{author.id}/follow")).status_code == 200
    if case.get("blocked"):
        assert (await author.post(f"/api/v1/accounts/{viewer.id}/block")).status_code == 200
    mention = "@viewer " if case.get("mentioned") else ""
    posted = {v: await post(author, f"{mention}matrixword {v} #matrix", visibility=v) for v in VIS}
    await server.settle()
    if case.get("sanction"):
        r = await mod.post(f"/api/v1/admin/accounts/{author.id}/action", data={"type": case["sanction"]})
        assert r.status_code == 200, r.text
    who = author if case.get("owner") else (anon if case.get("anonymous") else viewer)
    return author, who, posted


def _expected_ids(posted: dict, visibilities) -> set[str]:
    return {posted[v]["id"] for v in visibilities}


@pytest.mark.parametrize("relationship", list(CASES))
async def test_read_endpoints_show_exactly_what_the_relationship_allows(server, anon, relationship):
    case = CASES[relationship]
    author, who, posted = await _world(server, anon, case)
    sees = SEES[relationship]
    mine = set(ids(p for p in posted.values()))

    # Status-level endpoints: 200 exactly for the visible ones, 404 for the rest.
    for vis, status in posted.items():
        for suffix in ("", "/context", "/favourited_by", "/reblogged_by"):
            r = await who.get(f"/api/v1/statuses/{status['id']}{suffix}")
            assert r.status_code == (200 if vis in sees else 404), (relationship, vis, suffix, r.text)

    # The author's profile and statuses (a suspended author is gone altogether).
    gone = case.get("sanction") == "suspend"
    assert (await who.get(f"/api/v1/accounts/{author.id}")).status_code == (404 if gone else 200)
    r = await who.get(f"/api/v1/accounts/{author.id}/statuses")
    if gone:
        assert r.status_code == 404
    else:
        assert set(ids(r.json())) & mine == _expected_ids(posted, sees), relationship

    # Public and hashtag timelines carry only the public status, and only when visible.
    public_expected = _expected_ids(posted, sees & {"public"})
    for url in ("/api/v1/timelines/public", "/api/v1/timelines/tag/matrix"):
        assert set(ids((await who.get(url)).json())) & mine == public_expected, (relationship, url)

    # Search finds statuses only for signed-in viewers, and only visible ones.
    found = (await who.get("/api/v2/search?q=matrixword&type=statuses")).json()["statuses"]
    assert set(ids(found)) == (set() if case.get("anonymous") else _expected_ids(posted, sees)), relationship

    # Home timeline and notifications.
    home = await who.get("/api/v1/timelines/home")
    if HOME[relationship] is None:
        assert home.status_code == 401
    else:
        assert set(ids(home.json())) & mine == _expected_ids(posted, HOME[relationship]), relationship
    notes = await who.get("/api/v1/notifications")
    if NOTIFIED[relationship] is None:
        assert notes.status_code == 401
    else:
        shown = {n["status"]["id"] for n in notes.json() if n["type"] == "mention"}
        assert shown == _expected_ids(posted, NOTIFIED[relationship]), relationship
