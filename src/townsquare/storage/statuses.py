"""Status rows: loading statuses with everything the API shows about them."""

from __future__ import annotations

import dataclasses
from typing import Iterable

from sqlalchemy import BigInteger, and_, bindparam, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.domain.models import Status
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage import accounts as account_store
from townsquare.storage import media as media_rows
from townsquare.storage import polls as poll_store
from townsquare.storage import quotes as quote_store
from townsquare.storage import cards as card_store
from townsquare.storage.tables import (
    accounts,
    bookmarks,
    favourites,
    mentions,
    mutes,
    oauth_apps,
    follows,
    pins,
    poll_votes,
    polls,
    quotes,
    status_edits,
    status_tags,
    statuses,
    tags,
)


async def get_row(conn: AsyncConnection, status_id: int):
    """Return the raw row of a status, visible or not."""
    return (await conn.execute(select(statuses).where(statuses.c.id == status_id))).first()


async def get_visible(conn: AsyncConnection, status_id: int, viewer_id: int | None) -> Status | None:
    """Return a hydrated status if it exists and the viewer may see it."""
    row = (
        await conn.execute(select(statuses).where(statuses.c.id == status_id).where(visible_to(viewer_id)), viewer_params(viewer_id))
    ).first()
    if row is None:
        return None
    return (await hydrate(conn, [row], viewer_id))[0]


async def load_visible(conn: AsyncConnection, ids: list[int], viewer_id: int | None, cache=None) -> list[Status]:
    """Return hydrated statuses for ids the viewer may see, in the order of the ids.

    With a `cache` (timelines.status_cache.StatusCache) the statuses it holds unchanged are taken from it
    and only the viewer's marks are read; the others are hydrated in full and kept for the next read.
    """
    if not ids:
        return []
    generation = cache.generation if cache is not None else 0
    rows = (await conn.execute(_visible_rows(viewer_id is None, cache is not None),
                               {**viewer_params(viewer_id), "ids": list(ids)})).all()
    by_id = {r.id: r for r in rows}
    ordered_rows = [by_id[i] for i in ids if i in by_id]
    if cache is None:
        return await hydrate(conn, ordered_rows, viewer_id)
    return await _hydrate_cached(conn, ordered_rows, viewer_id, cache, generation)


_MARKS = ("favourited", "bookmarked", "pinned", "reblogged", "muted")
_statements: dict = {}  # statements built once (building them cost more than running them)


def _visible_rows(anonymous: bool, with_authors: bool = False):
    """Visible statuses by id; `with_authors` adds the author's row (prefixed a__) so a cached entry is checked against both."""
    key = ("visible", anonymous, with_authors)
    found = _statements.get(key)
    if found is None:
        viewer = None if anonymous else 0  # any id: visible_to's template binds the real one
        query = _with_author() if with_authors else select(statuses)
        found = _statements[key] = query.where(statuses.c.id.in_(bindparam("ids", expanding=True))).where(visible_to(viewer))
    return found


def _with_author():
    author = accounts.alias("row_author")
    return (select(statuses, *[c.label("a__" + c.name) for c in author.c])
            .select_from(statuses.join(author, author.c.id == statuses.c.account_id)))


def _rows_with_authors():
    found = _statements.get("by_ids")
    if found is None:
        found = _statements["by_ids"] = _with_author().where(statuses.c.id.in_(bindparam("ids", expanding=True)))
    return found


