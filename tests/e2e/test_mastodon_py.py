"""Mastodon.py, unmodified, against a real `townsquare serve` process."""

from __future__ import annotations

import html
import re
import warnings
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonIllegalArgumentError, MastodonNotFoundError

from tests.e2e.conftest import PASSWORD, wait_for

SCOPES = ["read", "write", "follow", "push"]


def _app(live_server, redirect_uris="urn:ietf:wg:oauth:2.0:oob"):
    return Mastodon.create_app("e2e tests", api_base_url=live_server.url, scopes=SCOPES, redirect_uris=redirect_uris,
                               website="https://example.org/e2e")


def _logged_in(live_server, prefix="user"):
    """Create an account with the CLI and log it in through the password grant."""
    account_id, username, email = live_server.create_account(prefix)
    client_id, client_secret = _app(live_server)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url,
                   version_check_mode="created")
    token = api.log_in(email, PASSWORD, scopes=SCOPES, allow_http=True)
    assert token
    return api, account_id, username


@pytest.fixture
def alice(live_server):
    return _logged_in(live_server, "alice")


@pytest.fixture
def bob(live_server):
    return _logged_in(live_server, "bob")


def test_version_detection_without_warnings(live_server):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api = Mastodon(api_base_url=live_server.url, version_check_mode="created")
        assert api.retrieve_mastodon_version(fail_hard=True) == "4.4.0"
        assert (api.mastodon_major, api.mastodon_minor, api.mastodon_patch) == (4, 4, 0)
        assert api.mastodon_api_version == 6
        assert api.verify_minimum_version("4.4.0", cached=True)
        assert not api.verify_minimum_version("4.5.0", cached=True)
        info = api.instance()
        v1 = api.instance_v1()
    assert info.version.startswith("4.4.0")
    assert info.domain == f"127.0.0.1:{live_server.port}"
    assert info.configuration.statuses.max_characters == 500
    assert v1.uri == f"127.0.0.1:{live_server.port}"
    assert v1.stats.user_count >= 0


def test_password_login_and_verify_credentials(live_server):
    api, account_id, username = _logged_in(live_server, "pw")
    me = api.account_verify_credentials()
    assert str(me.id) == account_id
    assert me.username == username and me.acct == username
    assert me.url == f"{live_server.url}/@{username}"
    assert me.source.privacy == "public"
    assert api.me().username == username


def test_account_created_before_server_started_can_log_in(live_server):
    account_id, username, email = live_server.early_account
    client_id, client_secret = _app(live_server)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url)
    api.log_in(username, PASSWORD, scopes=SCOPES, allow_http=True)  # by username as well as by e-mail
    me = api.account_verify_credentials()
    assert str(me.id) == account_id and me.username == username


def test_wrong_password_is_rejected(live_server):
    _, _, email = live_server.create_account("bad")
    client_id, client_secret = _app(live_server)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url)
    with pytest.raises(Exception, match="Invalid user name, password"):
        api.log_in(email, "not the password", scopes=SCOPES, allow_http=True)


def _approve(url: str, username: str) -> httpx.Response:
    """Fetch the authorize page like a browser, then submit its form with the user's credentials."""
    page = httpx.get(url)
    assert page.status_code == 200, page.text
    assert "<form" in page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    form = {k: html.unescape(v) for k, v in hidden.items()}
    form.update(username=username, password=PASSWORD, decision="approve")
    action = urlparse(url)._replace(path="/oauth/authorize", query="").geturl()
    return httpx.post(action, data=form)


def test_authorization_code_flow_oob(live_server):
    account_id, username, _ = live_server.create_account("oob")
    client_id, client_secret = _app(live_server)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url,
                   version_check_mode="created")
    url = api.auth_request_url(scopes=SCOPES, allow_http=True)
    assert url.startswith(f"{live_server.url}/oauth/authorize?")
    response = _approve(url, username)
    assert response.status_code == 200, response.text
    code = re.search(r'<code id="authorization-code">([^<]+)</code>', response.text).group(1).strip()
    token = api.log_in(code=code, scopes=SCOPES, allow_http=True)
    assert token
    assert str(api.account_verify_credentials().id) == account_id
    # A code is single-use.
    other = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url)
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        other.log_in(code=code, scopes=SCOPES, allow_http=True)


