"""The fast dispatcher in the real app: it serves the API's routes itself, with FastAPI's answers, in route order."""

from __future__ import annotations

import httpx
import orjson
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.api.conftest import assert_error, auth, post
from tests.conftest import BASE
from townsquare.api.mastodon import accounts, instance
from townsquare.main import ROUTERS

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


async def both(server, method: str, path: str, **kw) -> tuple[httpx.Response, httpx.Response, int]:
    """The answer with the dispatcher on and off, and how many requests it served while on."""
    dispatch = server.app.state.dispatch
    served = dispatch.fast
    on = await server.http.request(method, path, **kw)
    fast = dispatch.fast - served
    dispatch.enabled = False
    try:
        off = await server.http.request(method, path, **kw)
    finally:
        dispatch.enabled = True
    assert dispatch.fast - served == fast  # nothing served while off
    return on, off, fast


def same(on: httpx.Response, off: httpx.Response) -> None:
    assert on.status_code == off.status_code, (on.text, off.text)
    assert on.content == off.content
    ignore = {"x-request-id", "date", "x-ratelimit-remaining", "x-ratelimit-reset"}
    assert {k: v for k, v in on.headers.items() if k not in ignore} == \
        {k: v for k, v in off.headers.items() if k not in ignore}


async def test_an_exact_route_is_served_fast_with_the_same_answer(server):
    user = await server.user("alice")
    on, off, fast = await both(server, "GET", "/api/v1/accounts/verify_credentials", headers=auth(user.token))
    same(on, off)
    assert fast == 1
    assert on.status_code == 200 and on.json()["username"] == "alice" and "source" in on.json()


async def test_a_route_with_parameters_is_served_fast_with_the_same_answer(server):
    user = await server.user("alice")
    status = await post(user, "hello from the fast path")
    on, off, fast = await both(server, "GET", f"/api/v1/statuses/{status['id']}", headers=auth(user.token))
    same(on, off)
    assert fast == 1 and on.json()["id"] == status["id"]
    on, off, fast = await both(server, "GET", f"/api/v1/accounts/{user.id}")
    same(on, off)
    assert fast == 1 and on.json()["id"] == user.id and "source" not in on.json()


async def test_the_earlier_route_wins(server):
    """/api/v1/accounts/verify_credentials is included before /api/v1/accounts/{account_id}, which also matches it."""
    table = server.app.state.dispatch.build()
    entry, params = table.lookup("GET", "/api/v1/accounts/verify_credentials")
    assert entry.call is accounts.verify_credentials and params == {}
    entry, params = table.lookup("GET", "/api/v1/accounts/12345")
    assert entry.call is accounts.get_account and params == {"account_id": "12345"}
    paths = [e.path for e in table.entries]
    assert paths.index("/api/v1/accounts/verify_credentials") < paths.index("/api/v1/accounts/{account_id}")
    assert_error(await server.http.get("/api/v1/accounts/verify_credentials"), 401)  # not a lookup of an account


async def test_the_scope_is_left_as_the_router_leaves_it(server):
    user = await server.user("alice")
    scopes = {}

    for on in (True, False):
        server.app.state.dispatch.enabled = on
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": f"/api/v1/accounts/{user.id}", "raw_path": b"", "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"test.local")], "client": ("127.0.0.1", 1), "server": ("test.local", 80),
                 "state": {}}
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await server.app(scope, receive, send)
        assert sent[0]["status"] == 200
        scopes[on] = scope
    server.app.state.dispatch.enabled = True
    for key in ("path_params", "endpoint", "route", "router"):
        assert scopes[True][key] == scopes[False][key], key
    assert scopes[True]["path_params"] == {"account_id": user.id} and scopes[True]["endpoint"] is accounts.get_account
    assert scopes[True]["route"].path == "/api/v1/accounts/{account_id}"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("DELETE", "/api/v1/accounts/verify_credentials", 405),
    ("PUT", "/api/v1/instance", 405),
    ("DELETE", "/api/v1/statuses", 405),
    ("GET", "/api/v1/no_such_thing", 404),
    ("GET", "/api/v9/statuses", 404),
])
async def test_not_found_and_not_allowed_are_fastapis(server, method, path, status):
    on, off, fast = await both(server, method, path)
    same(on, off)
    assert fast == 0
    body = assert_error(on, status)
    assert body == {"error": {404: "Not Found", 405: "Method Not Allowed"}[status]}


async def test_api_errors_keep_their_shape(server):
    on, off, fast = await both(server, "GET", "/api/v1/statuses/9999999999")
    same(on, off)
    assert fast == 1 and assert_error(on, 404) == {"error": "Record not found"}
    on, off, fast = await both(server, "POST", "/api/v1/statuses", data={"status": "no token"})
    same(on, off)
    assert fast == 1
    assert_error(on, 401)


