"""Markers, private notes on accounts, hashtags (show, follow, unfollow, followed list)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import paged
from townsquare.api.params import as_list, as_str, read_params
from townsquare.api.serializers.accounts import relationship
from townsquare.core.clock import iso
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id, render_id
from townsquare.core.pagination import page_from
from townsquare.api.serializers.cards import tag as render_tag
from townsquare.services import personal, relations, trends
from townsquare.storage import graph

router = APIRouter()


@router.get("/api/v1/markers")
async def get_markers(request: Request) -> Response:
    """Return the viewer's read positions for home and notifications."""
    viewer = await get_viewer(request, "read:statuses")
    p = await read_params(request)
    wanted = [str(t) for t in as_list(p.get("timeline"))]
    async with ctx_of(request).db.read() as conn:
        rows = await personal.get_markers(conn, viewer.account.id, wanted)
    return json({r.timeline: {"last_read_id": render_id(r.last_read_id), "version": r.version, "updated_at": iso(r.updated_at)} for r in rows})


@router.post("/api/v1/markers")
async def set_markers(request: Request) -> Response:
    """Save read positions given as home[last_read_id] and notifications[last_read_id]."""
    viewer = await get_viewer(request, "write:statuses")
    p = await read_params(request)
    updates = {}
    for timeline in personal.TIMELINES:
        entry = p.get(timeline)
        if isinstance(entry, dict) and entry.get("last_read_id") not in (None, ""):
            last = parse_id(entry["last_read_id"])
            if last is None:
                raise ApiError(422, f"Validation failed: {timeline}[last_read_id] is not a valid id")
            updates[timeline] = last
    if not updates:
        raise ApiError(422, "Validation failed: give home[last_read_id] or notifications[last_read_id]")
    async with ctx_of(request).db.write() as conn:
        for timeline, last in updates.items():
            await personal.set_marker(conn, viewer.account.id, timeline, last)
        rows = await personal.get_markers(conn, viewer.account.id, list(updates))
    return json({r.timeline: {"last_read_id": render_id(r.last_read_id), "version": r.version, "updated_at": iso(r.updated_at)} for r in rows})


@router.post("/api/v1/accounts/{account_id}/note")
async def set_account_note(request: Request, account_id: str) -> Response:
    """Set the viewer's private note on an account."""
    viewer = await get_viewer(request, "write:accounts")
    target = path_id(account_id)
    p = await read_params(request)
    async with ctx_of(request).db.write() as conn:
        await relations.target_account(conn, target)
        await personal.set_note(conn, viewer.account.id, target, as_str(p.get("comment"), "comment") or "")
        rel = (await relations.relationships(conn, viewer.account.id, [target]))[0]
        rel.note = (await personal.notes_for(conn, viewer.account.id, [target])).get(target, "")
    return json(relationship(rel))


async def tag_entities(conn, rows, base_url: str, following) -> list[dict]:
    """Render Tag entities with their 7-day history (following: a bool for all, a set of followed ids, or None)."""
    days = await trends.tag_history(conn, [r.id for r in rows])
    flag = (lambda r: r.id in following) if isinstance(following, set) else (lambda r: following)
    return [render_tag(r.id, r.name, base_url, days[r.id], flag(r)) for r in rows]


@router.get("/api/v1/tags/{name}")
async def get_tag(request: Request, name: str) -> Response:
    """Show a hashtag and whether the viewer follows it."""
    viewer = await get_viewer(request, "read", required=False)
    async with ctx_of(request).db.read() as conn:
        tag = await personal.tag_by_name(conn, name)
        if tag is None:
            raise not_found()
        following = None
        if viewer.account is not None:
            following = tag.id in await personal.followed_tag_ids(conn, viewer.account.id, [tag.id])
        entity = (await tag_entities(conn, [tag], ctx_of(request).settings.base_url, following))[0]
    return json(entity)


async def _follow(request: Request, name: str, follow: bool) -> Response:
    viewer = await get_viewer(request, "write:follows")
    async with ctx_of(request).db.write() as conn:
        tag = await personal.follow_tag(conn, viewer.account.id, name, follow)
        entity = (await tag_entities(conn, [tag], ctx_of(request).settings.base_url, follow))[0]
    return json(entity)


@router.post("/api/v1/tags/{name}/follow")
async def follow_tag(request: Request, name: str) -> Response:
    """Follow a hashtag: its public statuses then reach the viewer's home timeline."""
    return await _follow(request, name, True)


@router.post("/api/v1/tags/{name}/unfollow")
async def unfollow_tag(request: Request, name: str) -> Response:
    """Stop following a hashtag."""
    return await _follow(request, name, False)


@router.get("/api/v1/followed_tags")
async def followed_tags(request: Request) -> Response:
    """List the hashtags the viewer follows."""
    viewer = await get_viewer(request, "read:follows")
    p = await read_params(request)
    page = page_from(p, 100, 200)
    async with ctx_of(request).db.read() as conn:
        rows = await graph.followed_tag_rows(conn, viewer.account.id, page)
        items = await tag_entities(conn, rows, ctx_of(request).settings.base_url, True)
    return paged(request, items, p, rows[0].cursor if rows else None, rows[-1].cursor if rows else None)
