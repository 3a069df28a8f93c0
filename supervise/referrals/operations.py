"""What can be done to referrals. `create_referral` and `update_referral` handle the content;
`take_action` runs one transition of the workflow table: it checks the party, the state and the
version, applies the action's effect, writes the timeline entry and the event, and flushes. The
caller has loaded the referral FOR UPDATE and commits once.

Persons involved never reach an event, a log line or an error message from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from supervise import policy
from supervise.accounts.models import Agency, AgencyKind, Role, User
from supervise.attachments import operations as attachments
from supervise.attachments.models import Attachment
from supervise.calendar import deadlines
from supervise.calendar import operations as calendar_operations
from supervise.calendar.deadlines import Unit
from supervise.calendar.models import load_calendar
from supervise.calendar.operations import calendar_changed, running_clocks
from supervise.cleaning import clean_input, name_key
from supervise.errors import InvalidInput, OperationError, check_version
from supervise.events.log import record_event, record_events
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.notifications.models import Reminder
from supervise.notifications.outbox import Audience
from supervise.pagination import count
from supervise.policy import findings as finding_access
from supervise.policy import referrals as referral_access
from supervise.referrals import queries
from supervise.referrals.models import (
    CitedFinding,
    Extension,
    ExtensionDecision,
    PersonInvolved,
    Referral,
    ReferralKind,
    ReferralState,
    TimelineEntry,
    dispositions_for,
)
from supervise.referrals.workflow import CHASEABLE, EDITABLE, TRANSITIONS, Action, Party
from supervise.settings.models import get_setting
from supervise.workflow import RECOUNT, Step, Workflow, flush, text_field, with_steps

TEXT_LIMITS = {"title": 200, "audit_scope": 5000, "facts": 20000, "classification": 5000,
               "opinion": 5000, "basis": 5000, "feedback_request": 2000}
REQUIRED = ("receiver", "kind", "title", "facts")
FIELDS = ("receiver", "kind", *TEXT_LIMITS, "persons_involved", "findings")
COMMENT_LIMIT = 4000
RESULT_LIMIT = 20000
MAX_PERSONS = 50

DEFAULT_FEEDBACK_REQUEST = "请于办结后将处理结果书面反馈我单位。"


# --- content --------------------------------------------------------------------------------

def _clean_persons(raw, errors: dict) -> list[dict] | None:
    if not isinstance(raw, list) or len(raw) > MAX_PERSONS:
        errors["persons_involved"] = _("Give a list of at most %(n)d persons, each with a name "
                                       "and a position.", n=MAX_PERSONS)
        return None
    persons = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"name", "position"}:
            errors["persons_involved"] = _("Each person has a name and a position.")
            return None
        name, title = item.get("name"), item.get("position") or ""
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 50 \
                or not isinstance(title, str) or len(title.strip()) > 100:
            errors["persons_involved"] = _("Each person needs a name of at most 50 characters "
                                           "and a position of at most 100.")
            return None
        persons.append({"name": name.strip(), "position": title.strip()})
    return persons


def clean_referral_input(user: User, data: dict, *, partial: bool) -> dict:
    """Raw input from a form or JSON into model values, or InvalidInput naming each field that
    does not pass. The messages never repeat what was entered."""
    return clean_input(data, fields=FIELDS, required=REQUIRED, text_limits=TEXT_LIMITS,
                       partial=partial, clean=lambda *args: _clean_field(user, *args))


def _clean_field(user: User, field: str, raw: Any, values: dict, errors: dict) -> None:
    if field == "receiver":
        agency = db.session.scalar(sa.select(Agency).where(
            Agency.code == str(raw or ""), Agency.active.is_(True)))
        if agency is None:
            errors[field] = _("Unknown agency.")
        elif agency.kind == AgencyKind.AUDITED_UNIT:
            errors[field] = _("Referrals are never sent to audited units.")
        elif agency.id == user.agency_id:
            errors[field] = _("A referral goes to another agency.")
        else:
            values["receiver_agency"] = agency
    elif field == "kind":
        try:
            values["kind"] = ReferralKind(raw)
        except ValueError:
            errors[field] = _("Choose the kind of referral.")
    elif field == "persons_involved":
        persons = _clean_persons(raw, errors)
        if persons is not None:
            values["persons"] = persons
    elif field == "findings":
        ids = raw if isinstance(raw, list) else None
        if ids is None or not all(isinstance(i, str) for i in ids):
            errors[field] = _("Give a list of finding ids.")
            return
        found = list(db.session.scalars(sa.select(Finding).where(
            Finding.public_id.in_(set(ids)), finding_access.referrable_findings_clause(user))))
        if len(found) != len(set(ids)):
            errors[field] = _("Only your agency's issued findings, or findings shared with "
                              "it as may be referred, can be cited.")
        else:
            values["findings"] = found


def _apply(referral: Referral, values: dict) -> list[str]:
    changed = []
    for field, value in values.items():
        if field == "persons":
            current = [{"name": p.name, "position": p.title} for p in referral.persons]
            if current != value:
                referral.persons = [PersonInvolved(name=p["name"], title=p["position"],
                                                   position=i) for i, p in enumerate(value)]
                changed.append("persons_involved")
        elif field == "findings":
            if {f.id for f in referral.findings} != {f.id for f in value}:
                referral.findings = value
                changed.append("findings")
        elif getattr(referral, field) != value:
            setattr(referral, field, value)
            changed.append("receiver" if field == "receiver_agency" else field)
    return sorted(changed)


def create_referral(user: User, data: dict) -> Referral:
    if not policy.records_findings(user):
        raise OperationError(_("Your agency does not send referrals."), 403)
    values = clean_referral_input(user, data, partial=False)
    referral = Referral(sender_agency_id=user.agency_id, created_by=user,
                        state=ReferralState.DRAFT, feedback_request=DEFAULT_FEEDBACK_REQUEST)
    _apply(referral, values)
    db.session.add(referral)
    db.session.flush()
    _timeline(referral, user, "create", None, ReferralState.DRAFT, "")
    record_event("referral.create", actor=user, obj=referral,
                 details={"receiver": referral.receiver_agency.code,
                          "kind": referral.kind.value,
                          "findings": [f.public_id for f in referral.findings]})
    return referral


def _check_editable(user: User, referral: Referral) -> None:
    """Only the sender changes a referral, and only a draft that was never sent: what was sent
    stays as the receiver received it."""
    if Party.SENDER not in referral_access.parties(user, referral):
        raise OperationError(_("You may not do this."), 403)
    if referral.state == ReferralState.RETURNED:
        raise OperationError(_("A returned referral stays as it was sent. Revise it as a new "
                               "draft, which your leader approves again."), 409)
    if referral.state not in EDITABLE or referral.first_sent_at is not None:
        raise OperationError(_("A referral can be changed only as a draft that was never sent; "
                               "it is now: %(state)s.", state=referral.state.label), 409)


def update_referral(user: User, referral: Referral, data: dict, version: Any) -> list[str]:
    _check_editable(user, referral)
    check_version(referral, version)
    values = clean_referral_input(user, data, partial=True)
    with db.session.no_autoflush:  # one UPDATE, so the version moves on by exactly one
        changed = _apply(referral, values)
    if changed:
        # Persons and findings live in other tables: touch the row so its version moves on
        # and a second editor holding the old version gets a conflict.
        flag_modified(referral, "title")
        flush()
        record_event("referral.update", actor=user, obj=referral, details={"fields": changed})
    return changed


def add_attachment(user: User, referral: Referral, upload) -> Attachment:
    """Evidence for the referral: the sender's, while it can still change the content."""
    _check_editable(user, referral)
    return attachments.attach(user, upload, record=referral, referral_id=referral.id)


