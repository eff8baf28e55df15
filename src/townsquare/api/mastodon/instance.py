"""Discovery: instance (v1, v2), nodeinfo, webfinger, preferences and default images."""

from __future__ import annotations

import base64

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare import MASTODON_COMPAT_VERSION, __version__
from townsquare.api.deps import ctx_of, get_viewer, json
from townsquare.api.params import as_str, read_params
from townsquare.api.serializers.accounts import account as render_account
from townsquare.core.errors import ApiError, not_found
from townsquare.domain import media
from townsquare.domain.models import Account
from townsquare.services import polls as poll_limits
from townsquare.storage import accounts as account_store

router = APIRouter()
VERSION = f"{MASTODON_COMPAT_VERSION} (compatible; Townsquare {__version__})"
# A 1x1 grey PNG: the default avatar and header, so clients never get a null image URL.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGOor68HAAL+AX6E2KOJAAAAAElFTkSuQmCC"
)


def media_limits() -> dict:
    """configuration.media_attachments: the limits and MIME types uploads are checked against."""
    return {"supported_mime_types": [*media.IMAGE_TYPES, *media.VIDEO_TYPES, *media.AUDIO_TYPES],
            "image_size_limit": media.IMAGE_SIZE_LIMIT, "image_matrix_limit": media.IMAGE_MATRIX_LIMIT,
            "video_size_limit": media.VIDEO_SIZE_LIMIT, "video_frame_rate_limit": media.VIDEO_FRAME_RATE_LIMIT,
            "video_matrix_limit": media.VIDEO_MATRIX_LIMIT, "description_limit": media.DESCRIPTION_LIMIT}


def _limits(settings) -> dict:
    return {
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {"max_characters": settings.max_status_chars, "max_media_attachments": media.MAX_ATTACHMENTS,
                     "characters_reserved_per_url": 23},
        "media_attachments": media_limits(),
        "polls": {"max_options": poll_limits.MAX_OPTIONS, "max_characters_per_option": poll_limits.MAX_OPTION_CHARS,
                  "min_expiration": poll_limits.MIN_EXPIRATION, "max_expiration": poll_limits.MAX_EXPIRATION},
        "translation": {"enabled": False},
    }


async def _usage(request: Request) -> tuple[int, int, object]:
    async with ctx_of(request).db.read() as conn:
        return await account_store.instance_usage(conn)


@router.get("/api/v1/instance")
async def instance_v1(request: Request) -> Response:
    """Describe this server (v1 shape)."""
    s = ctx_of(request).settings
    users, posts, admin = await _usage(request)
    return json({
        "uri": s.effective_domain,
        "title": s.title,
        "short_description": s.description,
        "description": s.description,
        "email": s.contact_email,
        "version": VERSION,
        "urls": {"streaming_api": f"{'wss' if s.scheme == 'https' else 'ws'}://{s.effective_domain}"},
        "stats": {"user_count": users, "status_count": posts, "domain_count": 1},
        "thumbnail": f"{s.base_url}/static/header.png",
        "languages": ["en"],
        "registrations": s.registrations != "closed",
        "approval_required": s.registrations == "approval",
        "invites_enabled": False,
        "configuration": _limits(s),
        "contact_account": render_account(Account.from_row(admin), s.base_url) if admin else None,
        "rules": [],
    })


