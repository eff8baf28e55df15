"""Use cases of live audio rooms: create, start, end, delete, and who stands on the stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import new_id
from townsquare.core.pagination import Page
from townsquare.storage import accounts as account_store
from townsquare.storage import job_rows
from townsquare.storage import spaces as store
from townsquare.storage.room_list import RoomList
from townsquare.storage.spaces import Space
from townsquare.storage.tables import blocks, follows, mutes, notifications, space_members, spaces

MAX_COHOSTS = 2
MAX_SPEAKERS = 13
MAX_PENDING_REQUESTS = 500
NOTIFY_BATCH = 500
NOTIFY_PAUSE = timedelta(seconds=1)  # between batches, so a big following does not starve other jobs


def _forbidden() -> ApiError:
    return ApiError(403, "This action is not allowed")


async def get(conn: AsyncConnection, space_id: int) -> Space:
    """Return a room or raise 404."""
    space = await store.load(conn, space_id)
    if space is None:
        raise not_found()
    return space


async def listed(conn: AsyncConnection, state: str, page: Page, host_id: int | None = None) -> list[Space]:
    """One page of the rooms in a state (live, scheduled, ended), optionally one host's, newest first."""
    return await store.load_many(conn, await store.page_ids(conn, state, page, host_id))


async def _managed(conn: AsyncConnection, space_id: int, viewer_id: int, host_only: bool = False) -> Space:
    space = await get(conn, space_id)
    allowed = space.account_id == viewer_id if host_only else space.can_manage(viewer_id)
    if not allowed:
        raise _forbidden()
    return space


async def create(conn: AsyncConnection, host_id: int, title: str, scheduled_at: datetime | None, record: bool,
                 listed: RoomList | None = None) -> int:
    """Create a scheduled room hosted by this account and return its id (listed for nginx before it commits)."""
    title = title.strip()
    if not title:
        raise ApiError(422, "Validation failed: title can't be blank")
    if scheduled_at is not None and scheduled_at < now() - timedelta(minutes=5):
        raise ApiError(422, "Validation failed: scheduled_at must be in the future")
    space_id, stamp = new_id(), now()
    if listed is not None:  # before the commit: nobody may learn the id before nginx lets its joins through
        listed.add(space_id)  # one small file: quicker than a trip to a thread
    await conn.execute(spaces.insert().values(
        id=space_id, account_id=host_id, title=title, state="scheduled", record=record,
        scheduled_at=scheduled_at, created_at=stamp))
    await conn.execute(space_members.insert().values(
        space_id=space_id, account_id=host_id, role="host", muted=False, created_at=stamp))
    return space_id


async def start(conn: AsyncConnection, space_id: int, viewer_id: int) -> Space:
    """Put a scheduled room on air and queue the notifications to the host's followers."""
    space = await _managed(conn, space_id, viewer_id)
    if space.state != "scheduled":
        raise ApiError(422, f"Validation failed: the space is already {space.state}")
    if await store.live_by_host(conn, space.account_id) is not None:
        raise ApiError(422, "Validation failed: the host already has a live space")
    started = now()
    await conn.execute(update(spaces).where(spaces.c.id == space_id).values(state="live", started_at=started))
    await job_rows.enqueue(conn, "notify_space", {"space_id": space_id, "after": 0})
    # What was written, without reading it back: at the night's start every statement waits a turn of a busy loop.
    return replace(space, state="live", started_at=started)


async def end(conn: AsyncConnection, space_id: int, viewer_id: int) -> Space:
    """End a live room; open requests to speak are dropped."""
    space = await _managed(conn, space_id, viewer_id)
    if space.state != "live":
        raise ApiError(422, f"Validation failed: the space is {space.state}, not live")
    await conn.execute(update(spaces).where(spaces.c.id == space_id).values(state="ended", ended_at=now()))
    await conn.execute(delete(space_members).where(and_(
        space_members.c.space_id == space_id, space_members.c.role == "requested")))
    return await get(conn, space_id)


