"""Benchmark: what CORS costs per request, and what one Web Push delivery costs.

Usage: .venv/bin/python bench/push.py [N]   (default 2000)
Prints the CORS middleware's own time per request (around a bare ASGI app, simple request and preflight),
the encryption + VAPID signing time of one push message (aes128gcm and legacy aesgcm), and deliveries per
second from the job handler to a real push receiver on loopback that decrypts each message.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.push_receiver import PushReceiver  # noqa: E402
from townsquare.api.cors import CorsMiddleware  # noqa: E402
from townsquare.config import Settings  # noqa: E402
from townsquare.services import auth, push as push_service  # noqa: E402
from townsquare.services.accounts import create_account  # noqa: E402
from townsquare.services.notify import notify  # noqa: E402
from townsquare.services.push_delivery import _send, deliver_web_push  # noqa: E402
from townsquare.storage.db import migrate  # noqa: E402
from townsquare.wiring import build_context  # noqa: E402


async def _bare(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def _call(app, scope) -> None:
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    await app(scope, receive, send)


async def cors_cost(n: int) -> dict[str, float]:
    """Microseconds per request of a bare ASGI app, with CORS around it, and for a preflight."""
    headers = [(b"origin", b"https://elk.example"), (b"authorization", b"Bearer x")]
    get = {"type": "http", "method": "GET", "path": "/api/v1/timelines/home", "headers": headers}
    pre = {"type": "http", "method": "OPTIONS", "path": "/api/v1/statuses",
           "headers": headers + [(b"access-control-request-method", b"POST"),
                                 (b"access-control-request-headers", b"authorization, content-type")]}
    out = {}
    for name, app, scope in (("bare app", _bare, get), ("with CORS", CorsMiddleware(_bare), get),
                             ("preflight", CorsMiddleware(_bare), pre)):
        rounds = []
        for _ in range(7):  # the best of several rounds: the machine is shared, and others' load is noise here
            started = time.perf_counter()
            for _ in range(n):
                await _call(app, scope)
            rounds.append((time.perf_counter() - started) / n * 1e6)
        out[name] = min(rounds)
    return out


async def delivery(n: int) -> dict[str, float]:
    """Per-message encrypt+sign time, and end-to-end deliveries per second through the job handler."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'db.sqlite3'}"
        await asyncio.to_thread(migrate, url)
        settings = Settings(database_url=url, data_dir=Path(tmp), domain="bench.local", secret_key="x",
                            push_allow_private_addresses=True, run_jobs_in_process=False)
        ctx = build_context(settings)
        out = {}
        with PushReceiver(settings.vapid_public_key) as receiver:
            for standard in (True, False):
                sub = receiver.subscribe(f"s{int(standard)}")
                row = type("Row", (), {"standard": standard, "endpoint": "http://127.0.0.1:9/none",
                                       "key_p256dh": sub["keys"]["p256dh"], "key_auth": sub["keys"]["auth"]})
                from pywebpush import WebPusher
                from py_vapid import Vapid01, Vapid02

                started = time.perf_counter()
                for _ in range(200):
                    WebPusher({"endpoint": row.endpoint, "keys": sub["keys"]}).encode(
                        b'{"title": "x"}' * 20, "aes128gcm" if standard else "aesgcm")
                    (Vapid02 if standard else Vapid01).from_raw(settings.effective_vapid_private_key.encode()).sign(
                        {"aud": "http://127.0.0.1", "exp": int(time.time()) + 3600, "sub": "mailto:bench@example.org"})
                out[f"encrypt + sign, {'aes128gcm' if standard else 'aesgcm'}"] = (time.perf_counter() - started) / 200 * 1e6
            assert _send  # the handler below goes through it
            async with ctx.db.write() as conn:
                bob = await create_account(conn, "bob", "bob@example.org", "correct horse battery")
                alice = await create_account(conn, "alice", "alice@example.org", "correct horse battery")
                app = await auth.create_app(conn, "bench", [auth.OOB], ["read", "push"], None)
                token, row = await auth.issue_token(conn, app["id"], bob.id, ["read", "push"])
            from townsquare.domain.models import Viewer

            viewer = Viewer(account=bob, scopes=frozenset({"push"}), token_id=row["id"], app_id=app["id"])
            keys = receiver.subscribe("bob")
            async with ctx.db.write() as conn:
                sub_row = await push_service.subscribe_push(
                    conn, viewer, settings.effective_secret_key, token,
                    push_service.PushKeys(keys["endpoint"], keys["keys"]["p256dh"], keys["keys"]["auth"], True),
                    {"follow": True}, "all")
                for _ in range(n):
                    await notify(conn, bob.id, alice.id, "follow")
            from sqlalchemy import select

            from townsquare.storage.tables import notifications

            async with ctx.db.read() as conn:
                ids = [r.id for r in (await conn.execute(select(notifications.c.id))).all()]
            started = time.perf_counter()
            for notification_id in ids:
                assert await deliver_web_push(ctx, sub_row.id, notification_id) == "delivered"
            elapsed = time.perf_counter() - started
            assert len(receiver.received) == len(ids) and not receiver.errors
            out["deliveries per second (one at a time, loopback receiver decrypting)"] = len(ids) / elapsed
        await ctx.db.dispose()
        return out


def main() -> None:
    """Run both measurements and print them."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for name, value in asyncio.run(cors_cost(n)).items():
        print(f"CORS {name:<12} {value:8.2f} µs/request")
    for name, value in asyncio.run(delivery(max(20, n // 20))).items():
        unit = "/s" if "per second" in name else " µs"
        print(f"push {name}: {value:,.1f}{unit}")


if __name__ == "__main__":
    main()
