"""Fuzzing: a bounded schemathesis pass over Townsquare's own OpenAPI schema finds no 5xx and no shapeless error."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import uuid
from pathlib import Path

from tests.conftest import BACKEND, PG_ADMIN_URL, _pg_admin

_spec = importlib.util.spec_from_file_location("bench_fuzz", Path(__file__).resolve().parents[2] / "bench" / "fuzz.py")
fuzz_script = importlib.util.module_from_spec(_spec)
sys.modules["bench_fuzz"] = fuzz_script  # dataclasses look their module up while the script loads
_spec.loader.exec_module(fuzz_script)


def test_schemathesis_finds_no_server_errors():
    env, pg_name = {}, None
    if BACKEND == "postgres":
        pg_name = f"townsquare_fuzz_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{pg_name}"'))
        env["TOWNSQUARE_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{pg_name}"
    try:
        with fuzz_script.running_server(env) as (base, token, log_path):
            report = fuzz_script.fuzz(base, token, examples=3, ids=fuzz_script.seed_records(base, token))
            log = log_path.read_text(errors="replace")
    finally:
        if pg_name:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    assert report.operations > 90  # every route of the schema was tried
    # Write methods too, with Mastodon's own parameters wherever the reference describes the route
    # (shared/reference beside the checkout; TOWNSQUARE_REFERENCE_OPENAPI points elsewhere).
    assert fuzz_script.reference_path() is not None, fuzz_script.REFERENCE_CANDIDATES
    assert report.write_operations > 60 and report.from_reference > 15
    assert report.examples > 2 * report.operations
    assert report.failures == []
    # Every case got an answer, but the few the HTTP client cannot encode (a number as a multipart file).
    assert sum(report.statuses.values()) + report.unsendable == report.examples
    assert report.unsendable * 20 < report.examples
    assert "Traceback" not in log, log[-3000:]


async def test_what_fuzzing_found_stays_fixed(server):
    alice = await server.user("alice")
    # NUL characters crashed PostgreSQL queries (POST /oauth/revoke); now refused the same way on every backend.
    r = await server.http.post("/oauth/revoke", data={"client_id": "a\x00b", "client_secret": "x", "token": "t"})
    assert r.status_code == 400 and "NUL" in r.json()["error"]
    r = await alice.post("/api/v1/statuses", json={"status": "hi\u0000there"})
    assert r.status_code == 400 and "NUL" in r.json()["error"]
    r = await server.http.get("/api/v1/tags/a%00b")
    assert r.status_code == 400 and "NUL" in r.json()["error"]
    # An offset past a 64-bit integer overflowed SQLite (GET /api/v1/accounts/search).
    r = await alice.get("/api/v1/accounts/search", params={"q": "a", "offset": str(2**70)})
    assert r.status_code == 422 and "offset" in r.json()["error"]
    assert (await alice.get("/api/v1/accounts/search", params={"q": "a", "offset": "100000"})).status_code == 200
    assert (await alice.get(f"/api/v1/accounts/{alice.id}")).json()["statuses_count"] == 0
    # A mute duration given as an object (TypeError) or out of range (overflowing the expiry) was a 500.
    bob = await server.user("bob")
    for duration in ({"a": 1}, [1], -5, 2**40):
        r = await alice.post(f"/api/v1/accounts/{bob.id}/mute", json={"duration": duration})
        assert r.status_code == 422 and "duration" in r.json()["error"], duration
    relationship = (await alice.get("/api/v1/accounts/relationships", params={"id[]": bob.id})).json()[0]
    assert relationship["muting"] is False
    assert (await alice.post(f"/api/v1/accounts/{bob.id}/mute", json={"duration": 3600})).json()["muting"] is True
