"""Quotes (Mastodon 4.5): who may quote what, recording a quote with its notification, and revoking one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.domain.models import Account, Status
from townsquare.services.notify import notify
from townsquare.storage import quotes as quote_store
from townsquare.storage import statuses as status_store
from townsquare.timelines.events import publish_status_edited
from townsquare.timelines.status_cache import invalidate_after_commit

POLICIES = quote_store.POLICIES


def check_policy(policy: str | None) -> None:
    """Refuse a quote_approval_policy Mastodon does not know."""
    if policy is not None and policy not in POLICIES:
        raise unprocessable("Quote approval policy is not included in the list")


def policy_for(requested: str | None, visibility: str) -> str:
    """The policy a new status gets: what was asked (public by default), always nobody when private or direct."""
    if visibility in ("private", "direct"):
        return "nobody"
    return requested or "public"


async def change_policy(conn: AsyncConnection, status_id: int, requested: str, visibility: str) -> None:
    """Change who may quote a status (an edit may do it); quotes already made stay."""
    await quote_store.set_policy(conn, status_id, policy_for(requested, visibility))


async def quotable(conn: AsyncConnection, author: Account, quoted_status_id: int) -> Status:
    """Return the status the author may quote, or raise 404 (unseen) / 422 (its policy refuses)."""
    target = await status_store.get_visible(conn, quoted_status_id, author.id)
    if target is None:
        raise not_found()
    if target.reblog is not None:
        target = target.reblog  # quoting a reblog quotes the original, as reblogging one does
    if target.visibility == "direct":
        raise unprocessable("Private mentions cannot be quoted")
    if target.account_id == author.id:
        return target
    policy = quote_store.effective_policy(target)
    allowed = policy == "public" or (policy == "followers" and await quote_store.follows_account(conn, author.id, target.account_id))
    if not allowed:
        raise unprocessable("You are not allowed to quote this post")
    return target


def visibility_with_quote(visibility: str, quoted: Status | None) -> str:
    """Quoting a followers-only post keeps the quote at followers-only (or direct) too."""
    if quoted is not None and quoted.visibility == "private" and visibility in ("public", "unlisted"):
        return "private"
    return visibility


async def record_quote(conn: AsyncConnection, author: Account, status_id: int, quoted: Status) -> None:
    """Record an accepted quote and notify the quoted author."""
    await quote_store.insert(conn, status_id, author.id, quoted.id, quoted.account_id)
    invalidate_after_commit(conn, [quoted.id])  # its quotes_count
    await notify(conn, quoted.account_id, author.id, "quote", status_id)


async def notify_quoters(conn: AsyncConnection, author: Account, status_id: int) -> None:
    """Tell those who quoted a status that it was edited (`quoted_update`, on their quoting status)."""
    for quoting_id, account_id in await quote_store.quoters(conn, status_id):
        await notify(conn, account_id, author.id, "quoted_update", quoting_id)


async def revoke_quote(conn: AsyncConnection, viewer: Account, quoted_status_id: int, quoting_status_id: int,
                       hybrid_threshold: int = 10_000) -> None:
    """Let the quoted author withdraw their post from someone's quote; the quote then shows as revoked."""
    quoted = await owned_status(conn, viewer, quoted_status_id)
    row = await quote_store.get_row(conn, quoting_status_id)
    if row is None or row.quoted_status_id != quoted.id:
        raise not_found()
    if row.state == "revoked":
        return
    await quote_store.set_state(conn, quoting_status_id, "revoked")
    invalidate_after_commit(conn, [quoted.id])  # its quotes_count
    quoting = await status_store.get_row(conn, quoting_status_id)
    if quoting is not None:
        await publish_status_edited(conn, Status.from_row(quoting), hybrid_threshold)


async def owned_status(conn: AsyncConnection, viewer: Account, status_id: int) -> Status:
    """A status of the viewer's own (404 if unseen, 403 if someone else's), as the quote routes need."""
    target = await status_store.get_visible(conn, status_id, viewer.id)
    if target is None or target.reblog_of_id is not None:
        raise not_found()
    if target.account_id != viewer.id:
        raise ApiError(403, "This action is not allowed")
    return target
