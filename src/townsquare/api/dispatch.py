"""Fast dispatch: a request for one of our plain API routes goes straight to its endpoint.

FastAPI matches a request by asking every route in turn (hundreds here, through its included-router
layers), then runs its per-route handler (dependency solving, parameter validation) even for endpoints that
take nothing but the request and str path parameters. This module does the same job for those endpoints
with a dict lookup, and hands every other request to FastAPI unchanged.

The table is built, at the first request, from the same ordered list of routers main.py includes, from the
public attributes of Starlette's routes only (`path`, `methods`, `endpoint`, `path_regex`,
`param_convertors`), so it does not depend on how a FastAPI version represents included routers.

* Order: the first route (in include order) whose path and method fully match wins, as in Starlette's
  Router. Every route takes its place in the table, eligible or not; when the winner is not eligible, or
  nothing matches fully (a 404, or a 405 for a path another method matches), the request goes to FastAPI,
  so those answers are FastAPI's own. A route the table cannot index (a Mount, a route class with its own
  `matches`, a nested router's opaque entry) ends the table: nothing after it is dispatched here.
* Eligible: an `APIRoute` of exactly that class (a subclass may handle requests its own way) without
  dependencies, whose endpoint is an `async def` taking only a `Request` and each path parameter as `str`
  (of Starlette's `str` or `path` convertor), and is declared to return a `Response`.
* Index: paths are split into segments; a segment of a request is kept as itself when some route has that
  literal at that position, and otherwise reduced to "any other" (or "empty"). For routes whose segments are
  literals or whole `{name}` parameters that reduced key decides the match, so the ordered candidates for
  (method, key) are worked out once and remembered; routes of other shapes (`{p:path}`, a parameter inside
  a segment) stay in every candidate list and are checked with their regex, in their place.
* Serving: the scope gets `router`, `endpoint`, `path_params` and `route` as Starlette's Router sets them;
  the endpoint is called with a `Request` on the scope; its response is sent as is. The middleware sits
  inside every other (the page cache, limits and input guard run first), so in place of the
  ExceptionMiddleware it skips it applies the app's exception handlers as Starlette does: by status code
  for an HTTPException, then by the exception's MRO; an exception no handler takes (the `Exception`
  handler belongs to ServerErrorMiddleware, outermost) propagates to it, which renders the 500 JSON.
"""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.concurrency import run_in_threadpool
from starlette.convertors import PathConvertor, StringConvertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?\}")  # as Starlette's PARAM_REGEX
MAX_KEYS = 4096  # remembered (method, key) candidate lists; past this the memo starts again


class _Mark:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


WILD = _Mark("<other>")  # a request segment no route has as a literal at its position
EMPTY = _Mark("<empty>")  # an empty segment ("/" at the start, "//"), which a parameter never matches


@dataclass(eq=False)
class Entry:
    """One route in its place in the table."""

    order: int
    route: Any
    methods: frozenset | None  # None: any method (a Starlette Route without methods)
    segments: tuple | None  # simple shape: literal strings / EMPTY, None where a parameter is
    params: tuple  # simple shape: (position, name) of each parameter
    regex: Any  # other shapes: the route's compiled path_regex
    convertors: dict
    call: Callable | None  # eligible: the endpoint; None: FastAPI serves it
    request_arg: str | None  # the endpoint's Request parameter, if it takes one
    why: str  # why not eligible ("" when it is)

    @property
    def path(self) -> str:
        return self.route.path


def _resolved_signature(endpoint) -> inspect.Signature | None:
    try:
        return inspect.signature(endpoint, eval_str=True)
    except Exception:  # an annotation that does not resolve: let FastAPI deal with it
        return None


def _ineligible(route, param_names: set[str]) -> str:
    """Why a route must go to FastAPI, or "" when it can be dispatched here."""
    if type(route) is not APIRoute:
        return f"route class {type(route).__name__}"
    if getattr(route, "dependencies", None):
        return "has dependencies"
    if not route.methods:
        return "no methods"
    endpoint = route.endpoint
    if not inspect.iscoroutinefunction(endpoint):
        return "not an async def"
    for name, convertor in route.param_convertors.items():
        if type(convertor) not in (StringConvertor, PathConvertor):
            return f"parameter {name} has convertor {type(convertor).__name__}"
    signature = _resolved_signature(endpoint)
    if signature is None:
        return "annotations do not resolve"
    returns = signature.return_annotation
    if not (inspect.isclass(returns) and issubclass(returns, Response)):
        return "not declared to return a Response"
    requests = 0
    for name, parameter in signature.parameters.items():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            return f"parameter {name} is {parameter.kind.description}"
        if parameter.default is not parameter.empty:
            return f"parameter {name} has a default"
        if parameter.annotation is Request:
            requests += 1
        elif name not in param_names:
            return f"parameter {name} is not a path parameter"
        elif parameter.annotation is not str:
            return f"path parameter {name} is not annotated str"
    if requests > 1:
        return "more than one Request parameter"
    missing = param_names - set(signature.parameters)
    if missing:
        return f"path parameters {sorted(missing)} not taken"
    return ""


