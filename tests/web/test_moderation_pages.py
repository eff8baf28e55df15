"""Warnings and appeals as the account sees them, and the appeals queue and audit log as moderators see them."""

from __future__ import annotations

import re


async def _staff(server, browsers):
    await server.user("mod", role="moderator")
    staff = browsers()
    await staff.sign_in("mod")
    await staff.get("/admin")
    return staff


async def test_a_warned_account_appeals_from_settings_and_a_moderator_rejects_it(server, browsers):
    alice = await server.user("alice")
    staff = await _staff(server, browsers)
    assert (await staff.post(f"/admin/accounts/{alice.id}/action", {"type": "none", "text": "be nice"})).status_code == 303
    b = browsers()
    await b.sign_in("alice")
    page = (await b.get("/settings/warnings")).text
    assert "be nice" in page and 'name="next" value="/settings/warnings"' in page and "suspended" not in page
    warning = re.search(r"/account_status/(\d+)/appeal", page).group(1)
    r = await b.post(f"/account_status/{warning}/appeal", {"text": "I was nice", "next": "/settings/warnings"})
    assert r.status_code == 303 and r.headers["location"] == "/settings/warnings"
    assert "Your appeal: “I was nice” (pending)" in (await b.get("/settings/warnings")).text
    assert (await b.post(f"/account_status/{warning}/appeal", {"text": "again"})).status_code == 422  # once only
    queue = (await staff.get("/admin/appeals")).text
    assert "I was nice" in queue and "be nice" in queue and "@alice" in queue
    appeal = re.search(r"/admin/appeals/(\d+)/reject", queue).group(1)
    assert (await staff.post(f"/admin/appeals/{appeal}/reject")).status_code == 303
    api = (await server.http.get("/api/v1/account_warnings", headers={"Authorization": f"Bearer {alice.token}"})).json()
    assert api[0]["appeal"]["state"] == "rejected"
    assert "I was nice" not in (await staff.get("/admin/appeals")).text
    assert "I was nice" in (await staff.get("/admin/appeals?state=rejected")).text
    r = await staff.post(f"/admin/appeals/{appeal}/approve")
    assert r.status_code == 403 and "already been decided" in r.text  # decided once; nothing changes
    assert (await staff.get("/admin/appeals?state=bogus")).status_code == 422
    assert (await staff.post("/admin/appeals/123/approve")).status_code == 404


async def test_a_suspended_account_reaches_only_its_warning_and_an_approved_appeal_lifts_it(server, browsers):
    bob = await server.user("bob")
    staff = await _staff(server, browsers)
    await staff.post(f"/admin/accounts/{bob.id}/action", {"type": "suspend", "text": "spam"})
    b = browsers()
    await b.sign_in("bob")
    for path in ("/settings", "/settings/filters", "/settings/sessions", "/settings/warnings", "/admin/appeals"):
        page = (await b.get(path)).text
        assert "Your account is suspended" in page and "spam" in page and '<nav aria-label="Settings"' not in page, path
    for path, data in (("/settings/preferences", {"privacy": "private", "language": ""}), ("/settings/filters", {"title": "x"}),
                       ("/settings/password", {"current_password": "correct horse battery", "new_password": "x" * 10})):
        assert (await b.post(path, data)).status_code == 403, path
    warning = re.search(r"/account_status/(\d+)/appeal", (await b.get("/")).text).group(1)
    assert (await b.post(f"/account_status/{warning}/appeal", {"text": "not spam", "next": "/"})).status_code == 303
    queue = (await staff.get("/admin/appeals")).text
    appeal = re.search(r"/admin/appeals/(\d+)/approve", queue).group(1)
    assert (await staff.post(f"/admin/appeals/{appeal}/approve")).status_code == 303
    assert (await browsers().get("/@bob")).status_code == 200  # the suspension is reversed
    assert '<nav aria-label="Settings"' in (await b.get("/settings")).text
    log = (await staff.get("/admin/log")).text
    assert "approve_appeal" in log and "unsuspend" in log and "suspend" in log and "@bob" in log
    only = (await staff.get("/admin/log?action=approve_appeal")).text
    assert "approve_appeal" in only and "<td>unsuspend</td>" not in only and "<td>suspend</td>" not in only


async def test_appeals_and_the_audit_log_are_for_moderators_only(server, browsers):
    await server.user("carol")
    anonymous, user = browsers(), browsers()
    await user.sign_in("carol")
    for path in ("/admin/appeals", "/admin/log"):
        assert (await anonymous.get(path)).status_code == 401, path
        assert (await user.get(path)).status_code == 403, path
    assert (await user.post("/admin/appeals/123/approve")).status_code == 403
    assert (await user.post("/admin/appeals/123/reject")).status_code == 403
    assert (await anonymous.post("/admin/appeals/123/approve")).status_code == 401
