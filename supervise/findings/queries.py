"""The findings list: filters, sorting and totals, shared by the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from supervise.accounts.models import Agency, AgencyKind
from supervise.database import contains
from supervise.extensions import db
from supervise.findings.models import Finding, FindingAccess, FindingStatus
from supervise.money import CENT
from supervise.policy import findings as finding_access
from supervise.projects.models import Project
from supervise.settings.models import Category

# Sorted on the access table's copies, which its indexes serve; ties are broken by insertion
# order, so that pages do not overlap. A finding without an amount counts as the smallest.
SORTS = {
    "-created_at": (FindingAccess.created_at.desc(), FindingAccess.finding_id.desc()),
    "created_at": (FindingAccess.created_at.asc(), FindingAccess.finding_id.asc()),
    "amount": (sa.nulls_first(FindingAccess.amount.asc()), FindingAccess.created_at.desc(),
               FindingAccess.finding_id.desc()),
    "-amount": (sa.nulls_last(FindingAccess.amount.desc()), FindingAccess.created_at.desc(),
                FindingAccess.finding_id.desc()),
    "title": (Finding.title.asc(), FindingAccess.created_at.desc(),
              FindingAccess.finding_id.desc()),
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


def _conditions(user, f: FindingFilter) -> list:
    """The filter as conditions on the user's access rows (and, for a text, on the finding)."""
    if f.errors:
        return [sa.false()]
    conditions = []
    if f.scope == "own":
        conditions.append(FindingAccess.own.is_(True))
    elif f.scope == "shared_with_us":
        conditions.append(FindingAccess.own.is_(False))
    if f.unit:
        conditions.append(FindingAccess.unit_id == sa.select(Agency.id).where(
            Agency.code == f.unit).scalar_subquery())
    if f.project:
        conditions.append(FindingAccess.project_id == sa.select(Project.id).where(
            Project.public_id == f.project).scalar_subquery())
    if f.year:
        conditions.append(FindingAccess.year == int(f.year))
    if f.category:
        conditions.append(FindingAccess.category_code == f.category)
    if f.status:
        conditions.append(FindingAccess.status == FindingStatus(f.status))
    if f.q:
        conditions.append(sa.or_(contains(Finding.title, f.q), contains(Finding.facts, f.q)))
    return conditions


def matching(user, f: FindingFilter) -> sa.Select:
    """The findings the user may see that match the filter, unsorted, all in SQL: the user's
    access rows narrowed by the filter, with their findings."""
    return (sa.select(Finding).select_from(FindingAccess)
            .join(Finding, Finding.id == FindingAccess.finding_id)
            .where(finding_access.visible_access_clause(user), *_conditions(user, f)))


def for_list(query: sa.Select, sort: str) -> sa.Select:
    """Sorted, with what a list row shows loaded eagerly: the number of statements does not
    grow with the number of rows."""
    return query.order_by(*SORTS[sort]).options(
        joinedload(Finding.unit), joinedload(Finding.owner_agency),
        joinedload(Finding.category), joinedload(Finding.project),
        selectinload(Finding.shares),
    )


def count_and_total(user, f: FindingFilter) -> tuple[int, Decimal]:
    """How many findings match, and their amounts summed in cents: exact on PostgreSQL's numeric
    and on SQLite's floating point alike. One statement, on the access table's index unless a
    text is searched."""
    query = sa.select(sa.func.count(), sa.func.sum(sa.func.round(FindingAccess.amount * 100)))
    if f.q:
        query = query.select_from(FindingAccess).join(
            Finding, Finding.id == FindingAccess.finding_id)
    count, cents = db.session.execute(query.where(
        finding_access.visible_access_clause(user), *_conditions(user, f))).one()
    return count, (Decimal(int(cents or 0)) * CENT).quantize(CENT)


@dataclass
class FilterChoices:
    units: list[Agency]
    projects: list[Project]
    categories: list[Category]
    years: list[int]


def filter_choices(user) -> FilterChoices:
    """What the filters offer: only units, projects and years of findings the user can see.
    Each candidate is one probe of the access table's index (a few hundred units and projects),
    never a pass over the findings."""
    mine = finding_access.visible_access_clause(user)

    def seen(column, key):
        return sa.select(sa.literal(1)).where(mine, column == key).exists()

    units = db.session.scalars(sa.select(Agency).where(
        Agency.kind == AgencyKind.AUDITED_UNIT, seen(FindingAccess.unit_id, Agency.id))
        .order_by(Agency.name)).all()
    projects = db.session.scalars(sa.select(Project).where(
        seen(FindingAccess.project_id, Project.id))
        .order_by(Project.year.desc(), Project.name)).all()
    categories = db.session.scalars(sa.select(Category).where(Category.active.is_(True))
                                    .order_by(Category.position)).all()
    first, last = db.session.execute(sa.select(
        sa.func.min(FindingAccess.year), sa.func.max(FindingAccess.year)).where(mine)).one()
    years = range(first, last + 1) if first is not None else ()
    return FilterChoices(list(units), list(projects), list(categories),
                         sorted(years, reverse=True))