def _shape(path: str, convertors: dict) -> tuple[tuple, tuple] | None:
    """(segments, params) when every segment is a literal or one whole str parameter; else None."""
    if not path.startswith("/"):
        return None
    segments, params = [], []
    for position, part in enumerate(path.split("/")):
        if "{" not in part and "}" not in part:
            segments.append(part or EMPTY)
            continue
        whole = _PARAM.fullmatch(part)
        if whole is None or type(convertors.get(whole[1])) is not StringConvertor:
            return None
        segments.append(None)
        params.append((position, whole[1]))
    return tuple(segments), tuple(params)


def _is_plain_route(route) -> bool:
    """A Route whose matching is Starlette's (or FastAPI's APIRoute's): its path and methods say what it matches."""
    return isinstance(route, Route) and type(route).matches in (Route.matches, APIRoute.matches)


class RouteTable:
    """The ordered routes of the app, indexed by method and path shape."""

    def __init__(self, routes: Iterable) -> None:
        self.entries: list[Entry] = []
        self.stopped_at: Any = None  # the route that ended the table, if one did
        for route in routes:
            if isinstance(route, WebSocketRoute) and type(route).matches in (WebSocketRoute.matches,
                                                                               APIWebSocketRoute.matches):
                continue  # matches websocket scopes only; this table serves http
            if not _is_plain_route(route):
                self.stopped_at = route
                break
            self.entries.append(self._entry(len(self.entries), route))
        simple = [e for e in self.entries if e.segments is not None]
        self.max_segments = max((len(e.segments) for e in simple), default=0)
        # The literals at each position; any other request segment reduces to WILD.
        self.literals: list[set[str]] = [set() for _ in range(self.max_segments)]
        for entry in simple:
            for position, segment in enumerate(entry.segments):
                if isinstance(segment, str):
                    self.literals[position].add(segment)
        # Per position: each literal to itself, "" to EMPTY (what _key keeps of a request's segment), else WILD.
        self._known = [{**{literal: literal for literal in known}, "": EMPTY} for known in self.literals]
        self.complex = [e for e in self.entries if e.segments is None]
        self._memo: dict[tuple, tuple[Entry, ...]] = {}
        self._exact: dict[tuple[str, str], tuple[Entry, dict]] = {}  # (method, path) of literal routes: the winner
        for entry in simple:
            if not entry.params:
                for method in entry.methods or ():
                    candidates = self._candidates(method, self._key(entry.path.split("/")))
                    if len(candidates) == 1 and candidates[0].segments is not None:  # no regex to try first
                        winner, segments = candidates[0], entry.path.split("/")  # (an earlier {param} route may win)
                        self._exact[(method, entry.path)] = (winner, {name: segments[position]
                                                                      for position, name in winner.params})

    @staticmethod
    def _entry(order: int, route) -> Entry:
        convertors = dict(route.param_convertors)
        shape = _shape(route.path, convertors)
        why = _ineligible(route, set(convertors))
        request_arg = None
        if not why:
            request_arg = next((name for name, p in _resolved_signature(route.endpoint).parameters.items()
                                if p.annotation is Request), None)
        return Entry(order=order, route=route, methods=frozenset(route.methods) if route.methods else None,
                     segments=shape[0] if shape else None, params=shape[1] if shape else (),
                     regex=None if shape else route.path_regex, convertors=convertors,
                     call=None if why else route.endpoint, request_arg=request_arg, why=why)

    def _key(self, segments: list[str]) -> tuple:
        return tuple([known.get(s, WILD) for known, s in zip(self._known, segments)])

    def _candidates(self, method: str, key: tuple | None) -> tuple[Entry, ...]:
        """The entries that may be the first full match for this method and key, in order.

        A simple entry in the list matches by construction and ends it; the others need their regex.
        """
        found = []
        for entry in self.entries:
            if entry.methods is not None and method not in entry.methods:
                continue
            if entry.segments is None:
                found.append(entry)
            elif key is not None and len(entry.segments) == len(key) and all(
                    (k is not EMPTY) if s is None else (s == k) for s, k in zip(entry.segments, key)):
                found.append(entry)
                break
        return tuple(found)

    def lookup(self, method: str, path: str) -> tuple[Entry, dict] | None:
        """The first route whose path and method match fully, with its path parameters; None when none does."""
        exact = self._exact.get((method, path))
        if exact is not None:
            return exact[0], dict(exact[1])
        if path.endswith("\n") or not path.startswith("/"):  # `$` matches before a final newline: the regexes decide
            return None
        segments = path.split("/")
        if len(segments) > self.max_segments:
            memo_key = (method, None)
            key = None
        else:
            key = self._key(segments)
            memo_key = (method, key)
        candidates = self._memo.get(memo_key)
        if candidates is None:
            candidates = self._candidates(method, key)
            if len(self._memo) >= MAX_KEYS:
                self._memo.clear()
            self._memo[memo_key] = candidates
        for entry in candidates:
            if entry.regex is None:
                return entry, {name: segments[position] for position, name in entry.params}
            match = entry.regex.match(path)
            if match is not None:
                convertors = entry.convertors
                return entry, {name: convertors[name].convert(value) for name, value in match.groupdict().items()}
        return None

    def ineligible(self) -> list[tuple[str, frozenset | None, str]]:
        """(path, methods, reason) of every route in the table FastAPI serves instead."""
        return [(e.path, e.methods, e.why) for e in self.entries if e.call is None]


