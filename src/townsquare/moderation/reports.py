"""Reports: filed by users about an account (and some of its statuses), handled by moderators."""

from __future__ import annotations

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.core.ids import new_id
from townsquare.domain.models import Account
from townsquare.moderation import audit
from townsquare.core.pagination import apply, ordered
from townsquare.storage.tables import reports, statuses

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT = 1000


async def create_report(conn: AsyncConnection, reporter: Account, target: Account, status_ids: list[int], category: str | None,
                        rule_ids: list[str], comment: str, known_rules: set[str]) -> int:
    """File a report after checking its statuses belong to the reported account; return its id."""
    if target.id == reporter.id:
        raise unprocessable("You cannot report yourself")
    category = category or ("violation" if rule_ids else "other")
    if category not in CATEGORIES:
        raise unprocessable("Category is not included in the list")
    if len(comment) > MAX_COMMENT:
        raise unprocessable(f"Comment is too long (maximum is {MAX_COMMENT} characters)")
    unknown = [r for r in rule_ids if r not in known_rules]
    if unknown or (category == "violation" and known_rules and not rule_ids):
        raise unprocessable("Rule ids must name the server's rules when the category is violation")
    if len(status_ids) > 100:
        raise unprocessable("At most 100 statuses can be reported at once")
    if status_ids:
        owned = {r[0] for r in await conn.execute(select(statuses.c.id).where(
            and_(statuses.c.id.in_(status_ids), statuses.c.account_id == target.id)))}
        if owned != set(status_ids):
            raise unprocessable("Statuses must belong to the reported account")
    stamp = now()
    report_id = new_id()
    await conn.execute(reports.insert().values(
        id=report_id, account_id=reporter.id, target_account_id=target.id, status_ids=[str(s) for s in status_ids],
        rule_ids=list(rule_ids) if category == "violation" else [], category=category, comment=comment,
        forwarded=False, created_at=stamp, updated_at=stamp))  # no federation yet: nowhere to forward to
    return report_id


async def get(conn: AsyncConnection, report_id: int):
    """Return a report row or raise 404."""
    row = (await conn.execute(select(reports).where(reports.c.id == report_id))).first()
    if row is None:
        raise not_found()
    return row


def list_query(resolved: bool | None = None, account_id: int | None = None, target_account_id: int | None = None):
    """A query of reports with Mastodon's admin filters (the caller pages it)."""
    query = select(reports)
    if resolved is not None:
        query = query.where(reports.c.action_taken_at.is_not(None) if resolved else reports.c.action_taken_at.is_(None))
    if account_id is not None:
        query = query.where(reports.c.account_id == account_id)
    if target_account_id is not None:
        query = query.where(reports.c.target_account_id == target_account_id)
    return query


async def change(conn: AsyncConnection, actor: Account | None, report_id: int, verb: str, reason: str = "", **values) -> None:
    """Apply one of assign_to_self, unassign, resolve, reopen or update to a report, and log it."""
    row = await get(conn, report_id)
    stamp = now()
    if verb == "assign_to_self":
        if actor is None:
            raise ApiError(422, "Validation failed: a report can only be assigned to an account")
        values = {"assigned_account_id": actor.id}
    elif verb == "unassign":
        values = {"assigned_account_id": None}
    elif verb == "resolve":
        values = {"action_taken_at": stamp, "action_taken_by_account_id": actor.id if actor else None}
    elif verb == "reopen":
        values = {"action_taken_at": None, "action_taken_by_account_id": None}
    elif verb == "update":
        category = values.get("category") or row.category
        if category not in CATEGORIES:
            raise unprocessable("Category is not included in the list")
        if values.get("rule_ids"):
            raise unprocessable("Rule ids must name the server's rules, and this server has none")
        values = {"category": category, "rule_ids": []}
    else:
        raise ApiError(404, "Record not found")
    await conn.execute(update(reports).where(reports.c.id == report_id).values(updated_at=stamp, **values))
    await audit.record(conn, actor, f"{verb}_report", "report", report_id, None, reason, row.category)


async def list_reports(conn: AsyncConnection, resolved: bool | None, limit: int = 50) -> list:
    """Return report rows, newest first, open or resolved."""
    return (await conn.execute(list_query(resolved).order_by(reports.c.id.desc()).limit(limit))).all()


async def page_rows(conn: AsyncConnection, page, resolved: bool | None = None, account_id: int | None = None,
                    target_account_id: int | None = None) -> list:
    """One page of report rows, newest first, with Mastodon's admin filters."""
    query = list_query(resolved, account_id, target_account_id)
    return ordered((await conn.execute(apply(query, reports.c.id, page))).all(), page)
