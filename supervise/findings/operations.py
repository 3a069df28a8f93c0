"""What can be done to findings. Each operation checks who may do it and in which state,
makes the change, records its event and flushes; the caller commits once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from supervise import policy
from supervise.accounts.models import Agency, AgencyKind, User
from supervise.attachments import operations as attachments
from supervise.attachments.models import Attachment
from supervise.cleaning import clean_input
from supervise.errors import ConflictError, InvalidInput, OperationError, check_version
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings.models import (
    Category,
    Comment,
    Finding,
    FindingLink,
    FindingStatus,
    Handling,
    Sensitivity,
    Share,
)
from supervise.findings.workflow import TRANSITIONS, WRONG_STATE, Action, Party
from supervise.money import AmountError, parse_amount
from supervise.notifications.models import Kind
from supervise.notifications.outbox import Audience
from supervise.policy import findings as finding_access
from supervise.policy import projects as project_access
from supervise.policy.findings import FindingAction
from supervise.projects.models import Project
from supervise.workflow import Notice, Step, Workflow, with_steps

TEXT_LIMITS = {"title": 200, "facts": 20000, "legal_basis": 5000, "recommendation": 5000}
REQUIRED = ("unit", "title", "facts", "category")
FIELDS = ("unit", "project", "title", "facts", "category", "amount", "legal_basis",
          "recommendation", "sensitivity")
NOTE_LIMIT = 1000
COMMENT_LIMIT = 4000


def _refuse(message: str | None = None):
    raise OperationError(message or _("You may not do this."), 403)


def _require(user: User, action: FindingAction, finding: Finding) -> None:
    if not finding_access.can_act_on_finding(user, action, finding):
        _refuse()


def clean_finding_input(user: User, data: dict, *, partial: bool) -> dict:
    """Raw input from a form or JSON into model values, or InvalidInput naming every field that
    does not pass (supervise.cleaning). With `partial`, absent fields are left alone."""
    return clean_input(data, fields=FIELDS, required=REQUIRED, text_limits=TEXT_LIMITS,
                       partial=partial, clean=lambda *args: _clean_field(user, *args))


def _clean_field(user: User, field: str, raw: Any, values: dict, errors: dict) -> None:
    if field == "unit":
        unit = db.session.scalar(sa.select(Agency).where(
            Agency.code == str(raw or ""), Agency.kind == AgencyKind.AUDITED_UNIT,
            Agency.active.is_(True)))
        if unit is None:
            errors[field] = _("Unknown audited unit.")
        else:
            values["unit"] = unit
    elif field == "project":
        project = None if raw in (None, "") else db.session.scalar(
            project_access.visible_projects(user).where(Project.public_id == str(raw)))
        if project is None and raw not in (None, ""):
            errors[field] = _("Unknown project.")
        else:
            values["project"] = project
    elif field == "category":
        category = db.session.scalar(sa.select(Category).where(
            Category.code == str(raw or ""), Category.active.is_(True)))
        if category is None:
            errors[field] = _("Unknown category.")
        else:
            values["category"] = category
    elif field == "amount":
        try:
            values["amount"] = parse_amount(raw)
        except AmountError as exc:
            errors[field] = str(exc)
    elif field == "sensitivity":
        try:
            values["sensitivity"] = Sensitivity(raw or Sensitivity.NORMAL)
        except ValueError:
            errors[field] = _("Unknown sensitivity.")


def create_finding(user: User, data: dict) -> Finding:
    if not policy.records_findings(user):
        _refuse(_("Your agency does not record findings."))
    values = clean_finding_input(user, data, partial=False)
    finding = Finding(owner_agency_id=user.agency_id, created_by=user,
                      status=FindingStatus.DRAFT, **values)
    db.session.add(finding)
    db.session.flush()
    record_event("finding.create", actor=user, obj=finding)
    return finding


def update_finding(user: User, finding: Finding, data: dict, version: Any) -> list[str]:
    """Change the given fields if the finding is still at `version`; returns the changed ones."""
    _require(user, FindingAction.EDIT, finding)
    check_version(finding, version, required=True)
    values = clean_finding_input(user, data, partial=True)
    changed = sorted(field for field, value in values.items() if getattr(finding, field) != value)
    if not changed:
        return []
    for field in changed:
        setattr(finding, field, values[field])
    try:
        db.session.flush()
    except StaleDataError:
        raise ConflictError() from None
    record_event("finding.update", actor=user, obj=finding,
                 details={"fields": changed, "after_issue": finding.is_issued})
    return changed


# --- the finding's life, on the workflow engine ----------------------------------------------


@dataclass
class StepInput:
    reason: Any = ""  # why a leader sends it back
    agency: Any = None  # agency code, to share with
    note: Any = ""
    handling: Any = None
    share: Share | None = None  # the share to withdraw


def _submit(step: Step) -> None:
    step.record.submitted_at, step.record.submitted_by = step.now, step.user
    step.record.sent_back_reason = ""


def _send_back(step: Step) -> None:
    step.record.sent_back_reason = step.text  # shown on the draft until it is submitted again


def _issue(step: Step) -> None:
    step.record.issued_at = step.now
    step.record.issued_by = step.user
    step.record.sent_back_reason = ""


def _share(step: Step) -> None:
    finding, data = step.record, step.data
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == str(data.agency or ""),
                                                       Agency.active.is_(True)))
    if agency is None:
        step.errors["agency"] = _("Unknown agency.")
    elif agency.id == finding.owner_agency_id:
        step.errors["agency"] = _("A finding cannot be shared with its own agency.")
    elif agency.kind == AgencyKind.AUDITED_UNIT:
        step.errors["agency"] = _("Findings are not shared with audited units; issue them for "
                                  "rectification instead.")
    note = "" if data.note is None else data.note
    if not isinstance(note, str) or len(note.strip()) > NOTE_LIMIT:
        step.errors["note"] = _("Too long: at most %(n)d characters.", n=NOTE_LIMIT)
    try:
        handling = Handling(data.handling)
    except ValueError:
        step.errors["handling"] = _("Choose how the recipient may use it.")
    if step.errors:
        return
    if any(s.agency_id == agency.id and s.active for s in finding.shares):
        raise OperationError(_("This finding is already shared with %(agency)s.",
                               agency=agency.name), 409)
    share = Share(finding=finding, agency=agency, note=note.strip(), handling=handling,
                  shared_by=step.user)
    db.session.add(share)
    db.session.flush()
    step.details = {"share": share.public_id, "agency": agency.code,
                    "handling": handling.value}
    step.result = share
    step.notices.append(Notice(Kind.FINDING_SHARED, Party.RECIPIENT, agency.id))


def _withdraw_share(step: Step) -> None:
    share = step.data.share
    if not share.active:
        raise OperationError(_("This share has already been withdrawn."), 409)
    share.withdrawn_at = step.now
    share.withdrawn_by = step.user
    step.details = {"share": share.public_id, "agency": share.agency.code}


WORKFLOW = Workflow(
    name="finding",
    transitions=with_steps(TRANSITIONS, {
        Action.SUBMIT: _submit, Action.SEND_BACK: _send_back, Action.ISSUE: _issue,
        Action.SHARE: _share, Action.WITHDRAW_SHARE: _withdraw_share}),
    parties=finding_access.finding_parties,
    refuse_state=lambda state, action: WRONG_STATE[action],
    texts=("reason",),
    notify=Audience(agencies=lambda f: [f.owner_agency_id],
                    in_charge={Party.OWNER: lambda f: f.created_by_id}),
)


def submit_finding(user: User, finding: Finding, version: Any = None) -> None:
    """A draft goes to the agency's leaders for issue (报领导签发)."""
    WORKFLOW.run(user, finding, Action.SUBMIT, StepInput(), version)


