"""Sanctions on accounts: warn, mark sensitive, disable, silence, suspend, and lifting each again.

A sanction only sets a timestamp on the account; every reader hides what it must at query
time (see policy.py), so lifting a sanction gives back everything exactly as it was.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found
from townsquare.core.ids import new_id
from townsquare.domain.models import Account
from townsquare.moderation import audit
from townsquare.storage import accounts as account_store
from townsquare.storage.job_rows import enqueue
from townsquare.storage.tables import account_warnings, accounts, notifications, reports

# action type -> the account column it sets (none: a warning only)
ACTIONS = {"none": None, "sensitive": "sensitized_at", "disable": "disabled_at", "silence": "silenced_at", "suspend": "suspended_at"}
# lifting verb -> the column it clears
LIFTS = {"unsensitive": "sensitized_at", "enable": "disabled_at", "unsilence": "silenced_at", "unsuspend": "suspended_at"}
REVERSAL = {"sensitive": "unsensitive", "disable": "enable", "silence": "unsilence", "suspend": "unsuspend"}
PURGE_JOB = "purge_suspended_account"


def check_may_act(actor: Account | None, target: Account) -> None:
    """Refuse actions on oneself, and moderators acting on staff (only admins may)."""
    if actor is None:
        return
    if actor.id == target.id:
        raise ApiError(403, "This action is not allowed: you cannot moderate your own account")
    if target.is_staff and actor.role != "admin":
        raise ApiError(403, "This action is not allowed: only administrators may moderate staff")


async def load_target(conn: AsyncConnection, account_id: int) -> Account:
    """Return any local account, suspended or not, or raise 404 (for staff eyes only)."""
    account = await account_store.get(conn, account_id)
    if account is None:
        raise not_found()
    return account


async def take_action(conn: AsyncConnection, actor: Account | None, target: Account, kind: str, *, text: str = "",
                      report_id: int | None = None, status_ids: list[int] | None = None, category: str | None = None,
                      retention_days: int | None = None, notify: bool = True) -> int:
    """Apply a sanction, warn the account, resolve the report and log it; return the warning's id."""
    if kind not in ACTIONS:
        raise ApiError(422, "Validation failed: type must be one of none, sensitive, disable, silence, suspend")
    if category not in (None, *audit.CATEGORIES):
        raise ApiError(422, "Validation failed: category must be spam, legal, violation or other")
    check_may_act(actor, target)
    report = None
    if report_id is not None:
        report = (await conn.execute(reports.select().where(reports.c.id == report_id))).first()
        if report is None or report.target_account_id != target.id:
            raise ApiError(404, "Record not found")
    status_ids = list(status_ids or (report.status_ids if report is not None else []) or [])
    category = category or (report.category if report is not None else "other")
    stamp = now()
    column = ACTIONS[kind]
    if column is not None:
        await conn.execute(update(accounts).where(accounts.c.id == target.id).values(**{column: stamp}))
    if report is not None:
        await conn.execute(update(reports).where(reports.c.id == report.id).values(
            action_taken_at=stamp, action_taken_by_account_id=actor.id if actor else None, updated_at=stamp))
    warning_id = new_id()
    await conn.execute(account_warnings.insert().values(
        id=warning_id, account_id=actor.id if actor else None, target_account_id=target.id, action=kind, text=text or "",
        status_ids=[str(s) for s in status_ids], report_id=report_id, category=category, created_at=stamp))
    if notify:
        await conn.execute(notifications.insert().values(
            id=new_id(), account_id=target.id, from_account_id=target.id, type="moderation_warning", status_id=None,
            account_warning_id=warning_id, created_at=stamp))
    await audit.record(conn, actor, "warn" if kind == "none" else kind, "account", target.id, target.username, text, category)
    if kind == "suspend" and retention_days is not None:
        await schedule_purge(conn, target.id, stamp, retention_days)
    return warning_id


async def schedule_purge(conn: AsyncConnection, account_id: int, suspended_at, retention_days: int) -> None:
    """Enqueue the durable job that purges this suspension's account once the retention period is over."""
    await enqueue(conn, PURGE_JOB, {"account_id": account_id, "suspended_at": suspended_at.isoformat()},
                  run_at=suspended_at + timedelta(days=retention_days))


async def lift(conn: AsyncConnection, actor: Account | None, target: Account, verb: str, reason: str = "") -> Account:
    """Lift a sanction (enable, unsilence, unsensitive, unsuspend), log it, and return the account."""
    if verb not in LIFTS:
        raise ApiError(422, f"Validation failed: unknown action {verb}")
    check_may_act(actor, target)
    column = LIFTS[verb]
    if verb == "unsuspend" and target.suspended_at is None:
        raise ApiError(403, "This action is not allowed: the account is not suspended")
    await conn.execute(update(accounts).where(accounts.c.id == target.id).values(**{column: None}))
    await audit.record(conn, actor, verb, "account", target.id, target.username, reason)
    return await account_store.get(conn, target.id)


async def approve(conn: AsyncConnection, actor: Account | None, target: Account) -> Account:
    """Approve a pending sign-up."""
    if target.approved:
        raise ApiError(403, "This action is not allowed: the account is not pending approval")
    await conn.execute(update(accounts).where(accounts.c.id == target.id).values(approved=True))
    await audit.record(conn, actor, "approve", "account", target.id, target.username)
    return await account_store.get(conn, target.id)


async def reject(conn: AsyncConnection, actor: Account | None, target: Account) -> None:
    """Reject a pending sign-up, deleting the account that never got in."""
    if target.approved:
        raise ApiError(403, "This action is not allowed: the account is not pending approval")
    await audit.record(conn, actor, "reject", "account", target.id, target.username)
    await conn.execute(accounts.delete().where(accounts.c.id == target.id))
