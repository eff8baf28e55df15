"""Filters: create, change and delete a viewer's filters, their keywords and statuses (v2), and the v1 view of them.

A v1 filter is one keyword of a v2 filter, as in Mastodon: its id is the keyword's id, `irreversible`
is the filter's `hide` action. Every change tells the owner's user stream `filters_changed` once
the transaction commits. Bad input raises before anything is written, or rolls the whole change back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.errors import not_found, unprocessable
from townsquare.domain.filters import ACTIONS, CONTEXTS, CustomFilter, FilterKeyword, FilterStatus
from townsquare.storage import filters as store
from townsquare.storage import statuses as status_store
from townsquare.timelines.events import filters_channel, home_channel, publish_after_commit

MAX_FILTERS = 100
MAX_KEYWORDS = 100  # per filter
MAX_TITLE = 256
MAX_KEYWORD = 512
MAX_EXPIRES_IN = 10 * 366 * 86400
UNSET = object()


@dataclass
class KeywordChange:
    """One entry of keywords_attributes: add (no id), change (id) or remove (id and destroy)."""

    id: int | None = None
    keyword: str | None = None
    whole_word: bool | None = None
    destroy: bool = False


def _title(title: str | None) -> str:
    if title is None or not title.strip():
        raise unprocessable("Title can't be blank")
    if len(title) > MAX_TITLE:
        raise unprocessable(f"Title is too long (maximum is {MAX_TITLE} characters)")
    return title.strip()


def _context(context: list[str] | None) -> list[str]:
    if not context:
        raise unprocessable("Context can't be blank")
    unknown = [c for c in context if c not in CONTEXTS]
    if unknown:
        raise unprocessable(f"Context contains an unknown value '{unknown[0]}' (use {', '.join(CONTEXTS)})")
    return [c for c in CONTEXTS if c in context]


def _action(action: str | None) -> str:
    if action is None or action == "":
        return "warn"
    if action not in ACTIONS:
        raise unprocessable(f"Filter action must be one of {', '.join(ACTIONS)}")
    return action


def _expires_at(expires_in: int | None):
    if expires_in is None:
        return None
    if expires_in <= 0 or expires_in > MAX_EXPIRES_IN:
        raise unprocessable(f"Expires in must be between 1 and {MAX_EXPIRES_IN} seconds")
    return now() + timedelta(seconds=expires_in)


def _keyword(keyword: str | None) -> str:
    if keyword is None or not keyword.strip():
        raise unprocessable("Keyword can't be blank")
    if len(keyword) > MAX_KEYWORD:
        raise unprocessable(f"Keyword is too long (maximum is {MAX_KEYWORD} characters)")
    return keyword.strip()


def _changed(conn: AsyncConnection, account_id: int) -> None:
    # The user stream tells the app; the second channel reaches every open stream of the account, whatever it
    # subscribed to, so each loads the filters again.
    publish_after_commit(conn, home_channel(account_id), {"event": "filters_changed"})
    publish_after_commit(conn, filters_channel(account_id), {"event": "filters_changed"})


async def _owned(conn: AsyncConnection, account_id: int, filter_id: int) -> CustomFilter:
    found = await store.get(conn, account_id, filter_id)
    if found is None:
        raise not_found()
    return found


async def _apply_keywords(conn: AsyncConnection, f: CustomFilter, changes: list[KeywordChange]) -> None:
    """Add, change and remove keywords of a filter as keywords_attributes asks."""
    mine = {k.id: k for k in f.keywords}
    count = len(mine)
    for change in changes:
        if change.id is not None:
            if change.id not in mine:
                raise not_found()
            if change.destroy:
                await store.remove_keyword(conn, change.id)
                count -= 1
                continue
            values = {}
            if change.keyword is not None:
                values["keyword"] = _keyword(change.keyword)
            if change.whole_word is not None:
                values["whole_word"] = change.whole_word
            await store.change_keyword(conn, change.id, **values)
        elif not change.destroy:
            count += 1
            if count > MAX_KEYWORDS:
                raise unprocessable(f"A filter cannot have more than {MAX_KEYWORDS} keywords")
            await store.insert_keyword(conn, f.id, _keyword(change.keyword), True if change.whole_word is None else change.whole_word)


async def create_filter(conn: AsyncConnection, account_id: int, title: str | None, context: list[str] | None,
                        action: str | None, expires_in: int | None, keywords: list[KeywordChange]) -> CustomFilter:
    """Create a filter with its first keywords."""
    values = dict(title=_title(title), context=_context(context), action=_action(action), expires_at=_expires_at(expires_in))
    if any(k.id is not None for k in keywords):
        raise not_found()  # Mastodon: a keyword id cannot name anything in a filter that does not exist yet
    if await store.count(conn, account_id) >= MAX_FILTERS:
        raise unprocessable(f"You cannot have more than {MAX_FILTERS} filters")
    filter_id = await store.insert(conn, account_id, **values)
    await _apply_keywords(conn, await _owned(conn, account_id, filter_id), keywords)
    _changed(conn, account_id)
    return await _owned(conn, account_id, filter_id)


async def update_filter(conn: AsyncConnection, account_id: int, filter_id: int, *, title: str | None = None,
                        context: list[str] | None = None, action: str | None = None, expires_in=UNSET,
                        keywords: list[KeywordChange] | None = None) -> CustomFilter:
    """Change a filter's fields and keywords; fields not given stay as they are."""
    f = await _owned(conn, account_id, filter_id)
    values = {}
    if title is not None:
        values["title"] = _title(title)
    if context is not None:
        values["context"] = _context(context)
    if action is not None:
        values["action"] = _action(action)
    if expires_in is not UNSET:
        values["expires_at"] = _expires_at(expires_in)
    await store.change(conn, filter_id, **values)
    await _apply_keywords(conn, f, keywords or [])
    _changed(conn, account_id)
    return await _owned(conn, account_id, filter_id)


