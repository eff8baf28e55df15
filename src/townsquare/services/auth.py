"""OAuth apps, authorization codes, access tokens and passwords."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import OrderedDict
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import aware, now
from townsquare.core.errors import ApiError
from townsquare.core.ids import new_id
from townsquare.domain.models import READ_SCOPES, WRITE_SCOPES
from townsquare.storage.prepared import Prepared
from townsquare.storage.tables import oauth_apps, oauth_codes, oauth_tokens
from townsquare.timelines.status_cache import invalidate_after_commit

OOB = "urn:ietf:wg:oauth:2.0:oob"
_hasher = PasswordHasher()
ALL_SCOPES = frozenset(
    ["read", "write", "follow", "push", "profile", "admin:read", "admin:write"]
    + [f"read:{s}" for s in READ_SCOPES]
    + [f"write:{s}" for s in WRITE_SCOPES]
    + [f"admin:read:{s}" for s in ("accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks", "email_domain_blocks", "canonical_email_blocks")]
    + [f"admin:write:{s}" for s in ("accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks", "email_domain_blocks", "canonical_email_blocks")]
)


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its stored hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    """The stored form of a token or code: its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(raw: str | list | None, default: str = "read") -> list[str]:
    """Split and validate a scope string; unknown scopes are an error."""
    if isinstance(raw, list):
        raw = " ".join(str(x) for x in raw)
    text = (raw or default).replace("+", " ").replace(",", " ")
    scopes = []
    for scope in text.split():
        if scope not in ALL_SCOPES:
            raise ApiError(400, "invalid_scope", f"The requested scope is invalid, unknown, or malformed: {scope}")
        if scope not in scopes:
            scopes.append(scope)
    return scopes or [default]


def scopes_within(requested: list[str], allowed: list[str]) -> bool:
    """Whether every requested scope is covered by the allowed ones."""
    allowed_set = set(allowed)
    for scope in requested:
        top = scope.split(":")[0]
        if scope in allowed_set or top in allowed_set:
            continue
        if scope.startswith("admin:") and ":".join(scope.split(":")[:2]) in allowed_set:
            continue
        return False
    return True


async def create_app(conn: AsyncConnection, name: str, redirect_uris: list[str], scopes: list[str], website: str | None):
    """Register an OAuth application and return its row."""
    values = dict(
        id=new_id(),
        name=name,
        website=website,
        redirect_uris="\n".join(redirect_uris),
        scopes=" ".join(scopes),
        client_id=secrets.token_urlsafe(32),
        client_secret=secrets.token_urlsafe(32),
        created_at=now(),
    )
    await conn.execute(oauth_apps.insert().values(**values))
    return values


async def app_by_client_id(conn: AsyncConnection, client_id: str | None):
    """Return the app row for a client_id, or None."""
    if not client_id:
        return None
    return (await conn.execute(select(oauth_apps).where(oauth_apps.c.client_id == str(client_id)))).first()


async def app_by_id(conn: AsyncConnection, app_id: int | None):
    """Return the app row with this id, or None."""
    if app_id is None:
        return None
    return (await conn.execute(select(oauth_apps).where(oauth_apps.c.id == app_id))).first()


async def issue_token(conn: AsyncConnection, app_id: int | None, account_id: int | None, scopes: list[str]) -> tuple[str, dict]:
    """Create an access token; returns the secret (shown once) and the stored row values."""
    secret = secrets.token_urlsafe(32)
    values = dict(
        id=new_id(), token_hash=digest(secret), app_id=app_id, account_id=account_id,
        scopes=" ".join(scopes), created_at=now(),
    )
    await conn.execute(oauth_tokens.insert().values(**values))
    return secret, values