def _is_async_callable(obj) -> bool:
    while isinstance(obj, functools.partial):
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(getattr(obj, "__call__", None))


class FastDispatch:
    """The switch, the table and the counters, shared by the app (app.state.dispatch) and FastDispatchMiddleware."""

    def __init__(self, routes: Callable[[], Iterable], enabled: bool = True) -> None:
        self.routes = routes  # called once, when the app builds its middleware (all routes are in place then)
        self.enabled = enabled
        self.table: RouteTable | None = None
        self.fast = 0  # requests served here
        self.passed = 0  # requests handed to FastAPI (no full match, or a route it serves)

    def build(self) -> RouteTable:
        if self.table is None:
            self.table = RouteTable(self.routes())
        return self.table


class FastDispatchMiddleware:
    """Innermost: serves table routes itself, and passes everything else to the router (via ExceptionMiddleware)."""

    def __init__(self, app, dispatch: FastDispatch, owner) -> None:
        self.app, self.dispatch, self.router = app, dispatch, owner.router
        self.table = dispatch.build()
        # The handlers Starlette's ExceptionMiddleware gets: all the app's but the 500 one (ServerErrorMiddleware's).
        self.status_handlers: dict[int, Callable] = {}
        self.handlers: dict[type, Callable] = {}
        for key, handler in owner.exception_handlers.items():
            if key in (500, Exception):
                continue
            if isinstance(key, int):
                self.status_handlers[key] = handler
            else:
                self.handlers[key] = handler
        self.asynchronous = {id(h): _is_async_callable(h) for h in [*self.handlers.values(),
                                                                    *self.status_handlers.values()]}
        if HTTPException not in self.handlers:  # FastAPI always has one; without it Starlette's default would answer
            dispatch.enabled = False

    async def __call__(self, scope, receive, send):
        dispatch = self.dispatch
        if (scope["type"] != "http" or not dispatch.enabled or scope.get("root_path")
                or scope.get("fastapi.telemetry") is not None):  # FastAPI's tracing names the route as it matches
            return await self.app(scope, receive, send)
        found = self.table.lookup(scope["method"], scope["path"])
        if found is None or found[0].call is None:
            dispatch.passed += 1
            return await self.app(scope, receive, send)
        entry, params = found
        dispatch.fast += 1
        if "router" not in scope:
            scope["router"] = self.router
        existing = scope.get("path_params")
        if existing:
            params = {**existing, **params}
        scope["endpoint"] = entry.call
        scope["path_params"] = params
        scope["route"] = entry.route
        request = Request(scope, receive, send)
        kwargs = dict(params) if entry.params or entry.regex is not None else {}
        if entry.request_arg is not None:
            kwargs[entry.request_arg] = request
        started = False

        async def sender(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        # Two layers, as Starlette has them: the route's own handling, and ExceptionMiddleware's around it
        # (which takes what a handler itself raises).
        try:
            try:
                response = await entry.call(**kwargs)
                if not isinstance(response, Response):
                    raise TypeError(f"{entry.path} returned {type(response).__name__}, not a Response")
                await response(scope, receive, sender)
            except Exception as exc:
                await self._handled(request, exc, started, scope, receive, sender)
        except Exception as exc:
            await self._handled(request, exc, started, scope, receive, sender)

    async def _handled(self, request: Request, exc: Exception, started: bool, scope, receive, send) -> None:
        handler = None
        if isinstance(exc, HTTPException):
            handler = self.status_handlers.get(exc.status_code)
        if handler is None:
            for cls in type(exc).__mro__:
                handler = self.handlers.get(cls)
                if handler is not None:
                    break
        if handler is None:
            raise exc
        if started:
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        if self.asynchronous.get(id(handler), True):
            response = await handler(request, exc)
        else:
            response = await run_in_threadpool(handler, request, exc)
        if response is not None:
            await response(scope, receive, send)
