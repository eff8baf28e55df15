"""Job handlers by kind; each is idempotent because a job may run more than once."""

from __future__ import annotations

from townsquare.services.spaces import notify_followers
from townsquare.timelines.fanout import fan_out_status


async def handle_fan_out_status(ctx, conn, payload: dict) -> None:
    """Run the fan-out of one status inside the job's transaction."""
    await fan_out_status(conn, ctx.feeds, int(payload["status_id"]))


async def handle_notify_space(ctx, conn, payload: dict) -> None:
    """Notify one batch of a host's followers that their room is live."""
    await notify_followers(conn, payload)


HANDLERS = {"fan_out_status": handle_fan_out_status, "notify_space": handle_notify_space}
