"""The to-do centre (工作台), every role's home page, and the leader's one queue of approvals."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, url_for
from flask_babel import lazy_gettext as _l

from supervise import policy
from supervise.calendar import operations as calendar_operations
from supervise.extensions import db
from supervise.findings.models import Finding, FindingStatus
from supervise.pagination import count
from supervise.policy import Capability, Permission
from supervise.policy.findings import visible_findings
from supervise.policy.rectifications import visible_rectifications
from supervise.rectifications.models import (
    Rectification,
    RectificationState,
    RectificationStep,
)
from supervise.referrals import queries as referral_queries
from supervise.referrals.models import Extension, Referral, ReferralState, TimelineEntry
from supervise.todo.items import items_for, short_lists
from supervise.web import current_actor

blueprint = Blueprint("todo", __name__)

QUEUE_ROWS = 50  # of each kind; the rest behind the link to its list


@blueprint.route("/")
@policy.signed_in
def home():
    user = current_actor()
    items = items_for(user)
    missing_years = calendar_operations.years_without_calendar() \
        if policy.can(user, Permission.MANAGE_SETTINGS) else []
    return render_template("todo/home.html", items=items, waiting=short_lists(user, items),
                           missing_years=missing_years)


@blueprint.route("/approvals")
@policy.requires(Permission.APPROVE, Capability.RECORDS_FINDINGS)
def approvals():
    """Everything that waits for a leader of the agency, oldest first: findings to issue,
    referrals to approve, sign-offs to approve, and the receivers' extension requests. A record
    whose step into the waiting state is not recorded (data from before the steps were kept)
    waits since it was made."""
    user = current_actor()
    queues = [
        (_l("Findings to issue"), "findings.finding",
         sa.func.coalesce(Finding.submitted_at, Finding.created_at),
         visible_findings(user).where(Finding.owner_agency_id == user.agency_id,
                                      Finding.status == FindingStatus.PENDING_ISSUE),
         url_for("findings.findings", scope="own", status=FindingStatus.PENDING_ISSUE.value)),
        (_l("Referrals to approve"), "referrals.referral",
         sa.func.coalesce(_since(TimelineEntry, TimelineEntry.referral_id == Referral.id,
                                 TimelineEntry.to_state == ReferralState.PENDING_APPROVAL.value),
                          Referral.created_at),
         referral_queries.for_list(referral_queries.needing(user, "approve")),
         url_for("referrals.board", need="approve")),
        (_l("Sign-offs to approve"), "rectifications.rectification",
         sa.func.coalesce(
             _since(RectificationStep, RectificationStep.rectification_id == Rectification.id,
                    RectificationStep.to_state == RectificationState.SIGN_OFF_PENDING.value),
             Rectification.issued_at),
         visible_rectifications(user).where(
             Rectification.state == RectificationState.SIGN_OFF_PENDING),
         url_for("rectifications.rectifications",
                 state=RectificationState.SIGN_OFF_PENDING.value)),
        (_l("Extension requests to decide"), "referrals.referral",
         sa.func.coalesce(sa.select(sa.func.max(Extension.requested_at)).where(
             Extension.referral_id == Referral.id, Extension.decision.is_(None))
             .scalar_subquery(), Referral.created_at),
         referral_queries.for_list(referral_queries.needing(user, "decide_extension")),
         url_for("referrals.board", need="decide_extension")),
    ]
    rows, totals = [], []
    for label, endpoint, since, query, list_url in queues:
        totals.append((label, count(query), list_url))
        model = query.column_descriptions[0]["entity"]
        found = db.session.execute(query.add_columns(since.label("since"))
                                   .order_by(since, model.id)
                                   .limit(QUEUE_ROWS)).unique()
        rows.extend((when, label, record, url_for(endpoint, public_id=record.public_id))
                    for record, when in found)
    rows.sort(key=lambda row: row[0])
    return render_template("todo/approvals.html", rows=rows, totals=totals,
                           pending=_pending_extensions([r for _, _, r, _ in rows
                                                        if isinstance(r, Referral)]))


def _since(step_model, *where):
    """When the record came to wait: the last step that moved it into the waiting state."""
    return sa.select(sa.func.max(step_model.at)).where(*where).scalar_subquery()


def _pending_extensions(referrals) -> dict[int, Extension]:
    ids = [r.id for r in referrals]
    if not ids:
        return {}
    return {e.referral_id: e for e in db.session.scalars(
        sa.select(Extension).where(Extension.referral_id.in_(ids),
                                   Extension.decision.is_(None)))}
