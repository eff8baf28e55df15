"""Account rows: reads and writes that return domain Accounts."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, exists, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Account
from townsquare.storage.prepared import Prepared
from townsquare.storage.tables import accounts, follows, statuses


# Built once: every read looks accounts up by id, and building the statement cost more than running it.
_BY_ID = select(accounts).where(accounts.c.id == bindparam("account_id"))
_BY_IDS = select(accounts).where(accounts.c.id.in_(bindparam("ids", expanding=True)))
_BY_IDS_UNSUSPENDED = _BY_IDS.where(accounts.c.suspended_at.is_(None))


_BY_ID_PREPARED = Prepared(_BY_ID)


async def get(conn: AsyncConnection, account_id: int) -> Account | None:
    """Return the account with this id, or None."""
    rows = await _BY_ID_PREPARED.run(conn, {"account_id": account_id})
    return Account.from_row(rows[0]) if rows else None


async def get_now(db, account_id: int) -> Account | None:
    """Return the account with this id as last committed, or None (no connection of the caller's: storage/prepared.py)."""
    rows = await _BY_ID_PREPARED.read(db, {"account_id": account_id})
    return Account.from_row(rows[0]) if rows else None


async def get_many(conn: AsyncConnection, ids: set[int] | list[int], include_suspended: bool = False) -> dict[int, Account]:
    """Return accounts by id for a set of ids (suspended ones only when asked: others must not see them)."""
    if not ids:
        return {}
    rows = (await conn.execute(_BY_IDS if include_suspended else _BY_IDS_UNSUSPENDED, {"ids": list(ids)})).all()
    return {r.id: Account.from_row(r) for r in rows}


async def by_username(conn: AsyncConnection, username: str) -> Account | None:
    """Return the local account with this username (case-insensitive), or None."""
    name = username.lstrip("@").split("@")[0].lower()
    row = (await conn.execute(select(accounts).where(accounts.c.username_lower == name))).first()
    return Account.from_row(row) if row else None


async def by_login(conn: AsyncConnection, login: str) -> Account | None:
    """Return the account whose email or username matches a login name."""
    value = login.strip().lower()
    row = (
        await conn.execute(
            select(accounts).where(or_(func.lower(accounts.c.email) == value, accounts.c.username_lower == value.lstrip("@")))
        )
    ).first()
    return Account.from_row(row) if row else None


async def search(conn: AsyncConnection, query: str, limit: int, offset: int = 0,
                 followed_by: int | None = None) -> list[Account]:
    """Find accounts whose username or display name contains the query (only those followed_by follows, if given)."""
    q = query.lstrip("@").split("@")[0].lower()
    if not q:
        return []
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    exact = accounts.c.username_lower == q
    rows = (
        await conn.execute(
            select(accounts)
            .where(accounts.c.approved.is_(True))
            .where(accounts.c.suspended_at.is_(None))
            .where(or_(accounts.c.username_lower.like(pattern, escape="\\"), func.lower(accounts.c.display_name).like(pattern, escape="\\")))
            .where(true() if followed_by is None else exists().where(
                and_(follows.c.account_id == followed_by, follows.c.target_account_id == accounts.c.id)))
            .order_by(exact.desc(), accounts.c.followers_count.desc(), accounts.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [Account.from_row(r) for r in rows]


async def bump(conn: AsyncConnection, account_id: int, **deltas: int) -> None:
    """Add to an account's counters (statuses_count, followers_count, following_count)."""
    values = {name: getattr(accounts.c, name) + delta for name, delta in deltas.items()}
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


async def suspended(conn: AsyncConnection, limit: int = 100) -> list[Account]:
    """Return the most recently suspended accounts."""
    rows = (await conn.execute(select(accounts).where(accounts.c.suspended_at.is_not(None))
                               .order_by(accounts.c.suspended_at.desc()).limit(limit))).all()
    return [Account.from_row(r) for r in rows]


PROFILE_IMAGES = ("avatar", "header")


async def set_profile_image(conn: AsyncConnection, account_id: int, kind: str, **values) -> None:
    """Change an account's avatar or header: its stored file and/or its alt text (`file`, `description`)."""
    if kind not in PROFILE_IMAGES:
        raise ValueError(kind)
    await conn.execute(update(accounts).where(accounts.c.id == account_id)
                       .values(**{f"{kind}_{name}": value for name, value in values.items()}))


async def instance_usage(conn: AsyncConnection) -> tuple[int, int, object]:
    """(approved users, original posts, the first admin's account row or None)."""
    users = (await conn.execute(select(func.count()).select_from(accounts).where(accounts.c.approved.is_(True)))).scalar_one()
    posts = (await conn.execute(select(func.count()).select_from(statuses).where(statuses.c.reblog_of_id.is_(None)))).scalar_one()
    admin = (await conn.execute(select(accounts).where(accounts.c.role == "admin").order_by(accounts.c.id).limit(1))).first()
    return users, posts, admin
