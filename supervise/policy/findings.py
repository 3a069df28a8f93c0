"""Which findings and projects a user may see, and what the user may do to them: SQL conditions
and lookups that answer 404 for a record out of reach. Projects are internal to the agency that
leads them; a finding is its owning agency's, and read-only for the agencies it is shared with
(never the audited unit's contact: rectification carries the text issued to the unit)."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import selectinload

from supervise.accounts.models import Role
from supervise.attachments.models import Attachment
from supervise.extensions import db
from supervise.findings.models import (
    Comment,
    Finding,
    FindingLink,
    FindingStatus,
    Handling,
    Share,
)
from supervise.findings.workflow import Party as FParty
from supervise.policy import core
from supervise.policy.core import one_or_404, reads_cases, records_findings


def active_share_clause(agency_id):
    return sa.exists().where(
        Share.finding_id == Finding.id,
        Share.agency_id == agency_id,
        Share.withdrawn_at.is_(None),
    )


def visible_findings_clause(user):
    """Own agency's findings, and issued findings shared with it and not withdrawn."""
    if not reads_cases(user):
        return sa.false()
    return sa.or_(
        Finding.owner_agency_id == user.agency_id,
        sa.and_(Finding.status == FindingStatus.ISSUED, active_share_clause(user.agency_id)),
    )


def visible_findings(user) -> sa.Select:
    return sa.select(Finding).where(visible_findings_clause(user))


def finding_or_404(user, public_id: str, *, for_update: bool = False) -> Finding:
    return one_or_404(visible_findings(user), Finding, public_id, for_update)


def owns_finding(user, finding: Finding) -> bool:
    return reads_cases(user) and finding.owner_agency_id == user.agency_id


def finding_parties(user, finding: Finding) -> frozenset[FParty]:
    """The parts the user plays in a finding's own life (supervise.findings.workflow)."""
    if not owns_finding(user, finding):
        return frozenset({FParty.RECIPIENT}) if reads_cases(user) and \
            active_share(user, finding) is not None else frozenset()
    return frozenset({FParty.OWNER, FParty.OWNER_LEADER} if user.has_role(Role.LEADER)
                     else {FParty.OWNER})


def active_share(user, finding: Finding) -> Share | None:
    """The share through which the user's agency sees a finding it does not own."""
    return next((s for s in finding.shares if s.agency_id == user.agency_id and s.active), None)


class FindingAction(StrEnum):
    EDIT = "edit"
    ISSUE = "issue"
    SHARE = "share"
    UPLOAD = "upload"
    COMMENT = "comment"
    LINK = "link"


def can_act_on_finding(user, action: FindingAction, finding: Finding) -> bool:
    """May the user do this to a finding they can see? State rules are the operations' job."""
    owner = owns_finding(user, finding)
    if action in (FindingAction.EDIT, FindingAction.SHARE, FindingAction.UPLOAD):
        return owner
    if action == FindingAction.ISSUE:
        return owner and user.has_role(Role.LEADER)
    if action == FindingAction.COMMENT:
        return owner or active_share(user, finding) is not None
    if action == FindingAction.LINK:
        return records_findings(user)
    return False


def visible_comments(user, finding: Finding) -> sa.Select:
    """The owner reads every thread; a recipient only its own."""
    query = sa.select(Comment).where(Comment.finding_id == finding.id)
    if not owns_finding(user, finding):
        query = query.where(Comment.thread_agency_id == user.agency_id)
    return query.order_by(Comment.created_at, Comment.id).options(selectinload(Comment.author))


def visible_shares(user, finding: Finding) -> list[Share]:
    """The owner sees every share, withdrawn ones too; a recipient only the one to itself."""
    if owns_finding(user, finding):
        return list(finding.shares)
    share = active_share(user, finding)
    return [share] if share else []


def visible_finding_ids(user, ids) -> set[int]:
    ids = list(ids)
    if not ids:
        return set()
    return set(db.session.scalars(
        sa.select(Finding.id).where(Finding.id.in_(ids), visible_findings_clause(user))))


def links_of(finding: Finding) -> list[FindingLink]:
    return list(db.session.scalars(
        sa.select(FindingLink)
        .where(sa.or_(FindingLink.finding_id == finding.id, FindingLink.related_id == finding.id))
        .order_by(FindingLink.created_at)))


def share_or_404(user, finding: Finding, share_public_id: str) -> Share:
    """A share of the finding that the user may see (a recipient sees only its own)."""
    share = next((s for s in visible_shares(user, finding) if s.public_id == share_public_id),
                 None)
    if share is None:
        abort(404)
    return share


def link_or_404(user, finding: Finding, other_public_id: str) -> FindingLink:
    """The link between two findings the user can both see, whichever way it was made."""
    other = finding_or_404(user, other_public_id)
    link = db.session.scalar(sa.select(FindingLink).where(sa.or_(
        sa.and_(FindingLink.finding_id == finding.id, FindingLink.related_id == other.id),
        sa.and_(FindingLink.finding_id == other.id, FindingLink.related_id == finding.id))))
    if link is None:
        abort(404)
    return link


def attachment_or_404(user, public_id: str, attachment_id: str) -> tuple[Finding, Attachment]:
    """A finding the user may see and one of its evidence files."""
    finding = finding_or_404(user, public_id)
    return finding, core.attachment_or_404(finding.attachments, attachment_id)


def attachment_by_id_or_404(user, attachment_id: str) -> tuple[Finding, Attachment]:
    """An evidence file named by its own id (`/api/v1/attachments/<id>`), if the user may see
    its finding."""
    finding = db.session.scalar(visible_findings(user).join(
        Attachment, Attachment.finding_id == Finding.id).where(
        Attachment.public_id == attachment_id))
    if finding is None:
        abort(404)
    return finding, core.attachment_or_404(finding.attachments, attachment_id)


def referrable_findings_clause(user):
    """Findings a user's agency may cite in a referral: its own issued findings, and findings
    shared with it as may_refer (and not withdrawn)."""
    if not records_findings(user):
        return sa.false()
    may_refer = sa.exists().where(
        Share.finding_id == Finding.id, Share.agency_id == user.agency_id,
        Share.withdrawn_at.is_(None), Share.handling == Handling.MAY_REFER)
    return sa.and_(Finding.status == FindingStatus.ISSUED,
                   sa.or_(Finding.owner_agency_id == user.agency_id, may_refer))
