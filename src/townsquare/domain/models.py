"""Plain domain objects, named as the Mastodon API names them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

VISIBILITIES = ("public", "unlisted", "private", "direct")
NOTIFICATION_TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update", "moderation_warning", "space", "quote", "quoted_update")

READ_SCOPES = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes", "notifications", "search", "statuses")
WRITE_SCOPES = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists", "media", "mutes", "notifications", "reports", "statuses")


_FIELD_NAMES: dict[type, frozenset] = {}


def _from_row(cls, row: Any):
    data = row._mapping if hasattr(row, "_mapping") else row
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Account:
    """A local account (a user's public identity plus its private settings)."""

    id: int
    username: str
    username_lower: str
    display_name: str
    note: str
    locked: bool
    bot: bool
    discoverable: bool
    fields: list
    created_at: datetime
    statuses_count: int = 0
    followers_count: int = 0
    following_count: int = 0
    last_status_at: datetime | None = None
    last_active_at: datetime | None = None
    email: str | None = None
    password_hash: str | None = None
    role: str = "user"
    approved: bool = True
    locale: str | None = None
    default_visibility: str = "public"
    default_sensitive: bool = False
    default_language: str | None = None
    suspended_at: datetime | None = None
    silenced_at: datetime | None = None
    sensitized_at: datetime | None = None
    disabled_at: datetime | None = None
    avatar_file: str | None = None  # a URL path under this app, or the object store's URL; None: the default image
    avatar_description: str | None = None
    header_file: str | None = None
    header_description: str | None = None

    from_row = classmethod(_from_row)

    @property
    def acct(self) -> str:
        """The handle as shown to local users."""
        return self.username

    @property
    def is_public(self) -> bool:
        """Whether others may see the account: approved and not suspended."""
        return bool(self.approved) and self.suspended_at is None

    @property
    def is_staff(self) -> bool:
        """Whether the account moderates or administers the server."""
        return self.role in ("admin", "moderator")


@dataclass
class Status:
    """A post, a reply or a reblog, with what the viewer knows of it."""

    id: int
    account_id: int
    text: str
    content: str
    spoiler_text: str
    visibility: str
    sensitive: bool
    language: str | None
    in_reply_to_id: int | None
    in_reply_to_account_id: int | None
    reblog_of_id: int | None
    replies_count: int
    reblogs_count: int
    favourites_count: int
    created_at: datetime
    edited_at: datetime | None = None
    application_id: int | None = None
    account: Account | None = None
    reblog: Status | None = None
    mentions: list[Account] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    application: dict | None = None
    favourited: bool = False
    reblogged: bool = False
    bookmarked: bool = False
    pinned: bool = False
    muted: bool = False
    media_attachments: list = field(default_factory=list)  # MediaAttachment, in the author's order
    quote_approval_policy: str | None = None
    poll: Poll | None = None
    quote: Quote | None = None
    quotes_count: int = 0
    quote_current_user: str = "unknown"  # how the quote policy applies to the viewer (QuoteApproval.current_user)
    card: Any = None  # a PreviewCard (domain.cards) once the link's page was read
    cache_entry: Any = None  # the viewer-neutral cached form this was read from or stored as (timelines.status_cache)

    from_row = classmethod(_from_row)


@dataclass
class Poll:
    """A poll attached to a status, with its tallies and what the viewer voted."""

    id: int
    status_id: int
    account_id: int
    options: list
    multiple: bool
    hide_totals: bool
    expires_at: datetime
    created_at: datetime
    ended_notified: bool = False
    tallies: list = field(default_factory=list)
    votes_count: int = 0
    voters_count: int = 0
    own_votes: list | None = None  # None when nobody in particular is looking
    voted: bool | None = None  # the author counts as having voted, as in Mastodon

    from_row = classmethod(_from_row)


@dataclass
class Quote:
    """A status's quote of another status, and the state it is in for the viewer."""

    state: str
    quoted_status_id: int | None = None
    quoted_status: Status | None = None  # set only when the viewer may see it
    shallow: bool = False  # inside a quoted status: only the id is shown (ShallowQuote)


QUOTE_POLICIES = ("public", "followers", "nobody")


def quote_policy(status: Status) -> str:
    """The quote policy that applies: private and direct statuses are never quotable by others."""
    if status.visibility in ("private", "direct"):
        return "nobody"
    return status.quote_approval_policy or "public"


@dataclass
class ScheduledStatus:
    """A status waiting to be published at a given time."""

    id: int
    account_id: int
    scheduled_at: datetime
    params: dict
    created_at: datetime

    from_row = classmethod(_from_row)


@dataclass
class Conversation:
    """One account's direct thread with a set of other participants."""

    id: int
    account_id: int
    participant_ids: list
    last_status_id: int | None
    unread: bool
    accounts: list[Account] = field(default_factory=list)
    last_status: Status | None = None

    from_row = classmethod(_from_row)


@dataclass
class Relationship:
    """How the viewer and another account relate."""

    id: int
    following: bool = False
    showing_reblogs: bool = False
    notifying: bool = False
    languages: list | None = None
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    requested: bool = False
    requested_by: bool = False
    domain_blocking: bool = False
    endorsed: bool = False
    note: str = ""


@dataclass
class Notification:
    """Something that happened to the viewer."""

    id: int
    type: str
    created_at: datetime
    account: Account
    status: Status | None = None
    moderation_warning: AccountWarning | None = None


@dataclass
class AccountWarning:
    """A moderation decision as shown to the account it concerns."""

    id: int
    target_account_id: int
    action: str
    text: str
    status_ids: list
    created_at: datetime
    account_id: int | None = None
    report_id: int | None = None
    category: str = "other"
    overruled_at: datetime | None = None
    target_account: Account | None = None
    appeal_text: str | None = None
    appeal_state: str | None = None

    from_row = classmethod(_from_row)


GROUPABLE_TYPES = ("favourite", "reblog", "follow")


def group_key(n: Notification, grouped_types: tuple[str, ...] = GROUPABLE_TYPES) -> str:
    """The key grouped notifications share: same type and status, or follows on the same day."""
    if n.type in grouped_types:
        if n.type == "follow":
            return f"follow-{int(n.created_at.timestamp()) // 86400}"
        if n.status is not None:
            return f"{n.type}-{n.status.id}"
    return f"ungrouped-{n.id}"


@dataclass
class StatusEdit:
    """One revision of a status, as shown in its history."""

    content: str
    spoiler_text: str
    sensitive: bool
    created_at: datetime
    account: Account
    media_attachments: list = field(default_factory=list)  # MediaAttachment, as they were at this version


@dataclass
class Viewer:
    """Who is making a request: an account (or none) and the token's scopes."""

    account: Account | None
    scopes: frozenset[str]
    token_id: int | None = None
    app_id: int | None = None

    def has_scope(self, needed: str) -> bool:
        """Whether the token's scopes cover a needed scope (read covers read:statuses)."""
        if needed in self.scopes:
            return True
        top = needed.split(":", 1)[0]
        if top in self.scopes:
            return True
        if "follow" in self.scopes and needed in (
            "read:follows", "read:blocks", "read:mutes", "write:follows", "write:blocks", "write:mutes",
        ):
            return True
        if needed.startswith("admin:") and ":" in needed[6:]:
            return f"admin:{needed.split(':')[1]}" in self.scopes
        return False
