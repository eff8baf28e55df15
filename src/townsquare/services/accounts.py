"""Creating accounts and changing their profiles and settings."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import ApiError, unprocessable
from townsquare.core.ids import new_id
from townsquare.domain.models import VISIBILITIES, Account
from townsquare.media import profile_images
from townsquare.services.auth import hash_password
from townsquare.storage import accounts as account_store
from townsquare.storage.tables import accounts

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RESERVED = {"admin", "root", "support", "help", "about", "settings", "townsquare", "postmaster", "webmaster"}
MAX_FIELDS = 4
MAX_NOTE = 500
MAX_DISPLAY_NAME = 30


async def create_account(conn: AsyncConnection, username: str, email: str, password: str, *, role: str = "user",
                         approved: bool = True, reason: str | None = None, locale: str | None = None,
                         allow_reserved: bool = False) -> Account:
    """Create a local account after validating its username, email and password."""
    errors = {}
    if not USERNAME_RE.match(username or ""):
        errors["username"] = "must contain only letters, numbers and underscores (at most 30)"
    elif username.lower() in RESERVED and not allow_reserved:
        errors["username"] = "is reserved"
    if not EMAIL_RE.match(email or "") or len(email) > 320:
        errors["email"] = "is invalid"
    if len(password or "") < 8:
        errors["password"] = "is too short (minimum is 8 characters)"
    elif len(password) > 72 * 4:
        errors["password"] = "is too long"
    if not errors:
        if await account_store.by_username(conn, username):
            errors["username"] = "is already taken"
        elif (await conn.execute(select(accounts.c.id).where(accounts.c.email == email.lower()))).first():
            errors["email"] = "is already taken"
    if errors:
        message = ", ".join(f"{k.capitalize()} {v}" for k, v in errors.items())
        raise ApiError(422, f"Validation failed: {message}", headers={"x-details": ",".join(errors)})
    account_id = new_id()
    try:
        await conn.execute(accounts.insert().values(
            id=account_id, username=username, username_lower=username.lower(), display_name="", note="",
            locked=False, bot=False, discoverable=True, fields=[], email=email.lower(),
            password_hash=hash_password(password), role=role, approved=approved, registration_reason=reason,
            locale=locale, default_visibility="public", default_sensitive=False, statuses_count=0,
            followers_count=0, following_count=0, created_at=now(), last_active_at=now()))
    except IntegrityError:
        raise unprocessable("Username is already taken") from None
    return await account_store.get(conn, account_id)


def _clean_fields(raw) -> list[dict]:
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise unprocessable("fields_attributes must be a list of name/value pairs")
        name = str(item.get("name") or "").strip()
        value = str(item.get("value") or "").strip()
        if not name and not value:
            continue
        if len(name) > 255 or len(value) > 255:
            raise unprocessable("Profile field names and values must be at most 255 characters")
        out.append({"name": name, "value": value})
    if len(out) > MAX_FIELDS:
        raise unprocessable(f"At most {MAX_FIELDS} profile fields are allowed")
    return out


async def update_credentials(conn: AsyncConnection, viewer: Account, changes: dict) -> Account:
    """Apply profile and preference changes after validating them all."""
    values: dict = {}
    if "display_name" in changes:
        name = str(changes["display_name"] or "")
        if len(name) > MAX_DISPLAY_NAME:
            raise unprocessable(f"Display name is too long (maximum is {MAX_DISPLAY_NAME} characters)")
        values["display_name"] = name
    if "note" in changes:
        note = str(changes["note"] or "")
        if len(note) > MAX_NOTE:
            raise unprocessable(f"Note is too long (maximum is {MAX_NOTE} characters)")
        values["note"] = note
    for flag in ("locked", "bot", "discoverable"):
        if flag in changes:
            values[flag] = changes[flag]
    if "fields" in changes:
        values["fields"] = _clean_fields(changes["fields"])
    if "privacy" in changes:
        if changes["privacy"] not in VISIBILITIES[:3]:
            raise unprocessable("Privacy is not included in the list")
        values["default_visibility"] = changes["privacy"]
    if "sensitive" in changes:
        values["default_sensitive"] = changes["sensitive"]
    if "language" in changes:
        values["default_language"] = str(changes["language"] or "")[:16] or None
    if values:
        await conn.execute(update(accounts).where(accounts.c.id == viewer.id).values(**values))
    return await account_store.get(conn, viewer.id)


async def update_profile(db, store, viewer: Account, changes: dict, images: dict) -> Account:
    """Apply profile changes together with avatar/header uploads and alt texts (update_credentials with files):
    the images are processed and stored first, then everything is written in one transaction; refused
    changes leave neither rows nor files behind."""
    stored = await profile_images.store_uploads(store, images)
    try:
        async with db.write() as conn:
            await update_credentials(conn, viewer, changes)
            await profile_images.apply(conn, store, viewer.id, images, stored)
            return await account_store.get(conn, viewer.id)
    except BaseException:
        await profile_images.discard_stored(store, stored)
        raise
