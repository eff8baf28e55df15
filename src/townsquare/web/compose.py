"""Composing as a real multipart form: text, content warning, sensitive, visibility, language, up to four files
with alt text, or a poll; and voting in a poll. Both work with JavaScript off.

Files go through the same upload use case as POST /api/v2/media, then the post through the same post_status
as POST /api/v1/statuses. A refused post leaves nothing behind: uploads made for it are deleted again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import ctx_of, path_id
from townsquare.api.serializers.media import file_url
from townsquare.core.clock import aware, now
from townsquare.core.errors import ApiError, unprocessable
from townsquare.core.ids import parse_id
from townsquare.domain.media import MAX_ATTACHMENTS
from townsquare.media import uploads
from townsquare.media.attaching import parse_media_ids
from townsquare.services import polls as poll_service
from townsquare.services import posting
from townsquare.web.pages_actions import fragment
from townsquare.web.render import back, env, is_htmx, page
from townsquare.web.routing import web_router
from townsquare.web.session import check_csrf, viewer_of

router = web_router()
PROCESSING_WAIT = 30.0  # seconds a post waits for its video or sound to be processed before asking to send again
POLL_DURATIONS = [(300, "5 minutes"), (1800, "30 minutes"), (3600, "1 hour"), (21600, "6 hours"), (86400, "1 day"),
                  (259200, "3 days"), (604800, "7 days")]
LANGUAGES = [("en", "English"), ("ar", "العربية"), ("de", "Deutsch"), ("es", "Español"), ("fr", "Français"),
             ("hi", "हिन्दी"), ("it", "Italiano"), ("ja", "日本語"), ("ko", "한국어"), ("nl", "Nederlands"), ("pl", "Polski"),
             ("pt", "Português"), ("ru", "Русский"), ("sv", "Svenska"), ("tr", "Türkçe"), ("uk", "Українська"), ("zh", "中文")]


def _media_url(m, which: str = "file") -> str | None:
    key = m.file_key if which == "file" else (m.thumbnail_key or m.preview_key or m.file_key)
    return file_url(m, key, "")  # the disk store's files are this site's own /system/media/...


def _expired(at: datetime) -> bool:
    return aware(at) <= now()


def _host(url: str) -> str:
    return urlsplit(url or "").hostname or ""


env.filters.update(media_url=_media_url, expired=_expired, host=_host)
env.globals.update(poll_durations=POLL_DURATIONS, languages=LANGUAGES, max_attachments=MAX_ATTACHMENTS)


async def _signed_in_multi(request: Request) -> tuple:
    """The signed-in viewer and the checked form, keeping repeated fields (files, poll options)."""
    viewer = await viewer_of(request)
    try:
        form = await request.form(max_files=MAX_ATTACHMENTS + 4, max_fields=200)
    except HTTPException as exc:  # more files or fields than any of our forms has, or a broken body
        raise ApiError(400, f"This form could not be read ({exc.detail}). Nothing was posted.") from None
    check_csrf(request, form)
    if viewer.account is None:
        raise ApiError(401, "Sign in first.")
    return viewer, form


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _poll(form: FormData) -> poll_service.PollDraft | None:
    """The poll of the form (None when every option is empty); its rules are checked with the draft."""
    options = [o.strip() for o in form.getlist("poll_option") if isinstance(o, str)]
    if not any(options):
        return None
    try:
        expires_in = int(_text(form, "poll_expires_in") or 86400)
    except ValueError:
        raise unprocessable("Poll expiration must be a number of seconds") from None
    return poll_service.PollDraft(options=[o for o in options if o], expires_in=expires_in, multiple=_text(form, "poll_multiple") == "1")


def _files(form: FormData) -> list[tuple[UploadFile, str | None]]:
    """The chosen files with their alt texts, paired by position (an empty file input is skipped)."""
    descriptions = form.getlist("media_description")
    picked = []
    for i, item in enumerate(form.getlist("media")):
        if isinstance(item, UploadFile) and (item.filename or item.size):
            text = descriptions[i] if i < len(descriptions) and isinstance(descriptions[i], str) else ""
            picked.append((item, text.strip() or None))
    return picked


def _draft(form: FormData) -> posting.Draft:
    reply = _text(form, "in_reply_to_id")
    return posting.Draft(
        text=_text(form, "status"), spoiler_text=_text(form, "spoiler_text").strip(),
        visibility=_text(form, "visibility") or None, sensitive=_text(form, "sensitive") == "1" or None,
        language=_text(form, "language") or None, in_reply_to_id=(parse_id(reply) or -1) if reply else None,
        poll=_poll(form))


async def _discard(ctx, account_id: int, media_ids: list[int]) -> None:
    """Delete uploads made for a post that was refused (their files go by a job after the commit)."""
    for media_id in media_ids:
        try:
            await uploads.delete_media(ctx.db, account_id, media_id)
        except ApiError:
            pass  # already attached or gone: nothing of ours to undo
    if media_ids:
        ctx.after_commit()


async def _upload_all(ctx, account_id: int, files: list) -> list[int]:
    """Upload each file as POST /api/v2/media does; if one is refused, the ones before it are deleted."""
    made: list[int] = []
    try:
        for file, description in files:
            media = await uploads.upload_media(ctx.db, ctx.media, account_id, file.file, description=description)
            made.append(media.id)
            if media.state == "processing":
                ctx.after_commit()  # the processing job runs now, while the next file uploads
    except BaseException:
        await _discard(ctx, account_id, made)
        raise
    return made


async def _wait_ready(ctx, media_ids: list[int]) -> list:
    """Wait (a bounded time) for video and sound to be processed; return the attachments as they are then."""
    found = []
    for media_id in media_ids:
        found.append(await uploads.wait_processed(ctx.db, media_id, PROCESSING_WAIT))
    return found


@router.post("/statuses")
async def create_status(request: Request) -> Response:
    """Post a status or a reply with its files (alt text each) or poll, content warning, sensitivity and language."""
    viewer, form = await _signed_in_multi(request)
    ctx = ctx_of(request)
    s = ctx.settings
    me = viewer.account
    draft = _draft(form)
    files = _files(form)
    kept = parse_media_ids([v for v in form.getlist("media_id") if isinstance(v, str)])
    if len(files) + len(kept) > MAX_ATTACHMENTS:
        raise unprocessable(f"Cannot attach more than {MAX_ATTACHMENTS} files")
    # Everything about the post itself is checked before a single file is stored.
    posting.check_draft(replace(draft, media_ids=[0] * (len(files) + len(kept)) or None), s.max_status_chars)
    if kept:  # uploads kept from a post that waited: only the viewer's own, still unattached
        async with ctx.db.read() as conn:
            for media_id in kept:
                await uploads.own_media(conn, me.id, media_id)
    made = await _upload_all(ctx, me.id, files)
    media_ids = kept + made
    attachments = await _wait_ready(ctx, media_ids)
    if any(m is None or m.state == "failed" for m in attachments):
        await _discard(ctx, me.id, media_ids)
        failed = next((m for m in attachments if m is not None and m.state == "failed"), None)
        raise unprocessable(f"A file could not be processed{': ' + failed.error if failed and failed.error else ''}. Nothing was posted.")
    if any(m.state == "processing" for m in attachments):
        # Still processing after the wait: the uploads are kept and the form comes back filled in, to send again.
        return page(request, "compose.html", status=202, draft=draft, kept=attachments, next_url=_text(form, "next") or "/",
                    reply_to_id=_text(form, "in_reply_to_id"),
                    notice="Your file is still being processed. Nothing was posted yet: press Post again in a moment.")
    try:
        async with ctx.db.write() as conn:
            status_id = await posting.post_status(conn, me, replace(draft, media_ids=media_ids or None),
                                                  base_url=s.base_url, domain=s.effective_domain,
                                                  max_chars=s.max_status_chars, app_id=None,
                                                  fan_out=ctx.inline_fan_out)
    except BaseException:
        await _discard(ctx, me.id, made)
        raise
    ctx.after_commit()
    if (_text(form, "next") or "/") == "/":
        # Fan-out may run as a job: the home page shows the author's new post even before it reaches their feed.
        return back(request, f"/?posted={status_id}")
    return back(request, "/", {"next": _text(form, "next")})


@router.post("/polls/{poll_id}/votes")
async def vote(request: Request, poll_id: str) -> Response:
    """Vote in a poll (the same use case as POST /api/v1/polls/:id/votes); htmx gets the post back with the results."""
    viewer, form = await _signed_in_multi(request)
    pid = path_id(poll_id)
    raw = [c for c in form.getlist("choices") if isinstance(c, str)]
    if not raw:
        raise unprocessable("Choose an option before voting.")
    try:
        choices = [int(c) for c in raw]
    except ValueError:
        raise unprocessable("Choice is not a valid option of this poll") from None
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        status = await poll_service.visible_poll_status(conn, pid, viewer.id)
        await poll_service.vote(conn, viewer.account, status, choices, hybrid_threshold=ctx.settings.hybrid_threshold)
    ctx.after_commit()
    if is_htmx(request):
        return await fragment(request, parse_id(_text(form, "item")) or status.id, _text(form, "main") == "1")
    return back(request, "/", {"next": _text(form, "next")})
