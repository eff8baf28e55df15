"""Pages: what they show to whom (the API's visibility), the API's urls resolving to them, actions as forms, moderation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.conftest import BASE


async def _post(server, user, **data) -> dict:
    r = await user.post("/api/v1/statuses", data=data)
    assert r.status_code == 200, r.text
    await server.settle()
    return r.json()


async def test_pages_have_landmarks_and_no_inline_script_or_style(server, browsers):
    b = browsers()
    r = await b.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    html = r.text
    assert '<a class="skip" href="#main">' in html and '<main id="main"' in html
    assert "<header" in html and '<nav aria-label="Main">' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # every script is a file
    assert " style=" not in html and "<style" not in html
    assert "/web-static/app.js" in html


async def test_api_urls_resolve_to_pages_with_opengraph_tags(server, browsers):
    alice = await server.user("alice")
    status = await _post(server, alice, status="Hello #squares", visibility="public")
    b = browsers()
    for url in (status["url"], status["account"]["url"], status["tags"][0]["url"]):
        r = await b.get(urlsplit(url).path)
        assert r.status_code == 200, url
        assert 'property="og:title"' in r.text and 'name="twitter:card"' in r.text
    page = (await b.get(urlsplit(status["url"]).path)).text
    assert f'property="og:url" content="{BASE}/@alice/{status["id"]}"' in page
    assert 'content="Hello #squares"' in page
    assert re.search(r'<article class="status main-status" id="status-\d+" tabindex="-1"\s+aria-label="alice: Hello #squares', page)


async def test_private_and_direct_posts_are_404_to_strangers_as_in_the_api(server, browsers):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    private = await _post(server, alice, status="followers only", visibility="private")
    direct = await _post(server, alice, status="@carol just you", visibility="direct")
    stranger, follower = browsers(), browsers()
    await follower.sign_in("bob", "correct horse battery")
    for s in (private, direct):
        path = urlsplit(s["url"]).path
        assert (await stranger.get(path)).status_code == 404
        assert (await server.http.get(f"/api/v1/statuses/{s['id']}")).status_code == 404
    assert (await follower.get(urlsplit(private["url"]).path)).status_code == 200
    assert (await follower.get(urlsplit(direct["url"]).path)).status_code == 404
    mentioned = browsers()
    await mentioned.sign_in("carol", "correct horse battery")
    assert (await mentioned.get(urlsplit(direct["url"]).path)).status_code == 200
    profile = (await stranger.get("/@alice")).text
    assert "followers only" not in profile and "just you" not in profile
    assert (await stranger.get("/@alice/12345")).status_code == 404
    assert (await stranger.get(f"/@bob/{private['id']}")).status_code == 404  # the wrong author is no alias


async def test_post_reply_favourite_boost_follow_through_forms(server, browsers):
    bob = await server.user("bob")
    b = browsers()
    await b.sign_up("alice")
    r = await b.post("/statuses", {"status": "spoilers inside", "spoiler_text": "film ending", "visibility": "public"})
    assert r.status_code == 303
    await server.settle()
    mine = (await bob.get("/api/v1/timelines/public")).json()[0]
    assert mine["spoiler_text"] == "film ending" and mine["account"]["username"] == "alice"
    page = (await b.get(f"/@alice/{mine['id']}")).text
    assert "<summary>Content warning: film ending</summary>" in page
    reply = await _post(server, bob, status="@alice no way", in_reply_to_id=mine["id"])
    await b.post("/statuses", {"status": "@bob yes way", "in_reply_to_id": reply["id"], "next": f"/@bob/{reply['id']}"})
    await server.settle()
    thread = (await b.get(f"/@alice/{mine['id']}")).text
    assert "no way" in thread and "yes way" in thread and thread.index("no way") < thread.index("yes way")
    await b.post(f"/statuses/{reply['id']}/favourite", {"item": reply["id"]})
    await b.post(f"/statuses/{reply['id']}/reblog", {"item": reply["id"]})
    await b.post("/@bob/follow")
    await server.settle()
    seen = (await bob.get(f"/api/v1/statuses/{reply['id']}")).json()
    assert seen["favourites_count"] == 1 and seen["reblogs_count"] == 1
    rel = (await bob.get("/api/v1/accounts/relationships", params={"id[]": (await bob.get("/api/v1/accounts/lookup?acct=alice")).json()["id"]})).json()[0]
    assert rel["followed_by"] is True
    kinds = sorted(n["type"] for n in (await bob.get("/api/v1/notifications")).json())
    assert kinds == ["favourite", "follow", "mention", "reblog"]


async def test_htmx_gets_the_changed_post_only(server, browsers):
    alice = await server.user("alice")
    s = await _post(server, alice, status="like me", visibility="public")
    b = browsers()
    await b.sign_up("bob")
    await b.get("/public/local")
    r = await b.post(f"/statuses/{s['id']}/favourite", {"item": s["id"]}, headers={"hx-request": "true",
                                                                                   "hx-current-url": f"{BASE}/public/local"})
    assert r.status_code == 200 and r.text.lstrip().startswith("<article") and "<html" not in r.text
    assert 'aria-pressed="true" data-focus-key="Favourite"' in r.text and f'action="/statuses/{s["id"]}/unfavourite"' in r.text
    assert 'name="next" value="/public/local"' in r.text


async def test_notifications_filter_by_type_and_mark_read(server, browsers):
    bob = await server.user("bob")
    b = browsers()
    await b.sign_up("alice")
    await b.post("/statuses", {"status": "notice me", "visibility": "public"})
    await server.settle()
    sid = (await bob.get("/api/v1/timelines/public")).json()[0]["id"]
    await bob.post(f"/api/v1/statuses/{sid}/favourite")
    alice_id = (await bob.get("/api/v1/accounts/lookup?acct=alice")).json()["id"]
    await bob.post(f"/api/v1/accounts/{alice_id}/follow")
    home = (await b.get("/")).text
    assert 'data-count="2"' in home
    follows = (await b.get("/notifications?type=follow")).text
    assert "followed you" in follows and "favourited your post" not in follows
    everything = (await b.get("/notifications")).text
    assert "followed you" in everything and "favourited your post" in everything
    assert 'data-count="0"' in (await b.get("/")).text  # seeing the newest marks them read
    assert (await b.get("/notifications?type=bogus")).status_code == 422


async def test_settings_edit_the_profile_as_the_api_sees_it(server, browsers):
    b = browsers()
    await b.sign_up("alice")
    await b.get("/settings")
    r = await b.post("/settings/profile", {"display_name": "Alice A.", "note": "Hi <b>there</b>", "field_name_0": "Web",
                                           "field_value_0": "example.org", "locked": "1", "privacy": "unlisted"})
    assert r.status_code == 303
    account = (await b.http.get("/api/v1/accounts/lookup?acct=alice")).json()
    assert account["display_name"] == "Alice A." and account["locked"] is True
    assert account["fields"][0]["name"] == "Web"
    profile = (await b.get("/@alice")).text
    assert "Alice A." in profile and "&lt;b&gt;there&lt;/b&gt;" in profile and "<b>there" not in profile
    r = await b.post("/settings/profile", {"display_name": "x" * 31})
    assert r.status_code == 422


async def test_search_finds_people_tags_and_posts(server, browsers):
    alice = await server.user("alice")
    await _post(server, alice, status="squares are #geometry", visibility="public")
    anonymous = (await browsers().get("/search?q=geometry")).text
    assert "/tags/geometry" in anonymous and "squares are" not in anonymous  # posts only for signed-in users, as the API
    b = browsers()
    await b.sign_up("bob")
    found = (await b.get("/search?q=squares")).text
    assert "squares are" in found
    assert "/@alice" in (await b.get("/search?q=ali")).text


async def test_report_resolve_suspend_and_unsuspend(server, browsers):
    mod = await server.user("moderator1", role="moderator")
    user = browsers()
    await user.sign_up("troll")
    await user.post("/statuses", {"status": "bad words", "visibility": "public"})
    await server.settle()
    sid = (await mod.get("/api/v1/timelines/public")).json()[0]["id"]
    reporter = browsers()
    await reporter.sign_up("reporter")
    assert "bad words" in (await reporter.get(f"/@troll/{sid}/report")).text
    r = await reporter.post("/@troll/report", {"status_ids": sid, "category": "spam", "comment": "spam!"})
    assert r.status_code == 200 and "was sent to the moderators" in r.text
    assert (await reporter.get("/admin")).status_code == 403
    staff = browsers()
    await staff.sign_in("moderator1", "correct horse battery")
    queue = (await staff.get("/admin")).text
    report_id = re.search(r"/admin/reports/(\d+)/resolve", queue).group(1)
    assert "bad words" in queue and "spam!" in queue
    await staff.post(f"/admin/reports/{report_id}/resolve")
    assert "Resolve report" not in (await staff.get("/admin")).text
    troll_id = (await mod.get("/api/v1/accounts/lookup?acct=troll")).json()["id"]
    r = await staff.post(f"/admin/accounts/{troll_id}/action", {"type": "suspend", "text": "spamming"})
    assert r.status_code == 303
    # Suspended: the profile is gone, and the account sees only its warning and the appeal form.
    assert (await reporter.get("/@troll")).status_code == 404
    for path in ("/", "/public/local", "/settings"):
        page = (await user.get(path)).text
        assert "Your account is suspended" in page and "spamming" in page and "bad words" not in page
    assert (await user.post("/statuses", {"status": "still here"})).status_code == 403
    warning = re.search(r"/account_status/(\d+)/appeal", (await user.get("/")).text).group(1)
    assert (await user.post(f"/account_status/{warning}/appeal", {"text": "sorry"})).status_code == 303
    assert "Your appeal" in (await user.get("/")).text
    await staff.get("/admin")
    r = await staff.post(f"/admin/accounts/{troll_id}/unsuspend", {"reason": "appeal read"})
    assert r.status_code == 303
    assert (await reporter.get("/@troll")).status_code == 200
    assert "<h1>Home</h1>" in (await user.get("/")).text
    log = (await browsers().get("/about")).text
    assert "suspend" in log and "unsuspend" in log


async def test_unknown_page_addresses_get_an_html_404_and_api_ones_json(server, browsers):
    r = await browsers().get("/no/such/page")
    assert r.status_code == 404 and "<main" in r.text
    api = await server.http.get("/api/v1/nope")
    assert api.status_code == 404 and api.json() == {"error": "Not Found"}


async def test_space_pages_list_rooms_and_show_one(server, browsers):
    host = await server.user("host")
    r = await host.post("/api/v1/spaces", data={"title": "Morning chat", "scheduled_at": "2030-01-01T09:00:00Z"})
    assert r.status_code == 200, r.text
    space = r.json()
    b = browsers()
    listing = (await b.get("/spaces")).text
    assert f'href="/spaces/{space["id"]}">Morning chat</a>' in listing
    page = await b.get(f"/spaces/{space['id']}")
    assert page.status_code == 200 and "Hosted by" in page.text and 'property="og:title" content="Morning chat"' in page.text
    assert "has not started yet" in page.text and "/web-static/space.js" in page.text
    assert "hls.light.min.js" not in re.findall(r'<script src="([^"]+)"', page.text)  # hls.js only on Play
    assert (await b.get("/spaces/999")).status_code == 404
