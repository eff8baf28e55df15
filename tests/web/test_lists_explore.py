"""Explore (trends), bookmarks, favourites, lists and follow requests as pages and forms, the API seeing the same."""

from __future__ import annotations

import re

from tests.api.linksite import LinkSite
from townsquare.services import auth, trends
from townsquare.storage import accounts
from townsquare.web import pages_explore, pages_public


async def _post(server, user, **data) -> dict:
    r = await user.post("/api/v1/statuses", data=data)
    assert r.status_code == 200, r.text
    await server.settle()
    return r.json()


async def _refresh(server) -> None:
    async with server.ctx.db.write() as conn:
        await trends.refresh_trends(conn, threshold=1)


async def test_explore_shows_trending_posts_tags_and_links_with_pages(make_server, browsers, monkeypatch):
    with LinkSite() as site:
        server = await make_server(link_cards_allow_private="127.0.0.1/32", link_cards_timeout=2.0)
        alice, bob = await server.user("alice"), await server.user("bob")
        hot = await _post(server, alice, status=f"#otters read {site.url}/article", visibility="public")
        await _post(server, alice, status="#badgers as well", visibility="public")
        await _post(server, bob, status="#badgers and #otters too", visibility="public")
        await bob.post(f"/api/v1/statuses/{hot['id']}/favourite")
        await bob.post(f"/api/v1/statuses/{hot['id']}/reblog")
        await server.settle()
        await _refresh(server)
        anon = browsers(server.app)
        posts = (await anon.get("/explore")).text
        assert "#otters read" in posts and 'aria-current="page">Posts</a>' in posts
        tags = (await anon.get("/explore/tags")).text
        assert 'href="/tags/otters"' in tags and 'href="/tags/badgers"' in tags
        links = (await anon.get("/explore/links")).text
        assert f'<a class="card" href="{site.url}/article"' in links and "Otters (video)" in links
        monkeypatch.setattr(pages_explore, "TAGS_PAGE", 1)
        first = (await anon.get("/explore/tags")).text
        assert '<a href="/explore/tags?offset=1">Next page</a>' in first and "Previous page" not in first
        second = (await anon.get("/explore/tags?offset=1")).text
        assert '<a href="/explore/tags">Previous page</a>' in second
        assert first.count('href="/tags/') == 1 and second.count('href="/tags/') == 1
        r = await anon.get("/explore/tags?offset=lots")
        assert r.status_code == 422 and "offset must be a number" in r.text


async def test_bookmarks_and_favourites_pages_with_pagination(server, browsers, monkeypatch):
    alice = await server.user("alice")
    one = await _post(server, alice, status="first post", visibility="public")
    two = await _post(server, alice, status="second post", visibility="public")
    b = browsers()
    assert (await b.get("/bookmarks")).status_code == 401
    await b.sign_up("bob")
    await b.get("/public/local")
    for s in (two, one):  # the most recently bookmarked comes first
        assert (await b.post(f"/statuses/{s['id']}/bookmark", {"item": s["id"]})).status_code == 303
    await b.post(f"/statuses/{one['id']}/favourite", {"item": one["id"]})
    marks = (await b.get("/bookmarks")).text
    assert marks.index("first post") < marks.index("second post")
    assert [s["id"] for s in (await _api(server, b, "/api/v1/bookmarks"))] == [one["id"], two["id"]]
    favs = (await b.get("/favourites")).text
    assert "first post" in favs and "second post" not in favs
    monkeypatch.setattr(pages_public, "PAGE_SIZE", 1)
    page1 = (await b.get("/bookmarks")).text
    older = re.search(r'<a href="(/bookmarks\?max_id=\d+)">Older posts</a>', page1).group(1)
    assert "first post" in page1 and "second post" not in page1
    assert "second post" in (await b.get(older)).text
    await b.post(f"/statuses/{one['id']}/unbookmark", {"item": one["id"]})
    monkeypatch.setattr(pages_public, "PAGE_SIZE", 20)
    assert "first post" not in (await b.get("/bookmarks")).text


async def _api(server, b, path: str) -> list:
    """What the API answers to a token of the account the browser signed up."""
    async with server.ctx.db.write() as conn:
        account = await accounts.by_username(conn, "bob")
        app = await auth.create_app(conn, "t", [auth.OOB], auth.parse_scopes("read"), None)
        token, _ = await auth.issue_token(conn, app["id"], account.id, auth.parse_scopes("read"))
    return (await server.http.get(path, headers={"authorization": f"Bearer {token}"})).json()


