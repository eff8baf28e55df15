"""Web Push subscription of the current access token: /api/v1/push/subscription (POST, GET, PUT, DELETE)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from townsquare.api.deps import bearer, ctx_of, get_viewer, json
from townsquare.api.params import as_bool, as_str, read_params
from townsquare.core.errors import unprocessable
from townsquare.core.ids import render_id
from townsquare.services import push as push_service

router = APIRouter()
PATH = "/api/v1/push/subscription"


def render_subscription(row, server_key: str) -> dict:
    """A WebPushSubscription entity."""
    alerts = row.alerts or {}
    return {"id": render_id(row.id), "endpoint": row.endpoint, "standard": bool(row.standard),
            "alerts": {kind: bool(alerts.get(kind)) for kind in push_service.ALERT_TYPES},
            "server_key": server_key, "policy": row.policy}


def _object(value, name: str) -> dict:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise unprocessable(f"{name} must be an object")
    return value


def _data(p: dict) -> tuple[dict[str, bool] | None, str | None]:
    """The alerts (None when not given) and policy (None when not given) of data[...] (policy also at top level)."""
    data = _object(p.get("data"), "data")
    alerts = None
    if "alerts" in data:
        given = _object(data["alerts"], "data[alerts]")
        alerts = {kind: as_bool(given.get(kind)) for kind in push_service.ALERT_TYPES if kind in given}
    policy = as_str(data.get("policy", p.get("policy")), "policy", 20) or None
    if policy is not None and policy not in push_service.POLICIES:
        raise unprocessable(f"Policy must be one of {', '.join(push_service.POLICIES)}")
    return alerts, policy


def _keys(p: dict) -> push_service.PushKeys:
    sub = _object(p.get("subscription"), "subscription")
    keys = _object(sub.get("keys"), "subscription[keys]")
    endpoint = as_str(sub.get("endpoint"), "subscription[endpoint]", 2000)
    p256dh = as_str(keys.get("p256dh"), "subscription[keys][p256dh]", 200)
    auth = as_str(keys.get("auth"), "subscription[keys][auth]", 100)
    if not endpoint or not p256dh or not auth:
        raise unprocessable("subscription[endpoint], subscription[keys][p256dh] and subscription[keys][auth] are required")
    return push_service.PushKeys(endpoint.strip(), p256dh.strip(), auth.strip(), as_bool(sub.get("standard")))


@router.post(PATH)
async def subscribe(request: Request) -> Response:
    """Create the token's Web Push subscription, replacing any it had."""
    viewer = await get_viewer(request, "push")
    p = await read_params(request)
    keys = _keys(p)
    alerts, policy = _data(p)
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        row = await push_service.subscribe_push(conn, viewer, ctx.settings.effective_secret_key, bearer(request), keys,
                                                alerts or {}, policy or "all")
    return json(render_subscription(row, ctx.settings.vapid_public_key))


@router.get(PATH)
async def show(request: Request) -> Response:
    """The token's Web Push subscription (404 when it has none)."""
    viewer = await get_viewer(request, "push")
    ctx = ctx_of(request)
    async with ctx.db.read() as conn:
        row = await push_service.get_push_subscription(conn, viewer)
    return json(render_subscription(row, ctx.settings.vapid_public_key))


@router.put(PATH)
async def update(request: Request) -> Response:
    """Change the alerts and policy of the token's subscription (404 when it has none)."""
    viewer = await get_viewer(request, "push")
    alerts, policy = _data(await read_params(request))
    ctx = ctx_of(request)
    async with ctx.db.write() as conn:
        row = await push_service.update_push_subscription(conn, viewer, alerts, policy)
    return json(render_subscription(row, ctx.settings.vapid_public_key))


@router.delete(PATH)
async def unsubscribe(request: Request) -> Response:
    """Remove the token's subscription; an empty object whether or not there was one."""
    viewer = await get_viewer(request, "push")
    async with ctx_of(request).db.write() as conn:
        await push_service.unsubscribe_push(conn, viewer)
    return json({})