async def remove(conn: AsyncConnection, space_id: int, viewer_id: int, listed: RoomList | None = None) -> None:
    """Delete a room that has not started yet (and take it off nginx's list)."""
    space = await _managed(conn, space_id, viewer_id)
    if space.state != "scheduled":
        raise ApiError(422, "Validation failed: only a scheduled space can be deleted")
    await conn.execute(delete(spaces).where(spaces.c.id == space_id))
    if listed is not None:  # should the commit fail, the room's joins only take nginx's slow lane
        listed.discard(space_id)


async def _set_role(conn: AsyncConnection, space: Space, account_id: int, role: str) -> None:
    current = space.role_of(account_id)
    if current is None:
        await conn.execute(space_members.insert().values(
            space_id=space.id, account_id=account_id, role=role, muted=False, created_at=now()))
    else:
        await conn.execute(update(space_members).where(and_(
            space_members.c.space_id == space.id, space_members.c.account_id == account_id)).values(role=role))


async def _stage_target(conn: AsyncConnection, space: Space, account_id: int) -> None:
    if space.state == "ended":
        raise ApiError(422, "Validation failed: the space has ended")
    account = await account_store.get(conn, account_id)
    if account is None or not account.approved:
        raise not_found()
    if await _blocked_either(conn, space.account_id, account_id):
        raise _forbidden()


async def add_cohost(conn: AsyncConnection, space_id: int, viewer_id: int, account_id: int) -> Space:
    """Make an account a co-host (host only; at most two)."""
    space = await _managed(conn, space_id, viewer_id, host_only=True)
    await _stage_target(conn, space, account_id)
    current = space.role_of(account_id)
    if current == "host":
        raise ApiError(422, "Validation failed: the host is already on the stage")
    if current != "cohost":
        if len(space.with_role("cohost")) >= MAX_COHOSTS:
            raise ApiError(422, f"Validation failed: a space has at most {MAX_COHOSTS} co-hosts")
        await _set_role(conn, space, account_id, "cohost")
    return await get(conn, space_id)


async def remove_cohost(conn: AsyncConnection, space_id: int, viewer_id: int, account_id: int) -> Space:
    """Take co-host rights away (the host, or the co-host stepping down); they stay a speaker if there is room."""
    space = await get(conn, space_id)
    if not (viewer_id == space.account_id or viewer_id == account_id):
        raise _forbidden()
    if space.role_of(account_id) != "cohost":
        raise not_found()
    if len(space.with_role("speaker")) < MAX_SPEAKERS:
        await _set_role(conn, space, account_id, "speaker")
    else:
        await _drop(conn, space_id, account_id)
    return await get(conn, space_id)


async def add_speaker(conn: AsyncConnection, space_id: int, viewer_id: int, account_id: int) -> Space:
    """Invite an account to speak or approve its request (host or co-host; at most 13 speakers)."""
    space = await _managed(conn, space_id, viewer_id)
    await _stage_target(conn, space, account_id)
    current = space.role_of(account_id)
    if current in ("host", "cohost", "speaker"):
        return space
    if len(space.with_role("speaker")) >= MAX_SPEAKERS:
        raise ApiError(422, f"Validation failed: a space has at most {MAX_SPEAKERS} speakers")
    await _set_role(conn, space, account_id, "speaker")
    return await get(conn, space_id)


async def _drop(conn: AsyncConnection, space_id: int, account_id: int) -> None:
    await conn.execute(delete(space_members).where(and_(
        space_members.c.space_id == space_id, space_members.c.account_id == account_id)))


async def remove_speaker(conn: AsyncConnection, space_id: int, viewer_id: int, account_id: int) -> Space:
    """Send a speaker back to the audience (host or co-host, or the speaker leaving the stage)."""
    space = await get(conn, space_id)
    if not (space.can_manage(viewer_id) or viewer_id == account_id):
        raise _forbidden()
    if space.role_of(account_id) != "speaker":
        raise not_found()
    await _drop(conn, space_id, account_id)
    return await get(conn, space_id)


