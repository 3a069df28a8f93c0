"""The statistics page (统计分析): the agency's figures for a period, as tables with charts beside
them, each count a link to the list of the records it counts, each table downloadable as
.xlsx; and the year's summary for a work report (年度工作总结的数字)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload

from supervise import policy
from supervise.accounts.models import Agency
from supervise.calendar.deadlines import local_date
from supervise.database import now_utc
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.findings.queries import filter_choices
from supervise.ledgers.workbook import Column, Heading, Kind, local, send_ledger, write_ledger
from supervise.pagination import paginate
from supervise.policy import Capability, Permission
from supervise.projects.models import Project
from supervise.rectifications import queries as rectification_queries
from supervise.referrals import queries as referral_queries
from supervise.referrals.models import Referral
from supervise.settings.models import Category
from supervise.statistics import figures as f
from supervise.statistics import tables as t
from supervise.statistics.figures import StatisticsQuery
from supervise.web import BadInput, current_actor

blueprint = Blueprint("statistics", __name__)

SECTIONS = {
    "referrals": _l("Referrals"),
    "rectifications": _l("Rectification"),
    "findings": _l("Findings"),
    "trends": _l("By month"),
}
# Which section's tables a table's key (its download's name) is among.
TABLE_PREFIXES = {"referrals": "referrals_", "rectifications": "rectification_",
                  "findings": "findings_", "trends": "trends"}


def _query() -> StatisticsQuery:
    return StatisticsQuery.from_args(request.args, local_date(now_utc()))


def _checked_query() -> StatisticsQuery:
    """The query of a list or a download, which has no form to show its errors in: 400."""
    q = _query()
    if q.errors:
        raise BadInput(" ".join(q.messages))
    return q


def _section() -> str:
    section = request.args.get("section") or "referrals"
    return section if section in SECTIONS else ""


def tables_of(user, section: str, q: StatisticsQuery, now: datetime) -> list[t.Table]:
    if section == "referrals":
        return t.referral_tables(f.referral_figures(user, q, now))
    if section == "rectifications":
        return t.rectification_tables(f.rectification_figures(user, q, now))
    if section == "findings":
        return t.finding_tables(f.finding_figures(user, q, now))
    return [t.trend_table(f.monthly_trends(user, q, now))]


def _cell_html(cell: t.Cell, kind: Kind) -> tuple:
    """A cell as the chart macro takes it: the number drawn, and what the reader sees (the
    count a link to its records)."""
    kind = cell.kind or kind
    shown = t.text(cell.value, kind)
    if cell.link:
        shown = Markup('<a href="{}">{}</a>').format(cell.link, shown)
    return t.number(cell.value, kind), escape(shown)


def _label_html(cell: t.Cell):
    if cell.link:
        return Markup('<a href="{}">{}</a>').format(cell.link, cell.value)
    return cell.value


@blueprint.app_template_global("statistics_rows")
def html_rows(table: t.Table) -> list[list]:
    """A table's rows as the page shows them: labels that link, figures that open records."""
    return [[_label_html(row[0]), *(_cell_html(cell, col.kind)
                             for cell, col in zip(row[1:], table.columns[1:], strict=True))]
            for row in table.rows]


@blueprint.route("/statistics")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def statistics():
    user, now = current_actor(), now_utc()
    q, section = _query(), _section()
    errors = list(q.messages)
    if not section:
        errors.append(_("Unknown section."))
    tables = tables_of(user, section or "referrals", q, now)
    return render_template("statistics/page.html", q=q, section=section or "referrals",
                           sections=SECTIONS, tables=tables, errors=errors,
                           choices=filter_choices(user),
                           receivers=list(_receivers(user)),
                           years=_years(now)), 400 if errors else 200


def _receivers(user):
    return db.session.scalars(policy.case_partners(user))


def _years(now: datetime) -> list[int]:
    this = local_date(now).year
    return list(range(this, this - 10, -1))


