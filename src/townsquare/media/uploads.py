"""Use cases of the media API: upload, wait for, update and delete an attachment."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import new_id
from townsquare.domain.media import (
    DESCRIPTION_LIMIT,
    IMAGE_SIZE_LIMIT,
    VIDEO_SIZE_LIMIT,
    MediaAttachment,
)
from townsquare.media.errors import MediaError
from townsquare.media.images import Animated, process_image, process_thumbnail
from townsquare.media.sniff import sniff
from townsquare.media.store import MediaStore, new_prefix
from townsquare.storage import media as media_rows
from townsquare.storage.job_rows import enqueue

PROCESS_JOB = "process_media"
DELETE_FILES_JOB = media_rows.DELETE_FILES_JOB
# Decoding a big image takes ~100 MB for a moment: at most this many at once per process keeps the peak bounded.
_image_slots = asyncio.Semaphore(2)


def check_description(value: str | None) -> str | None:
    """The alt text, refused when longer than Mastodon's limit."""
    if value is None:
        return None
    if len(value) > DESCRIPTION_LIMIT:
        raise ApiError(422, f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT} characters)")
    return value


def parse_focus(value: str | None) -> dict | None:
    """The focal point "x,y" (each -1..1) as meta's {x, y}, or None when absent."""
    if value in (None, ""):
        return None
    try:
        x, y = (float(part) for part in str(value).split(","))
    except ValueError:
        raise ApiError(422, "Validation failed: Focus must be two numbers \"x,y\" between -1.0 and 1.0") from None
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise ApiError(422, "Validation failed: Focus must be two numbers \"x,y\" between -1.0 and 1.0")
    return {"x": x, "y": y}


def _read_head(file: BinaryIO) -> bytes:
    file.seek(0)
    head = file.read(64)
    file.seek(0)
    return head


def _size(file: BinaryIO) -> int:
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    return size


def _spool_to_disk(file: BinaryIO) -> Path:
    """Copy an upload to a named temporary file (the store copies files, and PyAV reads paths)."""
    handle = tempfile.NamedTemporaryFile(prefix="townsquare-upload-", delete=False)
    with handle:
        file.seek(0)
        shutil.copyfileobj(file, handle, 1 << 20)
    return Path(handle.name)


async def _thumbnail(store: MediaStore, prefix: str, thumbnail: BinaryIO | None) -> tuple[str | None, dict | None]:
    if thumbnail is None:
        return None, None
    if _size(thumbnail) > IMAGE_SIZE_LIMIT:
        raise MediaError(f"Validation failed: Thumbnail is too large (maximum is {IMAGE_SIZE_LIMIT} bytes)")
    data = thumbnail.read()
    async with _image_slots:
        body, ext, _, meta = await asyncio.to_thread(process_thumbnail, data)
    key = f"{prefix}/thumb-{new_prefix()[-12:]}.{ext}"  # a new name each time: old URLs stay immutable
    await store.put(key, body)
    return key, meta


