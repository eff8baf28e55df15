"""Request parsing as real clients send it: query, form, JSON or multipart, with Rails-style keys."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from townsquare.core.errors import ApiError

_KEY_RE = re.compile(r"\[([^\]]*)\]")


def _has_path(node: Any, keys: list[str]) -> bool:
    # As Rack: a path through a nested array never counts as already present.
    for key in keys:
        if key == "" or not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _assign(target: dict, key: str, value: Any) -> None:
    base = key.split("[", 1)[0]
    parts = _KEY_RE.findall(key[len(base):]) if "[" in key else []
    if not parts:
        target[base] = value
        return
    node: Any = target
    path = [base] + parts
    for i, part in enumerate(path):
        last = i == len(path) - 1
        nxt = None if last else path[i + 1]
        if isinstance(node, list):
            # Rails: key[][a]=1&key[][b]=2 fills one hash until a sub-key repeats.
            if not (nxt and node and isinstance(node[-1], dict) and not _has_path(node[-1], path[i + 1:])):
                node.append(value if last else ({} if nxt else []))
            node = node[-1]
            continue
        if last:
            node[part] = value
        else:
            if part not in node or not isinstance(node[part], (dict, list)):
                node[part] = [] if nxt == "" else {}
            node = node[part]


def _merge_pairs(pairs) -> dict:
    out: dict = {}
    for key, value in pairs:
        _assign(out, key, value)
    return out


async def read_params(request: Request) -> dict:
    """Merge query parameters and the body (form, multipart or JSON) into one nested dict."""
    cached = getattr(request.state, "params", None)
    if cached is not None:
        return cached
    params = _merge_pairs(request.query_params.multi_items())
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json" or (ctype.endswith("+json")):
            raw = await request.body()
            if raw.strip():
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise ApiError(400, "Error while parsing request body: invalid JSON") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Error while parsing request body: expected a JSON object")
                for key, value in body.items():
                    _assign(params, key, value)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.form()
            except ClientDisconnect:  # the body stopped before its end: nothing to act on, and no trace to log
                raise ApiError(400, "Error while parsing request body: it ended before it was complete") from None
            pairs = [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile) or v.filename]
            params.update(_merge_pairs(pairs))
        elif ctype == "" :
            raw = await request.body()
            if raw.strip().startswith(b"{"):
                try:
                    body = orjson.loads(raw)
                    if isinstance(body, dict):
                        params.update(body)
                except orjson.JSONDecodeError:
                    pass
    if _has_nul(params):  # PostgreSQL cannot store text with NUL; refuse it the same way on every backend
        raise ApiError(400, "Invalid request parameters: NUL characters are not allowed")
    request.state.params = params
    return params


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def as_bool(value: Any, default: bool = False) -> bool:
    """Interpret '1'/'0'/'true'/'false'/booleans the way Rails does."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "on", "yes"):
        return True
    if text in ("0", "false", "f", "off", "no"):
        return False
    raise ApiError(422, f"Validation failed: '{value}' is not a boolean")


def as_list(value: Any) -> list:
    """Return a parameter as a list whether it came as key[], key or a JSON array."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=lambda x: (len(str(x)), str(x)))]
    return [value]


def as_str(value: Any, name: str, max_len: int | None = None) -> str | None:
    """Return a parameter as a string, rejecting arrays and objects."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ApiError(422, f"Validation failed: {name} must be a string")
    text = str(value)
    if max_len is not None and len(text) > max_len:
        raise ApiError(422, f"Validation failed: {name} is too long (maximum is {max_len} characters)")
    return text
