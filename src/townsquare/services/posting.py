"""Writing statuses: post, edit, delete, reblog; each commits its job rows in the same transaction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.cards.service import queue_link_card
from townsquare.core.clock import now
from townsquare.core.errors import ApiError, not_found, unprocessable
from townsquare.core.html import extract_mentions, extract_tags, render_text
from townsquare.core.ids import new_id
from townsquare.domain.models import VISIBILITIES, Account, Status
from townsquare.media.attaching import apply_media_attributes, media_for_status
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.services import conversations, quoting
from townsquare.services import polls as poll_service
from townsquare.services.notify import notify
from townsquare.storage import conversations as conversation_store
from townsquare.storage import accounts as account_store
from townsquare.storage import media as media_rows
from townsquare.storage import quotes as quote_store
from townsquare.storage import statuses as status_store
from townsquare.storage.job_rows import enqueue
from townsquare.storage.prepared import Prepared
from townsquare.storage.tables import (
    idempotency_keys,
    mentions,
    status_edits,
    status_tags,
    statuses,
    tags,
)
from townsquare.timelines.events import publish_deleted, publish_status_edited
from townsquare.timelines.status_cache import invalidate_after_commit
from townsquare.timelines.feeds import FeedStore
from townsquare.timelines.fanout import InlineFanOut


MAX_MENTIONS = 50  # distinct @handles in one status
MAX_TAGS = 30  # distinct hashtags in one status


@dataclass
class Draft:
    """What a client asked to post."""

    text: str
    spoiler_text: str = ""
    visibility: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    in_reply_to_id: int | None = None
    media_ids: list[int] | None = None  # None: leave the attachments as they are (on edit)
    media_attributes: list | None = None
    poll: poll_service.PollDraft | None = None
    quoted_status_id: int | None = None
    quote_approval_policy: str | None = None


async def _render(conn: AsyncConnection, text: str, base_url: str, domain: str) -> tuple[str, list[Account], list[str]]:
    """Render text to HTML and resolve its local mentions."""
    found: dict[str, Account] = {}
    for handle in extract_mentions(text):
        parts = handle.split("@")
        if len(parts) == 2 and parts[1].lower() != domain.lower():
            continue
        account = await account_store.by_username(conn, parts[0])
        if account is not None and account.is_public:
            found[handle.lower()] = account

    def resolve(handle: str) -> str | None:
        account = found.get(handle.lower())
        return f"{base_url}/@{account.username}" if account else None

    rendered = render_text(text, base_url, resolve)
    mentioned = list({a.id: a for a in found.values()}.values())
    return rendered.html, mentioned, rendered.tags


# Statements built once: building a Core statement costs more than running it (see storage/statuses.py).
_TAG_BY_NAME = select(tags.c.id).where(tags.c.name == bindparam("name"))
_INSERT_STATUS_TAG = status_tags.insert()
_INSERT_STATUS = Prepared(statuses.insert())
_INSERT_MENTION = mentions.insert()
_INSERT_IDEMPOTENCY = idempotency_keys.insert()
_IDEMPOTENT = select(idempotency_keys.c.status_id).where(and_(
    idempotency_keys.c.account_id == bindparam("account_id"), idempotency_keys.c.key == bindparam("key")))
_PARENT = select(statuses).where(statuses.c.id == bindparam("parent_id")).where(visible_to(0))  # any id: bound per viewer
_ONE_MORE_REPLY = update(statuses).where(statuses.c.id == bindparam("parent_id")).values(
    replies_count=statuses.c.replies_count + 1)
_A = account_store.accounts
# One statement, not two; it answers the author's row as it now is, which the response shows.
_ONE_MORE_STATUS = Prepared(update(_A).where(_A.c.id == bindparam("author_id")).values(
    statuses_count=_A.c.statuses_count + 1, last_status_at=bindparam("stamp")).returning(*_A.c))


async def _attach_tags(conn: AsyncConnection, status_id: int, names: list[str], fresh: bool = False) -> None:
    # A fresh status has no tags yet, so only repeats within its own text need skipping (no lookup per tag).
    linked: list[int] = []
    for name in dict.fromkeys(n[:200] for n in names):
        row = (await conn.execute(_TAG_BY_NAME, {"name": name})).first()
        tag_id = row[0] if row else await _new_tag(conn, name)
        if tag_id in linked:
            continue
        present = None if fresh else (await conn.execute(select(status_tags.c.tag_id).where(
            and_(status_tags.c.status_id == status_id, status_tags.c.tag_id == tag_id)))).first()
        if present is None:
            linked.append(tag_id)
    if linked:  # one statement for all of them
        await conn.execute(_INSERT_STATUS_TAG, [{"status_id": status_id, "tag_id": t} for t in linked])


async def _new_tag(conn: AsyncConnection, name: str) -> int:
    """Create a tag, or take the one a concurrent post just created (on PostgreSQL writers run side by side)."""
    tag_id = new_id()
    if conn.dialect.name != "postgresql":  # SQLite has one writer: nobody can have created it meanwhile
        await conn.execute(tags.insert().values(id=tag_id, name=name, created_at=now()))
        return tag_id
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    made = (await conn.execute(pg_insert(tags).values(id=tag_id, name=name, created_at=now())
                               .on_conflict_do_nothing(index_elements=["name"]).returning(tags.c.id))).first()
    if made is not None:
        return made[0]
    return (await conn.execute(select(tags.c.id).where(tags.c.name == name))).scalar_one()


def _validate(draft: Draft, max_chars: int, has_media: bool = False) -> None:
    if not draft.text.strip() and not (draft.media_ids or has_media):
        raise unprocessable("Text can't be blank")
    if len(draft.text) > max_chars:
        raise unprocessable(f"Text character limit of {max_chars} exceeded")
    if len(draft.spoiler_text) > max_chars:
        raise unprocessable(f"Spoiler text character limit of {max_chars} exceeded")
    if len(extract_mentions(draft.text)) > MAX_MENTIONS:
        raise unprocessable(f"Too many mentions (maximum is {MAX_MENTIONS})")
    if len(extract_tags(draft.text)) > MAX_TAGS:
        raise unprocessable(f"Too many hashtags (maximum is {MAX_TAGS})")
    if draft.visibility is not None and draft.visibility not in VISIBILITIES:
        raise unprocessable("Visibility is not included in the list")
    if draft.language is not None and (len(draft.language) > 16 or not draft.language.replace("-", "").isalnum()):
        raise unprocessable("Language is not a valid language code")
    if draft.poll is not None:
        if getattr(draft, "media_ids", None):
            raise unprocessable("Media attachments cannot be combined with a poll")
        poll_service.check_poll(draft.poll)
    quoting.check_policy(draft.quote_approval_policy)


def check_draft(draft: Draft, max_chars: int) -> None:
    """Refuse a draft post_status would refuse for its own content (text, visibility, poll, quote policy)."""
    _validate(draft, max_chars)


async def post_status(conn: AsyncConnection, author: Account, draft: Draft, *, base_url: str, domain: str,
                      max_chars: int, app_id: int | None = None, idempotency_key: str | None = None,
                      fan_out: InlineFanOut | None = None) -> int:
    """Create a status with its mentions, tags, notifications and fan-out (inline or a job); return its id."""
    status_id, _ = await post_status_shown(conn, author, draft, base_url=base_url, domain=domain, max_chars=max_chars,
                                           app_id=app_id, idempotency_key=idempotency_key, fan_out=fan_out)
    return status_id


async def post_status_shown(conn: AsyncConnection, author: Account, draft: Draft, *, base_url: str, domain: str,
                            max_chars: int, app_id: int | None = None, idempotency_key: str | None = None,
                            fan_out: InlineFanOut | None = None) -> tuple[int, Status | None]:
    """Create a status as post_status does; return its id and the status as its author sees it now.

    With `fan_out`, an author with few followers gets the status delivered in this transaction (no job row).

    The status is built from what this transaction just wrote (no reading back). It is None when that
    cannot be done exactly: a repeated Idempotency-Key (the status is an older one) or a quote (whose
    nested status is hydrated per viewer); the caller then reads the status as any other.
    """
    if idempotency_key:
        row = (await conn.execute(_IDEMPOTENT, {"account_id": author.id, "key": idempotency_key[:200]})).first()
        if row is not None:
            return row[0], None
    _validate(draft, max_chars)
    media = await media_for_status(conn, author.id, draft.media_ids) if draft.media_ids else []
    parent = None
    if draft.in_reply_to_id is not None:
        parent = (await conn.execute(_PARENT, {**viewer_params(author.id), "parent_id": draft.in_reply_to_id})).first()
        if parent is None or parent.reblog_of_id is not None:
            raise not_found()
    visibility = draft.visibility or author.default_visibility or "public"
    if parent is not None and parent.visibility == "direct" and draft.visibility is None:
        visibility = "direct"
    quoted = await quoting.quotable(conn, author, draft.quoted_status_id) if draft.quoted_status_id is not None else None
    visibility = quoting.visibility_with_quote(visibility, quoted)
    html, mentioned, tag_names = await _render(conn, draft.text, base_url, domain)
    status_id = new_id()
    stamp = now()
    values = dict(
        id=status_id, account_id=author.id, text=draft.text, content=html, spoiler_text=draft.spoiler_text,
        visibility=visibility, sensitive=bool(draft.sensitive if draft.sensitive is not None else author.default_sensitive) or bool(draft.spoiler_text),
        language=draft.language or author.default_language or "en",
        in_reply_to_id=parent.id if parent is not None else None,
        in_reply_to_account_id=parent.account_id if parent is not None else None,
        reblog_of_id=None, application_id=app_id, replies_count=0, reblogs_count=0, favourites_count=0,
        created_at=stamp, quote_approval_policy=quoting.policy_for(draft.quote_approval_policy, visibility),
    )
    await _INSERT_STATUS.run(conn, values)
    poll = await poll_service.attach_poll(conn, status_id, author, draft.poll) if draft.poll is not None else None
    if quoted is not None:
        await quoting.record_quote(conn, author, status_id, quoted)
    if visibility == "direct":
        await conversations.record_direct_status(conn, author, status_id, [a.id for a in mentioned])
    if mentioned:
        await conn.execute(_INSERT_MENTION, [{"status_id": status_id, "account_id": a.id} for a in mentioned])
    for account in mentioned:
        await notify(conn, account.id, author.id, "mention", status_id)
    await _attach_tags(conn, status_id, tag_names, fresh=True)
    if media:  # a new status has no attachments to detach, so without media there is nothing to write
        await media_rows.attach(conn, status_id, [m.id for m in media])
    await queue_link_card(conn, status_id, html)
    written = next(iter(await _ONE_MORE_STATUS.run(conn, {"author_id": author.id, "stamp": stamp})), None)
    if parent is not None:
        await conn.execute(_ONE_MORE_REPLY, {"parent_id": parent.id})
    if idempotency_key:
        await conn.execute(_INSERT_IDEMPOTENCY, {"account_id": author.id, "key": idempotency_key[:200],
                                                 "status_id": status_id, "created_at": stamp})
    status = Status.from_row(values)
    if fan_out is not None and written is not None and fan_out.takes(written):
        stored_tags = list(dict.fromkeys(n[:200] for n in tag_names))  # as _attach_tags stored them
        await fan_out.deliver(conn, status, written, (bool(media), stored_tags))
    else:
        await enqueue(conn, "fan_out_status", {"status_id": status_id})
    if quoted is not None or written is None:
        return status_id, None
    status.account = Account.from_row(written)
    status.mentions = sorted(mentioned, key=lambda a: a.id)  # the order a read gives (storage.statuses.hydrate)
    status.tags = sorted({n[:200] for n in tag_names})
    status.application = await _application(conn, app_id)
    status.media_attachments = [dataclasses.replace(m, status_id=status_id, position=i) for i, m in enumerate(media)]
    status.poll = poll
    if status.account.sensitized_at is not None:
        status.sensitive = True  # a moderator marked the author's media sensitive
    status.quote_current_user = quote_store.current_user(status, author.id, set())
    return status_id, status


async def _application(conn: AsyncConnection, app_id: int | None) -> dict | None:
    """The name and website of the app a status was posted with, as a read shows them (apps are never renamed)."""
    if app_id is None:
        return None
    found = _APPS.get(app_id)
    if found is None:
        found = (await status_store.applications(conn, {app_id})).get(app_id)
        if found is None:
            return None
        if len(_APPS) >= 1000:
            _APPS.clear()
        _APPS[app_id] = found
    return dict(found)


_APPS: dict[int, dict] = {}


async def _own_status(conn: AsyncConnection, viewer: Account, status_id: int):
    row = (await conn.execute(select(statuses).where(statuses.c.id == status_id).where(visible_to(viewer.id)), viewer_params(viewer.id))).first()
    if row is None or row.reblog_of_id is not None:
        raise not_found()
    if row.account_id != viewer.id:
        raise not_found()  # Mastodon answers 404, not 403, for someone else's status
    return row


async def edit_status(conn: AsyncConnection, viewer: Account, status_id: int, draft: Draft, *, base_url: str,
                      domain: str, max_chars: int, hybrid_threshold: int = 10_000) -> None:
    """Change a status's text, keeping every earlier version in its history."""
    row = await _own_status(conn, viewer, status_id)
    before = await media_rows.of_status(conn, status_id)
    _validate(draft, max_chars, has_media=bool(before) and draft.media_ids is None)
    chosen = await media_for_status(conn, viewer.id, draft.media_ids, status_id) if draft.media_ids is not None else None
    stamp = now()
    has_history = (await conn.execute(select(status_edits.c.id).where(status_edits.c.status_id == status_id).limit(1))).first()
    if has_history is None:
        first_id = new_id()
        await conn.execute(status_edits.insert().values(
            id=first_id, status_id=status_id, account_id=viewer.id, text=row.text, content=row.content,
            spoiler_text=row.spoiler_text, sensitive=row.sensitive, created_at=row.created_at))
        await media_rows.snapshot_edit(conn, first_id, before)
    if chosen is not None:
        await media_rows.attach(conn, status_id, [m.id for m in chosen])
    if draft.media_attributes:
        await apply_media_attributes(conn, viewer.id, status_id, draft.media_attributes)
    html, mentioned, tag_names = await _render(conn, draft.text, base_url, domain)
    sensitive = bool(draft.sensitive) if draft.sensitive is not None else row.sensitive
    sensitive = sensitive or bool(draft.spoiler_text)
    await conn.execute(update(statuses).where(statuses.c.id == status_id).values(
        text=draft.text, content=html, spoiler_text=draft.spoiler_text, sensitive=sensitive,
        language=draft.language or row.language, edited_at=stamp))
    edit_id = new_id()
    await conn.execute(status_edits.insert().values(
        id=edit_id, status_id=status_id, account_id=viewer.id, text=draft.text, content=html,
        spoiler_text=draft.spoiler_text, sensitive=sensitive, created_at=stamp))
    await media_rows.snapshot_edit(conn, edit_id, await media_rows.of_status(conn, status_id))
    existing = {r[0] for r in await conn.execute(select(mentions.c.account_id).where(mentions.c.status_id == status_id))}
    for account in mentioned:
        if account.id not in existing:
            await conn.execute(mentions.insert().values(status_id=status_id, account_id=account.id))
            await notify(conn, account.id, viewer.id, "mention", status_id)
    await conn.execute(delete(status_tags).where(status_tags.c.status_id == status_id))
    await _attach_tags(conn, status_id, tag_names)
    await poll_service.edit_poll(conn, status_id, viewer, draft.poll)
    if draft.quote_approval_policy is not None:
        await quoting.change_policy(conn, status_id, draft.quote_approval_policy, row.visibility)
    await queue_link_card(conn, status_id, html, edited=True)
    rebloggers = [r[0] for r in await conn.execute(select(statuses.c.account_id).where(statuses.c.reblog_of_id == status_id))]
    for account_id in set(rebloggers):
        await notify(conn, account_id, viewer.id, "update", status_id)
    await quoting.notify_quoters(conn, viewer, status_id)
    await publish_status_edited(conn, Status.from_row(row), hybrid_threshold)


