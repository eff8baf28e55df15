"""Statuses: post, read, edit, delete, context, history, and favourite/reblog/bookmark/pin."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.filtering import render_marked_json, request_filters
from townsquare.api.deps import JSON_TYPE, ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import linked_accounts_response
from townsquare.api.mastodon.scheduled import schedule
from townsquare.api.mastodon.poll_params import parse_poll, parse_quoted_id, parse_scheduled_at
from townsquare.api.params import as_bool, as_list, as_str, read_params
from townsquare.api.serializers.statuses import status as render_status
from townsquare.api.serializers.statuses import status_edit, status_json, statuses_json
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.core.pagination import page_from
from townsquare.domain.models import StatusEdit
from townsquare.media.attaching import parse_media_ids
from townsquare.services import interactions, posting
from townsquare.services.timeline_pages import statuses_page
from townsquare.storage import media as media_rows
from townsquare.storage import reading
from townsquare.storage import statuses as status_store
from townsquare.storage import threads

router = APIRouter()
MAX_DESCENDANTS = 200


def _draft(p: dict, max_chars: int) -> posting.Draft:
    poll = parse_poll(p.get("poll"))
    if poll is not None and p.get("media_ids") and as_list(p.get("media_ids")):
        raise ApiError(422, "Validation failed: Media attachments cannot be combined with a poll")
    reply = p.get("in_reply_to_id")
    reply_id = None
    if reply not in (None, ""):
        reply_id = parse_id(reply)
        if reply_id is None:
            raise not_found()
    return posting.Draft(
        text=as_str(p.get("status"), "status") or "",
        spoiler_text=as_str(p.get("spoiler_text"), "spoiler_text") or "",
        visibility=as_str(p.get("visibility"), "visibility") or None,
        sensitive=as_bool(p["sensitive"]) if p.get("sensitive") not in (None, "") else None,
        language=as_str(p.get("language"), "language") or None,
        in_reply_to_id=reply_id,
        media_ids=parse_media_ids(as_list(p["media_ids"])) if "media_ids" in p else None,
        media_attributes=as_list(p.get("media_attributes")) or None,
        poll=poll,
        quoted_status_id=parse_quoted_id(p.get("quoted_status_id")),
        quote_approval_policy=as_str(p.get("quote_approval_policy"), "quote_approval_policy") or None,
    )


async def _render_one(request: Request, status_id: int, viewer_id: int | None) -> Response:
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        items = await statuses_page(conn, [status_id], viewer_id, cache=ctx.status_cache)
    if not items:
        raise not_found()
    return Response(status_json(items[0], ctx.settings.base_url), media_type=JSON_TYPE)


@router.post("/api/v1/statuses")
async def create_status(request: Request) -> Response:
    """Post a new status."""
    viewer = await get_viewer(request, "write:statuses")
    p = await read_params(request)
    ctx = ctx_of(request)
    s = ctx.settings
    draft = _draft(p, s.max_status_chars)
    if p.get("scheduled_at") not in (None, ""):
        return await schedule(request, viewer, draft, parse_scheduled_at(p.get("scheduled_at")), p)
    async with ctx.db.write() as conn:
        status_id, shown = await posting.post_status_shown(
            conn, viewer.account, draft, base_url=s.base_url, domain=s.effective_domain, max_chars=s.max_status_chars,
            app_id=viewer.app_id, idempotency_key=request.headers.get("idempotency-key"), fan_out=ctx.inline_fan_out)
    # The jobs it may have queued (fan-out, link card) woke the runner at the commit (storage/job_rows.JOBS_QUEUED).
    if shown is None:
        return await _render_one(request, status_id, viewer.account.id)
    # Rendered from what the post wrote, after its commit: what GET /api/v1/statuses/:id shows its author.
    return Response(status_json(shown, s.base_url), media_type=JSON_TYPE)


@router.get("/api/v1/statuses")
async def get_many(request: Request) -> Response:
    """Return several statuses by id[] (the visible ones)."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    p = await read_params(request)
    ids = [i for i in (parse_id(x) for x in as_list(p.get("id"))) if i is not None][:40]
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        items = await statuses_page(conn, ids, viewer.account.id if viewer.account else None, cache=ctx.status_cache)
    base = ctx.settings.base_url
    return Response(statuses_json([status_json(x, base) for x in items]), media_type=JSON_TYPE)


@router.get("/api/v1/statuses/{status_id}")
async def get_status(request: Request, status_id: str) -> Response:
    """Show one status."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    return await _render_one(request, path_id(status_id), viewer.account.id if viewer.account else None)


@router.put("/api/v1/statuses/{status_id}")
async def edit_status(request: Request, status_id: str) -> Response:
    """Edit one of the viewer's statuses."""
    viewer = await get_viewer(request, "write:statuses")
    sid = path_id(status_id)
    p = await read_params(request)
    ctx = ctx_of(request)
    s = ctx.settings
    draft = _draft(p, s.max_status_chars)
    async with ctx.db.write() as conn:
        await posting.edit_status(conn, viewer.account, sid, draft, base_url=s.base_url, domain=s.effective_domain,
                                  max_chars=s.max_status_chars, hybrid_threshold=s.hybrid_threshold)
    return await _render_one(request, sid, viewer.account.id)


