"""Rate limits: each limit answers 429 with Retry-After and X-RateLimit-* headers once exceeded."""

from __future__ import annotations

import re
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import httpx
import pytest

from tests.conftest import BASE, RELAXED_LIMITS, Server
from townsquare.main import create_app
from townsquare.services import auth
from townsquare.wiring import build_context

REDIS_URL = "redis://127.0.0.1:6379/0"
DAY = 86400  # test limits use day-long windows, so a window boundary cannot fall inside a test in practice


@asynccontextmanager
async def limited_server(settings, **overrides):
    """A server whose settings differ from the test defaults by these overrides."""
    config = settings.model_copy(update=overrides)
    ctx = build_context(config)
    app = create_app(config, run_migrations=False, context=ctx)
    ctx.jobs.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        try:
            yield Server(app, ctx, http)
        finally:
            await ctx.jobs.stop()
            await ctx.limiter.close()
            await ctx.db.dispose()


def assert_throttled(response, limit: int, period: int) -> None:
    """Check the 429 answer: error body, Retry-After within the period, and the limit headers."""
    assert response.status_code == 429, response.text
    assert response.json() == {"error": "Too many requests"}
    assert 0 < int(response.headers["retry-after"]) <= period
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", response.headers["x-ratelimit-reset"])
    reset = datetime.fromisoformat(response.headers["x-ratelimit-reset"].replace("Z", "+00:00"))
    assert 0 < (reset - datetime.now(timezone.utc)).total_seconds() <= period


async def test_unauthenticated_limit_counts_down_then_refuses(settings):
    async with limited_server(settings, rate_limit_unauthenticated="3/1d") as server:
        seen = []
        for _ in range(3):
            r = await server.http.get("/api/v1/instance")
            assert r.status_code == 200
            assert r.headers["x-ratelimit-limit"] == "3"
            seen.append(r.headers["x-ratelimit-remaining"])
        assert seen == ["2", "1", "0"]
        assert_throttled(await server.http.get("/api/v1/timelines/public"), 3, DAY)


async def test_ipv6_clients_are_grouped_by_64(settings):
    async with limited_server(settings, rate_limit_unauthenticated="2/1d") as server:
        def via(ip):
            return server.http.get("/api/v1/instance", headers={"X-Forwarded-For": ip})
        assert (await via("2001:db8:1:2::1")).status_code == 200
        assert (await via("2001:db8:1:2:ffff::9")).status_code == 200
        assert_throttled(await via("2001:db8:1:2:abcd:1:2:3"), 2, DAY)  # same /64
        assert (await via("2001:db8:1:3::1")).status_code == 200  # the next /64 has its own count
        assert (await via("192.0.2.7")).status_code == 200


async def test_forwarded_for_is_ignored_from_untrusted_peers(settings):
    async with limited_server(settings, rate_limit_unauthenticated="2/1d", trusted_proxies="10.9.9.9") as server:
        for ip in ("192.0.2.1", "192.0.2.2"):
            assert (await server.http.get("/api/v1/instance", headers={"X-Forwarded-For": ip})).status_code == 200
        # The test client's own address (127.0.0.1) is not trusted here, so a new forged address does not help.
        assert_throttled(await server.http.get("/api/v1/instance", headers={"X-Forwarded-For": "192.0.2.3"}), 2, DAY)


async def test_per_token_and_per_user_limits(settings):
    async with limited_server(settings, rate_limit_token="2/1d", rate_limit_user="3/1d") as server:
        alice = await server.user("alice")
        for _ in range(2):
            r = await alice.get("/api/v1/accounts/verify_credentials")
            assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "2"
        assert_throttled(await alice.get("/api/v1/accounts/verify_credentials"), 2, DAY)
        async with server.ctx.db.write() as conn:
            app = await auth.create_app(conn, "second", [auth.OOB], ["read"], None)
            second, _ = await auth.issue_token(conn, app["id"], int(alice.id), ["read"])
        headers = {"Authorization": f"Bearer {second}"}
        # The second token has its own 2, but the account's 3 are nearly spent (the refused hit counted too).
        assert_throttled(await server.http.get("/api/v1/accounts/verify_credentials", headers=headers), 3, DAY)
        bob = await server.user("bob")
        assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 200


async def test_sign_up_limit_per_ip(settings):
    async with limited_server(settings, rate_limit_sign_up="2/1d") as server:
        async with server.ctx.db.write() as conn:
            app = await auth.create_app(conn, "signup", [auth.OOB], ["read", "write", "follow"], None)
            secret, _ = await auth.issue_token(conn, app["id"], None, ["read", "write"])
        headers = {"Authorization": f"Bearer {secret}"}

        def form(n):
            return {"username": f"new{n}", "email": f"new{n}@example.org", "password": "long enough pw", "agreement": "1"}
        for n in range(2):
            r = await server.http.post("/api/v1/accounts", data=form(n), headers=headers)
            assert r.status_code == 200, r.text
        r = await server.http.post("/api/v1/accounts", data=form(9), headers=headers)
        assert_throttled(r, 2, DAY)
        lookup = await server.http.get("/api/v1/accounts/lookup", params={"acct": "new9"})
        assert lookup.status_code == 404  # refused before any work


