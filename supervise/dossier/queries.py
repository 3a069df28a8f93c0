"""The unit dossier (单位画像): what the viewer's agency may see about one audited unit, read
through the policy's clauses, in a fixed number of statements whatever the data size.

- Findings: the agency's rows of the access table for the unit (its own findings, and those
  shared with it while issued and not withdrawn), aggregated in SQL by year, category, side and
  state. The figures count issued findings; the agency's own findings not yet issued are
  counted apart.
- Rectification: the items of findings the agency reads (`progress_visible_clause`), read only
  as far as PROGRESS allows another agency: state, plan, report-by date, sign-off.
- Referrals: only those the agency is a party to (`visible_referrals_clause`) that cite a
  finding about the unit, as sent; for the sending agency also its drafts, by the findings they
  cite now. Never the persons involved.
- Shares: findings about the unit shared with the agency, with the share it reads.
- Repeat problems (屡审屡犯): an issued finding about the unit recorded after a finding of the
  same category about the unit, both read by the agency, was signed off in rectification.

Lists are capped (`LIST_ROWS`), with their full count beside them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import aliased, joinedload

from supervise.accounts.models import Agency, AgencyKind
from supervise.database import now_utc
from supervise.extensions import db
from supervise.findings.models import Finding, FindingAccess, FindingStatus, Share
from supervise.money import CENT
from supervise.policy.findings import visible_access_clause
from supervise.policy.rectifications import progress_visible_clause
from supervise.policy.referrals import visible_referrals_clause
from supervise.rectifications import queries as rectification_queries
from supervise.rectifications.models import (
    Rectification,
    RectificationReport,
    RectificationState,
)
from supervise.referrals.models import CitedFinding, Referral, ReferralState, referral_findings
from supervise.settings.models import Category

LIST_ROWS = 20  # of each list on the page; the rest behind its count and link


def unit_or_404(code: str) -> Agency:
    """The audited unit with this code; 404 for any other code. An audited unit is a name in the
    district's directory, not a case record: its dossier exists for every viewer who reads
    cases, and shows only what that viewer's agency may see (possibly nothing)."""
    unit = db.session.scalar(sa.select(Agency).where(Agency.code == code,
                                                     Agency.kind == AgencyKind.AUDITED_UNIT))
    if unit is None:
        abort(404)
    return unit


def _yuan(cents) -> Decimal:
    return (Decimal(int(cents or 0)) * CENT).quantize(CENT)


def _cents(column):
    """A sum of amounts in cents: exact on PostgreSQL's numeric and SQLite's floats alike."""
    return sa.func.sum(sa.func.round(column * 100))


# --- findings -------------------------------------------------------------------------------

@dataclass
class YearFigures:
    year: int
    own: int = 0
    shared: int = 0
    amount: Decimal = Decimal("0.00")

    @property
    def findings(self) -> int:
        return self.own + self.shared


@dataclass
class CategoryFigures:
    category: Category
    findings: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class FindingFigures:
    by_year: list[YearFigures]
    by_category: list[CategoryFigures]
    own: int  # issued findings of the agency's own
    shared: int  # findings shared with the agency
    amount: Decimal
    not_issued: int  # the agency's own drafts and findings awaiting issue

    @property
    def findings(self) -> int:
        return self.own + self.shared


def finding_figures(user, unit: Agency) -> FindingFigures:
    """The agency's findings about the unit by year and by category, with their amounts: one
    grouped statement over the access table (and one for the categories' names)."""
    rows = db.session.execute(
        sa.select(FindingAccess.year, FindingAccess.category_code, FindingAccess.own,
                  FindingAccess.status, sa.func.count(), _cents(FindingAccess.amount))
        .where(visible_access_clause(user), FindingAccess.unit_id == unit.id)
        .group_by(FindingAccess.year, FindingAccess.category_code, FindingAccess.own,
                  FindingAccess.status)).all()
    years: dict[int, YearFigures] = {}
    categories: dict[str, list] = defaultdict(lambda: [0, 0])
    own = shared = not_issued = cents = 0
    for year, category, is_own, status, count, amount in rows:
        if FindingStatus(status) != FindingStatus.ISSUED:
            not_issued += count
            continue
        figures = years.setdefault(year, YearFigures(year))
        if is_own:
            figures.own += count
            own += count
        else:
            figures.shared += count
            shared += count
        figures.amount += _yuan(amount)
        categories[category][0] += count
        categories[category][1] += int(amount or 0)
        cents += int(amount or 0)
    named = {c.code: c for c in db.session.scalars(sa.select(Category))}
    by_category = [CategoryFigures(named[code], n, _yuan(c))
                   for code, (n, c) in categories.items() if code in named]
    by_category.sort(key=lambda f: (f.category.position, f.category.code))
    return FindingFigures(sorted(years.values(), key=lambda f: f.year), by_category, own, shared,
                          _yuan(cents), not_issued)


# --- rectification --------------------------------------------------------------------------

