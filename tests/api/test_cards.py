"""Link preview cards: fetched by a durable job from a real loopback site, safely, and shown as `card` on statuses."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.api.conftest import post
from tests.api.mastodon_schema import schema_errors
from tests.api.linksite import LinkSite
from townsquare.cards.fetch import FetchPolicy, FetchRefused, fetch
from townsquare.cards.service import first_link
from townsquare.timelines import events


@pytest.fixture
def site():
    """The loopback site the statuses link to."""
    with LinkSite() as running:
        yield running


@pytest.fixture
async def carded(make_server, site):
    """A server allowed to fetch from 127.0.0.1 only (the site); timeouts generous for a loaded machine."""
    return await make_server(link_cards_allow_private="127.0.0.1/32", link_cards_timeout=3.0)


async def _drain(sub) -> list[tuple[str, dict]]:
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(sub.__anext__(), 1.0))
        except asyncio.TimeoutError:
            return got


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/article", "http://localhost:{port}/article", "http://[::1]:{port}/article",
    "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/", "http://192.168.0.1/", "http://[::ffff:127.0.0.1]:{port}/article",
    "http://0.0.0.0:{port}/article", "ftp://127.0.0.1/", "file:///etc/passwd",
])
async def test_private_and_non_http_addresses_are_refused(site, url):
    with pytest.raises(FetchRefused):
        await fetch(url.format(port=site.port), FetchPolicy(timeout=0.5))
    assert site.hits["/article"] == 0  # refused before connecting, after resolving the name


@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://[::1]:{port}/article", "http://169.254.169.254/",
                                    "http://192.168.1.1:{port}/", "gopher://127.0.0.1/"])
async def test_a_redirect_to_a_private_address_is_refused(site, target):
    policy = FetchPolicy.allowing("127.0.0.1/32", timeout=3.0)
    good = await fetch(f"{site.url}/redirect?to={site.url}/plain", policy)  # the allowed address itself works
    assert good.url.endswith("/plain") and b"Just a" in good.body
    with pytest.raises(FetchRefused):
        await fetch(f"{site.url}/redirect?to={target.format(port=site.port)}", policy)
    assert site.hits["/article"] == 0


async def test_redirects_are_capped_oversize_pages_and_slow_servers_refused(site):
    policy = FetchPolicy.allowing("127.0.0.1", timeout=2.0, max_redirects=3)
    assert (await fetch(f"{site.url}/chain/2", policy)).url.endswith("/plain")  # 3 redirects
    with pytest.raises(FetchRefused, match="redirects"):
        await fetch(f"{site.url}/chain/3", policy)  # 4 redirects
    with pytest.raises(FetchRefused, match="cap"):
        await fetch(f"{site.url}/big", policy)
    with pytest.raises(FetchRefused, match="cap"):
        await fetch(f"{site.url}/big-chunked", policy)
    started = time.monotonic()
    with pytest.raises(FetchRefused):
        await fetch(f"{site.url}/slow?s=6", policy)
    assert time.monotonic() - started < 5.5  # the read timeout, not the server, ended it
    started = time.monotonic()
    with pytest.raises(FetchRefused):
        await fetch(f"{site.url}/trickle", policy)
    assert time.monotonic() - started < 8  # the whole fetch's deadline (2 x timeout), not the 10 s trickle


def test_first_link_skips_mentions_and_hashtags():
    html = ('<p><span class="h-card"><a href="http://x.test/@bob" class="u-url mention">@bob</a></span> '
            '<a href="http://x.test/tags/cats" class="mention hashtag" rel="tag">#cats</a> '
            '<a href="https://otters.example/a" rel="nofollow">otters</a></p>')
    assert first_link(html) == "https://otters.example/a"
    assert first_link("<p>no links</p>") is None


async def test_a_status_with_a_link_gets_the_pages_card(carded, site):
    alice = await carded.user("alice")
    bob = await carded.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    sub = await carded.ctx.bus.subscribe([events.PUBLIC])
    status = await post(alice, f"Look at this {site.url}/article?x=1 #otters")
    assert status["card"] is None  # the page is read afterwards, by a job committed with the status
    await carded.settle()
    updates = [m for _, m in await _drain(sub) if m.get("event") == "status.update"]
    assert {"event": "status.update", "status_id": status["id"]} in updates
    card = (await bob.get(f"/api/v1/statuses/{status['id']}")).json()["card"]
    assert card["url"] == f"{site.url}/article?x=1"
    assert card["title"] == "Otters (video)"  # oEmbed's title wins over OpenGraph's
    assert card["description"] == "How sea otters crack shells."
    assert card["type"] == "video" and card["width"] == 640 and card["height"] == 360
    assert card["html"] == '<iframe src="https://otters.example/embed/1" width="640" height="360"></iframe>'
    assert card["image"] == f"{site.url}/img/otter.jpg" and card["image_description"] == "An otter with a rock"
    assert card["provider_name"] == "OtterTube" and card["author_name"] == "Ada Lovelace"
    assert card["authors"] == [{"name": "Ada Lovelace", "url": "https://otters.example/ada", "account": None}]
    assert card["published_at"] == "2026-11-30T12:00:00.000Z"
    assert card["language"] == "en"
    assert schema_errors(card, "PreviewCard") == []
    home = (await bob.get("/api/v1/timelines/home")).json()
    assert home[0]["id"] == status["id"] and home[0]["card"] == card
    public = (await bob.get("/api/v1/timelines/public")).json()
    assert public[0]["card"] == card
    # Another status linking to the same URL shares the card: the page is not fetched again.
    again = await post(bob, f"{site.url}/article?x=1 is good")
    await carded.settle()
    assert (await bob.get(f"/api/v1/statuses/{again['id']}")).json()["card"] == card
    assert site.hits["/article"] == 1 and site.hits["/oembed.json"] == 1
    reblog = (await bob.post(f"/api/v1/statuses/{status['id']}/reblog")).json()
    assert reblog["reblog"]["card"] == card


async def test_editing_the_link_changes_or_drops_the_card(carded, site):
    alice = await carded.user("alice")
    status = await post(alice, f"see {site.url}/article")
    await carded.settle()
    r = await alice.put(f"/api/v1/statuses/{status['id']}", data={"status": f"rather {site.url}/plain"})
    assert r.status_code == 200, r.text
    await carded.settle()
    card = (await alice.get(f"/api/v1/statuses/{status['id']}")).json()["card"]
    assert card["url"] == f"{site.url}/plain" and card["title"] == "Just a title" and card["type"] == "link"
    assert card["image"] is None and card["html"] == ""
    r = await alice.put(f"/api/v1/statuses/{status['id']}", data={"status": "no link any more"})
    assert r.json()["card"] is None
    await carded.settle()
    assert (await alice.get(f"/api/v1/statuses/{status['id']}")).json()["card"] is None


@pytest.mark.parametrize("path", ["/big", "/slow?s=8", "/image.png", "/chain/5", "/missing"])
async def test_pages_that_cannot_make_a_card_leave_none(carded, site, path):
    alice = await carded.user("alice")
    status = await post(alice, f"link {site.url}{path}")
    await carded.settle()
    assert (await alice.get(f"/api/v1/statuses/{status['id']}")).json()["card"] is None


async def test_a_server_with_default_settings_never_fetches_loopback(server, site):
    alice = await server.user("alice")
    status = await post(alice, f"link {site.url}/article")
    await server.settle()
    assert (await alice.get(f"/api/v1/statuses/{status['id']}")).json()["card"] is None
    assert site.hits["/article"] == 0