def find_by_person(user: User, name: Any) -> tuple[sa.Select, int]:
    """The referrals the user may see that name a person involved (queries.naming_clause),
    and how many. Looking a person up is recorded, with the number found, never the name."""
    if not isinstance(name, str) or not name_key(name) or len(name.strip()) > 50:
        raise InvalidInput({"name": _("Give a name of at most 50 characters.")})
    query = referral_access.visible_referrals(user).where(queries.naming_clause(name))
    found = count(query)
    record_event("referral.person_lookup", actor=user, details={"found": found})
    return query, found


def open_referral(user: User, public_id: str) -> Referral:
    """A referral the user may see, opened: every opening is a reading of a sensitive record,
    recorded (the caller commits)."""
    referral = referral_access.referral_or_404(user, public_id)
    record_event("referral.read", actor=user, obj=referral)
    return referral


# --- the workflow ---------------------------------------------------------------------------
# Each step of the table (referrals.workflow) as a small function; the engine
# (supervise.workflow) checks party, state, version, guard and texts before it runs.

@dataclass
class ActionInput:
    comment: str = ""
    reason: str = ""
    handler: str = ""  # user name
    disposition: str = ""
    result: str = ""
    until: str = ""  # ISO date, for an extension
    extension: str = ""  # extension id, for a decision
    decision: str = ""  # "approve" | "refuse"
    files: tuple = ()


