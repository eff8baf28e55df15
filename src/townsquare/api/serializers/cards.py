"""PreviewCard, TrendsLink and Tag entities, rendered from domain objects."""

from __future__ import annotations

from townsquare.core.clock import iso
from townsquare.core.html import plain_text
from townsquare.core.ids import render_id
from townsquare.domain.cards import DayUse, PreviewCard


def history(days: list[DayUse]) -> list[dict]:
    """Render usage history as Mastodon does: newest day first, every number as a string."""
    return [{"day": str(d.day), "uses": str(d.uses), "accounts": str(d.accounts)} for d in days]


def preview_card(c: PreviewCard) -> dict:
    """Render a PreviewCard entity."""
    return {
        "url": c.url,
        "title": plain_text(c.title),
        "description": plain_text(c.description),
        "language": c.language,
        "type": c.type,
        "author_name": plain_text(c.author_name),
        "author_url": c.author_url,
        "provider_name": plain_text(c.provider_name),
        "provider_url": c.provider_url,
        "html": c.html,
        "width": c.width,
        "height": c.height,
        "image": c.image,
        "image_description": plain_text(c.image_description),
        "embed_url": c.embed_url,
        "blurhash": c.blurhash,
        "published_at": iso(c.published_at),
        "authors": [{"name": plain_text(a.get("name") or ""), "url": a.get("url") or "", "account": None}
                    for a in c.authors if isinstance(a, dict)],
    }


def trends_link(c: PreviewCard, days: list[DayUse]) -> dict:
    """Render a TrendsLink entity: the card plus its daily shares."""
    return {**preview_card(c), "history": history(days)}


def tag(tag_id: int, name: str, base_url: str, days: list[DayUse], following: bool | None = None) -> dict:
    """Render a Tag entity with its history (following only for a signed-in viewer)."""
    data = {"id": render_id(tag_id), "name": name, "url": f"{base_url}/tags/{name}", "history": history(days)}
    if following is not None:
        data["following"] = following
    return data
