"""Real-time events: what is published on which bus channel, always after the database commit.

Messages carry ids, never rendered JSON, because each subscriber sees a status through its own
eyes (visibility, favourited, muted...): the streaming endpoint loads and renders per viewer.

    {"event": "update", "status_id": "123"}          new status in a home/list/public/hashtag stream
    {"event": "status.update", "status_id": "123"}   a status was edited
    {"event": "delete", "status_id": "123"}          a status (or reblog) is gone: on ``timeline:deletes``
    {"event": "notification", "notification_id": "9"}
    {"event": "conversation", "status_id": "123", "conversation_id": "7"}
                                                     a direct message, on ``timeline:direct:<id>``
    {"event": "filters_changed"}

Writers queue messages on their connection (``publish_after_commit``); the database hands them to
``flush`` once the transaction commits, so a subscriber never hears of a row it cannot read yet.
"""

from __future__ import annotations

import asyncio
from typing import Iterable

from sqlalchemy import bindparam, exists, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.storage import conversations as conversation_store
from townsquare.storage.db import after_commit
from townsquare.storage.tables import accounts, follows, media_attachments, mentions, status_tags, tags
from townsquare.timelines.recipients import is_hybrid
from townsquare.timelines.status_cache import invalidate_after_commit

PUBLIC = "timeline:public"
PUBLIC_LOCAL = "timeline:public:local"
DELETES = "timeline:deletes"
PUBLISH_CONCURRENCY = 32


def home_channel(account_id: int) -> str:
    """The channel of an account's user stream (home feed events)."""
    return f"timeline:{account_id}"


def notification_channel(account_id: int) -> str:
    """The channel of an account's notifications."""
    return f"timeline:{account_id}:notification"


def direct_channel(account_id: int) -> str:
    """The channel of an account's direct conversations."""
    return f"timeline:direct:{account_id}"


def list_channel(list_id: int) -> str:
    """The channel of a list's timeline."""
    return f"timeline:list:{list_id}"


def author_channel(account_id: int) -> str:
    """The channel of a hybrid-delivery author's new statuses (published once, not per follower)."""
    return f"timeline:author:{account_id}"


def hashtag_channel(name: str, local: bool = False) -> str:
    """The channel of a hashtag's public statuses (all statuses are local here, so both get them)."""
    return f"timeline:hashtag:{name.lower()}" + (":local" if local else "")


def filters_channel(account_id: int) -> str:
    """The channel telling every stream of an account that its filters changed (so they are loaded again)."""
    return f"filters:{account_id}"


def space_channel(space_id: int | str) -> str:
    """The channel a Space publishes its events on."""
    return f"space:{space_id}"


def publish_after_commit(conn: AsyncConnection, channel: str, message: dict) -> None:
    """Queue a message to be published once the connection's write transaction commits."""
    after_commit(conn, (channel, message))


async def flush(bus, items: list) -> None:
    """Publish queued (channel, message) pairs on the bus, a few at a time."""
    if len(items) == 1:
        await bus.publish(*items[0])
        return
    many = getattr(bus, "publish_many", None)
    if many is not None:  # one pipelined batch (Redis) instead of a round trip per message
        await many(items)
        return
    gate = asyncio.Semaphore(PUBLISH_CONCURRENCY)

    async def one(channel: str, message: dict) -> None:
        async with gate:
            await bus.publish(channel, message)

    await asyncio.gather(*(one(channel, message) for channel, message in items))


def _message(event: str, status_id: int) -> dict:
    return {"event": event, "status_id": str(status_id)}


async def _emit(target, pairs: list[tuple[str, dict]]) -> None:
    """Publish now on a bus, or queue on a connection until its commit."""
    if hasattr(target, "publish"):
        if pairs:
            await flush(target, pairs)
        return
    for channel, message in pairs:
        publish_after_commit(target, channel, message)


async def publish_home_update(target, status, recipient_ids: Iterable[int], event: str = "update") -> None:
    """Tell these accounts' user streams about a status (target: a Bus, or a connection to publish after its commit)."""
    message = _message(event, status.id)
    await _emit(target, [(home_channel(rid), message) for rid in dict.fromkeys(recipient_ids)])


async def publish_list_update(target, status, list_ids: Iterable[int], event: str = "update") -> None:
    """Tell these lists' streams about a status (target: a Bus, or a connection)."""
    message = _message(event, status.id)
    await _emit(target, [(list_channel(lid), message) for lid in dict.fromkeys(list_ids)])


async def publish_author_update(target, status, event: str = "update") -> None:
    """Publish a hybrid-delivery author's status once, for every follower's user stream to pick up."""
    await _emit(target, [(author_channel(status.account_id), _message(event, status.id))])


async def publish_feed_deliveries(target, status, feeds: Iterable[str], event: str = "update") -> None:
    """Publish a status to the streams of the feeds (``home:<id>``, ``list:<id>``) a fan-out reached."""
    homes, lists = [], []
    for feed in feeds:
        kind, _, key = feed.partition(":")
        if key.isdigit():
            (homes if kind == "home" else lists if kind == "list" else []).append(int(key))
    await publish_home_update(target, status, homes, event)
    await publish_list_update(target, status, lists, event)


