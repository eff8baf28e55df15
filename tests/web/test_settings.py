"""Settings pages as forms (JavaScript off): each change is what the API then sees, and bad input changes nothing."""

from __future__ import annotations

import re

from tests.api.test_media import fetch
from tests.conftest import BASE
from tests.web.conftest import PASSWORD

PAGES = ("/settings", "/settings/preferences", "/settings/filters", "/settings/filters/new", "/settings/sessions",
         "/settings/blocks", "/settings/mutes", "/settings/warnings", "/settings/password")


async def test_every_settings_page_has_the_settings_nav_and_needs_a_session(server, browsers):
    anonymous = browsers()
    for path in PAGES:
        assert (await anonymous.get(path)).status_code == 401, path
    b = browsers()
    await b.sign_up("alice")
    for path in PAGES:
        r = await b.get(path)
        assert r.status_code == 200, path
        assert '<nav aria-label="Settings"' in r.text and "<h2 id=\"section-title\">" in r.text
        assert f'href="{path}" aria-current="page"' in r.text or path == "/settings/filters/new"


async def test_preferences_are_the_api_source_and_bad_ones_change_nothing(server, browsers):
    alice = await server.user("alice")
    b = browsers()
    await b.sign_in("alice")
    await b.get("/settings/preferences")
    r = await b.post("/settings/preferences", {"privacy": "private", "language": "de", "sensitive": "1"})
    assert r.status_code == 303 and r.headers["location"].startswith("/settings/preferences?notice=")
    source = (await alice.get("/api/v1/accounts/verify_credentials")).json()["source"]
    assert (source["privacy"], source["language"], source["sensitive"]) == ("private", "de", True)
    page = (await b.get("/settings/preferences")).text
    assert '<option value="private" selected>' in page and '<option value="de" selected lang="de">' in page
    for bad in ({"privacy": "direct", "language": "fr"}, {"privacy": "public", "language": "klingon"}):
        r = await b.post("/settings/preferences", bad)
        assert r.status_code == 422 and "<main" in r.text
    source = (await alice.get("/api/v1/accounts/verify_credentials")).json()["source"]
    assert (source["privacy"], source["language"], source["sensitive"]) == ("private", "de", True)
    # Saving the profile leaves the posting defaults alone.
    await b.post("/settings/profile", {"display_name": "Alice"})
    assert (await alice.get("/api/v1/accounts/verify_credentials")).json()["source"]["privacy"] == "private"