def send_back_finding(user: User, finding: Finding, reason: Any, version: Any = None) -> None:
    WORKFLOW.run(user, finding, Action.SEND_BACK, StepInput(reason=reason), version)


def issue_finding(user: User, finding: Finding, version: Any = None) -> None:
    WORKFLOW.run(user, finding, Action.ISSUE, StepInput(), version)


def share_finding(user: User, finding: Finding, agency_code: Any, note: Any,
                  handling: Any) -> Share:
    return WORKFLOW.run(user, finding, Action.SHARE,
                        StepInput(agency=agency_code, note=note, handling=handling)).result


def withdraw_share(user: User, share: Share) -> None:
    WORKFLOW.run(user, share.finding, Action.WITHDRAW_SHARE, StepInput(share=share))


def add_comment(user: User, finding: Finding, body: Any, thread_agency_code: Any = None) -> Comment:
    """A message in the thread between the owner and one recipient. The recipient writes in its
    own thread; the owner names the recipient whose thread it answers."""
    _require(user, FindingAction.COMMENT, finding)
    if finding_access.owns_finding(user, finding):
        share = next((s for s in finding.shares
                      if s.active and s.agency.code == thread_agency_code), None)
        if share is None:
            raise InvalidInput({"thread": _("Choose an agency this finding is shared with.")})
        thread_agency_id = share.agency_id
    else:
        thread_agency_id = user.agency_id
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput({"body": _("Write a comment.")})
    if len(body.strip()) > COMMENT_LIMIT:
        raise InvalidInput({"body": _("Too long: at most %(n)d characters.", n=COMMENT_LIMIT)})
    comment = Comment(finding_id=finding.id, thread_agency_id=thread_agency_id, author=user,
                      body=body.strip())
    db.session.add(comment)
    db.session.flush()
    record_event("finding.comment", actor=user, obj=finding,
                 details={"comment": comment.id})
    return comment


