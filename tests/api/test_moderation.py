"""Reports, account actions, warnings and appeals, the audit log and purging, through the API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from tests.api.conftest import assert_error, ids, post
from townsquare.core.clock import now
from townsquare.storage import tables as t

STAFF = "read write follow admin:read admin:write"


async def _cast(server):
    reporter = await server.user("reporter")
    troll = await server.user("troll")
    mod = await server.user("mod", scopes=STAFF, role="moderator")
    return reporter, troll, mod


async def test_report_is_filed_handled_and_resolved_by_an_action(server):
    reporter, troll, mod = await _cast(server)
    bad = await post(troll, "buy cheap pills")
    r = await reporter.post("/api/v1/reports", data={"account_id": troll.id, "status_ids[]": [bad["id"]],
                                                      "category": "spam", "comment": "spam again", "forward": "false"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["category"] == "spam" and report["status_ids"] == [bad["id"]] and report["action_taken"] is False
    assert report["target_account"]["id"] == troll.id and report["comment"] == "spam again"

    listed = (await mod.get("/api/v1/admin/reports")).json()
    assert ids(listed) == [report["id"]]
    full = listed[0]
    assert full["account"]["account"]["id"] == reporter.id and full["target_account"]["username"] == "troll"
    assert ids(full["statuses"]) == [bad["id"]] and full["assigned_account"] is None

    assigned = (await mod.post(f"/api/v1/admin/reports/{report['id']}/assign_to_self")).json()
    assert assigned["assigned_account"]["id"] == (await mod.get("/api/v1/accounts/verify_credentials")).json()["id"]
    assert (await mod.post(f"/api/v1/admin/reports/{report['id']}/unassign")).json()["assigned_account"] is None
    r = await mod.post(f"/api/v1/admin/accounts/{troll.id}/action",
                       data={"type": "silence", "report_id": report["id"], "text": "Spamming pills"})
    assert r.status_code == 200
    resolved = (await mod.get(f"/api/v1/admin/reports/{report['id']}")).json()
    assert resolved["action_taken"] is True and resolved["action_taken_by_account"]["username"] == "mod"
    assert ids((await mod.get("/api/v1/admin/reports")).json()) == []
    assert ids((await mod.get("/api/v1/admin/reports?resolved=true")).json()) == [report["id"]]
    assert ids((await mod.get(f"/api/v1/admin/reports?resolved=true&target_account_id={troll.id}")).json()) == [report["id"]]
    assert (await mod.get("/api/v1/admin/reports?resolved=true&target_account_id=nonsense")).json() == []
    assert_error(await mod.put(f"/api/v1/admin/reports/{report['id']}", data={"category": "violation", "rule_ids[]": ["1"]}), 422)
    assert (await mod.put(f"/api/v1/admin/reports/{report['id']}", data={"category": "other"})).json()["category"] == "other"
    reopened = (await mod.post(f"/api/v1/admin/reports/{report['id']}/reopen")).json()
    assert reopened["action_taken"] is False
    assert (await mod.post(f"/api/v1/admin/reports/{report['id']}/resolve")).json()["action_taken"] is True

    # The troll is told: a moderation_warning notification with the action, reason and statuses.
    notes = (await troll.get("/api/v1/notifications?types[]=moderation_warning")).json()
    assert len(notes) == 1
    warning = notes[0]["moderation_warning"]
    assert warning["action"] == "silence" and warning["text"] == "Spamming pills"
    assert warning["status_ids"] == [bad["id"]] and warning["appeal"] is None
    assert warning["target_account"]["id"] == troll.id
    groups = (await troll.get("/api/v2/notifications")).json()["notification_groups"]
    assert [g["moderation_warning"]["action"] for g in groups if g["type"] == "moderation_warning"] == ["silence"]

    log = (await mod.get("/api/v1/admin/action_logs")).json()
    actions = [entry["action"] for entry in log]
    assert actions == ["resolve_report", "reopen_report", "update_report", "silence", "unassign_report", "assign_to_self_report"]
    silence = log[3]
    assert silence["actor"] == "mod" and silence["target_handle"] == "troll" and silence["category"] == "spam"
    assert silence["reason"] == "Spamming pills"


async def test_report_validation_changes_nothing(server):
    reporter, troll, mod = await _cast(server)
    other = await post(reporter, "mine")
    for data in ({}, {"account_id": "999999"}, {"account_id": troll.id, "category": "rude"},
                 {"account_id": troll.id, "status_ids[]": [other["id"]]}, {"account_id": reporter.id},
                 {"account_id": troll.id, "rule_ids[]": ["1"], "category": "violation"}):
        r = await reporter.post("/api/v1/reports", data=data)
        assert r.status_code in (404, 422), (data, r.text)
        assert_error(r, r.status_code)
    assert (await mod.get("/api/v1/admin/reports")).json() == []


async def test_appeal_once_and_approval_reverses_the_suspension(server, anon):
    reporter, troll, mod = await _cast(server)
    status = await post(troll, "hello")
    assert (await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "suspend", "text": "too much"})).status_code == 200
    assert_error(await anon.get(f"/api/v1/statuses/{status['id']}"), 404)
    # Suspended: the token works only for the account's warnings and the appeal.
    assert_error(await troll.get("/api/v1/notifications"), 401)
    warnings = (await troll.get("/api/v1/account_warnings")).json()
    assert [w["action"] for w in warnings] == ["suspend"]
    wid = warnings[0]["id"]
    assert (await troll.get(f"/api/v1/account_warnings/{wid}")).json()["text"] == "too much"
    assert_error(await reporter.get(f"/api/v1/account_warnings/{wid}"), 404)
    assert_error(await reporter.post(f"/api/v1/account_warnings/{wid}/appeal", data={"text": "not mine"}), 404)
    assert_error(await troll.post(f"/api/v1/account_warnings/{wid}/appeal", data={"text": "  "}), 422)
    r = await troll.post(f"/api/v1/account_warnings/{wid}/appeal", data={"text": "I was hacked"})
    assert r.status_code == 200 and r.json()["appeal"] == {"text": "I was hacked", "state": "pending"}
    assert_error(await troll.post(f"/api/v1/account_warnings/{wid}/appeal", data={"text": "again"}), 422)

    pending = (await mod.get("/api/v1/admin/appeals?state=pending")).json()
    assert len(pending) == 1 and pending[0]["text"] == "I was hacked" and pending[0]["account"]["suspended"] is True
    decided = (await mod.post(f"/api/v1/admin/appeals/{pending[0]['id']}/approve")).json()
    assert decided["state"] == "approved" and decided["account"]["suspended"] is False
    assert_error(await mod.post(f"/api/v1/admin/appeals/{pending[0]['id']}/reject"), 403)
    assert (await anon.get(f"/api/v1/statuses/{status['id']}")).status_code == 200
    assert (await troll.get("/api/v1/notifications")).status_code == 200
    actions = [e["action"] for e in (await mod.get("/api/v1/admin/action_logs")).json()]
    assert actions == ["approve_appeal", "unsuspend", "suspend"]


async def test_rejected_appeal_keeps_the_sanction(server):
    _, troll, mod = await _cast(server)
    await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "disable"})
    wid = (await troll.get("/api/v1/account_warnings")).json()[0]["id"]
    await troll.post(f"/api/v1/account_warnings/{wid}/appeal", data={"text": "please"})
    appeal = (await mod.get("/api/v1/admin/appeals")).json()[0]
    assert (await mod.post(f"/api/v1/admin/appeals/{appeal['id']}/reject")).json()["state"] == "rejected"
    assert (await mod.get(f"/api/v1/admin/accounts/{troll.id}")).json()["disabled"] is True
    assert (await troll.get(f"/api/v1/account_warnings/{wid}")).json()["appeal"]["state"] == "rejected"


async def test_disable_refuses_login_but_keeps_content_visible(server, anon):
    _, troll, mod = await _cast(server)
    status = await post(troll, "still readable")
    await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "disable"})
    assert_error(await troll.get("/api/v1/accounts/verify_credentials"), 403)
    assert (await anon.get(f"/api/v1/statuses/{status['id']}")).status_code == 200
    assert (await anon.get(f"/api/v1/accounts/{troll.id}")).status_code == 200
    r = await mod.post(f"/api/v1/admin/accounts/{troll.id}/enable")
    assert r.status_code == 200 and r.json()["disabled"] is False
    assert (await troll.get("/api/v1/accounts/verify_credentials")).status_code == 200


async def test_sensitive_marks_statuses_and_unsensitive_clears_it(server, anon):
    _, troll, mod = await _cast(server)
    status = await post(troll, "look at this")
    assert (await anon.get(f"/api/v1/statuses/{status['id']}")).json()["sensitive"] is False
    await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "sensitive"})
    assert (await anon.get(f"/api/v1/statuses/{status['id']}")).json()["sensitive"] is True
    assert (await mod.get(f"/api/v1/admin/accounts/{troll.id}")).json()["sensitized"] is True
    await mod.post(f"/api/v1/admin/accounts/{troll.id}/unsensitive")
    assert (await anon.get(f"/api/v1/statuses/{status['id']}")).json()["sensitive"] is False


async def test_bad_actions_are_refused_and_change_nothing(server):
    _, troll, mod = await _cast(server)
    assert_error(await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "explode"}), 422)
    assert_error(await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "silence", "category": "rude"}), 422)
    assert_error(await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "silence", "report_id": "12345"}), 404)
    assert_error(await mod.post("/api/v1/admin/accounts/123456/action", data={"type": "silence"}), 404)
    assert_error(await mod.post(f"/api/v1/admin/accounts/{troll.id}/unsuspend"), 403)
    assert_error(await mod.delete(f"/api/v1/admin/accounts/{troll.id}"), 403)
    seen = (await mod.get(f"/api/v1/admin/accounts/{troll.id}")).json()
    assert not (seen["silenced"] or seen["suspended"] or seen["disabled"] or seen["sensitized"])
    assert (await mod.get("/api/v1/admin/action_logs")).json() == []
    assert (await troll.get("/api/v1/account_warnings")).json() == []


async def test_account_lists_filter_like_mastodon(server, make_server):
    reporter, troll, mod = await _cast(server)
    await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "suspend"})
    await mod.post(f"/api/v1/admin/accounts/{reporter.id}/action", data={"type": "silence"})

    async def names(url):
        r = await mod.get(url)
        assert r.status_code == 200, r.text
        return sorted(a["username"] for a in r.json())

    assert await names("/api/v1/admin/accounts") == ["mod", "reporter", "troll"]
    assert await names("/api/v1/admin/accounts?suspended=true") == ["troll"]
    assert await names("/api/v1/admin/accounts?silenced=true") == ["reporter"]
    assert await names("/api/v1/admin/accounts?active=true") == ["mod", "reporter"]
    assert await names("/api/v1/admin/accounts?staff=true") == ["mod"]
    assert await names("/api/v1/admin/accounts?remote=true") == []
    assert await names("/api/v1/admin/accounts?username=tro") == ["troll"]
    assert await names("/api/v2/admin/accounts?status=suspended") == ["troll"]
    assert await names("/api/v2/admin/accounts?origin=local&permissions=staff") == ["mod"]
    assert await names("/api/v2/admin/accounts?role_ids[]=2") == ["mod"]
    assert await names("/api/v2/admin/accounts?email=reporter@") == ["reporter"]
    assert_error(await mod.get("/api/v2/admin/accounts?status=sleepy"), 422)
    shown = (await mod.get(f"/api/v1/admin/accounts/{troll.id}")).json()
    assert shown["email"] == "troll@example.org" and shown["role"]["name"] == "" and shown["account"]["username"] == "troll"


async def test_pending_sign_ups_are_approved_or_rejected(server, make_server):
    from tests.api.conftest import register_app
    from tests.api.conftest import auth as bearer

    _, _, mod = await _cast(server)
    strict = await make_server(registrations="approval")
    app = await register_app(strict.http, scopes="read write")
    token = (await strict.http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                          "client_secret": app["client_secret"], "scope": "write"})).json()["access_token"]
    for name in ("hopeful", "spammer"):
        r = await strict.http.post("/api/v1/accounts", headers=bearer(token), data={
            "username": name, "email": f"{name}@example.org", "password": "long enough pw", "agreement": "1", "reason": "hi"})
        assert r.status_code == 200, r.text
    pending = (await mod.get("/api/v1/admin/accounts?pending=true")).json()
    by_name = {a["username"]: a for a in pending}
    assert set(by_name) == {"hopeful", "spammer"} and by_name["hopeful"]["invite_request"] == "hi"
    ok = await mod.post(f"/api/v1/admin/accounts/{by_name['hopeful']['id']}/approve")
    assert ok.status_code == 200 and ok.json()["approved"] is True
    assert_error(await mod.post(f"/api/v1/admin/accounts/{by_name['hopeful']['id']}/approve"), 403)
    assert (await mod.post(f"/api/v1/admin/accounts/{by_name['spammer']['id']}/reject")).status_code == 200
    assert_error(await mod.get(f"/api/v1/admin/accounts/{by_name['spammer']['id']}"), 404)
    assert [e["action"] for e in (await mod.get("/api/v1/admin/action_logs")).json()] == ["reject", "approve"]


async def test_purge_deletes_only_on_explicit_request_and_fixes_counters(server, anon):
    _, troll, _ = await _cast(server)
    admin = await server.user("boss", scopes=STAFF, role="admin")
    fan = await server.user("fan")
    await fan.post(f"/api/v1/accounts/{troll.id}/follow")
    await troll.post(f"/api/v1/accounts/{fan.id}/follow")
    fan_post = await post(fan, "fan post")
    await troll.post(f"/api/v1/statuses/{fan_post['id']}/favourite")
    troll_post = await post(troll, "troll post")
    await fan.post(f"/api/v1/statuses/{troll_post['id']}/reblog")
    await server.settle()
    await admin.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "suspend"})
    r = await admin.delete(f"/api/v1/admin/accounts/{troll.id}", params={"reason": "requested by law"})
    assert r.status_code == 200 and r.json()["username"] == "troll"
    assert_error(await admin.get(f"/api/v1/admin/accounts/{troll.id}"), 404)
    me = (await fan.get("/api/v1/accounts/verify_credentials")).json()
    assert me["followers_count"] == 0 and me["following_count"] == 0 and me["statuses_count"] == 1
    assert (await anon.get(f"/api/v1/statuses/{fan_post['id']}")).json()["favourites_count"] == 0
    assert ids((await fan.get("/api/v1/timelines/home")).json()) == [fan_post["id"]]
    async with server.ctx.db.read() as conn:
        left = (await conn.execute(select(t.feed_entries.c.status_id).where(t.feed_entries.c.author_id == int(troll.id)))).all()
    assert left == []
    log = (await admin.get("/api/v1/admin/action_logs")).json()
    assert [(e["action"], e["reason"]) for e in log][:1] == [("purge", "requested by law")]


async def _jobs_done(srv) -> None:
    """Drain the job queue, also waiting for jobs the background loop claimed first."""
    for _ in range(200):
        await srv.settle()
        async with srv.ctx.db.read() as conn:
            if not (await conn.execute(select(t.jobs.c.id).where(t.jobs.c.state != "failed"))).first():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("jobs did not finish")


async def test_retention_job_purges_only_suspensions_older_than_the_setting(make_server):
    strict = await make_server(suspended_retention_days=30)
    kept = await strict.user("kept")
    old = await strict.user("old")
    mod = await strict.user("mod", scopes=STAFF, role="moderator")
    for target in (kept, old):
        await mod.post(f"/api/v1/admin/accounts/{target.id}/action", data={"type": "suspend"})
    async with strict.ctx.db.write() as conn:
        jobs = (await conn.execute(select(t.jobs.c.kind, t.jobs.c.run_at))).all()
        assert sorted(j.kind for j in jobs) == ["purge_suspended_account"] * 2
        # Pretend `old` was suspended 31 days ago and its purge job is due.
        await conn.execute(update(t.accounts).where(t.accounts.c.id == int(old.id)).values(suspended_at=now() - timedelta(days=31)))
        await conn.execute(update(t.jobs).values(run_at=now() - timedelta(seconds=1)))
    await _jobs_done(strict)
    assert_error(await mod.get(f"/api/v1/admin/accounts/{old.id}"), 404)
    assert (await mod.get(f"/api/v1/admin/accounts/{kept.id}")).json()["suspended"] is True
    log = (await mod.get("/api/v1/admin/action_logs")).json()
    assert log[0]["action"] == "purge" and log[0]["actor"] == "system" and log[0]["target_handle"] == "old"


async def test_public_moderation_log_names_targets_only_when_configured(server, make_server, anon):
    _, troll, mod = await _cast(server)
    await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "silence", "category": "spam", "text": "private note"})
    entries = (await anon.get("/api/v1/instance/moderation_log")).json()
    assert [(e["action"], e["category"], e["target"]) for e in entries] == [("silence", "spam", None)]
    assert "private note" not in str(entries) and "mod" not in str(entries)
    open_server = await make_server(moderation_log_show_targets=True)
    entries = (await open_server.http.get("/api/v1/instance/moderation_log")).json()
    assert entries[0]["target"] == "troll"


async def test_audit_log_is_append_only_in_the_database(server):
    _, troll, mod = await _cast(server)
    await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "silence"})
    for statement in ("UPDATE action_logs SET reason = 'rewritten'", "DELETE FROM action_logs"):
        with pytest.raises(DBAPIError):
            async with server.ctx.db.write() as conn:
                await conn.execute(text(statement))
    assert len((await mod.get("/api/v1/admin/action_logs")).json()) == 1


HOSTILE = [{"type": ["suspend"]}, {"type": {"a": 1}}, {"report_id": {"x": 1}}, {"report_id": "１２"}, {"status_ids": "x"},
           {"status_ids": [{"a": 1}]}, {"text": 12345}, {"text": ["a"]}, {"category": None}, {"category": ["spam"]},
           {"account_id": ["1"]}, {"rule_ids": {"0": "x"}}, {"comment": "x" * 5000}, {"limit": "-5"}, {"max_id": "abc"},
           {"state": ["pending"]}, {"resolved": "maybe"}, {"role_ids": [None]}, {"send_email_notification": "perhaps"}]


async def test_hostile_parameters_never_crash_the_moderation_routes(server):
    reporter, troll, mod = await _cast(server)
    routes = [("post", "/api/v1/reports"), ("post", f"/api/v1/admin/accounts/{troll.id}/action"),
              ("get", "/api/v1/admin/accounts"), ("get", "/api/v2/admin/accounts"), ("get", "/api/v1/admin/reports"),
              ("get", "/api/v1/admin/appeals"), ("get", "/api/v1/admin/action_logs"), ("get", "/api/v1/instance/moderation_log"),
              ("post", "/api/v1/account_warnings/1/appeal"), ("put", "/api/v1/admin/reports/1"),
              ("post", f"/api/v1/admin/accounts/{troll.id}/unsilence"), ("delete", f"/api/v1/admin/accounts/{troll.id}")]
    for method, url in routes:
        for payload in HOSTILE:
            user = reporter if url.startswith(("/api/v1/reports", "/api/v1/account_warnings")) else mod
            kwargs = {"params": payload} if method == "get" else {"json": payload}
            if method == "delete":
                kwargs = {"params": {k: str(v) for k, v in payload.items()}}
            r = await getattr(user, method)(url, **kwargs)
            assert r.status_code < 500, (method, url, payload, r.text)
            assert isinstance(r.json(), (dict, list))
    # None of it sanctioned anyone.
    seen = (await mod.get(f"/api/v1/admin/accounts/{troll.id}")).json()
    assert not (seen["silenced"] or seen["suspended"] or seen["disabled"] or seen["sensitized"])


async def test_purge_expired_takes_only_suspensions_past_the_retention_period(server):
    from townsquare.moderation.purge import purge_expired

    _, troll, mod = await _cast(server)
    recent = await server.user("recent")
    for target in (troll, recent):
        await mod.post(f"/api/v1/admin/accounts/{target.id}/action", data={"type": "suspend"})
    async with server.ctx.db.write() as conn:
        await conn.execute(update(t.accounts).where(t.accounts.c.id == int(troll.id)).values(suspended_at=now() - timedelta(days=10)))
        assert await purge_expired(conn, server.ctx.feeds, None) == []  # default: keep forever
        assert await purge_expired(conn, server.ctx.feeds, 30) == []
        assert await purge_expired(conn, server.ctx.feeds, 7) == ["troll"]
    assert_error(await mod.get(f"/api/v1/admin/accounts/{troll.id}"), 404)
    assert (await mod.get(f"/api/v1/admin/accounts/{recent.id}")).json()["suspended"] is True
