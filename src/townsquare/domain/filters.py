"""Filters as Mastodon defines them, and the matcher that applies a viewer's filters to statuses.

A viewer's active filters become a FilterSet once per request; per context it compiles all the
keywords into one regular expression, so a status that matches nothing (nearly all of them) costs
one search. Only statuses that match are examined keyword by keyword to say which keywords did.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Iterable

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)
_WORD_START = re.compile(r"^\w")
_WORD_END = re.compile(r"\w$")
MEMO_SIZE = 2048


@dataclass
class FilterKeyword:
    """A keyword or phrase of a filter."""

    id: int
    filter_id: int
    keyword: str
    whole_word: bool


@dataclass
class FilterStatus:
    """A status a filter names directly."""

    id: int
    filter_id: int
    status_id: int


@dataclass
class CustomFilter:
    """A titled group of keywords and statuses, applied in some contexts with one action."""

    id: int
    account_id: int
    title: str
    context: list[str]
    action: str
    expires_at: datetime | None
    keywords: list[FilterKeyword] = field(default_factory=list)
    statuses: list[FilterStatus] = field(default_factory=list)

    def expired(self, at: datetime) -> bool:
        """Whether the filter no longer applies at this moment."""
        return self.expires_at is not None and self.expires_at <= at


@dataclass
class FilterMatch:
    """One filter that matched a status, with the keywords and status ids that made it match."""

    filter: CustomFilter
    keyword_matches: list[str]
    status_matches: list[int]


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """The regular expression of one keyword: whole words get a boundary only at ends that are word characters."""
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if _WORD_START.search(keyword) else ""
    end = r"\b" if _WORD_END.search(keyword) else ""
    return f"{start}{escaped}{end}"


@lru_cache(maxsize=4096)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern:
    # Keyed by content, so an edited filter simply compiles anew and nothing stale can be returned.
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def html_to_text(value: str) -> str:
    """The text of a status's HTML: line breaks and paragraphs become newlines, tags go, entities are decoded."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", value or "")))


def searchable_text(status) -> str:
    """What filters match against: content warning, text (HTML stripped), poll options and media descriptions."""
    parts = [status.spoiler_text or "", html_to_text(status.content) if status.content else status.text or ""]
    poll = getattr(status, "poll", None)
    for option in (getattr(poll, "options", None) or []):
        parts.append(str(getattr(option, "title", option) or ""))
    for media in (getattr(status, "media_attachments", None) or []):
        description = getattr(media, "description", None) if not isinstance(media, dict) else media.get("description")
        if description:
            parts.append(str(description))
    return "\n\n".join(p for p in parts if p)


class FilterSet:
    """A viewer's active filters, matched against statuses per context."""

    def __init__(self, owner_id: int | None, filters: Iterable[CustomFilter], at: datetime):
        self.owner_id = owner_id
        self.filters = [f for f in filters if not f.expired(at)]
        self._by_context: dict[str, tuple] = {}
        self._memo: dict[tuple, list[FilterMatch]] = {}  # a read path may ask twice (drop, then mark)

    def __bool__(self) -> bool:
        return bool(self.filters)

    def _for(self, context: str):
        entry = self._by_context.get(context)
        if entry is None:
            chosen = [f for f in self.filters if context in f.context]
            patterns = tuple(sorted({keyword_pattern(k.keyword, k.whole_word) for f in chosen for k in f.keywords}))
            by_status: dict[int, list[CustomFilter]] = {}
            for f in chosen:
                for s in f.statuses:
                    by_status.setdefault(s.status_id, []).append(f)
            entry = self._by_context[context] = (chosen, _compiled(patterns) if patterns else None, by_status)
        return entry

    def match(self, status, context: str) -> list[FilterMatch]:
        """The filters of this context that match a status (a reblog is judged by the status it shares)."""
        if not self.filters:
            return []
        shown = status.reblog if getattr(status, "reblog", None) is not None else status
        if shown.account_id == self.owner_id:
            return []  # as in Mastodon, filters never apply to the viewer's own posts
        chosen, combined, by_status = self._for(context)
        if not chosen:
            return []
        key = (context, shown.id, shown.edited_at)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            found = self._memo[key] = self._match(shown, chosen, combined, by_status)
        return found

    def _match(self, shown, chosen, combined, by_status) -> list[FilterMatch]:
        named = {f.id for f in by_status.get(shown.id, [])}
        text = None
        if combined is not None:
            text = searchable_text(shown)
            if combined.search(text) is None:
                text = None
        if text is None and not named:
            return []
        out = []
        for f in chosen:
            words = [k.keyword for k in f.keywords
                     if text is not None and _compiled((keyword_pattern(k.keyword, k.whole_word),)).search(text)]
            ids = [shown.id] if f.id in named else []
            if words or ids:
                out.append(FilterMatch(f, words, ids))
        return out

    def hides(self, matches: list[FilterMatch]) -> bool:
        """Whether any of these matches asks for the status to be dropped."""
        return any(m.filter.action == "hide" for m in matches)