async def _hydrate_cached(conn: AsyncConnection, rows: list, viewer_id: int | None, cache, generation: int) -> list[Status]:
    """Statuses from the cache where its entry still matches the rows and accounts read now; the rest hydrated and kept."""
    if not rows:
        return []
    inner_ids = {r.reblog_of_id for r in rows if r.reblog_of_id}
    inner_rows = {}
    if inner_ids:
        inner_rows = {r.id: r for r in (await conn.execute(_rows_with_authors(), {"ids": list(inner_ids)})).all()}
    # The fingerprint is the status row and its author's row as read now (and the reblogged status's and author's).
    prints = {r.id: (tuple(r), tuple(inner_rows[r.reblog_of_id]) if r.reblog_of_id in inner_rows else None) for r in rows}
    found = {r.id: e for r in rows if (e := cache.get(r.id, prints[r.id])) is not None}
    mentioned = set().union(*(m for e in found.values() for m in e.mentions.values()))
    if mentioned:
        # A mentioned account suspended (or restored) since: the entry's mentions are no longer right.
        fresh = await account_store.get_many(conn, mentioned, include_suspended=True)
        for sid in [sid for sid, e in found.items() if not _mentions_unchanged(e, fresh)]:
            del found[sid]
    missing = [r for r in rows if r.id not in found]
    built: dict[int, Status] = {}
    if missing:
        notes: dict[int, tuple] = {}
        for s in await hydrate(conn, missing, viewer_id, notes=notes):
            built[s.id] = s
            _keep(cache, generation, s, prints[s.id], notes)
    if found:
        await _mark_copies(conn, viewer_id, found, built)
    return [built[r.id] for r in rows if r.id in built]


def _mentions_unchanged(entry, fresh: dict) -> bool:
    for s in (entry.status, entry.status.reblog):
        if s is None:
            continue
        shown = [a for a in entry.mentions.get(s.id, ()) if a in fresh and fresh[a].suspended_at is None]
        if shown != [m.id for m in s.mentions]:
            return False
    return True


def _keep(cache, generation: int, s: Status, fingerprint: tuple, notes: dict) -> None:
    """Store the viewer-neutral copy of a freshly hydrated status (not one that carries a quote: its nesting is per viewer)."""
    levels = [s] if s.reblog is None else [s, s.reblog]
    if any(x.quote is not None or x.account is None for x in levels):
        return
    neutral = _neutral(s)
    involved = {x.account_id for x in levels} | {a for x in levels for a in notes.get(x.id, ())}
    polls_open = [x.poll.expires_at.timestamp() for x in levels if x.poll is not None and x.poll.expires_at is not None]
    entry = cache.put(s.id, generation, fingerprint, neutral, involved, min(polls_open) if polls_open else None)
    if entry is not None:
        entry.mentions = {x.id: notes.get(x.id, ()) for x in levels}
        s.cache_entry = entry


def _neutral(s: Status) -> Status:
    """A copy of a status with everything the viewer adds cleared."""
    copy = dataclasses.replace(s, **{k: False for k in _MARKS}, quote_current_user="unknown", cache_entry=None)
    if s.poll is not None:
        copy.poll = dataclasses.replace(s.poll, own_votes=None, voted=None)
    if s.reblog is not None:
        copy.reblog = _neutral(s.reblog)
    return copy


async def _mark_copies(conn: AsyncConnection, viewer_id: int | None, found: dict, out: dict[int, Status]) -> None:
    """Copies of cached statuses with this viewer's marks, poll votes and quote permission, from one query."""
    levels = [x for e in found.values() for x in (e.status, e.status.reblog) if x is not None]
    ids = [x.id for x in levels]
    polls_by_id = {x.poll.id: x for x in levels if x.poll is not None}
    asking = {x.account_id for x in levels if viewer_id not in (None, x.account_id) and quote_store.effective_policy(x) == "followers"}
    marks = await _viewer_marks(conn, viewer_id, ids, list({x.account_id for x in levels}), list(polls_by_id), list(asking))
    for sid, e in found.items():
        copy = _marked(e.status, viewer_id, marks)
        if copy.reblog is not None:
            copy.reblog = _marked(copy.reblog, viewer_id, marks)
        copy.cache_entry = e
        out[sid] = copy


def _marked(s: Status, viewer_id: int | None, marks: dict) -> Status:
    copy = dataclasses.replace(s, favourited=s.id in marks["f"], bookmarked=s.id in marks["b"], pinned=s.id in marks["p"],
                               reblogged=s.id in marks["r"], muted=s.account_id in marks["m"],
                               quote_current_user=quote_store.current_user(s, viewer_id, marks["q"]))
    if s.poll is not None and viewer_id is not None:
        own = sorted(marks["v"].get(s.poll.id, []))
        copy.poll = dataclasses.replace(s.poll, own_votes=own, voted=bool(own) or s.poll.account_id == viewer_id)
    return copy


