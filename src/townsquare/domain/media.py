"""Media attachments as the API names them, and the limits Mastodon applies to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from townsquare.domain.models import _from_row

MAX_ATTACHMENTS = 4
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
VIDEO_SIZE_LIMIT = 99 * 1024 * 1024
IMAGE_MATRIX_LIMIT = 33_177_600  # pixels of an upload, read from the header before decoding (7680x4320)
ORIGINAL_PIXELS = 8_294_400  # the stored original is shrunk to at most this (3840x2160)
SMALL_PIXELS = 230_400  # the small version (640x360)
VIDEO_MATRIX_LIMIT = 8_294_400
VIDEO_FRAME_RATE_LIMIT = 120
DESCRIPTION_LIMIT = 1500
# HEIC/HEIF are recognised but refused: the Pillow wheel has no HEIF decoder (pillow-heif would bring one).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/ogg")
AUDIO_TYPES = ("audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/wave", "audio/wav", "audio/flac",
               "audio/webm")


@dataclass
class MediaAttachment:
    """An uploaded picture, video, GIF or sound, with its processed files and alt text."""

    id: int
    account_id: int
    type: str
    state: str
    prefix: str
    created_at: datetime
    status_id: int | None = None
    position: int = 0
    file_key: str | None = None
    file_type: str | None = None
    preview_key: str | None = None
    upload_key: str | None = None
    thumbnail_key: str | None = None
    url_base: str | None = None
    meta: dict = field(default_factory=dict)
    description: str | None = None
    blurhash: str | None = None
    error: str | None = None

    from_row = classmethod(_from_row)

    @property
    def ready(self) -> bool:
        """Whether its files are processed and it may be attached."""
        return self.state == "ready"

    def keys(self) -> list[str]:
        """Every stored file of this attachment."""
        return [k for k in (self.file_key, self.preview_key, self.upload_key, self.thumbnail_key) if k]
