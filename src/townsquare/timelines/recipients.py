"""Who receives a status: the feed names (home:<id>, list:<id>) a fan-out delivers it to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import BigInteger, String, and_, bindparam, cast, exists, literal, not_, or_, select, union
from sqlalchemy.sql import Select

from townsquare.core.clock import now
from townsquare.storage.tables import (
    TS, accounts, blocks, follows, list_accounts, lists, mutes, status_tags, tag_follows,
)


def home_key(account_id: int) -> str:
    """The feed name of an account's home timeline."""
    return f"home:{account_id}"


def list_key(list_id: int) -> str:
    """The feed name of a list's timeline."""
    return f"list:{list_id}"


def _hidden_from(reader, authors: list[int]):
    """A condition true when the reader muted or blocked one of the authors, or was blocked by one."""
    return or_(
        exists().where(and_(mutes.c.account_id == reader, mutes.c.target_account_id.in_(authors))),
        exists().where(and_(blocks.c.account_id == reader, blocks.c.target_account_id.in_(authors))),
        exists().where(and_(blocks.c.account_id.in_(authors), blocks.c.target_account_id == reader)),
    )


def is_hybrid(author_followers: int, threshold: int) -> bool:
    """Whether an author's posts are merged at read time instead of fanned out."""
    return threshold > 0 and author_followers >= threshold


@dataclass(frozen=True)
class Recipients:
    """A SELECT of feed names, built once per shape of status (`key`), and the values it runs with."""

    key: tuple
    query: Select
    params: dict


_shapes: dict[tuple, Select | None] = {}  # building these statements cost more than running them


def feed_recipients(status, authors: list[int], *, active_days: int, hybrid: bool) -> Recipients | None:
    """The feed names that should receive this status (None when nobody but the author)."""
    if status.visibility == "direct":
        return None
    reply_to = status.in_reply_to_account_id if status.in_reply_to_account_id not in (None, status.account_id) else None
    public = status.visibility == "public" and status.reblog_of_id is None
    key = (hybrid, bool(status.reblog_of_id), reply_to is not None, public, len(authors))
    query = _shapes.get(key, False)
    if query is False:
        query = _shapes[key] = _build(*key)
    if query is None:
        return None
    params = {"r_author": status.account_id, "r_authors": list(authors)}
    if not hybrid:
        params["r_cutoff"] = now() - timedelta(days=active_days)
    if reply_to is not None:
        params["r_reply_to"] = reply_to
    if public:
        params["r_status"] = status.id
    return Recipients(key, query, params)


def _build(hybrid: bool, reblog: bool, reply: bool, public: bool, _authors: int) -> Select | None:
    author = bindparam("r_author", type_=BigInteger)
    authors = bindparam("r_authors", expanding=True)
    parts = []
    if not hybrid:
        cutoff = bindparam("r_cutoff", type_=TS)
        reply_to = bindparam("r_reply_to", type_=BigInteger) if reply else None
        reader = follows.c.account_id
        home = (
            select((literal("home:") + cast(reader, String)).label("feed"))
            .select_from(follows.join(accounts, accounts.c.id == reader))
            .where(follows.c.target_account_id == author)
            .where(accounts.c.last_active_at >= cutoff)
            .where(not_(_hidden_from(reader, authors)))
            # Members of an exclusive list reach that list only, not the owner's home.
            .where(not_(exists().where(and_(
                lists.c.account_id == reader, lists.c.exclusive.is_(True),
                list_accounts.c.list_id == lists.c.id, list_accounts.c.account_id == author))))
        )
        if reblog:
            home = home.where(follows.c.show_reblogs.is_(True))
        if reply_to is not None:
            also = follows.alias("also")
            home = home.where(exists().where(and_(also.c.account_id == reader, also.c.target_account_id == reply_to)))
        parts.append(home)
        parts.append(_list_recipients(author, authors, reblog, reply_to, cutoff))
    if public:
        follower = tag_follows.c.account_id
        parts.append(
            select((literal("home:") + cast(follower, String)).label("feed"))
            .where(tag_follows.c.tag_id.in_(select(status_tags.c.tag_id).where(
                status_tags.c.status_id == bindparam("r_status", type_=BigInteger))))
            .where(not_(_hidden_from(follower, authors)))
        )
    if not parts:
        return None
    return union(*parts) if len(parts) > 1 else parts[0]


def _list_recipients(author, authors, reblog: bool, reply_to, cutoff) -> Select:
    owner = lists.c.account_id
    query = (
        select((literal("list:") + cast(lists.c.id, String)).label("feed"))
        .select_from(lists.join(list_accounts, list_accounts.c.list_id == lists.c.id)
                     .join(accounts, accounts.c.id == owner)
                     .join(follows, and_(follows.c.account_id == owner, follows.c.target_account_id == author)))
        .where(list_accounts.c.account_id == author)
        .where(accounts.c.last_active_at >= cutoff)
        .where(not_(_hidden_from(owner, authors)))
    )
    if reblog:
        query = query.where(follows.c.show_reblogs.is_(True))
    if reply_to is not None:
        member = list_accounts.alias("member")
        also = follows.alias("also")
        query = query.where(or_(
            and_(lists.c.replies_policy == "list", exists().where(and_(member.c.list_id == lists.c.id, member.c.account_id == reply_to))),
            and_(lists.c.replies_policy == "followed", exists().where(and_(also.c.account_id == owner, also.c.target_account_id == reply_to))),
        ))
    return query
