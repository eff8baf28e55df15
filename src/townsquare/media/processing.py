"""The durable jobs of media: process an upload, delete files, and remove uploads no status took within a day."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from townsquare.core.clock import now
from townsquare.domain.media import MediaAttachment
from townsquare.media.errors import MediaError
from townsquare.media.store import MediaStore
from townsquare.media.video import process_video
from townsquare.storage import media as media_rows
from townsquare.storage.job_rows import enqueue

UNATTACHED_TTL = timedelta(hours=24)
# Transcodes are CPU-bound: one at a time per process leaves the other core to the requests.
_av_slots = asyncio.Semaphore(1)


async def convert_upload(db, store: MediaStore, media_id: int) -> dict:
    """Process an upload's raw file into its stored files, outside any transaction; return what the row gets."""
    async with db.read() as conn:
        media = await media_rows.get(conn, media_id)
    if media is None or media.state != "processing" or not media.upload_key:
        return {"skip": True}
    workdir = Path(tempfile.mkdtemp(prefix="townsquare-media-"))
    try:
        src = workdir / "upload.bin"
        try:
            await store.fetch_to(media.upload_key, src)
        except FileNotFoundError:
            return {"error": "Uploaded file is missing"}
        try:
            async with _av_slots:
                result = await asyncio.to_thread(process_video, src, workdir, gif=media.type == "gifv")
        except MediaError as exc:
            return {"error": exc.error}
        file_key = f"{media.prefix}/original.{result.ext}"
        await store.put_file(file_key, result.path)
        preview_key = None
        if result.preview is not None:
            preview_key = f"{media.prefix}/small.jpg"
            await store.put(preview_key, result.preview)
        return {"type": result.type, "file_key": file_key, "file_type": result.mime, "preview_key": preview_key,
                "meta": result.meta, "blurhash": result.blurhash}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def finish_upload(conn, media_id: int, result: dict) -> None:
    """Record a processing result on the attachment row (in the job's transaction) and queue the raw file's removal."""
    if result.get("skip"):
        return
    media = await media_rows.get(conn, media_id, for_update=True)
    produced = [k for k in (result.get("file_key"), result.get("preview_key")) if k]
    if media is None or media.state != "processing":
        if produced and (media is None or media.file_key != result.get("file_key")):
            await enqueue(conn, media_rows.DELETE_FILES_JOB, {"keys": produced})  # deleted meanwhile
        return
    if "error" in result:
        await media_rows.save(conn, media_id, state="failed", error=result["error"][:1000])
        return
    meta = {**result["meta"], **{k: v for k, v in media.meta.items() if k in ("focus", "thumbnail")}}
    await media_rows.save(conn, media_id, state="ready", type=result["type"], file_key=result["file_key"],
                          file_type=result["file_type"], preview_key=result["preview_key"], meta=meta,
                          blurhash=result["blurhash"], upload_key=None)
    await enqueue(conn, media_rows.DELETE_FILES_JOB, {"keys": [media.upload_key]})


async def remove_unattached(conn, older_than: timedelta = UNATTACHED_TTL) -> list[MediaAttachment]:
    """Delete attachments no status took within the TTL, queueing the removal of their files; return them."""
    stale = await media_rows.unattached_before(conn, now() - older_than)
    await media_rows.discard(conn, stale)
    return stale
