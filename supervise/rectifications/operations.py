"""Issuing a finding for rectification and moving it to sign-off. Each operation checks the
party, the state and the input, writes the step and the event, and flushes; the caller commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from supervise.accounts.models import User
from supervise.attachments import operations as attachments
from supervise.calendar import deadlines
from supervise.calendar import operations as calendar_operations
from supervise.calendar.deadlines import Unit
from supervise.calendar.models import load_calendar
from supervise.calendar.operations import calendar_changed, running_clocks
from supervise.database import now_utc
from supervise.errors import InvalidInput, OperationError
from supervise.events.log import record_event, record_events
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.money import AmountError, parse_amount
from supervise.notifications.outbox import Audience
from supervise.policy import rectifications as rectification_access
from supervise.rectifications.models import (
    Plan,
    Rectification,
    RectificationReport,
    RectificationState,
    RectificationStep,
)
from supervise.rectifications.workflow import ISSUE, ISSUED, OPEN, TRANSITIONS, Action, Party
from supervise.settings.models import get_setting
from supervise.workflow import RECOUNT, Step, Workflow, flush, text_field, with_steps

S = RectificationState
TEXT_LIMIT = 20000
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
REPORT_CLOCK = ("due_at", "warn_at", "calendar_complete")


def default_days(plan: Plan) -> int:
    return get_setting("rectification_immediate_days" if plan == Plan.IMMEDIATE
                       else "rectification_days")


def default_due(plan: Plan, start) -> deadlines.Deadline:
    return deadlines.add_days(start, default_days(plan), load_calendar())


def issue_rectification(user: User, finding: Finding, plan: Any, due: Any = None
                        ) -> Rectification:
    """Issue an issued finding to its audited unit, with a plan type and a report-by date (the
    default from the settings, or a date the auditor chooses)."""
    if not rectification_access.may_issue_rectification(user, finding):
        raise OperationError(_("You may not do this."), 403)
    if not finding.is_issued:
        raise OperationError(_("Only issued findings can be sent for rectification."), 409)
    if db.session.query(Rectification.id).filter_by(finding_id=finding.id).first():
        raise OperationError(_("This finding has already been issued for rectification."), 409)
    errors = {}
    try:
        plan = Plan(plan)
    except ValueError:
        errors["plan"] = _("Choose a plan: immediate, staged or long-term.")
    now = now_utc()
    cal = load_calendar()
    due_at, complete = None, True
    if due not in (None, ""):
        try:
            if not ISO_DATE.match(str(due)):
                raise ValueError
            day = date.fromisoformat(str(due))
        except ValueError:
            errors["due_at"] = _("Give the date as YYYY-MM-DD.")
        else:
            if day <= deadlines.local_date(now):
                errors["due_at"] = _("The report-by date must be after today.")
            else:
                due_at = deadlines.end_of_day(day)
                complete = cal.knows(day)
    if errors:
        raise InvalidInput(errors)
    due_days = None
    if due_at is None:
        due_days = default_days(plan)
        deadline = deadlines.add_days(now, due_days, cal)
        due_at, complete = deadline.due_at, deadline.complete
    rectification = Rectification(
        finding=finding, unit_id=finding.unit_id, owner_agency_id=finding.owner_agency_id,
        plan=plan, state=S.NOT_STARTED, title=finding.title, facts=finding.facts,
        legal_basis=finding.legal_basis, recommendation=finding.recommendation,
        amount=finding.amount, issued_by=user, issued_at=now, due_at=due_at,
        warn_at=deadlines.warning_start(due_at, get_setting("due_soon_working_days"), cal),
        calendar_complete=complete, due_days=due_days)
    db.session.add(rectification)
    _step_row(rectification, user, ISSUE, None, S.NOT_STARTED, "")
    flush()
    record_event("rectification.issue", actor=user, obj=rectification,
                 details={"finding": finding.public_id, "plan": plan.value,
                          "due": deadlines.local_date(due_at).isoformat()})
    WORKFLOW.tell(user, rectification, ISSUED)
    return rectification


@dataclass
class ActionInput:
    comment: str = ""
    reason: str = ""
    measures: str = ""
    amount_recovered: Any = None
    rules: str = ""
    final: bool = False
    files: tuple = ()


def _report(step: Step) -> None:
    """A progress report: the measures (required), money recovered, rules; a final one puts the
    item up for verification, any other keeps it at work."""
    rectification, data = step.record, step.data
    measures = text_field(data, "measures", step.errors, required=True, limit=TEXT_LIMIT)
    rules = text_field(data, "rules", step.errors, required=False, limit=5000)
    try:
        amount = parse_amount(data.amount_recovered)
    except AmountError as exc:
        step.errors["amount_recovered"] = str(exc)
    if step.errors:
        return
    report = RectificationReport(rectification=rectification, submitted_by=step.user,
                                 submitted_at=step.now, measures=measures, rules=rules,
                                 amount_recovered=amount, final=bool(data.final))
    db.session.add(report)
    if data.final:
        step.target = S.PENDING_VERIFICATION
        rectification.rectified_at = rectification.rectified_at or step.now
    else:
        step.target = _at_work(rectification)
    step.details = {"final": bool(data.final),
                    "amount_recovered": str(amount) if amount is not None else None}
    step.text = step.text or measures
    step.result = report
    files = data.files
    step.after_flush.append(lambda row: attachments.attach_all(
        step.user, files, record=rectification, rectification_report_id=report.id))


def _at_work(rectification: Rectification) -> RectificationState:
    return S.LONG_TERM if rectification.plan == Plan.LONG_TERM else S.IN_PROGRESS


def _send_back(step: Step) -> None:
    step.target = _at_work(step.record)
    step.record.rectified_at = None  # open again: the next final report meets the clock


def _approve_sign_off(step: Step) -> None:
    step.record.signed_off_at, step.record.signed_off_by = step.now, step.user


@running_clocks.connect
def rectification_clocks(_sender) -> list:
    """The report-by dates of the items still open."""
    return [(Rectification.due_at, Rectification.state.in_(OPEN))]


@calendar_changed.connect
def recount_deadlines(user, *, year: int, before, after) -> int:
    """The running items' report-by dates counted again after the calendar of `year` changed:
    the default period in days from the issue; a date the auditor chose stays. A moved date is
    a step of the platform, which the unit reads, and an event."""
    first, last = calendar_operations.year_window(year)
    items = db.session.scalars(
        sa.select(Rectification).where(
            Rectification.state.in_(OPEN), Rectification.due_at >= first,
            sa.or_(Rectification.issued_at <= last, Rectification.warn_at <= last))
        .order_by(Rectification.id).with_for_update()).all()
    events = []
    for item in items:
        moved = calendar_operations.recount_clock(
            item, item.issued_at, REPORT_CLOCK, Unit.DAYS if item.due_days else None,
            before, after, item.due_days)
        if moved:
            db.session.add(RectificationStep(
                rectification=item, action=RECOUNT,
                comment=calendar_operations.recount_text(year, _l("Rectification report"),
                                                         moved)))
            events.append({"action": "rectification.recount", "obj": item,
                           "details": {"year": year, "clock": "report",
                                       "from": moved[0].isoformat(),
                                       "to": moved[1].isoformat()}})
    return record_events(events)


def _step_row(rectification, user, action, before, after, comment, internal=False):
    row = RectificationStep(
        rectification=rectification, action=action, actor=user, agency_id=user.agency_id,
        from_state=before.value if before else None, to_state=after.value if after else None,
        comment=comment)
    db.session.add(row)
    return row


WORKFLOW = Workflow(
    name="rectification",
    transitions=with_steps(TRANSITIONS, {Action.REPORT: _report, Action.SEND_BACK: _send_back,
                                         Action.APPROVE_SIGN_OFF: _approve_sign_off}),
    parties=rectification_access.rectification_parties,
    refuse_state=lambda state, _action: _(
        "This cannot be done while the rectification is: %(state)s.", state=state.label),
    add_step=_step_row,
    notify=Audience(agencies=lambda r: [r.owner_agency_id, r.unit_id],
                    in_charge={Party.OWNER: lambda r: r.issued_by_id},
                    party_key=rectification_access.party_key),
)


def take_action(user: User, rectification: Rectification, action: Action | str,
                data: ActionInput, version: Any = None) -> Step:
    """Run one transition (supervise.workflow); the step's `result` is the report, if any."""
    return WORKFLOW.run(user, rectification, action, data, version)


