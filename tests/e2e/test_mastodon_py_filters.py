"""Mastodon.py, unmodified, drives filters (v2 and v1), their effect on timelines and streams, and full-text search."""

from __future__ import annotations

import threading

import pytest
from mastodon import Mastodon, StreamListener
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from tests.e2e.conftest import PASSWORD, wait_for

SCOPES = ["read", "write", "follow"]
WAIT = 15.0


def _logged_in(live_server, prefix: str) -> tuple[Mastodon, str]:
    account_id, _, email = live_server.create_account(prefix)
    client_id, client_secret = Mastodon.create_app("filters e2e", api_base_url=live_server.url, scopes=SCOPES)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url,
                   version_check_mode="created")
    api.log_in(email, PASSWORD, scopes=SCOPES, allow_http=True)
    return api, account_id


@pytest.fixture(scope="module")
def pair(live_server):
    """Two accounts shared by this module's tests (alice follows bob); each test starts with no filters."""
    alice, alice_id = _logged_in(live_server, "falice")
    bob, bob_id = _logged_in(live_server, "fbob")
    alice.account_follow(bob_id)
    return alice, alice_id, bob, bob_id


@pytest.fixture
def clean(pair):
    """The pair, with any filter an earlier test left removed."""
    for f in pair[0].filters_v2():
        pair[0].delete_filter_v2(f.id)
    return pair


def test_filters_v2_lifecycle_and_effect_on_home(clean):
    alice, _, bob, bob_id = clean
    hide = alice.create_filter_v2("Fruit", ["home", "public"], "hide",
                                  keywords_attributes=[{"keyword": "durian", "whole_word": True}])
    warn = alice.create_filter_v2("Spoilers", ["home"], "warn", expires_in=3600,
                                  keywords_attributes=[{"keyword": "spoiler", "whole_word": False}])
    assert hide.filter_action == "hide" and hide.keywords[0].keyword == "durian" and warn.expires_at is not None
    assert {f.id for f in alice.filters_v2()} == {hide.id, warn.id}
    assert alice.filter_v2(hide.id).title == "Fruit"
    renamed = alice.update_filter_v2(hide.id, title="Smelly fruit")
    assert renamed.title == "Smelly fruit" and renamed.context == ["home", "public"]

    extra = alice.add_filter_keyword_v2(hide.id, "natto", whole_word=True)
    assert [k.keyword for k in alice.filter_keywords_v2(hide.id)] == ["durian", "natto"]
    alice.delete_filter_keyword_v2(extra.id)
    assert [k.keyword for k in alice.filter_keywords_v2(hide.id)] == ["durian"]

    hidden = bob.status_post("a durian for breakfast")
    warned = bob.status_post("spoilers: everyone survives")
    plain = bob.status_post("just toast")
    home = wait_for(lambda: [s for s in alice.timeline_home() if s.id in (warned.id, plain.id)] if
                    len([s for s in alice.timeline_home() if s.id in (warned.id, plain.id)]) == 2 else None, timeout=WAIT)
    assert home, "bob's statuses never reached alice's home"
    assert hidden.id not in [s.id for s in alice.timeline_home()]
    by_id = {s.id: s for s in home}
    assert by_id[warned.id].filtered[0].filter.id == warn.id
    assert by_id[warned.id].filtered[0].keyword_matches == ["spoiler"]
    assert by_id[plain.id].filtered == []

    named = alice.add_filter_status_v2(warn.id, plain.id)
    assert alice.filter_status_v2(named.id).status_id == plain.id
    assert [s.id for s in alice.filter_statuses_v2(warn.id)] == [named.id]
    marked = {s.id: s for s in alice.timeline_home()}[plain.id]
    assert marked.filtered[0].status_matches == [plain.id]
    alice.delete_filter_status_v2(named.id)
    assert alice.filter_statuses_v2(warn.id) == []

    with pytest.raises(MastodonAPIError):
        alice.create_filter_v2("Bad", ["home", "everywhere"], "warn")
    with pytest.raises(MastodonAPIError):
        alice.create_filter_v2("Bad", ["home"], "explode")
    with pytest.raises(MastodonNotFoundError):
        bob.filter_v2(hide.id)
    alice.delete_filter_v2(hide.id)
    assert [f.id for f in alice.filters_v2()] == [warn.id]
    assert hidden.id in [s.id for s in alice.timeline_home()]


def test_v1_filters_for_older_apps(clean):
    alice = clean[0]
    created = alice.filter_create("politics", ["home", "notifications"], irreversible=True, whole_word=True)
    assert created.phrase == "politics" and created.irreversible is True
    assert [f.id for f in alice.filters()] == [created.id]
    assert alice.filter(created.id).context == ["home", "notifications"]
    changed = alice.filter_update(created.id, phrase="elections", irreversible=False)
    assert changed.phrase == "elections" and changed.irreversible is False
    assert alice.filters_v2()[0].keywords[0].keyword == "elections"
    alice.filter_delete(created.id)
    assert alice.filters() == [] and alice.filters_v2() == []


class Changes(StreamListener):
    """Remembers filters_changed events and updates of a user stream."""

    def __init__(self) -> None:
        self.open, self.changed, self.updated = threading.Event(), threading.Event(), threading.Event()
        self.updates: list = []

    def handle_heartbeat(self) -> None:
        self.open.set()

    def on_filters_changed(self) -> None:
        self.changed.set()

    def on_update(self, status) -> None:
        self.updates.append(status)
        self.updated.set()


def test_stream_user_hears_filters_changed_and_gets_filtered_statuses(clean):
    alice, _, bob, _ = clean
    listener = Changes()
    handle = alice.stream_user(listener, run_async=True, timeout=60)
    try:
        assert listener.open.wait(WAIT), "the stream never opened"
        f = alice.create_filter_v2("Weather", ["home"], "blur", keywords_attributes=[{"keyword": "rain"}])
        assert listener.changed.wait(WAIT), "no filters_changed event"
        posted = bob.status_post("rain all day")
        assert listener.updated.wait(WAIT), "no update arrived"
    finally:
        handle.close()
    status = listener.updates[0]
    assert status.id == posted.id and status.filtered[0].filter.id == f.id
    assert status.filtered[0].filter.filter_action == "blur"


def test_search_v2_finds_statuses_by_full_text(live_server, pair):
    alice, alice_id, _, _ = pair
    bob, bob_id = _logged_in(live_server, "qbob")  # alice does not follow this one
    best = bob.status_post("Quokka sighting #wildlife")
    other = bob.status_post("Saw a quokka near the beach today while walking the dog with some friends")
    secret = bob.status_post("quokka secrets", visibility="private")
    found = alice.search_v2("quokka", result_type="statuses")
    assert [s.id for s in found.statuses] == [best.id, other.id]  # ranked; the private one is not found
    assert secret.id in [s.id for s in bob.search_v2("quokka", result_type="statuses").statuses]
    assert [s.id for s in alice.search_v2("quokka", result_type="statuses", account_id=bob_id, offset=1).statuses] == [other.id]
    assert alice.search_v2("quokka", result_type="statuses", account_id=alice_id).statuses == []
    tags = alice.search_v2("#wildlife", result_type="hashtags").hashtags
    assert [t.name for t in tags] == ["wildlife"] and tags[0].id
    everything = alice.search_v2("quokka")
    assert {s.id for s in everything.statuses} == {best.id, other.id}
