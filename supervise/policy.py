"""The access chokepoint.

Every endpoint declares what it needs with one of the decorators below; `enforce` runs before
every request and refuses anything undeclared. Permissions are granted to roles here and nowhere
else; record-level rules (which finding or referral a user may see) are added here as query scopes
by later modules, so that a view never decides access by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from supervise import workflow
from supervise.accounts.models import AgencyKind, Role
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
from supervise.projects.models import Project
from supervise.rectifications.models import Rectification
from supervise.rectifications.workflow import TRANSITIONS as R_TRANSITIONS
from supervise.rectifications.workflow import Party as RParty
from supervise.referrals.models import Referral
from supervise.referrals.workflow import (
    DELIVERED,
    PRIVATE_COMMENT,
    SHARED_STEPS,
    TRANSITIONS,
    Action,
    Party,
)
from supervise.web import Denied, bearer_token


class Permission(StrEnum):
    MANAGE_ACCOUNTS = "manage_accounts"  # agencies, users, password resets
    ASSIGN_ROLES = "assign_roles"
    MANAGE_SETTINGS = "manage_settings"  # settings and the working-day calendar
    READ_EVENTS = "read_events"
    CASE_CONTENT = "case_content"  # findings, referrals, rectifications
    APPROVE = "approve"  # what leaves an agency needs its leader


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.STAFF: frozenset({Permission.CASE_CONTENT}),
    Role.LEADER: frozenset({Permission.CASE_CONTENT, Permission.APPROVE}),
    Role.SYSADMIN: frozenset({Permission.MANAGE_ACCOUNTS}),
    Role.SECADMIN: frozenset({Permission.ASSIGN_ROLES, Permission.MANAGE_SETTINGS}),
    Role.AUDITADMIN: frozenset({Permission.READ_EVENTS}),
}


def permissions_of(user) -> frozenset[Permission]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    granted: set[Permission] = set()
    for role in user.roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def can(user, permission: Permission) -> bool:
    return permission in permissions_of(user)


@dataclass(frozen=True)
class Access:
    """What an endpoint needs. `public` endpoints need no sign-in; the others need a signed-in
    user holding every permission listed. `csrf=False` only for endpoints that authenticate by
    credentials in the request body and set no cookie."""

    public: bool = False
    permissions: frozenset[Permission] = frozenset()
    while_password_change: bool = False
    csrf: bool = True


def _declare(access: Access):
    def decorator(view):
        view.access = access
        return view

    return decorator


def public(view=None, *, csrf: bool = True):
    decorator = _declare(Access(public=True, csrf=csrf, while_password_change=True))
    return decorator(view) if view is not None else decorator


def signed_in(view=None, *, while_password_change: bool = False):
    decorator = _declare(Access(while_password_change=while_password_change))
    return decorator(view) if view is not None else decorator


def requires(*permissions: Permission):
    return _declare(Access(permissions=frozenset(permissions)))


# Endpoints that Flask and extensions register themselves.
BUILTIN_ACCESS = {
    "static": Access(public=True, while_password_change=True),
    "api-docs.openapi_json": Access(public=True, while_password_change=True),
}


def access_for(endpoint: str | None) -> Access | None:
    if endpoint is None:
        return None
    if endpoint in BUILTIN_ACCESS:
        return BUILTIN_ACCESS[endpoint]
    view = current_app.view_functions.get(endpoint)
    access = getattr(view, "access", None)
    if access is None and hasattr(view, "view_class"):
        access = getattr(view.view_class, "access", None)
    return access


def enforce() -> None:
    """Run before every request: CSRF, sign-in, forced password change, permissions."""
    if request.endpoint is None:
        return  # no route matched: Flask answers 404 itself
    access = access_for(request.endpoint)
    if access is None:
        current_app.logger.error("endpoint %s declares no access rule", request.endpoint)
        raise Denied(404, "undeclared")

    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and access.csrf
        and bearer_token() is None
    ):
        from supervise.extensions import csrf

        csrf.protect()

    if access.public:
        return
    if not current_user.is_authenticated:
        raise Denied(401, "sign-in required")
    if current_user.must_change_password and not access.while_password_change:
        raise Denied(403, "password change required")
    missing = access.permissions - permissions_of(current_user)
    if missing:
        raise Denied(403, "permission")


# --- records --------------------------------------------------------------------------------
# Which records a user may see is decided here, as SQL conditions, so that lists, pages, the API,
# exports and search all filter in the database the same way. A record outside a user's reach
# answers 404.

# Agencies whose staff record findings of their own.
FINDING_OWNER_KINDS = frozenset({AgencyKind.AUDIT, AgencyKind.INSPECTION})


def reads_cases(user) -> bool:
    """Staff and leaders of any agency but an audited unit may read case content."""
    return can(user, Permission.CASE_CONTENT) and user.agency.kind != AgencyKind.AUDITED_UNIT


def records_findings(user) -> bool:
    return reads_cases(user) and user.agency.kind in FINDING_OWNER_KINDS


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


def _one_or_404(scope: sa.Select, model, public_id: str, for_update: bool):
    """The record of `scope` with this public id, locked if asked; 404 when out of reach."""
    query = scope.where(model.public_id == public_id)
    if for_update:
        query = query.with_for_update(of=model)
    record = db.session.scalar(query)
    if record is None:
        abort(404)
    return record


def finding_or_404(user, public_id: str, *, for_update: bool = False) -> Finding:
    return _one_or_404(visible_findings(user), Finding, public_id, for_update)


def visible_projects(user) -> sa.Select:
    """Projects are internal to the agency that leads them."""
    if not records_findings(user):
        return sa.select(Project).where(sa.false())
    return sa.select(Project).where(Project.lead_agency_id == user.agency_id)


def owns_finding(user, finding: Finding) -> bool:
    return reads_cases(user) and finding.owner_agency_id == user.agency_id


def finding_parties(user, finding: Finding) -> frozenset[FParty]:
    """The parts the user plays in a finding's own life (supervise.findings.workflow)."""
    if not owns_finding(user, finding):
        return frozenset()
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