def link_finding(user: User, finding: Finding, related_public_id: Any) -> FindingLink:
    """Link one of the user's agency's own findings to a finding the user can see."""
    _require(user, FindingAction.LINK, finding)
    related = db.session.scalar(sa.select(Finding).where(
        Finding.public_id == str(related_public_id or ""),
        Finding.owner_agency_id == user.agency_id))
    if related is None:
        raise InvalidInput({"related": _("Choose one of your agency's findings.")})
    if related.id == finding.id:
        raise InvalidInput({"related": _("A finding cannot be related to itself.")})
    exists = db.session.scalar(sa.select(FindingLink.id).where(
        sa.or_(sa.and_(FindingLink.finding_id == finding.id, FindingLink.related_id == related.id),
               sa.and_(FindingLink.finding_id == related.id,
                       FindingLink.related_id == finding.id))))
    if exists:
        raise OperationError(_("These findings are already linked."), 409)
    link = FindingLink(finding=finding, related=related, created_by=user)
    db.session.add(link)
    db.session.flush()
    record_event("finding.link", actor=user, obj=finding,
                 details={"related": related.public_id})
    return link


def unlink_finding(user: User, link: FindingLink) -> None:
    if not finding_access.owns_finding(user, link.related):
        _refuse()
    record_event("finding.unlink", actor=user, obj=link.finding,
                 details={"related": link.related.public_id})
    db.session.delete(link)
    db.session.flush()


def add_attachment(user: User, finding: Finding, upload) -> Attachment:
    """Store an evidence file for a finding. `upload` is a werkzeug FileStorage."""
    _require(user, FindingAction.UPLOAD, finding)
    return attachments.attach(user, upload, record=finding, finding_id=finding.id)


def open_finding(user: User, public_id: str) -> Finding:
    """A finding the user may see, opened: reading a sensitive one is itself an event (the
    caller commits)."""
    finding = finding_access.finding_or_404(user, public_id)
    if finding.sensitivity == Sensitivity.SENSITIVE:
        record_event("finding.read", actor=user, obj=finding)
    return finding
