"""/health (liveness), /health/ready (database, Redis, job lag, and checks other parts register) and /metrics."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from tests.api.test_spaces import live_space
from tests.conftest import BACKEND, BASE
from townsquare.api import health
from townsquare.core.clock import now
from townsquare.main import create_app
from townsquare.storage import job_rows
from townsquare.wiring import build_context


async def test_liveness_answers_without_touching_anything(server):
    statements = []
    engine = server.ctx.db.engine.sync_engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        r = await server.http.get("/health")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code == 200 and r.text == "OK"
    assert statements == []


async def test_ready_lists_its_checks(server):
    r = await server.http.get("/health/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    names = [c["name"] for c in body["checks"]]
    assert body["status"] == "ok" and all(c["ok"] for c in body["checks"])
    # storage (writable or not) comes from the fault handling, the others from the health module itself.
    assert names == (["storage", "database", "redis", "jobs"] if BACKEND == "postgres" else ["storage", "database", "jobs"])
    assert next(c for c in body["checks"] if c["name"] == "database")["latency_ms"] >= 0


async def test_a_failing_registered_check_makes_ready_503(server):
    async def storage() -> dict:
        return {"name": "storage", "ok": False, "reason": "read-only"}

    async def broken() -> dict:
        raise OSError("disk on fire")

    server.app.state.readiness_checks.extend([storage, broken])
    r = await server.http.get("/health/ready")
    assert r.status_code == 503
    checks = {c["name"]: c for c in r.json()["checks"]}
    assert checks["storage"] == {"name": "storage", "ok": False, "reason": "read-only"}
    assert checks["broken"]["ok"] is False and "disk on fire" in checks["broken"]["error"]
    assert checks["database"]["ok"] is True


async def _app_without_runner(settings, **overrides):
    custom = settings.model_copy(update={"run_jobs_in_process": False, **overrides})
    ctx = build_context(custom)
    app = create_app(custom, run_migrations=False, context=ctx)
    return ctx, app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def test_job_lag_beyond_the_limit_is_not_ready(settings):
    ctx, app, http = await _app_without_runner(settings)  # nobody takes jobs: they pile up
    try:
        async with ctx.db.write() as conn:
            await job_rows.enqueue(conn, "notify_space", {"space_id": 1, "after": 0}, run_at=now() - timedelta(minutes=10))
            await job_rows.enqueue(conn, "notify_space", {"space_id": 2, "after": 0}, run_at=now() + timedelta(hours=1))
        result = await health.jobs_check(ctx)()
        assert result["ok"] is False and 590 < result["lag_seconds"] < 700 and result["ready"] == 2
        r = await http.get("/health/ready")
        assert r.status_code == 503
        assert [c["ok"] for c in r.json()["checks"] if c["name"] == "jobs"] == [False]
        text = (await http.get("/metrics")).text
        assert 'townsquare_jobs_queue_depth{state="ready"} 2.0' in text
        oldest = _samples(text)["townsquare_jobs_oldest_ready_age_seconds"]
        assert 590 < oldest < 700
    finally:
        await http.aclose()
        await ctx.bus.close()
        await ctx.db.dispose()


async def test_unreachable_redis_is_not_ready(settings):
    ctx, app, http = await _app_without_runner(settings, redis_url="redis://127.0.0.1:1/0")
    try:
        result = await health._run(health.redis_check(ctx))
        assert result["name"] == "redis" and result["ok"] is False and result["error"]
        assert (await http.get("/health/ready")).status_code == 503
    finally:
        await http.aclose()
        await ctx.bus.close()
        await ctx.db.dispose()


def _samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name if not sample.labels else (sample.name, tuple(sorted(sample.labels.items())))
            out[key] = sample.value
    return out


async def test_metrics_in_prometheus_format(make_server):
    srv = await make_server(spaces_count_interval=0)
    host = await srv.user("host")
    sid = (await live_space(host))["id"]
    for _ in range(3):
        assert (await srv.http.post(f"/api/v1/spaces/{sid}/join")).status_code == 200
    await srv.http.get("/api/v1/timelines/public")
    await srv.http.get("/api/v2/search", params={"q": "x"})
    r = await srv.http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = _samples(r.text)
    assert got[("townsquare_http_requests_total", (("code", "200"), ("route_class", "listen")))] == 3
    assert got[("townsquare_http_requests_total", (("code", "200"), ("route_class", "timeline")))] >= 1
    assert ("townsquare_http_requests_total", (("code", "200"), ("route_class", "low"))) in got
    assert got[("townsquare_http_request_duration_seconds_count", (("route_class", "listen"),))] == 3
    assert got[("townsquare_http_requests_total", (("code", "200"), ("route_class", "critical")))] >= 2  # create, start
    assert got["townsquare_spaces_live_rooms"] == 1 and got["townsquare_spaces_listeners"] == 3
    assert got["townsquare_admission_queue_length"] == 0 and got["townsquare_concurrency_limit"] >= 32
    assert "townsquare_spaces_segment_publish_lag_seconds" in got
    assert ("townsquare_jobs_queue_depth", (("state", "ready"),)) in got
    assert not any(k[0] == "townsquare_http_requests_total" and ("route_class", "exempt") in k[1]
                   for k in got if isinstance(k, tuple))  # /metrics and /health are not counted
