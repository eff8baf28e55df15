"""Fuzzing: schemathesis against Townsquare's own OpenAPI schema, looking for 5xx answers and malformed errors.

Usage: .venv/bin/python bench/fuzz.py [--examples N] [--random] [--anonymous] [--database-url URL | --base-url URL --token TOKEN]
Without --base-url it starts a throwaway `townsquare serve` (SQLite in a temp dir, or an empty database
given by --database-url) with one account.
The operations are the ones our schema lists (every route we serve); each write method (POST/PUT/PATCH/DELETE)
that the reference Mastodon OpenAPI also describes gets that description's body, query and header parameters,
so an endpoint added later is fuzzed with Mastodon's parameters as soon as it is routed, with no list to keep.
Positive cases aim path ids at real records made at the start (a status, another account, a list).
Prints operations tried, examples sent, and every failure (5xx, or an error status without {"error": ...}).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PASSWORD = "correct horse battery staple"
_ROOT = Path(__file__).resolve().parents[1]
# The reference Mastodon OpenAPI lives in shared/ beside the checkout (or in /work/shared, for a clone made elsewhere
# on this machine), or where the variable says.
REFERENCE_CANDIDATES = [Path(p) for p in filter(None, [os.environ.get("TOWNSQUARE_REFERENCE_OPENAPI")])] + [
    base / "shared" / "reference" / "mastodon-openapi-4.7.0.json" for base in (_ROOT.parent, _ROOT.parent.parent, Path("/work"))]


def reference_path() -> Path | None:
    """The first reference OpenAPI file that exists, or None."""
    return next((p for p in REFERENCE_CANDIDATES if p.is_file()), None)
WRITES = ("post", "put", "patch", "delete")


@dataclass
class Report:
    """What a fuzzing pass did and found."""

    operations: int = 0
    examples: int = 0
    write_operations: int = 0
    from_reference: int = 0  # write operations whose parameters came from the reference OpenAPI
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unsendable: int = 0  # generated cases the HTTP client cannot encode (e.g. a number as a multipart file)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cmd() -> list[str]:
    exe = Path(sys.executable).parent / "townsquare"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "townsquare.cli"]


@contextmanager
def running_server(env: dict | None = None):
    """Start `townsquare serve` with one account; yield (base URL, bearer token, log path)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = _free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}, **(env or {}),
               "TOWNSQUARE_DOMAIN": f"127.0.0.1:{port}", "TOWNSQUARE_RATE_LIMITS_ENABLED": "false"}
        subprocess.run([*_cmd(), "accounts", "create", "fuzzer", "--email", "fuzzer@example.org", "--password", PASSWORD,
                        "--data-dir", str(data)], env=env, check=True, capture_output=True, timeout=120)
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([*_cmd(), "serve", "--port", str(port), "--data-dir", str(data)], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            base = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 90
                while True:
                    try:
                        if httpx.get(f"{base}/api/v1/instance", timeout=1).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"server did not start: {log_path.read_text()}")
                    time.sleep(0.1)
                app = httpx.post(f"{base}/api/v1/apps", data={"client_name": "fuzz", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                               "scopes": "read write follow push"}).json()
                token = httpx.post(f"{base}/oauth/token", data={
                    "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
                    "username": "fuzzer@example.org", "password": PASSWORD, "scope": "read write follow push"}).json()
                yield base, token["access_token"], log_path
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def seed_records(base_url: str, token: str) -> dict[str, str]:
    """Make a status, a list and a second account to aim positive cases at; return path parameter name -> id."""
    auth = {"Authorization": f"Bearer {token}"}
    ids: dict[str, str] = {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        status = client.post("/api/v1/statuses", data={"status": "a post for the fuzzer #fuzz"}, headers=auth)
        if status.status_code == 200:
            ids["status_id"] = status.json()["id"]
        made = client.post("/api/v1/lists", data={"title": "fuzz list"}, headers=auth)
        if made.status_code == 200:
            ids["list_id"] = made.json()["id"]
        app = client.post("/api/v1/apps", data={"client_name": "fuzz-seed", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                "scopes": "read write"}).json()
        app_token = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                      "client_secret": app["client_secret"], "scope": "read write"}).json()
        other = client.post("/api/v1/accounts", data={"username": "target", "email": "target@example.org",
                                                      "password": PASSWORD, "agreement": "true", "locale": "en"},
                            headers={"Authorization": f"Bearer {app_token['access_token']}"})
        if other.status_code == 200:
            me = client.get("/api/v1/accounts/verify_credentials",
                            headers={"Authorization": f"Bearer {other.json()['access_token']}"})
            if me.status_code == 200:
                ids["account_id"] = me.json()["id"]
    return ids


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/"))