async def delete_filter(conn: AsyncConnection, account_id: int, filter_id: int) -> None:
    """Delete a filter with its keywords and statuses."""
    await _owned(conn, account_id, filter_id)
    await store.remove(conn, filter_id)
    _changed(conn, account_id)


async def add_keyword(conn: AsyncConnection, account_id: int, filter_id: int, keyword: str | None,
                      whole_word: bool | None) -> FilterKeyword:
    """Add one keyword to a filter."""
    f = await _owned(conn, account_id, filter_id)
    text = _keyword(keyword)
    if len(f.keywords) >= MAX_KEYWORDS:
        raise unprocessable(f"A filter cannot have more than {MAX_KEYWORDS} keywords")
    keyword_id = await store.insert_keyword(conn, filter_id, text, True if whole_word is None else whole_word)
    _changed(conn, account_id)
    return FilterKeyword(keyword_id, filter_id, text, True if whole_word is None else whole_word)


async def keyword_of(conn: AsyncConnection, account_id: int, keyword_id: int) -> FilterKeyword:
    """One of the account's keywords, or 404."""
    found = await store.keyword_owner(conn, account_id, keyword_id)
    if found is None:
        raise not_found()
    return found[0]


async def update_keyword(conn: AsyncConnection, account_id: int, keyword_id: int, keyword: str | None,
                         whole_word: bool | None) -> FilterKeyword:
    """Change a keyword's text or whole_word flag."""
    current = await keyword_of(conn, account_id, keyword_id)
    values = {}
    if keyword is not None:
        values["keyword"] = _keyword(keyword)
    if whole_word is not None:
        values["whole_word"] = whole_word
    await store.change_keyword(conn, keyword_id, **values)
    _changed(conn, account_id)
    return FilterKeyword(keyword_id, current.filter_id, values.get("keyword", current.keyword),
                         values.get("whole_word", current.whole_word))


