"""Pages of the home timeline for a reader: the feed entries they may see, hydrated, with activity noted."""

from __future__ import annotations

from townsquare.core.pagination import Page
from townsquare.domain.models import Status
from townsquare.storage import statuses as status_store
from townsquare.timelines.home import hybrid_followed_authors, read_feed, touch_activity, touch_due
from townsquare.timelines.recipients import home_key


async def note_activity(db, account, active_days: int) -> bool:
    """Record that a reader is active (at most once in a while); True when their feed is being rebuilt."""
    if not touch_due(account.last_active_at):
        return False
    async with db.write() as conn:
        return await touch_activity(conn, account.id, account.last_active_at, active_days)


async def home_page(conn, feeds, reader_id: int, hybrid_threshold: int, page: Page, rounds: int = 5) -> tuple[list[Status], list[int]]:
    """Load feed entries until a page of visible statuses is found; return them and the scanned edge ids for paging."""
    hybrid = await hybrid_followed_authors(conn, reader_id, hybrid_threshold)
    visible: list[Status] = []
    scanned: list[int] = []
    max_id = page.max_id
    for _ in range(rounds):
        batch = await read_feed(conn, feeds, home_key(reader_id), reader_id, hybrid, max_id, page.since_id,
                                page.min_id, page.limit)
        if not batch:
            break
        scanned.extend(batch)
        visible.extend(await status_store.load_visible(conn, batch, reader_id))
        if page.min_id is not None or len(visible) >= page.limit or len(batch) < page.limit:
            break
        max_id = batch[-1]
    visible = visible[: page.limit]
    if visible and page.min_id is None:
        scanned = scanned[: scanned.index(visible[-1].id) + 1]
    return visible, [scanned[0], scanned[-1]] if scanned else []
