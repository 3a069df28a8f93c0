"""The findings list: filters, sorting and totals, shared by the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload, selectinload

from supervise.accounts.models import Agency, AgencyKind
from supervise.extensions import db
from supervise.findings.models import Finding, FindingAccess, FindingStatus, FindingTotal
from supervise.findings.similarity import bigrams, dice
from supervise.money import CENT
from supervise.policy import findings as finding_access
from supervise.projects.models import Project
from supervise.settings.models import Category
from supervise.textsearch import text_matches

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
SIMILAR_CANDIDATES = 500  # the most recent visible findings of the unit that are compared
SIMILAR_THRESHOLD = 0.3
SIMILAR_LIMIT = 5


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


def _totalled(table, f: FindingFilter) -> list:
    """The filters the totals are kept by (scope, state, year, category), as conditions on the
    access table or on the totals alike."""
    conditions = []
    if f.scope == "own":
        conditions.append(table.own.is_(True))
    elif f.scope == "shared_with_us":
        conditions.append(table.own.is_(False))
    if f.status:
        conditions.append(table.status == FindingStatus(f.status))
    if f.year:
        conditions.append(table.year == int(f.year))
    if f.category:
        conditions.append(table.category_code == f.category)
    return conditions


def _conditions(user, f: FindingFilter) -> list:
    """The filter as conditions on the user's access rows (and, for a text, on the finding)."""
    if f.errors:
        return [sa.false()]
    conditions = _totalled(FindingAccess, f)
    if f.unit:
        conditions.append(FindingAccess.unit_id == sa.select(Agency.id).where(
            Agency.code == f.unit).scalar_subquery())
    if f.project:
        conditions.append(FindingAccess.project_id == sa.select(Project.id).where(
            Project.public_id == f.project).scalar_subquery())
    if f.q:
        conditions.append(text_matches(Finding, [f.q]))
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
    and on SQLite's floating point alike. One statement: on the maintained totals unless a unit,
    a project or a text narrows the list, else on the access table's index (and the findings
    when a text is searched)."""
    if not (f.unit or f.project or f.q or f.errors):
        query = sa.select(sa.func.sum(FindingTotal.findings), sa.func.sum(FindingTotal.cents)) \
            .where(finding_access.visible_totals_clause(user), *_totalled(FindingTotal, f))
    else:
        query = sa.select(sa.func.count(), sa.func.sum(sa.func.round(FindingAccess.amount * 100)))
        if f.q:
            query = query.select_from(FindingAccess).join(
                Finding, Finding.id == FindingAccess.finding_id)
        query = query.where(finding_access.visible_access_clause(user), *_conditions(user, f))
    count, cents = db.session.execute(query).one()
    return int(count or 0), (Decimal(int(cents or 0)) * CENT).quantize(CENT)


@dataclass
class FilterChoices:
    units: list[sa.Row]  # code, name
    projects: list[sa.Row]  # public_id, name
    categories: list[Category]
    years: list[int]


def filter_choices(user) -> FilterChoices:
    """What the filters offer: only units, projects and years of findings the user can see.
    Each candidate is one probe of the access table's index (a few hundred units and projects),
    never a pass over the findings."""
    mine = finding_access.visible_access_clause(user)

    def seen(column, key):
        return sa.select(sa.literal(1)).where(mine, column == key).exists()

    # Rows of the two columns an option shows, not whole records: hundreds of them.
    units = db.session.execute(sa.select(Agency.code, Agency.name).where(
        Agency.kind == AgencyKind.AUDITED_UNIT, seen(FindingAccess.unit_id, Agency.id))
        .order_by(Agency.name)).all()
    projects = db.session.execute(sa.select(Project.public_id, Project.name).where(
        seen(FindingAccess.project_id, Project.id))
        .order_by(Project.year.desc(), Project.name)).all()
    categories = db.session.scalars(sa.select(Category).where(Category.active.is_(True))
                                    .order_by(Category.position)).all()
    # Two seeks of the year index (min and max together would read every row on SQLite).
    first, last = (db.session.scalar(sa.select(FindingAccess.year).where(mine)
                                     .order_by(order).limit(1))
                   for order in (FindingAccess.year.asc(), FindingAccess.year.desc()))
    years = range(first, last + 1) if first is not None else ()
    return FilterChoices(list(units), list(projects), list(categories),
                         sorted(years, reverse=True))


def similar_findings(user, unit_code: str, title: str) -> list[tuple[float, sa.Row]]:
    """The overlap hint: up to five findings visible to the user about the same unit with a
    similar title, most similar first, each with its score (rows of public_id, title,
    owner_code, owner_name)."""
    return similar_findings_many(user, unit_code, [title])[0]


def similar_findings_many(user, unit_code: str,
                          titles: list[str]) -> list[list[tuple[float, sa.Row]]]:
    """The overlap hint for several titles about one unit (an import's rows): the candidates
    read and bigrammed once, each title's hint as `similar_findings` gives it."""
    unit, owner = aliased(Agency), aliased(Agency)
    rows = db.session.execute(
        sa.select(Finding.public_id, Finding.title, owner.code.label("owner_code"),
                  owner.name.label("owner_name"))
        .join(unit, Finding.unit_id == unit.id)
        .join(owner, Finding.owner_agency_id == owner.id)
        .where(finding_access.visible_findings_clause(user), unit.code == unit_code)
        .order_by(Finding.created_at.desc(), Finding.id.desc())
        .limit(SIMILAR_CANDIDATES)).all()
    candidates = [(bigrams(row.title), row) for row in rows]
    hints = []
    for title in titles:
        wanted = bigrams(title)
        scored = [(dice(wanted, theirs), row) for theirs, row in candidates]
        hints.append(sorted((pair for pair in scored if pair[0] >= SIMILAR_THRESHOLD),
                            key=lambda pair: -pair[0])[:SIMILAR_LIMIT])
    return hints
