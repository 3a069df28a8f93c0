"""Issuing a finding for rectification and moving it to sign-off. Each operation checks the
party, the state and the input, writes the step and the event, and flushes; the caller commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from supervise import policy
from supervise.accounts.models import User
from supervise.attachments import operations as attachments
from supervise.attachments.models import Attachment
from supervise.calendar import deadlines
from supervise.calendar.models import load_calendar
from supervise.database import now_utc
from supervise.errors import ConflictError, InvalidInput, OperationError, check_version
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.money import AmountError, parse_amount
from supervise.rectifications.models import (
    Plan,
    Rectification,
    RectificationReport,
    RectificationState,
    RectificationStep,
)
from supervise.rectifications.workflow import TRANSITIONS, Action
from supervise.settings.models import get_setting

S = RectificationState
TEXT_LIMIT = 20000
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _step(rectification, user, action, before, after, comment=""):
    db.session.add(RectificationStep(
        rectification=rectification, action=action, actor=user, agency_id=user.agency_id,
        from_state=before.value if before else None, to_state=after.value if after else None,
        comment=comment))


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise ConflictError() from None


def default_due(plan: Plan, start) -> deadlines.Deadline:
    days = get_setting("rectification_immediate_days" if plan == Plan.IMMEDIATE
                       else "rectification_days")
    return deadlines.add_days(start, days, load_calendar())


def issue_rectification(user: User, finding: Finding, plan: Any, due: Any = None
                        ) -> Rectification:
    """Issue an issued finding to its audited unit, with a plan type and a report-by date (the
    default from the settings, or a date the auditor chooses)."""
    if not policy.owns_finding(user, finding) or not policy.records_findings(user):
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
    if due_at is None:
        deadline = default_due(plan, now)
        due_at, complete = deadline.due_at, deadline.complete
    rectification = Rectification(
        finding=finding, unit_id=finding.unit_id, owner_agency_id=finding.owner_agency_id,
        plan=plan, state=S.NOT_STARTED, title=finding.title, facts=finding.facts,
        legal_basis=finding.legal_basis, recommendation=finding.recommendation,
        amount=finding.amount, issued_by=user, issued_at=now, due_at=due_at,
        warn_at=deadlines.warning_start(due_at, get_setting("due_soon_working_days"), cal),
        calendar_complete=complete)
    db.session.add(rectification)
    _step(rectification, user, "issue", None, S.NOT_STARTED)
    _flush()
    record_event("rectification.issue", actor=user, obj=rectification,
                 details={"finding": finding.public_id, "plan": plan.value,
                          "due": deadlines.local_date(due_at).isoformat()})
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


def _text(value, limit=TEXT_LIMIT) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        return None
    return value.strip()


def take_action(user: User, rectification: Rectification, action: Action | str,
                data: ActionInput, version: Any = None) -> RectificationStep | None:
    try:
        action = Action(action)
    except ValueError:
        raise OperationError(_("Unknown action."), 404) from None
    transition = TRANSITIONS[action]
    if transition.party not in policy.rectification_parties(user, rectification):
        raise OperationError(_("You may not do this."), 403)
    if rectification.state not in transition.sources:
        raise OperationError(_("This cannot be done while the rectification is: %(state)s.",
                               state=rectification.state.label), 409)
    check_version(rectification, version)

    errors: dict[str, str] = {}
    comment, reason = _text(data.comment, 4000), _text(data.reason, 4000)
    if comment is None:
        errors["comment"] = _("Too long: at most %(n)d characters.", n=4000)
    if reason is None:
        errors["reason"] = _("Too long: at most %(n)d characters.", n=4000)
    if "reason" in transition.needs and not reason and "reason" not in errors:
        errors["reason"] = _("Give a reason.")
    if "comment" in transition.needs and not comment and "comment" not in errors:
        errors["comment"] = _("Write a message.")
    report = None
    if action == Action.REPORT:
        measures, rules = _text(data.measures), _text(data.rules, 5000)
        if measures is None:
            errors["measures"] = _("Too long: at most %(n)d characters.", n=TEXT_LIMIT)
        elif not measures:
            errors["measures"] = _("Describe the measures taken.")
        if rules is None:
            errors["rules"] = _("Too long: at most %(n)d characters.", n=5000)
        try:
            amount = parse_amount(data.amount_recovered)
        except AmountError as exc:
            errors["amount_recovered"] = str(exc)
    if errors:
        raise InvalidInput(errors)

    before = rectification.state
    now = now_utc()
    after = transition.target
    details: dict[str, Any] = {}
    if action == Action.REPORT:
        report = RectificationReport(rectification=rectification, submitted_by=user,
                                     submitted_at=now, measures=measures, rules=rules,
                                     amount_recovered=amount, final=bool(data.final))
        db.session.add(report)
        if data.final:
            after = S.PENDING_VERIFICATION
            rectification.rectified_at = rectification.rectified_at or now
        else:
            after = S.LONG_TERM if rectification.plan == Plan.LONG_TERM else S.IN_PROGRESS
        details = {"final": bool(data.final),
                   "amount_recovered": str(amount) if amount is not None else None}
    elif action == Action.SEND_BACK:
        after = S.LONG_TERM if rectification.plan == Plan.LONG_TERM else S.IN_PROGRESS
        rectification.rectified_at = None  # open again: the next final report meets the clock
    elif action == Action.APPROVE_SIGN_OFF:
        rectification.signed_off_at, rectification.signed_off_by = now, user
    if after is not None:
        rectification.state = after
    _step(rectification, user, action.value, before, after, reason or comment or
          (report.measures if report else ""))
    _flush()
    if report is not None:
        attachments.attach_all(user, data.files, record=rectification,
                               rectification_report_id=report.id)
    if after is not None and after != before:
        details.update({"from": before.value, "to": after.value})
    record_event(f"rectification.{action.value}", actor=user, obj=rectification,
                 details=details)
    return report


def record_download(user: User, rectification: Rectification, attachment: Attachment) -> None:
    attachments.record_download(user, rectification, attachment)


