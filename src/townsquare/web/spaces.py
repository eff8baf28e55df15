"""Space pages: the rooms live and scheduled (and a form to make one), one room's page for everyone, and
the host's controls on it as real forms with the same permissions as the Spaces API (the same services)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from townsquare.api.deps import ctx_of
from townsquare.api.mastodon.spaces import _announce_stage, end_room, hls_url, recording_url
from townsquare.core.clock import iso
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.services import spaces as service
from townsquare.spaces.reactions import REACTIONS, normalise
from townsquare.storage import accounts as account_store
from townsquare.storage import spaces as store
from townsquare.web.assets import PREFIX
from townsquare.web.render import back, page, security_headers
from townsquare.web.pages_actions import signed_in_form
from townsquare.web.routing import web_router
from townsquare.web.session import viewer_of

router = web_router()
log = logging.getLogger("townsquare.spaces")
STAGE = ("host", "cohost", "speaker")
REACTION_NAMES = {"👍": "Thumbs up", "❤️": "Heart", "😂": "Laughing", "😮": "Surprised", "😢": "Sad", "👏": "Clapping",
                  "🔥": "Fire", "💯": "Hundred points"}


@router.get("/spaces")
async def spaces_page(request: Request) -> Response:
    """The rooms on air now and the ones scheduled, and (signed in) a form to create or schedule one."""
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        live = await store.load_many(conn, await store.ids_by_state(conn, "live"))
        scheduled = await store.load_many(conn, await store.ids_by_state(conn, "scheduled"))
        hosts = await account_store.get_many(conn, {s.account_id for s in live + scheduled})
    live = [s for s in live if s.account_id in hosts]
    scheduled = [s for s in scheduled if s.account_id in hosts]
    return page(request, "spaces.html", live=live, scheduled=scheduled, hosts=hosts)


def _scheduled_at(text: str) -> datetime | None:
    """A datetime-local value, which the form labels as UTC (the page must read the same without script)."""
    text = text.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "The start time is not a valid date and time.") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@router.post("/spaces")
async def create_space(request: Request) -> Response:
    """Create a room hosted by the viewer, to start now from its page or at a scheduled time."""
    viewer, form = await signed_in_form(request)
    title = str(form.get("title") or "")
    if len(title) > 200:
        raise ApiError(422, "The title is too long (at most 200 characters).")
    when = _scheduled_at(str(form.get("scheduled_at") or ""))
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        space_id = await service.create(conn, viewer.account.id, title, when, bool(form.get("record")),
                                        listed=ctx.room_list)
    return back(request, f"/spaces/{space_id}")


@router.get("/spaces/{space_id}")
async def space_page(request: Request, space_id: str) -> Response:
    """One room: state, host, who is on stage and speaking, listeners, reactions, requests; the host's controls.

    `?part=stage` answers the stage section alone, which the page's script fetches every few seconds."""
    ctx = ctx_of(request)
    viewer = await viewer_of(request)
    sid = parse_id(space_id)
    # The room through the live cache (about a second old at most, dropped by every change), as joins read it:
    # every open page asks for its stage every few seconds.
    s = await ctx.spaces.room(ctx.db, sid) if sid is not None else None
    people = {}
    if s is not None:
        async with ctx.db.read() as conn:
            people = await account_store.get_many(conn, {s.account_id} | {m.account_id for m in s.members})
    host = people.get(s.account_id) if s is not None else None
    if s is None or host is None or not host.is_public:
        raise not_found("This space does not exist.")
    speakers = [(people[m.account_id], m) for m in s.with_role(*STAGE) if m.account_id in people]
    requests = [(people[m.account_id], m) for m in s.with_role("requested") if m.account_id in people]
    listeners = await ctx.spaces.listener_count(s.id) if s.state == "live" and ctx.spaces is not None else None
    audio = getattr(ctx, "audio", None)
    connected, speaking = audio.on_air(s.id) if audio is not None and s.state == "live" else (set(), set())
    my_role = s.role_of(viewer.id)
    context = dict(space=s, host=host, speakers=speakers, requests=requests, listeners=listeners,
                   connected=connected, speaking=speaking, my_role=my_role, manage=s.can_manage(viewer.id),
                   host_only=viewer.id == s.account_id, me_member=next((m for m in s.members if m.account_id == viewer.id), None),
                   reactions=[(e, REACTION_NAMES.get(e, e)) for e in REACTIONS], notice=NOTICES.get(request.query_params.get("done") or ""))
    if request.query_params.get("part") == "stage":
        return page(request, "space_stage.html", **context)
    return page(request, "space.html", **context,
                source=hls_url(ctx, s) or recording_url(ctx, s), hls_script=f"{PREFIX}/vendor/hls.light.min.js",
                space_script=f"{PREFIX}/space.js", space_style=f"{PREFIX}/space.css",
                audio_socket=f"/api/v1/spaces/{s.id}/audio")