@dataclass
class RectificationFigures:
    by_state: dict[RectificationState, int]
    items: int
    signed_off: int
    overdue: int
    amount: Decimal  # involved, over the items
    recovered: Decimal  # recovered or returned, by the unit's reports
    overdue_items: list[Rectification] = field(default_factory=list)
    own_items: int = 0  # of the agency's own: those its rectification list shows

    @property
    def rate(self) -> Decimal | None:
        """整改率 by count: signed-off items over items; None with nothing to count."""
        return None if not self.items else Decimal(self.signed_off) / Decimal(self.items)

    @property
    def amount_rate(self) -> Decimal | None:
        """金额整改率: amount recovered over amount involved; None with nothing to count."""
        return None if not self.amount else self.recovered / self.amount


def _rectifications(user, unit: Agency):
    return sa.and_(Rectification.unit_id == unit.id, progress_visible_clause(user))


def rectification_figures(user, unit: Agency, now: datetime | None = None
                          ) -> RectificationFigures:
    """The unit's rectification items the agency may follow: counts by state, overdue, own, and
    amounts (one statement), the money recovered (one) and the first overdue items (one)."""
    now = now or now_utc()
    mine = _rectifications(user, unit)
    overdue = rectification_queries.overdue_clause(now)
    rows = db.session.execute(
        sa.select(Rectification.state, sa.func.count(), sa.func.count().filter(overdue),
                  sa.func.count().filter(Rectification.owner_agency_id == user.agency_id),
                  _cents(Rectification.amount))
        .where(mine).group_by(Rectification.state)).all()
    by_state = {state: 0 for state in RectificationState}
    overdue_count = own = cents = 0
    for state, count, late, owned, amount in rows:
        by_state[RectificationState(state)] = count
        overdue_count += late
        own += owned
        cents += int(amount or 0)
    recovered = db.session.scalar(
        sa.select(_cents(RectificationReport.amount_recovered))
        .join(Rectification, Rectification.id == RectificationReport.rectification_id)
        .where(mine))
    items = []
    if overdue_count:
        items = list(db.session.scalars(
            sa.select(Rectification).where(mine, overdue)
            .order_by(Rectification.due_at, Rectification.id).limit(LIST_ROWS)
            .options(joinedload(Rectification.finding), joinedload(Rectification.owner_agency))))
    return RectificationFigures(by_state, sum(by_state.values()),
                                by_state[RectificationState.SIGNED_OFF], overdue_count,
                                _yuan(cents), _yuan(recovered), items, own)


# --- referrals ------------------------------------------------------------------------------

def referrals_about(user, unit: Agency):
    """Referrals the agency is a party to that concern the unit: those citing a finding about it
    as sent (what both parties read), and the agency's own that cite one now (its drafts)."""
    as_sent = sa.exists().where(CitedFinding.referral_id == Referral.id,
                                CitedFinding.unit_id == unit.id)
    cited_now = sa.and_(Referral.sender_agency_id == user.agency_id, sa.exists().where(
        referral_findings.c.referral_id == Referral.id,
        referral_findings.c.finding_id == Finding.id, Finding.unit_id == unit.id))
    return sa.and_(visible_referrals_clause(user), sa.or_(as_sent, cited_now))


@dataclass
class ReferralFigures:
    by_state: dict[ReferralState, int]
    total: int
    latest: list[Referral]


def referral_figures(user, unit: Agency) -> ReferralFigures:
    """Counts by state (one statement) and the newest referrals (one)."""
    about = referrals_about(user, unit)
    counts = dict(db.session.execute(
        sa.select(Referral.state, sa.func.count()).where(about).group_by(Referral.state)).all())
    by_state = {state: counts.get(state, 0) for state in ReferralState}
    total = sum(by_state.values())
    latest = []
    if total:
        latest = list(db.session.scalars(
            sa.select(Referral).where(about)
            .order_by(sa.func.coalesce(Referral.sent_at, Referral.created_at).desc(),
                      Referral.id.desc()).limit(LIST_ROWS)
            .options(joinedload(Referral.sender_agency), joinedload(Referral.receiver_agency))))
    return ReferralFigures(by_state, total, latest)


# --- shares ---------------------------------------------------------------------------------

@dataclass
class SharedFigures:
    by_agency: list[tuple[Agency, int]]
    latest: list[tuple[Finding, Share]]


