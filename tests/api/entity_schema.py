"""Checks entities against the reference Mastodon OpenAPI (components/schemas), with jsonschema-rs."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import jsonschema_rs

# The community OpenAPI description of Mastodon the project keeps beside ARCHITECTURE.md (not copied into the tree).
REFERENCE = Path(os.environ.get("TOWNSQUARE_OPENAPI_REFERENCE", "/work/shared/reference/mastodon-openapi-4.7.0.json"))


@lru_cache(maxsize=1)
def _document() -> dict:
    assert REFERENCE.exists(), f"the reference OpenAPI is missing at {REFERENCE} (set TOWNSQUARE_OPENAPI_REFERENCE)"
    return json.loads(REFERENCE.read_text())


def schema_errors(entity: dict, name: str) -> list[str]:
    """Return what is wrong with an entity according to the named OpenAPI schema (empty when it conforms)."""
    root = {**_document(), "$ref": f"#/components/schemas/{name}"}
    validator = jsonschema_rs.Draft202012Validator(root)
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(entity)]
