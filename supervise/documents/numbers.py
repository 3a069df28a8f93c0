"""Document numbers (发文字号): the agency's prefix, the year in 六角括号, the sequence without
leading zeros, 区审移〔2026〕3号. A sequence is given once per agency, kind and year."""

from __future__ import annotations

import sqlalchemy as sa

from supervise.database import upsert
from supervise.documents.models import DocumentKind, NumberCounter, NumberPrefix
from supervise.extensions import db

PREFIX_LIMIT = 20


def next_sequence(agency_id: int, kind: DocumentKind, year: int) -> int:
    """The next number of the agency's documents of this kind in this year, with one atomic
    statement (INSERT … ON CONFLICT DO UPDATE … RETURNING). The counter's row stays locked
    until the caller's transaction ends: a concurrent request waits for it, then takes the
    number after; a transaction that rolls back gives its number back, so there is no gap."""
    statement = upsert(db.engine.dialect.name, NumberCounter).values(
        agency_id=agency_id, kind=kind, year=year, last=1)
    statement = statement.on_conflict_do_update(
        index_elements=["agency_id", "kind", "year"],
        set_={"last": NumberCounter.last + 1}).returning(NumberCounter.last)
    return db.session.execute(statement).scalar_one()


def prefix_of(agency_id: int, kind: DocumentKind) -> str:
    return db.session.scalar(sa.select(NumberPrefix.prefix).where(
        NumberPrefix.agency_id == agency_id, NumberPrefix.kind == kind)) or ""


def prefixes_of(agency_id: int) -> dict[DocumentKind, str]:
    rows = db.session.execute(sa.select(NumberPrefix.kind, NumberPrefix.prefix).where(
        NumberPrefix.agency_id == agency_id)).all()
    return {kind: found.get(kind, "") for found in [dict(rows)] for kind in DocumentKind}


def formatted(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}〔{year}〕{sequence}号"
