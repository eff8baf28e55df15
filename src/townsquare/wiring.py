"""Picks the backends from settings: the only place that decides which implementation runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from townsquare.config import Settings
from townsquare.jobs.handlers import HANDLERS
from townsquare.jobs.runner import JobRunner
from townsquare.ratelimit.limiter import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from townsquare.ratelimit.rules import Rule, build_rules
from townsquare.storage.db import Database
from townsquare.timelines.bus import Bus, MemoryBus, RedisBus
from townsquare.timelines.feeds import FeedStore, SqlFeedStore


@dataclass
class AppContext:
    """Everything a request or job needs: settings, database and the chosen backends."""

    settings: Settings
    db: Database
    feeds: FeedStore
    bus: Bus = field(default_factory=MemoryBus)
    jobs: JobRunner | None = None
    limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    rate_rules: dict[str, Rule] = field(default_factory=lambda: build_rules({}))
    extras: dict = field(default_factory=dict)

    def after_commit(self) -> None:
        """Tell the in-process job runner that new job rows are waiting."""
        if self.jobs is not None:
            self.jobs.wake()


def build_context(settings: Settings) -> AppContext:
    """Create the database handle and backends for these settings (runner not yet started)."""
    db = Database(settings.effective_database_url)
    bus = RedisBus(settings.redis_url, settings.redis_prefix) if settings.redis_url else MemoryBus()
    limiter = (RedisRateLimiter(settings.redis_url, settings.redis_prefix) if settings.redis_url
               else MemoryRateLimiter())
    ctx = AppContext(settings=settings, db=db, feeds=SqlFeedStore(), bus=bus, limiter=limiter,
                     rate_rules=build_rules(settings.rate_limit_overrides()))
    if settings.run_jobs_in_process:
        ctx.jobs = JobRunner(db, HANDLERS, ctx)
    return ctx
