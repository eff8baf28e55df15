"""What every route needs: the app context, the viewer behind the token, and JSON responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from townsquare.core.errors import ApiError
from townsquare.core.ids import parse_id
from townsquare.domain.models import Viewer
from townsquare.services.auth import lookup_token
from townsquare.storage import accounts as account_store

if TYPE_CHECKING:  # the app context is built by wiring, above the api layer
    from townsquare.wiring import AppContext

ANONYMOUS = Viewer(account=None, scopes=frozenset())
RESTRICTED_PATHS = ("/api/v1/account_warnings",)
JSON_TYPE = "application/json; charset=utf-8"


def ctx_of(request: Request) -> AppContext:
    """Return the application context."""
    return request.app.state.ctx


def json(data, status: int = 200, headers: dict | None = None) -> Response:
    """Return a JSON response serialised with orjson."""
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type=JSON_TYPE)


def bearer(request: Request) -> str | None:
    """Return the bearer token of a request (header or access_token parameter)."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.query_params.get("access_token") or None


async def get_viewer(request: Request, scope: str | None = None, *, required: bool = True, user: bool = True) -> Viewer:
    """Authenticate a request and check its scope; anonymous only when not required."""
    cached = request.scope.get("state", {}).get("viewer")  # request.state's own dict, without getattr's exception
    if cached is None:
        cached = ANONYMOUS
        secret = bearer(request)
        if secret:
            ctx = ctx_of(request)
            # Two point reads as last committed, each one statement on SQLite's reader (storage/prepared.py).
            row = await lookup_token(ctx.db, secret, ctx.tokens)
            account = await account_store.get_now(ctx.db, row.account_id) if row is not None and row.account_id else None
            if row is None or (row.account_id and account is None):
                raise ApiError(401, "The access token is invalid")
            if account is not None and not account.approved:
                raise ApiError(403, "Your login is currently pending approval")
            sanctioned = account is not None and (account.suspended_at is not None or account.disabled_at is not None)
            if sanctioned and not request.url.path.startswith(RESTRICTED_PATHS):  # the URL is built only when needed
                # A suspended or disabled account keeps its token only to read and appeal its warnings.
                if account.suspended_at is not None:
                    raise ApiError(401, "Your account is suspended")
                if account.disabled_at is not None:
                    raise ApiError(403, "Your login is currently disabled")
            cached = Viewer(account=account, scopes=frozenset(row.scopes.split()), token_id=row.id, app_id=row.app_id)
        request.state.viewer = cached
    if cached is ANONYMOUS:
        if required:
            raise ApiError(401, "The access token is invalid")
        return cached
    if scope is not None and not cached.has_scope(scope):
        raise ApiError(403, "This action is outside the authorized scopes")
    if user and required and cached.account is None:
        raise ApiError(422, "This method requires an authenticated user")
    return cached


def path_id(value: str) -> int:
    """Parse an id from the URL path; unknown forms are simply not found."""
    parsed = parse_id(value)
    if parsed is None:
        raise ApiError(404, "Record not found")
    return parsed
