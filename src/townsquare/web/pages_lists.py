"""The viewer's lists (create, rename, delete; a list's timeline and members), bookmarks, favourites and follow
requests, through the same services and readers as /api/v1/lists, /bookmarks, /favourites and /follow_requests."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, path_id
from townsquare.core.errors import not_found, unprocessable
from townsquare.core.ids import parse_id
from townsquare.core.pagination import Page
from townsquare.services import lists as list_service
from townsquare.services import relations
from townsquare.storage import accounts as account_store
from townsquare.storage import graph, reading
from townsquare.storage import statuses as status_store
from townsquare.web.pages_actions import signed_in_form
from townsquare.web.pages_me import signed_in
from townsquare.web.pages_public import PAGE_SIZE, older_link, page_of
from townsquare.web.render import back, page
from townsquare.web.routing import web_router

router = web_router()
MEMBERS_PAGE = 40


def _list_id(raw: str) -> int:
    lid = path_id(raw)
    return lid


async def _marked(request: Request, kind: str, heading: str, intro: str, empty: str) -> Response:
    viewer = await signed_in(request)
    pg = page_of(request)
    async with ctx_of(request).db.read() as conn:
        pairs = await reading.marked_pairs(conn, viewer.id, kind, pg)
        items = await status_store.load_visible(conn, [status_id for _mark, status_id in pairs], viewer.id)
    return page(request, "timeline.html", heading=heading, intro=intro, items=items, empty=empty,
                more=older_link(request, pairs[-1][0] if pairs else None, len(pairs) >= pg.limit))


@router.get("/bookmarks")
async def bookmarks(request: Request) -> Response:
    """The posts the viewer bookmarked, the most recently bookmarked first."""
    return await _marked(request, "bookmarks", "Bookmarks", "Posts you bookmarked (only you see this list).",
                         "You have not bookmarked any post yet.")


@router.get("/favourites")
async def favourites(request: Request) -> Response:
    """The posts the viewer favourited, the most recently favourited first."""
    return await _marked(request, "favourites", "Favourites", "Posts you favourited.",
                         "You have not favourited any post yet.")


@router.get("/lists")
async def lists_page(request: Request) -> Response:
    """The viewer's lists, each with rename and delete, and the form to make a new one."""
    viewer = await signed_in(request)
    async with ctx_of(request).db.read() as conn:
        items = await list_service.all_of(conn, viewer.id)
    return page(request, "lists.html", lists=items, notice=request.query_params.get("notice"),
                policies=[("list", "Members of the list"), ("followed", "Anyone you follow"), ("none", "Nobody")])


@router.post("/lists")
async def create_list(request: Request) -> Response:
    """Make a list (as POST /api/v1/lists)."""
    viewer, form = await signed_in_form(request)
    async with ctx_of(request).db.write() as conn:
        info = await list_service.create(conn, viewer.id, str(form.get("title") or ""),
                                         str(form.get("replies_policy") or "") or None, form.get("exclusive") == "1")
    return back(request, f"/lists/{info.id}?notice=List+created.")


@router.post("/lists/{list_id}/rename")
async def rename_list(request: Request, list_id: str) -> Response:
    """Rename a list (as PUT /api/v1/lists/:id with a title)."""
    viewer, form = await signed_in_form(request)
    ctx = ctx_of(request)
    lid = _list_id(list_id)
    async with ctx.db.write() as conn:
        await list_service.change(conn, viewer.id, lid, str(form.get("title") or ""), None, None, ctx.feeds)
    return back(request, f"/lists/{lid}?notice=List+renamed.", form)


@router.post("/lists/{list_id}/delete")
async def delete_list(request: Request, list_id: str) -> Response:
    """Delete a list (its members stay followed)."""
    viewer, _ = await signed_in_form(request)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await list_service.remove(conn, viewer.id, _list_id(list_id), ctx.feeds)
    return back(request, "/lists?notice=List+deleted.")


