"""Load shedding before any work: the adaptive concurrency limit by class, and the Spaces join waiting room.

Pure ASGI, in front of everything (even FastAPI's own per-request telemetry and Starlette's middleware
stack: `OverloadFirst` runs it before them): a request is classified from method and path, and a shed
answer (503, Mastodon's error shape, jittered Retry-After, the CORS headers) is a few pre-built bytes
sent before the rate limiter, the router or the database see the request. Joins are never shed this way:
past the limit they are answered by the room's waiting room (429 with position, estimated wait,
refresh interval and a signed first-arrival token) and admitted in order of first arrival.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import orjson
from fastapi import FastAPI

from townsquare.api.cors import EXPOSE_HEADERS, is_cors_path, new_request_id
from townsquare.api.metrics import Metrics
from townsquare.overload.classes import CRITICAL, EXEMPT, JOIN, LINE, LISTEN, LOW, SHARES, TICKET, classify
from townsquare.overload.limiter import GradientLimiter
from townsquare.overload.waiting import HOLDER, BadToken, WaitingRoom
from townsquare.spaces.reactions import TokenBucket

if TYPE_CHECKING:  # the app context is built by wiring, above the api layer
    from townsquare.wiring import AppContext

TOKEN_HEADER = b"townsquare-queue-token"
SPARE_SHARE = 0.5  # below half the limit a newcomer is let in even while others wait (they are away till their retry)
UNKNOWN_ROOM_SHARE = SHARES[LOW]  # a join to a room not known here is looked up only below this share of the limit
# ...and no more than this many such look-ups a second (burst twice that): each is a database read and the whole
# stack, and under a flood of made-up room ids the share alone let through 100/s, a third of the server's CPU
# in the night bench's T0 second. A room joined once is known here from then on (its line), so only rooms this
# process has never seen count against it.
UNKNOWN_ROOM_LOOKUPS = 5.0
# A waiter whose slice the room has let in is never refused (refusing it only spent the process twice), but while
# the process is full it waits here for a request to finish, as a future that costs the loop nothing, at most
# this long. Run at once instead, the line's joins queued up as ready tasks: every turn of the loop grew with
# them, and a host's mute, ten awaits, took 3-5 s on the night's capped server.
TURN_WAIT = 3.0
_JSON = (b"content-type", b"application/json; charset=utf-8")
_SHED_BODY = orjson.dumps({"error": "The server is too busy right now; retry shortly"})
_BAD_TOKEN_BODY = orjson.dumps({"error": "Invalid or expired waiting room token; join again without it"})
_BAD_SLICE_BODY = orjson.dumps({"error": "Validation failed: slice must be a whole number"})
_rng = random.Random()
_RETRY = [(b"retry-after", str(n).encode()) for n in (1, 2, 3)]  # jittered 1-3 s, built once
# Our answers are sent outside the CORS middleware, so they carry its headers themselves.
_CORS = ((b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", EXPOSE_HEADERS))
_SHED_HEADERS = [(_JSON, (b"content-length", str(len(_SHED_BODY)).encode()), retry, *_CORS) for retry in _RETRY]
_SHED_HEADERS_PLAIN = [(_JSON, (b"content-length", str(len(_SHED_BODY)).encode()), retry) for retry in _RETRY]


class Overload:
    """The process's limiter, waiting room and metrics, shared by the middleware and /metrics."""

    def __init__(self, settings, metrics: Metrics | None = None) -> None:
        self.enabled = settings.overload_enabled
        self.limiter = GradientLimiter(initial=settings.overload_initial_limit, min_limit=settings.overload_min_limit,
                                       max_limit=settings.overload_max_limit)
        self.waiting = WaitingRoom(settings.effective_secret_key)
        self.metrics = metrics or Metrics()


async def _answer(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers, *_CORS,
                            (b"x-request-id", new_request_id())]})
    await send({"type": "http.response.body", "body": body})


class OverloadFirst(FastAPI):
    """FastAPI with the overload gate in front of everything, even FastAPI's per-request telemetry wrapper.

    A shed answer then costs only the gate: the layers a served request needs (telemetry, the body limit,
    CORS, the error handler, the middleware stack) run for admitted requests only.
    """

    overload_gate: OverloadMiddleware | None = None

    def gate(self, ctx: AppContext, overload: Overload) -> None:
        """Put the overload middleware in front of this app."""
        self.overload_gate = OverloadMiddleware(functools.partial(FastAPI.__call__, self), ctx, overload)

    async def __call__(self, scope, receive, send) -> None:
        gate = self.overload_gate
        if gate is None or scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        return await gate(scope, receive, send)


