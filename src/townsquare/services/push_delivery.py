"""Delivering one notification to one Web Push subscription: policy, payload, encryption (pywebpush), the answer."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from functools import lru_cache
from urllib.parse import urlsplit

import orjson

from townsquare.core.html import strip_tags
from townsquare.core.ids import render_id
from townsquare.core.secretbox import unseal
from townsquare.services.push import TOKEN_PURPOSE
from townsquare.storage import push as push_store

log = logging.getLogger("townsquare.push")
SEND_TIMEOUT = 10.0  # seconds for one POST to a push service
TTL = 48 * 3600  # how long a push service may hold a message for an offline device (Mastodon's figure)
BODY_CHARS = 140
TITLES = {
    "mention": "{name} mentioned you",
    "status": "{name} just posted",
    "reblog": "{name} boosted your post",
    "follow": "{name} followed you",
    "follow_request": "{name} requested to follow you",
    "favourite": "{name} favourited your post",
    "poll": "A poll you voted in or created has ended",
    "update": "{name} edited a post you interacted with",
    "quote": "{name} quoted your post",
    "quoted_update": "{name} edited a post you quoted",
    "admin.sign_up": "{name} signed up",
    "admin.report": "New report from {name}",
}


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One TLS context for every delivery: loading the CA bundle costs more than the POST itself."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


@lru_cache(maxsize=4)
def _vapid(standard: bool, private_key: str):
    """The server's VAPID signer: RFC 8292 (`vapid t=,k=`) for standard subscriptions, the draft pair otherwise."""
    from py_vapid import Vapid01, Vapid02

    vapid = (Vapid02 if standard else Vapid01).from_raw(private_key.encode())
    vapid.conf["no-strict"] = True  # py_vapid's contact regex refuses single-label hosts; push services only read it
    return vapid


class PushServiceBusy(Exception):
    """The push service asked us to come back later (408, 429 or 5xx): the job runner retries with backoff."""


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_CHARS else text[:BODY_CHARS - 1].rstrip() + "\u2026"


async def _policy_allows(conn, row) -> bool:
    """Mastodon's policies: all, none, or only from accounts the recipient follows / that follow the recipient."""
    if row.policy == "none":
        return False
    if row.policy == "followed":
        return row.from_account_id is not None and await push_store.follows_exists(conn, row.account_id, row.from_account_id)
    if row.policy == "follower":
        return row.from_account_id is not None and await push_store.follows_exists(conn, row.from_account_id, row.account_id)
    return True


async def _payload(conn, row, settings, access_token: str) -> dict:
    """The JSON an app's service worker receives, in Mastodon's shape."""
    name = (row.sender_display_name or row.sender_username or "").strip() or "Someone"
    body = ""
    if row.status_id is not None:
        text = await push_store.status_text(conn, row.status_id)
        if text is not None:
            body = text[1] or strip_tags(text[0])
    elif row.sender_note:
        body = strip_tags(row.sender_note)
    return {
        "access_token": access_token,
        "preferred_locale": row.recipient_locale or "en",
        "notification_id": render_id(row.notification_id),
        "notification_type": row.notification_type,
        "icon": f"{settings.base_url}/static/avatar.png",  # the sender's avatar (every account has the default one)
        "title": TITLES.get(row.notification_type, "New notification from {name}").format(name=name),
        "body": _truncate(body),
    }


def _private_target(endpoint: str) -> bool:
    """Whether the endpoint's host resolves to a loopback, private or link-local address (refused by default)."""
    host = urlsplit(endpoint).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False  # unresolvable: the POST fails as a transport error and is retried
    return any(not ipaddress.ip_address(info[4][0].split("%")[0]).is_global for info in infos)


async def _send(row, data: bytes, settings) -> int:
    """Encrypt with pywebpush and sign with VAPID (RFC 8292, or the draft pair for legacy aesgcm); POST; the status."""
    import httpx
    from pywebpush import WebPusher

    encoding = "aes128gcm" if row.standard else "aesgcm"
    encoded = WebPusher({"endpoint": row.endpoint, "keys": {"p256dh": row.key_p256dh, "auth": row.key_auth}}).encode(
        data, encoding)
    parts = urlsplit(row.endpoint)
    claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": int(time.time()) + 12 * 3600,
              "sub": settings.vapid_contact or f"mailto:{settings.contact_email or 'admin@' + settings.effective_domain}"}
    vapid = _vapid(row.standard, settings.effective_vapid_private_key)
    headers = {"TTL": str(TTL), "Urgency": "normal", "Content-Encoding": encoding,
               "Content-Type": "application/octet-stream"}
    if row.standard:
        headers["Authorization"] = vapid.sign(claims)["Authorization"]
    else:
        # Mastodon's order, "dh=...;p256ecdsa=...", which Mastodon.py's decrypt_push relies on.
        signed = vapid.sign(claims, crypto_key="dh=" + encoded["crypto_key"].decode())
        headers.update({"Authorization": signed["Authorization"], "Crypto-Key": signed["Crypto-Key"],
                        "Encryption": "salt=" + encoded["salt"].decode()})
    async with httpx.AsyncClient(timeout=SEND_TIMEOUT, follow_redirects=False, verify=_tls()) as client:
        response = await client.post(row.endpoint, content=encoded["body"], headers=headers)
    return response.status_code


async def deliver_web_push(ctx, sub_id: int, notification_id: int) -> str:
    """Push one notification to one subscription: load, check the policy, encrypt and send, act on the answer."""
    settings = ctx.settings
    async with ctx.db.read() as conn:
        row = await push_store.delivery(conn, sub_id, notification_id)
        revoked = row is None and await push_store.token_revoked(conn, sub_id)
        if row is not None and not await _policy_allows(conn, row):
            return "filtered"
        token = unseal(settings.effective_secret_key, TOKEN_PURPOSE, row.access_token_sealed) if row is not None else None
        data = orjson.dumps(await _payload(conn, row, settings, token)) if token is not None else None
    if row is None or token is None:
        if revoked or (row is not None and token is None):  # a revoked token, or a secret key that changed
            async with ctx.db.write() as conn:
                await push_store.delete_by_id(conn, sub_id)
            return "removed"
        return "gone"
    if not settings.push_allow_private_addresses and await asyncio.to_thread(_private_target, row.endpoint):
        log.warning("web push to %s refused: it resolves to a private address", urlsplit(row.endpoint).hostname)
        return "refused"
    status = await _send(row, data, settings)
    if status in (408, 429) or status >= 500:
        raise PushServiceBusy(f"push service answered {status}")
    if 400 <= status < 500:
        # 404/410: the browser unsubscribed; other 4xx: the subscription can never work. Mastodon drops both.
        async with ctx.db.write() as conn:
            await push_store.delete_by_id(conn, sub_id)
        return "removed"
    return "delivered"