@router.get("/lists/{list_id}")
async def list_page(request: Request, list_id: str) -> Response:
    """A list's timeline with its members (remove each, add someone followed); another's list is a 404."""
    viewer = await signed_in(request)
    ctx = ctx_of(request)
    lid = _list_id(list_id)
    pg = page_of(request)
    members_page = Page(max_id=parse_id(request.query_params.get("members_max_id") or ""), limit=MEMBERS_PAGE)
    async with ctx.db.read() as conn:
        info = await list_service.owned(conn, viewer.id, lid)
        ids = await list_service.timeline_ids(conn, ctx.feeds, viewer.id, lid, ctx.settings.hybrid_threshold,
                                              pg.max_id, None, None, PAGE_SIZE)
        items = await status_store.load_visible(conn, ids, viewer.id)
        rows = await graph.list_member_rows(conn, lid, members_page)
        people = await account_store.get_many(conn, [r.other for r in rows])
    members = [people[r.other] for r in rows if r.other in people]
    more_members = None
    if len(rows) >= MEMBERS_PAGE:
        more_members = f"/lists/{lid}?members_max_id={rows[-1].id}"
    return page(request, "list.html", info=info, items=items, members=members, more_members=more_members,
                notice=request.query_params.get("notice"),
                more=older_link(request, ids[-1] if ids else None, len(ids) >= pg.limit))


@router.post("/lists/{list_id}/accounts")
async def add_member(request: Request, list_id: str) -> Response:
    """Add someone the viewer follows to a list, by username (as POST /api/v1/lists/:id/accounts)."""
    viewer, form = await signed_in_form(request)
    ctx = ctx_of(request)
    lid = _list_id(list_id)
    name = str(form.get("username") or "").strip().lstrip("@").split("@")[0]
    async with ctx.db.write() as conn:
        await list_service.owned(conn, viewer.id, lid)
        account = await account_store.by_username(conn, name) if name else None
        if account is None or not account.is_public:
            raise unprocessable(f"There is nobody called @{name} here." if name else "Give the username to add.")
        await list_service.add_accounts(conn, viewer.id, lid, [account.id], ctx.feeds)
    return back(request, f"/lists/{lid}?notice=Added+%40{account.username}.")


@router.post("/lists/{list_id}/accounts/{account_id}/remove")
async def remove_member(request: Request, list_id: str, account_id: str) -> Response:
    """Take an account out of a list (as DELETE /api/v1/lists/:id/accounts)."""
    viewer, _ = await signed_in_form(request)
    ctx = ctx_of(request)
    lid, aid = _list_id(list_id), parse_id(account_id)
    if aid is None:
        raise not_found()
    async with ctx.db.write() as conn:
        await list_service.remove_accounts(conn, viewer.id, lid, [aid], ctx.feeds)
    return back(request, f"/lists/{lid}?notice=Removed+from+the+list.")


@router.get("/follow_requests")
async def follow_requests(request: Request) -> Response:
    """Accounts asking to follow the viewer, each with Authorize and Reject."""
    viewer = await signed_in(request)
    pg = Page(max_id=parse_id(request.query_params.get("max_id") or ""), limit=MEMBERS_PAGE)
    async with ctx_of(request).db.read() as conn:
        rows = await graph.link_rows(conn, "follow_requests", viewer.id, pg, incoming=True)
        people = await account_store.get_many(conn, [r.other for r in rows])
    return page(request, "follow_requests.html", people=[people[r.other] for r in rows if r.other in people],
                notice=request.query_params.get("notice"),
                more=older_link(request, rows[-1].id if rows else None, len(rows) >= pg.limit))


@router.post("/follow_requests/{account_id}/{verb}")
async def answer_request(request: Request, account_id: str, verb: str) -> Response:
    """Authorize or reject a follow request (as POST /api/v1/follow_requests/:id/authorize|reject)."""
    viewer, form = await signed_in_form(request)
    aid = parse_id(account_id)
    if aid is None or verb not in ("authorize", "reject"):
        raise not_found()
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await relations.answer_request(conn, viewer.account, aid, verb == "authorize", ctx.feeds)
    ctx.after_commit()
    done = "Request+authorized." if verb == "authorize" else "Request+rejected."
    return back(request, f"/follow_requests?notice={done}")
