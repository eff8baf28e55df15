"""CPU per request with the fast dispatcher (api/dispatch.py) on and off, in one process on one app.

Usage:
  .venv/bin/python bench/dispatch.py [--requests 3000] [--rounds 5] [--profile OUT.prof]

Builds the app on a fresh SQLite data dir (rate limits off), runs its lifespan startup, makes an account and
a token with the CLI and posts 20 statuses, then drives the ASGI app in-process (no server, no sockets) and
prints the CPU time (time.process_time) per request of each case, dispatcher off and on, alternating the two
(and which goes first) for --rounds rounds of --requests calls and reporting the median round:

  * POST /api/v1/statuses without a token (401);
  * GET /api/v1/accounts/verify_credentials with the token;
  * GET /api/v1/timelines/public, with the page cache as configured (its hits are answered outside the
    dispatcher) and with the page cache off (every request runs the route).

The switch is `app.state.dispatch.enabled` (the setting TOWNSQUARE_FAST_DISPATCH at start-up); each round
checks from the dispatcher's counter that the fast path served it (on) or did not (off).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOWNSQUARE_RATE_LIMITS_ENABLED", "false")

from townsquare.config import Settings  # noqa: E402
from townsquare.main import create_app  # noqa: E402
from townsquare.storage.db import migrate  # noqa: E402

CLI = Path(sys.executable).parent / "townsquare"


async def call(app, method: str, path: str, headers=(), body: bytes = b"") -> dict:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.encode(), v.encode()) for k, v in headers], "client": ("127.0.0.1", 5555),
             "server": ("127.0.0.1", 9), "state": {}}
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    out = {"body": b""}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out


def cli(*args: str, data_dir: Path) -> str:
    env = dict(os.environ, TOWNSQUARE_SECRET_KEY="bench")
    done = subprocess.run([str(CLI), *args, "--data-dir", str(data_dir)], env=env, check=True, capture_output=True,
                          text=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


async def rounds(app, case, requests: int, count: int, page_cache: bool) -> dict[bool, float]:
    method, path, headers, body, status = case
    dispatch, cache = app.state.dispatch, app.state.page_cache
    cache_was = cache.enabled
    cache.enabled = cache_was and page_cache
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        for on in (False, True):  # warm both paths
            dispatch.enabled = on
            for _ in range(200):
                answer = await call(app, method, path, headers, body)
                assert answer["status"] == status, (path, answer)
        for n in range(count):
            for on in ((False, True) if n % 2 == 0 else (True, False)):  # each first in every other round
                dispatch.enabled = on
                served = dispatch.fast
                started = time.process_time()
                for _ in range(requests):
                    await call(app, method, path, headers, body)
                times[on].append((time.process_time() - started) / requests * 1e6)
                fast = dispatch.fast - served
                if on and not cache.enabled:
                    assert fast == requests, f"the fast path served {fast} of {requests}"
                if not on:
                    assert fast == 0, f"the fast path served {fast} while off"
    finally:
        cache.enabled = cache_was
        dispatch.enabled = True
    return {on: statistics.median(values) for on, values in times.items()}


async def main(args, data_dir: Path, settings: Settings) -> None:
    app = create_app(settings, run_migrations=False)
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    life = asyncio.create_task(app(lifespan, inbox.get, outbox.put))
    assert (await outbox.get())["type"] == "lifespan.startup.complete"

    cli("accounts", "create", "bench", "--email", "bench@example.invalid", "--password", "bench password 123",
        data_dir=data_dir)
    token = cli("accounts", "token", "bench", data_dir=data_dir)
    auth = [("authorization", f"Bearer {token}")]
    form = [("content-type", "application/x-www-form-urlencoded")]
    for n in range(20):
        posted = await call(app, "POST", "/api/v1/statuses", auth + form, f"status=bench+post+{n}".encode())
        assert posted["status"] == 200, posted
    cases = [
        ("POST /api/v1/statuses, no token (401)", ("POST", "/api/v1/statuses", form, b"status=hi", 401), True),
        ("GET /api/v1/accounts/verify_credentials", ("GET", "/api/v1/accounts/verify_credentials", auth, b"", 200),
         True),
        ("GET /api/v1/timelines/public (page cache on)", ("GET", "/api/v1/timelines/public", (), b"", 200), True),
        ("GET /api/v1/timelines/public (page cache off)", ("GET", "/api/v1/timelines/public", (), b"", 200), False),
    ]
    print(f"{args.rounds} rounds of {args.requests} requests, median round; CPU us per request")
    print(f"{'case':48} {'off':>7} {'on':>7} {'saved':>7}")
    for name, case, page_cache in cases:
        result = await rounds(app, case, args.requests, args.rounds, page_cache)
        off, on = result[False], result[True]
        print(f"{name:48} {off:7.1f} {on:7.1f} {off - on:7.1f} ({(off - on) / off:.0%})", flush=True)
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                await call(app, *case[:4])
            profile.disable()
            profile.dump_stats(f"{args.profile}.{cases.index((name, case, page_cache))}")
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await life


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="write a cProfile of one on-round of each case here (suffixed)")
    arguments = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="ts-dispatch-"))
    bench_settings = Settings(data_dir=directory, secret_key="bench", domain="127.0.0.1:9", log_level="error")
    migrate(bench_settings.effective_database_url)  # before the loop: alembic runs its own
    asyncio.run(main(arguments, directory, bench_settings))
