"""One settings object for the whole server, read from TOWNSQUARE_* environment variables."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Server settings; every field can be set as TOWNSQUARE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="TOWNSQUARE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./data")
    database_url: str | None = None
    domain: str | None = None
    registrations: Literal["open", "approval", "closed"] = "open"
    secret_key: str | None = None
    max_status_chars: int = 500
    title: str = "Townsquare"
    description: str = "A self-hosted Townsquare server."
    contact_email: str = ""
    run_jobs_in_process: bool = True
    scheme: Literal["http", "https"] = "http"
    # Scale-out mode: a redis:// URL moves feeds, the event bus, presence and rate limits to Redis.
    redis_url: str | None = None
    redis_prefix: str = "townsquare:"
    # Timelines: entries kept per feed, who counts as recently active, and where hybrid delivery starts.
    feed_limit: int = 800
    active_days: int = 14
    hybrid_threshold: int = 10_000
    # A job claimed longer ago than this is taken to belong to a worker that died, and runs again.
    job_lease_seconds: int = 300
    # Moderation: purge suspended accounts after this many days (None: keep their data forever),
    # and whether the public moderation log names the accounts acted on.
    suspended_retention_days: int | None = None
    moderation_log_show_targets: bool = False
    # Spaces audio: HLS playlists and segments go to files under spaces_dir (default <data_dir>/spaces),
    # which nginx can serve directly, or stay in memory with spaces_store="memory".
    spaces_store: Literal["disk", "memory"] = "disk"
    spaces_dir: Path | None = None
    # Live audio rooms: listener presence expiry and sampling, reaction tick, and per-process load shedding.
    spaces_presence_ttl: float = 60.0
    spaces_count_interval: float = 5.0
    spaces_reaction_tick: float = 1.0
    spaces_host_gone_seconds: float = 300.0  # a live room whose host has no audio socket this long ends (0: never)
    spaces_join_rate: float = 20000.0  # joins/s per process before 503 + Retry-After (0 = unlimited)
    spaces_reaction_rate: float = 20000.0  # reactions/s per process before 503 + Retry-After (0 = unlimited)
    # Abuse resistance: rate limits ("LIMIT/PERIOD", period in s/m/h/d; unset = Mastodon's default).
    rate_limits_enabled: bool = True
    rate_limit_unauthenticated: str | None = None
    rate_limit_token: str | None = None
    rate_limit_user: str | None = None
    rate_limit_sign_up: str | None = None
    rate_limit_sign_in: str | None = None
    rate_limit_deletes: str | None = None
    rate_limit_media: str | None = None
    # X-Forwarded-For is believed only when the peer is one of these (comma-separated addresses/networks).
    trusted_proxies: str = "127.0.0.1,::1"
    # Kept free in the data dir while there is room, and released so a server can start on a full disk.
    storage_reserve_bytes: int = 1_048_576
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 104_857_600

    def rate_limit_overrides(self) -> dict[str, str | None]:
        """Return the configured "LIMIT/PERIOD" of each rate limit (None keeps the default)."""
        return {name.removeprefix("rate_limit_"): value for name, value in self.__dict__.items()
                if name.startswith("rate_limit_") and name != "rate_limits_enabled"}

    @property
    def effective_domain(self) -> str:
        """The public host name used in URIs and links."""
        return self.domain or f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The public base URL of the server, without a trailing slash."""
        return f"{self.scheme}://{self.effective_domain}"

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL of the main database (SQLite in the data dir by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'townsquare.sqlite3').resolve()}"

    @cached_property
    def effective_secret_key(self) -> str:
        """The secret key, generated and kept in the data dir when not configured."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        # Written aside and renamed, so a full disk leaves no empty key file behind.
        tmp = path.with_name(".secret_key.tmp")
        try:
            tmp.write_text(key)
            tmp.chmod(0o600)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return key
