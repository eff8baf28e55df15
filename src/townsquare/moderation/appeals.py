"""Account warnings as their account sees them, and the one appeal each warning allows."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.core.ids import new_id
from townsquare.domain.models import Account, AccountWarning
from townsquare.moderation import audit, sanctions
from townsquare.storage import accounts as account_store
from townsquare.core.pagination import apply, ordered
from townsquare.storage.tables import account_warnings, appeals

MAX_APPEAL = 2000


async def load_warnings(conn: AsyncConnection, ids: list[int]) -> dict[int, AccountWarning]:
    """Return warnings by id with their target account and appeal."""
    if not ids:
        return {}
    rows = (await conn.execute(select(account_warnings).where(account_warnings.c.id.in_(ids)))).all()
    found = {r.id: AccountWarning.from_row(r) for r in rows}
    targets = await account_store.get_many(conn, {w.target_account_id for w in found.values()}, include_suspended=True)
    for row in (await conn.execute(select(appeals).where(appeals.c.account_warning_id.in_(ids)))).all():
        found[row.account_warning_id].appeal_text = row.text
        found[row.account_warning_id].appeal_state = row.state
    for warning in found.values():
        warning.target_account = targets.get(warning.target_account_id)
    return found


async def own_warning(conn: AsyncConnection, viewer: Account, warning_id: int) -> AccountWarning:
    """Return a warning addressed to the viewer, or raise 404."""
    warning = (await load_warnings(conn, [warning_id])).get(warning_id)
    if warning is None or warning.target_account_id != viewer.id:
        raise not_found()
    return warning


async def appeal(conn: AsyncConnection, viewer: Account, warning_id: int, text: str) -> AccountWarning:
    """File the single appeal a warning allows."""
    warning = await own_warning(conn, viewer, warning_id)
    text = text.strip()
    if not text:
        raise unprocessable("Text can't be blank")
    if len(text) > MAX_APPEAL:
        raise unprocessable(f"Text is too long (maximum is {MAX_APPEAL} characters)")
    if warning.appeal_state is not None:
        raise unprocessable("This decision has already been appealed")
    if warning.overruled_at is not None:
        raise unprocessable("This decision has already been overruled")
    await conn.execute(appeals.insert().values(
        id=new_id(), account_id=viewer.id, account_warning_id=warning.id, text=text, state="pending", created_at=now()))
    return await own_warning(conn, viewer, warning_id)


def list_query(state: str | None = None):
    """A query of appeals, optionally by state (the caller pages it)."""
    query = select(appeals)
    if state:
        query = query.where(appeals.c.state == state)
    return query


async def decide(conn: AsyncConnection, actor: Account | None, appeal_id: int, approve: bool) -> None:
    """Approve (reversing the sanction) or reject a pending appeal, and log the decision."""
    row = (await conn.execute(select(appeals).where(appeals.c.id == appeal_id))).first()
    if row is None:
        raise not_found()
    if row.state != "pending":
        raise ApiError(403, "This action is not allowed: the appeal has already been decided")
    warning = (await load_warnings(conn, [row.account_warning_id]))[row.account_warning_id]
    target = warning.target_account
    stamp = now()
    if approve and target is not None:
        verb = sanctions.REVERSAL.get(warning.action)
        if verb is not None and getattr(target, sanctions.LIFTS[verb]) is not None:
            await sanctions.lift(conn, actor, target, verb, f"appeal {appeal_id} approved")
        await conn.execute(update(account_warnings).where(account_warnings.c.id == warning.id).values(overruled_at=stamp))
    await conn.execute(update(appeals).where(appeals.c.id == appeal_id).values(
        state="approved" if approve else "rejected", decided_by_account_id=actor.id if actor else None, decided_at=stamp))
    await audit.record(conn, actor, "approve_appeal" if approve else "reject_appeal", "appeal", appeal_id,
                       target.username if target else None, "", warning.category)


async def warnings_for(conn: AsyncConnection, account_id: int, limit: int = 20) -> list[AccountWarning]:
    """Return the newest warnings addressed to an account, with their appeals."""
    ids = [r[0] for r in await conn.execute(select(account_warnings.c.id).where(account_warnings.c.target_account_id == account_id)
                                           .order_by(account_warnings.c.id.desc()).limit(limit))]
    found = await load_warnings(conn, ids)
    return [found[i] for i in ids if i in found]


async def page_rows(conn: AsyncConnection, state: str | None, page) -> list:
    """One page of appeal rows, newest first, optionally by state."""
    return ordered((await conn.execute(apply(list_query(state), appeals.c.id, page))).all(), page)


async def get_row(conn: AsyncConnection, appeal_id: int):
    """Return one appeal row, or None."""
    return (await conn.execute(select(appeals).where(appeals.c.id == appeal_id))).first()
