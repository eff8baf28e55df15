"""Search people, hashtags and posts: one use case behind both GET /api/v2/search and the web's /search page.

Posts are found by the full-text index (best match first) and only for a signed-in viewer, as Mastodon
does; a URL of one of this server's posts finds that post. What the viewer may not see is never returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.ids import parse_id
from townsquare.core.pagination import Page
from townsquare.domain.models import Account, Status
from townsquare.services import personal
from townsquare.storage import accounts as account_store
from townsquare.storage import search as search_store
from townsquare.storage import statuses as status_store

KINDS = ("accounts", "hashtags", "statuses")
_LOCAL_STATUS_PATH = re.compile(r"/(?:@[\w.-]+|users/[\w.-]+/statuses)/(\d+)")


@dataclass
class Found:
    """What a search found: accounts, hashtag rows (id, name), the viewer's followed tags among them, statuses."""

    accounts: list[Account] = field(default_factory=list)
    hashtags: list = field(default_factory=list)
    followed_tag_ids: set[int] | None = None  # None when nobody is signed in
    statuses: list[Status] = field(default_factory=list)


def local_status_id(q: str, base_url: str) -> int | None:
    """The id in a URL of one of this server's statuses (/@name/123 or /users/name/statuses/123), else None."""
    if not q.startswith(base_url + "/"):
        return None
    m = _LOCAL_STATUS_PATH.fullmatch(q[len(base_url):])
    return parse_id(m.group(1)) if m else None


async def search(conn: AsyncConnection, viewer_id: int | None, q: str, *, base_url: str, kind: str | None = None,
                 page: Page | None = None, account_id: int | None = None, following: bool = False) -> Found:
    """Find accounts, hashtags and (signed in) statuses matching q; kind limits it to one of KINDS."""
    page = page or Page(limit=20)
    found = Found()
    q = q.strip()
    if not q:
        return found
    if kind in (None, "", "accounts"):
        found.accounts = await account_store.search(conn, q, page.limit, page.offset,
                                                    followed_by=viewer_id if following and viewer_id is not None else None)
    if kind in (None, "", "hashtags"):
        found.hashtags = await search_store.tags_matching(conn, q, page.limit, page.offset)
        if viewer_id is not None:
            found.followed_tag_ids = await personal.followed_tag_ids(conn, viewer_id, [r.id for r in found.hashtags])
    if kind in (None, "", "statuses") and viewer_id is not None:
        linked = local_status_id(q, base_url)
        if linked is not None:
            ids = [linked] if not page.offset else []
        else:
            ids = await search_store.statuses_matching(conn, q, viewer_id, account_id=account_id, min_id=page.min_id,
                                                       max_id=page.max_id, limit=page.limit, offset=page.offset)
        found.statuses = await status_store.load_visible(conn, ids, viewer_id)
    return found
