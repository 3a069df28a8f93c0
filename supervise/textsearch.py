"""Text in titles and facts, found through the text indexes: on SQLite the FTS5 trigram table
that migration 0022 keeps beside each searched table (`<table>_fts`, its terms in
`<table>_fts_terms`, rowid = the record's id); on PostgreSQL LIKE, which the `pg_trgm` GIN
indexes on the columns serve. The header's search (supervise.search) and the lists' text filter
both ask here, so that a word found in one is found in the other.

Every word is literal: quoted for FTS5 (no operator, column filter or prefix mark is read), its
%, _ and \\ escaped for LIKE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from supervise.database import contains
from supervise.extensions import db

MIN_INDEXED = 2  # a shorter word is looked for row by row


def fts_table(table: str) -> str:
    return f"{table}_fts"


def fts_terms(table: str) -> str:
    return f"{table}_fts_terms"


def fts_phrase(word: str) -> str:
    """An FTS5 string: the word in double quotes, its own quotes doubled. Inside one, FTS5
    reads no operator, column filter or prefix mark."""
    return '"' + word.replace('"', '""') + '"'


def _trigrams_beginning(table: str, word: str) -> list[str]:
    """The index's terms (trigrams) that begin with a two-character word: every row holding the
    word holds one of them, the column's end included (migration 0022 indexes each column with
    a newline after it). The trigram tokenizer folds case, so the word is folded too."""
    low = word.lower()
    return list(db.session.scalars(
        sa.text(f"SELECT term FROM {fts_terms(table)} "  # noqa: S608 - a name of ours
                "WHERE term >= :low AND term < :high")
        .bindparams(low=low, high=low + "\U0010ffff")))


def match_expression(table: str, words: Sequence[str]) -> str | None:
    """The FTS5 query for the words (each of two characters or more): each a quoted phrase, a
    two-character word the phrases of the trigrams beginning with it; None when a word is in no
    row at all."""
    parts = []
    for word in words:
        if len(word) >= 3:
            parts.append(fts_phrase(word))
            continue
        terms = _trigrams_beginning(table, word)
        if not terms:
            return None
        parts.append("(" + " OR ".join(fts_phrase(t) for t in terms) + ")")
    return " AND ".join(parts)


def like(column, word: str):
    """PostgreSQL: `column` contains `word` literally (%, _ and \\ are themselves), in any case.
    ILIKE folds the case of every row's text first, four times slower than LIKE on Chinese
    text, so a word with no letter that has a case (Chinese, digits) takes LIKE; the trigram
    indexes serve both."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if word.lower() == word.upper():
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def text_matches(model, words: Sequence[str]):
    """Records of `model` (findings, referrals or rectification items) whose title or facts
    contain every word, through the text index; a word shorter than the index reads is looked
    for row by row."""
    short = [w for w in words if len(w) < MIN_INDEXED]
    indexed = [w for w in words if len(w) >= MIN_INDEXED]
    clauses = [sa.or_(contains(model.title, w), contains(model.facts, w)) for w in short]
    if indexed and db.session.get_bind().dialect.name == "sqlite":
        match = match_expression(model.__tablename__, indexed)
        if match is None:
            return sa.false()
        fts = sa.table(fts_table(model.__tablename__), sa.column("rowid"))
        clauses.append(model.id.in_(
            sa.select(fts.c.rowid).where(
                sa.text(f"{fts.name} MATCH :match").bindparams(match=match))))
    else:
        clauses += [sa.or_(like(model.title, w), like(model.facts, w)) for w in indexed]
    return sa.and_(*clauses)
