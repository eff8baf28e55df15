"""Job handlers by kind; each is idempotent because a job may run more than once."""

from __future__ import annotations

from townsquare.timelines.fanout import fan_out_status


async def handle_fan_out_status(ctx, conn, payload: dict) -> None:
    """Run the fan-out of one status inside the job's transaction."""
    await fan_out_status(conn, ctx.feeds, int(payload["status_id"]))


HANDLERS = {"fan_out_status": handle_fan_out_status}