async def test_filters_create_edit_and_delete_as_the_api_sees_them(server, browsers):
    alice = await server.user("alice")
    b = browsers()
    await b.sign_in("alice")
    await b.get("/settings/filters/new")
    r = await b.post("/settings/filters", {"title": "Spoilers", "context_home": "1", "context_thread": "1",
                                           "filter_action": "hide", "expires_in": "86400",
                                           "new_keyword_0": "finale", "new_whole_word_0": "1", "new_keyword_1": "ending"})
    assert r.status_code == 303
    [f] = (await alice.get("/api/v2/filters")).json()
    assert f["title"] == "Spoilers" and f["context"] == ["home", "thread"] and f["filter_action"] == "hide"
    assert f["expires_at"] is not None
    assert sorted((k["keyword"], k["whole_word"]) for k in f["keywords"]) == [("ending", False), ("finale", True)]
    listing = (await b.get("/settings/filters")).text
    assert "Spoilers" in listing and "finale (whole word)" in listing and "Conversations" in listing
    finale = next(k for k in f["keywords"] if k["keyword"] == "finale")
    ending = next(k for k in f["keywords"] if k["keyword"] == "ending")
    edit = (await b.get(f"/settings/filters/{f['id']}")).text
    assert f'name="keyword_{finale["id"]}" maxlength="512" value="finale"' in edit
    # Bad input (no context left): a clear error page and nothing changed, not even the keyword removal.
    r = await b.post(f"/settings/filters/{f['id']}", {"title": "Renamed", "filter_action": "warn", "expires_in": "keep",
                                                      f"remove_{ending['id']}": "1"})
    assert r.status_code == 422 and "Context can" in r.text
    assert (await alice.get(f"/api/v2/filters/{f['id']}")).json() == f
    r = await b.post(f"/settings/filters/{f['id']}", {"title": "Renamed", "context_public": "1", "filter_action": "warn",
                                                      "expires_in": "", f"keyword_{finale['id']}": "season finale",
                                                      f"whole_word_{finale['id']}": "1", f"remove_{ending['id']}": "1",
                                                      "new_keyword_0": "twist"})
    assert r.status_code == 303
    changed = (await alice.get(f"/api/v2/filters/{f['id']}")).json()
    assert changed["title"] == "Renamed" and changed["context"] == ["public"] and changed["filter_action"] == "warn"
    assert changed["expires_at"] is None
    assert sorted(k["keyword"] for k in changed["keywords"]) == ["season finale", "twist"]
    r = await b.post("/settings/filters", {"title": "x", "context_home": "1", "expires_in": "99"})
    assert r.status_code == 422 and len((await alice.get("/api/v2/filters")).json()) == 1
    # Another account's filter is not found, to read, change or delete.
    other = browsers()
    await other.sign_up("mallory")
    assert (await other.get(f"/settings/filters/{f['id']}")).status_code == 404
    assert (await other.post(f"/settings/filters/{f['id']}/delete")).status_code == 404
    assert (await b.post(f"/settings/filters/{f['id']}/delete")).status_code == 303
    assert (await alice.get("/api/v2/filters")).json() == []


async def test_apps_and_sessions_can_be_revoked_and_the_current_one_signs_out(server, browsers):
    alice = await server.user("alice")  # holds a token of the "tests" app
    here, there = browsers(), browsers()
    await here.sign_in("alice")
    await there.sign_in("alice")
    page = (await here.get("/settings/sessions")).text
    assert "tests" in page and "This browser" in page and "Sign out session 1" in page and "Sign out this browser" in page
    app_id = re.search(r'/settings/apps/(\d+)/revoke', page).group(1)
    sessions = re.findall(r'/settings/sessions/(\d+)/revoke', page)
    assert len(sessions) == 2
    mallory = browsers()
    await mallory.sign_up("mallory")
    await mallory.get("/settings/sessions")
    assert (await mallory.post(f"/settings/apps/{app_id}/revoke")).status_code == 404
    assert (await mallory.post(f"/settings/sessions/{sessions[0]}/revoke")).status_code == 404
    assert (await alice.get("/api/v1/accounts/verify_credentials")).status_code == 200
    r = await here.post(f"/settings/apps/{app_id}/revoke")
    assert r.status_code == 303
    assert (await alice.get("/api/v1/accounts/verify_credentials")).status_code == 401
    assert "tests" not in (await here.get("/settings/sessions")).text
    current = re.search(r'This browser</td>\s*<td>[^<]*</td>\s*<td><form method="post" action="/settings/sessions/(\d+)/revoke"', page).group(1)
    other = next(s for s in sessions if s != current)
    assert (await here.post(f"/settings/sessions/{other}/revoke")).status_code == 303
    assert "Create an account" in (await there.get("/")).text  # that browser is signed out
    r = await here.post(f"/settings/sessions/{current}/revoke")
    assert r.status_code == 303 and r.headers["location"] == "/auth/sign_in"
    assert "ts_session=" in r.headers["set-cookie"] and here.session is None
    assert (await here.get("/settings")).status_code == 401


