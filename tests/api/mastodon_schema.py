"""Checks rendered entities against the entity schemas of the reference Mastodon OpenAPI description."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import jsonschema_rs

REFERENCE = Path(os.environ.get("TOWNSQUARE_MASTODON_OPENAPI", "/work/shared/reference/mastodon-openapi-4.7.0.json"))


@functools.cache
def _components() -> dict:
    assert REFERENCE.exists(), f"the reference OpenAPI file is missing: {REFERENCE} (set TOWNSQUARE_MASTODON_OPENAPI)"
    return json.loads(REFERENCE.read_text())["components"]


@functools.cache
def _validator(name: str):
    schema = {"$ref": f"#/components/schemas/{name}", "components": _components()}
    return jsonschema_rs.Draft202012Validator(schema)


def assert_entity(name: str, data) -> None:
    """Fail with every schema error when data is not a valid entity of that name (e.g. "Poll")."""
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in _validator(name).iter_errors(data)]
    assert not errors, f"{name} does not match the reference schema:\n" + "\n".join(errors[:20])
