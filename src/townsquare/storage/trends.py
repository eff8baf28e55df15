"""Trend rows and the activity they are computed from: uses of tags, shares of links, popular statuses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, distinct, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware
from townsquare.core.ids import id_floor
from townsquare.domain.cards import PreviewCard
from townsquare.storage.cards import cards_by_id
from townsquare.storage.tables import (
    accounts,
    jobs,
    link_trends,
    status_preview_cards,
    status_tags,
    status_trends,
    statuses,
    tag_follows,
    tag_trends,
    tags,
)

DECAY_THRESHOLD = {"tags": 1.0, "links": 1.0, "statuses": 0.3}  # Mastodon's: below this an item leaves the trends


def _unsanctioned(table) -> object:
    author = accounts.alias()
    return select(author.c.id).where(and_(
        author.c.id == table.c.account_id, author.c.suspended_at.is_(None), author.c.silenced_at.is_(None),
        author.c.disabled_at.is_(None), author.c.discoverable.is_(True), author.c.approved.is_(True))).exists()


def eligible(table) -> object:
    """A status that may count towards trends: public, not a reblog, not sensitive, no content warning, author unsanctioned and discoverable."""
    return and_(table.c.visibility == "public", table.c.reblog_of_id.is_(None), table.c.sensitive.is_(False),
                table.c.spoiler_text == "", _unsanctioned(table))


def _window(column, since_ms: int, until_ms: int):
    return and_(column >= id_floor(since_ms), column < id_floor(until_ms))


# A status id divided by this is its UTC day number (ids are milliseconds << 16): days bucket in SQL on both databases.
DAY_UNITS = 86_400_000 << 16


def _day_of(column):
    return column.op("/")(literal_column(str(DAY_UNITS)))


def _counted(rows) -> list[tuple[int, int, int, int]]:
    return [(int(item), int(day), int(uses), int(people)) for item, day, uses, people in rows]


def _first(query, name: str):
    """Evaluate the index-friendly part first: without table statistics SQLite would otherwise scan statuses."""
    return query.cte(name).prefix_with("MATERIALIZED")


async def daily_tag_uses(conn: AsyncConnection, since_ms: int, until_ms: int, tag_ids: list[int] | None = None) -> list[tuple[int, int, int, int]]:
    """Return (tag_id, day number, statuses, distinct accounts) of eligible statuses in a time window."""
    picked = select(status_tags.c.tag_id, status_tags.c.status_id).where(_window(status_tags.c.status_id, since_ms, until_ms))
    if tag_ids is not None:
        picked = picked.where(status_tags.c.tag_id.in_(tag_ids))
    uses = _first(picked, "uses")
    day = _day_of(uses.c.status_id).label("day")
    query = (select(uses.c.tag_id, day, func.count(), func.count(distinct(statuses.c.account_id)))
             .select_from(uses).join(statuses, statuses.c.id == uses.c.status_id)
             .where(eligible(statuses)).group_by(uses.c.tag_id, day))
    return _counted(await conn.execute(query))


async def _eligible_authors(conn: AsyncConnection, status_ids: list[int]) -> dict[int, int]:
    """Return status id -> author of those statuses that count, looked up by primary key in chunks."""
    found: dict[int, int] = {}
    for lo in range(0, len(status_ids), 500):
        chunk = status_ids[lo:lo + 500]
        rows = await conn.execute(select(statuses.c.id, statuses.c.account_id).where(statuses.c.id.in_(chunk)).where(eligible(statuses)))
        found.update({r[0]: r[1] for r in rows})
    return found


async def daily_link_shares(conn: AsyncConnection, since_ms: int, until_ms: int, card_ids: list[int] | None = None) -> list[tuple[int, int, int, int]]:
    """Return (card_id, day number, shares, distinct accounts): eligible posts with the card and public reblogs of them."""
    spc = status_preview_cards
    # Posts with a card in the window: the card rows first (by index), then their statuses by primary key;
    # one join lets SQLite walk every public status of the window against the card rows instead.
    posted = select(spc.c.preview_card_id, spc.c.status_id).where(_window(spc.c.status_id, since_ms, until_ms))
    if card_ids is not None:
        posted = posted.where(spc.c.preview_card_id.in_(card_ids))
    pairs = [(r[0], r[1]) for r in await conn.execute(posted)]
    authors = await _eligible_authors(conn, [sid for _, sid in pairs])
    shares = [(card, sid, authors[sid]) for card, sid in pairs if sid in authors]
    original = statuses.alias("original")
    reblog = statuses.alias("reblog")
    reblogs = (select(spc.c.preview_card_id, reblog.c.id, reblog.c.account_id).select_from(reblog)
               .join(spc, spc.c.status_id == reblog.c.reblog_of_id).join(original, original.c.id == reblog.c.reblog_of_id)
               .where(_window(reblog.c.id, since_ms, until_ms)).where(reblog.c.reblog_of_id.is_not(None))
               .where(eligible(original)).where(reblog.c.visibility == "public").where(_unsanctioned(reblog)))
    if card_ids is not None:
        reblogs = reblogs.where(spc.c.preview_card_id.in_(card_ids))
    shares += [(r[0], r[1], r[2]) for r in await conn.execute(reblogs)]
    uses: dict[tuple[int, int], int] = {}
    people: dict[tuple[int, int], set[int]] = {}
    for card, sid, who in shares:
        key = (card, sid // DAY_UNITS)
        uses[key] = uses.get(key, 0) + 1
        people.setdefault(key, set()).add(who)
    return [(card, day, n, len(people[card, day])) for (card, day), n in uses.items()]


async def popular_statuses(conn: AsyncConnection, since_ms: int, min_interactions: int) -> list:
    """Return eligible statuses since a time with at least this many reblogs plus favourites, and those trending now."""
    popular = (select(statuses).where(statuses.c.id >= id_floor(since_ms)).where(eligible(statuses))
               .where(statuses.c.in_reply_to_id.is_(None))
               .where(statuses.c.reblogs_count + statuses.c.favourites_count >= min_interactions))
    rows = {r.id: r for r in await conn.execute(popular)}
    trending = (select(statuses).join(status_trends, status_trends.c.status_id == statuses.c.id)
                .where(eligible(statuses)).where(statuses.c.in_reply_to_id.is_(None)))
    for r in await conn.execute(trending):
        rows.setdefault(r.id, r)
    return list(rows.values())


async def peaks(conn: AsyncConnection, kind: str) -> dict[int, tuple[float, datetime | None]]:
    """Return every stored (max_score, max_score_at) of tag or link trends, by item id."""
    table, key = (tag_trends, tag_trends.c.tag_id) if kind == "tags" else (link_trends, link_trends.c.preview_card_id)
    return {r[0]: (r[1], aware(r[2])) for r in await conn.execute(select(key, table.c.max_score, table.c.max_score_at))}


async def replace_peaked(conn: AsyncConnection, kind: str, items: dict[int, tuple[float, float, datetime | None]]) -> None:
    """Rewrite tag or link trends: item id -> (score, max_score, max_score_at); items left out are dropped."""
    table, key = (tag_trends, "tag_id") if kind == "tags" else (link_trends, "preview_card_id")
    await conn.execute(delete(table))
    if items:
        await conn.execute(table.insert(), [{key: item, "score": s, "max_score": m, "max_score_at": at}
                                            for item, (s, m, at) in items.items()])


async def replace_status_trends(conn: AsyncConnection, items: list[tuple[int, int, float, str | None]]) -> None:
    """Rewrite status trends: (status_id, account_id, score, language)."""
    await conn.execute(delete(status_trends))
    if items:
        await conn.execute(status_trends.insert(), [{"status_id": s, "account_id": a, "score": score, "language": lang}
                                                    for s, a, score, lang in items])


async def trending_tags(conn: AsyncConnection, limit: int, offset: int) -> list:
    """Return (id, name) of trending tags, best first."""
    return (await conn.execute(select(tags.c.id, tags.c.name).join(tag_trends, tag_trends.c.tag_id == tags.c.id)
                               .where(tag_trends.c.score >= DECAY_THRESHOLD["tags"])
                               .order_by(tag_trends.c.score.desc(), tags.c.id).limit(limit).offset(offset))).all()


async def trending_status_ids(conn: AsyncConnection, limit: int, offset: int) -> list[int]:
    """Return the ids of trending statuses, best first."""
    rows = await conn.execute(select(status_trends.c.status_id).where(status_trends.c.score >= DECAY_THRESHOLD["statuses"])
                              .order_by(status_trends.c.score.desc(), status_trends.c.status_id.desc()).limit(limit).offset(offset))
    return [r[0] for r in rows]


async def trending_cards(conn: AsyncConnection, limit: int, offset: int) -> list[PreviewCard]:
    """Return trending link cards, best first."""
    ids = [r[0] for r in await conn.execute(
        select(link_trends.c.preview_card_id).where(link_trends.c.score >= DECAY_THRESHOLD["links"])
        .order_by(link_trends.c.score.desc(), link_trends.c.preview_card_id).limit(limit).offset(offset))]
    cards = await cards_by_id(conn, ids)
    return [cards[i] for i in ids if i in cards]


async def tag_row(conn: AsyncConnection, name: str):
    """Return the (id, name) row of a tag by its lower-cased name, or None."""
    return (await conn.execute(select(tags.c.id, tags.c.name).where(tags.c.name == name))).first()


async def followed_among(conn: AsyncConnection, account_id: int, tag_ids: list[int]) -> set[int]:
    """Return which of these tags an account follows."""
    if not tag_ids:
        return set()
    return {r[0] for r in await conn.execute(select(tag_follows.c.tag_id).where(and_(
        tag_follows.c.account_id == account_id, tag_follows.c.tag_id.in_(tag_ids))))}



async def job_pending(conn: AsyncConnection, kind: str) -> bool:
    """Whether a job of this kind is already waiting or running."""
    return (await conn.execute(select(jobs.c.id).where(and_(jobs.c.kind == kind, jobs.c.state.in_(("ready", "running")))).limit(1))).first() is not None
