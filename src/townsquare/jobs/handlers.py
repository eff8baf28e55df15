"""Job handlers by kind; each is idempotent because a job may run more than once."""

from __future__ import annotations

from townsquare.moderation.purge import purge_if_expired
from townsquare.moderation.sanctions import PURGE_JOB
from townsquare.timelines.fanout import fan_out_status


async def handle_fan_out_status(ctx, conn, payload: dict) -> None:
    """Run the fan-out of one status inside the job's transaction."""
    await fan_out_status(conn, ctx.feeds, int(payload["status_id"]))


async def handle_purge_suspended(ctx, conn, payload: dict) -> None:
    """Purge an account whose suspension outlasted the retention period (a no-op if it was lifted)."""
    await purge_if_expired(conn, ctx.feeds, int(payload["account_id"]), ctx.settings.suspended_retention_days)


HANDLERS = {"fan_out_status": handle_fan_out_status, PURGE_JOB: handle_purge_suspended}
