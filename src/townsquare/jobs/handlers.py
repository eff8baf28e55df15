"""Job handlers by kind; each is idempotent because a job may run more than once."""

from __future__ import annotations

from townsquare.media.processing import convert_upload, finish_upload, remove_unattached
from townsquare.media.uploads import DELETE_FILES_JOB, PROCESS_JOB
from townsquare.cards.service import JOB as CARD_JOB
from townsquare.cards.service import attach_card, prepare_card
from townsquare.moderation.purge import purge_if_expired
from townsquare.moderation.sanctions import PURGE_JOB
from townsquare.services.polls import END_JOB, end_poll
from townsquare.services.scheduling import PUBLISH_JOB, publish_scheduled
from townsquare.services.push import PUSH_JOB
from townsquare.services.push_delivery import deliver_web_push
from townsquare.services.spaces import notify_followers
from townsquare.services.trends import REFRESH_JOB, compute_trends, schedule_refresh, store_trends
from townsquare.timelines.fanout import fan_out_status
from townsquare.timelines.home import rebuild_feed, regenerate_home


async def handle_fan_out_status(ctx, conn, payload: dict) -> None:
    """Run the fan-out of one status inside the job's transaction."""
    s = ctx.settings
    await fan_out_status(conn, ctx.feeds, int(payload["status_id"]), active_days=s.active_days,
                         hybrid_threshold=s.hybrid_threshold)


# Several fan-outs claimed together run in one write unit: each only adds feed entries, events and notifications
# of its own status, so one after another in one transaction is what running them one by one would commit.
handle_fan_out_status.batchable = True


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


async def handle_process_media(ctx, conn, payload: dict) -> None:
    """Record the result of processing an upload (the transcode itself ran before, in prepare)."""
    await finish_upload(conn, int(payload["media_id"]), payload["prepared"])


async def _convert_media(ctx, payload: dict) -> dict:
    return {**payload, "prepared": await convert_upload(ctx.db, ctx.media, int(payload["media_id"]))}


handle_process_media.prepare = _convert_media  # type: ignore[attr-defined]  # slow work outside the transaction


async def handle_delete_media_files(ctx, conn, payload: dict) -> None:
    """Nothing left to record: the files went in prepare (deleting is idempotent, so a retry is harmless)."""


async def _delete_media_files(ctx, payload: dict) -> dict:
    await ctx.media.delete(list(payload["keys"]))
    return payload


handle_delete_media_files.prepare = _delete_media_files  # type: ignore[attr-defined]


async def handle_remove_unattached_media(ctx, conn, payload: dict) -> None:
    """Remove uploads that no status took within a day (periodic)."""
    await remove_unattached(conn)
async def handle_end_poll(ctx, conn, payload: dict) -> None:
    """Announce that a poll has ended to its author and voters."""
    await end_poll(conn, int(payload["poll_id"]))


async def handle_publish_scheduled(ctx, conn, payload: dict) -> None:
    """Publish a scheduled status that is due, through the same path as a normal post."""
    s = ctx.settings
    await publish_scheduled(conn, int(payload["scheduled_status_id"]), base_url=s.base_url, domain=s.effective_domain,
                            max_chars=s.max_status_chars)
async def handle_fetch_link_card(ctx, conn, payload: dict) -> None:
    """Attach the preview card that prepare_card read (outside the transaction) to its status."""
    await attach_card(conn, payload, ctx.settings.hybrid_threshold)


handle_fetch_link_card.prepare = prepare_card


async def prepare_trends(ctx, payload: dict) -> dict:
    """Score the trends on a read connection, before the job's (short) write transaction."""
    async with ctx.db.read() as conn:
        return {**payload, "scores": await compute_trends(conn, threshold=ctx.settings.trends_threshold)}


async def handle_refresh_trends(ctx, conn, payload: dict) -> None:
    """Store the tag, link and status trends scored from the activity committed so far."""
    await store_trends(conn, payload["scores"])


handle_refresh_trends.prepare = prepare_trends


async def handle_schedule_trends(ctx, conn, payload: dict) -> None:
    """Periodic tick: queue a durable trends refresh job unless one is waiting (one runs even with many workers)."""
    await schedule_refresh(conn)

async def handle_web_push(ctx, conn, payload: dict) -> None:
    """Push one notification to one Web Push subscription (retried with backoff while the push service is busy)."""
    await deliver_web_push(ctx, int(payload["subscription_id"]), int(payload["notification_id"]))


handle_web_push.outside_transaction = True  # it waits on a push service: no write lock held meanwhile

HANDLERS = {
    "fan_out_status": handle_fan_out_status,
    "regenerate_feed": handle_regenerate_feed,
    "rebuild_feed": handle_rebuild_feed,
    "trim_feeds": handle_trim_feeds,
    PURGE_JOB: handle_purge_suspended,
    "notify_space": handle_notify_space,
    PROCESS_JOB: handle_process_media,
    DELETE_FILES_JOB: handle_delete_media_files,
    "remove_unattached_media": handle_remove_unattached_media,
    END_JOB: handle_end_poll,
    PUBLISH_JOB: handle_publish_scheduled,
    CARD_JOB: handle_fetch_link_card,
    REFRESH_JOB: handle_refresh_trends,
    "schedule_trends": handle_schedule_trends,
    PUSH_JOB: handle_web_push,
}
