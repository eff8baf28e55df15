"""Mastodon's streaming API: a multiplexed WebSocket at /api/v1/streaming and server-sent events per stream.

The transports live here; what a subscription receives (Bus messages carry ids, each loaded and rendered
through the same visibility rule as every other read, minus what the subscriber muted or blocked) is
api/stream_session.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import weakref

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.stream_render import dump
from townsquare.api.stream_session import HEARTBEAT_SECONDS, KNOWN_STREAMS, Session, Stream, frame_text, resolve, run_eagerly
from townsquare.core.errors import ApiError
from townsquare.domain.models import Viewer
from townsquare.services.auth import lookup_token
from townsquare.storage import accounts as account_store

__all__ = ["router", "Session", "Stream", "frame_text", "resolve", "run_eagerly"]  # the subscriptions live in stream_session

router = APIRouter()
log = logging.getLogger("townsquare.streaming")


# ---- server-sent events ------------------------------------------------------------------------

def _sse(event: str, payload: str | None) -> bytes:
    return f"event: {event}\ndata: {payload if payload is not None else 'undefined'}\n\n".encode()


_event_sources: weakref.WeakSet = weakref.WeakSet()
_hooked_loops: set[int] = set()
_closing: set = set()


def _end_event_sources_on_stop() -> None:
    """On SIGTERM/SIGINT, end the open event streams: uvicorn waits for open responses and tells the app nothing."""
    loop = asyncio.get_running_loop()
    if id(loop) in _hooked_loops or threading.current_thread() is not threading.main_thread():
        return
    _hooked_loops.add(id(loop))

    def end_all() -> None:
        for session in list(_event_sources):
            task = loop.create_task(session.close())
            _closing.add(task)  # kept: the loop holds tasks only weakly
            task.add_done_callback(_closing.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue  # no server is handling the signal: leave the default alone

        def handler(signum, frame, previous=previous) -> None:
            with contextlib.suppress(RuntimeError):  # that loop has already closed
                loop.call_soon_threadsafe(end_all)
            previous(signum, frame)

        signal.signal(sig, handler)


async def _event_source(ctx, viewer: Viewer, stream: Stream):
    session = await Session(ctx, viewer).open()
    _event_sources.add(session)
    _end_event_sources_on_stop()
    try:
        await session.add(stream)
        yield b":)\n\n"  # subscribed: anything published from now on reaches this client
        iterator = session.sub.__aiter__()
        while True:
            try:
                channel, message = await asyncio.wait_for(iterator.__anext__(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                yield b":thump\n\n"
                continue
            except StopAsyncIteration:
                return
            for _, event, payload in await session.outgoing(channel, message):
                yield _sse(event, payload)
    finally:
        await session.close()


@router.get("/api/v1/streaming/health")
async def health() -> Response:
    """Whether the streaming service is up."""
    return PlainTextResponse("OK")


async def _sse_response(request: Request, name: str) -> Response:
    viewer = await get_viewer(request)
    params = dict(request.query_params)
    if name.startswith("public") and str(params.get("only_media", "")).lower() in ("1", "true"):
        name += ":media"
    stream = await resolve(ctx_of(request), viewer, name, params)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_event_source(ctx_of(request), viewer, stream), media_type="text/event-stream", headers=headers)


@router.get("/api/v1/streaming")
async def sse_by_parameter(request: Request) -> Response:
    """Server-sent events for the stream named by the `stream` parameter."""
    return await _sse_response(request, request.query_params.get("stream") or "")


@router.get("/api/v1/streaming/{path:path}")
async def sse_by_path(request: Request, path: str) -> Response:
    """Server-sent events for /api/v1/streaming/user, /public/local, /hashtag?tag=... and the rest."""
    name = path.strip("/").replace("/", ":")
    if name not in KNOWN_STREAMS:
        return json({"error": "Unknown channel requested"}, status=400)
    return await _sse_response(request, name)


# ---- WebSocket ---------------------------------------------------------------------------------

def _ws_token(ws: WebSocket) -> tuple[str | None, str | None]:
    """The bearer secret of a WebSocket handshake, and the subprotocol to echo if it came that way."""
    header = ws.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None, None
    if ws.query_params.get("access_token"):
        return ws.query_params["access_token"], None
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    return (offered[0], offered[0]) if offered else (None, None)


async def _ws_viewer(ctx, secret: str | None) -> Viewer | None:
    if not secret:
        return None
    row = await lookup_token(ctx.db, secret)
    account = await account_store.get_now(ctx.db, row.account_id) if row is not None and row.account_id else None
    if account is None or not account.approved or account.suspended_at is not None or account.disabled_at is not None:
        return None  # as for every other route: suspended and disabled accounts stream nothing
    viewer = Viewer(account=account, scopes=frozenset(row.scopes.split()), token_id=row.id, app_id=row.app_id)
    if not any(viewer.has_scope(s) for s in ("read:statuses", "read:notifications")):
        return None
    return viewer


async def _deny(ws: WebSocket) -> None:
    """Refuse the handshake: closing before accepting makes the server answer the upgrade with 403."""
    # A 401 denial response would match Mastodon better, but uvicorn logs it as an application error.
    await ws.close(code=1008)


async def _handle(session: Session, request: dict) -> None:
    kind, name = request.get("type"), str(request.get("stream") or "")
    if kind not in ("subscribe", "unsubscribe"):
        raise ApiError(400, "Unknown message type")
    if kind == "subscribe":
        await session.add(await resolve(session.ctx, session.viewer, name, request))
        return
    for label, stream in list(session.streams.items()):
        param = label[1] if len(label) > 1 else None
        wanted = request.get("tag") or request.get("list") or request.get("space_id")
        if stream.name == name and (param is None or wanted is None or str(wanted).lstrip("#").lower() == param.lower()):
            await session.remove(label)


async def _pump(session: Session, ws: WebSocket) -> None:
    def emit(stream: Stream, event: str, payload: str | None):
        return ws.send_text(frame_text(stream.label, event, payload))

    async for channel, message in session.sub:
        await session.feed(channel, message, emit)


@router.websocket("/api/v1/streaming")
async def websocket_stream(ws: WebSocket) -> None:
    """The multiplexed WebSocket: subscribe and unsubscribe with JSON messages, receive every stream's events."""
    ctx = ws.app.state.ctx
    secret, subprotocol = _ws_token(ws)
    viewer = await _ws_viewer(ctx, secret)
    if viewer is None:
        await _deny(ws)
        return
    await ws.accept(subprotocol=subprotocol)
    session = await Session(ctx, viewer).open()
    pump = asyncio.create_task(_pump(session, ws))

    async def handle(request: dict) -> None:
        try:
            await _handle(session, request)
        except ApiError as exc:
            await ws.send_text(dump({"error": exc.error, "status": exc.status}))

    try:
        if ws.query_params.get("stream"):
            await handle({**ws.query_params, "type": "subscribe"})
        while True:
            incoming = await ws.receive()
            if incoming["type"] == "websocket.disconnect":
                break
            try:
                request = orjson.loads(incoming.get("text") or incoming.get("bytes") or b"")
            except orjson.JSONDecodeError:
                request = None
            await handle(request if isinstance(request, dict) else {})
    except WebSocketDisconnect:
        pass
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        await session.close()
