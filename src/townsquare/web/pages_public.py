"""Reading pages: home or landing, public and tag timelines, profiles, a status with its thread, search, about."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from townsquare.api.deps import ctx_of, path_id
from townsquare.core.errors import not_found
from townsquare.core.html import plain_to_html, strip_tags
from townsquare.core.ids import parse_id
from townsquare.core.pagination import Page
from townsquare.moderation import audit
from townsquare.services import relations
from townsquare.services import search as search_service
from townsquare.services.timeline_pages import home_page, note_activity
from townsquare.storage import accounts as account_store
from townsquare.storage import reading
from townsquare.storage.account_statuses import AccountStatusFilter, account_status_page
from townsquare.storage import statuses as status_store
from townsquare.storage import threads
from townsquare.web.render import page, security_headers
from townsquare.web.routing import web_router
from townsquare.web.session import viewer_of

router = web_router()
PAGE_SIZE = 20


def page_of(request: Request) -> Page:
    """The window a page shows: the newest posts, or those older than ?max_id."""
    return Page(max_id=parse_id(request.query_params.get("max_id") or ""), limit=PAGE_SIZE)


def older_link(request: Request, cursor: int | None, full: bool, **params) -> str | None:
    """The link to the next (older) page when this one was full."""
    if cursor is None or not full:
        return None
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return f"{request.url.path}?{query + '&' if query else ''}max_id={cursor}"


@router.get("/")
async def home(request: Request) -> Response:
    """Signed in: the home timeline with the compose form. Signed out: the landing page with the local timeline."""
    viewer = await viewer_of(request)
    ctx = ctx_of(request)
    pg = page_of(request)
    if viewer.account is None:
        async with ctx.db.read() as conn:
            items = await status_store.load_visible(conn, await reading.public_ids(conn, None, pg), None)
        return page(request, "landing.html", items=items,
                    more=older_link(request, items[-1].id if items else None, len(items) >= pg.limit))
    await note_activity(ctx.db, viewer.account, ctx.settings.active_days)
    ctx.after_commit()
    posted = parse_id(request.query_params.get("posted") or "")
    async with ctx.db.read() as conn:
        items, edges = await home_page(conn, ctx.feeds, viewer.id, ctx.settings.hybrid_threshold, pg)
        if posted is not None and pg.max_id is None and all(s.id != posted for s in items):
            mine = await status_store.get_visible(conn, posted, viewer.id)
            if mine is not None and mine.account_id == viewer.id:
                items.insert(0, mine)
    return page(request, "home.html", items=items, stream="home",
                notice="Your post was published." if posted is not None else None,
                more=older_link(request, edges[-1] if edges else None, len(items) >= pg.limit))


async def _public(request: Request, heading: str, intro: str, tag: str | None = None) -> Response:
    viewer = await viewer_of(request)
    pg = page_of(request)
    async with ctx_of(request).db.read() as conn:
        items = await status_store.load_visible(conn, await reading.public_ids(conn, viewer.id, pg, tag), viewer.id)
    return page(request, "timeline.html", heading=heading, intro=intro, items=items, empty="No posts yet.",
                og_title=f"{heading} · {ctx_of(request).settings.title}", og_description=intro,
                more=older_link(request, items[-1].id if items else None, len(items) >= pg.limit))


@router.get("/public")
async def public(request: Request) -> Response:
    """The federated timeline (every post is local until federation exists)."""
    return await _public(request, "Public timeline", "Public posts from everyone on this server.")


@router.get("/public/local")
async def public_local(request: Request) -> Response:
    """The local timeline: public posts of this server's accounts."""
    return await _public(request, "Local timeline", "Public posts from people on this server.")


@router.get("/tags/{name}")
async def tag(request: Request, name: str) -> Response:
    """Public posts with a hashtag."""
    clean = name.lstrip("#").strip()
    if not clean or len(clean) > 200:
        raise not_found()
    return await _public(request, f"#{clean}", f"Public posts tagged #{clean}.", clean)