def _marks_statement(polls_too: bool, asking_too: bool):
    key = ("marks", polls_too, asking_too)
    found = _statements.get(key)
    if found is not None:
        return found
    viewer = bindparam("viewer", type_=BigInteger)
    ids = bindparam("ids", expanding=True)
    zero = literal(0)
    parts = [
        select(literal("f").label("k"), favourites.c.status_id.label("a"), zero.label("b")).where(
            and_(favourites.c.account_id == viewer, favourites.c.status_id.in_(ids))),
        select(literal("b"), bookmarks.c.status_id, zero).where(and_(bookmarks.c.account_id == viewer, bookmarks.c.status_id.in_(ids))),
        select(literal("p"), pins.c.status_id, zero).where(and_(pins.c.account_id == viewer, pins.c.status_id.in_(ids))),
        select(literal("r"), statuses.c.reblog_of_id, zero).where(
            and_(statuses.c.account_id == viewer, statuses.c.reblog_of_id.in_(ids))),
        select(literal("m"), mutes.c.target_account_id, zero).where(
            and_(mutes.c.account_id == viewer, mutes.c.target_account_id.in_(bindparam("accounts", expanding=True)))),
    ]
    if polls_too:
        parts.append(select(literal("v"), poll_votes.c.poll_id, poll_votes.c.choice).where(
            and_(poll_votes.c.account_id == viewer, poll_votes.c.poll_id.in_(bindparam("polls", expanding=True)))))
    if asking_too:
        parts.append(select(literal("q"), follows.c.target_account_id, zero).where(
            and_(follows.c.account_id == viewer, follows.c.target_account_id.in_(bindparam("asking", expanding=True)))))
    found = _statements[key] = union_all(*parts)
    return found


async def _viewer_marks(conn: AsyncConnection, viewer_id: int | None, ids: list[int], account_ids: list[int],
                        poll_ids: list[int] = (), asking: list[int] = ()) -> dict:
    """The viewer's favourites, bookmarks, pins, reblogs, mutes, poll choices and followed quote-askers, in one query."""
    marks: dict = {k: set() for k in "fbprmq"}
    marks["v"] = {}
    if viewer_id is None or not ids:
        return marks
    params = {"viewer": viewer_id, "ids": list(ids), "accounts": list(account_ids) or [-1]}
    if poll_ids:
        params["polls"] = list(poll_ids)
    if asking:
        params["asking"] = list(asking)
    for kind, a, b in await conn.execute(_marks_statement(bool(poll_ids), bool(asking)), params):
        if kind == "v":
            marks["v"].setdefault(a, []).append(b)
        else:
            marks[kind].add(a)
    return marks


async def _extras_present(conn: AsyncConnection, ids: list[int]) -> tuple[dict[int, int], set[int], dict[int, int]]:
    """Which statuses have a poll, which quote another, and how often each is quoted: one statement for all three."""
    parts = [
        select(literal("p").label("k"), polls.c.status_id.label("a"), polls.c.id.label("b")).where(polls.c.status_id.in_(ids)),
        select(literal("q"), quotes.c.status_id, quotes.c.id).where(quotes.c.status_id.in_(ids)),
        select(literal("c"), quotes.c.quoted_status_id, func.count()).where(and_(
            quotes.c.quoted_status_id.in_(ids), quotes.c.state == "accepted")).group_by(quotes.c.quoted_status_id),
    ]
    poll_ids: dict[int, int] = {}
    quoting: set[int] = set()
    counts: dict[int, int] = {}
    for kind, a, b in await conn.execute(union_all(*parts)):
        if kind == "p":
            poll_ids[a] = b
        elif kind == "q":
            quoting.add(a)
        else:
            counts[a] = b
    return poll_ids, quoting, counts


async def _nested(conn: AsyncConnection, rows: list, viewer_id: int | None) -> list[Status]:
    return await hydrate(conn, rows, viewer_id, nested=True)


async def applications(conn: AsyncConnection, app_ids: set[int]) -> dict[int, dict]:
    """The name and website of each app, by id, as a status shows the app it was posted with."""
    if not app_ids:
        return {}
    query = select(oauth_apps.c.id, oauth_apps.c.name, oauth_apps.c.website).where(oauth_apps.c.id.in_(list(app_ids)))
    return {r.id: {"name": r.name, "website": r.website} for r in (await conn.execute(query)).all()}


