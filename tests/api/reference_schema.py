"""Checking rendered entities against the reference Mastodon OpenAPI (shared/reference) with a JSON Schema validator.

jsonschema_rs comes with schemathesis (the test extra), which validates responses with it too.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from jsonschema_rs import Draft202012Validator

REFERENCE = Path(os.environ.get("TOWNSQUARE_OPENAPI_REFERENCE", "/work/shared/reference/mastodon-openapi-4.7.0.json"))


@lru_cache(maxsize=1)
def _components() -> dict:
    return json.loads(REFERENCE.read_text())["components"]


def assert_entity(name: str, data) -> None:
    """Fail with every error when data is not a valid instance of the named OpenAPI schema (e.g. "Filter", "Tag")."""
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": _components()})
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, f"{name} does not match the reference OpenAPI: {errors}"