async def test_blocks_and_mutes_list_with_undo_buttons(server, browsers):
    alice = await server.user("alice")
    bob, carol = await server.user("bob"), await server.user("carol")
    await alice.post(f"/api/v1/accounts/{bob.id}/block")
    await alice.post(f"/api/v1/accounts/{carol.id}/mute")
    b = browsers()
    await b.sign_in("alice")
    blocks = (await b.get("/settings/blocks")).text
    assert "Unblock @bob" in blocks and "carol" not in blocks
    mutes = (await b.get("/settings/mutes")).text
    assert "Unmute @carol" in mutes and "@bob" not in mutes
    assert (await b.post(f"/settings/blocks/{bob.id}/undo")).status_code == 303
    assert (await b.post(f"/settings/mutes/{carol.id}/undo")).status_code == 303
    rels = (await alice.get("/api/v1/accounts/relationships", params={"id[]": [bob.id, carol.id]})).json()
    assert [(r["blocking"], r["muting"]) for r in rels] == [(False, False), (False, False)]
    assert "You block nobody." in (await b.get("/settings/blocks")).text
    assert (await b.post(f"/settings/friends/{bob.id}/undo")).status_code == 404


async def test_password_page_changes_it_with_the_current_one(server, browsers):
    b = browsers()
    await b.sign_up("alice")
    await b.get("/settings/password")
    r = await b.post("/settings/password", {"current_password": "nope", "new_password": "a new password"})
    assert r.status_code == 422 and "Current password is invalid" in r.text
    assert (await browsers().sign_in("alice", PASSWORD)).status_code == 303  # unchanged
    r = await b.post("/settings/password", {"current_password": PASSWORD, "new_password": "a new password"})
    assert r.status_code == 303 and r.headers["location"].startswith("/settings/password?notice=")
    assert (await browsers().sign_in("alice", "a new password")).status_code == 303


def _png(color: str, size=(64, 64)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


async def test_avatar_and_header_upload_with_alt_text_replace_and_remove(server, browsers):
    alice = await server.user("alice")
    b = browsers()
    await b.sign_in("alice")
    await b.get("/settings")
    form = {"csrf_token": b.token, "display_name": "Alice", "avatar_description": "A red square",
            "header_description": "A blue band"}
    r = await b.http.post("/settings/profile", data=form,
                          files={"avatar": ("me.png", _png("red"), "image/png"), "header": ("h.png", _png("blue", (300, 100)), "image/png")})
    assert r.status_code == 303, r.text
    account = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert not account["avatar"].endswith("/static/avatar.png")
    assert account["avatar_description"] == "A red square" and account["header_description"] == "A blue band"
    first = account["avatar"]
    got = await fetch(server, first)
    assert got.status_code == 200 and got.content[:8] == b"\x89PNG\r\n\x1a\n"
    profile = (await b.get("/@alice")).text
    assert f'src="{first.removeprefix(BASE)}" alt="A red square"' in profile and 'alt="A blue band"' in profile
    settings_page = (await b.get("/settings")).text
    assert 'value="A red square"' in settings_page and 'name="remove_avatar"' in settings_page
    # Not an image: a clear error, nothing changed (the display name neither).
    r = await b.http.post("/settings/profile", data={**form, "display_name": "Changed"},
                          files={"avatar": ("me.png", b"just some text, not a picture", "image/png")})
    assert r.status_code == 422 and "must be an image" in r.text
    again = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert again["avatar"] == account["avatar"] and again["display_name"] == "Alice"
    # A new avatar replaces the old one, whose file goes once the job runs.
    r = await b.http.post("/settings/profile", data=form, files={"avatar": ("new.png", _png("green"), "image/png")})
    assert r.status_code == 303
    await server.settle()
    replaced = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert replaced["avatar"] != account["avatar"] and replaced["header"] == account["header"]
    assert (await fetch(server, first)).status_code == 404
    r = await b.http.post("/settings/profile", data={**form, "remove_avatar": "1"})
    assert r.status_code == 303
    gone = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert gone["avatar"].endswith("/static/avatar.png") and gone["avatar_description"] == ""
    assert gone["header"] == account["header"]
