"""Picks the backends from settings: the only place that decides which implementation runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from dataclasses import dataclass, field
from functools import partial

from townsquare.config import Settings
from townsquare.jobs.handlers import HANDLERS
from townsquare.jobs.runner import JobRunner
from townsquare.spaces.audio.hub import AudioHub
from townsquare.spaces.live import LiveRooms, build_live_rooms
from townsquare.ratelimit.limiter import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from townsquare.ratelimit.rules import Rule, build_rules
from townsquare.storage.db import Database
from townsquare.storage.health import StorageHealth
from townsquare.timelines import events
from townsquare.timelines.bus import Bus, MemoryBus, RedisBus
from townsquare.timelines.feeds import FeedStore, SqlFeedStore
from townsquare.timelines.redis_feeds import RedisFeedStore

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

    def after_commit(self) -> None:
        """Tell the in-process job runner, and worker processes listening on the bus, that new job rows are waiting."""
        if self.jobs is not None:
            self.jobs.wake()
        if isinstance(self.bus, RedisBus):
            task = asyncio.get_running_loop().create_task(self.bus.publish("jobs", {}))
            _pending.add(task)
            task.add_done_callback(_pending.discard)


def build_context(settings: Settings) -> AppContext:
    """Create the database handle and backends for these settings (runner not yet started)."""
    db = Database(settings.effective_database_url)
    db.health = StorageHealth(settings.data_dir, settings.storage_reserve_bytes)
    db.health.probe = db.probe_write
    bus = RedisBus(settings.redis_url, settings.redis_prefix) if settings.redis_url else MemoryBus()
    db.on_commit = partial(events.flush, bus)  # real-time events go out only once their rows are committed
    if settings.redis_url:
        feeds: FeedStore = RedisFeedStore(settings.redis_url, settings.redis_prefix, settings.feed_limit)
    else:
        feeds = SqlFeedStore(settings.feed_limit)
    limiter = (RedisRateLimiter(settings.redis_url, settings.redis_prefix) if settings.redis_url
               else MemoryRateLimiter())
    ctx = AppContext(settings=settings, db=db, feeds=feeds, bus=bus, limiter=limiter,
                     rate_rules=build_rules(settings.rate_limit_overrides()))
    ctx.spaces = build_live_rooms(settings, bus)
    ctx.audio = AudioHub(settings)
    if settings.run_jobs_in_process:
        # The embedded server (SQLite, no Redis) is the only runner of its database, so it owns every job row.
        ctx.jobs = JobRunner(db, HANDLERS, ctx, periodic={"trim_feeds": 600},
                             stale_after=timedelta(seconds=settings.job_lease_seconds),
                             exclusive=db.is_sqlite and not settings.redis_url)
    return ctx
