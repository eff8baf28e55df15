"""Status rows: loading statuses with everything the API shows about them."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import and_, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Status
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage import accounts as account_store
from townsquare.storage import media as media_rows
from townsquare.storage import polls as poll_store
from townsquare.storage import quotes as quote_store
from townsquare.storage import cards as card_store
from townsquare.storage.tables import (
    bookmarks,
    favourites,
    mentions,
    mutes,
    oauth_apps,
    pins,
    polls,
    quotes,
    status_tags,
    statuses,
    tags,
)


async def get_row(conn: AsyncConnection, status_id: int):
    """Return the raw row of a status, visible or not."""
    return (await conn.execute(select(statuses).where(statuses.c.id == status_id))).first()


async def get_visible(conn: AsyncConnection, status_id: int, viewer_id: int | None) -> Status | None:
    """Return a hydrated status if it exists and the viewer may see it."""
    row = (
        await conn.execute(select(statuses).where(statuses.c.id == status_id).where(visible_to(viewer_id)), viewer_params(viewer_id))
    ).first()
    if row is None:
        return None
    return (await hydrate(conn, [row], viewer_id))[0]


async def load_visible(conn: AsyncConnection, ids: list[int], viewer_id: int | None) -> list[Status]:
    """Return hydrated statuses for ids the viewer may see, in the order of the ids."""
    if not ids:
        return []
    rows = (
        await conn.execute(select(statuses).where(statuses.c.id.in_(ids)).where(visible_to(viewer_id)), viewer_params(viewer_id))
    ).all()
    by_id = {r.id: r for r in rows}
    return await hydrate(conn, [by_id[i] for i in ids if i in by_id], viewer_id)


async def _viewer_marks(conn: AsyncConnection, viewer_id: int | None, ids: list[int], account_ids: list[int]):
    """The viewer's favourites, bookmarks, pins, reblogs and mutes among these statuses, in one query."""
    marks: dict[str, set[int]] = {k: set() for k in "fbprm"}
    if viewer_id is None or not ids:
        return marks["f"], marks["b"], marks["p"], marks["r"], marks["m"]
    parts = [
        select(literal("f").label("k"), favourites.c.status_id.label("v")).where(
            and_(favourites.c.account_id == viewer_id, favourites.c.status_id.in_(ids))),
        select(literal("b"), bookmarks.c.status_id).where(and_(bookmarks.c.account_id == viewer_id, bookmarks.c.status_id.in_(ids))),
        select(literal("p"), pins.c.status_id).where(and_(pins.c.account_id == viewer_id, pins.c.status_id.in_(ids))),
        select(literal("r"), statuses.c.reblog_of_id).where(
            and_(statuses.c.account_id == viewer_id, statuses.c.reblog_of_id.in_(ids))),
        select(literal("m"), mutes.c.target_account_id).where(
            and_(mutes.c.account_id == viewer_id, mutes.c.target_account_id.in_(account_ids))),
    ]
    for kind, value in await conn.execute(union_all(*parts)):
        marks[kind].add(value)
    return marks["f"], marks["b"], marks["p"], marks["r"], marks["m"]


async def _extras_present(conn: AsyncConnection, ids: list[int]) -> tuple[dict[int, int], set[int], dict[int, int]]:
    """Which statuses have a poll, which quote another, and how often each is quoted: one statement for all three."""
    parts = [
        select(literal("p").label("k"), polls.c.status_id.label("a"), polls.c.id.label("b")).where(polls.c.status_id.in_(ids)),
        select(literal("q"), quotes.c.status_id, quotes.c.id).where(quotes.c.status_id.in_(ids)),
        select(literal("c"), quotes.c.quoted_status_id, func.count()).where(and_(
            quotes.c.quoted_status_id.in_(ids), quotes.c.state == "accepted")).group_by(quotes.c.quoted_status_id),
    ]
    poll_ids: dict[int, int] = {}
    quoting: set[int] = set()
    counts: dict[int, int] = {}
    for kind, a, b in await conn.execute(union_all(*parts)):
        if kind == "p":
            poll_ids[a] = b
        elif kind == "q":
            quoting.add(a)
        else:
            counts[a] = b
    return poll_ids, quoting, counts


