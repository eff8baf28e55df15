"""The MediaAttachment entity, rendered from the domain object."""

from __future__ import annotations

from townsquare.core.ids import render_id
from townsquare.domain.media import MediaAttachment


def file_url(m: MediaAttachment, key: str | None, base_url: str) -> str | None:
    """The public URL of one of an attachment's files (the object store's, or this app's /system/media/)."""
    if not key:
        return None
    return f"{m.url_base or base_url + '/system/media'}/{key}"


def media_attachment(m: MediaAttachment, base_url: str) -> dict:
    """Render a MediaAttachment entity; url is null until processing is done."""
    ready = m.state == "ready"
    meta = {k: v for k, v in (m.meta or {}).items() if k != "thumbnail"}
    if "thumbnail" in (m.meta or {}) and m.thumbnail_key:
        meta["small"] = m.meta["thumbnail"]
    return {
        "id": render_id(m.id),
        "type": m.type,
        "url": file_url(m, m.file_key, base_url) if ready else None,
        "preview_url": file_url(m, m.thumbnail_key or (m.preview_key if ready else None), base_url),
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": m.description,
        "blurhash": m.blurhash,
    }
