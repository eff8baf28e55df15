"""Search readers: statuses by full-text search (SQLite FTS5 or PostgreSQL tsvector), hashtags and accounts.

The text index is kept by the database itself (triggers on SQLite, a generated column on PostgreSQL,
migration 0500_filters_search), so it changes in the same transaction as the status. A query is read as
words (all must appear), "quoted phrases" and -excluded words, and rendered for each dialect from
words only, so nothing a user types can reach the query syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import bindparam, column, func, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.moderation.policy import viewer_params, visible_to
from townsquare.storage.tables import statuses, tags

_PIECE = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what both tokenizers keep
_fts = table("statuses_fts", column("rowid"))
_FTS = literal_column("statuses_fts")
_DOCUMENT = literal_column("statuses.search_document")
MAX_TERMS = 16
RANK_NORMALISATION = 1  # ts_rank_cd divides by 1 + log(document length), as bm25 favours shorter documents


@dataclass
class TextQuery:
    """A search query as words and phrases that must appear and ones that must not."""

    required: list[list[str]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.required)


def parse_query(q: str) -> TextQuery:
    """Read a query: each word or "phrase" must appear, a leading - excludes it; punctuation only separates words."""
    out = TextQuery()
    for m in _PIECE.finditer(q or ""):
        negated = bool(m.group(1) or m.group(3))
        words = [w.lower() for w in _WORD.findall(m.group(2) if m.group(2) is not None else m.group(4))]
        if words and len(out.required) + len(out.excluded) < MAX_TERMS:
            (out.excluded if negated else out.required).append(words)
    return out


def fts5_expression(query: TextQuery) -> str:
    """The FTS5 MATCH expression: quoted phrases of word characters, ANDed, with NOT for exclusions."""
    phrase = lambda words: '"' + " ".join(words) + '"'  # noqa: E731 - words hold only \w characters
    text = " AND ".join(phrase(w) for w in query.required)
    for words in query.excluded:
        text += " NOT " + phrase(words)
    return text


def tsquery_text(query: TextQuery) -> str:
    """The PostgreSQL to_tsquery text: lexemes quoted, phrases with <->, exclusions with !, all ANDed."""
    phrase = lambda words: "(" + " <-> ".join(f"'{w}'" for w in words) + ")"  # noqa: E731
    parts = [phrase(w) for w in query.required] + ["!" + phrase(w) for w in query.excluded]
    return " & ".join(parts)


async def statuses_matching(conn: AsyncConnection, q: str, viewer_id: int, *, account_id: int | None = None,
                            min_id: int | None = None, max_id: int | None = None, limit: int = 20,
                            offset: int = 0) -> list[int]:
    """Ids of the statuses the viewer may see that match a query, best match first (then newest)."""
    query = parse_query(q)
    if not query:
        return []
    if conn.dialect.name == "sqlite":
        stmt = (select(statuses.c.id).select_from(_fts.join(statuses, statuses.c.id == _fts.c.rowid))
                .where(_FTS.op("MATCH")(bindparam("fts_query", fts5_expression(query))))
                .order_by(func.bm25(_FTS), statuses.c.id.desc()))
    else:
        tsq = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("ts_query", tsquery_text(query)))
        stmt = (select(statuses.c.id).where(_DOCUMENT.op("@@")(tsq))
                .order_by(func.ts_rank_cd(_DOCUMENT, tsq, RANK_NORMALISATION).desc(), statuses.c.id.desc()))
    stmt = stmt.where(statuses.c.reblog_of_id.is_(None)).where(visible_to(viewer_id))
    if account_id is not None:
        stmt = stmt.where(statuses.c.account_id == account_id)
    if max_id is not None:
        stmt = stmt.where(statuses.c.id < max_id)
    if min_id is not None:
        stmt = stmt.where(statuses.c.id > min_id)
    rows = await conn.execute(stmt.limit(limit).offset(offset), viewer_params(viewer_id))
    return [r[0] for r in rows]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def tags_matching(conn: AsyncConnection, q: str, limit: int, offset: int = 0) -> list:
    """Hashtag rows (id, name) whose name contains the query, the exact name first, then the shortest."""
    name = q.strip().lstrip("#").lower()
    if not name:
        return []
    return (await conn.execute(
        select(tags.c.id, tags.c.name).where(tags.c.name.like(_like(name), escape="\\"))
        .order_by((tags.c.name == name).desc(), func.length(tags.c.name), tags.c.name)
        .limit(limit).offset(offset))).all()