async def _start(ctx, sid: int, actor_id: int) -> None:
    """Put a room on air as POST /api/v1/spaces/:id/start does: the row, then its audio, then the news."""
    async with ctx.db.write() as conn:
        s = await service.start(conn, sid, actor_id)
    ctx.after_commit()
    await ctx.spaces.changed(sid)
    audio = getattr(ctx, "audio", None)
    if audio is not None:
        try:
            await audio.start_room(sid, s.record)
        except Exception:  # on air either way; the speaker socket or the first listener retries the pipeline
            log.exception("audio pipeline failed to start for space %s", sid)
    async with ctx.db.read() as conn:
        s = await service.get(conn, sid)
    await ctx.spaces.publish(sid, "state", {"state": "live", "started_at": iso(s.started_at), "hls_url": hls_url(ctx, s)})


async def _account_of(conn, form: dict) -> int:
    """The account a stage action is about: account_id from a button, or a username typed into the invite box."""
    account_id = parse_id(str(form.get("account_id") or ""))
    if account_id is not None:
        return account_id
    name = str(form.get("username") or "").strip().lstrip("@").split("@")[0]
    account = await account_store.by_username(conn, name) if name else None
    if account is None or not account.is_public:
        raise ApiError(422, f"There is no account called @{name}." if name else "Type the username to invite.")
    return account.id


# verb -> (the service's use case, whether it names an account, the extra argument)
STAGE_ACTIONS = {
    "request": (service.request_to_speak, False, None),
    "withdraw": (service.answer_request, False, None),
    "approve": (service.add_speaker, True, None),
    "invite": (service.add_speaker, True, None),
    "reject": (service.answer_request, True, None),
    "remove": (service.remove_speaker, True, None),
    "mute": (service.set_muted, True, True),
    "unmute": (service.set_muted, True, False),
    "cohost": (service.add_cohost, True, None),
    "uncohost": (service.remove_cohost, True, None),
}
# What the page says after an action (by code, so a link cannot make the page say anything else).
NOTICES = {
    "start": "You are on air.", "end": "The space has ended.", "react": "Your reaction was sent.",
    "request": "Your request to speak was sent to the hosts.", "withdraw": "Your request to speak was withdrawn.",
    "approve": "They can speak now.", "invite": "They are on the stage now.", "reject": "The request was declined.",
    "remove": "They are back in the audience.", "mute": "Muted.", "unmute": "Unmuted.",
    "cohost": "They are a co-host now.", "uncohost": "They are no longer a co-host.",
}


@router.post("/spaces/{space_id}/{verb}")
async def space_action(request: Request, space_id: str, verb: str) -> Response:
    """Start, end or delete a room; ask to speak or withdraw; react; manage the stage (as the API allows)."""
    viewer, form = await signed_in_form(request)
    sid = parse_id(space_id)
    if sid is None or verb not in (*STAGE_ACTIONS, "start", "end", "delete", "react"):
        raise not_found()
    ctx, me = ctx_of(request), viewer.account.id
    if verb == "start":
        await _start(ctx, sid, me)
    elif verb == "end":
        await end_room(ctx, sid, me)
    elif verb == "delete":
        async with ctx.db.write() as conn:
            await service.remove(conn, sid, me, listed=ctx.room_list)
        await ctx.spaces.changed(sid)
        return back(request, "/spaces")
    elif verb == "react":
        await _react(ctx, sid, str(form.get("name") or ""))
    else:
        change, with_account, extra = STAGE_ACTIONS[verb]
        async with ctx.db.write() as conn:
            who = [await _account_of(conn, form)] if with_account else [me] if verb == "withdraw" else []
            await change(conn, sid, me, *who, *([extra] if extra is not None else []))
        await _announce_stage(ctx, sid)
    if request.headers.get("x-requested-with") == "fetch":  # the page's script, which stays on the page
        return security_headers(PlainTextResponse(NOTICES[verb]))
    return back(request, f"/spaces/{sid}?done={verb}")


async def _react(ctx, sid: int, name: str) -> None:
    """Count a reaction in a live room, as POST /api/v1/spaces/:id/reactions does."""
    emoji = normalise(name)
    if emoji is None:
        raise ApiError(422, "That is not one of the reactions.")
    if not ctx.spaces.reaction_limit.allow():
        raise ApiError(503, "Too many reactions right now; try again shortly.", headers={"Retry-After": "1"})
    s = await ctx.spaces.room(ctx.db, sid)
    if s is None:
        raise not_found()
    if s.state != "live":
        raise ApiError(422, "Reactions are for live spaces.")
    ctx.spaces.react(sid, emoji)
