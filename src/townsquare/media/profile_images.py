"""Avatar and header images: an upload goes through the image pipeline (sniffed, decoded safely, EXIF
orientation applied, metadata dropped, shrunk) and its file replaces the account's previous one.

The files are kept by the account row itself, not as attachments, so the clean-up of unattached media
and the deletion of statuses never touch them; a replaced file is deleted by a job after the commit.
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO
from urllib.parse import urlsplit

from townsquare.core.errors import ApiError
from townsquare.domain.media import IMAGE_SIZE_LIMIT
from townsquare.domain.models import Account
from townsquare.media.images import process_thumbnail
from townsquare.media.sniff import sniff
from townsquare.media.store import MediaStore, new_prefix
from townsquare.media.uploads import DELETE_FILES_JOB, _image_slots, check_description
from townsquare.storage import accounts as account_store
from townsquare.storage.job_rows import enqueue

KINDS = account_store.PROFILE_IMAGES
LOCAL_PREFIX = "/system/media/"


def file_url(file: str | None, base_url: str) -> str | None:
    """The public URL of a stored profile image (None: the account has none)."""
    if not file:
        return None
    return base_url + file if file.startswith("/") else file


def key_of(file: str | None) -> str | None:
    """The store key behind a stored file value (its last four path segments: the random prefix and the name)."""
    if not file:
        return None
    parts = urlsplit(file).path.split("/")
    return "/".join(parts[-4:]) if len(parts) >= 5 else None


def keys_of(account: Account) -> list[str]:
    """The store keys of an account's avatar and header files (to delete them with the account)."""
    return [k for k in (key_of(account.avatar_file), key_of(account.header_file)) if k]


async def _store_image(store: MediaStore, kind: str, file: BinaryIO) -> str:
    """Process an uploaded image and store it; return the file value the account row keeps."""
    file.seek(0)
    head = file.read(64)
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    sniffed = sniff(head)
    if sniffed is None or sniffed.kind != "image":
        raise ApiError(422, f"Validation failed: {kind.capitalize()} must be an image (JPEG, PNG, GIF, WebP or AVIF)")
    if size > IMAGE_SIZE_LIMIT:
        raise ApiError(422, f"Validation failed: {kind.capitalize()} is too large (maximum is {IMAGE_SIZE_LIMIT} bytes)")
    data = file.read()
    async with _image_slots:
        body, ext, _, _ = await asyncio.to_thread(process_thumbnail, data)
    key = f"{new_prefix()}/{kind}.{ext}"
    await store.put(key, body)
    return f"{store.url_base.rstrip('/')}/{key}" if store.url_base else LOCAL_PREFIX + key


def check_changes(images: dict) -> None:
    """Refuse an unknown image kind or a too long alt text before anything is processed."""
    for kind, change in images.items():
        if kind not in KINDS:
            raise ValueError(kind)
        check_description(change.get("description"))


async def store_uploads(store: MediaStore, images: dict) -> dict[str, str]:
    """Process and store the uploaded files of image changes {kind: {"file", "description", "remove"}};
    return the stored file value by kind (nothing is written to the database yet)."""
    check_changes(images)
    stored: dict[str, str] = {}
    try:
        for kind, change in images.items():
            if change.get("file") is not None and not change.get("remove"):
                stored[kind] = await _store_image(store, kind, change["file"])
    except BaseException:
        await discard_stored(store, stored)
        raise
    return stored


async def discard_stored(store: MediaStore, stored: dict[str, str]) -> None:
    """Delete files stored for changes that were then refused (so a failed save leaves nothing behind)."""
    keys = [k for k in (key_of(v) for v in stored.values()) if k]
    if keys:
        await store.delete(keys)


async def apply(conn, store: MediaStore, account_id: int, images: dict, stored: dict[str, str]) -> None:
    """Point the account at its new images and alt texts, in the caller's transaction; the replaced files
    are deleted by a job after the commit."""
    current = await account_store.get(conn, account_id)
    old_keys = []
    for kind, change in images.items():
        values = {}
        if kind in stored or change.get("remove"):
            values["file"] = stored.get(kind)
            old_keys.append(key_of(getattr(current, f"{kind}_file")))
            if change.get("remove"):
                values["description"] = None
        if change.get("description") is not None and not change.get("remove"):
            values["description"] = change["description"] or None
        if values:
            await account_store.set_profile_image(conn, account_id, kind, **values)
    keys = [k for k in old_keys if k]
    if keys:
        await enqueue(conn, DELETE_FILES_JOB, {"keys": keys})
