"""Picks the backends from settings: the only place that decides which implementation runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from townsquare.config import Settings
from townsquare.jobs.handlers import HANDLERS
from townsquare.jobs.runner import JobRunner
from townsquare.spaces.audio.hub import AudioHub
from townsquare.spaces.live import LiveRooms, build_live_rooms
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
    audio: AudioHub | None = None
    spaces: LiveRooms | None = None
    extras: dict = field(default_factory=dict)

    def after_commit(self) -> None:
        """Tell the in-process job runner that new job rows are waiting."""
        if self.jobs is not None:
            self.jobs.wake()


def build_context(settings: Settings) -> AppContext:
    """Create the database handle and backends for these settings (runner not yet started)."""
    db = Database(settings.effective_database_url)
    bus = RedisBus(settings.redis_url, settings.redis_prefix) if settings.redis_url else MemoryBus()
    ctx = AppContext(settings=settings, db=db, feeds=SqlFeedStore(), bus=bus)
    ctx.spaces = build_live_rooms(settings, bus)
    ctx.audio = AudioHub(settings)
    if settings.run_jobs_in_process:
        ctx.jobs = JobRunner(db, HANDLERS, ctx)
    return ctx