async def hydrate(conn: AsyncConnection, rows: Iterable, viewer_id: int | None, *, nested: bool = False,
                  notes: dict | None = None) -> list[Status]:
    """Turn status rows into domain Statuses with accounts, reblogs, mentions, tags and viewer flags.

    Quoted statuses are hydrated too, one level deep (`nested`: their own quotes stay shallow).
    `notes`, when given, receives every mentioned account id per status (suspended ones too).
    """
    items = [Status.from_row(r) for r in rows]
    if not items:
        return []
    reblog_ids = {s.reblog_of_id for s in items if s.reblog_of_id}
    inner: dict[int, Status] = {}
    if reblog_ids:
        inner_rows = (await conn.execute(select(statuses).where(statuses.c.id.in_(list(reblog_ids))))).all()
        inner = {r.id: Status.from_row(r) for r in inner_rows}
    everything = items + list(inner.values())
    ids = [s.id for s in everything]

    # Ordered, so a read and a post's own response (services.posting) list them alike on every backend.
    mention_rows = (await conn.execute(select(mentions).where(mentions.c.status_id.in_(ids))
                                       .order_by(mentions.c.status_id, mentions.c.account_id))).all()
    account_ids = {s.account_id for s in everything} | {m.account_id for m in mention_rows}
    accounts_by_id = await account_store.get_many(conn, account_ids, include_suspended=True)

    tag_rows = (
        await conn.execute(
            select(status_tags.c.status_id, tags.c.name)
            .join(tags, tags.c.id == status_tags.c.tag_id)
            .where(status_tags.c.status_id.in_(ids))
        )
    ).all()
    apps = await applications(conn, {s.application_id for s in everything if s.application_id})

    marks = await _viewer_marks(conn, viewer_id, ids, list(account_ids))
    favourited, bookmarked, pinned, reblogged, muted = marks["f"], marks["b"], marks["p"], marks["r"], marks["m"]
    if notes is not None:
        for m in mention_rows:
            notes[m.status_id] = notes.get(m.status_id, ()) + (m.account_id,)
    media_by_status = await media_rows.for_statuses(conn, ids)
    cards = await card_store.cards_for(conn, ids)

    for s in everything:
        s.account = accounts_by_id.get(s.account_id)
        s.mentions = [accounts_by_id[m.account_id] for m in mention_rows
                      if m.status_id == s.id and m.account_id in accounts_by_id and accounts_by_id[m.account_id].suspended_at is None]
        if s.account is not None and s.account.sensitized_at is not None:
            s.sensitive = True  # a moderator marked the author's media sensitive
        s.tags = sorted({name for sid, name in tag_rows if sid == s.id})
        s.application = apps.get(s.application_id) if s.application_id else None
        s.favourited = s.id in favourited
        s.bookmarked = s.id in bookmarked
        s.pinned = s.id in pinned
        s.reblogged = s.id in reblogged
        s.muted = s.account_id in muted
        s.media_attachments = media_by_status.get(s.id, [])
        s.card = cards.get(s.id)
    poll_ids, quoting, quote_counts = await _extras_present(conn, ids)
    await poll_store.attach(conn, everything, viewer_id, poll_ids)
    await quote_store.attach(conn, everything, viewer_id, _nested, shallow=nested, counts=quote_counts, quoting=quoting)
    for s in items:
        if s.reblog_of_id:
            s.reblog = inner.get(s.reblog_of_id)
    return items


async def edits_of(conn: AsyncConnection, status_id: int) -> list:
    """The stored versions of a status (rows of status_edits), oldest first."""
    return (await conn.execute(select(status_edits).where(status_edits.c.status_id == status_id)
                               .order_by(status_edits.c.id))).all()


async def load_for_moderation(conn: AsyncConnection, ids: list[int]) -> list[Status]:
    """Return hydrated statuses by id whatever their visibility (what moderators see in a report)."""
    if not ids:
        return []
    rows = (await conn.execute(select(statuses).where(statuses.c.id.in_(ids)))).all()
    return await hydrate(conn, rows, None)