def attachment_or_404(user, attachment_public_id: str,
                      finding: Finding | None = None) -> tuple[Attachment, Finding]:
    """An attachment whose record the user may see (of `finding`, when given)."""
    attachment = db.session.scalar(sa.select(Attachment).where(
        Attachment.public_id == attachment_public_id))
    if attachment is None or attachment.finding_id is None:
        abort(404)
    if finding is None:
        finding = db.session.scalar(visible_findings(user).where(
            Finding.id == attachment.finding_id))
    if finding is None or finding.id != attachment.finding_id:
        abort(404)
    return attachment, finding



# --- referrals ------------------------------------------------------------------------------
# A referral and its persons involved: staff and leaders of the sending agency, and of the
# receiving agency once the sending leader approved it and it was sent to that agency. Nobody
# else, not even an agency that can see a finding it was made from. What was sent never changes
# (a returned referral is revised as a new one), so the receiver named on a sent referral is the
# agency it was sent to, and what it reads is what it received.

def received_clause(agency_id):
    """Referrals sent to this agency: from the sending on, whatever happened next."""
    return sa.and_(Referral.receiver_agency_id == agency_id,
                   Referral.first_sent_at.is_not(None), Referral.state.in_(DELIVERED))


def visible_referrals_clause(user):
    if not reads_cases(user):
        return sa.false()
    return sa.or_(Referral.sender_agency_id == user.agency_id, received_clause(user.agency_id))


def visible_referrals(user) -> sa.Select:
    return sa.select(Referral).where(visible_referrals_clause(user))


def referral_or_404(user, public_id: str, *, for_update: bool = False) -> Referral:
    return _one_or_404(visible_referrals(user), Referral, public_id, for_update)


def parties(user, referral: Referral) -> frozenset[Party]:
    """The roles the user plays in this referral."""
    if not reads_cases(user):
        return frozenset()
    leader = user.has_role(Role.LEADER)
    found = set()
    if referral.sender_agency_id == user.agency_id:
        found |= {Party.SENDER, Party.SENDER_LEADER} if leader else {Party.SENDER}
    if referral.receiver_agency_id == user.agency_id and referral.first_sent_at is not None \
            and referral.state in DELIVERED:
        found |= {Party.RECEIVER, Party.RECEIVER_LEADER} if leader else {Party.RECEIVER}
    return frozenset(found)


def may_take(user, referral: Referral, action: Action) -> bool:
    """Is the user the party the transition table names? (The state is checked separately.)"""
    return TRANSITIONS[action].party in parties(user, referral)


def available_actions(user, referral: Referral) -> list[Action]:
    """What the user may do now: the right party, the right state, the guard holding."""
    return workflow.available(TRANSITIONS, parties(user, referral), referral)


def reads_internal_notes(user, referral: Referral) -> bool:
    """The receiver's handling notes are for the receiver only."""
    return Party.RECEIVER in parties(user, referral)


class SharedEntry:
    """A timeline step as the other party reads it: the same, without the comment that is the
    acting party's own (a leader's approval)."""

    comment = ""

    def __init__(self, entry):
        self._entry = entry

    def __getattr__(self, name):
        return getattr(self._entry, name)


def timeline_for(user, referral: Referral) -> list:
    """The steps the user may read: every step of the user's own agency; of the other party's,
    those that concern both (from the sending on), never their internal ones."""
    mine = parties(user, referral)
    if not mine:
        return []
    shown = []
    for entry in referral.entries:
        if entry.agency_id == user.agency_id:
            shown.append(entry)
        elif entry.action in SHARED_STEPS and not entry.internal:
            shown.append(SharedEntry(entry) if entry.action in PRIVATE_COMMENT else entry)
    return shown


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


def referral_attachment_or_404(user, referral: Referral, attachment_public_id: str) -> Attachment:
    """Evidence of the referral, or a file attached to a timeline step the user may read."""
    for attachment in referral.attachments:
        if attachment.public_id == attachment_public_id:
            return attachment
    for entry in timeline_for(user, referral):
        for attachment in entry.attachments:
            if attachment.public_id == attachment_public_id:
                return attachment
    abort(404)



# --- rectification --------------------------------------------------------------------------
# The issuing agency sees its rectification items; the audited unit's contact sees its own
# unit's items only, and through them only the text issued to it.

def is_unit_contact(user) -> bool:
    return can(user, Permission.CASE_CONTENT) and user.agency.kind == AgencyKind.AUDITED_UNIT


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
    return _one_or_404(visible_rectifications(user), Rectification, public_id, for_update)


def rectification_parties(user, rectification) -> frozenset:
    found = set()
    if reads_cases(user) and rectification.owner_agency_id == user.agency_id:
        found.add(RParty.OWNER)
        if user.has_role(Role.LEADER):
            found.add(RParty.OWNER_LEADER)
    if is_unit_contact(user) and rectification.unit_id == user.agency_id:
        found.add(RParty.UNIT)
    return frozenset(found)


def rectification_actions(user, rectification) -> list:
    return workflow.available(R_TRANSITIONS, rectification_parties(user, rectification),
                              rectification)