def shared_figures(user, unit: Agency, total: int) -> SharedFigures:
    """Findings about the unit shared with the agency, by the agency that shared them (one
    statement) and the newest with the share the agency reads (one); `total`: their count,
    known from the figures."""
    if not total:
        return SharedFigures([], [])
    shared = sa.and_(visible_access_clause(user), FindingAccess.own.is_(False),
                     FindingAccess.unit_id == unit.id)
    by_agency = db.session.execute(
        sa.select(Agency, sa.func.count()).select_from(FindingAccess)
        .join(Finding, Finding.id == FindingAccess.finding_id)
        .join(Agency, Agency.id == Finding.owner_agency_id)
        .where(shared).group_by(Agency.id).order_by(sa.func.count().desc(), Agency.name)).all()
    latest = db.session.execute(
        sa.select(Finding, Share).select_from(FindingAccess)
        .join(Finding, Finding.id == FindingAccess.finding_id)
        .join(Share, sa.and_(Share.finding_id == Finding.id,
                             Share.agency_id == FindingAccess.agency_id,
                             Share.withdrawn_at.is_(None)))
        .where(shared)
        .order_by(FindingAccess.created_at.desc(), FindingAccess.finding_id.desc())
        .limit(LIST_ROWS)
        .options(joinedload(Finding.owner_agency), joinedload(Finding.category))).all()
    return SharedFigures([(agency, n) for agency, n in by_agency],
                         [(finding, share) for finding, share in latest])


# --- repeat problems (屡审屡犯) ----------------------------------------------------------------

@dataclass
class Repeat:
    finding: Finding  # found again
    earlier: Finding  # the latest finding of the category signed off before it was recorded
    signed_off_at: datetime


@dataclass
class RepeatFigures:
    total: int
    latest: list[Repeat]


def repeat_figures(user, unit: Agency) -> RepeatFigures:
    """Issued findings about the unit recorded after a finding of the same category about the
    unit was signed off: both read by the agency (so is the sign-off, as its progress). Each
    repeat with the latest such sign-off before it. A count and a page of pairs (one statement
    each, a window function picking the pair), and their findings (one)."""
    later = FindingAccess  # narrowed to the agency's rows by the policy
    earlier = aliased(FindingAccess)
    pairs = (
        sa.select(later.finding_id.label("finding_id"),
                  earlier.finding_id.label("earlier_id"),
                  Rectification.signed_off_at.label("signed_off_at"),
                  later.created_at.label("created_at"),
                  sa.func.row_number().over(
                      partition_by=later.finding_id,
                      order_by=(Rectification.signed_off_at.desc(),
                                earlier.finding_id.desc())).label("n"))
        .select_from(later)
        .join(earlier, sa.and_(earlier.agency_id == later.agency_id,
                               earlier.unit_id == later.unit_id,
                               earlier.category_code == later.category_code,
                               earlier.finding_id != later.finding_id))
        .join(Rectification, Rectification.finding_id == earlier.finding_id)
        .where(visible_access_clause(user), later.unit_id == unit.id,
               later.status == FindingStatus.ISSUED,
               Rectification.state == RectificationState.SIGNED_OFF,
               Rectification.signed_off_at < later.created_at)
        .subquery())
    firsts = sa.select(pairs).where(pairs.c.n == 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(firsts.subquery()))
    if not total:
        return RepeatFigures(0, [])
    rows = db.session.execute(firsts.order_by(pairs.c.created_at.desc(),
                                              pairs.c.finding_id.desc())
                              .limit(LIST_ROWS)).all()
    ids = {row.finding_id for row in rows} | {row.earlier_id for row in rows}
    findings = {f.id: f for f in db.session.scalars(
        sa.select(Finding).where(Finding.id.in_(ids)).options(joinedload(Finding.category),
                                                              joinedload(Finding.owner_agency)))}
    return RepeatFigures(total, [Repeat(findings[row.finding_id], findings[row.earlier_id],
                                        row.signed_off_at) for row in rows])


# --- the unit picker ------------------------------------------------------------------------

def units_with_records(user) -> sa.Select:
    """Audited units about which the agency reads a finding or is a party to a referral, by
    name: a probe of the access table's index per unit, and the units of its referrals."""
    reads = sa.select(sa.literal(1)).where(visible_access_clause(user),
                                           FindingAccess.unit_id == Agency.id).exists()
    referred = (sa.select(CitedFinding.unit_id)
                .join(Referral, Referral.id == CitedFinding.referral_id)
                .where(visible_referrals_clause(user)))
    drafted = (sa.select(Finding.unit_id)
               .join(referral_findings, referral_findings.c.finding_id == Finding.id)
               .join(Referral, Referral.id == referral_findings.c.referral_id)
               .where(visible_referrals_clause(user),
                      Referral.sender_agency_id == user.agency_id))
    return (sa.select(Agency)
            .where(Agency.kind == AgencyKind.AUDITED_UNIT,
                   sa.or_(reads, Agency.id.in_(referred.union(drafted))))
            .order_by(Agency.name, Agency.code))


def issued_counts(user, unit_ids) -> dict[int, tuple[int, Decimal]]:
    """Issued findings the agency reads about each of these units, and their amount (one
    statement for a page of units)."""
    ids = list(unit_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(FindingAccess.unit_id, sa.func.count(), _cents(FindingAccess.amount))
        .where(visible_access_clause(user), FindingAccess.unit_id.in_(ids),
               FindingAccess.status == FindingStatus.ISSUED)
        .group_by(FindingAccess.unit_id))
    return {unit_id: (n, _yuan(cents)) for unit_id, n, cents in rows}
