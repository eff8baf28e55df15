"""Spaces (live audio rooms): create, list, start, end, join, react, and manage who speaks."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timezone

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import bearer, ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.params import as_bool, as_str, read_params
from townsquare.api.serializers.spaces import account_ids, space as render_space
from townsquare.core.clock import iso, now
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id, render_id
from townsquare.core.pagination import page_from
from townsquare.services import spaces as service
from townsquare.spaces.reactions import normalise
from townsquare.storage import accounts as account_store
from townsquare.storage.spaces import Space

router = APIRouter()
log = logging.getLogger("townsquare.spaces")
LISTENER_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
STATES = ("live", "scheduled", "ended")


def _absolute(base: str, url: str | None) -> str | None:
    if url is None or url.startswith(("http://", "https://")):
        return url
    return base + url


def hls_url(ctx, s: Space) -> str | None:
    """Return the live playlist URL of a room on air, else None."""
    if s.state != "live":
        return None
    audio = getattr(ctx, "audio", None)
    path = audio.live_playlist_url(s.id) if audio is not None else f"/spaces/{s.id}/live.m3u8"
    return _absolute(ctx.settings.base_url, path)


def recording_url(ctx, s: Space) -> str | None:
    """Return the replay playlist URL of an ended, recorded room, else None."""
    if s.state != "ended" or not s.record:
        return None
    audio = getattr(ctx, "audio", None)
    path = audio.recording_url(s.id) if audio is not None else f"/spaces/{s.id}/recording.m3u8"
    return _absolute(ctx.settings.base_url, path)


async def render_many(ctx, conn, items: list[Space], viewer_id: int | None) -> list[dict]:
    """Render rooms with their people, listener counts and playlist URLs."""
    wanted: set[int] = set()
    for s in items:
        wanted |= account_ids(s)
    accounts = await account_store.get_many(conn, wanted)
    out = []
    for s in items:
        count = await ctx.spaces.listener_count(s.id) if s.state == "live" else 0
        # Hosts of a scheduled room see how many listeners already wait for it to start.
        waiting = await ctx.spaces.listener_count(s.id) if s.state == "scheduled" and s.can_manage(viewer_id) else None
        out.append(render_space(s, accounts, ctx.settings.base_url, listener_count=count, hls_url=hls_url(ctx, s),
                                recording_url=recording_url(ctx, s), viewer_id=viewer_id, waiting_count=waiting))
    return out


async def _one(ctx, space_id: int, viewer_id: int | None, known: Space | None = None) -> dict:
    """Render one room for the viewer (read afresh, unless the caller holds what it has just written)."""
    async with ctx.db.read() as conn:
        s = known if known is not None else await service.get(conn, space_id)
        return (await render_many(ctx, conn, [s], viewer_id))[0]


def _account_param(p: dict) -> int:
    value = parse_id(p.get("account_id"))
    if value is None:
        raise ApiError(422, "Validation failed: account_id is missing or not a valid id")
    return value


def _scheduled_at(value) -> datetime | None:
    text = as_str(value, "scheduled_at")
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "Validation failed: scheduled_at is not a valid date") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


async def _announce_stage(ctx, space_id: int) -> dict:
    """Publish the new stage of a room (speakers, co-hosts, requests) and return it as its host sees it."""
    await ctx.spaces.changed(space_id)
    async with ctx.db.read() as conn:
        s = await service.get(conn, space_id)
        data = (await render_many(ctx, conn, [s], s.account_id))[0]  # as the host sees it: with requests
    await ctx.spaces.publish(space_id, "speakers", {
        "speakers": data["speakers"], "cohosts": data["cohosts"], "speak_requests": data["speak_requests"]})
    return data


@router.post("/api/v1/spaces")
async def create_space(request: Request) -> Response:
    """Create a room (title, optional scheduled_at, record) hosted by the viewer."""
    viewer = await get_viewer(request, "write:statuses")
    p = await read_params(request)
    title = as_str(p.get("title"), "title", max_len=200) or ""
    when, record = _scheduled_at(p.get("scheduled_at")), as_bool(p.get("record"), False)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        space_id = await service.create(conn, viewer.account.id, title, when, record, listed=ctx.room_list)
    return json(await _one(ctx, space_id, viewer.account.id))


@router.get("/api/v1/spaces")
async def list_spaces(request: Request) -> Response:
    """List rooms: live now by default, or state=scheduled|ended, optionally by one host (account_id)."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    p = await read_params(request)
    state = as_str(p.get("state"), "state") or "live"
    if state not in STATES:
        raise ApiError(422, "Validation failed: state must be live, scheduled or ended")
    page = page_from(p)
    host_id = None
    if p.get("account_id") not in (None, ""):
        host_id = parse_id(p.get("account_id")) or -1  # an id that is no id matches no host
    ctx = ctx_of(request)
    viewer_id = viewer.account.id if viewer.account else None
    async with ctx.db.read() as conn:
        rooms = await service.listed(conn, state, page, host_id)
        items = await render_many(ctx, conn, rooms, viewer_id)
    return paged(request, items, p, rooms[0].id if rooms else None, rooms[-1].id if rooms else None)


