"""Checks rendered entities against the entity schemas of the reference Mastodon OpenAPI description."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import jsonschema_rs

# The community OpenAPI description of Mastodon kept in shared/reference beside the checkout (never copied in).
_ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = [Path(p) for p in filter(None, [os.environ.get("TOWNSQUARE_REFERENCE_OPENAPI")])] + [
    base / "shared" / "reference" / "mastodon-openapi-4.7.0.json" for base in (_ROOT.parent, _ROOT.parent.parent, Path("/work"))]


@functools.cache
def _components() -> dict:
    found = next((p for p in _CANDIDATES if p.is_file()), None)
    assert found is not None, f"the reference OpenAPI file is missing: {_CANDIDATES} (set TOWNSQUARE_REFERENCE_OPENAPI)"
    return json.loads(found.read_text())["components"]


@functools.cache
def _validator(name: str):
    schema = {"$ref": f"#/components/schemas/{name}", "components": _components()}
    return jsonschema_rs.Draft202012Validator(schema)


def schema_errors(data, name: str) -> list[str]:
    """What is wrong with data as an entity of that name (e.g. "Poll"); empty when it conforms."""
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in _validator(name).iter_errors(data)]


def assert_entity(name: str, data) -> None:
    """Fail with every schema error when data is not a valid entity of that name (e.g. "Poll")."""
    errors = schema_errors(data, name)
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
