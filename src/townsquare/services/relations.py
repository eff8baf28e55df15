"""Follows, follow requests, blocks and mutes between accounts, and how two accounts relate."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import new_id
from townsquare.domain.models import Account, Relationship
from townsquare.services.notify import notify
from townsquare.services.personal import notes_for
from townsquare.storage import accounts as account_store
from townsquare.storage.tables import blocks, follow_requests, follows, list_accounts, lists, mutes
from townsquare.timelines.feeds import FeedStore
from townsquare.timelines.home import merge_author
from townsquare.timelines.recipients import home_key, list_key


async def _row(conn: AsyncConnection, table, account_id: int, target_id: int):
    return (await conn.execute(select(table).where(and_(table.c.account_id == account_id, table.c.target_account_id == target_id)))).first()


async def target_account(conn: AsyncConnection, target_id: int) -> Account:
    """Return an approved account or raise 404."""
    account = await account_store.get(conn, target_id)
    if account is None or not account.is_public:
        raise not_found()
    return account


async def _is_blocked_either(conn: AsyncConnection, a: int, b: int) -> bool:
    row = (await conn.execute(select(blocks.c.id).where(or_(
        and_(blocks.c.account_id == a, blocks.c.target_account_id == b),
        and_(blocks.c.account_id == b, blocks.c.target_account_id == a),
    )).limit(1))).first()
    return row is not None


async def _make_follow(conn: AsyncConnection, follower_id: int, target_id: int, show_reblogs: bool, notify_: bool, languages, feeds: FeedStore) -> None:
    await conn.execute(follows.insert().values(
        id=new_id(), account_id=follower_id, target_account_id=target_id, show_reblogs=show_reblogs,
        notify=notify_, languages=languages, created_at=now()))
    await account_store.bump(conn, follower_id, following_count=1)
    await account_store.bump(conn, target_id, followers_count=1)
    await merge_author(conn, feeds, home_key(follower_id), follower_id, target_id)


async def follow(conn: AsyncConnection, viewer: Account, target_id: int, feeds: FeedStore, *, reblogs: bool | None = None,
                 notify_: bool | None = None, languages: list | None = None) -> None:
    """Follow an account, or ask to when it is locked; repeat calls update the options."""
    if target_id == viewer.id:
        raise ApiError(403, "This action is not allowed")
    target = await target_account(conn, target_id)
    if await _is_blocked_either(conn, viewer.id, target_id):
        raise ApiError(403, "This action is not allowed")
    existing = await _row(conn, follows, viewer.id, target_id)
    if existing is not None:
        values = {}
        if reblogs is not None:
            values["show_reblogs"] = reblogs
        if notify_ is not None:
            values["notify"] = notify_
        if languages is not None:
            values["languages"] = languages or None
        if values:
            await conn.execute(update(follows).where(follows.c.id == existing.id).values(**values))
        return
    if target.locked:
        if await _row(conn, follow_requests, viewer.id, target_id) is None:
            await conn.execute(follow_requests.insert().values(
                id=new_id(), account_id=viewer.id, target_account_id=target_id,
                show_reblogs=True if reblogs is None else reblogs, notify=bool(notify_), languages=languages or None,
                created_at=now()))
            await notify(conn, target_id, viewer.id, "follow_request")
        return
    await _make_follow(conn, viewer.id, target_id, True if reblogs is None else reblogs, bool(notify_), languages or None, feeds)
    await notify(conn, target_id, viewer.id, "follow")


async def _drop_follow(conn: AsyncConnection, follower_id: int, target_id: int, feeds: FeedStore) -> None:
    result = await conn.execute(delete(follows).where(and_(follows.c.account_id == follower_id, follows.c.target_account_id == target_id)))
    if (result.rowcount or 0) > 0:
        await account_store.bump(conn, follower_id, following_count=-1)
        await account_store.bump(conn, target_id, followers_count=-1)
        await feeds.remove_author(conn, home_key(follower_id), target_id)
        # Lists hold followed accounts only: leaving a follow leaves the follower's lists too.
        owned = select(lists.c.id).where(lists.c.account_id == follower_id)
        dropped = [r[0] for r in await conn.execute(select(list_accounts.c.list_id).where(and_(
            list_accounts.c.account_id == target_id, list_accounts.c.list_id.in_(owned))))]
        if dropped:
            await conn.execute(delete(list_accounts).where(and_(
                list_accounts.c.account_id == target_id, list_accounts.c.list_id.in_(dropped))))
            for list_id in dropped:
                await feeds.remove_author(conn, list_key(list_id), target_id)


async def unfollow(conn: AsyncConnection, viewer: Account, target_id: int, feeds: FeedStore) -> None:
    """Stop following an account (or withdraw a pending request)."""
    await target_account(conn, target_id)
    await _drop_follow(conn, viewer.id, target_id, feeds)
    await conn.execute(delete(follow_requests).where(and_(follow_requests.c.account_id == viewer.id, follow_requests.c.target_account_id == target_id)))


async def answer_request(conn: AsyncConnection, viewer: Account, requester_id: int, accept: bool, feeds: FeedStore) -> None:
    """Authorize or reject a pending follow request addressed to the viewer."""
    request = await _row(conn, follow_requests, requester_id, viewer.id)
    if request is None:
        raise not_found()
    await conn.execute(delete(follow_requests).where(follow_requests.c.id == request.id))
    if accept and await _row(conn, follows, requester_id, viewer.id) is None:
        await _make_follow(conn, requester_id, viewer.id, request.show_reblogs, request.notify, request.languages, feeds)


async def block(conn: AsyncConnection, viewer: Account, target_id: int, feeds: FeedStore) -> None:
    """Block an account: both follows end and neither sees the other."""
    if target_id == viewer.id:
        raise ApiError(403, "This action is not allowed")
    await target_account(conn, target_id)
    await _drop_follow(conn, viewer.id, target_id, feeds)
    await _drop_follow(conn, target_id, viewer.id, feeds)
    await feeds.remove_author(conn, home_key(viewer.id), target_id)
    await feeds.remove_author(conn, home_key(target_id), viewer.id)
    await conn.execute(delete(follow_requests).where(or_(
        and_(follow_requests.c.account_id == viewer.id, follow_requests.c.target_account_id == target_id),
        and_(follow_requests.c.account_id == target_id, follow_requests.c.target_account_id == viewer.id),
    )))
    if await _row(conn, blocks, viewer.id, target_id) is None:
        await conn.execute(blocks.insert().values(id=new_id(), account_id=viewer.id, target_account_id=target_id, created_at=now()))


async def unblock(conn: AsyncConnection, viewer: Account, target_id: int) -> None:
    """Remove a block."""
    await target_account(conn, target_id)
    await conn.execute(delete(blocks).where(and_(blocks.c.account_id == viewer.id, blocks.c.target_account_id == target_id)))


async def mute(conn: AsyncConnection, viewer: Account, target_id: int, feeds: FeedStore, hide_notifications: bool = True,
               duration: int = 0) -> None:
    """Mute an account (optionally for a number of seconds), hiding it from the home feed."""
    if target_id == viewer.id:
        raise ApiError(403, "This action is not allowed")
    await target_account(conn, target_id)
    expires = now() + timedelta(seconds=duration) if duration and duration > 0 else None
    existing = await _row(conn, mutes, viewer.id, target_id)
    if existing is None:
        await conn.execute(mutes.insert().values(id=new_id(), account_id=viewer.id, target_account_id=target_id,
                                                 hide_notifications=hide_notifications, expires_at=expires, created_at=now()))
    else:
        await conn.execute(update(mutes).where(mutes.c.id == existing.id).values(hide_notifications=hide_notifications, expires_at=expires))
    await feeds.remove_author(conn, home_key(viewer.id), target_id)


async def unmute(conn: AsyncConnection, viewer: Account, target_id: int) -> None:
    """Remove a mute."""
    await target_account(conn, target_id)
    await conn.execute(delete(mutes).where(and_(mutes.c.account_id == viewer.id, mutes.c.target_account_id == target_id)))


async def relationships(conn: AsyncConnection, viewer_id: int, ids: list[int]) -> list[Relationship]:
    """Return the viewer's relationship with each of the given accounts, in order."""
    if not ids:
        return []
    async def pairs(table, mine: bool):
        a, b = (table.c.account_id, table.c.target_account_id) if mine else (table.c.target_account_id, table.c.account_id)
        rows = (await conn.execute(select(table).where(and_(a == viewer_id, b.in_(ids))))).all()
        return {(r.target_account_id if mine else r.account_id): r for r in rows}

    following, followed_by = await pairs(follows, True), await pairs(follows, False)
    blocking, blocked_by = await pairs(blocks, True), await pairs(blocks, False)
    muting = await pairs(mutes, True)
    notes = await notes_for(conn, viewer_id, ids)
    requested, requested_by = await pairs(follow_requests, True), await pairs(follow_requests, False)
    out = []
    for target in ids:
        f = following.get(target) or requested.get(target)
        m = muting.get(target)
        out.append(Relationship(
            id=target,
            following=target in following,
            showing_reblogs=bool(f.show_reblogs) if f else False,
            notifying=bool(f.notify) if f else False,
            languages=f.languages if f else None,
            followed_by=target in followed_by,
            blocking=target in blocking,
            blocked_by=target in blocked_by,
            muting=m is not None,
            muting_notifications=bool(m.hide_notifications) if m else False,
            requested=target in requested,
            requested_by=target in requested_by,
            note=notes.get(target, ""),
        ))
    return out