@router.get("/api/v1/spaces/{space_id}")
async def get_space(request: Request, space_id: str) -> Response:
    """Show one room."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    return json(await _one(ctx_of(request), path_id(space_id), viewer.account.id if viewer.account else None))


@router.delete("/api/v1/spaces/{space_id}")
async def delete_space(request: Request, space_id: str) -> Response:
    """Delete a room that has not started (host or co-host)."""
    viewer = await get_viewer(request, "write:statuses")
    sid, ctx = path_id(space_id), ctx_of(request)
    async with ctx.db.write() as conn:
        await service.remove(conn, sid, viewer.account.id, listed=ctx.room_list)
    await ctx.spaces.changed(sid)
    return json({})


@router.post("/api/v1/spaces/{space_id}/start")
async def start_space(request: Request, space_id: str) -> Response:
    """Put a room on air (host or co-host): starts its audio and notifies the host's followers."""
    viewer = await get_viewer(request, "write:statuses")
    sid, ctx = path_id(space_id), ctx_of(request)
    async with ctx.db.write() as conn:
        s = await service.start(conn, sid, viewer.account.id)
    ctx.after_commit()
    await ctx.spaces.changed(sid)  # no process may answer "scheduled" from its cache once the start is committed
    audio = getattr(ctx, "audio", None)
    if audio is not None:
        try:
            await audio.start_room(sid, s.record)
        except Exception:  # the room is on air either way; the pipeline is retried by the next start_room
            log.exception("audio pipeline failed to start for space %s", sid)
    data = await _one(ctx, sid, viewer.account.id, known=s)
    await ctx.spaces.publish(sid, "state", {"state": "live", "started_at": data["started_at"], "hls_url": data["hls_url"]})
    return json(data)


@router.post("/api/v1/spaces/{space_id}/end")
async def end_space(request: Request, space_id: str) -> Response:
    """End a live room (host or co-host): stops its audio and finalises the recording."""
    viewer = await get_viewer(request, "write:statuses")
    sid, ctx = path_id(space_id), ctx_of(request)
    return json(await end_room(ctx, sid, viewer.account.id))


async def end_abandoned_room(ctx, sid: int) -> None:
    """End a live room whose host has been gone too long, as the host would with POST /end."""
    async with ctx.db.read() as conn:
        space = await service.get(conn, sid)
    if space.state == "live":
        await end_room(ctx, sid, space.account_id)


async def end_room(ctx, sid: int, actor_id: int) -> dict:
    """End a live room: mark it ended, stop its audio (closing speaker sockets), tell its listeners."""
    async with ctx.db.write() as conn:
        await service.end(conn, sid, actor_id)
    audio = getattr(ctx, "audio", None)
    if audio is not None:
        try:
            await audio.end_room(sid)
        except Exception:
            log.exception("audio pipeline failed to stop cleanly for space %s", sid)
    await ctx.spaces.ended(sid)
    data = await _one(ctx, sid, actor_id)
    await ctx.spaces.publish(sid, "state", {"state": "ended", "ended_at": data["ended_at"], "recording_url": data["recording_url"]})
    return data