async def _nested(conn: AsyncConnection, rows: list, viewer_id: int | None) -> list[Status]:
    return await hydrate(conn, rows, viewer_id, nested=True)


async def hydrate(conn: AsyncConnection, rows: Iterable, viewer_id: int | None, *, nested: bool = False) -> list[Status]:
    """Turn status rows into domain Statuses with accounts, reblogs, mentions, tags and viewer flags.

    Quoted statuses are hydrated too, one level deep (`nested`: their own quotes stay shallow).
    """
    items = [Status.from_row(r) for r in rows]
    if not items:
        return []
    reblog_ids = {s.reblog_of_id for s in items if s.reblog_of_id}
    inner: dict[int, Status] = {}
    if reblog_ids:
        inner_rows = (await conn.execute(select(statuses).where(statuses.c.id.in_(list(reblog_ids))))).all()
        inner = {r.id: Status.from_row(r) for r in inner_rows}
    everything = items + list(inner.values())
    ids = [s.id for s in everything]

    mention_rows = (await conn.execute(select(mentions).where(mentions.c.status_id.in_(ids)))).all()
    account_ids = {s.account_id for s in everything} | {m.account_id for m in mention_rows}
    accounts_by_id = await account_store.get_many(conn, account_ids, include_suspended=True)

    tag_rows = (
        await conn.execute(
            select(status_tags.c.status_id, tags.c.name)
            .join(tags, tags.c.id == status_tags.c.tag_id)
            .where(status_tags.c.status_id.in_(ids))
        )
    ).all()
    app_ids = {s.application_id for s in everything if s.application_id}
    apps = {}
    if app_ids:
        apps = {
            r.id: {"name": r.name, "website": r.website}
            for r in (await conn.execute(select(oauth_apps.c.id, oauth_apps.c.name, oauth_apps.c.website).where(oauth_apps.c.id.in_(list(app_ids))))).all()
        }

    favourited, bookmarked, pinned, reblogged, muted = await _viewer_marks(conn, viewer_id, ids, list(account_ids))
    media_by_status = await media_rows.for_statuses(conn, ids)
    cards = await card_store.cards_for(conn, ids)

    for s in everything:
        s.account = accounts_by_id.get(s.account_id)
        s.mentions = [accounts_by_id[m.account_id] for m in mention_rows
                      if m.status_id == s.id and m.account_id in accounts_by_id and accounts_by_id[m.account_id].suspended_at is None]
        if s.account is not None and s.account.sensitized_at is not None:
            s.sensitive = True  # a moderator marked the author's media sensitive
        s.tags = sorted({name for sid, name in tag_rows if sid == s.id})
        s.application = apps.get(s.application_id) if s.application_id else None
        s.favourited = s.id in favourited
        s.bookmarked = s.id in bookmarked
        s.pinned = s.id in pinned
        s.reblogged = s.id in reblogged
        s.muted = s.account_id in muted
        s.media_attachments = media_by_status.get(s.id, [])
        s.card = cards.get(s.id)
    poll_ids, quoting, quote_counts = await _extras_present(conn, ids)
    await poll_store.attach(conn, everything, viewer_id, poll_ids)
    await quote_store.attach(conn, everything, viewer_id, _nested, shallow=nested, counts=quote_counts, quoting=quoting)
    for s in items:
        if s.reblog_of_id:
            s.reblog = inner.get(s.reblog_of_id)
    return items


async def load_for_moderation(conn: AsyncConnection, ids: list[int]) -> list[Status]:
    """Return hydrated statuses by id whatever their visibility (what moderators see in a report)."""
    if not ids:
        return []
    rows = (await conn.execute(select(statuses).where(statuses.c.id.in_(ids)))).all()
    return await hydrate(conn, rows, None)
