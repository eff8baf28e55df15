"""Filter rows: a viewer's filters with their keywords and statuses, and the writes that change them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.ids import new_id
from townsquare.domain.filters import CustomFilter, FilterKeyword, FilterStatus
from townsquare.storage.tables import custom_filter_keywords, custom_filter_statuses, custom_filters

F, K, S = custom_filters, custom_filter_keywords, custom_filter_statuses


def _filter(row) -> CustomFilter:
    return CustomFilter(id=row.id, account_id=row.account_id, title=row.title, context=list(row.context or []),
                        action=row.action, expires_at=aware(row.expires_at))


async def _assemble(conn: AsyncConnection, rows) -> list[CustomFilter]:
    """Filters for rows of custom_filters, each with its keywords and statuses (two more queries at most)."""
    filters = [_filter(r) for r in rows]
    if not filters:
        return []
    by_id = {f.id: f for f in filters}
    for k in await conn.execute(select(K).where(K.c.custom_filter_id.in_(list(by_id))).order_by(K.c.id)):
        by_id[k.custom_filter_id].keywords.append(FilterKeyword(k.id, k.custom_filter_id, k.keyword, bool(k.whole_word)))
    for s in await conn.execute(select(S).where(S.c.custom_filter_id.in_(list(by_id))).order_by(S.c.id)):
        by_id[s.custom_filter_id].statuses.append(FilterStatus(s.id, s.custom_filter_id, s.status_id))
    return filters


async def all_of(conn: AsyncConnection, account_id: int) -> list[CustomFilter]:
    """Every filter of an account, expired ones included, oldest first."""
    rows = (await conn.execute(select(F).where(F.c.account_id == account_id).order_by(F.c.id))).all()
    return await _assemble(conn, rows)


# Built once: it runs on every read of a timeline.
_ACTIVE = (select(F).where(F.c.account_id == bindparam("account_id"))
           .where(or_(F.c.expires_at.is_(None), F.c.expires_at > bindparam("at", type_=F.c.expires_at.type))).order_by(F.c.id))


async def active_for(conn: AsyncConnection, account_id: int, at: datetime | None = None) -> list[CustomFilter]:
    """The filters of an account that apply now (one indexed query when it has none)."""
    rows = (await conn.execute(_ACTIVE, {"account_id": account_id, "at": at or now()})).all()
    return await _assemble(conn, rows)


async def get(conn: AsyncConnection, account_id: int, filter_id: int) -> CustomFilter | None:
    """One filter of an account, or None (another account's filter is not found either)."""
    rows = (await conn.execute(select(F).where(and_(F.c.id == filter_id, F.c.account_id == account_id)))).all()
    found = await _assemble(conn, rows)
    return found[0] if found else None


async def count(conn: AsyncConnection, account_id: int) -> int:
    """How many filters an account has."""
    return (await conn.execute(select(func.count()).select_from(F).where(F.c.account_id == account_id))).scalar() or 0


async def insert(conn: AsyncConnection, account_id: int, title: str, context: list[str], action: str,
                 expires_at: datetime | None) -> int:
    """Insert a filter and return its id."""
    filter_id, stamp = new_id(), now()
    await conn.execute(F.insert().values(id=filter_id, account_id=account_id, title=title, context=context, action=action,
                                         expires_at=expires_at, created_at=stamp, updated_at=stamp))
    return filter_id


async def change(conn: AsyncConnection, filter_id: int, **values) -> None:
    """Update columns of a filter (title, context, action, expires_at)."""
    await conn.execute(update(F).where(F.c.id == filter_id).values(**values, updated_at=now()))


async def remove(conn: AsyncConnection, filter_id: int) -> None:
    """Delete a filter with its keywords and statuses."""
    await conn.execute(delete(F).where(F.c.id == filter_id))


async def insert_keyword(conn: AsyncConnection, filter_id: int, keyword: str, whole_word: bool) -> int:
    """Add a keyword to a filter and return its id."""
    keyword_id = new_id()
    await conn.execute(K.insert().values(id=keyword_id, custom_filter_id=filter_id, keyword=keyword, whole_word=whole_word,
                                         created_at=now()))
    return keyword_id


async def change_keyword(conn: AsyncConnection, keyword_id: int, **values) -> None:
    """Update a keyword's text or whole_word flag."""
    if values:
        await conn.execute(update(K).where(K.c.id == keyword_id).values(**values))


async def remove_keyword(conn: AsyncConnection, keyword_id: int) -> None:
    """Delete one keyword."""
    await conn.execute(delete(K).where(K.c.id == keyword_id))


async def keyword_owner(conn: AsyncConnection, account_id: int, keyword_id: int) -> tuple[FilterKeyword, int] | None:
    """A keyword of one of the account's filters, with its filter id; None when it is someone else's or gone."""
    row = (await conn.execute(select(K).join(F, F.c.id == K.c.custom_filter_id)
                              .where(and_(K.c.id == keyword_id, F.c.account_id == account_id)))).first()
    if row is None:
        return None
    return FilterKeyword(row.id, row.custom_filter_id, row.keyword, bool(row.whole_word)), row.custom_filter_id


async def insert_status(conn: AsyncConnection, filter_id: int, status_id: int) -> int:
    """Add a status to a filter and return the FilterStatus id."""
    row_id = new_id()
    await conn.execute(S.insert().values(id=row_id, custom_filter_id=filter_id, status_id=status_id, created_at=now()))
    return row_id


async def status_owner(conn: AsyncConnection, account_id: int, row_id: int) -> FilterStatus | None:
    """A FilterStatus of one of the account's filters, or None."""
    row = (await conn.execute(select(S).join(F, F.c.id == S.c.custom_filter_id)
                              .where(and_(S.c.id == row_id, F.c.account_id == account_id)))).first()
    return None if row is None else FilterStatus(row.id, row.custom_filter_id, row.status_id)


async def remove_status(conn: AsyncConnection, row_id: int) -> None:
    """Delete one FilterStatus."""
    await conn.execute(delete(S).where(S.c.id == row_id))
