"""Quote rows: recording quotes, listing a status's quotes and attaching quote state to statuses being shown."""

from __future__ import annotations

from typing import Awaitable, Callable

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.clock import now
from townsquare.core.pagination import Page, apply, ordered
from townsquare.domain.models import QUOTE_POLICIES, Quote, Status, quote_policy
from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage.tables import blocks, follows, quotes, statuses

POLICIES = QUOTE_POLICIES
effective_policy = quote_policy


async def insert(conn: AsyncConnection, status_id: int, account_id: int, quoted_status_id: int, quoted_account_id: int) -> None:
    """Record an accepted quote; its id is the quoting status's id, so lists of quotes page like statuses."""
    await conn.execute(quotes.insert().values(
        id=status_id, status_id=status_id, account_id=account_id, quoted_status_id=quoted_status_id,
        quoted_account_id=quoted_account_id, state="accepted", created_at=now()))


async def get_row(conn: AsyncConnection, status_id: int):
    """The quote row of a quoting status, or None."""
    return (await conn.execute(select(quotes).where(quotes.c.status_id == status_id))).first()


async def set_state(conn: AsyncConnection, status_id: int, state: str) -> None:
    """Change the state of a quote (e.g. revoked by the quoted author)."""
    await conn.execute(update(quotes).where(quotes.c.status_id == status_id).values(state=state))


async def set_policy(conn: AsyncConnection, status_id: int, policy: str) -> None:
    """Change who may quote a status."""
    await conn.execute(update(statuses).where(statuses.c.id == status_id).values(quote_approval_policy=policy))


async def follows_account(conn: AsyncConnection, account_id: int, target_id: int) -> bool:
    """Whether account_id follows target_id."""
    row = (await conn.execute(select(follows.c.id).where(and_(
        follows.c.account_id == account_id, follows.c.target_account_id == target_id)))).first()
    return row is not None


async def quoting_ids(conn: AsyncConnection, quoted_status_id: int, page: Page) -> list[int]:
    """Ids of the statuses holding an accepted quote of a status, newest first, one page."""
    query = select(quotes.c.status_id).where(and_(quotes.c.quoted_status_id == quoted_status_id, quotes.c.state == "accepted"))
    return [r[0] for r in ordered((await conn.execute(apply(query, quotes.c.id, page))).all(), page)]


async def quoters(conn: AsyncConnection, quoted_status_id: int) -> list[tuple[int, int]]:
    """(quoting status id, its author) of every accepted quote of a status."""
    rows = await conn.execute(select(quotes.c.status_id, quotes.c.account_id).where(and_(
        quotes.c.quoted_status_id == quoted_status_id, quotes.c.state == "accepted")))
    return [(r[0], r[1]) for r in rows]


Hydrate = Callable[[AsyncConnection, list, "int | None"], Awaitable[list[Status]]]


async def attach(conn: AsyncConnection, items: list[Status], viewer_id: int | None, hydrate: Hydrate, *,
                 shallow: bool = False, counts: dict[int, int] | None = None, quoting: set[int] | None = None) -> None:
    """Set quote, quotes_count and quote_current_user on statuses; quoted statuses are nested one level deep.

    `counts` (accepted quotes per status) and `quoting` (ids of the statuses that hold a quote) come from
    the hydrating reader's one presence query; without them they are read here.
    """
    if not items:
        return
    ids = [s.id for s in items]
    if counts is None:
        counts = dict((await conn.execute(select(quotes.c.quoted_status_id, func.count()).where(and_(
            quotes.c.quoted_status_id.in_(ids), quotes.c.state == "accepted")).group_by(quotes.c.quoted_status_id))).all())
    followed: set[int] = set()
    # Only a followers-only policy depends on who the viewer follows.
    asking = {s.account_id for s in items if viewer_id not in (None, s.account_id) and effective_policy(s) == "followers"}
    if asking:
        followed = {r[0] for r in await conn.execute(select(follows.c.target_account_id).where(and_(
            follows.c.account_id == viewer_id, follows.c.target_account_id.in_(list(asking)))))}
    for s in items:
        s.quotes_count = counts.get(s.id, 0)
        s.quote_current_user = current_user(s, viewer_id, followed)
    if quoting is not None and not quoting:
        return
    rows = (await conn.execute(select(quotes).where(quotes.c.status_id.in_(list(quoting) if quoting else ids)))).all()
    if not rows:
        return
    wanted = [r.quoted_status_id for r in rows if r.quoted_status_id is not None and r.state == "accepted"]
    visible_rows = []
    if wanted:
        visible_rows = (await conn.execute(select(statuses).where(statuses.c.id.in_(wanted)).where(visible_to(viewer_id)),
                                           viewer_params(viewer_id))).all()
    visible_ids = {r.id for r in visible_rows}
    shown: dict[int, Status] = {}
    if not shallow and visible_rows:
        shown = {s.id: s for s in await hydrate(conn, visible_rows, viewer_id)}
    blocking: set[int] = set()
    if viewer_id is not None and len(visible_ids) < len(set(wanted)):  # only a hidden quoted post needs the reason
        blocking = {r[0] for r in await conn.execute(select(blocks.c.target_account_id).where(and_(
            blocks.c.account_id == viewer_id, blocks.c.target_account_id.in_([r.quoted_account_id for r in rows if r.quoted_account_id]))))}
    by_status = {}
    for r in rows:
        if r.state != "accepted":
            quote = Quote(state=r.state)
        elif r.quoted_status_id is None:
            quote = Quote(state="deleted")
        elif r.quoted_status_id not in visible_ids:
            # Never the content of a post the viewer may not see; only why it is hidden.
            quote = Quote(state="blocked_account" if r.quoted_account_id in blocking else "unauthorized")
        else:
            inner = shown.get(r.quoted_status_id)
            state = "muted_account" if inner is not None and inner.muted else "accepted"
            quote = Quote(state=state, quoted_status_id=r.quoted_status_id, quoted_status=inner)
        quote.shallow = shallow
        by_status[r.status_id] = quote
    for s in items:
        s.quote = by_status.get(s.id)


def current_user(s: Status, viewer_id: int | None, followed: set[int]) -> str:
    """How the quote policy of a status applies to a viewer (QuoteApproval.current_user)."""
    if s.reblog_of_id is not None:
        return "denied"
    if viewer_id is None:
        return "unknown"
    if viewer_id == s.account_id:
        return "denied" if s.visibility == "direct" else "automatic"
    policy = effective_policy(s)
    if policy == "public" or (policy == "followers" and s.account_id in followed):
        return "automatic"
    return "denied"
