"""Helpers for the API suite: servers with overridden settings, OAuth apps and small assertions."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher

from tests.conftest import BASE, Server
from townsquare.main import create_app
from townsquare.services import auth as auth_service
from townsquare.wiring import build_context

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 at its cheapest: the suite creates many accounts and checks real hashes, not their cost."""
    monkeypatch.setattr(auth_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
async def make_server(settings):
    """Build extra servers on the test database with some settings overridden (e.g. registrations)."""
    made = []

    async def make(**overrides) -> Server:
        custom = settings.model_copy(update=overrides)
        ctx = build_context(custom)
        app = create_app(custom, run_migrations=False, context=ctx)
        ctx.jobs.start()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        made.append((ctx, http))
        return Server(app, ctx, http)

    yield make
    for ctx, http in made:
        await http.aclose()
        await ctx.jobs.stop()
        if getattr(ctx, "audio", None) is not None:
            await ctx.audio.close()  # rooms started by a test stop their pipeline threads
        if ctx.spaces is not None:
            await ctx.spaces.close()
        await ctx.bus.close()
        await ctx.db.dispose()


async def register_app(http: httpx.AsyncClient, scopes: str = "read write follow push",
                       redirect_uris: str = "urn:ietf:wg:oauth:2.0:oob") -> dict:
    """Register an OAuth app and return its JSON (with client_id and client_secret)."""
    r = await http.post("/api/v1/apps", data={"client_name": "suite", "redirect_uris": redirect_uris, "scopes": scopes})
    assert r.status_code == 200, r.text
    return r.json()


async def password_token(http: httpx.AsyncClient, app: dict, username: str, scope: str = "read write follow") -> str:
    """Get a user token with the password grant."""
    r = await http.post("/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": username, "password": PASSWORD, "scope": scope,
    })
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def auth(token: str) -> dict:
    """An Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def ids(items: list[dict]) -> list[str]:
    """The ids of a list of entities, in order."""
    return [item["id"] for item in items]


def assert_error(r: httpx.Response, status: int) -> dict:
    """Check a response is a Mastodon-shaped error with this status; return its body."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    return body


async def post(user, text: str, **fields) -> dict:
    """Post a status as a user and return it."""
    r = await user.post("/api/v1/statuses", data={"status": text, **fields})
    assert r.status_code == 200, r.text
    return r.json()
