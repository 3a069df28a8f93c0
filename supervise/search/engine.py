"""Full-text search (全文检索) across the findings, referrals and rectification items a user may
see, in their titles and facts, and the referrals that name a person involved, for the parties
who may read the persons.

Every statement is narrowed by the policy's own clauses (`visible_findings_clause`,
`visible_referrals_clause`, `visible_rectifications_clause`, `persons_visible_clause`): there is
no second rule here. What is searched:

- on SQLite, through an FTS5 trigram table per kind: a word of three characters and more as a
  quoted phrase (so that nothing typed is read as FTS syntax); a word of two characters, which
  no trigram matches, as the trigrams that begin with it, read from the index's own term list
  (fts5vocab), each quoted: the index answers both, newest first;
- on PostgreSQL, by LIKE (ILIKE for a word with letters that have a case), which the GIN
  trigram indexes serve for three characters and more; a two-character word (pg_trgm extracts
  no trigram from it) is a LIKE over the visible rows, newest first, that stops at the
  candidate limit: bounded by the table's size at worst (a rare one at 100,000 findings: about
  0.2 s);
- the whole query as a person's name through the blind index (supervise.crypto): an exact name,
  never a substring, and only among the referrals whose persons the user may read. The
  persons' names are in no text index.

Each kind yields at most CANDIDATES of its newest matches; those are ranked (a person named,
then how many words are in the title, then the newest first) and paged. So a search costs a
fixed number of statements whatever the size of the data, and a search matching more than
CANDIDATES records of one kind says so (`capped`) instead of counting them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from supervise import textsearch
from supervise.cleaning import name_key
from supervise.errors import InvalidInput
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.policy import findings as finding_access
from supervise.policy import rectifications as rectification_access
from supervise.policy import referrals as referral_access
from supervise.rectifications.models import Rectification
from supervise.referrals import queries as referral_queries
from supervise.referrals.models import Referral
from supervise.search.schema import FTS_TABLES
from supervise.vocabulary import LabelledEnum

MIN_LENGTH = 2  # characters of a word, and of the query
MAX_LENGTH = 100  # characters of the query
MAX_WORDS = 5
MAX_NAME = 50  # a person's name is at most this long (referrals.operations)
# The newest matches of each kind that are ranked: 25 pages of each, and a bound on the work a
# word found everywhere costs (at 1,000 a search for one took twice as long, 55 ms in all).
CANDIDATES = 500


class Kind(LabelledEnum):
    FINDING = "finding", _l("Finding")
    REFERRAL = "referral", _l("Referral")
    RECTIFICATION = "rectification", _l("Rectification item")


@dataclass(frozen=True)
class Query:
    text: str  # as typed, spaces collapsed
    words: tuple[str, ...]  # each searched for; a record must contain every one


def parse(raw: Any) -> Query:
    """The query a person typed, or InvalidInput saying what is wrong with it. Every character
    is literal: quotes, *, -, ^, OR, NEAR( and the like are searched for as they are."""
    text = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not text:
        raise InvalidInput({"q": _("Type what to search for.")})
    if len(text) > MAX_LENGTH:
        raise InvalidInput({"q": _("Type at most %(n)d characters.", n=MAX_LENGTH)})
    words = tuple(dict.fromkeys(text.split(" ")))  # once each, in order
    if len(words) > MAX_WORDS:
        raise InvalidInput({"q": _("Type at most %(n)d words.", n=MAX_WORDS)})
    if any(len(word) < MIN_LENGTH for word in words):
        raise InvalidInput({"q": _("Type at least %(n)d characters in each word.",
                                   n=MIN_LENGTH)})
    return Query(text, words)


@dataclass(frozen=True)
class Source:
    """One kind of record the search reads, and the policy clause that says which the user may
    see."""

    kind: Kind
    model: Any
    created: Any  # the column "newest first" reads
    visible: Callable[[Any], Any]
    options: tuple = ()


SOURCES = (
    Source(Kind.FINDING, Finding, Finding.created_at, finding_access.visible_findings_clause,
           (joinedload(Finding.owner_agency), joinedload(Finding.unit))),
    Source(Kind.REFERRAL, Referral, Referral.created_at, referral_access.visible_referrals_clause,
           (joinedload(Referral.sender_agency), joinedload(Referral.receiver_agency))),
    Source(Kind.RECTIFICATION, Rectification, Rectification.issued_at,
           rectification_access.visible_rectifications_clause,
           (joinedload(Rectification.unit), joinedload(Rectification.owner_agency))),
)
BY_KIND = {source.kind: source for source in SOURCES}


def _never(clause) -> bool:
    return isinstance(clause, sa.sql.elements.False_)


def _matching(source: Source, user, query: Query, dialect: str) -> sa.Select | None:
    """The statement that finds the newest visible records of one kind that contain every word
    (id, time, title), or None when the user sees none of that kind or none can match."""
    clause = source.visible(user)
    if _never(clause):
        return None
    model = source.model
    statement = sa.select(model.id, source.created, model.title).where(clause)
    if dialect == "sqlite":
        table = model.__tablename__
        fts_name = FTS_TABLES[table]
        match = textsearch.match_expression(table, query.words)
        if match is None:
            return None
        fts = sa.table(fts_name, sa.column("rowid"))
        return (statement.join(fts, fts.c.rowid == model.id)
                .where(sa.text(f"{fts_name} MATCH :match").bindparams(match=match))
                .order_by(fts.c.rowid.desc()).limit(CANDIDATES + 1))
    for word in query.words:
        statement = statement.where(sa.or_(textsearch.like(model.title, word),
                                           textsearch.like(model.facts, word)))
    return statement.order_by(model.id.desc()).limit(CANDIDATES + 1)


def _named(user, query: Query) -> sa.Select | None:
    """Referrals whose persons the user may read that name the query, exactly, as a person."""
    if len(query.text) > MAX_NAME or not name_key(query.text):
        return None
    clause = referral_access.persons_visible_clause(user)
    if _never(clause):
        return None
    return (sa.select(Referral.id, Referral.created_at, Referral.title)
            .where(clause, referral_queries.naming_clause(query.text))
            .order_by(Referral.id.desc()).limit(CANDIDATES + 1))


@dataclass
class Candidate:
    kind: Kind
    id: int
    created: datetime
    title: str
    named: bool = False  # a person involved has this name

    def rank(self, folded_words) -> tuple:
        title = self.title.casefold()
        in_title = sum(1 for w in folded_words if w in title)
        return (not self.named, -in_title, -self.created.timestamp(), self.kind.value,
                -self.id)


@dataclass
class Found:
    """A search's ranked candidates: `total` of them (at least, when `capped`), by kind."""

    query: Query
    candidates: list[Candidate]
    capped: bool
    counts: dict[Kind, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.candidates)


def search(user, query: Query) -> Found:
    """Everything the user may see that matches, ranked. A person found by name is a reading of
    the persons involved: recorded, with the number of referrals found, never the name (the
    caller commits)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # psycopg prepares a statement run often; PostgreSQL would then plan it once for any
        # pattern, blind to whether the word is rare (the trigram index) or everywhere (the
        # newest rows first). Plan each search for its own words, for this transaction.
        db.session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))
    found: dict[tuple[Kind, int], Candidate] = {}
    capped = False
    for source in SOURCES:
        statement = _matching(source, user, query, dialect)
        if statement is None:
            continue
        rows = db.session.execute(statement).all()
        capped |= len(rows) > CANDIDATES
        for row in rows[:CANDIDATES]:
            found[source.kind, row[0]] = Candidate(source.kind, row[0], row[1], row[2])
    named_statement = _named(user, query)
    if named_statement is not None:
        rows = db.session.execute(named_statement).all()
        capped |= len(rows) > CANDIDATES
        for row in rows[:CANDIDATES]:
            candidate = found.setdefault((Kind.REFERRAL, row[0]),
                                         Candidate(Kind.REFERRAL, row[0], row[1], row[2]))
            candidate.named = True
        if rows:
            record_event("referral.person_lookup", actor=user,
                         details={"found": min(len(rows), CANDIDATES)})
    folded = [w.casefold() for w in query.words]
    ranked = sorted(found.values(), key=lambda c: c.rank(folded))
    counts = {kind: 0 for kind in Kind}
    for candidate in ranked:
        counts[candidate.kind] += 1
    return Found(query, ranked, capped, counts)


@dataclass
class Hit:
    """One result as the user reads it: the record (loaded through the policy again), and
    whether a person involved was named."""

    kind: Kind
    record: Any
    named: bool


def page_of(user, found: Found, page: int, per_page: int) -> list[Hit]:
    """The records of one page of the results, in rank order: one statement per kind."""
    chosen = found.candidates[(page - 1) * per_page:page * per_page]
    records: dict[tuple[Kind, int], Any] = {}
    for source in SOURCES:
        ids = [c.id for c in chosen if c.kind == source.kind]
        if not ids:
            continue
        options = source.options
        if source.kind == Kind.REFERRAL:
            options = (*options, selectinload(Referral.persons))
        statement = sa.select(source.model).where(source.model.id.in_(ids),
                                                  source.visible(user)).options(*options)
        for record in db.session.scalars(statement).unique():
            records[source.kind, record.id] = record
    return [Hit(c.kind, records[c.kind, c.id], c.named) for c in chosen
            if (c.kind, c.id) in records]