async def test_an_unexpected_exception_is_the_500_json(server, monkeypatch):
    async def broken(request):
        raise RuntimeError("a bug in a route")

    monkeypatch.setattr(instance, "_usage", broken)
    dispatch = server.app.state.dispatch
    answers = []
    transport = httpx.ASGITransport(app=server.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        for on in (True, False):
            dispatch.enabled = on
            served = dispatch.fast
            answers.append(await http.get("/api/v1/instance"))
            assert dispatch.fast - served == (1 if on else 0)
    dispatch.enabled = True
    same(*answers)
    assert answers[0].status_code == 500 and answers[0].json() == {"error": "Internal server error"}
    with pytest.raises(RuntimeError, match="a bug in a route"):  # and it reaches the server, as before
        await server.http.get("/api/v1/instance")


async def test_routes_fastapi_serves_still_work(server):
    dispatch = server.app.state.dispatch
    passed = dispatch.passed
    r = await server.http.get("/api/openapi.json")  # FastAPI's own route, a plain Starlette Route
    assert r.status_code == 200 and "/api/v1/statuses" in r.json()["paths"]
    r = await server.http.get("/spaces", headers={"accept": "text/html"})  # a web page route (WebRoute)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert dispatch.passed - passed == 2


def test_every_api_route_is_eligible(server):
    """Only FastAPI's OpenAPI route and the web pages among the API's routers go to FastAPI."""
    table = server.app.state.dispatch.build()
    assert table.stopped_at is None
    assert sorted({path for path, _, _ in table.ineligible()}) == [
        "/api/openapi.json", "/spaces", "/spaces/{space_id}", "/spaces/{space_id}/{verb}"]
    assert len(table.entries) > 150


def _samples(table) -> list[str]:
    """Paths for every route of the table: each parameter as a number, and as each literal a route that could
    match the same paths has there (where the order of the two decides)."""
    paths = set()
    simple = [e for e in table.entries if e.segments is not None]

    def compatible(a, b, upto):
        return all(x is None or y is None or x == y for x, y in zip(a[:upto], b[:upto]))

    for entry in table.entries:
        if entry.segments is None:
            paths.add(entry.path.replace("{path:path}", "a/b").replace("{key:path}", "x/y.png"))
            continue
        base = ["123" if s is None else ("" if not isinstance(s, str) else s) for s in entry.segments]
        paths.add("/".join(base))
        for position, _ in entry.params:
            for other in simple:
                literal = other.segments[position] if len(other.segments) == len(entry.segments) else None
                if isinstance(literal, str) and compatible(entry.segments, other.segments, position):
                    paths.add("/".join(base[:position] + [literal] + base[position + 1:]))
    return sorted(paths)


def _shadow():
    """The app's routers again, in order, each route answering which it is: FastAPI's own choice, run cheaply."""
    shadow = FastAPI(openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    originals = []
    for router in ROUTERS:
        copy = APIRouter()
        for route in router.routes:
            if isinstance(route, APIRoute):  # (websocket routes never match http)
                copy.add_api_route(route.path, _which(len(originals)), methods=list(route.methods))
                originals.append(route)
        shadow.include_router(copy)
    return shadow, originals


def _which(index: int):
    async def which(request: Request) -> Response:
        return JSONResponse({"index": index, "params": request.path_params})

    return which


async def _fastapi_pick(shadow, originals, method: str, path: str):
    """The route FastAPI's router serves (None for a 404 or 405), with its path parameters."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("test.local", 80), "state": {}}
    out = {"body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await shadow(scope, receive, send)
    if out["status"] in (404, 405):
        return None
    body = orjson.loads(out["body"]) if method != "HEAD" else {}
    if method == "HEAD" or "index" not in body:
        return "openapi", {}
    return originals[body["index"]], body["params"]


async def test_the_table_picks_what_fastapi_picks(server):
    """For sample paths of every route, with every method, the table's winner is FastAPI's, or neither has one."""
    table = server.app.state.dispatch.build()
    shadow, originals = _shadow()
    checked = 0
    for path in _samples(table):
        for method in METHODS:
            ours = table.lookup(method, path)
            theirs = await _fastapi_pick(shadow, originals, method, path)
            if ours is None:
                assert theirs is None, (method, path, theirs)
                continue
            assert theirs is not None, (method, path, ours)
            route = "openapi" if ours[0].path == "/api/openapi.json" else ours[0].route
            assert (route, ours[1]) == theirs, (method, path)
            checked += 1
    assert checked > 200


async def test_the_setting_turns_it_off(make_server):
    server = await make_server(fast_dispatch=False)
    r = await server.http.get("/api/v1/instance")
    assert r.status_code == 200 and r.json()["uri"]
    assert server.app.state.dispatch.fast == 0 and not server.app.state.dispatch.enabled
