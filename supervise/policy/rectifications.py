"""Rectification items: the issuing agency sees its items; the audited unit's contact sees its
own unit's items only, and through them only the text issued to it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from supervise import workflow
from supervise.accounts.models import Role
from supervise.extensions import db
from supervise.findings.models import FindingAccess, Share
from supervise.pages import AllowList
from supervise.policy import core
from supervise.policy.core import is_unit_contact, one_or_404, reads_cases, records_findings
from supervise.rectifications.models import Rectification
from supervise.rectifications.workflow import TRANSITIONS as R_TRANSITIONS
from supervise.rectifications.workflow import UNIT_COMMENTS, UNIT_STEPS
from supervise.rectifications.workflow import Party as RParty


def may_issue_rectification(user, finding) -> bool:
    """Only the agency that recorded a finding sends it to its audited unit for rectification."""
    return records_findings(user) and finding.owner_agency_id == user.agency_id


def visible_rectifications_clause(user):
    if reads_cases(user):
        return Rectification.owner_agency_id == user.agency_id
    if is_unit_contact(user):
        return Rectification.unit_id == user.agency_id
    return sa.false()


def visible_rectifications(user) -> sa.Select:
    return sa.select(Rectification).where(visible_rectifications_clause(user))


def rectification_or_404(user, public_id: str, *,
                         for_update: bool = False) -> Rectification:
    return one_or_404(visible_rectifications(user), Rectification, public_id, for_update)


def readable_attachments(user, rectification) -> list:
    """The evidence sent with the item's reports: the issuing agency and the unit read them all."""
    return [a for report in rectification.reports for a in report.attachments]


def attachment_or_404(user, public_id: str, attachment_id: str) -> tuple:
    """An item the user may see and one of its reports' files."""
    rectification = rectification_or_404(user, public_id)
    return rectification, core.attachment_or_404(readable_attachments(user, rectification),
                                                 attachment_id)


def rectification_parties(user, rectification) -> frozenset:
    found = set()
    if reads_cases(user) and rectification.owner_agency_id == user.agency_id:
        found.add(RParty.OWNER)
        if user.has_role(Role.LEADER):
            found.add(RParty.OWNER_LEADER)
    if is_unit_contact(user) and rectification.unit_id == user.agency_id:
        found.add(RParty.UNIT)
    return frozenset(found)


def party_key(rectification) -> tuple:
    """Everything of the item that `rectification_parties` reads (see referrals.party_key)."""
    return (rectification.owner_agency_id, rectification.unit_id)


def rectification_actions(user, rectification) -> list:
    return workflow.available(R_TRANSITIONS, rectification_parties(user, rectification),
                              rectification)


def steps_for(user, rectification) -> list:
    """The item's history as the user may read it: all of it for the issuing agency; for the
    unit, the steps that concern it, with only the comments addressed to it."""
    if not is_unit_contact(user):
        return list(rectification.steps)
    return [step if step.action in UNIT_COMMENTS else core.OtherPartysStep(step)
            for step in rectification.steps if step.action in UNIT_STEPS]


# What an agency a finding is shared with reads of its rectification (巡审联动 follow-up): how far
# it is, never the reports, their evidence or the history.
PROGRESS = {"state": None, "plan": None, "due_at": None, "calendar_complete": None,
            "signed_off_at": None, "amount_recovered": None}


def progress_visible_clause(user):
    """Items whose progress (PROGRESS) the user may read: its own agency's items, and the items
    of findings it reads (owned or shared with it and not withdrawn), as the access table says.
    The table is aliased, so that the clause keeps its meaning in a statement that reads the
    access table itself."""
    if not reads_cases(user):
        return sa.false()
    readers = aliased(FindingAccess)
    return sa.or_(Rectification.owner_agency_id == user.agency_id,
                  sa.exists().where(readers.finding_id == Rectification.finding_id,
                                    readers.agency_id == user.agency_id))


def progress_of_shared(user, finding_ids) -> dict[int, AllowList]:
    """The rectification of each of these findings that is shared with the user's agency (and
    not withdrawn), by finding id, as PROGRESS allows."""
    if not reads_cases(user) or not finding_ids:
        return {}
    shared = sa.select(Share.finding_id).where(Share.agency_id == user.agency_id,
                                               Share.withdrawn_at.is_(None))
    rows = db.session.scalars(sa.select(Rectification).where(
        Rectification.finding_id.in_(list(finding_ids)), Rectification.finding_id.in_(shared)))
    return {r.finding_id: AllowList(r, PROGRESS) for r in rows}
