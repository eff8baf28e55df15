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
            report = fuzz_script.fuzz(base, token, examples=3)
            log = log_path.read_text(errors="replace")
    finally:
        if pg_name:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    assert report.operations > 90  # every route of the schema was tried
    assert report.examples > 2 * report.operations
    assert report.failures == []
    assert sum(report.statuses.values()) == report.examples
    assert "Traceback" not in log, log[-3000:]
