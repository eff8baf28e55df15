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


def _split_quotes(status: dict, found: list) -> dict:
    """A copy of a status without its quote objects, which are collected (with their kind) in found."""
    status = dict(status)
    if isinstance(status.get("reblog"), dict):
        status["reblog"] = _split_quotes(status["reblog"], found)
    quote = status.get("quote")
    if isinstance(quote, dict):
        quote = dict(quote)
        if "quoted_status_id" in quote:
            found.append(("ShallowQuote", quote))
        else:
            if isinstance(quote.get("quoted_status"), dict):
                quote["quoted_status"] = _split_quotes(quote["quoted_status"], found)
            found.append(("Quote", quote))
        status["quote"] = None
    return status


def assert_status(data: dict) -> None:
    """Check a Status entity, its quote checked as Quote or ShallowQuote.

    The reference offers `quote` as oneOf [Quote, ShallowQuote], but both accept any object with a
    `state`, so no quote can ever match exactly one of them: each quote is checked on its own here.
    """
    found: list = []
    assert_entity("Status", _split_quotes(data, found))
    for name, quote in found:
        assert_entity(name, quote)