def test_authorization_code_flow_redirect_with_state(live_server):
    account_id, username, _ = live_server.create_account("redir")
    redirect = "http://127.0.0.1:9/callback"
    client_id, client_secret = _app(live_server, redirect_uris=redirect)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url)
    url = api.auth_request_url(redirect_uris=redirect, scopes=SCOPES, state="xyz123", allow_http=True)
    response = _approve(url, username)
    assert response.status_code == 302, response.text
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    query = parse_qs(location.query)
    assert query["state"] == ["xyz123"]
    api.log_in(code=query["code"][0], redirect_uri=redirect, scopes=SCOPES, allow_http=True)
    assert str(api.account_verify_credentials().id) == account_id


def test_post_follow_home_favourite_and_notifications(live_server, alice, bob):
    alice_api, alice_id, alice_name = alice
    bob_api, bob_id, bob_name = bob

    rel = bob_api.account_follow(alice_id)
    assert rel.following is True and str(rel.id) == alice_id
    assert bob_api.account_relationships(alice_id)[0].following is True
    assert str(bob_api.account_following(bob_id)[0].id) == alice_id
    assert str(alice_api.account_followers(alice_id)[0].id) == bob_id

    post = alice_api.status_post(f"Hello @{bob_name} from #E2eTown", visibility="public")
    assert post.account.username == alice_name
    assert post.visibility == "public"
    assert [t.name for t in post.tags] == ["e2etown"]
    assert [m.username for m in post.mentions] == [bob_name]
    assert f'href="{live_server.url}/@{bob_name}"' in post.content

    home = wait_for(lambda: [s for s in bob_api.timeline_home() if s.id == post.id])
    assert home, "the followed account's post never reached the home timeline"
    assert home[0].content == post.content

    fav = bob_api.status_favourite(post.id)
    assert fav.favourited is True and fav.favourites_count == 1
    assert [str(a.id) for a in alice_api.status_favourited_by(post.id)] == [bob_id]
    assert [s.id for s in bob_api.favourites()] == [post.id]
    assert bob_api.status(post.id).favourited is True

    notes = alice_api.notifications()
    assert [n.type for n in notes][:2] == ["favourite", "follow"]
    assert notes[0].status.id == post.id and str(notes[0].account.id) == bob_id
    assert str(notes[1].account.id) == bob_id and notes[1].status is None
    only_follows = alice_api.notifications(types=["follow"])
    assert [n.type for n in only_follows] == ["follow"]
    mentions = bob_api.notifications(types=["mention"])
    assert [n.status.id for n in mentions] == [post.id]
    assert str(mentions[0].account.id) == alice_id
    assert bob_api.notifications(exclude_types=["mention"]) == []

    unfav = bob_api.status_unfavourite(post.id)
    assert unfav.favourited is False and unfav.favourites_count == 0

    bob_api.account_unfollow(alice_id)
    assert bob_api.account_relationships(alice_id)[0].following is False


def test_reply_and_context(alice, bob):
    alice_api, alice_id, alice_name = alice
    bob_api, bob_id, bob_name = bob
    root = alice_api.status_post("What is everyone reading?")
    reply = bob_api.status_reply(root, "A book about towns")
    assert reply.in_reply_to_id == root.id
    assert str(reply.in_reply_to_account_id) == alice_id
    # status_reply prefixes "@author " to the text; the server must resolve it into a mention.
    assert [str(m.id) for m in reply.mentions] == [alice_id]
    assert "A book about towns" in reply.content
    nested = alice_api.status_reply(reply, "Nice!")
    context = alice_api.status_context(reply.id)
    assert [s.id for s in context.ancestors] == [root.id]
    assert [s.id for s in context.descendants] == [nested.id]
    root_context = bob_api.status_context(root.id)
    assert root_context.ancestors == []
    assert [s.id for s in root_context.descendants] == [reply.id, nested.id]
    assert alice_api.status(root.id).replies_count == 1
    reply_notes = alice_api.notifications(types=["mention"])
    assert reply.id in [n.status.id for n in reply_notes]


