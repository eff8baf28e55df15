"""Liveness, readiness and Prometheus metrics: GET /health, /health/ready and /metrics.

Readiness checks live in a list on app.state.readiness_checks: each an `async def check() -> dict`
returning at least {"name": str, "ok": bool} plus details. /health/ready runs them all (each with a
time limit) and answers 200 when every one is ok, 503 otherwise, with the list as JSON. Other parts
append their own checks to that list.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from townsquare.api.deps import ctx_of, json
from townsquare.core.clock import now
from townsquare.storage import health as store

router = APIRouter()
log = logging.getLogger("townsquare.health")
CHECK_SECONDS = 3.0
MAX_ROOMS_COUNTED = 100  # listeners are summed over at most this many live rooms per scrape


def database_check(ctx):
    """A readiness check: one round trip to the database."""
    async def check() -> dict:
        started = time.perf_counter()
        async with ctx.db.read() as conn:
            await store.ping(conn)
        return {"name": "database", "ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    return check


def redis_check(ctx):
    """A readiness check: a PING to Redis (scale-out mode only)."""
    async def check() -> dict:
        started = time.perf_counter()
        await ctx.bus.redis.ping()
        return {"name": "redis", "ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    return check


def jobs_check(ctx):
    """A readiness check: due jobs are being taken (the oldest waits less than the allowed lag)."""
    async def check() -> dict:
        async with ctx.db.read() as conn:
            oldest = await store.oldest_due_job(conn, now())
            counts = await store.job_counts(conn)
        lag = max(0.0, (now() - oldest).total_seconds()) if oldest is not None else 0.0
        allowed = ctx.settings.ready_max_job_lag_seconds
        return {"name": "jobs", "ok": lag <= allowed, "lag_seconds": round(lag, 3), "max_lag_seconds": allowed,
                "ready": counts.get("ready", 0), "running": counts.get("running", 0)}
    return check


def default_checks(ctx) -> list:
    """The checks this part registers: database, Redis when configured, job lag."""
    checks = [database_check(ctx)]
    if ctx.settings.redis_url and hasattr(ctx.bus, "redis"):
        checks.append(redis_check(ctx))
    checks.append(jobs_check(ctx))
    return checks


async def _run(check) -> dict:
    parts = getattr(check, "__qualname__", "check").split(".")
    name = parts[0].removesuffix("_check") if parts[-1] == "check" else parts[-1]  # database_check.<locals>.check
    try:
        result = await asyncio.wait_for(check(), CHECK_SECONDS)
    except asyncio.TimeoutError:
        return {"name": name, "ok": False, "error": f"no answer within {CHECK_SECONDS:g} s"}
    except Exception as exc:  # a failing dependency is the answer, not a crash
        return {"name": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    if not isinstance(result, dict) or "ok" not in result:
        return {"name": name, "ok": False, "error": "the check returned no verdict"}
    return result


@router.get("/health")
async def health() -> Response:
    """Liveness: the process answers (no I/O at all), as Mastodon's /health."""
    return PlainTextResponse("OK")


@router.get("/health/ready")
async def ready(request: Request) -> Response:
    """Readiness: every registered check passes (200), or the list shows which does not (503)."""
    checks = getattr(request.app.state, "readiness_checks", None) or []
    results = list(await asyncio.gather(*[_run(c) for c in checks]))
    ok = all(r.get("ok") for r in results)
    return json({"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503)


async def _gauges(ctx, overload) -> None:
    """Read the figures that are sampled at scrape time into their gauges (each on its own: one failing keeps the rest)."""
    m, limiter = overload.metrics, overload.limiter
    m.limit.set(limiter.effective_limit())
    m.inflight.set(limiter.inflight)
    m.min_rtt.set(limiter.min_rtt or 0.0)
    m.queue.set(overload.waiting.queue_length())
    audio = getattr(ctx, "audio", None)
    lags = audio.publish_lags() if audio is not None else {}
    m.publish_lag.set(max(lags.values()) if lags else 0.0)
    try:
        async with ctx.db.read() as conn:
            rooms = await store.live_room_ids(conn)
            counts = await store.job_counts(conn)
            oldest = await store.oldest_due_job(conn, now())
        m.live_rooms.set(len(rooms))
        for state in ("ready", "running", "failed"):
            m.jobs_depth.labels(state).set(counts.get(state, 0))
        m.jobs_oldest.set(max(0.0, (now() - oldest).total_seconds()) if oldest is not None else 0.0)
        total = 0
        for sid in rooms[:MAX_ROOMS_COUNTED]:
            total += await ctx.spaces.listener_count(sid)
        m.listeners.set(total)
    except Exception:  # the database or presence being down shows in /health/ready; metrics still answer
        log.exception("metrics: sampling rooms and jobs failed")


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """This process's metrics in Prometheus's text format (scrape every process: each is its own target)."""
    overload = request.app.state.overload
    await _gauges(ctx_of(request), overload)
    return Response(generate_latest(overload.metrics.registry), media_type=CONTENT_TYPE_LATEST)
