"""The viewer's settings, one page each: profile, preferences, filters, apps and sessions, blocks and mutes,
warnings and appeals, password; and the warning and appeal page a suspended account sees instead of any page.

Every change goes through the same service as its API twin (update_credentials, the filters service, the
relations service, the appeal), so bad input is refused there and nothing is written.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, path_id
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.core.ids import parse_id
from townsquare.domain.filters import ACTIONS, CONTEXTS
from townsquare.domain.media import DESCRIPTION_LIMIT
from townsquare.media import profile_images
from townsquare.moderation import appeals
from townsquare.services import accounts as account_service
from townsquare.services import filters as filter_service
from townsquare.services import relations, sessions
from townsquare.storage import accounts as account_store
from townsquare.storage import filters as filter_store
from townsquare.storage import graph
from townsquare.web.pages_actions import signed_in_form
from townsquare.web.pages_me import signed_in
from townsquare.web.pages_public import older_link, page_of
from townsquare.web.render import back, page
from townsquare.web.routing import web_router
from townsquare.web.session import check_csrf, clear_session_cookie, viewer_of

router = web_router()
SECTIONS = [("/settings", "Profile"), ("/settings/preferences", "Preferences"), ("/settings/filters", "Filters"),
            ("/settings/sessions", "Apps and sessions"), ("/settings/blocks", "Blocked accounts"),
            ("/settings/mutes", "Muted accounts"), ("/settings/warnings", "Warnings and appeals"),
            ("/settings/password", "Password")]
VISIBILITY_CHOICES = [("public", "Public"), ("unlisted", "Unlisted"), ("private", "Followers only")]
# The languages offered as a posting default (ISO 639-1), by their own names.
LANGUAGES = [("", "No default (detect)"), ("ar", "العربية"), ("ca", "Català"), ("cs", "Čeština"), ("da", "Dansk"),
             ("de", "Deutsch"), ("el", "Ελληνικά"), ("en", "English"), ("eo", "Esperanto"), ("es", "Español"),
             ("eu", "Euskara"), ("fa", "فارسی"), ("fi", "Suomi"), ("fr", "Français"), ("ga", "Gaeilge"),
             ("gl", "Galego"), ("he", "עברית"), ("hi", "हिन्दी"), ("hu", "Magyar"), ("id", "Bahasa Indonesia"),
             ("it", "Italiano"), ("ja", "日本語"), ("ko", "한국어"), ("nl", "Nederlands"), ("no", "Norsk"),
             ("pl", "Polski"), ("pt", "Português"), ("ro", "Română"), ("ru", "Русский"), ("sv", "Svenska"),
             ("th", "ไทย"), ("tr", "Türkçe"), ("uk", "Українська"), ("vi", "Tiếng Việt"), ("zh", "中文")]
CONTEXT_NAMES = {"home": "Home and lists", "notifications": "Notifications", "public": "Public timelines",
                 "thread": "Conversations", "account": "Profiles"}
ACTION_NAMES = {"warn": "Hide behind a warning", "hide": "Hide completely", "blur": "Blur media only"}
EXPIRY_CHOICES = [("", "Never"), ("1800", "30 minutes"), ("3600", "1 hour"), ("21600", "6 hours"),
                  ("43200", "12 hours"), ("86400", "1 day"), ("604800", "1 week")]
KEEP = "keep"
NEW_KEYWORD_ROWS = 3
LINKS_PAGE = 40


def _settings_page(request: Request, template: str, **context) -> Response:
    return page(request, f"settings/{template}", sections=SECTIONS, notice=request.query_params.get("notice"),
                **context)


@router.get("/settings")
async def settings(request: Request) -> Response:
    """The profile: avatar and header with their alt text, display name, bio, fields, who may follow, discoverability."""
    viewer = await signed_in(request)
    base = ctx_of(request).settings.base_url
    return _settings_page(request, "profile.html", description_limit=DESCRIPTION_LIMIT,
                          images={k: profile_images.file_url(getattr(viewer.account, f"{k}_file"), base)
                                  for k in profile_images.KINDS})


@router.post("/settings/profile")
async def save_profile(request: Request) -> Response:
    """Save avatar, header, display name, bio, fields, locked and discoverable (as update_credentials does)."""
    viewer, form = await signed_in_form(request)
    fields = [{"name": str(form.get(f"field_name_{i}") or ""), "value": str(form.get(f"field_value_{i}") or "")}
              for i in range(account_service.MAX_FIELDS)]
    changes = {"display_name": str(form.get("display_name") or ""), "note": str(form.get("note") or ""),
               "locked": form.get("locked") == "1", "discoverable": form.get("discoverable") == "1",
               "fields": fields}
    if form.get("privacy"):  # older forms sent the default visibility with the profile
        changes["privacy"] = str(form["privacy"])
    images = {}
    for kind in profile_images.KINDS:
        upload = form.get(kind)
        images[kind] = {"file": upload.file if isinstance(upload, UploadFile) and upload.filename else None,
                        "description": str(form.get(f"{kind}_description") or ""),
                        "remove": form.get(f"remove_{kind}") == "1"}
    ctx = ctx_of(request)
    await account_service.update_profile(ctx.db, ctx.media, viewer.account, changes, images)
    ctx.after_commit()  # the job deleting replaced images
    return back(request, "/settings?notice=Profile+saved.")


@router.get("/settings/preferences")
async def preferences(request: Request) -> Response:
    """Posting defaults: visibility, language, sensitive media."""
    await signed_in(request)
    return _settings_page(request, "preferences.html", visibilities=VISIBILITY_CHOICES, languages=LANGUAGES)


@router.post("/settings/preferences")
async def save_preferences(request: Request) -> Response:
    """Save the posting defaults (update_credentials' source[privacy], source[language], source[sensitive])."""
    viewer, form = await signed_in_form(request)
    language = str(form.get("language") or "")
    if language not in dict(LANGUAGES):
        raise unprocessable("Language is not one of the languages offered")
    changes = {"privacy": str(form.get("privacy") or ""), "language": language,
               "sensitive": form.get("sensitive") == "1"}
    async with ctx_of(request).db.write() as conn:
        await account_service.update_credentials(conn, viewer.account, changes)
    return back(request, "/settings/preferences?notice=Preferences+saved.")


@router.get("/settings/password")
async def password(request: Request) -> Response:
    """The password change form."""
    await signed_in(request)
    return _settings_page(request, "password.html")


@router.post("/settings/password")
async def change_password(request: Request) -> Response:
    """Change the password; every other session and app token is revoked."""
    viewer, form = await signed_in_form(request)
    async with ctx_of(request).db.write() as conn:
        await sessions.change_password(conn, viewer.account, str(form.get("current_password") or ""),
                                       str(form.get("new_password") or ""), viewer.token_id)
    return back(request, "/settings/password?notice=Password+changed.+Every+other+session+was+signed+out.")


# Filters


def _expires_in(raw: str, editing: bool):
    if editing and raw == KEEP:
        return filter_service.UNSET
    if raw not in dict(EXPIRY_CHOICES):
        raise unprocessable("Expiry is not one of the choices offered")
    return int(raw) if raw else None


def _filter_form(form, editing: bool, current=None) -> dict:
    """The filter fields of a posted form, and its keyword changes, for the filters service."""
    context = [c for c in CONTEXTS if form.get(f"context_{c}") == "1"]
    changes = []
    for k in (current.keywords if current is not None else []):
        if form.get(f"remove_{k.id}") == "1":
            changes.append(filter_service.KeywordChange(id=k.id, destroy=True))
        else:
            changes.append(filter_service.KeywordChange(id=k.id, keyword=str(form.get(f"keyword_{k.id}") or ""),
                                                        whole_word=form.get(f"whole_word_{k.id}") == "1"))
    for i in range(NEW_KEYWORD_ROWS):
        text = str(form.get(f"new_keyword_{i}") or "")
        if text.strip():
            changes.append(filter_service.KeywordChange(keyword=text, whole_word=form.get(f"new_whole_word_{i}") == "1"))
    return {"title": str(form.get("title") or ""), "context": context, "action": str(form.get("filter_action") or ""),
            "expires_in": _expires_in(str(form.get("expires_in") or ""), editing), "keywords": changes}


def _filter_choices() -> dict:
    return {"contexts": CONTEXT_NAMES, "actions": {a: ACTION_NAMES.get(a, a) for a in ACTIONS},
            "expiries": EXPIRY_CHOICES, "new_rows": range(NEW_KEYWORD_ROWS)}


@router.get("/settings/filters")
async def filters(request: Request) -> Response:
    """The viewer's filters with their keywords, contexts, action and expiry."""
    viewer = await signed_in(request)
    async with ctx_of(request).db.read() as conn:
        found = await filter_store.all_of(conn, viewer.id)
    return _settings_page(request, "filters.html", filters=found, contexts=CONTEXT_NAMES, actions=ACTION_NAMES)


@router.get("/settings/filters/new")
async def new_filter(request: Request) -> Response:
    """The form for a new filter."""
    await signed_in(request)
    return _settings_page(request, "filter_form.html", current=None, **_filter_choices())


@router.post("/settings/filters")
async def create_filter(request: Request) -> Response:
    """Create a filter with its keywords (the same use case as POST /api/v2/filters)."""
    viewer, form = await signed_in_form(request)
    values = _filter_form(form, False)
    async with ctx_of(request).db.write() as conn:
        await filter_service.create_filter(conn, viewer.id, values["title"], values["context"], values["action"],
                                           values["expires_in"], values["keywords"])
    return back(request, "/settings/filters?notice=Filter+created.")


async def _own_filter(conn, viewer_id: int, filter_id: str):
    fid = parse_id(filter_id)
    found = await filter_store.get(conn, viewer_id, fid) if fid is not None else None
    if found is None:
        raise not_found()
    return found


@router.get("/settings/filters/{filter_id}")
async def edit_filter(request: Request, filter_id: str) -> Response:
    """The form to change one of the viewer's filters."""
    viewer = await signed_in(request)
    async with ctx_of(request).db.read() as conn:
        current = await _own_filter(conn, viewer.id, filter_id)
    return _settings_page(request, "filter_form.html", current=current, **_filter_choices())


@router.post("/settings/filters/{filter_id}")
async def update_filter(request: Request, filter_id: str) -> Response:
    """Change a filter and its keywords (PUT /api/v2/filters/:id); all of it or, on bad input, nothing."""
    viewer, form = await signed_in_form(request)
    async with ctx_of(request).db.write() as conn:
        current = await _own_filter(conn, viewer.id, filter_id)
        values = _filter_form(form, True, current)
        await filter_service.update_filter(conn, viewer.id, current.id, title=values["title"], context=values["context"],
                                           action=values["action"], expires_in=values["expires_in"],
                                           keywords=values["keywords"])
    return back(request, "/settings/filters?notice=Filter+saved.")


@router.post("/settings/filters/{filter_id}/delete")
async def delete_filter(request: Request, filter_id: str) -> Response:
    """Delete a filter with its keywords."""
    viewer, form = await signed_in_form(request)
    async with ctx_of(request).db.write() as conn:
        current = await _own_filter(conn, viewer.id, filter_id)
        await filter_service.delete_filter(conn, viewer.id, current.id)
    return back(request, "/settings/filters?notice=Filter+deleted.")


# Apps and sessions


@router.get("/settings/sessions")
async def authorizations(request: Request) -> Response:
    """The apps the account authorised and its browser sessions, each revocable."""
    viewer = await signed_in(request)
    async with ctx_of(request).db.read() as conn:
        found = await sessions.authorizations(conn, viewer.id)
    apps: dict[int, dict] = {}
    for a in found:
        if not a.web and a.app_id is not None:
            entry = apps.setdefault(a.app_id, {"id": a.app_id, "name": a.app_name, "website": a.website, "scopes": set(),
                                               "created_at": a.created_at, "tokens": 0})
            entry["scopes"].update(a.scopes)
            entry["tokens"] += 1
            entry["created_at"] = min(entry["created_at"], a.created_at)
    return _settings_page(request, "sessions.html", apps=list(apps.values()), browsers=[a for a in found if a.web],
                          current=viewer.token_id)


@router.post("/settings/sessions/{token_id}/revoke")
async def revoke_session(request: Request, token_id: str) -> Response:
    """Sign one browser session out; revoking the current one signs this browser out."""
    viewer, form = await signed_in_form(request)
    tid = path_id(token_id)
    async with ctx_of(request).db.write() as conn:
        await sessions.revoke_own_token(conn, viewer.id, tid)
    if tid == viewer.token_id:
        response = back(request, "/auth/sign_in")
        clear_session_cookie(request, response)
        return response
    return back(request, "/settings/sessions?notice=Session+signed+out.")


@router.post("/settings/apps/{app_id}/revoke")
async def revoke_app(request: Request, app_id: str) -> Response:
    """Take back an app's access: every token the account gave it stops working."""
    viewer, form = await signed_in_form(request)
    aid = path_id(app_id)
    async with ctx_of(request).db.write() as conn:
        await sessions.revoke_app(conn, viewer.id, aid)
    return back(request, "/settings/sessions?notice=Access+revoked.")


# Blocks and mutes


async def _links(request: Request, kind: str, template: str) -> Response:
    viewer = await signed_in(request)
    pg = page_of(request)
    pg.limit = LINKS_PAGE
    async with ctx_of(request).db.read() as conn:
        rows = await graph.link_rows(conn, kind, viewer.id, pg)
        people = await account_store.get_many(conn, [r.other for r in rows])
    return _settings_page(request, template, accounts=[people[r.other] for r in rows if r.other in people],
                          more=older_link(request, rows[-1].id if rows else None, len(rows) >= pg.limit))


@router.get("/settings/blocks")
async def blocks(request: Request) -> Response:
    """The accounts the viewer blocks (GET /api/v1/blocks), each with an unblock button."""
    return await _links(request, "blocks", "blocks.html")


@router.get("/settings/mutes")
async def mutes(request: Request) -> Response:
    """The accounts the viewer mutes (GET /api/v1/mutes), each with an unmute button."""
    return await _links(request, "mutes", "mutes.html")


@router.post("/settings/{kind}/{account_id}/undo")
async def undo_link(request: Request, kind: str, account_id: str) -> Response:
    """Unblock or unmute an account from its list."""
    viewer, form = await signed_in_form(request)
    aid = parse_id(account_id)
    if aid is None or kind not in ("blocks", "mutes"):
        raise not_found()
    async with ctx_of(request).db.write() as conn:
        if kind == "blocks":
            await relations.unblock(conn, viewer.account, aid)
        else:
            await relations.unmute(conn, viewer.account, aid)
    done = "Unblocked" if kind == "blocks" else "Unmuted"
    return back(request, f"/settings/{kind}?notice={done}.")


# Warnings and appeals


@router.get("/settings/warnings")
async def warnings(request: Request) -> Response:
    """The moderators' decisions about the account, each with its appeal or the form to appeal it."""
    viewer = await signed_in(request)
    async with ctx_of(request).db.read() as conn:
        found = await appeals.warnings_for(conn, viewer.id)
    return _settings_page(request, "warnings.html", warnings=found)


async def account_status(request: Request) -> Response:
    """What a suspended or pending account sees instead of any page: its warnings and the appeal form."""
    viewer = await signed_in(request)
    async with ctx_of(request).db.read() as conn:
        found = await appeals.warnings_for(conn, viewer.id)
    return page(request, "account_status.html", warnings=found)


@router.get("/account_status")
async def account_status_page(request: Request) -> Response:
    """The account's moderation decisions and appeals."""
    return await account_status(request)


@router.post("/account_status/{warning_id}/appeal")
async def appeal(request: Request, warning_id: str) -> Response:
    """Appeal a decision, once (works while suspended)."""
    viewer = await viewer_of(request)
    form = dict(await request.form())
    check_csrf(request, form)
    if viewer.account is None:
        raise ApiError(401, "Sign in first.")
    wid = path_id(warning_id)
    async with ctx_of(request).db.write() as conn:
        await appeals.appeal(conn, viewer.account, wid, str(form.get("text") or "")[:appeals.MAX_APPEAL + 1])
    return back(request, "/account_status", form)
