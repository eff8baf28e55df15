"""Actions as real forms (posting is in compose.py): favourite, boost, bookmark, delete, follow, mute, block, report.

Every action is a POST with a CSRF token that answers 303 back to the page it came from; htmx asks
for the changed post only, which is swapped in place (the script keeps keyboard focus on the button).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from townsquare.api.deps import ctx_of
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.moderation import reports as report_service
from townsquare.services import interactions, posting, relations
from townsquare.storage import statuses as status_store
from townsquare.web.pages_public import public_account
from townsquare.web.render import back, csrf_field, is_htmx, page, render_macro, security_headers
from townsquare.web.routing import web_router
from townsquare.web.session import WebViewer, check_csrf, viewer_of

router = web_router()


async def signed_in_form(request: Request) -> tuple[WebViewer, dict]:
    """The viewer (who must be signed in) and the checked form of a POST."""
    viewer = await viewer_of(request)
    form = dict(await request.form())
    check_csrf(request, form)
    if viewer.account is None:
        raise ApiError(401, "Sign in first.")
    return viewer, form


async def fragment(request: Request, item_id: int, main: bool = False) -> Response:
    """The post with this id as the viewer now sees it, for htmx to swap in."""
    async with ctx_of(request).db.read() as conn:
        status = await status_store.get_visible(conn, item_id, request.state.web_viewer.id)
    return _fragment(request, status, main)


def _fragment(request: Request, status, main: bool = False) -> Response:
    """The changed post alone, for htmx to swap in (empty when it is gone)."""
    html = ""
    if status is not None:
        current = urlsplit(str(request.headers.get("hx-current-url") or "/"))
        next_url = (current.path or "/") + (f"?{current.query}" if current.query else "")
        html = render_macro(request, "status_article", status, request.state.web_viewer.account, csrf_field(request), next_url, main)
    return security_headers(HTMLResponse(html))


VERBS = ("favourite", "unfavourite", "reblog", "unreblog", "bookmark", "unbookmark", "delete")


@router.post("/statuses/{status_id}/{verb}")
async def status_action(request: Request, status_id: str, verb: str) -> Response:
    """Favourite, boost or bookmark a post (or undo it), or delete one's own."""
    viewer, form = await signed_in_form(request)
    sid = parse_id(status_id)
    if sid is None or verb not in VERBS:
        raise not_found()
    ctx = ctx_of(request)
    me = viewer.account
    async with ctx.db.write() as conn:
        if verb == "favourite":
            await interactions.favourite(conn, me, sid)
        elif verb == "unfavourite":
            await interactions.unfavourite(conn, me, sid)
        elif verb == "bookmark":
            await interactions.bookmark(conn, me, sid)
        elif verb == "unbookmark":
            await interactions.unbookmark(conn, me, sid)
        elif verb == "reblog":
            await posting.reblog(conn, me, sid, None, None)
        elif verb == "unreblog":
            await posting.unreblog(conn, me, sid, ctx.feeds)
        else:
            await posting.delete_status(conn, me, sid, ctx.feeds)
    ctx.after_commit()
    if is_htmx(request):
        item = parse_id(str(form.get("item") or "")) or sid
        async with ctx.db.read() as conn:
            status = await status_store.get_visible(conn, item, me.id)
        return _fragment(request, status, form.get("main") == "1")
    if verb == "delete":
        return back(request, f"/@{me.username}")
    return back(request, "/", form)


RELATION_VERBS = ("follow", "unfollow", "mute", "unmute", "block", "unblock")


@router.post("/@{username}/{verb}")
async def relation_action(request: Request, username: str, verb: str) -> Response:
    """Follow, mute or block an account (or undo it)."""
    if verb == "report":
        return await file_report(request, username)
    viewer, form = await signed_in_form(request)
    if verb not in RELATION_VERBS:
        raise not_found()
    ctx = ctx_of(request)
    me = viewer.account
    async with ctx.db.write() as conn:
        target = await public_account(conn, username)
        if verb == "follow":
            await relations.follow(conn, me, target.id, ctx.feeds)
        elif verb == "unfollow":
            await relations.unfollow(conn, me, target.id, ctx.feeds)
        elif verb == "mute":
            await relations.mute(conn, me, target.id, ctx.feeds, True, 0)
        elif verb == "unmute":
            await relations.unmute(conn, me, target.id)
        elif verb == "block":
            await relations.block(conn, me, target.id, ctx.feeds)
        else:
            await relations.unblock(conn, me, target.id)
    ctx.after_commit()
    return back(request, f"/@{target.username}")


async def _report_form(request: Request, username: str, status_id: str | None) -> Response:
    viewer = await viewer_of(request)
    if viewer.account is None:
        raise ApiError(401, "Sign in to report.")
    async with ctx_of(request).db.read() as conn:
        account = await public_account(conn, username)
        status = None
        if status_id is not None:
            sid = parse_id(status_id)
            status = await status_store.get_visible(conn, sid, viewer.id) if sid is not None else None
            if status is None or status.account_id != account.id:
                raise not_found()
    return page(request, "report.html", account=account, post=status)


@router.get("/@{username}/report")
async def report_account_form(request: Request, username: str) -> Response:
    """The form to report an account."""
    return await _report_form(request, username, None)


@router.get("/@{username}/{status_id}/report")
async def report_status_form(request: Request, username: str, status_id: str) -> Response:
    """The form to report a post."""
    return await _report_form(request, username, status_id)


async def file_report(request: Request, username: str) -> Response:
    """File a report (the same use case as POST /api/v1/reports)."""
    viewer, form = await signed_in_form(request)
    ids = [parse_id(str(form["status_ids"]))] if form.get("status_ids") else []
    if None in ids:
        raise not_found()
    async with ctx_of(request).db.write() as conn:
        target = await public_account(conn, username)
        await report_service.create_report(conn, viewer.account, target, ids, str(form.get("category") or "") or None,
                                           [], str(form.get("comment") or "")[:report_service.MAX_COMMENT + 1], known_rules=set())
    return page(request, "error.html", title="Thank you", message=f"Your report about @{target.username} was sent to the moderators.")
