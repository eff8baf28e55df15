"""Pages of timelines for a reader, shared by the API and the web app: the entries they may see, hydrated
(from the rendered-status cache where it holds them), with activity noted."""

from __future__ import annotations

from townsquare.core.pagination import Page
from townsquare.domain.models import Status
from townsquare.storage import statuses as status_store
from townsquare.timelines.feeds import NO_FEEDS, FeedsUnavailable
from townsquare.timelines.home import home_authors, hybrid_followed_authors, read_feed, touch_activity, touch_due
from townsquare.timelines.recipients import home_key


async def note_activity(db, account, active_days: int) -> bool:
    """Record that a reader is active (at most once in a while); True when their feed is being rebuilt."""
    if not touch_due(account.last_active_at):
        return False
    async with db.write() as conn:
        return await touch_activity(conn, account.id, account.last_active_at, active_days)


def shown(filters, items: list[Status], context: str) -> list[Status]:
    """The statuses no `hide` filter of the reader's (a FilterSet, or None) drops in this context."""
    if not filters:
        return items
    return [s for s in items if not filters.hides(filters.match(s, context))]


async def home_page(conn, feeds, reader_id: int, hybrid_threshold: int, page: Page, rounds: int = 5, *,
                    filters=None, cache=None) -> tuple[list[Status], list[int]]:
    """Load feed entries until a page of visible statuses is found; return them and the scanned edge ids for paging.

    Entries hidden from the reader (a suspended author's, or dropped by a `hide` filter) stay in the feed.
    While the feed store (Redis) cannot be reached, the page comes straight from the database instead.
    """
    try:
        return await _home_page(conn, feeds, reader_id, await hybrid_followed_authors(conn, reader_id, hybrid_threshold),
                                page, rounds, filters, cache)
    except FeedsUnavailable:
        return await _home_page(conn, NO_FEEDS, reader_id, await home_authors(conn, reader_id), page, rounds,
                                filters, cache)


async def _home_page(conn, feeds, reader_id: int, hybrid: list[int], page: Page, rounds: int, filters,
                     cache) -> tuple[list[Status], list[int]]:
    visible: list[Status] = []
    scanned: list[int] = []
    max_id = page.max_id
    for _ in range(rounds):
        batch = await read_feed(conn, feeds, home_key(reader_id), reader_id, hybrid, max_id, page.since_id,
                                page.min_id, page.limit)
        if not batch:
            break
        # One load per batch both checks visibility and hydrates: the page is rendered from it directly.
        scanned.extend(batch)
        visible.extend(shown(filters, await status_store.load_visible(conn, batch, reader_id, cache), "home"))
        # min_id pages read upwards from a fixed point: one round only.
        if page.min_id is not None or len(visible) >= page.limit or len(batch) < page.limit:
            break
        max_id = batch[-1]
    visible = visible[: page.limit]
    if visible and page.min_id is None:
        scanned = scanned[: scanned.index(visible[-1].id) + 1]
    return visible, [scanned[0], scanned[-1]] if scanned else []


async def statuses_page(conn, ids: list[int], viewer_id: int | None, *, cache=None) -> list[Status]:
    """The statuses of these ids the viewer may see, in order, hydrated (from the cache where it holds them)."""
    return await status_store.load_visible(conn, ids, viewer_id, cache)