async def delete_status(conn: AsyncConnection, viewer: Account, status_id: int, feeds: FeedStore) -> None:
    """Delete one of the viewer's statuses, its reblogs and its feed entries."""
    row = await _own_status(conn, viewer, status_id)
    reblogs = (await conn.execute(select(statuses.c.id, statuses.c.account_id).where(statuses.c.reblog_of_id == status_id))).all()
    for reblog in reblogs:
        await account_store.bump(conn, reblog.account_id, statuses_count=-1)
    await feeds.remove_status(conn, status_id)
    await media_rows.discard_for_statuses(conn, [status_id])  # rows now, files by a job after the commit
    if row.visibility == "direct":
        await conversation_store.forget_status(conn, status_id)
    quoted = await quote_store.get_row(conn, status_id)
    if quoted is not None and quoted.quoted_status_id is not None:
        invalidate_after_commit(conn, [quoted.quoted_status_id])  # one quote fewer on the quoted status
    await conn.execute(delete(statuses).where(statuses.c.id == status_id))
    await account_store.bump(conn, viewer.id, statuses_count=-1)
    publish_deleted(conn, [status_id, *(r.id for r in reblogs)])
    if row.in_reply_to_id is not None:
        await conn.execute(update(statuses).where(and_(statuses.c.id == row.in_reply_to_id, statuses.c.replies_count > 0))
                           .values(replies_count=statuses.c.replies_count - 1))


