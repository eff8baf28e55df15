"""Mastodon.py, unmodified, driving polls, scheduled statuses, conversations and quotes on a real server."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError
from sqlalchemy import update

from tests.e2e.conftest import PASSWORD, wait_for
from tests.e2e.test_mastodon_py import SCOPES, _app
from townsquare.storage.db import Database
from townsquare.storage.tables import jobs, polls, scheduled_statuses


def _client(live_server, prefix: str, check: str = "created") -> tuple[Mastodon, str]:
    account_id, username, email = live_server.create_account(prefix)
    client_id, client_secret = _app(live_server)
    # Quotes are Mastodon 4.5 methods; the server says 4.4.0, so those clients skip Mastodon.py's version gate.
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url,
                   version_check_mode=check)
    api.log_in(email, PASSWORD, scopes=SCOPES, allow_http=True)
    return api, account_id


def _database_url(live_server) -> str:
    url = live_server.env.get("TOWNSQUARE_DATABASE_URL")
    return url or f"sqlite+aiosqlite:///{(live_server.data_dir / 'townsquare.sqlite3').resolve()}"


def _make_due(live_server, table, row_id: str, column: str, kind: str) -> None:
    """Move a row's time (a poll's end, a scheduled status's time) and its job into the past, as if time had passed."""
    async def run() -> None:
        db = Database(_database_url(live_server))
        past = datetime.now(timezone.utc) - timedelta(seconds=1)
        try:
            async with db.write() as conn:
                await conn.execute(update(table).where(table.c.id == int(row_id)).values({column: past}))
                await conn.execute(update(jobs).where(jobs.c.kind == kind).values(run_at=past))
        finally:
            await db.dispose()
    asyncio.run(run())


@pytest.fixture
def alice(live_server):
    return _client(live_server, "alice")


@pytest.fixture
def bob(live_server):
    return _client(live_server, "bob")


def test_polls_through_mastodon_py(live_server, alice, bob):
    (api, alice_id), (bob_api, _) = alice, bob
    status = api.status_post("Pizza or pasta?", poll=api.make_poll(["Pizza", "Pasta", "Both"], expires_in=600, multiple=True))
    assert [o.title for o in status.poll.options] == ["Pizza", "Pasta", "Both"] and status.poll.multiple
    voted = bob_api.poll_vote(status.poll.id, [0, 2])
    assert voted.voted and voted.own_votes == [0, 2] and voted.votes_count == 2 and voted.voters_count == 1
    with pytest.raises(MastodonAPIError):
        bob_api.poll_vote(status.poll.id, [1])  # already voted
    with pytest.raises(MastodonAPIError):
        api.poll_vote(status.poll.id, [1])  # own poll
    assert [o.votes_count for o in api.poll(status.poll.id).options] == [1, 0, 1]
    assert api.instance().configuration.polls.max_options == 4
    _make_due(live_server, polls, status.poll.id, "expires_at", "end_poll")
    # The server's own job runner announces the end to the author and the voter.
    for client in (api, bob_api):
        notes = wait_for(lambda c=client: c.notifications(types=["poll"]), timeout=30)
        assert [n.status.id for n in notes] == [status.id]
    assert api.poll(status.poll.id).expired


def test_scheduled_statuses_through_mastodon_py(live_server, alice):
    api, alice_id = alice
    when = datetime.now(timezone.utc) + timedelta(minutes=30)
    scheduled = api.status_post("From the future", scheduled_at=when, visibility="unlisted",
                                poll=api.make_poll(["yes", "no"], expires_in=3600))
    assert scheduled.params.text == "From the future" and scheduled.params.poll.options == ["yes", "no"]
    assert abs((scheduled.scheduled_at - when).total_seconds()) < 1
    assert [s.id for s in api.scheduled_statuses()] == [scheduled.id]
    later = when + timedelta(hours=1)
    moved = api.scheduled_status_update(scheduled.id, later)
    assert abs((moved.scheduled_at - later).total_seconds()) < 1
    assert api.scheduled_status(scheduled.id).id == scheduled.id
    with pytest.raises(MastodonAPIError):
        api.scheduled_status_update(scheduled.id, datetime.now(timezone.utc) + timedelta(minutes=1))
    doomed = api.status_post("Never mind", scheduled_at=when)
    api.scheduled_status_delete(doomed.id)
    with pytest.raises(MastodonNotFoundError):
        api.scheduled_status(doomed.id)
    _make_due(live_server, scheduled_statuses, scheduled.id, "scheduled_at", "publish_scheduled_status")
    posted = wait_for(lambda: api.account_statuses(alice_id), timeout=30)
    assert len(posted) == 1 and posted[0].visibility == "unlisted" and posted[0].poll.options[0].title == "yes"
    assert api.scheduled_statuses() == []


def test_conversations_through_mastodon_py(live_server, alice, bob):
    (api, alice_id), (bob_api, bob_id) = alice, bob
    bob_name = bob_api.me().acct
    dm = api.status_post(f"@{bob_name} psst", visibility="direct")
    threads = wait_for(lambda: bob_api.conversations(), timeout=10)
    assert len(threads) == 1 and threads[0].unread and threads[0].last_status.id == dm.id
    assert [a.id for a in threads[0].accounts] == [alice_id]
    read = bob_api.conversations_read(threads[0].id)
    assert read.unread is False and bob_api.conversations()[0].unread is False
    assert api.conversations()[0].accounts[0].id == bob_id


def test_quotes_through_mastodon_py(live_server):
    api, alice_id = _client(live_server, "alice", check="none")
    bob_api, bob_id = _client(live_server, "quoter", check="none")
    original = api.status_post("Quotable words")
    quote = bob_api.status_post("So true", quoted_status_id=original.id)
    assert quote.quote.state == "accepted" and quote.quote.quoted_status.id == original.id
    closed = api.status_post("Mine, not yours", quote_approval_policy="nobody")
    assert closed.quote_approval.automatic == []
    with pytest.raises(MastodonAPIError):
        bob_api.status_post("Nope", quoted_status_id=closed.id)
    assert [s.id for s in api.status_quotes(original.id)] == [quote.id]
    assert [n.status.id for n in api.notifications(types=["quote"])] == [quote.id]
    revoked = api.status_quote_revoke(original.id, quote.id)
    assert revoked.quote.state == "revoked" and revoked.quote.quoted_status is None
    assert api.status_quotes(original.id) == []
