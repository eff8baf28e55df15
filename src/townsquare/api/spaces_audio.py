"""Spaces audio over HTTP: the speakers' WebSocket and the HLS playlists and segments listeners fetch."""

from __future__ import annotations

import asyncio
import re
import time

from fastapi import APIRouter, WebSocket
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocketDisconnect

from townsquare.api.deps import bearer, ctx_of, get_viewer, path_id
from townsquare.core.errors import ApiError
from townsquare.spaces.audio.roles import is_muted
from townsquare.spaces.rooms import get_space_state, speaker_role
from townsquare.web.session import viewer_of  # a page's speaker signs in with its session, as the pages do

router = APIRouter()

POLICY_VIOLATION = 1008
RECHECK_SECONDS = 2.0
SEGMENT = re.compile(r"^seg\d{1,12}\.ts$")
# Segments never change; the live playlist changes every ~2 s segment, so caches may keep it about half that.
IMMUTABLE = "public, max-age=31536000, immutable"
LIVE = "public, max-age=1"


def _same_origin(websocket: WebSocket) -> bool:
    """Whether the page that opened the socket is one of ours (a session cookie must not work for other sites)."""
    origin = websocket.headers.get("origin", "")
    host = websocket.headers.get("host", "")
    ctx = ctx_of(websocket)  # type: ignore[arg-type]
    return bool(origin) and origin in (ctx.settings.base_url, f"http://{host}", f"https://{host}")


async def _speaker_id(websocket: WebSocket) -> int | None:
    """The speaking account: by bearer token as the rooms API, or by the web session of a page of this site."""
    if bearer(websocket):  # type: ignore[arg-type]
        viewer = await get_viewer(websocket, "write:statuses")  # type: ignore[arg-type]
        return viewer.account.id
    if not _same_origin(websocket):
        return None
    web_viewer = await viewer_of(websocket)  # type: ignore[arg-type]
    if web_viewer.account is None or web_viewer.restricted:
        return None
    return web_viewer.account.id


@router.websocket("/api/v1/spaces/{space_id}/audio")
async def speaker_audio(websocket: WebSocket, space_id: str) -> None:
    """Receive one speaker's audio (Ogg/Opus, WebM/Opus or s16le 48 kHz mono PCM) into the room's mix."""
    ctx = ctx_of(websocket)  # type: ignore[arg-type]
    hub = getattr(ctx, "audio", None)
    role = state = None
    try:
        sid = path_id(space_id)
        account_id = await _speaker_id(websocket)
        if account_id is not None:
            async with ctx.db.read() as conn:
                role = await speaker_role(conn, sid, account_id)
                state = await get_space_state(conn, sid)
                muted = await is_muted(conn, sid, account_id)
    except ApiError:
        role = state = None
    if role is None or state is None or hub is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    if not hub.is_running(sid):
        await hub.start_room(sid, state[1])  # e.g. after a server restart: resume with a discontinuity
    try:
        opened = hub.open_speaker(sid, websocket.query_params.get("format"), account_id)
    except ValueError:
        await websocket.close(code=POLICY_VIOLATION)
        return
    if opened is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    source, key = opened
    await websocket.accept()
    checked = time.monotonic()
    closer = asyncio.ensure_future(_close_at_end(websocket, hub.ended_event(sid)))
    if role == "host":
        hub.host_connected(sid, True)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect" or closer.done():
                break
            if not hub.has_room(sid):
                await websocket.close(code=1000, reason="the room has ended")
                break
            if time.monotonic() - checked > RECHECK_SECONDS:
                # Removal and mute by a host take effect within a couple of seconds, at one cheap read per speaker.
                checked = time.monotonic()
                async with ctx.db.read() as conn:
                    if await speaker_role(conn, sid, account_id) is None:
                        await websocket.close(code=POLICY_VIOLATION, reason="no longer a speaker")
                        break
                    muted = await is_muted(conn, sid, account_id)
            data = message.get("bytes")
            if data:
                source.muted = muted  # compressed audio is still decoded while muted, so its stream stays whole
                source.feed(data)
    except (WebSocketDisconnect, RuntimeError):  # RuntimeError: the socket was closed at the room's end
        pass
    finally:
        closer.cancel()
        if role == "host":
            hub.host_connected(sid, False)
        hub.close_speaker(sid, key)
        source.close()


async def _close_at_end(websocket: WebSocket, ended: asyncio.Event | None) -> None:
    """Close a speaker's socket as soon as the room ends, even when the speaker sends nothing."""
    if ended is None:
        return await asyncio.Event().wait()
    await ended.wait()
    await websocket.close(code=1000, reason="the room has ended")


async def _resume_if_live(ctx, hub, sid: int) -> None:
    """After a restart nothing runs a live room until asked: the first listener's request resumes it."""
    if hub.is_running(sid) or not hub.due_for_check(sid):
        return
    async with ctx.db.read() as conn:
        state = await get_space_state(conn, sid)
    if state is not None and state[0] == "live":
        await hub.start_room(sid, state[1])


async def _hls(space_id: str, name: str, ctx) -> Response:
    hub = getattr(ctx, "audio", None)
    sid = path_id(space_id)
    if hub is None:
        raise ApiError(404, "Record not found")
    if name in ("live.m3u8", "recording.m3u8"):
        kind, cache = "application/vnd.apple.mpegurl", LIVE
    elif SEGMENT.match(name):
        kind, cache = "video/mp2t", IMMUTABLE
    else:
        raise ApiError(404, "Record not found")
    data = hub.store.get(sid, name)
    if name == "live.m3u8" and (data is None or b"#EXT-X-ENDLIST" not in data):
        await _resume_if_live(ctx, hub, sid)
        data = data or hub.store.get(sid, name)
    if data is None:
        raise ApiError(404, "Record not found")
    if name == "recording.m3u8" and b"#EXT-X-ENDLIST" in data:
        cache = "public, max-age=60"
    headers = {"Cache-Control": cache, "Access-Control-Allow-Origin": "*"}
    if name == "live.m3u8" and hub.storage_error(sid):  # the live window stays up; say why it does not move
        headers["X-Townsquare-Audio"] = "paused: the server is out of storage"
    return Response(data, media_type=kind, headers=headers)


@router.get("/spaces/{space_id}/{name}")
async def hls_object(space_id: str, name: str, request: Request) -> Response:
    """Serve a room's live or recording playlist, or one of its segments."""
    return await _hls(space_id, name, ctx_of(request))
