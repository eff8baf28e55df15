"""Job handlers by kind; each is idempotent because a job may run more than once."""

from __future__ import annotations

from townsquare.moderation.purge import purge_if_expired
from townsquare.moderation.sanctions import PURGE_JOB
from townsquare.services.spaces import notify_followers
from townsquare.timelines.fanout import fan_out_status
from townsquare.timelines.home import rebuild_feed, regenerate_home


async def handle_fan_out_status(ctx, conn, payload: dict) -> None:
    """Run the fan-out of one status inside the job's transaction."""
    s = ctx.settings
    await fan_out_status(conn, ctx.feeds, int(payload["status_id"]), active_days=s.active_days,
                         hybrid_threshold=s.hybrid_threshold)


async def handle_regenerate_feed(ctx, conn, payload: dict) -> None:
    """Rebuild the home feed of a reader who comes back after a long absence."""
    await regenerate_home(conn, ctx.feeds, int(payload["account_id"]), ctx.settings.hybrid_threshold)


async def handle_rebuild_feed(ctx, conn, payload: dict) -> None:
    """Rebuild a feed the cache (Redis) lost, from the database."""
    await rebuild_feed(conn, ctx.feeds, str(payload["feed"]), ctx.settings.hybrid_threshold)


async def handle_trim_feeds(ctx, conn, payload: dict) -> None:
    """Cut every feed down to its limit (the SQL store trims in sweeps, Redis on insert)."""
    await ctx.feeds.trim(conn)


async def handle_purge_suspended(ctx, conn, payload: dict) -> None:
    """Purge an account whose suspension outlasted the retention period (a no-op if it was lifted)."""
    await purge_if_expired(conn, ctx.feeds, int(payload["account_id"]), ctx.settings.suspended_retention_days)


async def handle_notify_space(ctx, conn, payload: dict) -> None:
    """Notify one batch of a host's followers that their room is live."""
    await notify_followers(conn, payload)


HANDLERS = {
    "fan_out_status": handle_fan_out_status,
    "regenerate_feed": handle_regenerate_feed,
    "rebuild_feed": handle_rebuild_feed,
    "trim_feeds": handle_trim_feeds,
    PURGE_JOB: handle_purge_suspended,
    "notify_space": handle_notify_space,
}
