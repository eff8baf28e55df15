"""Preview card rows: one per URL, linked to the statuses that carry it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.ids import new_id
from townsquare.domain.cards import PreviewCard
from townsquare.storage.tables import preview_cards, status_preview_cards, statuses

CARD_FIELDS = ("title", "description", "type", "author_name", "author_url", "provider_name", "provider_url", "html",
               "width", "height", "image", "image_description", "embed_url", "blurhash", "published_at", "authors",
               "language")


def _card(row) -> PreviewCard:
    card = PreviewCard.from_row(row)
    card.published_at = aware(card.published_at)
    return card


async def card_updated_at(conn: AsyncConnection, url: str) -> datetime | None:
    """Return when the card of a URL was last fetched, or None when there is none."""
    return aware((await conn.execute(select(preview_cards.c.updated_at).where(preview_cards.c.url == url))).scalar())


async def save_card(conn: AsyncConnection, fields: dict) -> int:
    """Insert or refresh the card of fields["url"] and return its id."""
    values = {k: fields.get(k) for k in CARD_FIELDS if k in fields}
    values["authors"] = list(values.get("authors") or [])
    stamp = now()
    existing = (await conn.execute(select(preview_cards.c.id).where(preview_cards.c.url == fields["url"]))).scalar()
    if existing is not None:
        await conn.execute(update(preview_cards).where(preview_cards.c.id == existing).values(**values, updated_at=stamp))
        return existing
    card_id = new_id()
    await conn.execute(preview_cards.insert().values(id=card_id, url=fields["url"], **values, created_at=stamp, updated_at=stamp))
    return card_id


async def card_id_for_url(conn: AsyncConnection, url: str) -> int | None:
    """Return the id of the card of a URL, if any."""
    return (await conn.execute(select(preview_cards.c.id).where(preview_cards.c.url == url))).scalar()


async def link_status(conn: AsyncConnection, status_id: int, card_id: int) -> None:
    """Make a card the status's card (a status has at most one)."""
    await conn.execute(delete(status_preview_cards).where(status_preview_cards.c.status_id == status_id))
    await conn.execute(status_preview_cards.insert().values(status_id=status_id, preview_card_id=card_id))


async def unlink_status(conn: AsyncConnection, status_id: int) -> None:
    """Take the card off a status (its link was edited away)."""
    await conn.execute(delete(status_preview_cards).where(status_preview_cards.c.status_id == status_id))


async def card_url_of_status(conn: AsyncConnection, status_id: int) -> str | None:
    """Return the URL of the status's current card, if any."""
    return (await conn.execute(select(preview_cards.c.url).join(
        status_preview_cards, status_preview_cards.c.preview_card_id == preview_cards.c.id)
        .where(status_preview_cards.c.status_id == status_id))).scalar()


async def status_content(conn: AsyncConnection, status_id: int) -> str | None:
    """Return a status's rendered HTML, or None when it is gone."""
    return (await conn.execute(select(statuses.c.content).where(statuses.c.id == status_id))).scalar()


async def cards_for(conn: AsyncConnection, status_ids: list[int]) -> dict[int, PreviewCard]:
    """Return the cards of these statuses, by status id, in one query."""
    if not status_ids:
        return {}
    rows = (await conn.execute(select(status_preview_cards.c.status_id.label("sid"), preview_cards).join(
        preview_cards, preview_cards.c.id == status_preview_cards.c.preview_card_id)
        .where(status_preview_cards.c.status_id.in_(status_ids)))).all()
    return {r.sid: _card(r) for r in rows}


async def cards_by_id(conn: AsyncConnection, card_ids: list[int]) -> dict[int, PreviewCard]:
    """Return cards by id."""
    if not card_ids:
        return {}
    rows = (await conn.execute(select(preview_cards).where(preview_cards.c.id.in_(card_ids)))).all()
    return {r.id: _card(r) for r in rows}
