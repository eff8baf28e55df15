"""SQLAlchemy Core tables: the whole schema in one place (Alembic migrations mirror it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)


def _id() -> Column:
    return Column("id", BigInteger, primary_key=True, autoincrement=False)


def _account_fk(name: str = "account_id", nullable: bool = False) -> Column:
    return Column(name, BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=nullable)


def _status_fk(name: str = "status_id", nullable: bool = False) -> Column:
    return Column(name, BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), nullable=nullable)


accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("username", String(30), nullable=False),
    Column("username_lower", String(30), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False, default=""),
    Column("note", Text, nullable=False, default=""),
    Column("locked", Boolean, nullable=False, default=False),
    Column("bot", Boolean, nullable=False, default=False),
    Column("discoverable", Boolean, nullable=False, default=True),
    Column("fields", JSON, nullable=False, default=list),
    Column("email", String(320), nullable=True, unique=True),
    Column("password_hash", String(200), nullable=True),
    Column("role", String(20), nullable=False, default="user"),
    Column("approved", Boolean, nullable=False, default=True),
    Column("registration_reason", Text, nullable=True),
    Column("locale", String(16), nullable=True),
    Column("default_visibility", String(10), nullable=False, default="public"),
    Column("default_sensitive", Boolean, nullable=False, default=False),
    Column("default_language", String(16), nullable=True),
    # Profile images: the stored file (a URL path under this app, or the object store's URL) and its alt text.
    Column("avatar_file", String(500), nullable=True),
    Column("avatar_description", Text, nullable=True),
    Column("header_file", String(500), nullable=True),
    Column("header_description", Text, nullable=True),
    Column("statuses_count", Integer, nullable=False, default=0),
    Column("followers_count", Integer, nullable=False, default=0),
    Column("following_count", Integer, nullable=False, default=0),
    Column("last_status_at", TS, nullable=True),
    Column("last_active_at", TS, nullable=True),
    # Set once an account's posts are merged at read time instead of fanned out; it stays set, so
    # posts made while hybrid remain reachable even if the following shrinks below the threshold.
    Column("feed_hybrid", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
    # Moderation state: set when a sanction applies, cleared when it is lifted; nothing else changes.
    Column("suspended_at", TS, nullable=True),
    Column("silenced_at", TS, nullable=True),
    Column("sensitized_at", TS, nullable=True),
    Column("disabled_at", TS, nullable=True),
    # Every status read asks "which accounts are suspended/silenced?": these keep that cheap.
    Index(None, "suspended_at"),
    Index(None, "silenced_at"),
)

oauth_apps = Table(
    "oauth_apps",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("website", String(2000), nullable=True),
    Column("redirect_uris", Text, nullable=False),
    Column("scopes", String(1000), nullable=False),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("client_secret", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("app_id", BigInteger, ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=True),
    _account_fk(nullable=True),
    Column("scopes", String(1000), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
    Column("last_used_at", TS, nullable=True),
)

oauth_codes = Table(
    "oauth_codes",
    metadata,
    _id(),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("app_id", BigInteger, ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
    _account_fk(),
    Column("scopes", String(1000), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(200), nullable=True),
    Column("code_challenge_method", String(10), nullable=True),
    Column("expires_at", TS, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
)

statuses = Table(
    "statuses",
    metadata,
    _id(),
    _account_fk(),
    Column("text", Text, nullable=False, default=""),
    Column("content", Text, nullable=False, default=""),
    Column("spoiler_text", Text, nullable=False, default=""),
    Column("visibility", String(10), nullable=False),
    Column("sensitive", Boolean, nullable=False, default=False),
    Column("language", String(16), nullable=True),
    Column("in_reply_to_id", BigInteger, ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True),
    Column("in_reply_to_account_id", BigInteger, nullable=True),
    Column("reblog_of_id", BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), nullable=True),
    Column("application_id", BigInteger, nullable=True),
    Column("replies_count", Integer, nullable=False, default=0),
    Column("reblogs_count", Integer, nullable=False, default=0),
    Column("favourites_count", Integer, nullable=False, default=0),
    Column("created_at", TS, nullable=False),
    Column("edited_at", TS, nullable=True),
    Index(None, "account_id", "id"),
    Index(None, "in_reply_to_id"),
    Index(None, "reblog_of_id", "account_id"),
    Index(None, "visibility", "id"),
)

status_edits = Table(
    "status_edits",
    metadata,
    _id(),
    _status_fk(),
    _account_fk(),
    Column("text", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("spoiler_text", Text, nullable=False),
    Column("sensitive", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Index(None, "status_id", "id"),
)

mentions = Table(
    "mentions",
    metadata,
    _status_fk(),
    _account_fk(),
    UniqueConstraint("status_id", "account_id"),
    Index(None, "account_id", "status_id"),
)

tags = Table(
    "tags",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
)

status_tags = Table(
    "status_tags",
    metadata,
    _status_fk(),
    Column("tag_id", BigInteger, ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("status_id", "tag_id"),
    Index(None, "tag_id", "status_id"),
)


def _relation(name: str, *extra: Column) -> Table:
    return Table(
        name,
        metadata,
        _id(),
        _account_fk(),
        _account_fk("target_account_id"),
        *extra,
        Column("created_at", TS, nullable=False),
        UniqueConstraint("account_id", "target_account_id"),
        Index(None, "target_account_id", "account_id"),
    )


follows = _relation(
    "follows",
    Column("show_reblogs", Boolean, nullable=False, default=True),
    Column("notify", Boolean, nullable=False, default=False),
    Column("languages", JSON, nullable=True),
)
follow_requests = _relation(
    "follow_requests",
    Column("show_reblogs", Boolean, nullable=False, default=True),
    Column("notify", Boolean, nullable=False, default=False),
    Column("languages", JSON, nullable=True),
)
blocks = _relation("blocks")
mutes = _relation(
    "mutes",
    Column("hide_notifications", Boolean, nullable=False, default=True),
    Column("expires_at", TS, nullable=True),
)


def _status_mark(name: str) -> Table:
    return Table(
        name,
        metadata,
        _id(),
        _account_fk(),
        _status_fk(),
        Column("created_at", TS, nullable=False),
        UniqueConstraint("account_id", "status_id"),
        Index(None, "status_id"),
    )


favourites = _status_mark("favourites")
bookmarks = _status_mark("bookmarks")
pins = _status_mark("pins")

notifications = Table(
    "notifications",
    metadata,
    _id(),
    _account_fk(),
    _account_fk("from_account_id"),
    Column("type", String(30), nullable=False),
    _status_fk(nullable=True),
    Column("created_at", TS, nullable=False),
    Column("account_warning_id", BigInteger, nullable=True),
    Index(None, "account_id", "id"),
)

feed_entries = Table(
    "feed_entries",
    metadata,
    Column("feed", String(40), primary_key=True),
    Column("status_id", BigInteger, primary_key=True),
    Column("author_id", BigInteger, nullable=False),
    Column("reblog_of_id", BigInteger, nullable=True),
    Index(None, "status_id"),
    # A feed's reblog entries (migration 1000): "does this feed show a reblog of it?" without reading the whole feed.
    Index("ix_feed_entries_reblogs", "feed", "reblog_of_id", sqlite_where=text("reblog_of_id IS NOT NULL"),
          postgresql_where=text("reblog_of_id IS NOT NULL")),
)

jobs = Table(
    "jobs",
    metadata,
    _id(),
    Column("queue", String(40), nullable=False, default="default"),
    Column("kind", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(10), nullable=False, default="ready"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("run_at", TS, nullable=False),
    Column("locked_at", TS, nullable=True),
    Column("heartbeat_at", TS, nullable=True),  # refreshed every few seconds by the worker holding the job
    Column("last_error", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Index(None, "state", "run_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _account_fk(),
    Column("key", String(200), nullable=False),
    _status_fk(),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("account_id", "key"),
)

markers = Table(
    "markers",
    metadata,
    _account_fk(),
    Column("timeline", String(20), nullable=False),
    Column("last_read_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("account_id", "timeline"),
)

account_notes = Table(
    "account_notes",
    metadata,
    _account_fk(),
    _account_fk("target_account_id"),
    Column("comment", Text, nullable=False),
    UniqueConstraint("account_id", "target_account_id"),
)

tag_follows = Table(
    "tag_follows",
    metadata,
    _id(),
    _account_fk(),
    Column("tag_id", BigInteger, ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("account_id", "tag_id"),
    Index(None, "tag_id"),
)

lists = Table(
    "lists",
    metadata,
    _id(),
    _account_fk(),
    Column("title", String(255), nullable=False),
    Column("replies_policy", String(10), nullable=False, default="list"),
    Column("exclusive", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
    Index(None, "account_id"),
)

list_accounts = Table(
    "list_accounts",
    metadata,
    Column("list_id", BigInteger, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "account_id"),
)

reports = Table(
    "reports",
    metadata,
    _id(),
    _account_fk(),
    _account_fk("target_account_id"),
    Column("status_ids", JSON, nullable=False, default=list),
    Column("rule_ids", JSON, nullable=False, default=list),
    Column("category", String(20), nullable=False, default="other"),
    Column("comment", Text, nullable=False, default=""),
    Column("forwarded", Boolean, nullable=False, default=False),
    Column("assigned_account_id", BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    Column("action_taken_by_account_id", BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    Column("action_taken_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index(None, "target_account_id", "id"),
)

account_warnings = Table(
    "account_warnings",
    metadata,
    _id(),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    _account_fk("target_account_id"),
    Column("action", String(20), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("status_ids", JSON, nullable=False, default=list),
    Column("report_id", BigInteger, ForeignKey("reports.id", ondelete="SET NULL"), nullable=True),
    Column("category", String(20), nullable=False, default="other"),
    Column("overruled_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Index(None, "target_account_id", "id"),
)

appeals = Table(
    "appeals",
    metadata,
    _id(),
    _account_fk(),
    Column("account_warning_id", BigInteger, ForeignKey("account_warnings.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("state", String(10), nullable=False, default="pending"),
    Column("decided_by_account_id", BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
)

# Append-only: no foreign keys (a purged account must not take its history with it), and the
# migration installs triggers refusing UPDATE and DELETE.
action_logs = Table(
    "action_logs",
    metadata,
    _id(),
    Column("account_id", BigInteger, nullable=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target_type", String(20), nullable=False),
    Column("target_id", BigInteger, nullable=True),
    Column("target_handle", String(100), nullable=True),
    Column("category", String(20), nullable=False, default="other"),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
)

spaces = Table(
    "spaces",
    metadata,
    _id(),
    _account_fk(),  # the host
    Column("title", String(200), nullable=False),
    Column("state", String(10), nullable=False, default="scheduled"),
    Column("record", Boolean, nullable=False, default=False),
    Column("scheduled_at", TS, nullable=True),
    Column("started_at", TS, nullable=True),
    Column("ended_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Index(None, "state", "id"),
    Index(None, "account_id", "id"),
)

space_members = Table(
    "space_members",
    metadata,
    Column("space_id", BigInteger, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    _account_fk(),
    Column("role", String(10), nullable=False),  # cohost | speaker | requested
    Column("muted", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("space_id", "account_id"),
)

media_attachments = Table(
    "media_attachments",
    metadata,
    _id(),
    _account_fk(),  # the uploader
    # Unattached until a status takes it; a status deleted some other way leaves it for the cleanup job.
    Column("status_id", BigInteger, ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True),
    Column("position", Integer, nullable=False, default=0),
    Column("type", String(10), nullable=False),  # image | gifv | video | audio | unknown
    Column("state", String(12), nullable=False),  # processing | ready | failed
    Column("prefix", String(80), nullable=False),  # random folder of its files: unguessable from any id
    Column("file_key", String(200), nullable=True),
    Column("file_type", String(100), nullable=True),
    Column("preview_key", String(200), nullable=True),
    Column("upload_key", String(200), nullable=True),  # the raw upload a processing job reads
    Column("thumbnail_key", String(200), nullable=True),  # a custom preview set by the uploader
    Column("url_base", String(500), nullable=True),  # the object store's public URL; None: served by this app
    Column("meta", JSON, nullable=False, default=dict),
    Column("description", Text, nullable=True),
    Column("blurhash", String(100), nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Index(None, "status_id", "position"),
    Index(None, "account_id", "id"),
    Index(None, "status_id", "created_at"),
)

status_edit_media = Table(
    "status_edit_media",
    metadata,
    Column("edit_id", BigInteger, ForeignKey("status_edits.id", ondelete="CASCADE"), nullable=False),
    Column("media_id", BigInteger, nullable=False),  # no foreign key: history outlives a removed attachment
    Column("position", Integer, nullable=False),
    Column("description", Text, nullable=True),  # as it was at that version
    UniqueConstraint("edit_id", "media_id"),
)

# ---- polls, scheduled statuses, conversations, quotes (migration 0400_polls_quotes) ----------------

# Who may quote a status (public | followers | nobody); NULL on rows written before quotes existed.
statuses.append_column(Column("quote_approval_policy", String(10), nullable=True))

polls = Table(
    "polls",
    metadata,
    _id(),
    _status_fk(),
    _account_fk(),
    Column("options", JSON, nullable=False),  # the option titles, in order
    Column("multiple", Boolean, nullable=False, default=False),
    Column("hide_totals", Boolean, nullable=False, default=False),
    Column("expires_at", TS, nullable=False),
    Column("ended_notified", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("status_id"),
)

# One row per (voter, choice): the tallies are counted from here, so concurrent votes cannot lose one.
poll_votes = Table(
    "poll_votes",
    metadata,
    _id(),
    Column("poll_id", BigInteger, ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
    _account_fk(),
    Column("choice", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("poll_id", "account_id", "choice"),
    Index(None, "account_id", "poll_id"),
)

scheduled_statuses = Table(
    "scheduled_statuses",
    metadata,
    _id(),
    _account_fk(),
    Column("scheduled_at", TS, nullable=False),
    Column("params", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Index(None, "account_id", "scheduled_at"),
)

# One direct thread per account and set of other participants (sorted ids joined by commas).
account_conversations = Table(
    "account_conversations",
    metadata,
    _id(),
    _account_fk(),
    Column("participant_key", String(1000), nullable=False),
    Column("participant_ids", JSON, nullable=False),
    Column("last_status_id", BigInteger, ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True),
    Column("unread", Boolean, nullable=False, default=False),
    UniqueConstraint("account_id", "participant_key"),
    Index(None, "account_id", "last_status_id"),
)

conversation_statuses = Table(
    "conversation_statuses",
    metadata,
    Column("conversation_id", BigInteger, ForeignKey("account_conversations.id", ondelete="CASCADE"), nullable=False),
    _status_fk(),
    UniqueConstraint("conversation_id", "status_id"),
    Index(None, "status_id"),
)

quotes = Table(
    "quotes",
    metadata,
    _id(),
    _status_fk(),  # the quoting status
    _account_fk(),
    Column("quoted_status_id", BigInteger, ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True),
    Column("quoted_account_id", BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    Column("state", String(20), nullable=False),  # accepted | revoked (deleted is derived from a NULL quoted status)
    Column("created_at", TS, nullable=False),
    UniqueConstraint("status_id"),
    Index(None, "quoted_status_id", "state", "id"),
)

# Filters (Mastodon's CustomFilter): a titled group of keywords and statuses, applied in some contexts.
custom_filters = Table(
    "custom_filters",
    metadata,
    _id(),
    _account_fk(),
    Column("title", String(256), nullable=False),
    Column("context", JSON, nullable=False, default=list),
    Column("action", String(10), nullable=False, default="warn"),
    Column("expires_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index(None, "account_id"),
)

custom_filter_keywords = Table(
    "custom_filter_keywords",
    metadata,
    _id(),
    Column("custom_filter_id", BigInteger, ForeignKey("custom_filters.id", ondelete="CASCADE"), nullable=False),
    Column("keyword", Text, nullable=False),
    Column("whole_word", Boolean, nullable=False, default=True),
    Column("created_at", TS, nullable=False),
    Index(None, "custom_filter_id"),
)

custom_filter_statuses = Table(
    "custom_filter_statuses",
    metadata,
    _id(),
    Column("custom_filter_id", BigInteger, ForeignKey("custom_filters.id", ondelete="CASCADE"), nullable=False),
    _status_fk(),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("custom_filter_id", "status_id"),
    Index(None, "status_id"),
)

# The full-text index of statuses is dialect-specific and so not declared here (migration 0500_filters_search):
# SQLite has the FTS5 table `statuses_fts` (kept by triggers), PostgreSQL the generated column
# `statuses.search_document` (tsvector, GIN-indexed). Only storage/search.py queries them.
# Link preview cards, shared by every status linking to the same URL (one card per status, like Mastodon).
preview_cards = Table(
    "preview_cards",
    metadata,
    _id(),
    Column("url", String(2048), nullable=False, unique=True),
    Column("title", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("type", String(10), nullable=False, default="link"),  # link | photo | video | rich
    Column("author_name", Text, nullable=False, default=""),
    Column("author_url", Text, nullable=False, default=""),
    Column("provider_name", Text, nullable=False, default=""),
    Column("provider_url", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),
    Column("width", Integer, nullable=False, default=0),
    Column("height", Integer, nullable=False, default=0),
    Column("image", Text, nullable=True),
    Column("image_description", Text, nullable=False, default=""),
    Column("embed_url", Text, nullable=False, default=""),
    Column("blurhash", String(100), nullable=True),
    Column("published_at", TS, nullable=True),
    Column("authors", JSON, nullable=False, default=list),
    Column("language", String(16), nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

status_preview_cards = Table(
    "status_preview_cards",
    metadata,
    Column("status_id", BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
    Column("preview_card_id", BigInteger, ForeignKey("preview_cards.id", ondelete="CASCADE"), nullable=False),
    Index(None, "preview_card_id", "status_id"),
)

# Trend scores, rewritten by the periodic refresh; max_score/max_score_at keep a peak decaying between runs.
def _peaked_trend(name: str, key: str, target: str) -> Table:
    return Table(
        name,
        metadata,
        Column(key, BigInteger, ForeignKey(f"{target}.id", ondelete="CASCADE"), primary_key=True),
        Column("score", Float, nullable=False, default=0.0),
        Column("max_score", Float, nullable=False, default=0.0),
        Column("max_score_at", TS, nullable=True),
        Index(None, "score"),
    )


tag_trends = _peaked_trend("tag_trends", "tag_id", "tags")

status_trends = Table(
    "status_trends",
    metadata,
    Column("status_id", BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
    _account_fk(),
    Column("score", Float, nullable=False, default=0.0),
    Column("language", String(16), nullable=True),
    Index(None, "score"),
)

link_trends = _peaked_trend("link_trends", "preview_card_id", "preview_cards")

web_push_subscriptions = Table(
    "web_push_subscriptions",
    metadata,
    _id(),
    _account_fk(),
    # One subscription per access token, as on Mastodon; the token's secret is kept sealed (AES-GCM under the
    # server's secret key) because the push payload hands it back to the app.
    Column("token_id", BigInteger, ForeignKey("oauth_tokens.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("access_token_sealed", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("key_p256dh", String(200), nullable=False),
    Column("key_auth", String(100), nullable=False),
    Column("standard", Boolean, nullable=False, default=False),
    Column("alerts", JSON, nullable=False, default=dict),
    Column("policy", String(10), nullable=False, default="all"),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index(None, "account_id"),
)
