"""Link preview cards and usage history, named as the Mastodon API names them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from townsquare.domain.models import _from_row


@dataclass
class PreviewCard:
    """A link's preview, shared by every status linking to the same URL."""

    id: int
    url: str
    title: str = ""
    description: str = ""
    type: str = "link"
    author_name: str = ""
    author_url: str = ""
    provider_name: str = ""
    provider_url: str = ""
    html: str = ""
    width: int = 0
    height: int = 0
    image: str | None = None
    image_description: str = ""
    embed_url: str = ""
    blurhash: str | None = None
    published_at: datetime | None = None
    authors: list = field(default_factory=list)
    language: str | None = None

    from_row = classmethod(_from_row)


@dataclass
class DayUse:
    """One day of a hashtag's or link's use: statuses and distinct accounts (day = midnight UTC, in seconds)."""

    day: int
    uses: int
    accounts: int
