"""OAuth 2: app registration, the authorize page, every grant, PKCE, revocation, scopes and sign-up."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

from tests.api.conftest import PASSWORD, assert_error, auth, password_token, register_app

OOB = "urn:ietf:wg:oauth:2.0:oob"


# --- app registration -------------------------------------------------------------------------

async def test_register_app_with_form_and_newline_redirect_uris(anon):
    r = await anon.post("/api/v1/apps", data={
        "client_name": "Form App", "redirect_uris": f"{OOB}\nhttps://app.example/cb",
        "scopes": "read write", "website": "https://app.example",
    })
    assert r.status_code == 200, r.text
    app = r.json()
    assert app["name"] == "Form App"
    assert app["website"] == "https://app.example"
    assert app["redirect_uris"] == [OOB, "https://app.example/cb"]
    assert app["redirect_uri"] == f"{OOB}\nhttps://app.example/cb"
    assert app["scopes"] == ["read", "write"]
    assert app["client_id"] and app["client_secret"] and app["client_id"] != app["client_secret"]


async def test_register_app_with_json_and_array_redirect_uris(anon):
    r = await anon.post("/api/v1/apps", json={
        "client_name": "JSON App", "redirect_uris": ["https://a.example/cb", "https://b.example/cb"], "scopes": "read",
    })
    assert r.status_code == 200, r.text
    assert r.json()["redirect_uris"] == ["https://a.example/cb", "https://b.example/cb"]
    assert r.json()["scopes"] == ["read"]


async def test_register_app_defaults_to_read_scope(anon):
    r = await anon.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": OOB})
    assert r.json()["scopes"] == ["read"]


async def test_register_app_rejects_bad_input(anon):
    assert_error(await anon.post("/api/v1/apps", data={"redirect_uris": OOB}), 422)
    assert_error(await anon.post("/api/v1/apps", data={"client_name": "x"}), 422)
    assert_error(await anon.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": "not a uri"}), 422)
    body = assert_error(await anon.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": OOB, "scopes": "read bogus"}), 400)
    assert body["error"] == "invalid_scope"


# --- authorize page and codes ----------------------------------------------------------------

async def test_authorize_page_shows_app_and_form(server, anon):
    await server.user("alice")
    app = await register_app(anon)
    r = await anon.get("/oauth/authorize", params={
        "client_id": app["client_id"], "redirect_uri": OOB, "response_type": "code", "scope": "read write",
    })
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "suite" in r.text
    assert f'name="client_id" value="{app["client_id"]}"' in r.text
    assert 'name="password"' in r.text
    assert "read write" in r.text


async def test_authorize_page_escapes_request_values(anon):
    app = await register_app(anon)
    r = await anon.get("/oauth/authorize", params={
        "client_id": app["client_id"], "redirect_uri": OOB, "state": '"><script>alert(1)</script>',
        "code_challenge": "abc", "code_challenge_method": "S256"})
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert 'name="state" value="&#34;&gt;&lt;script&gt;' in r.text or 'name="state" value="&quot;&gt;&lt;script&gt;' in r.text
    assert 'name="code_challenge" value="abc"' in r.text and 'name="code_challenge_method" value="S256"' in r.text


async def test_authorize_page_rejects_unknown_client_and_foreign_redirect(anon):
    body = assert_error(await anon.get("/oauth/authorize", params={"client_id": "nope", "response_type": "code"}), 400)
    assert body["error"] == "invalid_client"
    app = await register_app(anon)
    body = assert_error(await anon.get("/oauth/authorize", params={
        "client_id": app["client_id"], "redirect_uri": "https://evil.example/cb", "response_type": "code"}), 400)
    assert body["error"] == "invalid_request"
    body = assert_error(await anon.get("/oauth/authorize", params={
        "client_id": app["client_id"], "redirect_uri": OOB, "scope": "admin:write"}), 400)
    assert body["error"] == "invalid_scope"


async def test_authorize_oob_shows_code_which_exchanges_for_a_working_token(server, anon):
    alice = await server.user("alice")
    app = await register_app(anon)
    r = await anon.post("/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": OOB, "response_type": "code", "scope": "read write",
        "username": "alice", "password": PASSWORD, "decision": "approve",
    })
    assert r.status_code == 200, r.text
    m = re.search(r'<code id="authorization-code">([^<]+)</code>', r.text)
    assert m, r.text
    code = m.group(1)
    r = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": OOB,
    })
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "read write"
    assert isinstance(token["created_at"], int)
    me = await anon.get("/api/v1/accounts/verify_credentials", headers=auth(token["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == alice.id
    # A code works once.
    again = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": OOB,
    })
    assert assert_error(again, 400)["error"] == "invalid_grant"


async def test_authorize_with_wrong_password_shows_error_and_no_code(server, anon):
    await server.user("alice")
    app = await register_app(anon)
    r = await anon.post("/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": OOB, "username": "alice", "password": "wrong password!",
    })
    assert r.status_code == 401
    assert "Invalid username or password" in r.text
    assert "authorization-code" not in r.text


async def test_authorize_redirects_with_code_and_state(server, anon):
    await server.user("alice")
    cb = "https://client.example/callback"
    app = await register_app(anon, redirect_uris=cb)
    r = await anon.post("/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": cb, "response_type": "code", "scope": "read",
        "state": "xyz 123", "username": "alice@example.org", "password": PASSWORD,
    })
    assert r.status_code == 302, r.text
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == cb
    query = parse_qs(location.query)
    assert query["state"] == ["xyz 123"]
    code = query["code"][0]
    r = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": cb,
    })
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read"


async def test_authorize_deny_redirects_with_access_denied(server, anon):
    await server.user("alice")
    cb = "https://client.example/callback"
    app = await register_app(anon, redirect_uris=cb)
    r = await anon.post("/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": cb, "state": "s1", "decision": "deny",
    })
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query == {"error": ["access_denied"], "state": ["s1"]}


async def test_code_exchange_with_wrong_redirect_uri_fails(server, anon):
    await server.user("alice")
    cb = "https://client.example/callback"
    app = await register_app(anon, redirect_uris=f"{cb}\n{OOB}")
    r = await anon.post("/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": cb, "username": "alice", "password": PASSWORD})
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": OOB})
    assert assert_error(r, 400)["error"] == "invalid_grant"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def _pkce_code(anon, app, challenge: str) -> str:
    r = await anon.post("/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": OOB, "response_type": "code", "scope": "read",
        "code_challenge": challenge, "code_challenge_method": "S256", "username": "alice", "password": PASSWORD,
    })
    assert r.status_code == 200, r.text
    return re.search(r'<code id="authorization-code">([^<]+)</code>', r.text).group(1)


async def test_pkce_s256_public_client_succeeds_without_secret(server, anon):
    alice = await server.user("alice")
    app = await register_app(anon)
    verifier = "a" * 20 + "-verifier-" + "b" * 30
    code = await _pkce_code(anon, app, _s256(verifier))
    r = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "redirect_uri": OOB, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    me = await anon.get("/api/v1/accounts/verify_credentials", headers=auth(r.json()["access_token"]))
    assert me.json()["id"] == alice.id


async def test_pkce_wrong_or_missing_verifier_fails(server, anon):
    await server.user("alice")
    app = await register_app(anon)
    verifier = "v" * 50
    code = await _pkce_code(anon, app, _s256(verifier))
    r = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": OOB, "code_verifier": "w" * 50})
    assert assert_error(r, 400)["error"] == "invalid_grant"
    r = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": OOB})
    assert assert_error(r, 400)["error"] == "invalid_grant"
    # Without a secret and without a verifier the client is not authenticated at all.
    r = await anon.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"], "redirect_uri": OOB})
    assert assert_error(r, 401)["error"] == "invalid_client"


# --- token endpoint ---------------------------------------------------------------------------

async def test_password_grant_with_form(server, anon):
    alice = await server.user("alice")
    app = await register_app(anon)
    token = await password_token(anon, app, "alice", "read write")
    me = await anon.get("/api/v1/accounts/verify_credentials", headers=auth(token))
    assert me.status_code == 200 and me.json()["username"] == "alice" and me.json()["id"] == alice.id


async def test_password_grant_with_json_body(server, anon):
    await server.user("alice")
    app = await register_app(anon)
    r = await anon.post("/oauth/token", json={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "alice@example.org", "password": PASSWORD, "scope": "read"})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read"


async def test_password_grant_with_http_basic_auth(server, anon):
    await server.user("alice")
    app = await register_app(anon)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    r = await anon.post("/oauth/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD,
                                              "scope": "read write"},
                        headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read write"
    bad = base64.b64encode(f"{app['client_id']}:wrong".encode()).decode()
    r = await anon.post("/oauth/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD},
                        headers={"Authorization": f"Basic {bad}"})
    assert assert_error(r, 401)["error"] == "invalid_client"


async def test_password_grant_failures(server, anon):
    await server.user("alice")
    app = await register_app(anon, scopes="read")
    base = {"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"], "username": "alice"}
    assert assert_error(await anon.post("/oauth/token", data={**base, "password": "nope nope"}), 400)["error"] == "invalid_grant"
    assert assert_error(await anon.post("/oauth/token", data={**base, "password": PASSWORD, "scope": "write"}), 400)["error"] == "invalid_scope"
    assert assert_error(await anon.post("/oauth/token", data={**base, "password": PASSWORD, "client_secret": "x"}), 401)["error"] == "invalid_client"
    assert assert_error(await anon.post("/oauth/token", data={**base, "grant_type": "implicit"}), 400)["error"] == "unsupported_grant_type"


async def test_client_credentials_grant_and_app_verify_credentials(anon):
    app = await register_app(anon, scopes="read write")
    r = await anon.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "scope": "read"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    r = await anon.get("/api/v1/apps/verify_credentials", headers=auth(token))
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "suite" and body["scopes"] == ["read", "write"]
    assert "client_secret" not in body
    # An app token is not a user: user endpoints refuse it.
    assert_error(await anon.get("/api/v1/accounts/verify_credentials", headers=auth(token)), 422)
    assert_error(await anon.get("/api/v1/apps/verify_credentials"), 401)


async def test_apps_verify_credentials_with_user_token(server, anon):
    alice = await server.user("alice")
    r = await alice.get("/api/v1/apps/verify_credentials")
    assert r.status_code == 200 and r.json()["name"] == "tests"


async def test_revoke_then_token_is_rejected(server, anon):
    await server.user("alice")
    app = await register_app(anon)
    token = await password_token(anon, app, "alice", "read")
    assert (await anon.get("/api/v1/accounts/verify_credentials", headers=auth(token))).status_code == 200
    # Someone else's client cannot revoke it.
    other = await register_app(anon)
    r = await anon.post("/oauth/revoke", data={"client_id": other["client_id"], "client_secret": "wrong", "token": token})
    assert r.status_code == 403
    assert (await anon.get("/api/v1/accounts/verify_credentials", headers=auth(token))).status_code == 200
    r = await anon.post("/oauth/revoke", data={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token})
    assert r.status_code == 200 and r.json() == {}
    assert_error(await anon.get("/api/v1/accounts/verify_credentials", headers=auth(token)), 401)
    # Revoking again, or an unknown token, still answers 200.
    r = await anon.post("/oauth/revoke", data={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": "unknown"})
    assert r.status_code == 200


async def test_oauth_server_metadata(anon):
    r = await anon.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    meta = r.json()
    assert "password" in meta["grant_types_supported"]
    assert {"authorization_code", "client_credentials"} <= set(meta["grant_types_supported"])
    assert meta["token_endpoint"] == "http://test.local/oauth/token"
    assert meta["authorization_endpoint"] == "http://test.local/oauth/authorize"
    assert "S256" in meta["code_challenge_methods_supported"]
    assert {"read", "write", "follow", "push", "read:statuses"} <= set(meta["scopes_supported"])


async def test_invalid_bearer_token_is_401(anon):
    assert_error(await anon.get("/api/v1/accounts/verify_credentials", headers=auth("garbage")), 401)
    assert_error(await anon.get("/api/v1/accounts/verify_credentials"), 401)


async def test_access_token_query_parameter(server, anon):
    alice = await server.user("alice")
    r = await anon.get("/api/v1/accounts/verify_credentials", params={"access_token": alice.token})
    assert r.status_code == 200 and r.json()["id"] == alice.id


# --- scopes -----------------------------------------------------------------------------------

async def test_read_only_token_cannot_post(server):
    reader = await server.user("reader", scopes="read")
    r = await reader.post("/api/v1/statuses", data={"status": "hi"})
    assert assert_error(r, 403)["error"] == "This action is outside the authorized scopes"
    assert (await reader.get("/api/v1/accounts/verify_credentials")).json()["statuses_count"] == 0


async def test_granular_read_statuses_scope(server):
    narrow = await server.user("narrow", scopes="read:statuses")
    assert (await narrow.get("/api/v1/timelines/home")).status_code == 200
    assert_error(await narrow.get("/api/v1/notifications"), 403)
    assert_error(await narrow.get("/api/v1/accounts/verify_credentials"), 403)
    assert_error(await narrow.post("/api/v1/statuses", data={"status": "x"}), 403)


async def test_follow_scope_covers_follows(server):
    bob = await server.user("bob")
    follower = await server.user("follower", scopes="read follow")
    r = await follower.post(f"/api/v1/accounts/{bob.id}/follow")
    assert r.status_code == 200 and r.json()["following"] is True
    assert_error(await follower.post("/api/v1/statuses", data={"status": "x"}), 403)


# --- registration -----------------------------------------------------------------------------

async def _app_token(http, scope: str = "read write") -> str:
    app = await register_app(http, scopes="read write follow")
    r = await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "scope": scope})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def test_registration_open(make_server):
    srv = await make_server(registrations="open")
    token = await _app_token(srv.http)
    r = await srv.http.post("/api/v1/accounts", headers=auth(token), data={
        "username": "newbie", "email": "newbie@example.org", "password": "long enough pw", "agreement": "true",
        "locale": "en"})
    assert r.status_code == 200, r.text
    user_token = r.json()["access_token"]
    me = await srv.http.get("/api/v1/accounts/verify_credentials", headers=auth(user_token))
    assert me.status_code == 200 and me.json()["username"] == "newbie"
    lookup = await srv.http.get("/api/v1/accounts/lookup", params={"acct": "newbie"})
    assert lookup.status_code == 200
    # The same username again is a validation error, and creates nothing.
    r = await srv.http.post("/api/v1/accounts", headers=auth(token), data={
        "username": "NEWBIE", "email": "other@example.org", "password": "long enough pw", "agreement": "1"})
    assert "already taken" in assert_error(r, 422)["error"]
    r = await srv.http.post("/api/v1/accounts", headers=auth(token), data={
        "username": "bad name", "email": "not-an-email", "password": "short", "agreement": "1"})
    assert_error(r, 422)
    assert (await srv.http.get("/api/v1/accounts/lookup", params={"acct": "bad name"})).status_code == 404


async def test_registration_needs_an_app_token_with_write_scope(make_server):
    srv = await make_server(registrations="open")
    assert_error(await srv.http.post("/api/v1/accounts", data={
        "username": "x1", "email": "x1@example.org", "password": "long enough pw", "agreement": "1"}), 401)
    token = await _app_token(srv.http, scope="read")
    assert_error(await srv.http.post("/api/v1/accounts", headers=auth(token), data={
        "username": "x1", "email": "x1@example.org", "password": "long enough pw", "agreement": "1"}), 403)


async def test_registration_requires_agreement(make_server):
    srv = await make_server(registrations="open")
    token = await _app_token(srv.http)
    r = await srv.http.post("/api/v1/accounts", headers=auth(token), data={
        "username": "nope", "email": "nope@example.org", "password": "long enough pw", "agreement": "0"})
    assert_error(r, 422)
    assert (await srv.http.get("/api/v1/accounts/lookup", params={"acct": "nope"})).status_code == 404


async def test_registration_approval(make_server):
    srv = await make_server(registrations="approval")
    token = await _app_token(srv.http)
    data = {"username": "waiting", "email": "waiting@example.org", "password": "long enough pw", "agreement": "1"}
    r = await srv.http.post("/api/v1/accounts", headers=auth(token), data=data)
    assert "Reason" in assert_error(r, 422)["error"]
    r = await srv.http.post("/api/v1/accounts", headers=auth(token), data={**data, "reason": "I like squares"})
    assert r.status_code == 200, r.text
    pending = r.json()["access_token"]
    r = await srv.http.get("/api/v1/accounts/verify_credentials", headers=auth(pending))
    assert "pending approval" in assert_error(r, 403)["error"]
    # Not yet visible to others, and cannot log in with a password either.
    assert (await srv.http.get("/api/v1/accounts/lookup", params={"acct": "waiting"})).status_code == 404
    app = await register_app(srv.http)
    r = await srv.http.post("/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "waiting", "password": "long enough pw"})
    assert r.status_code == 403
    v2 = (await srv.http.get("/api/v2/instance")).json()
    assert v2["registrations"]["enabled"] is True and v2["registrations"]["approval_required"] is True


async def test_registration_closed(make_server):
    srv = await make_server(registrations="closed")
    token = await _app_token(srv.http)
    r = await srv.http.post("/api/v1/accounts", headers=auth(token), data={
        "username": "shut", "email": "shut@example.org", "password": "long enough pw", "agreement": "1"})
    assert_error(r, 403)
    assert (await srv.http.get("/api/v1/accounts/lookup", params={"acct": "shut"})).status_code == 404
    v1 = (await srv.http.get("/api/v1/instance")).json()
    assert v1["registrations"] is False
    nodeinfo = (await srv.http.get("/nodeinfo/2.0")).json()
    assert nodeinfo["openRegistrations"] is False
