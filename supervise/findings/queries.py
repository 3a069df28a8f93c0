"""The findings list: filters, sorting and totals, shared by the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from supervise.accounts.models import Agency
from supervise.database import BEIJING_TIME, contains
from supervise.extensions import db
from supervise.findings.models import Finding, FindingStatus
from supervise.money import CENT
from supervise.policy import findings as finding_access
from supervise.projects.models import Project
from supervise.settings.models import Category

# Ties are broken by insertion order, so that pages do not overlap. A finding without an amount
# counts as the smallest.
SORTS = {
    "-created_at": (Finding.created_at.desc(), Finding.id.desc()),
    "created_at": (Finding.created_at.asc(), Finding.id.asc()),
    "amount": (sa.nulls_first(Finding.amount.asc()), Finding.created_at.desc(),
               Finding.id.desc()),
    "-amount": (sa.nulls_last(Finding.amount.desc()), Finding.created_at.desc(),
                Finding.id.desc()),
    "title": (Finding.title.asc(), Finding.created_at.desc(), Finding.id.desc()),
}
SCOPES = ("all", "own", "shared_with_us")


@dataclass
class FindingFilter:
    scope: str = "all"
    unit: str = ""
    project: str = ""
    year: str = ""
    category: str = ""
    status: str = ""
    q: str = ""
    sort: str = "-created_at"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args, default_scope: str = "all") -> FindingFilter:
        """From query arguments, checking them; problems go to `errors` and match nothing."""
        names = [f.name for f in fields(cls) if f.name != "errors"]
        f = cls(**{name: str(args.get(name) or "").strip() for name in names})
        f.scope = f.scope or default_scope
        f.sort = f.sort or "-created_at"
        if f.scope not in SCOPES:
            f.errors["scope"] = _("Unknown scope.")
        if f.sort not in SORTS:
            f.errors["sort"] = _("Unknown sort order.")
            f.sort = "-created_at"  # the list is empty; this only orders nothing
        if f.year and not (f.year.isascii() and f.year.isdigit()
                           and 2000 <= int(f.year) <= 2100):
            f.errors["year"] = _("Enter a year such as 2020.")
        if f.status and f.status not in {s.value for s in FindingStatus}:
            f.errors["status"] = _("Unknown status.")
        if len(f.q) > 200:
            f.errors["q"] = _("Too long: at most %(n)d characters.", n=200)
        return f


def _local_year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=BEIJING_TIME)


def matching(user, f: FindingFilter) -> sa.Select:
    """The findings the user may see that match the filter, unsorted, all in SQL."""
    query = finding_access.visible_findings(user)
    if f.errors:
        return query.where(sa.false())
    if f.scope == "own":
        query = query.where(Finding.owner_agency_id == user.agency_id)
    elif f.scope == "shared_with_us":
        query = query.where(Finding.owner_agency_id != user.agency_id)
    if f.unit:
        query = query.where(Finding.unit.has(Agency.code == f.unit))
    if f.project:
        query = query.where(Finding.project.has(Project.public_id == f.project))
    if f.year:
        # The project's year; for a finding without a project, the year it was recorded in.
        year = int(f.year)
        query = query.where(sa.or_(
            Finding.project.has(Project.year == year),
            sa.and_(Finding.project_id.is_(None),
                    Finding.created_at >= _local_year_start(year),
                    Finding.created_at < _local_year_start(year + 1))))
    if f.category:
        query = query.where(Finding.category_code == f.category)
    if f.status:
        query = query.where(Finding.status == FindingStatus(f.status))
    if f.q:
        query = query.where(sa.or_(contains(Finding.title, f.q), contains(Finding.facts, f.q)))
    return query


def for_list(query: sa.Select, sort: str) -> sa.Select:
    """Sorted, with what a list row shows loaded eagerly: the number of statements does not
    grow with the number of rows."""
    return query.order_by(*SORTS[sort]).options(
        joinedload(Finding.unit), joinedload(Finding.owner_agency),
        joinedload(Finding.category), joinedload(Finding.project),
        selectinload(Finding.shares),
    )


def count_and_total(query: sa.Select) -> tuple[int, Decimal]:
    """How many findings match, and their amounts summed in cents: exact on PostgreSQL's numeric
    and on SQLite's floating point alike. One statement."""
    rows = query.order_by(None).subquery()
    count, cents = db.session.execute(sa.select(
        sa.func.count(), sa.func.sum(sa.func.round(rows.c.amount * 100)))).one()
    return count, (Decimal(int(cents or 0)) * CENT).quantize(CENT)


@dataclass
class FilterChoices:
    units: list[Agency]
    projects: list[Project]
    categories: list[Category]
    years: list[int]


def filter_choices(user) -> FilterChoices:
    """What the filters offer: only units, projects and years of findings the user can see."""
    visible = finding_access.visible_findings(user).with_only_columns(
        Finding.id, Finding.unit_id, Finding.project_id, Finding.created_at).subquery()
    units = db.session.scalars(sa.select(Agency).where(
        Agency.id.in_(sa.select(visible.c.unit_id))).order_by(Agency.name)).all()
    projects = db.session.scalars(sa.select(Project).where(
        Project.id.in_(sa.select(visible.c.project_id))).order_by(Project.year.desc(),
                                                                 Project.name)).all()
    categories = db.session.scalars(sa.select(Category).where(Category.active.is_(True))
                                    .order_by(Category.position)).all()
    first, last = db.session.execute(sa.select(
        sa.func.min(visible.c.created_at), sa.func.max(visible.c.created_at))).one()
    years = {p.year for p in projects}
    if first is not None:
        tz = BEIJING_TIME
        first, last = (
            (value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))).astimezone(tz)
            for value in (first, last))
        years |= set(range(first.year, last.year + 1))
    return FilterChoices(list(units), list(projects), list(categories),
                         sorted(years, reverse=True))
