"""Fixtures for the web pages: browsers (cookie-keeping HTTP clients) on the in-process app."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import cheap_password_hashing, make_server  # noqa: F401  (fixtures shared with the API suite)
from tests.conftest import BASE

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A cookie-keeping client that reads CSRF tokens from the pages it loads, as a browser's forms carry them."""

    def __init__(self, app):
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, follow_redirects=False)
        self.token = None

    async def get(self, url: str, **kw) -> httpx.Response:
        r = await self.http.get(url, headers={"accept": "text/html", **kw.pop("headers", {})}, **kw)
        found = CSRF.search(r.text)
        if found:
            self.token = found.group(1)
        return r

    async def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kw) -> httpx.Response:
        if csrf and self.token is None:
            await self.get("/auth/sign_in")
        body = {**({"csrf_token": self.token} if csrf else {}), **(data or {})}
        return await self.http.post(url, data=body, **kw)

    async def sign_up(self, username: str) -> httpx.Response:
        await self.get("/auth/sign_up")
        return await self.post("/auth/sign_up", {"username": username, "email": f"{username}@example.org",
                                                 "password": PASSWORD, "agreement": "1"})

    async def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/auth/sign_in")
        return await self.post("/auth/sign_in", {"login": login, "password": password})

    @property
    def session(self) -> str | None:
        return self.http.cookies.get("ts_session")


@pytest.fixture
async def browsers(server):
    """Make browsers on the test server; closed at the end."""
    made = []

    def make(app=None) -> Browser:
        b = Browser(app or server.app)
        made.append(b)
        return b

    yield make
    for b in made:
        await b.http.aclose()