_MEDIA_AND_TAGS = union_all(  # built once: whether a status has media, and its tag names, in one statement
    select(literal("m").label("k"), literal("").label("name"))
    .where(exists().where(media_attachments.c.status_id == bindparam("status_id"))),
    select(literal("t"), tags.c.name).join(status_tags, status_tags.c.tag_id == tags.c.id)
    .where(status_tags.c.status_id == bindparam("status_id")),
)


async def _media_and_tags(conn: AsyncConnection, status_id: int) -> tuple[bool, list[str]]:
    rows = (await conn.execute(_MEDIA_AND_TAGS, {"status_id": status_id})).all()
    return any(k == "m" for k, _ in rows), [name for k, name in rows if k == "t"]


async def _mentioned(conn: AsyncConnection, status_id: int) -> list[int]:
    return [r[0] for r in await conn.execute(select(mentions.c.account_id).where(mentions.c.status_id == status_id))]


async def _followers(conn: AsyncConnection, status) -> list[int]:
    query = select(follows.c.account_id).where(follows.c.target_account_id == status.account_id)
    if status.reblog_of_id:
        query = query.where(follows.c.show_reblogs.is_(True))
    return [r[0] for r in await conn.execute(query)]


async def _public_and_direct(conn: AsyncConnection, status, event: str,
                             media_and_tags: tuple[bool, list[str]] | None = None) -> list[tuple[str, dict]]:
    """The public, hashtag and direct channels a status belongs on (media and tags read unless given)."""
    pairs: list[tuple[str, dict]] = []
    message = _message(event, status.id)
    if status.visibility == "public" and status.reblog_of_id is None:
        pairs += [(PUBLIC, message), (PUBLIC_LOCAL, message)]
        has_media, names = media_and_tags if media_and_tags is not None else await _media_and_tags(conn, status.id)
        if has_media:  # the only_media streams
            pairs += [(f"{PUBLIC}:media", message), (f"{PUBLIC_LOCAL}:media", message)]
        for name in names:
            pairs += [(hashtag_channel(name), message), (hashtag_channel(name, True), message)]
    if status.visibility == "direct" and event == "update":
        # Each participant hears of their own thread (storage/conversations.py, filed with the status).
        for account_id, conversation_id in await conversation_store.for_status(conn, status.id):
            pairs.append((direct_channel(account_id), {**_message("conversation", status.id),
                                                       "conversation_id": str(conversation_id)}))
    return pairs


async def publish_new_status(conn: AsyncConnection, status, feeds: Iterable[str] | None = None,
                             hybrid: bool = False, media_and_tags: tuple[bool, list[str]] | None = None) -> None:
    """Queue the `update` events of a freshly fanned-out status: home/list streams, public, hashtags, direct.

    `feeds` are the feed names the fan-out reached; without them every follower's user stream is
    told (each stream re-checks visibility, mutes and blocks). A hybrid author is published once.
    """
    pairs = await _public_and_direct(conn, status, "update", media_and_tags)
    await _emit(conn, pairs)
    if status.visibility == "direct":
        return
    if hybrid:
        await publish_author_update(conn, status)
        await publish_home_update(conn, status, [status.account_id])
    elif feeds is not None:
        await publish_feed_deliveries(conn, status, [*feeds, f"home:{status.account_id}"])
    else:
        await publish_home_update(conn, status, [status.account_id, *await _followers(conn, status)])


async def publish_status_edited(conn: AsyncConnection, status, hybrid_threshold: int = 10_000) -> None:
    """Queue `status.update` for everyone who may have the status on screen (a hybrid author's followers via its channel).

    The status's cached rendering (and its reblogs') is invalidated at the same commit.
    """
    invalidate_after_commit(conn, [status.id])
    pairs = await _public_and_direct(conn, status, "status.update")
    await _emit(conn, pairs)
    followers = (await conn.execute(select(accounts.c.followers_count).where(accounts.c.id == status.account_id))).scalar() or 0
    readers = [status.account_id, *await _mentioned(conn, status.id)]
    if is_hybrid(followers, hybrid_threshold):
        await publish_author_update(conn, status, "status.update")
    else:
        readers += await _followers(conn, status)
    await publish_home_update(conn, status, readers, "status.update")


def publish_deleted(conn: AsyncConnection, status_ids: Iterable[int]) -> None:
    """Queue `delete` events; every stream hears them and clients ignore ids they never showed."""
    for status_id in dict.fromkeys(status_ids):
        publish_after_commit(conn, DELETES, _message("delete", status_id))


def publish_notification(conn: AsyncConnection, account_id: int, notification_id: int) -> None:
    """Queue a `notification` event for its recipient's streams."""
    publish_after_commit(conn, notification_channel(account_id),
                         {"event": "notification", "notification_id": str(notification_id)})


def publish_filters_changed(conn: AsyncConnection, account_id: int) -> None:
    """Queue a `filters_changed` event for an account's user stream."""
    publish_after_commit(conn, home_channel(account_id), {"event": "filters_changed"})
