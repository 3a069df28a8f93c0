"""A search result as the page and the API show it: the kind, the record's title with the
matches marked, a passage of its facts where a list may show them, where it matched, and the
link to the record.

What a result shows of a record is no more than its list shows: a referral's facts are read by
opening it (a recorded reading), and so are a sensitive finding's, so their results say that
the facts matched without quoting them. A person involved is never written out: a referral
found by a person's name says so, with the name masked as in the lists (张**).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from markupsafe import Markup

from supervise.cleaning import name_key
from supervise.findings.models import Sensitivity
from supervise.policy import is_unit_contact
from supervise.search.engine import Hit, Kind, Query
from supervise.search.highlight import contains_any, highlight, snippet


@dataclass(frozen=True)
class Result:
    kind: Kind
    public_id: str
    title: str
    title_html: Markup
    snippet_html: Markup | None
    matched: tuple[str, ...]  # "title", "facts", "person"
    persons_masked: tuple[str, ...]
    state_name: str
    context: str  # the agencies it is between, as the user may read them
    at: datetime
    url: str
    api_url: str


def present(user, hit: Hit, query: Query) -> Result:
    record, words = hit.record, query.words
    matched = tuple(part for part, text in (("title", record.title), ("facts", record.facts))
                    if contains_any(text, words))
    persons: tuple[str, ...] = ()
    if hit.named:
        wanted = name_key(query.text)
        persons = tuple(p.masked_name for p in record.persons if name_key(p.name) == wanted)
        matched += ("person",)
    quote = True
    if hit.kind == Kind.FINDING:
        quote = record.sensitivity == Sensitivity.NORMAL
        context = f"{record.owner_agency.name} · {record.unit.name}"
        at, url = record.created_at, url_for("findings.finding", public_id=record.public_id)
        api_url = url_for("findings_api.get_finding", finding_id=record.public_id)
    elif hit.kind == Kind.REFERRAL:
        quote = False
        context = f"{record.sender_agency.name} → {record.receiver_agency.name}"
        at, url = record.created_at, url_for("referrals.referral", public_id=record.public_id)
        api_url = url_for("referrals_api.get_referral", referral_id=record.public_id)
    else:
        context = record.owner_agency.name if is_unit_contact(user) else \
            f"{record.owner_agency.name} · {record.unit.name}"
        at = record.issued_at
        url = url_for("rectifications.rectification", public_id=record.public_id)
        api_url = url_for("rectifications_api.get_rectification",
                          rectification_id=record.public_id)
    return Result(
        kind=hit.kind, public_id=record.public_id, title=record.title,
        title_html=highlight(record.title, words),
        snippet_html=snippet(record.facts, words) if quote else None,
        matched=matched, persons_masked=persons, state_name=record.state.label,
        context=context, at=at, url=url, api_url=api_url)
