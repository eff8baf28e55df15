"""The fast dispatcher on a small FastAPI app: the same answers as FastAPI's routing, in route order."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from townsquare.api.dispatch import FastDispatch, FastDispatchMiddleware, RouteTable


class Refused(Exception):
    """An error with a handler of its own (as ApiError has)."""


class HandlerBug(Exception):
    """An error a handler raises: ExceptionMiddleware's own layer takes it."""


first = APIRouter()
second = APIRouter()


@first.get("/things/{thing_id}")
async def thing(request: Request, thing_id: str) -> Response:
    return JSONResponse({"thing": thing_id, "params": request.path_params, "route": request.scope["route"].path})


@first.get("/things/special")  # after /things/{thing_id}: never reached by GET
async def special(request: Request) -> Response:
    return JSONResponse({"special": True})


@first.post("/things/special")  # the path matches /things/{thing_id}, but only by GET: POST comes here
async def special_post(request: Request) -> Response:
    return JSONResponse({"special_post": True})


@first.get("/plain")
async def plain(request: Request) -> Response:
    request.state.seen = "plain"
    return PlainTextResponse("plain", headers={"x-plain": "1"})


@first.get("/query")  # a FastAPI query parameter: not eligible
async def query(request: Request, q: str = Query("none")) -> Response:
    return JSONResponse({"q": q})


def _dependency() -> str:
    return "from a dependency"


@first.get("/depends")
async def depends(request: Request, value: str = Depends(_dependency)) -> Response:
    return JSONResponse({"value": value})


@first.get("/numbers/{number}")  # an int path parameter: FastAPI validates it
async def number(request: Request, number: int) -> Response:
    return JSONResponse({"number": number})


@first.get("/sync")
def sync(request: Request) -> Response:
    return PlainTextResponse("sync")


@first.get("/dict")  # returns what FastAPI serialises: not eligible
async def as_dict(request: Request) -> dict:
    return {"dict": True}


@first.get("/refused")
async def refused(request: Request) -> Response:
    raise Refused("no")


@first.get("/teapot")
async def teapot(request: Request) -> Response:
    raise HTTPException(418, "short and stout")


@first.get("/gone")
async def gone(request: Request) -> Response:
    raise HTTPException(410, "gone away")


@first.get("/crash")
async def crash(request: Request) -> Response:
    raise RuntimeError("a bug")


@first.get("/handler-bug")
async def handler_bug(request: Request) -> Response:
    raise LookupError("its handler raises")


@first.get("/late")
async def late(request: Request) -> Response:
    async def body():
        yield b"half"
        raise Refused("after the start")

    return StreamingResponse(body())


@first.get("/files/{rest:path}")
async def files(request: Request, rest: str) -> Response:
    return JSONResponse({"rest": rest})


@first.get("/files/readme")  # shadowed by the path route before it
async def readme(request: Request) -> Response:
    return JSONResponse({"readme": True})


@first.websocket("/things/socket")
async def socket(websocket) -> None:
    await websocket.close()


@second.get("/things/{thing_id}/parts/{part}")
async def part(thing_id: str, part: str, request: Request) -> Response:
    return JSONResponse({"thing": thing_id, "part": part})


@second.delete("/things/{thing_id}")  # the first GET route's path, by another method
async def delete_thing(request: Request, thing_id: str) -> Response:
    return JSONResponse({"deleted": thing_id})


def make_app(enabled: bool = True) -> FastAPI:
    app = FastAPI()
    own = list(app.router.routes)
    routers = (first, second)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(Refused)
    async def on_refused(request: Request, exc: Refused) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=403)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(418)
    def on_teapot(request: Request, exc: HTTPException) -> Response:  # a sync handler, by status code
        return JSONResponse({"error": "teapot"}, status_code=418)

    @app.exception_handler(LookupError)
    async def on_lookup(request: Request, exc: LookupError) -> Response:
        raise HandlerBug("the handler itself fails")

    @app.exception_handler(HandlerBug)
    async def on_handler_bug(request: Request, exc: HandlerBug) -> Response:
        return JSONResponse({"error": "handler bug"}, status_code=502)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "Internal server error"}, status_code=500)

    app.state.dispatch = dispatch = FastDispatch(lambda: [*own, *(r for router in routers for r in router.routes)],
                                                 enabled=enabled)
    app.add_middleware(FastDispatchMiddleware, dispatch=dispatch, owner=app)
    return app


async def call(app, method: str, path: str) -> dict:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("test", 80), "state": {}}

    received = []

    async def receive():
        if received:  # then nothing more, until the response ends (a streaming response listens for a disconnect)
            await asyncio.Event().wait()
        received.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    out = {"status": None, "headers": None, "body": b"", "raised": None, "scope": scope}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], sorted(message["headers"])
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    try:
        await app(scope, receive, send)
    except Exception as exc:  # what reaches the server
        out["raised"] = (type(exc), str(exc))
    return out


