"""Admin endpoints need both a staff role and the matching admin scope."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error

ENDPOINTS = [
    ("get", "/api/v1/admin/accounts", "admin:read:accounts"),
    ("get", "/api/v2/admin/accounts", "admin:read:accounts"),
    ("get", "/api/v1/admin/accounts/{id}", "admin:read:accounts"),
    ("post", "/api/v1/admin/accounts/{id}/action", "admin:write:accounts"),
    ("post", "/api/v1/admin/accounts/{id}/unsilence", "admin:write:accounts"),
    ("get", "/api/v1/admin/reports", "admin:read:reports"),
    ("get", "/api/v1/admin/appeals", "admin:read:accounts"),
    ("get", "/api/v1/admin/action_logs", "admin:read"),
]


@pytest.mark.parametrize("method,path,scope", ENDPOINTS)
async def test_role_and_scope_are_both_required(server, anon, method, path, scope):
    target = await server.user("target")
    url = path.format(id=target.id)
    role_without_scope = await server.user("mod1", scopes="read write", role="moderator")
    scope_without_role = await server.user("user1", scopes=f"read write {scope}")
    wrong_scope = await server.user("mod2", scopes="read write admin:read:domain_blocks admin:write:domain_blocks", role="moderator")
    both = await server.user("mod3", scopes=f"read {scope}", role="moderator")
    assert_error(await getattr(anon, method)(url), 401)
    for user in (role_without_scope, scope_without_role, wrong_scope):
        assert_error(await getattr(user, method)(url), 403)
    assert (await getattr(both, method)(url)).status_code == 200
    # Refusals changed nothing: the target was never sanctioned.
    seen = (await both.get(f"/api/v1/admin/accounts/{target.id}")) if "read:accounts" in scope else None
    if seen is not None:
        assert seen.json()["silenced"] is False and seen.json()["suspended"] is False


async def test_purge_is_for_administrators_only(server):
    target = await server.user("target")
    mod = await server.user("mod", scopes="read admin:read admin:write", role="moderator")
    admin = await server.user("boss", scopes="read admin:read admin:write", role="admin")
    assert (await mod.post(f"/api/v1/admin/accounts/{target.id}/action", data={"type": "suspend"})).status_code == 200
    assert_error(await mod.delete(f"/api/v1/admin/accounts/{target.id}"), 403)
    assert (await admin.get(f"/api/v1/admin/accounts/{target.id}")).status_code == 200


async def test_moderators_cannot_act_on_staff_or_themselves(server):
    mod = await server.user("mod", scopes="read admin:read admin:write", role="moderator")
    other_mod = await server.user("mod2", scopes="read", role="moderator")
    admin = await server.user("boss", scopes="read admin:read admin:write", role="admin")
    for target in (mod, other_mod, admin):
        assert_error(await mod.post(f"/api/v1/admin/accounts/{target.id}/action", data={"type": "suspend"}), 403)
    assert (await admin.post(f"/api/v1/admin/accounts/{other_mod.id}/action", data={"type": "silence"})).status_code == 200
    logs = (await admin.get("/api/v1/admin/action_logs")).json()
    assert [(entry["action"], entry["target_handle"]) for entry in logs] == [("silence", "mod2")]