def _shed(what: str) -> ApiError:
    return ApiError(503, f"Too many {what} right now; retry shortly", headers={"Retry-After": "1"})


async def _joinable_room(ctx, sid: int) -> Space:
    """A room listeners may join: live, or scheduled (they wait in it); an unknown room is 404, an ended one 422."""
    s = await ctx.spaces.room(ctx.db, sid)
    if s is None:
        raise not_found()
    if s.state == "ended":
        raise ApiError(422, "Validation failed: the space has ended")
    return s


def _waiting_heartbeat(ctx, s: Space) -> int:
    """How often a waiting listener should repeat its join: every half presence TTL, sooner once the start is near."""
    interval = ctx.settings.spaces_presence_ttl / 2
    if s.scheduled_at is not None:
        interval = min(interval, max(2.0, (s.scheduled_at - now()).total_seconds()))
    else:
        interval = min(interval, 5.0)  # no announced start: it may begin any moment
    return max(1, int(interval))


async def _live_room(ctx, sid: int) -> Space:
    s = await ctx.spaces.room(ctx.db, sid)
    if s is None:
        raise not_found()
    if s.state != "live":
        raise ApiError(422, f"Validation failed: the space is {s.state}, not live")
    return s


async def _listener_account(request: Request, ctx) -> int:
    """Return the joining account's id (0 when anonymous), checking each token once a minute at most."""
    secret = bearer(request)
    if not secret:
        return 0
    known = ctx.spaces.token_account(secret)
    if known is not None:
        return known
    viewer = await get_viewer(request, None, required=False)  # an invalid token is still a 401
    account_id = viewer.account.id if viewer.account is not None else 0
    ctx.spaces.remember_token(secret, account_id)
    return account_id


@router.post("/api/v1/spaces/{space_id}/join")
async def join_space(request: Request, space_id: str) -> Response:
    """Join a live room as a listener, or wait in a scheduled one (repeat as a heartbeat); no database write."""
    ctx = ctx_of(request)
    if not ctx.spaces.join_limit.allow():
        raise _shed("joins")
    sid = path_id(space_id)
    account_id = await _listener_account(request, ctx)
    p = await read_params(request)
    s = await _joinable_room(ctx, sid)
    listener = as_str(p.get("listener_id"), "listener_id")
    if account_id:
        listener = f"a{account_id}"
    elif listener is None or not LISTENER_ID.match(listener):
        listener = secrets.token_urlsafe(12)
    waiting = s.state == "scheduled"
    try:
        await ctx.spaces.join(sid, listener, waiting=waiting)
    except Exception:
        log.exception("presence failed for space %s", sid)
        raise _shed("listeners") from None
    if waiting:  # the start reaches the listener on the space stream; the heartbeat is the fallback
        return json({
            "space_id": render_id(sid), "state": "scheduled", "scheduled_at": iso(s.scheduled_at), "hls_url": None,
            "listener_id": listener, "heartbeat_interval": _waiting_heartbeat(ctx, s),
            "stream": {"stream": "space", "space_id": render_id(sid)},
        })
    return json({
        "space_id": render_id(sid), "state": s.state, "hls_url": hls_url(ctx, s), "listener_id": listener,
        "listener_count": await ctx.spaces.listener_count(sid),
        "heartbeat_interval": max(1, int(ctx.settings.spaces_presence_ttl / 2)),
    })


@router.post("/api/v1/spaces/{space_id}/leave")
async def leave_space(request: Request, space_id: str) -> Response:
    """Stop being counted as a listener of a room."""
    ctx, sid = ctx_of(request), path_id(space_id)
    account_id = await _listener_account(request, ctx)
    p = await read_params(request)
    listener = f"a{account_id}" if account_id else as_str(p.get("listener_id"), "listener_id")
    if listener is None:
        raise ApiError(422, "Validation failed: listener_id is missing")
    try:
        await ctx.spaces.leave(sid, listener)
    except Exception:
        log.exception("presence failed for space %s", sid)
        raise _shed("listeners") from None
    return json({})


