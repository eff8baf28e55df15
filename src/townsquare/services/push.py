"""Web Push: an app's subscription per access token, and the durable delivery of notifications to it."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.core.secretbox import seal
from townsquare.domain.models import Viewer
from townsquare.storage import push as push_store
from townsquare.storage.job_rows import enqueue

# Mastodon's alert names (the notification types an app may ask to be pushed) and its policies.
ALERT_TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
               "admin.sign_up", "admin.report", "quote", "quoted_update")
POLICIES = ("all", "followed", "follower", "none")
PUSH_JOB = "web_push"
TOKEN_PURPOSE = "web-push-access-token"


@dataclass(frozen=True)
class PushKeys:
    """Where and how to push: the endpoint URL and the browser's keys (base64url p256dh point, auth secret)."""

    endpoint: str
    p256dh: str
    auth: str
    standard: bool


def _b64(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_").strip() + "=" * (-len(value.strip()) % 4))
    except (ValueError, TypeError):
        return None


def validate_keys(keys: PushKeys) -> None:
    """Refuse an endpoint that is not an http(s) URL, or keys a push message could not be encrypted to."""
    from urllib.parse import urlsplit

    from cryptography.hazmat.primitives.asymmetric import ec

    parts = urlsplit(keys.endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise unprocessable("Endpoint is not a valid URL")
    point = _b64(keys.p256dh) or b""
    try:
        if len(point) != 65:  # browsers give the uncompressed point, which pywebpush expects
            raise ValueError("not an uncompressed point")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise unprocessable("Key p256dh is not a P-256 public key") from None
    secret = _b64(keys.auth)
    if not secret or len(secret) < 16:
        raise unprocessable("Key auth must be at least 16 bytes") from None


def _user(viewer: Viewer) -> int:
    if viewer.account is None or viewer.token_id is None:
        raise ApiError(422, "This method requires an authenticated user")
    return viewer.account.id


async def subscribe_push(conn: AsyncConnection, viewer: Viewer, secret_key: str, access_token: str, keys: PushKeys,
                         alerts: dict[str, bool], policy: str):
    """Replace the token's subscription with a new one: check the keys, seal the token, store."""
    account_id = _user(viewer)
    validate_keys(keys)
    return await push_store.replace_for_token(
        conn, account_id=account_id, token_id=viewer.token_id, sealed_token=seal(secret_key, TOKEN_PURPOSE, access_token),
        endpoint=keys.endpoint, p256dh=keys.p256dh, auth=keys.auth, standard=keys.standard, alerts=alerts, policy=policy)


async def get_push_subscription(conn: AsyncConnection, viewer: Viewer):
    """The token's subscription; 404 when it has none."""
    _user(viewer)
    row = await push_store.for_token(conn, viewer.token_id)
    if row is None:
        raise not_found()
    return row


async def update_push_subscription(conn: AsyncConnection, viewer: Viewer, alerts: dict[str, bool] | None,
                                   policy: str | None):
    """Change which alerts and whose notifications are pushed; 404 when the token has no subscription."""
    current = await get_push_subscription(conn, viewer)
    return await push_store.update_for_token(conn, viewer.token_id, current.alerts if alerts is None else alerts,
                                             policy or current.policy)


async def unsubscribe_push(conn: AsyncConnection, viewer: Viewer) -> None:
    """Remove the token's subscription, if any."""
    _user(viewer)
    await push_store.delete_for_token(conn, viewer.token_id)


async def queue_web_push(conn: AsyncConnection, recipient_id: int, notification_id: int, kind: str) -> int:
    """Queue one delivery job per subscription of the recipient that wants this kind; return how many."""
    queued = 0
    for sub_id, alerts in await push_store.alerts_of_account(conn, recipient_id):
        if (alerts or {}).get(kind):
            await enqueue(conn, PUSH_JOB, {"subscription_id": sub_id, "notification_id": notification_id})
            queued += 1
    return queued
