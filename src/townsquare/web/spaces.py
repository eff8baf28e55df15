"""The public page of a Space: title, hosts, and an audio player on its live playlist or recording."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from townsquare.api.deps import ctx_of
from townsquare.api.mastodon.spaces import hls_url, recording_url
from townsquare.core.ids import parse_id
from townsquare.storage import accounts as account_store
from townsquare.storage import spaces as store

router = APIRouter()
templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))


@router.get("/spaces/{space_id}")
async def space_page(request: Request, space_id: str) -> Response:
    """Render the page of a room with a player pointed at its live playlist (or its recording)."""
    ctx = ctx_of(request)
    sid = parse_id(space_id)
    async with ctx.db.read() as conn:
        s = await store.load(conn, sid) if sid is not None else None
        host = await account_store.get(conn, s.account_id) if s is not None else None
    if s is None or host is None:
        return HTMLResponse("<!doctype html><title>Not found</title><p>This space does not exist.</p>", status_code=404)
    html = templates.get_template("space.html").render(
        space=s, host=host, title=ctx.settings.title, source=hls_url(ctx, s) or recording_url(ctx, s),
        listeners=await ctx.spaces.listener_count(s.id) if s.state == "live" else None,
    )
    return HTMLResponse(html)