def test_search_v2(live_server, alice, bob):
    alice_api, alice_id, alice_name = alice
    bob_api, _, _ = bob
    word = f"zebra{alice_id[-6:]}"
    post = alice_api.status_post(f"Spotted a {word} today #Stripes{word}")

    accounts = bob_api.search_v2(alice_name, result_type="accounts")
    assert [a.username for a in accounts.accounts] == [alice_name]
    assert accounts.statuses == [] and accounts.hashtags == []

    tags = bob_api.search_v2(f"#stripes{word}", result_type="hashtags")
    assert [t.name for t in tags.hashtags] == [f"stripes{word}"]

    found = bob_api.search_v2(word, result_type="statuses")
    assert [s.id for s in found.statuses] == [post.id]

    everything = bob_api.search_v2(word)
    assert [s.id for s in everything.statuses] == [post.id]
    assert [t.name for t in everything.hashtags] == [f"stripes{word}"]

    assert bob_api.search_v2("nothing-matches-this-xyzzy").statuses == []
    tagged = bob_api.timeline_hashtag(f"stripes{word}")
    assert [s.id for s in tagged] == [post.id]


def _walk(first_page, api):
    seen = []
    page = first_page
    while page:
        seen.extend(s.id for s in page)
        page = api.fetch_next(page)
    return seen


def test_pagination_with_fetch_next(alice, bob):
    alice_api, alice_id, _ = alice
    bob_api, _, _ = bob
    bob_api.account_follow(alice_id)
    posts = [alice_api.status_post(f"numbered post {i}") for i in range(5)]
    expected = [p.id for p in reversed(posts)]

    first = bob_api.account_statuses(alice_id, limit=2)
    assert len(first) == 2
    assert _walk(first, bob_api) == expected

    remaining = bob_api.fetch_remaining(bob_api.account_statuses(alice_id, limit=2))
    assert [s.id for s in remaining] == expected

    # fetch_previous from an older page walks back toward the newest.
    second = bob_api.fetch_next(bob_api.account_statuses(alice_id, limit=2))
    newer = bob_api.fetch_previous(second)
    assert [s.id for s in newer] == expected[:2]

    def home_has_all():
        return set(expected) <= {s.id for s in bob_api.timeline_home(limit=40)}

    assert wait_for(home_has_all), "home timeline never received every post"
    home_ids = _walk(bob_api.timeline_home(limit=2), bob_api)
    assert home_ids == expected
    assert len(home_ids) == len(set(home_ids))


def test_status_delete(alice, bob):
    alice_api, _, _ = alice
    bob_api, _, _ = bob
    post = alice_api.status_post("this will be deleted", spoiler_text="cw")
    deleted = alice_api.status_delete(post.id)
    assert deleted.id == post.id
    assert deleted.text == "this will be deleted"
    assert deleted.spoiler_text == "cw"
    with pytest.raises(MastodonNotFoundError):
        alice_api.status(post.id)
    with pytest.raises(MastodonNotFoundError):
        bob_api.status(post.id)
    assert post.id not in [s.id for s in alice_api.account_statuses(alice_api.me().id)]
    with pytest.raises(MastodonNotFoundError):
        bob_api.status_delete(post.id)


def test_cannot_delete_someone_elses_status(alice, bob):
    alice_api, _, _ = alice
    bob_api, _, _ = bob
    post = alice_api.status_post("mine")
    with pytest.raises(MastodonNotFoundError):
        bob_api.status_delete(post.id)
    assert alice_api.status(post.id).id == post.id


def test_update_credentials(live_server, alice, bob):
    alice_api, alice_id, alice_name = alice
    bob_api, _, _ = bob
    me = alice_api.account_update_credentials(
        display_name="Alice Liddell", note="Down the rabbit hole",
        fields=[("Website", "https://example.org/alice"), ("Pronouns", "she/her")],
    )
    assert me.display_name == "Alice Liddell"
    assert "Down the rabbit hole" in me.note
    assert me.source.note == "Down the rabbit hole"
    assert [(f.name, f.value) for f in me.source.fields] == [("Website", "https://example.org/alice"), ("Pronouns", "she/her")]
    assert [f.name for f in me.fields] == ["Website", "Pronouns"]
    assert "https://example.org/alice" in me.fields[0].value

    again = alice_api.account_verify_credentials()
    assert again.display_name == "Alice Liddell"
    assert again.source.note == "Down the rabbit hole"
    public = bob_api.account(alice_id)
    assert public.display_name == "Alice Liddell"
    assert [f.name for f in public.fields] == ["Website", "Pronouns"]
    assert bob_api.account_lookup(alice_name).display_name == "Alice Liddell"
