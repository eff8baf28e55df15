"""Scheduled statuses: kept as Mastodon-shaped params and published at their time through post_status."""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.domain.models import Account, ScheduledStatus
from townsquare.services import posting
from townsquare.services.polls import PollDraft
from townsquare.services.quoting import policy_for
from townsquare.storage import accounts as account_store
from townsquare.storage import scheduled as scheduled_store
from townsquare.storage.job_rows import enqueue

log = logging.getLogger("townsquare.scheduling")
MIN_AHEAD = timedelta(minutes=5)
MAX_PENDING = 300
MAX_PER_DAY = 25
PUBLISH_JOB = "publish_scheduled_status"


def draft_params(draft: posting.Draft, visibility: str, app_id: int | None, idempotency: str | None,
                 media_ids: list[str]) -> dict:
    """The params Mastodon shows for a scheduled status (and that publishing turns back into a Draft)."""
    return {
        "text": draft.text, "spoiler_text": draft.spoiler_text or None, "visibility": visibility,
        "sensitive": draft.sensitive, "language": draft.language, "in_reply_to_id": draft.in_reply_to_id,
        "media_ids": [str(m) for m in media_ids] or None, "poll": draft.poll.as_params() if draft.poll else None,
        "scheduled_at": None, "application_id": app_id, "idempotency": idempotency, "with_rate_limit": False,
        "quoted_status_id": str(draft.quoted_status_id) if draft.quoted_status_id else None,
        "quote_approval_policy": policy_for(draft.quote_approval_policy, visibility),
    }


def draft_from_params(params: dict) -> posting.Draft:
    """Rebuild the Draft a scheduled status stands for."""
    poll = params.get("poll")
    values = dict(
        text=params.get("text") or "", spoiler_text=params.get("spoiler_text") or "",
        visibility=params.get("visibility"), sensitive=params.get("sensitive"), language=params.get("language"),
        in_reply_to_id=params.get("in_reply_to_id"),
        poll=PollDraft(list(poll["options"]), int(poll["expires_in"]), bool(poll.get("multiple")),
                       bool(poll.get("hide_totals"))) if poll else None,
        quoted_status_id=int(params["quoted_status_id"]) if params.get("quoted_status_id") else None,
        quote_approval_policy=params.get("quote_approval_policy"),
    )
    # Media ids pass through to the Draft once it has a field for them (the media part adds it).
    if params.get("media_ids") and "media_ids" in {f.name for f in fields(posting.Draft)}:
        values["media_ids"] = [int(m) for m in params["media_ids"]]
    return posting.Draft(**values)


async def _check_time(conn: AsyncConnection, account_id: int, when: datetime, ignore_id: int | None = None) -> None:
    if when < now() + MIN_AHEAD:
        raise unprocessable("Scheduled at must be at least 5 minutes in the future")
    if await scheduled_store.count_pending(conn, account_id, ignore_id) >= MAX_PENDING:
        raise unprocessable(f"You have exceeded the limit of {MAX_PENDING} scheduled statuses")
    day = when.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if await scheduled_store.count_between(conn, account_id, day, day + timedelta(days=1), ignore_id) >= MAX_PER_DAY:
        raise unprocessable(f"You have exceeded the limit of {MAX_PER_DAY} scheduled statuses for that day")


async def schedule_status(conn: AsyncConnection, author: Account, draft: posting.Draft, when: datetime, *,
                          max_chars: int, app_id: int | None = None, idempotency: str | None = None,
                          media_ids: list[str] | None = None) -> ScheduledStatus:
    """Keep a status to publish later (validated now, as it will be then) with the job that publishes it."""
    posting.check_draft(draft, max_chars)
    await _check_time(conn, author.id, when)
    visibility = draft.visibility or author.default_visibility or "public"
    params = draft_params(draft, visibility, app_id, idempotency, media_ids or [])
    item = await scheduled_store.insert(conn, author.id, when, params)
    await enqueue(conn, PUBLISH_JOB, {"scheduled_status_id": item.id}, run_at=when)
    return item


async def reschedule(conn: AsyncConnection, viewer: Account, scheduled_id: int, when: datetime) -> ScheduledStatus:
    """Move one of the viewer's scheduled statuses to another time (the job at the old time then does nothing)."""
    item = await owned(conn, viewer, scheduled_id)
    await _check_time(conn, viewer.id, when, ignore_id=item.id)
    await scheduled_store.set_time(conn, item.id, when)
    await enqueue(conn, PUBLISH_JOB, {"scheduled_status_id": item.id}, run_at=when)
    item.scheduled_at = when
    return item


async def cancel(conn: AsyncConnection, viewer: Account, scheduled_id: int) -> None:
    """Delete one of the viewer's scheduled statuses."""
    item = await owned(conn, viewer, scheduled_id)
    await scheduled_store.remove(conn, item.id)


async def owned(conn: AsyncConnection, viewer: Account, scheduled_id: int) -> ScheduledStatus:
    """One of the viewer's scheduled statuses, or 404."""
    item = await scheduled_store.get(conn, scheduled_id)
    if item is None or item.account_id != viewer.id:
        raise not_found()
    return item


async def publish_scheduled(conn: AsyncConnection, scheduled_id: int, *, base_url: str, domain: str,
                            max_chars: int) -> int | None:
    """Publish a due scheduled status through post_status and remove it; return the new status id."""
    item = await scheduled_store.get(conn, scheduled_id)
    if item is None or aware(item.scheduled_at) > now() + timedelta(seconds=1):
        return None  # cancelled, or moved later (the job queued by the move publishes it)
    author = await account_store.get(conn, item.account_id)
    status_id = None
    if author is not None and author.is_public:
        params = item.params
        try:
            status_id = await posting.post_status(
                conn, author, draft_from_params(params), base_url=base_url, domain=domain, max_chars=max_chars,
                app_id=params.get("application_id"), idempotency_key=params.get("idempotency"))
        except ApiError as exc:
            # post_status validates before it writes: nothing is half-done. Mastodon drops such a post too.
            log.warning("scheduled status %s could not be published: %s", scheduled_id, exc.error)
    await scheduled_store.remove(conn, item.id)
    return status_id