def _timeline(referral, user, action, from_state, to_state, comment, internal=False):
    entry = TimelineEntry(referral=referral, action=action, actor=user,
                          agency_id=user.agency_id, comment=comment, internal=internal,
                          from_state=from_state.value if from_state else None,
                          to_state=to_state.value if to_state else None)
    db.session.add(entry)
    return entry


def start_clocks(referral: Referral, now: datetime) -> None:
    """Fix both deadlines from the moment of sending, with the settings and calendar of now."""
    cal = load_calendar()
    warn_days = get_setting("due_soon_working_days")
    ack = deadlines.add_working_days(now, get_setting("acknowledge_working_days"), cal)
    answer = deadlines.add_months(now, get_setting("answer_months"), cal)
    limit = deadlines.add_months(now, max(get_setting("answer_max_months"),
                                          get_setting("answer_months")), cal)
    referral.acknowledge_by = ack.due_at
    referral.acknowledge_warn_at = deadlines.warning_start(ack.due_at, warn_days, cal)
    referral.answer_by = answer.due_at
    referral.answer_warn_at = deadlines.warning_start(answer.due_at, warn_days, cal)
    referral.answer_limit = limit.due_at
    referral.acknowledge_calendar_complete = ack.complete
    referral.answer_calendar_complete = answer.complete


ACKNOWLEDGE_CLOCK = ("acknowledge_by", "acknowledge_warn_at", "acknowledge_calendar_complete")
ANSWER_CLOCK = ("answer_by", "answer_warn_at", "answer_calendar_complete")


@running_clocks.connect
def referral_clocks(_sender) -> list:
    """The referrals' deadlines that run: acknowledging while sent, answering until answered
    (as the reminders count them)."""
    return [(Referral.acknowledge_by, Referral.state == ReferralState.SENT),
            (Referral.answer_by, Referral.state.in_(CHASEABLE))]


@calendar_changed.connect
def recount_deadlines(user, *, year: int, before, after) -> int:
    """The running clocks counted again after the calendar of `year` changed: the same number
    of working days or months from the sending, a date an approved extension set staying as
    it is. A moved deadline is a step of the platform in the timeline, which both parties
    read, and an event."""
    first, last = calendar_operations.year_window(year)
    referrals = db.session.scalars(
        sa.select(Referral).where(
            Referral.state.in_(CHASEABLE), Referral.answer_limit >= first,
            sa.or_(Referral.sent_at <= last, Referral.acknowledge_warn_at <= last,
                   Referral.answer_warn_at <= last))
        .options(selectinload(Referral.extensions))
        .order_by(Referral.id).with_for_update()).all()
    events = []
    for referral in referrals:
        moves = []
        if referral.state == ReferralState.SENT:
            moves.append(("acknowledge", _l("Acknowledgement"), calendar_operations.recount_clock(
                referral, referral.sent_at, ACKNOWLEDGE_CLOCK, Unit.WORKING_DAYS, before,
                after)))
        extended = any(e.decision == ExtensionDecision.APPROVED
                       and e.requested_answer_by == referral.answer_by
                       for e in referral.extensions)
        moves.append(("answer", _l("Answer"), calendar_operations.recount_clock(
            referral, referral.sent_at, ANSWER_CLOCK, None if extended else Unit.MONTHS,
            before, after)))
        referral.answer_limit = deadlines.recount(referral.sent_at, referral.answer_limit,
                                                  Unit.MONTHS, before, after).due_at
        for clock, label, moved in moves:
            if moved:
                db.session.add(TimelineEntry(
                    referral=referral, action=RECOUNT,
                    comment=calendar_operations.recount_text(year, label, moved)))
                events.append({"action": "referral.recount", "obj": referral,
                               "details": {"year": year, "clock": clock,
                                           "from": moved[0].isoformat(),
                                           "to": moved[1].isoformat()}})
    return record_events(events)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _approve(step: Step) -> None:
    """Sent: both clocks start now; whatever an earlier sending left is cleared."""
    referral = step.record
    referral.sent_at = step.now
    referral.first_sent_at = referral.first_sent_at or step.now
    referral.acknowledged_at = referral.answered_at = referral.closed_at = None
    referral.handler = None
    referral.disposition, referral.result = None, ""
    start_clocks(referral, step.now)
    if not referral.cited:
        _copy_cited_findings(step)