PATHS = [
    ("GET", "/things/42"), ("HEAD", "/things/42"), ("GET", "/things/special"), ("POST", "/things/special"),
    ("DELETE", "/things/42"), ("PUT", "/things/42"), ("GET", "/things/42/parts/7"), ("GET", "/plain"),
    ("GET", "/query"), ("GET", "/depends"), ("GET", "/numbers/5"), ("GET", "/numbers/five"), ("GET", "/sync"),
    ("GET", "/dict"), ("GET", "/refused"), ("GET", "/teapot"), ("GET", "/gone"), ("GET", "/crash"),
    ("GET", "/handler-bug"), ("GET", "/late"), ("GET", "/files/a/b/c"), ("GET", "/files/readme"),
    ("GET", "/files/"), ("GET", "/nowhere"), ("GET", "/things"), ("GET", "/things//parts/7"),
    ("GET", "/plain\n"), ("GET", "/things/special\n"), ("GET", "/openapi.json"), ("GET", "/things/socket"),
]
FAST = {("GET", "/things/42"), ("GET", "/things/special"), ("POST", "/things/special"), ("DELETE", "/things/42"),
        ("GET", "/things/42/parts/7"), ("GET", "/plain"), ("GET", "/refused"), ("GET", "/teapot"), ("GET", "/gone"),
        ("GET", "/crash"), ("GET", "/handler-bug"), ("GET", "/late"), ("GET", "/files/a/b/c"),
        ("GET", "/files/readme"), ("GET", "/files/"), ("GET", "/things/socket")}


def _named(thing):
    if thing is None:
        return None
    return getattr(thing, "__qualname__", None) or (type(thing).__name__, thing.path)


@pytest.mark.parametrize(("method", "path"), PATHS)
async def test_same_answer_as_fastapi(method, path):
    fast, slow = make_app(True), make_app(False)
    a, b = await call(fast, method, path), await call(slow, method, path)
    assert (a["status"], a["headers"], a["body"], a["raised"]) == (b["status"], b["headers"], b["body"], b["raised"])
    # What the router leaves in the scope (two apps: their own routes, e.g. the OpenAPI one, are not the same objects).
    assert a["scope"].get("path_params") == b["scope"].get("path_params")
    assert _named(a["scope"].get("endpoint")) == _named(b["scope"].get("endpoint"))
    assert _named(a["scope"].get("route")) == _named(b["scope"].get("route"))
    assert (a["scope"].get("router") is fast.router) == (b["scope"].get("router") is slow.router)
    assert a["scope"]["state"] == b["scope"]["state"]
    assert fast.state.dispatch.fast == ((method, path) in FAST), "fast-dispatched" if (method, path) in FAST else ""
    assert slow.state.dispatch.fast == 0


async def test_the_answers_themselves():
    app = make_app()
    answers = {(m, p): await call(app, m, p) for m, p in PATHS}

    def body(method, path):
        return answers[(method, path)]["body"]

    assert body("GET", "/things/42") == b'{"thing":"42","params":{"thing_id":"42"},"route":"/things/{thing_id}"}'
    assert body("GET", "/things/special").startswith(b'{"thing":"special"')  # the earlier route wins
    assert body("POST", "/things/special") == b'{"special_post":true}'  # a partial match does not stop the search
    assert answers[("HEAD", "/things/42")]["status"] == 405  # APIRoute has no HEAD
    assert answers[("PUT", "/things/42")]["status"] == 405
    assert answers[("GET", "/refused")]["status"] == 403
    assert body("GET", "/teapot") == b'{"error":"teapot"}'  # the status handler before the class one
    assert body("GET", "/gone") == b'{"error":"gone away"}'
    crash = answers[("GET", "/crash")]
    assert crash["status"] == 500 and crash["raised"] == (RuntimeError, "a bug")  # as ServerErrorMiddleware does
    assert answers[("GET", "/handler-bug")]["status"] == 502
    late = answers[("GET", "/late")]
    assert late["status"] == 200 and late["raised"][0] is RuntimeError and "already started" in late["raised"][1]
    assert body("GET", "/files/readme") == b'{"rest":"readme"}'
    assert body("GET", "/numbers/5") == b'{"number":5}' and answers[("GET", "/numbers/five")]["status"] == 422
    assert answers[("GET", "/plain")]["scope"]["state"] == {"seen": "plain"}
    assert app.state.dispatch.passed > 0


def test_table_order_and_eligibility():
    table = make_app().state.dispatch.build()
    reasons = {(path, tuple(sorted(methods or ()))): why for path, methods, why in table.ineligible()}
    assert reasons[("/query", ("GET",))] == "parameter q has a default"
    assert reasons[("/depends", ("GET",))] == "parameter value has a default"
    assert reasons[("/numbers/{number}", ("GET",))] == "path parameter number is not annotated str"
    assert reasons[("/sync", ("GET",))] == "not an async def"
    assert reasons[("/dict", ("GET",))] == "not declared to return a Response"
    assert reasons[("/openapi.json", ("GET", "HEAD"))] == "route class Route"
    assert "/things/socket" not in [e.path for e in table.entries]  # a websocket route is not an http route
    assert table.lookup("GET", "/things/special")[0].call is thing
    assert table.lookup("POST", "/things/special")[0].call is special_post
    assert table.lookup("GET", "/things/9/parts/x") == (table.lookup("GET", "/things/9/parts/x")[0],
                                                      {"thing_id": "9", "part": "x"})
    assert table.lookup("GET", "/things/9/parts/") is None  # a parameter never matches an empty segment
    assert table.lookup("PUT", "/things/9") is None and table.lookup("GET", "/nowhere/at/all") is None


def test_a_table_stops_at_a_route_it_cannot_index():
    from starlette.routing import Mount

    router = APIRouter()

    @router.get("/before")
    async def before(request: Request) -> Response:
        return Response()

    @router.get("/after")
    async def after(request: Request) -> Response:
        return Response()

    mount = Mount("/before", app=PlainTextResponse("mounted"))
    table = RouteTable([router.routes[0], mount, router.routes[1]])
    assert table.stopped_at is mount
    assert table.lookup("GET", "/before")[0].call is before
    assert table.lookup("GET", "/after") is None  # after the mount: FastAPI decides