def merged_schema(ours: dict, reference: dict | None, ids: dict[str, str] | None = None) -> tuple[dict, int]:
    """Our schema with Mastodon's parameters on the write methods both describe, and path ids aimed at real records.

    Returns the schema and how many operations took parameters from the reference.
    """
    schema = copy.deepcopy(ours)
    taken = 0
    if reference is not None:
        components = schema.setdefault("components", {})
        for kind, items in reference.get("components", {}).items():
            if kind != "securitySchemes":
                components.setdefault(kind, {}).update({k: v for k, v in items.items() if k not in components.get(kind, {})})
        by_shape = {(_shape(p), m): op for p, ops in reference["paths"].items() for m, op in ops.items() if m in WRITES}
        for path, ops in schema["paths"].items():
            for method, op in ops.items():
                ref = by_shape.get((_shape(path), method))
                if ref is None:
                    continue
                known = {(p["name"], p["in"]) for p in op.get("parameters", [])}
                extra = [copy.deepcopy(p) for p in ref.get("parameters", [])
                         if p.get("in") in ("query", "header") and (p["name"], p["in"]) not in known]
                if extra:
                    op.setdefault("parameters", []).extend(extra)
                if "requestBody" in ref:
                    op["requestBody"] = copy.deepcopy(ref["requestBody"])
                taken += bool(extra or "requestBody" in ref)
    for ops in schema["paths"].values():
        for op in ops.values():
            for param in op.get("parameters", []):
                value = (ids or {}).get(param["name"])
                if param.get("in") == "path" and value is not None:
                    param["schema"] = {"type": "string", "enum": [value]}  # negative cases still send garbage ids
    return schema, taken


def fuzz(base_url: str, token: str | None, examples: int, *, randomize: bool = False,
         ids: dict[str, str] | None = None, writes_only: bool = False) -> Report:
    """Send `examples` positive and negative cases per operation; collect 5xx and shapeless errors."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    ours = httpx.get(f"{base_url}/api/openapi.json", timeout=30).json()
    found = reference_path()
    reference = json.loads(found.read_text()) if found else None
    raw, taken = merged_schema(ours, reference, ids)
    schema = schemathesis.openapi.from_dict(raw)
    report = Report(from_reference=taken)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for result in schema.get_all_operations():
            operation = result.ok()
            if writes_only and operation.method.lower() not in WRITES:
                continue
            report.operations += 1
            report.write_operations += operation.method.lower() in WRITES
            # Negative cases need a parameter to break; without query or body there is nothing to negate.
            negative = len(operation.query) > 0 or len(operation.body) > 0
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if negative else (GenerationMode.POSITIVE,):
                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=examples, deadline=None, database=None, derandomize=not randomize,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                def run(case):
                    report.examples += 1
                    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
                    if isinstance(kwargs.get("data"), (str, bytes)):  # a raw body, as negative cases send
                        kwargs["content"] = kwargs.pop("data")
                    try:
                        response = client.request(**{k: v for k, v in kwargs.items() if k in (
                            "method", "url", "headers", "params", "json", "data", "content", "files")})
                    except httpx.HTTPError as exc:
                        report.failures.append(f"{operation.label}: transport error {exc!r}")
                        return
                    except (TypeError, AttributeError, ValueError):
                        # httpx refuses to encode it (a number where a multipart file goes): nothing was sent.
                        report.unsendable += 1
                        return
                    report.statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        report.failures.append(f"{operation.label}: {response.status_code} for {kwargs.get('url')} "
                                               f"params={kwargs.get('params')} body={kwargs.get('json', kwargs.get('data'))!r:.200}")
                    elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                        body = response.json()
                        if not isinstance(body, dict) or "error" not in body:
                            report.failures.append(f"{operation.label}: {response.status_code} without an error key: {body!r:.200}")
                try:
                    run()
                except Unsatisfiable:
                    if mode is GenerationMode.POSITIVE:  # negative cases need something to break; many operations have none
                        report.failures.append(f"{operation.label}: no valid case could be generated")
                except Exception as exc:  # a generation problem is a finding too, not a crash of the run
                    report.failures.append(f"{operation.label}: could not generate ({type(exc).__name__}: {exc})"[:300])
    return report


def main() -> None:
    """Run one pass and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--base-url")
    parser.add_argument("--token")
    parser.add_argument("--random", action="store_true", help="fresh random cases (default: the same derandomized ones)")
    parser.add_argument("--anonymous", action="store_true", help="send no token (exercises the 401 paths)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (postgresql+asyncpg://...)")
    parser.add_argument("--writes-only", action="store_true", help="only POST/PUT/PATCH/DELETE operations")
    args = parser.parse_args()
    started = time.monotonic()
    if args.base_url:
        report = fuzz(args.base_url, args.token, args.examples, randomize=args.random, writes_only=args.writes_only)
        log = None
    else:
        env = {"TOWNSQUARE_DATABASE_URL": args.database_url} if args.database_url else {}
        with running_server(env) as (base, token, log_path):
            report = fuzz(base, None if args.anonymous else token, args.examples, randomize=args.random,
                          ids=seed_records(base, token), writes_only=args.writes_only)
            log = log_path.read_text(errors="replace")
    print(f"operations tried: {report.operations} ({report.write_operations} write methods, "
          f"{report.from_reference} with the reference OpenAPI's parameters)")
    print(f"examples sent:    {report.examples} ({args.examples} positive + {args.examples} negative max per operation)")
    print(f"status codes:     {dict(sorted(report.statuses.items()))}")
    print(f"failures:         {len(report.failures)}")
    print(f"not sendable:     {report.unsendable} (cases the HTTP client cannot encode)")
    for failure in report.failures:
        print(f"  - {failure}")
    if log and "Traceback" in log:
        print("server log has tracebacks:\n" + log[-4000:])
    print(f"elapsed:          {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
