"""Status, notification and status-edit entities, rendered from domain objects."""

from __future__ import annotations

import dataclasses
import re
import secrets

import orjson

from townsquare.api.serializers.accounts import account as render_account
from townsquare.api.serializers.accounts import account_warning
from townsquare.api.serializers.media import media_attachment
from townsquare.api.serializers.polls import poll as render_poll
from townsquare.api.serializers.polls import quote as render_quote
from townsquare.api.serializers.polls import quote_approval
from townsquare.api.serializers.cards import preview_card
from townsquare.core.clock import iso
from townsquare.core.html import plain_text, safe_url
from townsquare.core.ids import render_id
from townsquare.domain.models import Notification, Status, StatusEdit, group_key


def _rid(value: int | None) -> str | None:
    return None if value is None else render_id(value)


def _application(app: dict | None) -> dict | None:
    if app is None:
        return None
    return {**app, "name": plain_text(app.get("name") or ""), "website": safe_url(app.get("website"))}


def status(s: Status, base_url: str, *, with_source: bool = False) -> dict:
    """Render a Status entity (with its reblog nested)."""
    url = f"{base_url}/@{s.account.username}/{s.id}"
    return {
        "id": render_id(s.id),
        "uri": f"{base_url}/users/{s.account.username}/statuses/{s.id}",
        "url": None if s.reblog_of_id else url,
        "created_at": iso(s.created_at),
        "edited_at": iso(s.edited_at),
        "account": render_account(s.account, base_url),
        "content": s.content,
        "text": s.text if with_source else None,
        "visibility": s.visibility,
        "sensitive": bool(s.sensitive),
        "spoiler_text": plain_text(s.spoiler_text),
        "media_attachments": [media_attachment(m, base_url) for m in s.media_attachments],
        "application": _application(s.application),
        "mentions": [
            {"id": render_id(m.id), "username": m.username, "acct": m.acct, "url": f"{base_url}/@{m.username}"}
            for m in s.mentions
        ],
        "tags": [{"name": t, "url": f"{base_url}/tags/{t}"} for t in s.tags],
        "emojis": [],
        "reblogs_count": s.reblogs_count,
        "favourites_count": s.favourites_count,
        "replies_count": s.replies_count,
        "quotes_count": s.quotes_count,
        "in_reply_to_id": _rid(s.in_reply_to_id),
        "in_reply_to_account_id": _rid(s.in_reply_to_account_id),
        "reblog": status(s.reblog, base_url) if s.reblog is not None else None,
        "quote": render_quote(s, lambda inner: status(inner, base_url)),
        "quote_approval": quote_approval(s),
        "poll": render_poll(s.poll),
        "card": preview_card(s.card) if s.card is not None else None,
        "language": s.language,
        "favourited": s.favourited,
        "reblogged": s.reblogged,
        "muted": s.muted,
        "bookmarked": s.bookmarked,
        "pinned": s.pinned,
        "filtered": [],
    }


_NONCE = secrets.token_hex(8)  # slot markers no user text can forge
_SLOT = re.compile(rb'"\\u0000' + _NONCE.encode() + rb':([a-z_.]+)"')
_PER_VIEWER = ("favourited", "reblogged", "muted", "bookmarked", "pinned")
_TRUE, _FALSE, _EMPTY = b"true", b"false", b"[]"


def _slot(name: str) -> str:
    return f"\x00{_NONCE}:{name}"


def _template(neutral: Status, base_url: str) -> list:
    """The JSON of a viewer-neutral status cut at the per-viewer values: [bytes, slot, bytes, slot, ..., bytes]."""
    def blank(data: dict, s: Status, prefix: str) -> None:
        for key in _PER_VIEWER:
            data[key] = _slot(prefix + key)
        data["filtered"] = _slot(prefix + "filtered")
        data["quote_approval"] = _slot(prefix + "quote_approval")
        if s.poll is not None:
            data["poll"] = _slot(prefix + "poll")

    data = status(neutral, base_url)
    blank(data, neutral, "")
    if neutral.reblog is not None:
        blank(data["reblog"], neutral.reblog, "reblog.")
    parts = _SLOT.split(orjson.dumps(data))
    return [p.decode() if i % 2 else p for i, p in enumerate(parts)]


def _values(s: Status, filtered: bytes) -> dict[str, bytes]:
    out = {key: _TRUE if getattr(s, key) else _FALSE for key in _PER_VIEWER}
    out["filtered"] = filtered
    out["quote_approval"] = orjson.dumps(quote_approval(s))
    if s.poll is not None:
        out["poll"] = orjson.dumps(render_poll(s.poll))
    return out


def status_json(s: Status, base_url: str, filtered: list | None = None) -> bytes:
    """The JSON bytes of a Status entity for its viewer; from the cached template when the status has one.

    `filtered` (FilterResult entities) is set on the status and on its reblog, as Mastodon does.
    """
    entry = s.cache_entry
    if entry is None:
        data = status(s, base_url)
        if filtered:
            data["filtered"] = filtered
            if data["reblog"] is not None:
                data["reblog"]["filtered"] = filtered
        return orjson.dumps(data)
    template = entry.rendered.get(base_url)
    if template is None:
        template = entry.rendered[base_url] = _template(entry.status, base_url)
    marks = orjson.dumps(filtered) if filtered else _EMPTY
    values = _values(s, marks)
    if s.reblog is not None:
        values.update({"reblog." + k: v for k, v in _values(s.reblog, marks).items()})
    out = [template[0]]
    for i in range(1, len(template), 2):
        out.append(values[template[i]])
        out.append(template[i + 1])
    return b"".join(out)


def statuses_json(parts: list[bytes]) -> bytes:
    """A JSON array of already-serialised entities."""
    return b"[" + b",".join(parts) + b"]"


def notification(n: Notification, base_url: str) -> dict:
    """Render a Notification entity."""
    data = {
        "id": render_id(n.id),
        "type": n.type,
        "created_at": iso(n.created_at),
        "group_key": group_key(n),
        "account": render_account(n.account, base_url),
        "status": status(n.status, base_url) if n.status is not None else None,
    }
    if n.moderation_warning is not None:
        data["moderation_warning"] = account_warning(n.moderation_warning, base_url)
    return data


def notification_json(n: Notification, base_url: str, filtered: list | None = None) -> bytes:
    """The JSON bytes of a Notification entity, its status spliced in from status_json."""
    if n.status is None:
        return orjson.dumps(notification(n, base_url))
    data = notification(dataclasses.replace(n, status=None), base_url)
    data["group_key"] = group_key(n)
    data["status"] = _slot("status")
    before, _, after = _SLOT.split(orjson.dumps(data))
    return before + status_json(n.status, base_url, filtered) + after


def status_edit(e: StatusEdit, base_url: str) -> dict:
    """Render one StatusEdit of a status's history."""
    return {
        "content": e.content,
        "spoiler_text": plain_text(e.spoiler_text),
        "sensitive": bool(e.sensitive),
        "created_at": iso(e.created_at),
        "account": render_account(e.account, base_url),
        "poll": None,
        "media_attachments": [media_attachment(m, base_url) for m in e.media_attachments],
        "emojis": [],
    }
