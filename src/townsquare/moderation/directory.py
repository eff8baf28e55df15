"""The admin's view of accounts: Mastodon's v1 and v2 list filters as one query."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from townsquare.core.errors import ApiError
from townsquare.core.pagination import apply, ordered
from townsquare.storage.tables import accounts

ROLE_BY_ID = {"-99": "user", "2": "moderator", "3": "admin"}


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _status(query, status: str):
    c = accounts.c
    conditions = {
        "active": (c.approved.is_(True), c.suspended_at.is_(None)),
        "pending": (c.approved.is_(False),),
        "disabled": (c.disabled_at.is_not(None),),
        "silenced": (c.silenced_at.is_not(None),),
        "suspended": (c.suspended_at.is_not(None),),
        "sensitized": (c.sensitized_at.is_not(None),),
    }
    if status not in conditions:
        raise ApiError(422, f"Validation failed: unknown status {status}")
    return query.where(*conditions[status])


def account_query(*, origin: str | None = None, statuses: list[str] = (), staff: bool = False, role_ids: list[str] = (),
                  username: str | None = None, display_name: str | None = None, email: str | None = None,
                  ip: str | None = None, by_domain: str | None = None):
    """Select accounts matching the admin filters (all local: remote origin and domains match nothing)."""
    c = accounts.c
    query = select(accounts)
    if origin not in (None, "", "local", "remote"):
        raise ApiError(422, "Validation failed: origin must be local or remote")
    if origin == "remote" or by_domain or ip:
        query = query.where(c.id < 0)  # no federation and no IP records: nothing matches
    for status in statuses:
        query = _status(query, status)
    if staff:
        query = query.where(c.role.in_(("admin", "moderator")))
    if role_ids:
        query = query.where(c.role.in_([ROLE_BY_ID.get(str(r), "?") for r in role_ids]))
    if username:
        query = query.where(c.username_lower.like(_like(username), escape="\\"))
    if display_name:
        query = query.where(func.lower(c.display_name).like(_like(display_name), escape="\\"))
    if email:
        query = query.where(or_(func.lower(c.email).like(_like(email), escape="\\")))
    return query


async def page_rows(conn, page, **filters) -> list:
    """One page of account rows (with registration_reason) matching the admin filters, newest first."""
    return ordered((await conn.execute(apply(account_query(**filters), accounts.c.id, page))).all(), page)


async def account_row(conn, account_id: int):
    """One account row as moderators see it (with registration_reason), or None."""
    return (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
