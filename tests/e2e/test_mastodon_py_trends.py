"""Mastodon.py, unmodified, reading link cards, trends and hashtag history from a live server."""

from __future__ import annotations

import uuid

import httpx

from tests.api.mastodon_schema import schema_errors
from tests.api.linksite import LinkSite
from tests.e2e.conftest import wait_for
from tests.e2e.test_mastodon_py import _logged_in


def test_cards_trends_and_tag_history_through_mastodon_py(live_server):
    alice, _, _ = _logged_in(live_server, "trendy")
    bob, _, _ = _logged_in(live_server, "fan")
    carol, _, _ = _logged_in(live_server, "fan")
    tag = f"otters{uuid.uuid4().hex[:8]}"
    with LinkSite() as site:
        link = f"{site.url}/article?e2e={tag}"
        first = alice.status_post(f"Otters use tools {link} #{tag}")
        bob.status_post(f"Seen it: {link} #{tag}")
        carol.status_post(f"Me too #{tag} {link}")  # 3 accounts: (3 - 1)^2 = 4 stays above 1 while it decays
        card = wait_for(lambda: bob.status(first["id"]).card, timeout=30)
    assert card is not None, "no card arrived"
    assert card.url == link and card.title == "Otters (video)" and card.type == "video"
    assert card.image == f"{site.url}/img/otter.jpg" and card.authors[0].name == "Ada Lovelace"
    raw = httpx.get(f"{live_server.url}/api/v1/statuses/{first['id']}", timeout=30).json()  # JSON as sent, not parsed
    assert schema_errors(raw["card"], "PreviewCard") == []

    bob.status_favourite(first["id"])
    bob.status_reblog(first["id"])  # two interactions reach this server's threshold of 2

    def trending(call, key):
        return [item for item in call() if key(item)]

    tags = wait_for(lambda: trending(lambda: bob.trending_tags(limit=20), lambda t: t.name == tag), timeout=30)
    assert tags, "the hashtag did not trend"
    assert int(tags[0].history[0].accounts) == 3 and int(tags[0].history[0].uses) == 3
    statuses = wait_for(lambda: trending(lambda: bob.trending_statuses(limit=40), lambda s: s.id == first["id"]), timeout=30)
    assert statuses and statuses[0].card.url == link
    links = wait_for(lambda: trending(lambda: alice.trending_links(limit=20), lambda c: c.url == link), timeout=30)
    assert links and int(links[0].history[0].accounts) == 3 and int(links[0].history[0].uses) == 4 and links[0].title == "Otters (video)"

    shown = alice.tag(tag)
    assert shown.name == tag and shown.following is False and int(shown.history[0].uses) == 3
    alice.tag_follow(tag)
    assert alice.tag(tag).following is True
    assert schema_errors(httpx.get(f"{live_server.url}/api/v1/tags/{tag}", timeout=30).json(), "Tag") == []