async def upload_media(db, store: MediaStore, account_id: int, file: BinaryIO, *, description: str | None = None,
                       focus: str | None = None, thumbnail: BinaryIO | None = None) -> MediaAttachment:
    """Take an upload: images are processed now, video/GIF/audio get a durable processing job; return the row."""
    description = check_description(description)
    point = parse_focus(focus)
    sniffed = sniff(_read_head(file))
    if sniffed is None:
        raise MediaError("Validation failed: File type is not supported (images: JPEG, PNG, GIF, WebP, AVIF; "
                         "video: MP4, MOV, WebM; audio: MP3, AAC, M4A, Ogg, WAV, FLAC)")
    size = _size(file)
    limit = IMAGE_SIZE_LIMIT if sniffed.kind == "image" else VIDEO_SIZE_LIMIT
    if size > limit:
        raise MediaError(f"Validation failed: File is too large ({size} bytes, maximum is {limit} bytes)", 422)
    prefix = new_prefix()
    media = MediaAttachment(id=new_id(), account_id=account_id, type="image", state="ready", prefix=prefix,
                            created_at=now(), description=description, url_base=store.url_base)
    processed = None
    if sniffed.kind == "image":
        async with _image_slots:
            processed = await asyncio.to_thread(process_image, file.read())
    media.thumbnail_key, thumb_meta = await _thumbnail(store, prefix, thumbnail)
    if processed is not None and not isinstance(processed, Animated):
        media.file_key, media.preview_key = f"{prefix}/original.{processed.ext}", f"{prefix}/small.{processed.ext}"
        media.file_type, media.meta, media.blurhash = processed.mime, processed.meta, processed.blurhash
        await store.put(media.file_key, processed.original)
        await store.put(media.preview_key, processed.small)
    else:
        media.type = "gifv" if isinstance(processed, Animated) else "audio" if sniffed.kind == "audio" else "video"
        media.state, media.file_type = "processing", sniffed.mime
        media.upload_key = f"{prefix}/upload.bin"
        spooled = await asyncio.to_thread(_spool_to_disk, file)
        try:
            await store.put_file(media.upload_key, spooled)
        finally:
            spooled.unlink(missing_ok=True)
    if point is not None:
        media.meta = {**media.meta, "focus": point}
    if thumb_meta is not None:
        media.meta = {**media.meta, "thumbnail": thumb_meta}
    async with db.write() as conn:
        await media_rows.insert(conn, media)
        if media.state == "processing":
            await enqueue(conn, PROCESS_JOB, {"media_id": media.id})
    return media


async def wait_processed(db, media_id: int, timeout: float = 60.0) -> MediaAttachment | None:
    """Poll until an attachment is no longer processing (for the synchronous v1 upload); return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with db.read() as conn:
            media = await media_rows.get(conn, media_id)
        if media is None or media.state != "processing" or asyncio.get_running_loop().time() > deadline:
            return media
        await asyncio.sleep(0.2)


async def own_media(conn, account_id: int, media_id: int, *, unattached: bool = True) -> MediaAttachment:
    """One of the account's attachments (unattached ones only, unless told), or 404: nobody else sees it."""
    media = await media_rows.get(conn, media_id)
    if media is None or media.account_id != account_id or (unattached and media.status_id is not None):
        raise not_found()
    return media


async def update_media(db, store: MediaStore, account_id: int, media_id: int, *, description: str | None = None,
                       focus: str | None = None, thumbnail: BinaryIO | None = None) -> MediaAttachment:
    """Change an unattached attachment's alt text, focal point or custom preview."""
    description = check_description(description)
    point = parse_focus(focus)
    async with db.read() as conn:
        media = await own_media(conn, account_id, media_id)
    thumb_key, thumb_meta = await _thumbnail(store, media.prefix, thumbnail)
    async with db.write() as conn:
        media = await own_media(conn, account_id, media_id)
        values: dict = {}
        meta = dict(media.meta)
        if description is not None:
            values["description"] = description
        if point is not None:
            meta["focus"] = point
        if thumb_key is not None:
            if media.thumbnail_key:
                await enqueue(conn, DELETE_FILES_JOB, {"keys": [media.thumbnail_key]})
            values["thumbnail_key"] = thumb_key
            meta["thumbnail"] = thumb_meta
        values["meta"] = meta
        await media_rows.save(conn, media_id, **values)
        return await own_media(conn, account_id, media_id)


async def delete_media(db, account_id: int, media_id: int) -> MediaAttachment:
    """Delete an unattached attachment and (by a job, after the commit) its files."""
    async with db.write() as conn:
        media = await own_media(conn, account_id, media_id, unattached=False)
        if media.status_id is not None:
            raise ApiError(422, "Media attachment is currently used by a status")
        await media_rows.discard(conn, [media])
    return media
