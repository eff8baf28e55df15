"""Accounts: registration, credentials, profiles, their statuses and social graph, and relationships."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.mastodon.common import linked_accounts_response, statuses_response
from townsquare.api.params import as_bool, as_list, as_str, read_params
from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.accounts import credential_account, relationship
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import parse_id
from townsquare.core.pagination import page_from
from townsquare.media import profile_images
from townsquare.services import accounts as account_service
from townsquare.services import auth, relations
from townsquare.storage import accounts as account_store
from townsquare.storage.account_statuses import AccountStatusFilter, account_status_page
from townsquare.storage import graph

router = APIRouter()


@router.post("/api/v1/accounts")
async def register(request: Request) -> Response:
    """Create an account with an app token, honouring the registrations setting."""
    viewer = await get_viewer(request, "write:accounts", user=False)
    ctx = ctx_of(request)
    mode = ctx.settings.registrations
    if mode == "closed":
        raise ApiError(403, "Registrations are closed on this server")
    p = await read_params(request)
    if not as_bool(p.get("agreement"), True):
        raise ApiError(422, "Validation failed: Agreement must be accepted")
    reason = as_str(p.get("reason"), "reason", 1000)
    if mode == "approval" and not (reason or "").strip():
        raise ApiError(422, "Validation failed: Reason can't be blank")
    async with ctx.db.write() as conn:
        account = await account_service.create_account(
            conn, as_str(p.get("username"), "username", 30) or "", as_str(p.get("email"), "email", 320) or "",
            as_str(p.get("password"), "password", 1000) or "", approved=mode == "open", reason=reason,
            locale=as_str(p.get("locale"), "locale", 16))
        scopes = sorted(set(auth.parse_scopes(" ".join(s for s in ("read", "write", "follow")), "read")))
        secret, row = await auth.issue_token(conn, viewer.app_id, account.id, scopes)
    return json({"access_token": secret, "token_type": "Bearer", "scope": " ".join(scopes), "created_at": int(row["created_at"].timestamp())})


@router.get("/api/v1/accounts/verify_credentials")
async def verify_credentials(request: Request) -> Response:
    """Return the viewer's own account with its source."""
    viewer = await get_viewer(request, "read:accounts")
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        pending = await graph.pending_request_count(conn, viewer.account.id)
    return json(credential_account(viewer.account, ctx.settings.base_url, pending))


@router.patch("/api/v1/accounts/update_credentials")
async def update_credentials(request: Request) -> Response:
    """Change the viewer's profile and posting defaults."""
    viewer = await get_viewer(request, "write:accounts")
    p = await read_params(request)
    changes: dict = {}
    for name in ("display_name", "note"):
        if name in p:
            changes[name] = as_str(p[name], name)
    for name in ("locked", "bot", "discoverable"):
        if name in p:
            changes[name] = as_bool(p[name])
    if "fields_attributes" in p:
        changes["fields"] = as_list(p["fields_attributes"])
    source = p.get("source") if isinstance(p.get("source"), dict) else {}
    if "privacy" in source:
        changes["privacy"] = source["privacy"]
    if "sensitive" in source:
        changes["sensitive"] = as_bool(source["sensitive"])
    if "language" in source:
        changes["language"] = source["language"]
    images = {}
    for kind in profile_images.KINDS:
        upload = p.get(kind)
        description = as_str(p.get(f"{kind}_description"), f"{kind}_description")
        if isinstance(upload, UploadFile) or description is not None:
            images[kind] = {"file": upload.file if isinstance(upload, UploadFile) else None, "description": description}
    ctx = ctx_of(request)
    if images:
        account = await account_service.update_profile(ctx.db, ctx.media, viewer.account, changes, images)
        ctx.after_commit()  # the job deleting replaced files
    else:
        async with ctx.db.write() as conn:
            account = await account_service.update_credentials(conn, viewer.account, changes)
    return json(credential_account(account, ctx.settings.base_url))


@router.get("/api/v1/accounts/relationships")
async def get_relationships(request: Request) -> Response:
    """Return the viewer's relationships with the accounts given as id[]."""
    viewer = await get_viewer(request, "read:follows")
    p = await read_params(request)
    ids = [i for i in (parse_id(x) for x in as_list(p.get("id"))) if i is not None]
    async with ctx_of(request).db.read() as conn:
        rels = await relations.relationships(conn, viewer.account.id, ids)
    return json([relationship(r) for r in rels])


@router.get("/api/v1/accounts/lookup")
async def lookup(request: Request) -> Response:
    """Find an account by its handle."""
    p = await read_params(request)
    acct = as_str(p.get("acct"), "acct", 400)
    if not acct:
        raise ApiError(422, "Validation failed: acct is missing")
    ctx = ctx_of(request)
    parts = acct.lstrip("@").split("@")
    if len(parts) > 1 and parts[1].lower() != ctx.settings.effective_domain.lower():
        raise not_found()
    async with ctx.db.read() as conn:
        account = await account_store.by_username(conn, parts[0])
    if account is None or not account.is_public:
        raise not_found()
    return json(render_account(account, ctx.settings.base_url))


@router.get("/api/v1/accounts/search")
async def search_accounts(request: Request) -> Response:
    """Search accounts by name."""
    await get_viewer(request, "read:accounts")
    p = await read_params(request)
    page = page_from(p, 40, 80)
    async with ctx_of(request).db.read() as conn:
        found = await account_store.search(conn, as_str(p.get("q"), "q", 400) or "", page.limit, page.offset)
    base = ctx_of(request).settings.base_url
    return json([render_account(a, base) for a in found])


