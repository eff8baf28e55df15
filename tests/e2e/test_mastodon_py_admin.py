"""Mastodon.py's report and admin methods, unmodified, against a real `townsquare serve` process."""

from __future__ import annotations

import subprocess
import uuid

from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from tests.e2e.conftest import _townsquare_cmd
from tests.e2e.test_mastodon_py import _logged_in

ADMIN_SCOPES = "read write follow admin:read admin:write"


def _admin_api(live_server):
    """An administrator made with the CLI, with a token carrying the admin scopes."""
    username = f"boss_{uuid.uuid4().hex[:8]}"
    subprocess.run([*_townsquare_cmd(), "accounts", "create", username, "--email", f"{username}@example.org",
                    "--password", "long enough pw", "--admin", "--data-dir", str(live_server.data_dir)],
                   env=live_server.env, check=True, capture_output=True, text=True, timeout=60)
    token = subprocess.run([*_townsquare_cmd(), "accounts", "token", username, "--scopes", ADMIN_SCOPES,
                            "--data-dir", str(live_server.data_dir)],
                           env=live_server.env, check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    return Mastodon(access_token=token, api_base_url=live_server.url, version_check_mode="none")


def test_report_suspend_and_reinstate_through_mastodon_py(live_server):
    reporter, _, _ = _logged_in(live_server, "reporter")
    troll, troll_id, troll_name = _logged_in(live_server, "troll")
    admin = _admin_api(live_server)
    bad = troll.status_post("spam spam spam")
    report = reporter.report(troll_id, status_ids=[bad.id], comment="spam", category="spam")
    assert report.category == "spam" and str(report.target_account.id) == str(troll_id)

    reports = admin.admin_reports()
    mine = [r for r in reports if str(r.id) == str(report.id)][0]
    assert mine.target_account.username == troll_name and [str(s.id) for s in mine.statuses] == [str(bad.id)]
    assert admin.admin_report_assign(report.id).assigned_account is not None

    admin.admin_account_moderate(troll_id, action="suspend", report_id=report.id, text="Spam")
    seen = admin.admin_account(troll_id)
    assert seen.suspended is True and seen.account.username == troll_name
    assert str(troll_id) in [str(a.id) for a in admin.admin_accounts_v2(status="suspended")]
    try:
        reporter.account(troll_id)
        raise AssertionError("a suspended account must be hidden")
    except MastodonNotFoundError:
        pass
    try:
        troll.account_verify_credentials()
        raise AssertionError("a suspended account's token must stop working")
    except MastodonAPIError:
        pass

    back = admin.admin_account_unsuspend(troll_id)
    assert back.suspended is False
    assert str(reporter.account(troll_id).id) == str(troll_id)
    assert [s.id for s in troll.account_statuses(troll_id)] == [bad.id]
    notes = troll.notifications(types=["moderation_warning"])
    assert notes and notes[0].type == "moderation_warning"
