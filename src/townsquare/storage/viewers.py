"""Who a page is for: a browser session's token, its account and its unread notification count, in one query.

Every signed-in page needs all three (the nav shows the unread badge), so they come back in a single
statement instead of four (token, account, marker, count).
"""

from __future__ import annotations

from sqlalchemy import and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Account
from townsquare.moderation.policy import not_suspended_sender
from townsquare.storage.tables import accounts, markers, notifications, oauth_tokens

UNREAD_CAP = 100


def _unread(token_hash: str, cap: int):
    """How many notifications are newer than the account's notifications marker (at most `cap`)."""
    owner = select(oauth_tokens.c.account_id).where(oauth_tokens.c.token_hash == token_hash).scalar_subquery()
    last_read = (select(markers.c.last_read_id)
                 .where(and_(markers.c.account_id == owner, markers.c.timeline == "notifications")).scalar_subquery())
    newer = (select(notifications.c.id).where(notifications.c.account_id == owner).where(not_suspended_sender())
             .where(notifications.c.id > func.coalesce(last_read, literal(-1))).limit(cap).subquery())
    return select(func.count()).select_from(newer).scalar_subquery()


async def session_viewer(conn: AsyncConnection, token_hash: str, cap: int = UNREAD_CAP) -> tuple[int, Account, int] | None:
    """(token id, account, unread notifications) of a live token, or None for an unknown, revoked or account-less one."""
    row = (await conn.execute(
        select(oauth_tokens.c.id.label("session_token_id"), _unread(token_hash, cap).label("session_unread"), accounts)
        .join_from(oauth_tokens, accounts, accounts.c.id == oauth_tokens.c.account_id)
        .where(and_(oauth_tokens.c.token_hash == token_hash, oauth_tokens.c.revoked_at.is_(None))))).first()
    if row is None:
        return None
    return row.session_token_id, Account.from_row(row), int(row.session_unread or 0)