async def test_sign_in_limit_covers_password_grant_and_form(settings):
    async with limited_server(settings, rate_limit_sign_in="3/1d") as server:
        await server.user("carol")
        async with server.ctx.db.write() as conn:
            app = await auth.create_app(conn, "login", [auth.OOB], ["read"], None)
        grant = {"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
                 "username": "carol@example.org", "password": "correct horse battery", "scope": "read"}
        first = await server.http.post("/oauth/token", data=grant)
        assert first.status_code == 200 and first.headers["x-ratelimit-limit"] == "3"
        bad = await server.http.post("/oauth/token", data={**grant, "password": "wrong"})
        assert bad.status_code == 400 and bad.headers["x-ratelimit-remaining"] == "1"
        # Other grants are not sign-ins and do not count.
        cc = await server.http.post("/oauth/token", data={**grant, "grant_type": "client_credentials"})
        assert cc.status_code == 200 and "x-ratelimit-limit" not in cc.headers
        form = {"client_id": app["client_id"], "redirect_uri": auth.OOB, "scope": "read", "response_type": "code",
                "username": "carol", "password": "wrong", "decision": "approve"}
        assert (await server.http.post("/oauth/authorize", data=form)).status_code == 401
        assert_throttled(await server.http.post("/oauth/authorize", data={**form, "password": "correct horse battery"}), 3, DAY)
        assert_throttled(await server.http.post("/oauth/token", data=grant), 3, DAY)


async def test_delete_limit_per_account(settings):
    async with limited_server(settings, rate_limit_deletes="2/1d") as server:
        dave = await server.user("dave")
        ids = [(await dave.post("/api/v1/statuses", data={"status": f"post {n}"})).json()["id"] for n in range(3)]
        for status_id in ids[:2]:
            r = await dave.delete(f"/api/v1/statuses/{status_id}")
            assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "2"
        assert_throttled(await dave.delete(f"/api/v1/statuses/{ids[2]}"), 2, DAY)
        assert (await dave.get(f"/api/v1/statuses/{ids[2]}")).status_code == 200  # nothing was deleted
        assert_throttled(await dave.post(f"/api/v1/statuses/{ids[2]}/unreblog"), 2, DAY)
        erin = await server.user("erin")
        assert (await erin.post("/api/v1/statuses", data={"status": "still fine"})).status_code == 200


async def test_media_limit_per_account(settings):
    async with limited_server(settings, rate_limit_media="2/1d") as server:
        frank = await server.user("frank")
        files = {"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")}
        for path in ("/api/v1/media", "/api/v2/media"):
            r = await frank.post(path, files=files)
            assert r.status_code != 429 and r.headers["x-ratelimit-limit"] == "2"
        assert_throttled(await frank.post("/api/v2/media", files=files), 2, DAY)


async def test_normal_api_responses_carry_the_headers(server):
    alice = await server.user("alice")
    r = await alice.get("/api/v1/timelines/home")
    assert r.status_code == 200
    assert r.headers["x-ratelimit-limit"] == RELAXED_LIMITS["rate_limit_token"].split("/")[0]
    assert int(r.headers["x-ratelimit-remaining"]) == 100000 - 1
    datetime.fromisoformat(r.headers["x-ratelimit-reset"].replace("Z", "+00:00"))
    assert "x-ratelimit-limit" not in (await server.http.get("/oauth/authorize")).headers


async def test_limits_can_be_switched_off(settings):
    async with limited_server(settings, rate_limits_enabled=False, rate_limit_unauthenticated="1/1d") as server:
        for _ in range(3):
            r = await server.http.get("/api/v1/instance")
            assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers


@pytest.mark.parametrize("prefix_shared", [True, False])
async def test_redis_limits_hold_across_app_instances(settings, prefix_shared):
    prefix = f"test-{uuid.uuid4().hex}:"
    other = prefix if prefix_shared else f"test-{uuid.uuid4().hex}:"
    async with limited_server(settings, redis_url=REDIS_URL, redis_prefix=prefix, rate_limit_unauthenticated="4/1d") as one, \
            limited_server(settings, redis_url=REDIS_URL, redis_prefix=other, rate_limit_unauthenticated="4/1d") as two:
        statuses = []
        for n in range(6):
            statuses.append((await (one if n % 2 else two).http.get("/api/v1/instance")).status_code)
    assert statuses == ([200] * 4 + [429] * 2 if prefix_shared else [200] * 6)
