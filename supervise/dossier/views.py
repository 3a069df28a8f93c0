"""The unit dossier (单位画像) and the unit picker: for staff and leaders of the agencies that read
cases (the inspection office before a round, the audit bureau before an audit), everything their
agency may see about one audited unit on one page. The audited unit's contact and the
administrators are refused as on every case page (404 and 403, by the declarations)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from supervise import policy
from supervise.accounts.models import Agency
from supervise.database import now_utc
from supervise.dossier import queries
from supervise.money import format_yuan
from supervise.pagination import paginate
from supervise.policy import Capability, Permission
from supervise.rectifications import queries as rectification_queries
from supervise.rectifications.models import RectificationState
from supervise.referrals.models import ReferralState
from supervise.web import current_actor

blueprint = Blueprint("dossier", __name__)

MAX_QUERY = 100


@blueprint.route("/units")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def units():
    """The audited units the user's agency has records about, by name, with the issued findings
    it reads about each; narrowed by a part of the name or code."""
    user = current_actor()
    q = (request.args.get("q") or "").strip()
    errors = []
    query = queries.units_with_records(user)
    if len(q) > MAX_QUERY:
        errors.append(_("Too long: at most %(n)d characters.", n=MAX_QUERY))
        query = query.where(sa.false())
    elif q:
        query = query.where(sa.or_(Agency.name.contains(q, autoescape=True),
                                   Agency.code.contains(q, autoescape=True)))
    page = paginate(query)
    counts = queries.issued_counts(user, [unit.id for unit in page.items])
    return render_template("dossier/units.html", page=page, counts=counts, q=q,
                           errors=errors), 400 if errors else 200


@blueprint.route("/units/<unit>/dossier")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def dossier(unit: str):
    """One audited unit as the user's agency sees it. A unit it has no record about shows an
    empty dossier: the same page whether other agencies have records about it or not."""
    user, now = current_actor(), now_utc()
    found = queries.unit_or_404(unit)
    findings = queries.finding_figures(user, found)
    rectification = queries.rectification_figures(user, found, now)
    return render_template(
        "dossier/dossier.html", unit=found, findings=findings, rectification=rectification,
        tables=_tables(user, findings, rectification),
        overdue=[(r, rectification_queries.clock(r, now)) for r in rectification.overdue_items],
        referrals=queries.referral_figures(user, found),
        shared=queries.shared_figures(user, found, findings.shared),
        repeats=queries.repeat_figures(user, found),
        rectification_states=list(RectificationState), referral_states=list(ReferralState),
        records_findings=policy.records_findings(user), list_rows=queries.LIST_ROWS)


def _amount(value):
    """A cell of a chart table (templates/_charts.html): the number drawn, the text shown."""
    return value, format_yuan(value)


def _tables(user, findings: queries.FindingFigures,
            rectification: queries.RectificationFigures) -> dict:
    """The rows of the dossier's chart tables (their labels are the template's). An agency that
    records no findings of its own has no column for them."""
    own = policy.records_findings(user)
    return {
        "by_year": [(y.year, *((y.own,) if own else ()), y.shared, _amount(y.amount))
                    for y in findings.by_year],
        "by_year_total": [*((findings.own,) if own else ()), findings.shared,
                          _amount(findings.amount)],
        "by_category": [(c.category.label, c.findings, _amount(c.amount))
                        for c in findings.by_category],
        "by_category_total": [findings.findings, _amount(findings.amount)],
        "by_state": [(state.label, n) for state, n in rectification.by_state.items() if n],
    }
