"""Media: upload (v1 and v2), show, update and delete attachments, and serve the files of the disk store."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from townsquare.api.deps import ctx_of, get_viewer, json, path_id
from townsquare.api.params import as_str, read_params
from townsquare.api.serializers.media import media_attachment
from townsquare.core.errors import ApiError, not_found
from townsquare.media import uploads
from townsquare.media.store import DiskMediaStore, content_type_of
from townsquare.storage import media as media_rows

router = APIRouter()
# Files are written once under random names: caches may keep them forever; nothing in them may run as a page.
FILE_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; form-action 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
}


def _upload(p: dict, name: str) -> UploadFile | None:
    value = p.get(name)
    return value if isinstance(value, UploadFile) else None


def _render(request: Request, media, status: int = 200) -> Response:
    return json(media_attachment(media, ctx_of(request).settings.base_url), status=status)


async def _create(request: Request) -> tuple:
    viewer = await get_viewer(request, "write:media")
    p = await read_params(request)
    file = _upload(p, "file")
    if file is None:
        raise ApiError(422, "Validation failed: File can't be blank")
    thumbnail = _upload(p, "thumbnail")
    ctx = ctx_of(request)
    media = await uploads.upload_media(
        ctx.db, ctx.media, viewer.account.id, file.file, description=as_str(p.get("description"), "description"),
        focus=as_str(p.get("focus"), "focus"), thumbnail=thumbnail.file if thumbnail else None)
    if media.state == "processing":
        ctx.after_commit()
    return ctx, media


@router.post("/api/v2/media")
async def create_v2(request: Request) -> Response:
    """Upload a file: 200 with url for an image, 202 with url null while video/GIF/audio is processed."""
    _, media = await _create(request)
    return _render(request, media, 202 if media.state == "processing" else 200)


@router.post("/api/v1/media")
async def create_v1(request: Request) -> Response:
    """Upload a file and answer once it is processed (older clients expect the url at once)."""
    ctx, media = await _create(request)
    if media.state == "processing":
        media = await uploads.wait_processed(ctx.db, media.id) or media
    if media.state == "failed":
        raise ApiError(422, f"Error processing uploaded media: {media.error}")
    return _render(request, media, 202 if media.state == "processing" else 200)


@router.get("/api/v1/media/{media_id}")
async def show(request: Request, media_id: str) -> Response:
    """One of the viewer's unattached uploads: 206 while processing, 422 if processing failed."""
    viewer = await get_viewer(request, "write:media")
    async with ctx_of(request).db.read() as conn:
        media = await uploads.own_media(conn, viewer.account.id, path_id(media_id))
    if media.state == "failed":
        raise ApiError(422, f"Error processing uploaded media: {media.error}")
    return _render(request, media, 206 if media.state == "processing" else 200)


@router.put("/api/v1/media/{media_id}")
async def update(request: Request, media_id: str) -> Response:
    """Change the alt text, focal point or custom preview of an unattached upload."""
    viewer = await get_viewer(request, "write:media")
    p = await read_params(request)
    thumbnail = _upload(p, "thumbnail")
    ctx = ctx_of(request)
    media = await uploads.update_media(
        ctx.db, ctx.media, viewer.account.id, path_id(media_id), description=as_str(p.get("description"), "description"),
        focus=as_str(p.get("focus"), "focus"), thumbnail=thumbnail.file if thumbnail else None)
    return _render(request, media, 206 if media.state == "processing" else 200)


@router.delete("/api/v1/media/{media_id}")
async def destroy(request: Request, media_id: str) -> Response:
    """Delete an upload no status uses yet."""
    viewer = await get_viewer(request, "write:media")
    ctx = ctx_of(request)
    media = await uploads.delete_media(ctx.db, viewer.account.id, path_id(media_id))
    ctx.after_commit()
    return _render(request, media)


@router.get("/system/media/{key:path}")
async def serve_file(request: Request, key: str) -> Response:
    """Serve a stored media file of the disk backend (nginx can serve the same folder directly)."""
    store = ctx_of(request).media
    if not isinstance(store, DiskMediaStore):
        raise not_found()
    try:
        path = store.path(key)
    except FileNotFoundError:
        raise not_found() from None
    if not path.is_file() or key.endswith("upload.bin") or path.name.startswith("."):
        raise not_found()  # raw uploads wait for processing and are never served
    return FileResponse(path, media_type=content_type_of(key), headers=FILE_HEADERS)


async def media_for_ids(conn, ids: list[int]) -> dict:
    """The attachments with these ids, by id (for routes that check ownership themselves)."""
    return await media_rows.get_many(conn, ids)