async def public_account(conn, username: str):
    """The account behind /@username, or 404 when unknown, suspended or not approved."""
    account = await account_store.by_username(conn, username)
    if account is None or not account.is_public:
        raise not_found()
    return account


async def _profile(request: Request, username: str, with_replies: bool) -> Response:
    viewer = await viewer_of(request)
    pg = page_of(request)
    async with ctx_of(request).db.read() as conn:
        account = await public_account(conn, username)
        ids, _ = await account_status_page(conn, account.id, viewer.id, pg, AccountStatusFilter(exclude_replies=not with_replies))
        items = await status_store.load_visible(conn, ids, viewer.id)
        rel = (await relations.relationships(conn, viewer.id, [account.id]))[0] if viewer.account else None
    bio = strip_tags(plain_to_html(account.note))
    return page(request, "profile.html", account=account, items=items, rel=rel, with_replies=with_replies,
                note_html=plain_to_html(account.note), og_title=f"{account.display_name or account.username} (@{account.username})",
                og_description=bio[:200] or f"Posts by @{account.username}",
                more=older_link(request, ids[-1] if ids else None, len(ids) >= pg.limit))


@router.get("/@{username}")
async def profile(request: Request, username: str) -> Response:
    """A profile with its posts (replies to others left out)."""
    return await _profile(request, username, False)


@router.get("/@{username}/with_replies")
async def profile_with_replies(request: Request, username: str) -> Response:
    """A profile with its posts and replies."""
    return await _profile(request, username, True)


@router.get("/@{username}/{status_id}")
async def status_page(request: Request, username: str, status_id: str) -> Response:
    """One status with its thread and a reply box; a status the viewer may not see is a 404, as in the API."""
    viewer = await viewer_of(request)
    sid = path_id(status_id)
    async with ctx_of(request).db.read() as conn:
        # The tree in one query, then the status and its thread hydrated together (one set of queries, not three).
        before, after = await threads.thread_ids(conn, sid)
        loaded = await status_store.load_visible(conn, [*before, sid, *after], viewer.id)
    status = next((s for s in loaded if s.id == sid), None)
    if status is None:
        raise not_found()
    if status.reblog is not None:
        return security_headers(RedirectResponse(f"/@{status.reblog.account.username}/{status.reblog.id}", status_code=301))
    if status.account.username_lower != username.lower():
        raise not_found()
    above = set(before)
    ancestors = [s for s in loaded if s.id in above]
    descendants = [s for s in loaded if s.id != sid and s.id not in above]
    handles = [status.account.username] + [m.username for m in status.mentions]
    mine = viewer.account.username.lower() if viewer.account else ""
    mention = " ".join(f"@{h}" for h in dict.fromkeys(handles) if h.lower() != mine)
    summary = f"Content warning: {status.spoiler_text}" if status.spoiler_text else " ".join(strip_tags(status.content).split())
    return page(request, "status.html", post=status, ancestors=ancestors, descendants=descendants,
                mention=f"{mention} " if mention else "", og_description=summary[:300])


@router.get("/search")
async def search(request: Request) -> Response:
    """Search people and hashtags (and, signed in, posts): the same search service as /api/v2/search."""
    viewer = await viewer_of(request)
    q = (request.query_params.get("q") or "").strip()[:500]
    found = search_service.Found()
    if q:
        async with ctx_of(request).db.read() as conn:
            found = await search_service.search(conn, viewer.id, q, base_url=ctx_of(request).settings.base_url)
    return page(request, "search.html", q=q, accounts=found.accounts, hashtags=[t.name for t in found.hashtags],
                statuses=found.statuses)


@router.get("/about")
async def about(request: Request) -> Response:
    """The server: description, contact, counts, the public moderation log and the keyboard shortcuts."""
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        users, posts = await reading.usage_counts(conn)
        log = await audit.recent(conn, 20)
    return page(request, "about.html", users=users, posts=posts, log=log,
                show_targets=ctx.settings.moderation_log_show_targets)