async def delete_keyword(conn: AsyncConnection, account_id: int, keyword_id: int) -> None:
    """Remove a keyword from its filter."""
    await keyword_of(conn, account_id, keyword_id)
    await store.remove_keyword(conn, keyword_id)
    _changed(conn, account_id)


async def add_status(conn: AsyncConnection, account_id: int, filter_id: int, status_id: int | None) -> FilterStatus:
    """Name a status the viewer can see in a filter."""
    f = await _owned(conn, account_id, filter_id)
    if status_id is None or await status_store.get_visible(conn, status_id, account_id) is None:
        raise not_found()
    if any(s.status_id == status_id for s in f.statuses):
        raise unprocessable("Status has already been taken")
    row_id = await store.insert_status(conn, filter_id, status_id)
    _changed(conn, account_id)
    return FilterStatus(row_id, filter_id, status_id)


async def status_of(conn: AsyncConnection, account_id: int, row_id: int) -> FilterStatus:
    """One of the account's FilterStatuses, or 404."""
    found = await store.status_owner(conn, account_id, row_id)
    if found is None:
        raise not_found()
    return found


async def delete_status(conn: AsyncConnection, account_id: int, row_id: int) -> None:
    """Remove a status from its filter."""
    await status_of(conn, account_id, row_id)
    await store.remove_status(conn, row_id)
    _changed(conn, account_id)


# ---- v1: one keyword per filter ------------------------------------------------------------------

async def v1_filters(conn: AsyncConnection, account_id: int) -> list[tuple[CustomFilter, FilterKeyword]]:
    """Every keyword of the account's filters, each paired with its filter (what v1 lists)."""
    return [(f, k) for f in await store.all_of(conn, account_id) for k in f.keywords]


async def v1_filter(conn: AsyncConnection, account_id: int, keyword_id: int) -> tuple[CustomFilter, FilterKeyword]:
    """One v1 filter (a keyword and its filter), or 404."""
    keyword = await keyword_of(conn, account_id, keyword_id)
    return await _owned(conn, account_id, keyword.filter_id), keyword


async def create_v1_filter(conn: AsyncConnection, account_id: int, phrase: str | None, context: list[str] | None,
                           irreversible: bool, whole_word: bool, expires_in: int | None) -> tuple[CustomFilter, FilterKeyword]:
    """Create a v1 filter: a v2 filter titled by its phrase, holding that one keyword."""
    text = _keyword(phrase)
    f = await create_filter(conn, account_id, text[:MAX_TITLE], context, "hide" if irreversible else "warn", expires_in,
                            [KeywordChange(keyword=text, whole_word=whole_word)])
    return f, f.keywords[0]


async def update_v1_filter(conn: AsyncConnection, account_id: int, keyword_id: int, *, phrase: str | None = None,
                           context: list[str] | None = None, irreversible: bool | None = None,
                           whole_word: bool | None = None, expires_in=UNSET) -> tuple[CustomFilter, FilterKeyword]:
    """Change a v1 filter: the keyword's phrase and whole_word, the filter's context, action and expiry."""
    _, keyword = await v1_filter(conn, account_id, keyword_id)
    action = None if irreversible is None else ("hide" if irreversible else "warn")
    f = await update_filter(conn, account_id, keyword.filter_id, context=context, action=action, expires_in=expires_in,
                            keywords=[KeywordChange(id=keyword_id, keyword=phrase, whole_word=whole_word)])
    return f, next(k for k in f.keywords if k.id == keyword_id)


async def delete_v1_filter(conn: AsyncConnection, account_id: int, keyword_id: int) -> None:
    """Delete a v1 filter: its keyword, and the filter too once nothing is left in it."""
    f, _ = await v1_filter(conn, account_id, keyword_id)
    await store.remove_keyword(conn, keyword_id)
    if len(f.keywords) <= 1 and not f.statuses:
        await store.remove(conn, f.id)
    _changed(conn, account_id)
