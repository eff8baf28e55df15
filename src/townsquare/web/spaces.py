"""Space pages: the rooms live and scheduled, and one room's page with title, host, speakers and a Play button."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of
from townsquare.api.mastodon.spaces import hls_url, recording_url
from townsquare.core.errors import not_found
from townsquare.core.ids import parse_id
from townsquare.storage import accounts as account_store
from townsquare.storage import spaces as store
from townsquare.web.assets import PREFIX
from townsquare.web.render import page
from townsquare.web.routing import web_router

router = web_router()


@router.get("/spaces")
async def spaces_page(request: Request) -> Response:
    """The rooms on air now and the ones scheduled."""
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        live = await store.load_many(conn, await store.ids_by_state(conn, "live"))
        scheduled = await store.load_many(conn, await store.ids_by_state(conn, "scheduled"))
        hosts = await account_store.get_many(conn, {s.account_id for s in live + scheduled})
    live = [s for s in live if s.account_id in hosts]
    scheduled = [s for s in scheduled if s.account_id in hosts]
    return page(request, "spaces.html", live=live, scheduled=scheduled, hosts=hosts)


@router.get("/spaces/{space_id}")
async def space_page(request: Request, space_id: str) -> Response:
    """One room: state, host, speakers (muted or not), listeners, and Play (hls.js loads only when pressed)."""
    ctx = ctx_of(request)
    sid = parse_id(space_id)
    async with ctx.db.read() as conn:
        s = await store.load(conn, sid) if sid is not None else None
        host = await account_store.get(conn, s.account_id) if s is not None else None
        people = await account_store.get_many(conn, {m.account_id for m in s.members}) if s is not None else {}
    if s is None or host is None or not host.is_public:
        raise not_found("This space does not exist.")
    speakers = [(people[m.account_id], m) for m in s.members if m.role in ("host", "cohost", "speaker") and m.account_id in people]
    listeners = await ctx.spaces.listener_count(s.id) if s.state == "live" and ctx.spaces is not None else None
    return page(request, "space.html", space=s, host=host, speakers=speakers, listeners=listeners,
                source=hls_url(ctx, s) or recording_url(ctx, s), hls_script=f"{PREFIX}/vendor/hls.light.min.js",
                space_script=f"{PREFIX}/space.js")
