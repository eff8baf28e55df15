"""Picks the backends from settings: the only place that decides which implementation runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from townsquare.config import Settings
from townsquare.jobs.handlers import HANDLERS
from townsquare.jobs.runner import JobRunner
from townsquare.media.store import DiskMediaStore, MediaStore
from townsquare.spaces.audio.hub import AudioHub
from townsquare.spaces.live import LiveRooms, build_live_rooms
from townsquare.ratelimit.limiter import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from townsquare.ratelimit.rules import Rule, build_rules
from townsquare.services.auth import TokenCache
from townsquare.storage.db import Database
from townsquare.storage.writable import StorageHealth
from townsquare.timelines import events
from townsquare.timelines.bus import Bus, MemoryBus, RedisBus
from townsquare.storage.job_rows import JOBS_QUEUED
from townsquare.timelines.fanout import InlineFanOut
from townsquare.timelines.feeds import FeedStore, SqlFeedStore
from townsquare.timelines.redis_feeds import RedisFeedStore
from townsquare.storage.changes import SharedChanges
from townsquare.storage.room_list import RoomList
from townsquare.timelines.status_cache import StatusCache, committed

_pending: set = set()  # keeps fire-and-forget wake-ups alive until sent


@dataclass
class AppContext:
    """Everything a request or job needs: settings, database and the chosen backends."""

    settings: Settings
    db: Database
    feeds: FeedStore
    bus: Bus = field(default_factory=MemoryBus)
    jobs: JobRunner | None = None
    audio: AudioHub | None = None
    spaces: LiveRooms | None = None
    limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    rate_rules: dict[str, Rule] = field(default_factory=lambda: build_rules({}))
    extras: dict = field(default_factory=dict)
    media: MediaStore | None = None
    status_cache: StatusCache | None = None
    tokens: TokenCache | None = None
    changes: SharedChanges | None = None  # scale-out: the change counter every commit bumps (storage/changes.py)
    room_list: RoomList | None = None  # the rooms nginx lets joins through to (storage/room_list.py)
    inline_fan_out: InlineFanOut | None = None  # small fan-outs run in the post's transaction (timelines/fanout.py)

    def after_commit(self) -> None:
        """Tell the in-process job runner, and worker processes listening on the bus, that new job rows are waiting."""
        if self.jobs is not None:
            self.jobs.wake()
        if isinstance(self.bus, RedisBus):
            task = asyncio.get_running_loop().create_task(self.bus.publish("jobs", {}))
            _pending.add(task)
            task.add_done_callback(_pending.discard)


def build_media_store(settings: Settings) -> MediaStore:
    """The media files' backend: an S3-compatible bucket when configured, else files in the data dir."""
    if settings.s3_endpoint and settings.s3_bucket:
        from townsquare.media.s3 import S3MediaStore  # the S3 client is imported only where it is used

        return S3MediaStore(settings.s3_endpoint, settings.s3_bucket, settings.s3_access_key or "",
                            settings.s3_secret_key or "", settings.s3_public_url, settings.s3_region,
                            settings.s3_acl)
    return DiskMediaStore(settings.media_dir or settings.data_dir / "media")


def periodic_jobs(settings: Settings) -> dict[str, float]:
    """The periodic job kinds and their intervals in seconds, for the embedded runner and for workers."""
    return {"trim_feeds": 600, "remove_unattached_media": 3600, "schedule_trends": settings.trends_refresh_seconds}


def build_context(settings: Settings) -> AppContext:
    """Create the database handle and backends for these settings (runner not yet started)."""
    db = Database(settings.effective_database_url)
    db.health = StorageHealth(settings.data_dir, settings.storage_reserve_bytes)
    db.health.probe = db.probe_write
    bus = RedisBus(settings.redis_url, settings.redis_prefix) if settings.redis_url else MemoryBus()
    status_cache, tokens = StatusCache(), TokenCache()

    async def on_commit(items: list) -> None:
        # Cache invalidations apply here before the writer's response; they also go out on the Bus to other processes.
        committed((status_cache, tokens), items)
        if JOBS_QUEUED in items and ctx.jobs is not None:  # on the bus too: it wakes worker processes
            ctx.jobs.wake()
        await events.flush(bus, items)

    db.on_commit = on_commit  # real-time events go out only once their rows are committed
    changes = None
    if settings.redis_url and not db.is_sqlite:  # SQLite's data_version already tells every process of a change
        changes = SharedChanges(settings.redis_url, settings.redis_prefix)
        db.on_change = changes.bump
    if settings.redis_url:
        feeds: FeedStore = RedisFeedStore(settings.redis_url, settings.redis_prefix, settings.feed_limit)
    else:
        feeds = SqlFeedStore(settings.feed_limit)
    limiter = (RedisRateLimiter(settings.redis_url, settings.redis_prefix) if settings.redis_url
               else MemoryRateLimiter())
    ctx = AppContext(settings=settings, db=db, feeds=feeds, bus=bus, limiter=limiter,
                     rate_rules=build_rules(settings.rate_limit_overrides()), status_cache=status_cache, tokens=tokens,
                     changes=changes)
    if isinstance(feeds, SqlFeedStore) and settings.inline_fan_out_followers > 0:  # its entries commit with the post
        ctx.inline_fan_out = InlineFanOut(feeds, settings.active_days, settings.hybrid_threshold,
                                          settings.inline_fan_out_followers)
    ctx.spaces = build_live_rooms(settings, bus)
    ctx.room_list = RoomList(Path(settings.spaces_dir or Path(settings.data_dir) / "spaces") / "listed")
    ctx.audio = AudioHub(settings)
    ctx.media = build_media_store(settings)
    if settings.run_jobs_in_process:
        # The embedded server (SQLite, no Redis) is the only runner of its database, so it owns every job row.
        ctx.jobs = JobRunner(db, HANDLERS, ctx, periodic=periodic_jobs(settings),
                             stale_after=timedelta(seconds=settings.job_lease_seconds),
                             exclusive=db.is_sqlite and not settings.redis_url)
    return ctx