@router.post("/api/v1/spaces/{space_id}/reactions")
async def react(request: Request, space_id: str) -> Response:
    """Send a reaction (one of a small set of emoji) to a live room; counts go out once per tick."""
    await get_viewer(request, "write:statuses")
    ctx, sid = ctx_of(request), path_id(space_id)
    if not ctx.spaces.reaction_limit.allow():
        raise _shed("reactions")
    p = await read_params(request)
    emoji = normalise(as_str(p.get("name") or p.get("emoji"), "name") or "")
    if emoji is None:
        raise ApiError(422, "Validation failed: name is not one of the allowed reactions")
    await _live_room(ctx, sid)
    ctx.spaces.react(sid, emoji)
    return json({"name": emoji})


async def _stage_change(request: Request, space_id: str, change, *args, needs_account: bool = True) -> Response:
    viewer = await get_viewer(request, "write:statuses")
    sid, ctx = path_id(space_id), ctx_of(request)
    extra = args
    if needs_account:
        extra = (_account_param(await read_params(request)),) + args
    async with ctx.db.write() as conn:
        await change(conn, sid, viewer.account.id, *extra)
    await _announce_stage(ctx, sid)
    return json(await _one(ctx, sid, viewer.account.id))


@router.post("/api/v1/spaces/{space_id}/speak_requests")
async def request_to_speak(request: Request, space_id: str) -> Response:
    """Ask the hosts of a live room to let the viewer speak."""
    return await _stage_change(request, space_id, service.request_to_speak, needs_account=False)


@router.delete("/api/v1/spaces/{space_id}/speak_requests")
async def withdraw_request(request: Request, space_id: str) -> Response:
    """Withdraw the viewer's own request to speak."""
    viewer = await get_viewer(request, "write:statuses")
    return await _stage_change(request, space_id, service.answer_request, viewer.account.id, needs_account=False)


@router.delete("/api/v1/spaces/{space_id}/speak_requests/{account_id}")
async def reject_request(request: Request, space_id: str, account_id: str) -> Response:
    """Reject someone's request to speak (host or co-host)."""
    return await _stage_change(request, space_id, service.answer_request, path_id(account_id), needs_account=False)


@router.post("/api/v1/spaces/{space_id}/speakers")
async def add_speaker(request: Request, space_id: str) -> Response:
    """Invite account_id to speak, or approve its request (host or co-host)."""
    return await _stage_change(request, space_id, service.add_speaker)


@router.delete("/api/v1/spaces/{space_id}/speakers/{account_id}")
async def remove_speaker(request: Request, space_id: str, account_id: str) -> Response:
    """Send a speaker back to the audience (host or co-host, or the speaker)."""
    return await _stage_change(request, space_id, service.remove_speaker, path_id(account_id), needs_account=False)


@router.post("/api/v1/spaces/{space_id}/speakers/{account_id}/mute")
async def mute_speaker(request: Request, space_id: str, account_id: str) -> Response:
    """Mute someone on the stage (host or co-host, or themself)."""
    return await _stage_change(request, space_id, service.set_muted, path_id(account_id), True, needs_account=False)


@router.post("/api/v1/spaces/{space_id}/speakers/{account_id}/unmute")
async def unmute_speaker(request: Request, space_id: str, account_id: str) -> Response:
    """Unmute someone on the stage (host or co-host, or themself)."""
    return await _stage_change(request, space_id, service.set_muted, path_id(account_id), False, needs_account=False)


@router.post("/api/v1/spaces/{space_id}/cohosts")
async def add_cohost(request: Request, space_id: str) -> Response:
    """Make account_id a co-host (host only; at most two)."""
    return await _stage_change(request, space_id, service.add_cohost)


@router.delete("/api/v1/spaces/{space_id}/cohosts/{account_id}")
async def remove_cohost(request: Request, space_id: str, account_id: str) -> Response:
    """Take co-host rights away (host, or the co-host stepping down)."""
    return await _stage_change(request, space_id, service.remove_cohost, path_id(account_id), needs_account=False)
