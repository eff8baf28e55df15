"""The viewer's own pages: notifications and the live event stream (settings are in pages_settings)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from townsquare.api.deps import ctx_of
from townsquare.api.streaming import _event_source, resolve
from townsquare.core.errors import ApiError
from townsquare.domain.models import Viewer
from townsquare.services import inbox, personal, sessions
from townsquare.storage import notifications as notification_store
from townsquare.web.pages_public import older_link, page_of
from townsquare.web.render import page
from townsquare.web.routing import web_router
from townsquare.web.session import viewer_of

router = web_router()
FILTERS = [("", "All"), ("mention", "Mentions"), ("favourite", "Favourites"), ("reblog", "Boosts"),
           ("follow", "Follows"), ("follow_request", "Follow requests"), ("moderation_warning", "Moderation")]


async def signed_in(request: Request):
    """The signed-in viewer, or 401 (shown as a page asking to sign in)."""
    viewer = await viewer_of(request)
    if viewer.account is None:
        raise ApiError(401, "Sign in to see this page.")
    return viewer


@router.get("/notifications")
async def notifications(request: Request) -> Response:
    """The viewer's notifications, optionally of one type; seeing the newest marks them read."""
    viewer = await signed_in(request)
    kind = request.query_params.get("type") or ""
    if kind and kind not in dict(FILTERS):
        raise ApiError(422, "Unknown notification type.")
    pg = page_of(request)
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        rows = await notification_store.page_rows(conn, notification_store.filtered_query(viewer.id, [kind] if kind else None), pg)
        items = await inbox.hydrate(conn, rows, viewer.id)
    if rows and pg.max_id is None:
        async with ctx.db.write() as conn:
            await personal.set_marker(conn, viewer.id, "notifications", max(r.id for r in rows))
        viewer.unread = 0
    return page(request, "notifications.html", items=items, filters=FILTERS, current=kind, stream="notifications",
                more=older_link(request, rows[-1].id if rows else None, len(rows) >= pg.limit, type=kind))


@router.get("/web/stream")
async def stream(request: Request) -> Response:
    """Server-sent events of the viewer's user stream (new posts, notifications), authenticated by the session cookie."""
    viewer = await signed_in(request)
    ctx = ctx_of(request)
    token_viewer = Viewer(account=viewer.account, scopes=frozenset(sessions.SESSION_SCOPES), token_id=viewer.token_id)
    stream_ = await resolve(ctx, token_viewer, "user", {})
    return StreamingResponse(_event_source(ctx, token_viewer, stream_), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
