"""Web Push subscriptions: one per access token, and what a delivery needs to know."""

from __future__ import annotations

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.ids import new_id
from townsquare.storage.tables import accounts, follows, notifications, oauth_tokens, statuses, web_push_subscriptions

subs = web_push_subscriptions


async def replace_for_token(conn: AsyncConnection, *, account_id: int, token_id: int, sealed_token: str, endpoint: str,
                            p256dh: str, auth: str, standard: bool, alerts: dict, policy: str):
    """Drop the token's subscription, if any, and store this one in its place; return the new row."""
    await conn.execute(delete(subs).where(subs.c.token_id == token_id))
    stamp = now()
    sub_id = new_id()
    await conn.execute(subs.insert().values(
        id=sub_id, account_id=account_id, token_id=token_id, access_token_sealed=sealed_token, endpoint=endpoint,
        key_p256dh=p256dh, key_auth=auth, standard=standard, alerts=alerts, policy=policy, created_at=stamp,
        updated_at=stamp))
    return await for_token(conn, token_id)


async def for_token(conn: AsyncConnection, token_id: int):
    """The subscription of an access token, or None."""
    return (await conn.execute(select(subs).where(subs.c.token_id == token_id))).first()


async def update_for_token(conn: AsyncConnection, token_id: int, alerts: dict, policy: str):
    """Change the alerts and policy of a token's subscription; return the row, or None when there is none."""
    await conn.execute(update(subs).where(subs.c.token_id == token_id).values(alerts=alerts, policy=policy,
                                                                             updated_at=now()))
    return await for_token(conn, token_id)


async def delete_for_token(conn: AsyncConnection, token_id: int) -> None:
    """Remove a token's subscription (nothing happens when there is none)."""
    await conn.execute(delete(subs).where(subs.c.token_id == token_id))


async def delete_by_id(conn: AsyncConnection, sub_id: int) -> None:
    """Remove one subscription, e.g. one its push service says is gone."""
    await conn.execute(delete(subs).where(subs.c.id == sub_id))


async def alerts_of_account(conn: AsyncConnection, account_id: int) -> list:
    """(id, alerts) of every subscription of an account, for deciding which get a notification."""
    return (await conn.execute(select(subs.c.id, subs.c.alerts).where(subs.c.account_id == account_id))).all()


async def delivery(conn: AsyncConnection, sub_id: int, notification_id: int):
    """The subscription (with its token still valid), the notification and its sender, or None when any is gone."""
    sender = accounts.alias("sender")
    recipient = accounts.alias("recipient")
    query = (
        select(subs, notifications.c.id.label("notification_id"), notifications.c.type.label("notification_type"), notifications.c.status_id,
               notifications.c.from_account_id, sender.c.username.label("sender_username"),
               sender.c.display_name.label("sender_display_name"),
               sender.c.note.label("sender_note"), recipient.c.locale.label("recipient_locale"))
        .select_from(subs.join(oauth_tokens, oauth_tokens.c.id == subs.c.token_id)
                     .join(notifications, and_(notifications.c.id == notification_id,
                                               notifications.c.account_id == subs.c.account_id))
                     .join(recipient, recipient.c.id == subs.c.account_id)
                     .outerjoin(sender, sender.c.id == notifications.c.from_account_id))
        .where(subs.c.id == sub_id, oauth_tokens.c.revoked_at.is_(None))
    )
    return (await conn.execute(query)).first()


async def token_revoked(conn: AsyncConnection, sub_id: int) -> bool:
    """Whether the subscription exists but its access token was revoked (so it should go)."""
    row = (await conn.execute(select(oauth_tokens.c.revoked_at).select_from(
        subs.join(oauth_tokens, oauth_tokens.c.id == subs.c.token_id)).where(subs.c.id == sub_id))).first()
    return row is not None and row.revoked_at is not None


async def follows_exists(conn: AsyncConnection, follower_id: int, followed_id: int) -> bool:
    """Whether one account follows another."""
    return (await conn.execute(select(follows.c.account_id).where(
        follows.c.account_id == follower_id, follows.c.target_account_id == followed_id).limit(1))).first() is not None


async def status_text(conn: AsyncConnection, status_id: int) -> tuple[str, str] | None:
    """(text, spoiler_text) of a status, for the body of a push message."""
    row = (await conn.execute(select(statuses.c.text, statuses.c.spoiler_text).where(statuses.c.id == status_id))).first()
    return (row.text, row.spoiler_text) if row else None