class TokenCache:
    """Live token rows by digest, kept in process so a read does not look its token up every time.

    Revocation (and anything changing an account's tokens) invalidates through the after-commit
    channel of timelines.status_cache; `ttl` bounds what another process's missed message could keep.
    """

    def __init__(self, size: int = 10_000, ttl: float = 30.0) -> None:
        self.size, self.ttl = size, ttl
        self.rows: OrderedDict[str, tuple[float, object]] = OrderedDict()

    def get(self, key: str):
        """The cached live row for a digest, or None."""
        found = self.rows.get(key)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def put(self, key: str, row) -> None:
        """Keep a live row for a while."""
        self.rows[key] = (time.monotonic() + self.ttl, row)
        self.rows.move_to_end(key)
        while len(self.rows) > self.size:
            self.rows.popitem(last=False)

    def apply(self, message: dict) -> None:
        """Drop revoked tokens, and every token of the accounts named."""
        for key in message.get("tokens") or ():
            self.rows.pop(key, None)
        accounts = {int(a) for a in message.get("accounts") or ()}
        if accounts or message.get("all"):
            for key in [k for k, (_, row) in self.rows.items() if message.get("all") or row.account_id in accounts]:
                del self.rows[key]


_LIVE_TOKEN = Prepared(select(oauth_tokens).where(and_(oauth_tokens.c.token_hash == bindparam("key"),
                                                        oauth_tokens.c.revoked_at.is_(None))))


async def lookup_token(db, secret: str, cache: TokenCache | None = None):
    """Return the live token row for a bearer secret as last committed, or None (from the cache when it holds it).

    One point read of its own (a Prepared read: on SQLite, the database's reader; storage/prepared.py).
    """
    key = digest(secret)
    if cache is not None:
        row = cache.get(key)
        if row is not None:
            return row
    rows = await _LIVE_TOKEN.read(db, {"key": key})
    row = rows[0] if rows else None
    if row is not None and cache is not None:
        cache.put(key, row)
    return row


async def revoke_token(conn: AsyncConnection, secret: str, app_id: int | None = None) -> None:
    """Revoke a token (silently succeeds for unknown tokens, as RFC 7009 asks)."""
    cond = oauth_tokens.c.token_hash == digest(secret)
    if app_id is not None:
        cond = and_(cond, oauth_tokens.c.app_id == app_id)
    await conn.execute(update(oauth_tokens).where(cond).values(revoked_at=now()))
    invalidate_after_commit(conn, tokens=[digest(secret)])


async def create_code(conn: AsyncConnection, app_id: int, account_id: int, scopes: list[str], redirect_uri: str,
                      challenge: str | None, method: str | None) -> str:
    """Create a single-use authorization code valid for ten minutes."""
    code = secrets.token_urlsafe(32)
    await conn.execute(
        oauth_codes.insert().values(
            id=new_id(), code_hash=digest(code), app_id=app_id, account_id=account_id, scopes=" ".join(scopes),
            redirect_uri=redirect_uri, code_challenge=challenge, code_challenge_method=method,
            expires_at=now() + timedelta(minutes=10), used=False,
        )
    )
    return code


def _pkce_ok(challenge: str | None, method: str | None, verifier: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    if (method or "plain").upper() == "S256":
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        return secrets.compare_digest(computed, challenge)
    return secrets.compare_digest(verifier, challenge)


async def redeem_code(conn: AsyncConnection, app_id: int, code: str, redirect_uri: str | None, verifier: str | None):
    """Exchange an authorization code for its row, marking it used; raises invalid_grant on any mismatch."""
    row = (await conn.execute(select(oauth_codes).where(oauth_codes.c.code_hash == digest(code or "")))).first()
    bad = ApiError(400, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
    if row is None or row.used or row.app_id != app_id or aware(row.expires_at) < now():
        raise bad
    if redirect_uri and redirect_uri != row.redirect_uri:
        raise bad
    if not _pkce_ok(row.code_challenge, row.code_challenge_method, verifier):
        raise bad
    await conn.execute(update(oauth_codes).where(oauth_codes.c.id == row.id).values(used=True))
    return row