def _copy_cited_findings(step: Step) -> None:
    """What the receiver reads of the cited findings: their text and evidence as sent, copied
    now, so that a later edit of a finding does not change what was sent."""
    referral = step.record
    cited = referral.cited = [CitedFinding.copy_of(finding, i)
                              for i, finding in enumerate(referral.findings)]

    def copy_evidence(_entry):
        for copy in cited:
            for attachment in copy.finding.attachments:
                attachments.copy(step.user, attachment, record=referral,
                                 referral_id=referral.id, cited_finding_id=copy.id)

    step.after_flush.append(copy_evidence)


def _acknowledge(step: Step) -> None:
    step.record.acknowledged_at = step.now


def _assign(step: Step) -> None:
    referral = step.record
    handler = db.session.scalar(sa.select(User).where(
        User.username == str(step.data.handler or "").strip().lower(),
        User.agency_id == referral.receiver_agency_id, User.active.is_(True)))
    if handler is None or not (handler.roles & {Role.STAFF, Role.LEADER}):
        step.errors["handler"] = _("Choose a staff member of your agency.")
        return
    referral.handler = handler
    step.details["handler"] = handler.username


def _answer(step: Step) -> None:
    referral = step.record
    disposition = next((d for d in dispositions_for(referral.receiver_agency.kind)
                        if d.value == step.data.disposition), None)
    if disposition is None:
        step.errors["disposition"] = _("Choose a disposition.")
    result = text_field(step.data, "result", step.errors, required=True, limit=RESULT_LIMIT)
    if step.errors:
        return
    referral.answered_at = step.now
    referral.disposition, referral.result = disposition, result
    step.details["disposition"] = disposition.value
    files = step.data.files
    step.after_flush.append(lambda entry: attachments.attach_all(
        step.user, files, record=referral, referral_id=referral.id,
        timeline_entry_id=entry.id))


def _close(step: Step) -> None:
    step.record.closed_at = step.now


def _reopen(step: Step) -> None:
    referral = step.record
    referral.answered_at = None
    referral.disposition, referral.result = None, ""


def _request_extension(step: Step) -> None:
    referral = step.record
    until = _parse_day(step.data.until)
    if until is None:
        step.errors["until"] = _("Give the new date as YYYY-MM-DD.")
    else:
        current = deadlines.local_date(referral.answer_by)
        limit = deadlines.local_date(referral.answer_limit)
        if until <= current:
            step.errors["until"] = _("The new date must be after the current answer-by date, "
                                     "%(date)s.", date=current.isoformat())
        elif until > limit:
            step.errors["until"] = _("Extensions may not go beyond %(date)s.",
                                     date=limit.isoformat())
    if step.errors:
        return
    reason = step.text
    db.session.add(Extension(referral=referral, requested_by=step.user, reason=reason,
                             previous_answer_by=referral.answer_by,
                             requested_answer_by=deadlines.end_of_day(until)))
    step.details["until"] = until.isoformat()
    step.text = _("Extension to %(date)s requested: %(reason)s", date=until.isoformat(),
                  reason=reason)