def _token(scope) -> str | None:
    for name, value in scope["headers"]:
        if name == TOKEN_HEADER:
            return value.decode("latin-1")
    query = scope.get("query_string") or b""
    if b"queue_token=" in query:
        found = parse_qs(query.decode("latin-1")).get("queue_token")
        return found[0] if found else None
    return None


class OverloadMiddleware:
    """Admits, sheds or queues each request by its class before anything else runs."""

    def __init__(self, app, ctx: AppContext, overload: Overload) -> None:
        self.app, self.ctx, self.overload = app, ctx, overload
        self.limiter, self.waiting, self.metrics = overload.limiter, overload.waiting, overload.metrics
        self._shed_counters: dict = {}  # label children bound once: labels() on every shed costs more than the rest
        self.lookups = TokenBucket(UNKNOWN_ROOM_LOOKUPS, 2 * UNKNOWN_ROOM_LOOKUPS)
        self.turns: deque[asyncio.Future] = deque()  # admitted joins waiting for the process to have room

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.overload.enabled:
            return await self.app(scope, receive, send)
        path = scope["path"]
        if len(path) > 1 and path[-1] == "/":  # as StripTrailingSlash will serve it
            path = path.rstrip("/") or "/"
        klass = classify(scope["method"], path)
        if klass == EXEMPT:
            return await self.app(scope, receive, send)
        extra: list[tuple[bytes, bytes]] = []
        if klass == LISTEN and (match := JOIN.match(path)):
            refused = await self._admit_join(scope, send, int(match[1]), extra)
            if refused:
                return
        elif klass == LISTEN and scope["method"] == "GET" and (match := TICKET.match(path)):
            return await self._ticket(send, int(match[1]))
        elif klass == LISTEN and scope["method"] == "GET" and (match := LINE.match(path)):
            return await self._line(scope, send, int(match[1]))
        elif not self.limiter.try_acquire(SHARES[klass], critical=klass == CRITICAL):
            return await self._shed(send, klass, path)
        started, status = time.perf_counter(), [500]

        async def tracked(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if extra:
                    message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            elapsed = time.perf_counter() - started
            self.limiter.release(elapsed, sample=klass != CRITICAL)  # a room start is slow by nature, not a sign of load
            if self.turns:
                self._next_turn()
            self.metrics.requests.labels(klass, str(status[0])).inc()
            self.metrics.latency.labels(klass).observe(elapsed)

    async def _turn(self) -> None:
        """Wait, first come first served, until a request finishes with room left (or TURN_WAIT has passed)."""
        turn = asyncio.get_running_loop().create_future()
        self.turns.append(turn)
        self.metrics.queue_turns.inc()
        try:
            await asyncio.wait_for(turn, TURN_WAIT)
        except asyncio.TimeoutError:
            pass
        finally:
            self.metrics.queue_turns.dec()

    def _next_turn(self) -> None:
        """A request finished: let the first join still waiting for a turn go on, if the process has room."""
        while self.turns and self.limiter.has_room(SHARES[LISTEN]):
            turn = self.turns.popleft()
            if not turn.done():  # (one whose wait timed out is skipped)
                turn.set_result(None)
                return

    async def _shed(self, send, klass: str, path: str) -> None:
        """The cheapest answer there is: pre-built 503 bytes, one counter, no I/O."""
        counter = self._shed_counters.get(klass)
        if counter is None:
            counter = self._shed_counters[klass] = self.metrics.shed.labels(klass, "limit")
        counter.inc()
        prebuilt = (_SHED_HEADERS if is_cors_path(path) else _SHED_HEADERS_PLAIN)[int(_rng.random() * 3)]
        await send({"type": "http.response.start", "status": 503,
                    "headers": [*prebuilt, (b"x-request-id", new_request_id())]})
        await send({"type": "http.response.body", "body": _SHED_BODY})

    async def _ticket(self, send, space_id: int) -> None:
        """A place in line for whoever arrives now, for nginx to hand (cached for a second) to the newcomers it
        cannot pass to the app: 429 with a signed first-arrival token, whose body marks where nginx appends
        each holder's request id. A room this process does not know is a 503 (not cached: they retry)."""
        found, room = self.ctx.spaces.cached(space_id)
        if not found or room is None or room.state == "ended":
            return await self._shed(send, LISTEN, "/api/")
        decision = self.waiting.decide(space_id, None, has_room=False)
        await self._wait_answer(send, space_id, decision, body_token=f"{decision.token}.{HOLDER}")

    async def _line(self, scope, send, space_id: int) -> None:
        """nginx's line check (deploy/nginx-spaces.conf): may retries of the waiting tokens that arrived in one
        100 ms slice (`slice`: milliseconds // 100) come to the app yet? 204 yes, 403 not yet (nginx answers them
        "still in line" itself); X-Accel-Expires says how long nginx keeps the answer. No body, no I/O."""
        found = parse_qs((scope.get("query_string") or b"").decode("latin-1")).get("slice")
        if not found or not found[0].isdigit() or len(found[0]) > 15:
            await _answer(send, 400, _BAD_SLICE_BODY, [])
            return
        passes, keep = self.waiting.line_verdict(space_id, int(found[0]) / 10)
        if not passes:
            self.metrics.shed.labels(LISTEN, "line_held").inc()
        await send({"type": "http.response.start", "status": 204 if passes else 403,
                    "headers": [(b"x-accel-expires", str(keep).encode()), (b"retry-after", str(keep + 1).encode())]})
        await send({"type": "http.response.body", "body": b""})

    async def _wait_answer(self, send, space_id: int, decision, body_token: str | None = None) -> None:
        self.metrics.shed.labels(LISTEN, "waiting_room").inc()
        retry = self.waiting.retry_after(decision.refresh)
        body = orjson.dumps({
            "error": "This space is very popular right now: you are in line to join", "in_waiting_room": True,
            "position": decision.position, "wait_time": round(decision.wait, 1), "wait_time_known": True,
            "refresh_interval_seconds": retry, "queue_token": body_token or decision.token, "space_id": str(space_id),
        })
        await _answer(send, 429, body, [(b"retry-after", str(retry).encode()),
                                        (TOKEN_HEADER, decision.token.encode())])

    async def _admit_join(self, scope, send, space_id: int, extra: list) -> bool:
        """Admit a join (counted in the limiter) or answer it here; True when answered."""
        token = _token(scope)
        arrival = nonce = mark = None
        if token:
            try:
                kind, arrival = self.waiting.verify(space_id, token)
            except BadToken:
                self.metrics.shed.labels(LISTEN, "bad_token").inc()
                await _answer(send, 400, _BAD_TOKEN_BODY, [])
                return True
            if kind == "a":  # an admitted listener's heartbeat: never queued again
                self.limiter.try_acquire(critical=True)
                extra.append((b"townsquare-admission", self.waiting.issue(space_id, time.time(), kind="a").encode()))
                return False
            # A waiting client is answered with the very token it sent (same nonce, same holder's mark): nginx's
            # per-token retry limit is keyed by it, and a new token on every answer would reset that limit.
            parts = token.split(".")
            nonce, mark = parts[2], (parts[4] if len(parts) == 5 else None)
        found, room = self.ctx.spaces.cached(space_id)
        has_room = self.limiter.has_room(SHARES[LISTEN])
        # A room with a line here existed a moment ago: keep its line while its cached copy is re-read.
        known = room is not None and room.state != "ended" if found else space_id in self.waiting.rooms
        if not known:
            # A room this process has no line for and no cached copy of: finding out costs a database read and
            # the whole stack (about 80% of a join), and a flood of made-up room ids would take the joins' place.
            # So it is looked up only while the process is far from full (the share search gets); past that it is
            # shed (a real room's first joiners come back after Retry-After; one look-up caches it for everyone).
            if self.limiter.has_room(UNKNOWN_ROOM_SHARE) and self.lookups.allow():
                self.limiter.try_acquire(UNKNOWN_ROOM_SHARE)
                return False
            await self._shed(send, LISTEN, "/api/")
            return True
        decision = self.waiting.decide(space_id, arrival, has_room, spare=self.limiter.has_room(SPARE_SHARE),
                                       nonce=nonce)
        if decision.admit:
            if not has_room:  # the room said yes but the process is full: its turn comes with the next free slot
                await self._turn()
            self.limiter.try_acquire(critical=True)  # the room said yes: count it in
            extra.append((b"townsquare-admission", self.waiting.issue(space_id, time.time(), kind="a").encode()))
            return False
        if mark is not None:
            decision.token = f"{decision.token}.{mark}"
        await self._wait_answer(send, space_id, decision)
        return True