async def set_muted(conn: AsyncConnection, space_id: int, viewer_id: int, account_id: int, muted: bool) -> Space:
    """Mute or unmute someone on the stage (host or co-host, or the speaker themself)."""
    space = await get(conn, space_id)
    if not (space.can_manage(viewer_id) or viewer_id == account_id):
        raise _forbidden()
    if space.role_of(account_id) not in ("host", "cohost", "speaker"):
        raise not_found()
    if space.role_of(account_id) == "host" and viewer_id != account_id:
        raise _forbidden()
    await conn.execute(update(space_members).where(and_(
        space_members.c.space_id == space_id, space_members.c.account_id == account_id)).values(muted=muted))
    return await get(conn, space_id)


async def request_to_speak(conn: AsyncConnection, space_id: int, viewer_id: int) -> Space:
    """Ask the hosts of a live room for a place on the stage."""
    space = await get(conn, space_id)
    if space.state != "live":
        raise ApiError(422, "Validation failed: the space is not live")
    current = space.role_of(viewer_id)
    if current is not None:
        return space
    if await _blocked_either(conn, space.account_id, viewer_id):
        raise _forbidden()
    if await store.count_role(conn, space_id, "requested") >= MAX_PENDING_REQUESTS:
        raise ApiError(429, "Too many requests to speak are waiting; try again later", headers={"Retry-After": "30"})
    await _set_role(conn, space, viewer_id, "requested")
    return await get(conn, space_id)


async def answer_request(conn: AsyncConnection, space_id: int, viewer_id: int, account_id: int) -> Space:
    """Withdraw one's own request to speak, or reject someone's (host or co-host)."""
    space = await get(conn, space_id)
    if not (space.can_manage(viewer_id) or viewer_id == account_id):
        raise _forbidden()
    if space.role_of(account_id) != "requested":
        raise not_found()
    await _drop(conn, space_id, account_id)
    return await get(conn, space_id)


async def _blocked_either(conn: AsyncConnection, a: int, b: int) -> bool:
    query = select(blocks.c.id).where(
        ((blocks.c.account_id == a) & (blocks.c.target_account_id == b))
        | ((blocks.c.account_id == b) & (blocks.c.target_account_id == a))).limit(1)
    return (await conn.execute(query)).first() is not None


async def notify_followers(conn: AsyncConnection, payload: dict) -> None:
    """Notify one batch of the host's followers that a room started, then queue the next batch."""
    space = await store.load(conn, int(payload["space_id"]))
    if space is None or space.state != "live":
        return
    after, host = int(payload.get("after", 0)), space.account_id
    # Followers who block the host, or muted it with notifications hidden, are skipped in the same query.
    blocked = select(blocks.c.account_id).where(blocks.c.target_account_id == host)
    blocking = select(blocks.c.target_account_id).where(blocks.c.account_id == host)
    muted = select(mutes.c.account_id).where(and_(mutes.c.target_account_id == host, mutes.c.hide_notifications.is_(True)))
    query = (select(follows.c.account_id).where(and_(
        follows.c.target_account_id == host, follows.c.account_id > after,
        follows.c.account_id.not_in(blocked), follows.c.account_id.not_in(blocking), follows.c.account_id.not_in(muted),
    )).order_by(follows.c.account_id).limit(NOTIFY_BATCH))
    followers = [r[0] for r in (await conn.execute(query)).all()]
    if not followers:
        return
    stamp = now()
    await conn.execute(notifications.insert(), [
        {"id": new_id(), "account_id": f, "from_account_id": host, "type": "space", "status_id": None, "created_at": stamp}
        for f in followers])
    if len(followers) == NOTIFY_BATCH:
        await job_rows.enqueue(conn, "notify_space", {"space_id": space.id, "after": followers[-1]},
                               run_at=stamp + NOTIFY_PAUSE)
