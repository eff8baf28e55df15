"""One settings object for the whole server, read from TOWNSQUARE_* environment variables."""

from __future__ import annotations

import base64
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
    # Web Push (VAPID): the server's P-256 key as Mastodon's VAPID_PRIVATE_KEY (base64url of the 32-byte scalar);
    # generated and kept in the data dir when not set. Several hosts sharing one database must share it.
    vapid_private_key: str | None = None
    vapid_contact: str | None = None  # the "sub" claim push services may use to reach the admin (mailto: or https:)
    # Push endpoints resolving to loopback/private addresses are refused (SSRF); tests run a receiver on loopback.
    push_allow_private_addresses: bool = False
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
    # A post by an author with at most this many followers is fanned out in the post's own transaction (SQL feeds
    # only); above it, by a job after the commit. 0: always by a job.
    inline_fan_out_followers: int = 100
    # A job claimed longer ago than this is taken to belong to a worker that died, and runs again.
    job_lease_seconds: int = 300
    # Moderation: purge suspended accounts after this many days (None: keep their data forever),
    # and whether the public moderation log names the accounts acted on.
    suspended_retention_days: int | None = None
    moderation_log_show_targets: bool = False
    # Link preview cards: limits of the page fetch. Private, loopback and link-local addresses are refused, except
    # these comma-separated addresses/networks ("*" = any; for tests on loopback only, never in production).
    link_cards_allow_private: str = ""
    link_cards_timeout: float = 5.0
    link_cards_max_bytes: int = 1_048_576
    link_cards_max_redirects: int = 3
    # Trends: seconds between refreshes, and the unique accounts (tags, links) or interactions (statuses) to start.
    trends_refresh_seconds: float = 300.0
    trends_threshold: int = 5
    # Spaces audio: HLS playlists and segments go to files under spaces_dir (default <data_dir>/spaces),
    # which nginx can serve directly, or stay in memory with spaces_store="memory".
    spaces_store: Literal["disk", "memory"] = "disk"
    spaces_dir: Path | None = None
    # Live audio rooms: listener presence expiry and sampling, reaction tick, and per-process load shedding.
    spaces_presence_ttl: float = 60.0
    spaces_count_interval: float = 5.0
    spaces_reaction_tick: float = 1.0
    spaces_host_gone_seconds: float = 300.0  # a live room whose host has no audio socket this long ends (0: never)
    spaces_join_rate: float = 0.0  # an optional fixed cap of joins/s per process (0 = none: the adaptive limit decides)
    spaces_reaction_rate: float = 20000.0  # reactions/s per process before 503 + Retry-After (0 = unlimited)
    # Overload: the adaptive concurrency limit per process (requests in the app at once), shed by class,
    # and how much job lag /health/ready tolerates.
    overload_enabled: bool = True
    overload_initial_limit: int = 64
    overload_min_limit: int = 32
    overload_max_limit: int = 2000
    ready_max_job_lag_seconds: float = 60.0
    # Abuse resistance: rate limits ("LIMIT/PERIOD", period in s/m/h/d; unset = Mastodon's default).
    rate_limits_enabled: bool = True
    # Whole responses of the hot reads, per viewer, kept at most this long while the database is unchanged
    # (SQLite's data_version, or scale-out's change counter in Redis; 0 turns it off). See api/page_cache.py.
    page_cache_seconds: float = 1.0
    # Requests for the API's plain routes go straight to their endpoints, past FastAPI's matching and per-route
    # handler (api/dispatch.py); off, FastAPI routes every request.
    fast_dispatch: bool = True
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
    # Media files: under media_dir (default <data_dir>/media, served at /system/media/ by the app or nginx),
    # or in an S3-compatible bucket when s3_endpoint and s3_bucket are set.
    media_dir: Path | None = None
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_public_url: str | None = None
    s3_region: str = "us-east-1"
    s3_acl: str = "public-read"  # canned ACL of each object ("" when a bucket policy makes them public)

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

    @cached_property
    def effective_vapid_private_key(self) -> str:
        """The VAPID private key (base64url, 32 bytes), generated and kept in the data dir when not configured."""
        if self.vapid_private_key:
            return self.vapid_private_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "vapid_private_key"
        if path.exists():
            return path.read_text().strip()
        from cryptography.hazmat.primitives.asymmetric import ec

        scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
        key = base64.urlsafe_b64encode(scalar.to_bytes(32, "big")).decode().rstrip("=")
        path.write_text(key)
        path.chmod(0o600)
        return key

    @cached_property
    def vapid_public_key(self) -> str:
        """The VAPID public key clients subscribe with: base64url of the uncompressed P-256 point, as Mastodon shows it."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        raw = self.effective_vapid_private_key
        scalar = int.from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), "big")
        point = ec.derive_private_key(scalar, ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return base64.urlsafe_b64encode(point).decode()