async def test_lists_create_rename_members_timeline_and_delete(server, browsers):
    carol, dave = await server.user("carol"), await server.user("dave")
    b = browsers()
    await b.sign_up("bob")
    await b.get("/lists")
    assert (await b.post("/lists", {"title": "   "})).status_code == 422
    assert "You have no lists yet." in (await b.get("/lists")).text
    r = await b.post("/lists", {"title": "Friends", "replies_policy": "list"})
    assert r.status_code == 303
    list_path = r.headers["location"].split("?")[0]
    lid = list_path.rsplit("/", 1)[1]
    page = (await b.get(list_path)).text
    assert "<h1>Friends</h1>" in page and "Nobody yet." in page
    # Only people bob follows may join; a stranger or nobody gets a clear page and nothing changes.
    r = await b.post(f"{list_path}/accounts", {"username": "carol"})
    assert r.status_code == 422 and "must be followed" in r.text
    assert (await b.post(f"{list_path}/accounts", {"username": "nobody"})).status_code == 422
    await b.post("/@carol/follow")
    await b.post("/@dave/follow")
    assert (await b.post(f"{list_path}/accounts", {"username": "@carol"})).status_code == 303
    await _post(server, carol, status="carol in the list", visibility="public")
    await _post(server, dave, status="dave not in the list", visibility="public")
    page = (await b.get(list_path)).text
    assert "@carol" in page and "carol in the list" in page and "dave not in the list" not in page
    assert f'action="/lists/{lid}/accounts/{carol.id}/remove"' in page
    assert (await b.post(f"{list_path}/rename", {"title": "Close friends"})).status_code == 303
    assert "<h1>Close friends</h1>" in (await b.get(list_path)).text
    assert (await b.post(f"{list_path}/rename", {"title": ""})).status_code == 422
    # Someone else's list is a 404 for every page and form, and stays as it was.
    other = browsers()
    await other.sign_up("eve")
    await other.get("/lists")
    assert (await other.get(list_path)).status_code == 404
    for action, data in (("rename", {"title": "mine now"}), ("delete", {}), ("accounts", {"username": "carol"}),
                         (f"accounts/{carol.id}/remove", {})):
        assert (await other.post(f"{list_path}/{action}", data)).status_code == 404, action
    assert "<h1>Close friends</h1>" in (await b.get(list_path)).text and "@carol" in (await b.get(list_path)).text
    await b.post(f"{list_path}/accounts/{carol.id}/remove")
    assert "Nobody yet." in (await b.get(list_path)).text
    assert (await b.post(f"{list_path}/delete")).status_code == 303
    assert (await b.get(list_path)).status_code == 404
    assert (await b.get("/lists/not-an-id")).status_code == 404
    assert (await browsers().get("/lists")).status_code == 401


async def test_follow_requests_authorize_and_reject(server, browsers):
    bob, carol = await server.user("bob"), await server.user("carol")
    b = browsers()
    await b.sign_up("alice")
    await b.get("/settings")
    await b.post("/settings/profile", {"display_name": "Alice", "locked": "1"})
    alice_id = (await bob.get("/api/v1/accounts/lookup?acct=alice")).json()["id"]
    await bob.post(f"/api/v1/accounts/{alice_id}/follow")
    await carol.post(f"/api/v1/accounts/{alice_id}/follow")
    page = (await b.get("/follow_requests")).text
    assert 'href="/follow_requests"' in page  # a locked account finds the page in the menu
    assert f'action="/follow_requests/{bob.id}/authorize"' in page and f'action="/follow_requests/{carol.id}/reject"' in page
    assert (await b.post(f"/follow_requests/{bob.id}/authorize")).status_code == 303
    assert (await b.post(f"/follow_requests/{carol.id}/reject")).status_code == 303
    assert (await b.post(f"/follow_requests/{carol.id}/authorize")).status_code == 404  # already answered
    assert (await b.post(f"/follow_requests/{bob.id}/sideways")).status_code == 404
    rel = (await bob.get("/api/v1/accounts/relationships", params={"id[]": alice_id})).json()[0]
    assert rel["following"] is True
    rel = (await carol.get("/api/v1/accounts/relationships", params={"id[]": alice_id})).json()[0]
    assert rel["following"] is False and rel["requested"] is False
    assert "Nobody is asking to follow you." in (await b.get("/follow_requests")).text
    assert (await browsers().get("/follow_requests")).status_code == 401