@router.delete("/api/v1/statuses/{status_id}")
async def delete_status(request: Request, status_id: str) -> Response:
    """Delete one of the viewer's statuses; the response carries its source text for redrafting."""
    viewer = await get_viewer(request, "write:statuses")
    sid = path_id(status_id)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        item = await status_store.get_visible(conn, sid, viewer.account.id)
        if item is None or item.reblog_of_id is not None:
            raise not_found()
        await posting.delete_status(conn, viewer.account, sid, ctx.feeds)
    return json(render_status(item, ctx.settings.base_url, with_source=True))


@router.get("/api/v1/statuses/{status_id}/source")
async def status_source(request: Request, status_id: str) -> Response:
    """Return the plain text of one of the viewer's statuses, for editing."""
    viewer = await get_viewer(request, "read:statuses")
    async with ctx_of(request).db.read() as conn:
        row = await status_store.get_row(conn, path_id(status_id))
    if row is None or row.account_id != viewer.account.id:
        raise not_found()
    return json({"id": str(row.id), "text": row.text, "spoiler_text": row.spoiler_text})


@router.get("/api/v1/statuses/{status_id}/context")
async def context(request: Request, status_id: str) -> Response:
    """Return the visible ancestors and descendants of a status."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    viewer_id = viewer.account.id if viewer.account else None
    sid = path_id(status_id)
    base = ctx_of(request).settings.base_url
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        if (await status_store.get_visible(conn, sid, viewer_id)) is None:
            raise not_found()
        ancestors, descendants = await threads.thread_ids(conn, sid)
        before = await statuses_page(conn, ancestors, viewer_id, cache=ctx.status_cache)
        after = await statuses_page(conn, descendants[:MAX_DESCENDANTS], viewer_id, cache=ctx.status_cache)
        filters = await request_filters(request, conn)
    body = b'{"ancestors":' + render_marked_json(filters, before, base, "thread") + b',"descendants":' + \
        render_marked_json(filters, after, base, "thread") + b"}"
    return Response(body, media_type=JSON_TYPE)


@router.get("/api/v1/statuses/{status_id}/history")
async def history(request: Request, status_id: str) -> Response:
    """Return every version of a status, oldest first."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    sid = path_id(status_id)
    base = ctx_of(request).settings.base_url
    async with ctx_of(request).db.read() as conn:
        item = await status_store.get_visible(conn, sid, viewer.account.id if viewer.account else None)
        if item is None:
            raise not_found()
        rows = await status_store.edits_of(conn, sid)
        edit_media = await media_rows.for_edits(conn, [r.id for r in rows])
    if not rows:
        edits = [StatusEdit(item.content, item.spoiler_text, item.sensitive, item.created_at, item.account,
                            item.media_attachments)]
    else:
        edits = [StatusEdit(r.content, r.spoiler_text, r.sensitive, r.created_at, item.account, edit_media.get(r.id, []))
                 for r in rows]
    return json([status_edit(e, base) for e in edits])


def _action(name: str, scope: str, func, show_reblog: bool = False):
    async def endpoint(request: Request, status_id: str) -> Response:
        viewer = await get_viewer(request, scope)
        sid = path_id(status_id)
        ctx = ctx_of(request)
        p = await read_params(request)
        async with ctx.db.write() as conn:
            result = await func(conn, viewer, sid, p, ctx)
        ctx.after_commit()
        return await _render_one(request, result if show_reblog else sid, viewer.account.id)
    endpoint.__name__ = name
    endpoint.__doc__ = f"{name.replace('_', ' ').capitalize()} a status."
    router.post(f"/api/v1/statuses/{{status_id}}/{name}")(endpoint)


_action("favourite", "write:favourites", lambda c, v, s, p, x: interactions.favourite(c, v.account, s))
_action("unfavourite", "write:favourites", lambda c, v, s, p, x: interactions.unfavourite(c, v.account, s))
_action("bookmark", "write:bookmarks", lambda c, v, s, p, x: interactions.bookmark(c, v.account, s))
_action("unbookmark", "write:bookmarks", lambda c, v, s, p, x: interactions.unbookmark(c, v.account, s))
_action("pin", "write:accounts", lambda c, v, s, p, x: interactions.pin(c, v.account, s))
_action("unpin", "write:accounts", lambda c, v, s, p, x: interactions.unpin(c, v.account, s))
_action("reblog", "write:statuses",
        lambda c, v, s, p, x: posting.reblog(c, v.account, s, as_str(p.get("visibility"), "visibility") or None, v.app_id),
        show_reblog=True)
_action("unreblog", "write:statuses", lambda c, v, s, p, x: posting.unreblog(c, v.account, s, x.feeds))


async def _who(request: Request, status_id: str, reblogs: bool) -> Response:
    viewer = await get_viewer(request, "read:statuses", required=False)
    viewer_id = viewer.account.id if viewer.account else None
    sid = path_id(status_id)
    p = await read_params(request)
    page = page_from(p, 40, 80)
    async with ctx_of(request).db.read() as conn:
        if await status_store.get_visible(conn, sid, viewer_id) is None:
            raise not_found()
        rows = await (reading.reblogged_by(conn, sid, viewer_id, page) if reblogs else reading.favourited_by(conn, sid, page))
        return await linked_accounts_response(request, conn, rows, p)


@router.get("/api/v1/statuses/{status_id}/favourited_by")
async def favourited_by(request: Request, status_id: str) -> Response:
    """List who favourited a status."""
    return await _who(request, status_id, False)


@router.get("/api/v1/statuses/{status_id}/reblogged_by")
async def reblogged_by(request: Request, status_id: str) -> Response:
    """List who reblogged a status."""
    return await _who(request, status_id, True)
