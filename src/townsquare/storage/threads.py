"""The thread around a status in one statement: its ancestors and its whole reply tree (recursive CTEs).

A 600-post thread used to cost one query per level of the tree (a hundred levels is ordinary); both
databases walk `in_reply_to_id` through its index inside one recursive query instead. The ids are not
yet visibility-checked: callers hydrate them with `statuses.load_visible`, which drops what the viewer
may not see, while the replies below a hidden post still keep their place in the tree.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.storage.tables import statuses

MAX_ANCESTORS = 40
MAX_DESCENDANTS = 4000  # a 600-post thread is well inside this
MAX_DEPTH = MAX_DESCENDANTS  # bounds the walk even if rows ever formed a cycle


def _statement():
    root = bindparam("thread_root", type_=statuses.c.id.type)
    parent_of = select(statuses.c.in_reply_to_id).where(statuses.c.id == root).scalar_subquery()
    up = (select(statuses.c.id, statuses.c.in_reply_to_id.label("parent"), literal(1, Integer).label("depth"))
          .where(statuses.c.id == parent_of).cte("thread_up", recursive=True))
    above = statuses.alias("above")
    up = up.union_all(select(above.c.id, above.c.in_reply_to_id, up.c.depth + 1)
                      .where(above.c.id == up.c.parent).where(up.c.depth < MAX_ANCESTORS))
    down = (select(statuses.c.id, statuses.c.in_reply_to_id.label("parent"), literal(1, Integer).label("depth"))
            .where(statuses.c.in_reply_to_id == root).cte("thread_down", recursive=True))
    below = statuses.alias("below")
    down = down.union_all(select(below.c.id, below.c.in_reply_to_id, down.c.depth + 1)
                          .where(below.c.in_reply_to_id == down.c.id).where(down.c.depth < MAX_DEPTH))
    replies = select(down.c.id, down.c.parent, down.c.depth).limit(MAX_DESCENDANTS + 1).subquery("replies")
    return union_all(
        select(literal("a", String).label("kind"), up.c.id, up.c.parent, up.c.depth),
        select(literal("d", String), replies.c.id, replies.c.parent, replies.c.depth),
    )


# Built once: the status id is a bound parameter, so the compiled SQL is cached too.
_THREAD = _statement()


async def thread_ids(conn: AsyncConnection, status_id: int) -> tuple[list[int], list[int]]:
    """The ancestors (oldest first) and descendants (depth first, oldest first) of a status, in one query."""
    ancestors: list[tuple[int, int]] = []
    children: dict[int, list[int]] = {}
    for kind, sid, parent, depth in await conn.execute(_THREAD, {"thread_root": status_id}):
        if kind == "a":
            ancestors.append((depth, sid))
        else:
            children.setdefault(parent, []).append(sid)
    ancestor_ids = [sid for _, sid in sorted(ancestors, reverse=True)]
    descendants: list[int] = []
    seen = {status_id, *ancestor_ids}
    stack = sorted(children.get(status_id, []), reverse=True)
    while stack and len(descendants) < MAX_DESCENDANTS:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        descendants.append(current)
        stack.extend(sorted(children.get(current, []), reverse=True))
    return ancestor_ids, descendants
