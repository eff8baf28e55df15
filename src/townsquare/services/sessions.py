"""Browser sessions: each one is an access token of the built-in web app, so signing out revokes it like any token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.domain.models import Account
from townsquare.services import auth
from townsquare.services.accounts import create_account
from townsquare.storage import accounts as account_store
from townsquare.storage import viewers as viewer_store
from townsquare.storage.tables import accounts, oauth_apps, oauth_tokens
from townsquare.timelines.status_cache import invalidate_after_commit

WEB_CLIENT_ID = "townsquare-web"
WEB_APP_NAME = "Web"
SESSION_SCOPES = ["read", "write", "follow", "push"]


async def web_app_id(conn: AsyncConnection) -> int:
    """Return the id of the built-in web app (created on first use), the app every browser session belongs to."""
    row = (await conn.execute(select(oauth_apps.c.id).where(oauth_apps.c.client_id == WEB_CLIENT_ID))).first()
    if row is not None:
        return row.id
    values = await auth.create_app(conn, WEB_APP_NAME, [auth.OOB], SESSION_SCOPES, None)
    await conn.execute(update(oauth_apps).where(oauth_apps.c.id == values["id"]).values(client_id=WEB_CLIENT_ID))
    return values["id"]


async def start_session(conn: AsyncConnection, account: Account) -> str:
    """Issue a session token for an account and return its secret (kept only in the browser's cookie)."""
    secret, _ = await auth.issue_token(conn, await web_app_id(conn), account.id, SESSION_SCOPES)
    return secret


async def sign_in(conn: AsyncConnection, login: str, password: str) -> tuple[str, Account]:
    """Check a login and password and start a session; a suspended account may sign in to read and appeal its warning."""
    account = await account_store.by_login(conn, login or "")
    if account is None or not auth.verify_password(account.password_hash, password or ""):
        raise ApiError(401, "Invalid username, e-mail or password.")
    if account.disabled_at is not None:
        raise ApiError(403, "Your login is currently disabled.")
    return await start_session(conn, account), account


async def sign_up(conn: AsyncConnection, mode: str, username: str, email: str, password: str,
                  reason: str | None, agreed: bool) -> tuple[str, Account]:
    """Create an account as the registrations mode allows (open, approval, closed) and start its session."""
    if mode == "closed":
        raise ApiError(403, "Registrations are closed on this server.")
    if not agreed:
        raise unprocessable("Agreement must be accepted")
    if mode == "approval" and not (reason or "").strip():
        raise unprocessable("Reason can't be blank")
    account = await create_account(conn, username, email, password, approved=mode == "open", reason=reason)
    return await start_session(conn, account), account


async def session_viewer(conn: AsyncConnection, secret: str | None) -> tuple[int, Account, int] | None:
    """Return (token id, account, unread notifications) of a live session secret in one query, or None."""
    if not secret:
        return None
    return await viewer_store.session_viewer(conn, auth.digest(secret))


async def sign_out(conn: AsyncConnection, secret: str) -> None:
    """End a session: its token is revoked, so the cookie is worthless even if copied."""
    await auth.revoke_token(conn, secret)


async def change_password(conn: AsyncConnection, account: Account, current: str, new: str, keep_token_id: int) -> None:
    """Change a password after checking the current one, and revoke every other token of the account."""
    if not auth.verify_password(account.password_hash, current or ""):
        raise unprocessable("Current password is invalid")
    if len(new or "") < 8:
        raise unprocessable("Password is too short (minimum is 8 characters)")
    if len(new) > 72 * 4:
        raise unprocessable("Password is too long")
    await conn.execute(update(accounts).where(accounts.c.id == account.id).values(password_hash=auth.hash_password(new)))
    await conn.execute(update(oauth_tokens).where(and_(
        oauth_tokens.c.account_id == account.id, oauth_tokens.c.id != keep_token_id, oauth_tokens.c.revoked_at.is_(None)))
        .values(revoked_at=now()))
    invalidate_after_commit(conn, account_ids=[account.id])  # their cached tokens too


def new_csrf_seed() -> str:
    """A random value for the CSRF cookie."""
    return secrets.token_urlsafe(24)


@dataclass
class Authorization:
    """One live access token of an account: a browser session of the web app, or an app the account authorised."""

    token_id: int
    app_id: int | None
    app_name: str
    website: str | None
    scopes: list[str]
    created_at: datetime
    web: bool


async def authorizations(conn: AsyncConnection, account_id: int) -> list[Authorization]:
    """Every live token of an account with its app, newest first (the settings page's apps and sessions)."""
    query = (select(oauth_tokens.c.id, oauth_tokens.c.app_id, oauth_tokens.c.scopes, oauth_tokens.c.created_at,
                    oauth_apps.c.name, oauth_apps.c.website, oauth_apps.c.client_id)
             .select_from(oauth_tokens.outerjoin(oauth_apps, oauth_apps.c.id == oauth_tokens.c.app_id))
             .where(and_(oauth_tokens.c.account_id == account_id, oauth_tokens.c.revoked_at.is_(None)))
             .order_by(oauth_tokens.c.id.desc()))
    return [Authorization(token_id=r.id, app_id=r.app_id, app_name=r.name or "Unknown app", website=r.website,
                          scopes=(r.scopes or "").split(), created_at=r.created_at, web=r.client_id == WEB_CLIENT_ID)
            for r in (await conn.execute(query)).all()]


async def _revoke_live(conn: AsyncConnection, account_id: int, which) -> None:
    """Revoke the account's live tokens matching `which` (404 when there are none)."""
    done = await conn.execute(update(oauth_tokens).where(and_(
        which, oauth_tokens.c.account_id == account_id, oauth_tokens.c.revoked_at.is_(None))).values(revoked_at=now()))
    if not done.rowcount:
        raise not_found()
    invalidate_after_commit(conn, account_ids=[account_id])  # a cached token must not outlive its revocation


async def revoke_own_token(conn: AsyncConnection, account_id: int, token_id: int) -> None:
    """Revoke one live token of the account (404 for another account's or an already revoked token)."""
    await _revoke_live(conn, account_id, oauth_tokens.c.id == token_id)


async def revoke_app(conn: AsyncConnection, account_id: int, app_id: int) -> None:
    """Revoke every live token the account gave one app (404 when it gave it none); the web app is not an app here."""
    app = await auth.app_by_id(conn, app_id)
    if app is None or app.client_id == WEB_CLIENT_ID:
        raise not_found()
    await _revoke_live(conn, account_id, oauth_tokens.c.app_id == app_id)