@blueprint.route("/statistics/download/<table>")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def download(table: str):
    """One table of the page as a workbook, its export recorded like a ledger's."""
    user, now = current_actor(), now_utc()
    q = _checked_query()
    if table == "annual":
        found = t.annual_table(f.annual_figures(user, q.year or q.start.year, now, **q.filters))
    else:
        section = next((s for s, prefix in TABLE_PREFIXES.items() if table.startswith(prefix)),
                       None)
        found = next((candidate for candidate in tables_of(user, section, q, now)
                      if candidate.key == table), None) if section else None
    if found is None:
        abort(404)
    return _send(user, found, q, now)


def _send(user, table: t.Table, q: StatisticsQuery, now: datetime):
    columns = [Column(f"c{i}", col.header, col.width,
                      Kind.TEXT if col.kind == Kind.TEXT or i == 0 else col.kind)
               for i, col in enumerate(table.columns)]

    def values(row):
        for cell, col in zip(row, table.columns, strict=True):
            kind = cell.kind or col.kind
            if col.kind == Kind.TEXT and kind != Kind.TEXT:
                yield t.text(cell.value, kind)  # a column of several kinds: as read
            else:
                yield cell.value

    name = f"{user.agency.name}{table.caption}"
    heading = Heading.of(name, f"{q.label}{_filter_words(q)}", now)
    return send_ledger(
        f"{table.caption}-{local(now):%Y%m%d}.xlsx",
        lambda out: write_ledger(out, sheet_title=table.caption, heading=heading,
                                 columns=columns, rows=(list(values(r)) for r in table.rows)),
        lambda rows: record_event(
            "ledger.export", actor=user, object_type="statistics", object_id=table.key,
            details={"filter": q.to_args(), "rows": rows}))


FILTER_NAMES = {"unit": _l("Audited unit"), "category": _l("Category"),
                "receiver": _l("Receiver"), "project": _l("Project")}


def _filter_words(q: StatisticsQuery) -> str:
    """The filters as a heading names them: each by its name, never its code."""
    named = {
        "unit": lambda code: db.session.scalar(sa.select(Agency.name).where(Agency.code == code)),
        "receiver": lambda code: db.session.scalar(
            sa.select(Agency.name).where(Agency.code == code)),
        "category": lambda code: getattr(db.session.get(Category, code), "label", None),
        "project": lambda pid: db.session.scalar(
            sa.select(Project.name).where(Project.public_id == pid)),
    }
    return "".join(_("; ") + _("%(key)s: %(value)s", key=FILTER_NAMES[name],
                                value=named[name](value) or value)
                   for name, value in q.filters.items())


@blueprint.route("/statistics/records")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def records():
    """The records one figure counts, with the same period and filters: the list a figure on
    the page links to."""
    user, now = current_actor(), now_utc()
    subject, figure = request.args.get("subject", ""), request.args.get("figure", "")
    q = _checked_query()
    try:
        query = f.records(user, subject, figure, q, now)
        label = f.figure_label(subject, figure)
    except f.UnknownFigure:
        raise BadInput(_("Choose a figure on the statistics page: this one does not exist."),
                       status=422) from None
    if subject in f.SIDES:
        page = paginate(referral_queries.for_list(query).order_by(
            Referral.first_sent_at.desc(), Referral.id.desc()))
        chasers = referral_queries.chasers(r.id for r in page.items)
        rows = [(r, referral_queries.clocks(r, now), chasers.get(r.id), False)
                for r in page.items]
    elif subject == f.RECTIFICATIONS:
        page = paginate(rectification_queries.for_list(query))
        rows = [(r, rectification_queries.clock(r, now)) for r in page.items]
    else:
        page = paginate(query.options(joinedload(Finding.unit), joinedload(Finding.category))
                        .order_by(Finding.created_at.desc(), Finding.id.desc()))
        rows = page.items
    return render_template("statistics/records.html", q=q, subject=subject, figure=figure,
                           label=label, page=page, rows=rows)


@blueprint.route("/statistics/annual")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def annual():
    """The numbers of a year's work summary, in one table, downloadable."""
    user, now = current_actor(), now_utc()
    args = {"year": request.args.get("year") or str(local_date(now).year)}
    q = StatisticsQuery.from_args(args, local_date(now))
    errors = list(q.messages)
    table = t.annual_table(f.annual_figures(user, q.year, now))
    return render_template("statistics/annual.html", q=q, table=table, errors=errors,
                           years=_years(now)), 400 if errors else 200