@router.get("/api/v2/instance")
async def instance_v2(request: Request) -> Response:
    """Describe this server (v2 shape, with api_versions)."""
    s = ctx_of(request).settings
    users, _, admin = await _usage(request)
    config = _limits(s)
    config["urls"] = {"streaming": f"{'wss' if s.scheme == 'https' else 'ws'}://{s.effective_domain}", "status": None}
    config["vapid"] = {"public_key": s.vapid_public_key}
    config["accounts"]["max_display_name_length"] = 30
    config["accounts"]["max_note_length"] = 500
    return json({
        "domain": s.effective_domain,
        "title": s.title,
        "version": VERSION,
        "source_url": "https://github.com/townsquare/townsquare",
        "description": s.description,
        "usage": {"users": {"active_month": users}},
        "thumbnail": {"url": f"{s.base_url}/static/header.png", "blurhash": None, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": config,
        "registrations": {"enabled": s.registrations != "closed", "approval_required": s.registrations == "approval",
                          "message": None, "url": None, "reason_required": s.registrations == "approval",
                          "min_age": None},
        "api_versions": {"mastodon": 6},
        "contact": {"email": s.contact_email,
                    "account": render_account(Account.from_row(admin), s.base_url) if admin else None},
        "rules": [],
    })


@router.get("/api/v1/instance/peers")
async def peers(request: Request) -> Response:
    """Servers this one knows (none: no federation yet)."""
    return json([])


@router.get("/api/v1/instance/activity")
async def activity(request: Request) -> Response:
    """Weekly activity (not tracked yet)."""
    return json([])


@router.get("/api/v1/instance/rules")
async def rules(request: Request) -> Response:
    """Server rules."""
    return json([])


@router.get("/.well-known/nodeinfo")
async def nodeinfo_links(request: Request) -> Response:
    """Point to the nodeinfo document."""
    base = ctx_of(request).settings.base_url
    return json({"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{base}/nodeinfo/2.0"}]})


@router.get("/nodeinfo/2.0")
async def nodeinfo(request: Request) -> Response:
    """Nodeinfo 2.0, naming the software and the Mastodon API it speaks."""
    s = ctx_of(request).settings
    users, posts, _ = await _usage(request)
    return json({
        "version": "2.0",
        "software": {"name": "townsquare", "version": __version__},
        "protocols": [],
        "services": {"outbound": [], "inbound": []},
        "usage": {"users": {"total": users, "activeMonth": users, "activeHalfyear": users}, "localPosts": posts},
        "openRegistrations": s.registrations == "open",
        "metadata": {"nodeName": s.title, "upstream": {"name": "mastodon", "version": MASTODON_COMPAT_VERSION}},
    })


@router.get("/.well-known/webfinger")
async def webfinger(request: Request) -> Response:
    """Resolve acct:user@domain to the account's profile."""
    s = ctx_of(request).settings
    p = await read_params(request)
    resource = as_str(p.get("resource"), "resource", 500) or ""
    if not resource:
        raise ApiError(400, "resource is missing")
    name = resource.removeprefix("acct:")
    if name.startswith(("http://", "https://")):
        name = name.rstrip("/").rsplit("/", 1)[-1].lstrip("@")
    parts = name.lstrip("@").split("@")
    if len(parts) > 1 and parts[1].lower() != s.effective_domain.lower():
        raise not_found()
    async with ctx_of(request).db.read() as conn:
        account = await account_store.by_username(conn, parts[0])
    if account is None or not account.is_public:
        raise not_found()
    return Response(
        content=json({
            "subject": f"acct:{account.username}@{s.effective_domain}",
            "aliases": [f"{s.base_url}/@{account.username}", f"{s.base_url}/users/{account.username}"],
            "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"{s.base_url}/@{account.username}"},
                {"rel": "self", "type": "application/activity+json", "href": f"{s.base_url}/users/{account.username}"},
            ],
        }).body,
        media_type="application/jrd+json; charset=utf-8",
    )


@router.get("/api/v1/preferences")
async def preferences(request: Request) -> Response:
    """The viewer's posting and reading preferences."""
    viewer = await get_viewer(request, "read:accounts")
    a = viewer.account
    return json({
        "posting:default:visibility": a.default_visibility,
        "posting:default:sensitive": bool(a.default_sensitive),
        "posting:default:language": a.default_language,
        "posting:default:quote_policy": "public",
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    })


@router.get("/static/avatar.png")
@router.get("/static/header.png")
async def default_image(request: Request) -> Response:
    """The default avatar and header image."""
    return Response(PIXEL, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
