"""Sessions: sign-up modes, cookies backed by access tokens, sign-out revoking them, CSRF, rate limits, the authorize page."""

from __future__ import annotations

import re

from tests.web.conftest import PASSWORD, Browser


async def test_sign_up_sets_a_protected_cookie_whose_token_the_api_accepts_until_sign_out(server, browsers):
    b = browsers()
    r = await b.sign_up("alice")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "ts_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the test server is plain http; https gets Secure (next test)
    secret = b.session
    api = await server.http.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200 and api.json()["username"] == "alice"
    home = await b.get("/")
    assert "<h1>Home</h1>" in home.text and "@alice" in home.text
    r = await b.post("/auth/sign_out")
    assert r.status_code == 303
    api = await server.http.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401  # the session's token is revoked, not merely forgotten
    b.http.cookies.set("ts_session", secret)  # a copied cookie is worthless too
    assert "Create an account" in (await b.get("/")).text


async def test_https_sessions_get_secure_cookies(make_server, browsers):
    secure = await make_server(scheme="https")
    b = browsers(secure.app)
    r = await b.sign_up("carol")
    assert "Secure" in r.headers["set-cookie"]


async def test_every_form_needs_its_csrf_token(server, browsers):
    b = browsers()
    await b.sign_up("alice")
    r = await b.post("/statuses", {"status": "forged"}, csrf=False)
    assert r.status_code == 403 and "expired" in r.text
    r = await b.post("/statuses", {"status": "forged", "csrf_token": "0" * 64}, csrf=False)
    assert r.status_code == 403
    r = await b.post("/statuses", {"status": "real", "visibility": "public"})
    assert r.status_code == 303
    page = (await b.get("/@alice")).text
    assert "real" in page and "forged" not in page


async def test_wrong_password_and_sign_in(server, browsers):
    await browsers().sign_up("alice")
    b = browsers()
    r = await b.sign_in("alice", "wrong password")
    assert r.status_code == 401 and "Invalid" in r.text and b.session is None
    r = await b.sign_in("alice@example.org")
    assert r.status_code == 303 and b.session


async def test_registration_modes(make_server, browsers):
    closed = await make_server(registrations="closed")
    b = browsers(closed.app)
    assert "Registrations are closed" in (await b.get("/auth/sign_up")).text
    r = await b.post("/auth/sign_up", {"username": "x1", "email": "x1@example.org", "password": PASSWORD, "agreement": "1"})
    assert r.status_code == 403 and b.session is None

    approval = await make_server(registrations="approval")
    b = browsers(approval.app)
    assert 'name="reason"' in (await b.get("/auth/sign_up")).text
    r = await b.post("/auth/sign_up", {"username": "x2", "email": "x2@example.org", "password": PASSWORD, "agreement": "1"})
    assert r.status_code == 422 and "Reason" in r.text
    r = await b.post("/auth/sign_up", {"username": "x2", "email": "x2@example.org", "password": PASSWORD,
                                       "agreement": "1", "reason": "I like squares"})
    assert r.status_code == 303
    page = await b.get("/")
    assert "waiting for a moderator" in page.text
    r = await b.post("/statuses", {"status": "too early"})
    assert r.status_code == 403


async def test_sign_in_is_rate_limited_like_the_password_grant(make_server, browsers):
    strict = await make_server(rate_limit_sign_in="2/1d")
    await browsers(strict.app).sign_up("alice")
    b = browsers(strict.app)
    codes = [(await b.sign_in("alice", "nope")).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    r = await b.sign_in("alice")
    assert r.status_code == 429 and "Retry-After" in r.headers


async def test_the_authorize_page_uses_the_browser_session(server, browsers):
    b = browsers()
    await b.sign_up("alice")
    app = (await server.http.post("/api/v1/apps", data={"client_name": "toot", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                         "scopes": "read write"})).json()
    query = {"client_id": app["client_id"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "response_type": "code", "scope": "read"}
    r = await b.http.get("/oauth/authorize", params=query)
    assert "signed in as <strong>@alice" in r.text and 'name="password"' not in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    forged = await b.http.post("/oauth/authorize", data={**query, "session": "1", "decision": "approve"})
    assert forged.status_code == 403
    r = await b.http.post("/oauth/authorize", data={**query, "session": "1", "decision": "approve", "csrf_token": token})
    code = re.search(r'id="authorization-code">([^<]+)<', r.text).group(1)
    got = await server.http.post("/oauth/token", data={"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
                                                       "client_secret": app["client_secret"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"})
    me = await server.http.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {got.json()['access_token']}"})
    assert me.json()["username"] == "alice"
    anonymous = await Browser(server.app).http.get("/oauth/authorize", params=query)
    assert 'name="password"' in anonymous.text


async def test_password_change_revokes_other_sessions(server, browsers):
    first, second = browsers(), browsers()
    await first.sign_up("alice")
    await second.sign_in("alice")
    await first.get("/settings")
    r = await first.post("/settings/password", {"current_password": "wrong", "new_password": "another password"})
    assert r.status_code == 422
    r = await first.post("/settings/password", {"current_password": PASSWORD, "new_password": "another password"})
    assert r.status_code == 303
    assert "<h1>Home</h1>" in (await first.get("/")).text
    assert "Create an account" in (await second.get("/")).text
    assert (await browsers().sign_in("alice", "another password")).status_code == 303


async def test_forms_only_return_to_pages_of_this_site(server, browsers):
    b = browsers()
    await b.sign_up("alice")
    for target, expected in (("//evil.example/x", "/"), ("/\\evil.example", "/"), ("https://evil.example", "/"),
                             ("/@alice", "/@alice")):
        r = await b.post("/statuses", {"status": f"to {target}", "next": target})
        assert r.status_code == 303 and r.headers["location"].split("?")[0] == expected, target
