"""The status page and its JSON twin agree: the thread's order and what is hidden, search results, the unread badge."""

from __future__ import annotations

import re

from sqlalchemy import update

from townsquare.core.clock import now
from townsquare.storage.tables import accounts

ARTICLE = re.compile(r'<article class="status[^"]*" id="status-(\d+)"')
BADGE = re.compile(r'id="unread-count" data-count="(\d+)"')


async def _post(server, user, text: str, **data) -> str:
    r = await user.post("/api/v1/statuses", data={"status": text, **data})
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def test_the_thread_reads_in_the_order_of_the_api_context(server, browsers):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    await bob.post(f"/api/v1/accounts/{carol.id}/follow")  # so bob may see, and answer, carol's private reply
    root = await _post(server, alice, "root of the thread")
    a = await _post(server, bob, "@alice first answer", in_reply_to_id=root)
    hidden = await _post(server, carol, "@alice only my followers see this", in_reply_to_id=root, visibility="private")
    under_hidden = await _post(server, bob, "@carol a public reply below it", in_reply_to_id=hidden)
    deep = await _post(server, alice, "@bob deeper", in_reply_to_id=a)
    deeper = await _post(server, carol, "@alice deeper still", in_reply_to_id=deep)
    late = await _post(server, alice, "a late second answer", in_reply_to_id=root)
    await server.settle()
    b = browsers()
    for focus in (root, deep, under_hidden):
        page = await b.get(f"/@{'alice' if focus != under_hidden else 'bob'}/{focus}")
        assert page.status_code == 200
        shown = ARTICLE.findall(page.text)
        twin = (await server.http.get(f"/api/v1/statuses/{focus}/context")).json()
        expected = [s["id"] for s in twin["ancestors"]] + [focus] + [s["id"] for s in twin["descendants"]]
        assert shown == expected, focus
        assert hidden not in shown  # a stranger never sees the private reply, on the page as in the API
    # Depth first, oldest first, and a public reply below a hidden post keeps its place.
    assert ARTICLE.findall((await b.get(f"/@alice/{root}")).text) == [root, a, deep, deeper, under_hidden, late]
    assert ARTICLE.findall((await b.get(f"/@alice/{deep}")).text) == [root, a, deep, deeper]
    reader = browsers()
    await reader.sign_in("carol", "correct horse battery")
    assert hidden in ARTICLE.findall((await reader.get(f"/@alice/{root}")).text)  # its author sees it in place
    assert (await b.get(f"/@alice/{hidden}")).status_code == 404
    assert (await b.get(f"/@bob/{root}")).status_code == 404  # the wrong author is no alias, even with a thread


async def test_search_page_finds_what_the_api_finds(server, browsers):
    alice, bob = await server.user("alice"), await server.user("bob")
    for text in ("the orchard at dawn", "an orchard of apples, the orchard", "orchards elsewhere", "not this one"):
        await _post(server, bob, text)
    await _post(server, bob, "orchard for followers", visibility="private")
    b = browsers()
    await b.sign_in("alice", "correct horse battery")
    for q in ("orchard", '"orchard at"', "orchard -apples"):
        api = (await alice.get("/api/v2/search", params={"q": q, "type": "statuses"})).json()["statuses"]
        page = (await b.get("/search", params={"q": q})).text
        assert ARTICLE.findall(page) == [s["id"] for s in api], q
    assert len(ARTICLE.findall((await b.get("/search", params={"q": "orchard"})).text)) == 2


async def test_the_unread_badge_counts_as_the_markers_do(server, browsers):
    alice, bob, carol = await server.user("alice"), await server.user("bob"), await server.user("carol")
    b = browsers()
    await b.sign_in("alice", "correct horse battery")

    async def badge() -> int:
        return int(BADGE.search((await b.get("/about")).text).group(1))

    assert await badge() == 0
    first = await _post(server, bob, "@alice hello")
    await _post(server, carol, "@alice hello from carol")
    await server.settle()
    assert await badge() == 2
    notes = (await alice.get("/api/v1/notifications")).json()
    assert (await alice.post("/api/v1/markers", data={"notifications[last_read_id]": notes[-1]["id"]})).status_code == 200
    assert await badge() == 1  # only what is newer than the marker
    async with server.ctx.db.write() as conn:  # a suspended sender's notifications are not counted
        await conn.execute(update(accounts).where(accounts.c.id == int(carol.id)).values(suspended_at=now()))
    assert await badge() == 0
    assert first  # the mention that was read stays read
    await b.post("/auth/sign_out")
    assert BADGE.search((await b.get("/about")).text) is None  # the revoked session is nobody


async def test_pages_link_versioned_assets_that_browsers_may_keep(server, browsers):
    html = (await browsers().get("/")).text
    links = re.findall(r'(?:href|src)="(/web-static/[^"]+\?v=[0-9a-f]{12})"', html)
    assert any("app.css" in u for u in links) and any("app.js" in u for u in links)
    for url in links:
        r = await server.http.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert r.content == (await server.http.get(url.split("?")[0])).content
    css = next(u for u in links if "app.css" in u)
    packed = await server.http.get(css, headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    raw = await server.http.get(css, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers and packed.content == raw.content  # httpx decodes the gzip
    assert int(packed.headers["content-length"]) < int(raw.headers["content-length"])
    again = await server.http.get(css, headers={"if-none-match": raw.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    plain = await server.http.get("/web-static/app.css")
    assert plain.headers["cache-control"] == "public, max-age=300"  # an unversioned URL is rechecked soon
    assert "cache-control" not in (await server.http.get("/web-static/nothing.css")).headers
