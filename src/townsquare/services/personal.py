"""The viewer's private bookkeeping: read markers, notes on accounts, followed hashtags."""

from __future__ import annotations

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import not_found, unprocessable
from townsquare.core.ids import new_id
from townsquare.storage.tables import account_notes, markers, tag_follows, tags

TIMELINES = ("home", "notifications")
MAX_NOTE = 2000


async def get_markers(conn: AsyncConnection, account_id: int, timelines: list[str]) -> list:
    """Return the stored markers for the given timelines (all when none given)."""
    query = select(markers).where(markers.c.account_id == account_id)
    if timelines:
        query = query.where(markers.c.timeline.in_(timelines))
    return (await conn.execute(query)).all()


async def set_marker(conn: AsyncConnection, account_id: int, timeline: str, last_read_id: int) -> None:
    """Save the last read position of a timeline, bumping its version."""
    if timeline not in TIMELINES:
        raise unprocessable(f"timeline must be one of {', '.join(TIMELINES)}")
    result = await conn.execute(
        update(markers).where(and_(markers.c.account_id == account_id, markers.c.timeline == timeline))
        .values(last_read_id=last_read_id, version=markers.c.version + 1, updated_at=now()))
    if not result.rowcount:
        await conn.execute(markers.insert().values(account_id=account_id, timeline=timeline, last_read_id=last_read_id,
                                                   version=0, updated_at=now()))


async def set_note(conn: AsyncConnection, account_id: int, target_id: int, comment: str) -> None:
    """Set (or clear, with an empty comment) the viewer's private note on an account."""
    if len(comment) > MAX_NOTE:
        raise unprocessable(f"Comment is too long (maximum is {MAX_NOTE} characters)")
    await conn.execute(delete(account_notes).where(and_(account_notes.c.account_id == account_id, account_notes.c.target_account_id == target_id)))
    if comment:
        await conn.execute(account_notes.insert().values(account_id=account_id, target_account_id=target_id, comment=comment))


async def notes_for(conn: AsyncConnection, account_id: int, target_ids: list[int]) -> dict[int, str]:
    """Return the viewer's notes on the given accounts."""
    rows = await conn.execute(select(account_notes.c.target_account_id, account_notes.c.comment).where(and_(
        account_notes.c.account_id == account_id, account_notes.c.target_account_id.in_(target_ids))))
    return {r[0]: r[1] for r in rows}


async def tag_by_name(conn: AsyncConnection, name: str, create: bool = False):
    """Return the tag row for a name, creating it when asked; None when absent."""
    clean = name.lstrip("#").lower()
    if not clean or len(clean) > 200 or not all(ch.isalnum() or ch == "_" for ch in clean):
        raise not_found()
    row = (await conn.execute(select(tags).where(tags.c.name == clean))).first()
    if row is None and create:
        await conn.execute(tags.insert().values(id=new_id(), name=clean, created_at=now()))
        row = (await conn.execute(select(tags).where(tags.c.name == clean))).first()
    return row


async def follow_tag(conn: AsyncConnection, account_id: int, name: str, follow: bool):
    """Follow or unfollow a hashtag; returns the tag row."""
    tag = await tag_by_name(conn, name, create=follow)
    if tag is None:
        raise not_found()
    present = (await conn.execute(select(tag_follows.c.id).where(and_(tag_follows.c.account_id == account_id, tag_follows.c.tag_id == tag.id)))).first()
    if follow and present is None:
        await conn.execute(tag_follows.insert().values(id=new_id(), account_id=account_id, tag_id=tag.id, created_at=now()))
    if not follow and present is not None:
        await conn.execute(delete(tag_follows).where(tag_follows.c.id == present.id))
    return tag


async def followed_tag_ids(conn: AsyncConnection, account_id: int, tag_ids: list[int]) -> set[int]:
    """Return which of the given tags the account follows."""
    if not tag_ids:
        return set()
    rows = await conn.execute(select(tag_follows.c.tag_id).where(and_(tag_follows.c.account_id == account_id, tag_follows.c.tag_id.in_(tag_ids))))
    return {r[0] for r in rows}
