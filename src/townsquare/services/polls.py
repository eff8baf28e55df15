"""Polls: validating a poll as posted, voting, and announcing the end to the author and the voters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.domain.models import Account, Poll, Status
from townsquare.services.notify import notify
from townsquare.storage import polls as poll_store
from townsquare.storage import statuses as status_store
from townsquare.storage.job_rows import enqueue
from townsquare.timelines.events import publish_status_edited

MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300  # seconds
MAX_EXPIRATION = 2_629_746  # one month, as Mastodon counts it
END_JOB = "end_poll"


@dataclass
class PollDraft:
    """The poll a client asked to attach to a status."""

    options: list[str]
    expires_in: int
    multiple: bool = False
    hide_totals: bool = False

    def as_params(self) -> dict:
        """The poll as Mastodon shows it inside a ScheduledStatus's params."""
        return {"options": list(self.options), "expires_in": self.expires_in, "multiple": self.multiple,
                "hide_totals": self.hide_totals}


def check_poll(poll: PollDraft) -> None:
    """Refuse a poll Mastodon would refuse: 2-4 unique options of at most 50 characters, 5 minutes to a month."""
    options = poll.options
    if len(options) < 2:
        raise unprocessable("Poll options must have more than one item")
    if len(options) > MAX_OPTIONS:
        raise unprocessable(f"Poll options can't contain more than {MAX_OPTIONS} items")
    if any(not option.strip() for option in options):
        raise unprocessable("Poll options can't be blank")
    if any(len(option) > MAX_OPTION_CHARS for option in options):
        raise unprocessable(f"Poll options cannot be longer than {MAX_OPTION_CHARS} characters each")
    if len({option.strip() for option in options}) != len(options):
        raise unprocessable("Poll options contain duplicate items")
    if poll.expires_in < MIN_EXPIRATION:
        raise unprocessable("Poll expiration is too soon")
    if poll.expires_in > MAX_EXPIRATION:
        raise unprocessable("Poll expiration is too far into the future")


async def attach_poll(conn: AsyncConnection, status_id: int, author: Account, poll: PollDraft) -> Poll:
    """Create the poll of a new status and the durable job that announces its end; return it as its author sees it."""
    stamp = now()
    expires_at = stamp + timedelta(seconds=poll.expires_in)
    options = [o.strip() for o in poll.options]
    poll_id = await poll_store.insert(conn, status_id, author.id, options, poll.multiple, poll.hide_totals, expires_at)
    await enqueue(conn, END_JOB, {"poll_id": poll_id}, run_at=expires_at)
    return Poll(id=poll_id, status_id=status_id, account_id=author.id, options=options, multiple=bool(poll.multiple),
                hide_totals=bool(poll.hide_totals), expires_at=expires_at, created_at=stamp,
                tallies=[0] * len(options), own_votes=[], voted=True)  # its author counts as having voted


async def edit_poll(conn: AsyncConnection, status_id: int, author: Account, poll: PollDraft | None) -> None:
    """Apply an edit's poll as Mastodon does: new options or mode reset the votes, no poll removes it."""
    row = await poll_store.row_for_status(conn, status_id)
    if poll is None:
        if row is not None:
            await poll_store.remove(conn, row.id)
        return
    if row is None:
        await attach_poll(conn, status_id, author, poll)
        return
    options = [o.strip() for o in poll.options]
    expires_at = now() + timedelta(seconds=poll.expires_in)
    if options != list(row.options) or poll.multiple != bool(row.multiple):
        await poll_store.replace_options(conn, row.id, options, poll.multiple, poll.hide_totals, expires_at)
    else:
        await poll_store.replace_end(conn, row.id, poll.hide_totals, expires_at)
    await enqueue(conn, END_JOB, {"poll_id": row.id}, run_at=expires_at)


async def visible_poll_status(conn: AsyncConnection, poll_id: int, viewer_id: int | None) -> Status:
    """The status carrying a poll, when the viewer may see it; otherwise 404 (as for a poll that does not exist)."""
    row = await poll_store.get_row(conn, poll_id)
    status = None if row is None else await status_store.get_visible(conn, row.status_id, viewer_id)
    if status is None or status.poll is None:
        raise not_found()
    return status


def is_expired(poll: Poll | object) -> bool:
    """Whether a poll (domain object or row) has ended."""
    return aware(poll.expires_at) <= now()


async def vote(conn: AsyncConnection, voter: Account, status: Status, choices: list[int], *,
               hybrid_threshold: int = 10_000) -> None:
    """Record a viewer's vote on a poll they may see (once, on valid choices, before it ends) and announce the totals."""
    poll = status.poll
    if poll is None:
        raise not_found()
    if poll.account_id == voter.id:
        raise unprocessable("You cannot vote in your own polls")
    if is_expired(poll):
        raise unprocessable("The poll has already ended")
    if not choices:
        raise unprocessable("You must choose at least one option")
    if any(c < 0 or c >= len(poll.options) for c in choices):
        raise unprocessable("Choice is not a valid option of this poll")
    if len(set(choices)) != len(choices):
        raise unprocessable("Choices contain duplicate items")
    if not poll.multiple and len(choices) > 1:
        raise unprocessable("This poll allows only one choice")
    if await poll_store.own_choices(conn, poll.id, voter.id):
        raise unprocessable("You have already voted on this poll")
    try:
        await poll_store.add_votes(conn, poll.id, voter.id, choices)
    except IntegrityError:  # a second vote racing the first; the whole transaction rolls back
        raise ApiError(422, "Validation failed: You have already voted on this poll") from None
    await publish_status_edited(conn, status, hybrid_threshold)


async def end_poll(conn: AsyncConnection, poll_id: int) -> None:
    """Announce a poll's end with a `poll` notification to its author and every voter (once)."""
    row = await poll_store.get_row(conn, poll_id)
    if row is None or not is_expired(row):
        return  # deleted, or edited to end later: the job queued by the edit announces it
    if not await poll_store.mark_notified(conn, poll_id):
        return
    await notify(conn, row.account_id, row.account_id, "poll", row.status_id, allow_self=True)
    for voter_id in await poll_store.voter_ids(conn, poll_id):
        if voter_id != row.account_id:
            await notify(conn, voter_id, row.account_id, "poll", row.status_id)
