"""Media attachment rows: create, find, attach to statuses, and the per-version snapshots of status edits."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.media import MediaAttachment
from townsquare.storage.job_rows import enqueue
from townsquare.storage.tables import media_attachments, status_edit_media, statuses

M = media_attachments
DELETE_FILES_JOB = "delete_media_files"


async def insert(conn: AsyncConnection, media: MediaAttachment) -> None:
    """Store a new attachment row."""
    await conn.execute(M.insert().values(
        id=media.id, account_id=media.account_id, status_id=media.status_id, position=media.position,
        type=media.type, state=media.state, prefix=media.prefix, file_key=media.file_key,
        file_type=media.file_type, preview_key=media.preview_key, upload_key=media.upload_key,
        thumbnail_key=media.thumbnail_key, url_base=media.url_base, meta=media.meta, description=media.description,
        blurhash=media.blurhash, error=media.error, created_at=media.created_at))


async def get(conn: AsyncConnection, media_id: int, *, for_update: bool = False) -> MediaAttachment | None:
    """Return one attachment by id, or None."""
    query = select(M).where(M.c.id == media_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return MediaAttachment.from_row(row) if row else None


async def get_many(conn: AsyncConnection, media_ids: list[int]) -> dict[int, MediaAttachment]:
    """Return the attachments with these ids, by id."""
    if not media_ids:
        return {}
    rows = (await conn.execute(select(M).where(M.c.id.in_(media_ids)))).all()
    return {r.id: MediaAttachment.from_row(r) for r in rows}


async def save(conn: AsyncConnection, media_id: int, **values) -> None:
    """Update some columns of one attachment."""
    await conn.execute(update(M).where(M.c.id == media_id).values(**values))


async def remove(conn: AsyncConnection, media_ids: Iterable[int]) -> None:
    """Delete attachment rows (their files are removed by the caller's job)."""
    ids = list(media_ids)
    if ids:
        await conn.execute(delete(M).where(M.c.id.in_(ids)))


async def for_statuses(conn: AsyncConnection, status_ids: list[int]) -> dict[int, list[MediaAttachment]]:
    """The attachments of each of these statuses, in their order."""
    if not status_ids:
        return {}
    rows = (await conn.execute(select(M).where(M.c.status_id.in_(status_ids)).order_by(M.c.status_id, M.c.position, M.c.id))).all()
    out: dict[int, list[MediaAttachment]] = {}
    for r in rows:
        out.setdefault(r.status_id, []).append(MediaAttachment.from_row(r))
    return out


async def attach(conn: AsyncConnection, status_id: int, media_ids: list[int]) -> None:
    """Make these attachments (and only these) the status's, in this order."""
    await conn.execute(update(M).where(and_(M.c.status_id == status_id, M.c.id.not_in(media_ids or [0])))
                       .values(status_id=None, position=0))
    for position, media_id in enumerate(media_ids):
        await conn.execute(update(M).where(M.c.id == media_id).values(status_id=status_id, position=position))


async def of_status(conn: AsyncConnection, status_id: int) -> list[MediaAttachment]:
    """The attachments of one status, in order."""
    return (await for_statuses(conn, [status_id])).get(status_id, [])


async def of_account_statuses(conn: AsyncConnection, account_id: int) -> list[MediaAttachment]:
    """Every attachment an account uploaded (attached or not)."""
    rows = (await conn.execute(select(M).where(M.c.account_id == account_id))).all()
    return [MediaAttachment.from_row(r) for r in rows]


async def unattached_before(conn: AsyncConnection, cutoff: datetime, limit: int = 500) -> list[MediaAttachment]:
    """Attachments no status took, uploaded before the cutoff."""
    rows = (await conn.execute(select(M).where(and_(M.c.status_id.is_(None), M.c.created_at < cutoff))
                               .order_by(M.c.id).limit(limit))).all()
    return [MediaAttachment.from_row(r) for r in rows]


def has_media():
    """A clause true for statuses with at least one attachment (for only_media)."""
    return statuses.c.id.in_(select(M.c.status_id).where(M.c.status_id.is_not(None)))


async def snapshot_edit(conn: AsyncConnection, edit_id: int, media: list[MediaAttachment]) -> None:
    """Remember which attachments (and alt texts) one version of a status had."""
    for position, m in enumerate(media):
        await conn.execute(status_edit_media.insert().values(
            edit_id=edit_id, media_id=m.id, position=position, description=m.description))


async def for_edits(conn: AsyncConnection, edit_ids: list[int]) -> dict[int, list[MediaAttachment]]:
    """The attachments each version had (those still stored), with the alt text of that version."""
    if not edit_ids:
        return {}
    rows = (await conn.execute(select(status_edit_media).where(status_edit_media.c.edit_id.in_(edit_ids))
                               .order_by(status_edit_media.c.edit_id, status_edit_media.c.position))).all()
    stored = await get_many(conn, list({r.media_id for r in rows}))
    out: dict[int, list[MediaAttachment]] = {}
    for r in rows:
        m = stored.get(r.media_id)
        if m is not None:
            out.setdefault(r.edit_id, []).append(MediaAttachment(**{**m.__dict__, "description": r.description}))
    return out


async def discard(conn: AsyncConnection, media: list[MediaAttachment]) -> None:
    """Delete attachment rows and queue the removal of their files (a job, so it happens after the commit)."""
    if not media:
        return
    keys = [k for m in media for k in m.keys()]
    await remove(conn, [m.id for m in media])
    if keys:
        await enqueue(conn, DELETE_FILES_JOB, {"keys": keys})


async def discard_for_statuses(conn: AsyncConnection, status_ids: list[int]) -> None:
    """Remove the attachments of statuses about to be deleted."""
    attached = await for_statuses(conn, status_ids)
    await discard(conn, [m for group in attached.values() for m in group])


async def discard_for_account(conn: AsyncConnection, account_id: int) -> None:
    """Remove every attachment of an account about to be purged."""
    await discard(conn, await of_account_statuses(conn, account_id))