async def reblog(conn: AsyncConnection, viewer: Account, status_id: int, visibility: str | None, app_id: int | None) -> int:
    """Reblog a status (idempotent); return the id of the reblog."""
    target = (await conn.execute(select(statuses).where(statuses.c.id == status_id).where(visible_to(viewer.id)), viewer_params(viewer.id))).first()
    if target is None:
        raise not_found()
    if target.reblog_of_id is not None:
        target = (await conn.execute(select(statuses).where(statuses.c.id == target.reblog_of_id))).first()
    if target.visibility == "direct" or (target.visibility == "private" and target.account_id != viewer.id):
        raise ApiError(422, "Validation failed: Reblog of status is not permitted")
    existing = (await conn.execute(select(statuses.c.id).where(and_(statuses.c.account_id == viewer.id, statuses.c.reblog_of_id == target.id)))).first()
    if existing is not None:
        return existing[0]
    visibility = visibility or "public"
    if visibility not in ("public", "unlisted", "private"):
        raise unprocessable("Visibility is not included in the list")
    if target.visibility == "private":
        visibility = "private"
    reblog_id = new_id()
    await conn.execute(statuses.insert().values(
        id=reblog_id, account_id=viewer.id, text="", content="", spoiler_text="", visibility=visibility,
        sensitive=False, language=None, in_reply_to_id=None, in_reply_to_account_id=None, reblog_of_id=target.id,
        application_id=app_id, replies_count=0, reblogs_count=0, favourites_count=0, created_at=now()))
    await conn.execute(update(statuses).where(statuses.c.id == target.id).values(reblogs_count=statuses.c.reblogs_count + 1))
    await account_store.bump(conn, viewer.id, statuses_count=1)
    await notify(conn, target.account_id, viewer.id, "reblog", reblog_id)
    await enqueue(conn, "fan_out_status", {"status_id": reblog_id})
    return reblog_id


async def unreblog(conn: AsyncConnection, viewer: Account, status_id: int, feeds: FeedStore) -> None:
    """Undo the viewer's reblog of a status, if any."""
    target = (await conn.execute(select(statuses).where(statuses.c.id == status_id).where(visible_to(viewer.id)), viewer_params(viewer.id))).first()
    if target is None:
        raise not_found()
    rows = (await conn.execute(select(statuses.c.id).where(and_(statuses.c.account_id == viewer.id, statuses.c.reblog_of_id == status_id)))).all()
    for row in rows:
        await feeds.remove_status(conn, row.id)
        await conn.execute(delete(statuses).where(statuses.c.id == row.id))
        await conn.execute(update(statuses).where(and_(statuses.c.id == status_id, statuses.c.reblogs_count > 0)).values(reblogs_count=statuses.c.reblogs_count - 1))
        await account_store.bump(conn, viewer.id, statuses_count=-1)
        publish_deleted(conn, [row.id])