@router.get("/api/v1/accounts/familiar_followers")
async def familiar_followers(request: Request) -> Response:
    """Followers of each given account that the viewer also follows."""
    viewer = await get_viewer(request, "read:follows")
    p = await read_params(request)
    ids = [i for i in (parse_id(x) for x in as_list(p.get("id"))) if i is not None]
    out = []
    base = ctx_of(request).settings.base_url
    async with ctx_of(request).db.read() as conn:
        for target in ids:
            accounts = await account_store.get_many(conn, await graph.familiar_follower_ids(conn, viewer.account.id, target))
            out.append({"id": str(target), "accounts": [render_account(a, base) for a in accounts.values()]})
    return json(out)


async def _account_or_404(conn, account_id: int):
    account = await account_store.get(conn, account_id)
    if account is None or not account.is_public:
        raise not_found()
    return account


@router.get("/api/v1/accounts/{account_id}")
async def get_account(request: Request, account_id: str) -> Response:
    """Show an account."""
    await get_viewer(request, "read:accounts", required=False)
    async with ctx_of(request).db.read() as conn:
        account = await _account_or_404(conn, path_id(account_id))
    return json(render_account(account, ctx_of(request).settings.base_url))


@router.get("/api/v1/accounts/{account_id}/statuses")
async def account_statuses(request: Request, account_id: str) -> Response:
    """List an account's statuses the viewer may see, with Mastodon's filters."""
    viewer = await get_viewer(request, "read:statuses", required=False)
    viewer_id = viewer.account.id if viewer.account else None
    p = await read_params(request)
    page = page_from(p)
    async with ctx_of(request).db.read() as conn:
        account = await _account_or_404(conn, path_id(account_id))
        wanted = AccountStatusFilter(pinned=as_bool(p.get("pinned")), exclude_replies=as_bool(p.get("exclude_replies")),
                                     exclude_reblogs=as_bool(p.get("exclude_reblogs")), only_media=as_bool(p.get("only_media")),
                                     tagged=as_str(p.get("tagged"), "tagged", 200))
        ids, cursors = await account_status_page(conn, account.id, viewer_id, page, wanted)
        return await statuses_response(request, conn, ids, viewer_id, p, cursors, filter_context="account")


async def _graph(request: Request, account_id: str, followers: bool) -> Response:
    await get_viewer(request, "read:accounts", required=False)
    p = await read_params(request)
    page = page_from(p, 40, 80)
    async with ctx_of(request).db.read() as conn:
        account = await _account_or_404(conn, path_id(account_id))
        rows = await graph.link_rows(conn, "follows", account.id, page, incoming=followers)
        return await linked_accounts_response(request, conn, rows, p)


@router.get("/api/v1/accounts/{account_id}/followers")
async def followers_list(request: Request, account_id: str) -> Response:
    """List the accounts following an account."""
    return await _graph(request, account_id, True)


@router.get("/api/v1/accounts/{account_id}/following")
async def following_list(request: Request, account_id: str) -> Response:
    """List the accounts an account follows."""
    return await _graph(request, account_id, False)


async def _relation_action(request: Request, account_id: str, scope: str, action) -> Response:
    viewer = await get_viewer(request, scope)
    target = path_id(account_id)
    p = await read_params(request)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        await action(conn, viewer.account, target, p, ctx.feeds)
        rel = (await relations.relationships(conn, viewer.account.id, [target]))[0]
    ctx.after_commit()
    return json(relationship(rel))


def _opt_bool(p: dict, name: str) -> bool | None:
    return as_bool(p[name]) if name in p else None


@router.post("/api/v1/accounts/{account_id}/follow")
async def follow(request: Request, account_id: str) -> Response:
    """Follow an account (or request to)."""
    async def act(conn, viewer, target, p, feeds):
        langs = as_list(p.get("languages")) if "languages" in p else None
        await relations.follow(conn, viewer, target, feeds, reblogs=_opt_bool(p, "reblogs"), notify_=_opt_bool(p, "notify"), languages=langs)
    return await _relation_action(request, account_id, "write:follows", act)


@router.post("/api/v1/accounts/{account_id}/unfollow")
async def unfollow(request: Request, account_id: str) -> Response:
    """Unfollow an account."""
    return await _relation_action(request, account_id, "write:follows", lambda c, v, t, p, f: relations.unfollow(c, v, t, f))


@router.post("/api/v1/accounts/{account_id}/block")
async def block(request: Request, account_id: str) -> Response:
    """Block an account."""
    return await _relation_action(request, account_id, "write:blocks", lambda c, v, t, p, f: relations.block(c, v, t, f))


@router.post("/api/v1/accounts/{account_id}/unblock")
async def unblock(request: Request, account_id: str) -> Response:
    """Unblock an account."""
    return await _relation_action(request, account_id, "write:blocks", lambda c, v, t, p, f: relations.unblock(c, v, t))


@router.post("/api/v1/accounts/{account_id}/mute")
async def mute(request: Request, account_id: str) -> Response:
    """Mute an account."""
    async def act(conn, viewer, target, p, feeds):
        try:
            duration = int(p.get("duration") or 0)
        except (ValueError, TypeError):
            raise ApiError(422, "Validation failed: duration must be a number") from None
        if not 0 <= duration <= 2**31 - 1:  # seconds; a larger one overflows the expiry date
            raise ApiError(422, "Validation failed: duration must be between 0 and 2147483647 seconds")
        await relations.mute(conn, viewer, target, feeds, as_bool(p.get("notifications"), True), duration)
    return await _relation_action(request, account_id, "write:mutes", act)


@router.post("/api/v1/accounts/{account_id}/unmute")
async def unmute(request: Request, account_id: str) -> Response:
    """Unmute an account."""
    return await _relation_action(request, account_id, "write:mutes", lambda c, v, t, p, f: relations.unmute(c, v, t))
