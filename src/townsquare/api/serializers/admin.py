"""Admin entities (Admin::Account, Admin::Report), AccountWarning, Report, appeals and log entries."""

from __future__ import annotations

from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.accounts import account_warning
from townsquare.api.serializers.statuses import status as render_status
from townsquare.core.clock import iso
from townsquare.core.ids import render_id
from townsquare.domain.models import Account, AccountWarning

__all__ = ["account_warning", "admin_account", "admin_report", "report", "appeal", "action_log", "public_log_entry", "role"]

ROLE_IDS = {"user": "-99", "moderator": "2", "admin": "3"}


def role(a: Account) -> dict:
    """Render the Role entity of an account."""
    return {
        "id": ROLE_IDS.get(a.role, "-99"),
        "name": a.role if a.role != "user" else "",
        "permissions": "1" if a.role == "admin" else ("1024" if a.role == "moderator" else "0"),
        "color": "",
        "highlighted": a.role != "user",
    }


def admin_account(a: Account, base_url: str, reason: str | None = None) -> dict:
    """Render an Admin::Account entity (what moderators see of an account)."""
    return {
        "id": render_id(a.id),
        "username": a.username,
        "domain": None,
        "created_at": iso(a.created_at),
        "email": a.email or "",
        "ip": None,
        "ips": [],
        "locale": a.locale or "",
        "invite_request": reason,
        "role": role(a),
        "confirmed": True,
        "approved": bool(a.approved),
        "disabled": a.disabled_at is not None,
        "silenced": a.silenced_at is not None,
        "suspended": a.suspended_at is not None,
        "sensitized": a.sensitized_at is not None,
        "account": render_account(a, base_url),
        "created_by_application_id": None,
        "invited_by_account_id": None,
    }


def _ids(values) -> list[str]:
    return [str(v) for v in (values or [])]


def report(row, target: Account, base_url: str) -> dict:
    """Render the Report entity the reporter sees."""
    return {
        "id": render_id(row.id),
        "action_taken": row.action_taken_at is not None,
        "action_taken_at": iso(row.action_taken_at),
        "category": row.category,
        "comment": row.comment,
        "forwarded": bool(row.forwarded),
        "created_at": iso(row.created_at),
        "status_ids": _ids(row.status_ids) or None,
        "rule_ids": _ids(row.rule_ids) or None,
        "target_account": render_account(target, base_url),
    }


def admin_report(row, accounts: dict[int, Account], statuses: list, base_url: str) -> dict:
    """Render an Admin::Report entity with its accounts and reported statuses."""
    def who(account_id):
        return admin_account(accounts[account_id], base_url) if account_id in accounts else None

    return {
        "id": render_id(row.id),
        "action_taken": row.action_taken_at is not None,
        "action_taken_at": iso(row.action_taken_at),
        "category": row.category,
        "comment": row.comment,
        "forwarded": bool(row.forwarded),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "account": who(row.account_id),
        "target_account": who(row.target_account_id),
        "assigned_account": who(row.assigned_account_id),
        "action_taken_by_account": who(row.action_taken_by_account_id),
        "statuses": [render_status(s, base_url) for s in statuses],
        "rules": [],
    }


def appeal(row, warning: AccountWarning, target: Account | None, base_url: str) -> dict:
    """Render an appeal for moderators (an extension: Mastodon has no admin appeals API)."""
    return {
        "id": render_id(row.id),
        "text": row.text,
        "state": row.state,
        "created_at": iso(row.created_at),
        "decided_at": iso(row.decided_at),
        "account_warning": account_warning(warning, base_url),
        "account": admin_account(target, base_url) if target else None,
    }


def action_log(row) -> dict:
    """Render one audit log entry in full (admin only)."""
    return {
        "id": render_id(row.id),
        "action": row.action,
        "actor": row.actor,
        "account_id": render_id(row.account_id) if row.account_id else None,
        "target_type": row.target_type,
        "target_id": render_id(row.target_id) if row.target_id else None,
        "target_handle": row.target_handle,
        "category": row.category,
        "reason": row.reason,
        "created_at": iso(row.created_at),
    }


def public_log_entry(row, show_targets: bool) -> dict:
    """Render one log entry for the public transparency view: action and category, the target only if configured."""
    return {
        "id": render_id(row.id),
        "action": row.action,
        "target_type": row.target_type,
        "category": row.category,
        "target": row.target_handle if show_targets else None,
        "created_at": iso(row.created_at),
    }
