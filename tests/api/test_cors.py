"""CORS: browser-based clients on another origin may call the API and OAuth token paths, as on Mastodon."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import BASE

from tests.api.test_ratelimit import limited_server

ORIGIN = {"Origin": "https://elk.example"}
EXPOSED = {"link", "x-ratelimit-reset", "x-ratelimit-limit", "x-ratelimit-remaining", "x-request-id"}


def _preflight(method: str = "GET", headers: str = "authorization, content-type, idempotency-key") -> dict:
    return {**ORIGIN, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


def assert_shared(response) -> None:
    """The response may be read by any origin, with the paging, limit and request-id headers readable."""
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert EXPOSED <= exposed
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/api/v1/timelines/public", "/api/v1/statuses", "/oauth/token", "/oauth/revoke",
                                  "/.well-known/nodeinfo", "/nodeinfo/2.0", "/api/v1/streaming/user",
                                  "/api/v1/instance/"])
async def test_preflight_is_answered_without_a_token(anon, path):
    r = await anon.options(path, headers=_preflight("POST"))
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert r.headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in r.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert int(r.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in r.headers


async def test_preflight_echoes_other_requested_headers_but_not_garbage(anon):
    r = await anon.options("/api/v1/timelines/home", headers=_preflight("GET", "X-Custom-Thing, bad header\x7f"))
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert "x-custom-thing" in allowed and not any(" " in h for h in allowed)


async def test_api_responses_carry_cors_headers_on_success_and_errors(server, anon):
    alice = await server.user("alice")
    for n in range(3):
        assert (await alice.post("/api/v1/statuses", data={"status": f"post {n}"})).status_code == 200
    r = await anon.get("/api/v1/timelines/public", params={"limit": 2}, headers=ORIGIN)
    assert r.status_code == 200 and 'rel="next"' in r.headers["link"]
    assert_shared(r)
    r = await anon.get("/api/v1/timelines/home", headers=ORIGIN)  # no token
    assert r.status_code == 401 and r.json()["error"]
    assert_shared(r)
    r = await anon.get("/api/v1/statuses/123456", headers={**ORIGIN, "Authorization": f"Bearer {alice.token}"})
    assert r.status_code == 404
    assert_shared(r)
    r = await anon.get("/api/v1/no/such/endpoint", headers=ORIGIN)
    assert r.status_code == 404
    assert_shared(r)
    r = await anon.post("/oauth/token", data={"grant_type": "password"}, headers=ORIGIN)
    assert 400 <= r.status_code < 500
    assert_shared(r)


async def test_web_pages_and_the_authorize_form_are_not_shared(server, anon):
    for path in ("/oauth/authorize", "/", "/about"):
        r = await anon.get(path, headers=ORIGIN)
        assert "access-control-allow-origin" not in r.headers, path
        r = await anon.options(path, headers=_preflight("POST"))
        assert "access-control-allow-origin" not in r.headers, path
        assert r.status_code != 204


async def test_request_ids_are_fresh_or_kept_when_well_formed(anon):
    first = (await anon.get("/api/v1/instance")).headers["x-request-id"]
    second = (await anon.get("/api/v1/instance")).headers["x-request-id"]
    assert first != second
    r = await anon.get("/api/v1/instance", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await anon.get("/api/v1/instance", headers={"X-Request-Id": "evil\r value"})
    assert r.headers["x-request-id"] not in ("evil\r value", "")


async def test_preflights_cost_no_rate_limit_and_429s_are_readable(settings):
    async with limited_server(settings, rate_limit_unauthenticated="2/1d") as server:
        for _ in range(5):
            r = await server.http.options("/api/v1/timelines/public", headers=_preflight())
            assert r.status_code == 204 and "x-ratelimit-remaining" not in r.headers
        r = await server.http.get("/api/v1/timelines/public", headers=ORIGIN)
        assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "1"
        assert (await server.http.get("/api/v1/timelines/public", headers=ORIGIN)).status_code == 200
        r = await server.http.get("/api/v1/timelines/public", headers=ORIGIN)
        assert r.status_code == 429 and r.json() == {"error": "Too many requests"}
        assert_shared(r)
        assert r.headers["x-ratelimit-remaining"] == "0"
        r = await server.http.options("/api/v1/timelines/public", headers=_preflight())
        assert r.status_code == 204  # still answered once throttled


async def test_server_errors_are_readable_cross_origin(server, monkeypatch):
    from townsquare.api.mastodon import instance

    async def broken(request):
        raise RuntimeError("a bug in a route")

    monkeypatch.setattr(instance, "_usage", broken)
    transport = httpx.ASGITransport(app=server.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        r = await http.get("/api/v1/instance", headers=ORIGIN)
    assert r.status_code == 500 and r.json() == {"error": "Internal server error"}
    assert r.headers["access-control-allow-origin"] == "*"
