"""Fan-out: delivering a new status to the home and list feeds of recently active followers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Status
from townsquare.services.notify import notify
from townsquare.storage.tables import accounts, follows, statuses
from townsquare.timelines.events import publish_new_status
from townsquare.timelines.feeds import FeedStore, entry_of
from townsquare.timelines.recipients import feed_recipients, is_hybrid


# Built once (building them cost more than running them). The author's counts come with the status row.
_STATUS_AND_AUTHOR = (select(statuses, accounts.c.id.label("a_exists"), accounts.c.followers_count, accounts.c.feed_hybrid)
                      .select_from(statuses.outerjoin(accounts, accounts.c.id == statuses.c.account_id))
                      .where(statuses.c.id == bindparam("status_id")))
_SUBSCRIBERS = select(follows.c.account_id).where(and_(
    follows.c.target_account_id == bindparam("author_id"), follows.c.notify.is_(True)))


@dataclass
class FanoutResult:
    """What a fan-out did: the status, the feeds that received it, and whether delivery was left to read time."""

    status: Status | None
    feeds: list[str] = field(default_factory=list)
    hybrid: bool = False

    def __int__(self) -> int:
        return len(self.feeds)


async def fan_out_status(conn: AsyncConnection, feeds: FeedStore, status_id: int, *, active_days: int = 14,
                         hybrid_threshold: int = 10_000) -> FanoutResult:
    """Deliver a status to the feeds of those who should see it, and send 'status' notifications."""
    row = (await conn.execute(_STATUS_AND_AUTHOR, {"status_id": status_id})).first()
    if row is None:
        return FanoutResult(None)  # deleted before delivery: nothing to do
    return await deliver_status(conn, feeds, Status.from_row(row), row if row.a_exists is not None else None,
                                active_days=active_days, hybrid_threshold=hybrid_threshold)


async def deliver_status(conn: AsyncConnection, feeds: FeedStore, status: Status, author, *, active_days: int,
                         hybrid_threshold: int, media_and_tags: tuple[bool, list[str]] | None = None) -> FanoutResult:
    """Fan a status out in this transaction: feeds, its `update` events (sent at the commit), 'status' notifications.

    `author` is the author's row as it is now (followers_count, feed_hybrid), None if it is gone;
    `media_and_tags` what the status has, when the caller just wrote it (else it is read).
    """
    authors = [status.account_id]
    if status.reblog_of_id:
        # A reblog must not bring home a status by someone the recipient muted or blocked.
        original = (await conn.execute(select(statuses.c.account_id).where(statuses.c.id == status.reblog_of_id))).first()
        if original is not None:
            authors.append(original.account_id)
    hybrid = author is not None and hybrid_threshold > 0 and (author.feed_hybrid or is_hybrid(author.followers_count, hybrid_threshold))
    if hybrid and not author.feed_hybrid:
        await conn.execute(update(accounts).where(accounts.c.id == status.account_id).values(feed_hybrid=True))
    # Nobody follows the author: no home or list feed but the author's own to reach, and no subscriber to notify.
    # (followers_count is kept in the same transactions as the follows themselves.) Hashtag followers still may be.
    alone = author is not None and author.followers_count == 0
    tagged = media_and_tags is None or bool(media_and_tags[1])
    if alone and not (tagged and status.visibility == "public" and status.reblog_of_id is None):
        recipients = None
    else:
        recipients = feed_recipients(status, authors, active_days=active_days, hybrid=hybrid)
    # Direct messages live in conversations and notifications, never in home feeds (not even the author's).
    reached = [] if status.visibility == "direct" else await feeds.deliver(conn, entry_of(status), recipients)
    await publish_new_status(conn, status, reached, hybrid, media_and_tags)  # sent on the bus at the commit
    if (not alone and status.reblog_of_id is None and status.visibility in ("public", "unlisted", "private")
            and status.in_reply_to_id is None):
        subscribers = await conn.execute(_SUBSCRIBERS, {"author_id": status.account_id})
        for (account_id,) in subscribers:
            await notify(conn, account_id, status.account_id, "status", status.id, once=True)
    return FanoutResult(status, reached, hybrid)


@dataclass(frozen=True)
class InlineFanOut:
    """A new status's fan-out run inside the post's own transaction, for an author with few followers.

    The job row, its claim, its second write unit, its delete and the status read back all cost more than
    delivering to a handful of feeds; delivered here the post and its feed entries commit together (as
    durable as the job row was). Only with a feed store that writes in the same transaction (SQL): Redis
    feeds would be written before the post commits. Above `max_followers` the post queues the job as before.
    """

    feeds: FeedStore
    active_days: int
    hybrid_threshold: int
    max_followers: int

    def takes(self, author) -> bool:
        """Whether a post by this author (its row as the post left it) is delivered inline."""
        return (author.followers_count <= self.max_followers and not author.feed_hybrid
                and not is_hybrid(author.followers_count, self.hybrid_threshold))

    async def deliver(self, conn: AsyncConnection, status: Status, author, media_and_tags: tuple[bool, list[str]]) -> None:
        """Fan the status out now, in the caller's transaction."""
        await deliver_status(conn, self.feeds, status, author, active_days=self.active_days,
                             hybrid_threshold=self.hybrid_threshold, media_and_tags=media_and_tags)