def _decide_extension(step: Step) -> None:
    referral = step.record
    extension = next((e for e in referral.extensions
                      if e.public_id == step.data.extension and e.decision is None), None)
    if extension is None:
        raise OperationError(_("No such extension request is waiting for a decision."), 404)
    if step.data.decision not in ("approve", "refuse"):
        step.errors["decision"] = _("Approve or refuse.")
    if step.errors:
        return
    approved = step.data.decision == "approve"
    comment = step.text
    extension.decision = ExtensionDecision.APPROVED if approved else ExtensionDecision.REFUSED
    extension.decided_by, extension.decided_at = step.user, step.now
    extension.decision_comment = comment
    new_date = deadlines.local_date(extension.requested_answer_by).isoformat()
    if approved:
        referral.answer_by = extension.requested_answer_by
        referral.answer_warn_at = deadlines.warning_start(
            referral.answer_by, get_setting("due_soon_working_days"), load_calendar())
        # A new deadline: its reminders and the escalation ladder start again.
        db.session.execute(sa.delete(Reminder).where(
            Reminder.subject_type == "referral", Reminder.subject_id == referral.id,
            Reminder.clock == "answer"))
        text = _("Extension to %(date)s approved.", date=new_date)
    else:
        text = _("Extension to %(date)s refused.", date=new_date)
    step.text = f"{text} {comment}" if comment else text
    step.details.update(extension=extension.public_id, decision=extension.decision.value)


def _revise(step: Step) -> None:
    """A new draft with the content of a returned referral: its receiver, persons, facts and
    evidence, and the findings the sender may still cite. The returned referral stays as it was
    sent, for its receiver to read; the draft is seen outside the sending agency only once a
    leader approves it and it is sent."""
    user, referral = step.user, step.record
    revision = Referral(
        sender_agency_id=referral.sender_agency_id, receiver_agency=referral.receiver_agency,
        kind=referral.kind, created_by=user, state=ReferralState.DRAFT, previous=referral,
        **{field: getattr(referral, field) for field in TEXT_LIMITS},
        persons=[PersonInvolved(name=p.name, title=p.title, position=p.position)
                 for p in referral.persons],
        findings=list(db.session.scalars(sa.select(Finding).where(
            Finding.id.in_([f.id for f in referral.findings]),
            finding_access.referrable_findings_clause(user)))))
    db.session.add(revision)
    db.session.flush()
    for attachment in referral.attachments:
        attachments.copy(user, attachment, record=revision, referral_id=revision.id)
    _timeline(revision, user, "create", None, ReferralState.DRAFT,
              _("Revised from a referral that was returned."))
    record_event("referral.create", actor=user, obj=revision,
                 details={"receiver": revision.receiver_agency.code,
                          "kind": revision.kind.value, "previous": referral.public_id,
                          "findings": [f.public_id for f in revision.findings]})
    step.details["revision"] = revision.public_id
    step.text = _("Revised as a new draft.")
    step.result = revision


WORKFLOW = Workflow(
    name="referral",
    transitions=with_steps(TRANSITIONS, {
        Action.APPROVE: _approve, Action.ACKNOWLEDGE: _acknowledge, Action.ASSIGN: _assign,
        Action.ANSWER: _answer, Action.CLOSE: _close, Action.REOPEN: _reopen,
        Action.REQUEST_EXTENSION: _request_extension,
        Action.DECIDE_EXTENSION: _decide_extension, Action.REVISE: _revise}),
    parties=referral_access.parties,
    refuse_state=lambda state, _action: _(
        "This cannot be done while the referral is: %(state)s.", state=state.label),
    add_step=_timeline,
    notify=Audience(agencies=lambda r: [r.sender_agency_id, r.receiver_agency_id],
                    in_charge={Party.SENDER: lambda r: r.created_by_id,
                               Party.RECEIVER: lambda r: r.handler_id},
                    party_key=referral_access.party_key),
)


def take_action(user: User, referral: Referral, action: Action | str, data: ActionInput,
                version: Any = None) -> Step:
    """Run one transition (supervise.workflow): 404 for an unknown step, 403 for the wrong
    party, 409 for the wrong state or a stale version, 422 for missing or bad input; nothing
    changes unless everything holds. The caller has loaded the referral FOR UPDATE."""
    return WORKFLOW.run(user, referral, action, data, version)
