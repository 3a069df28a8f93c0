"""Which findings and projects a user may see, and what the user may do to them: SQL conditions
and lookups that answer 404 for a record out of reach. Projects are internal to the agency that
leads them; a finding is its owning agency's, and read-only for the agencies it is shared with
(never the audited unit's contact: rectification carries the text issued to the unit)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from itertools import chain

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session, selectinload

from supervise.accounts.models import Role
from supervise.attachments.models import Attachment
from supervise.database import BEIJING_TIME, upsert
from supervise.extensions import db
from supervise.findings.models import (
    Comment,
    Finding,
    FindingAccess,
    FindingLink,
    FindingStatus,
    FindingTotal,
    Handling,
    Share,
)
from supervise.findings.workflow import Party as FParty
from supervise.policy import core
from supervise.policy.core import one_or_404, reads_cases, records_findings
from supervise.projects.models import Project


def active_share_clause(agency_id):
    return sa.exists().where(
        Share.finding_id == Finding.id,
        Share.agency_id == agency_id,
        Share.withdrawn_at.is_(None),
    )


def visible_findings_clause(user):
    """Own agency's findings, and issued findings shared with it and not withdrawn: the rule is
    `access_rows`; the condition reads the agency's rows of the access table it fills."""
    if not reads_cases(user):
        return sa.false()
    return sa.exists().where(FindingAccess.finding_id == Finding.id,
                             FindingAccess.agency_id == user.agency_id)


def visible_access_clause(user):
    """The user's agency's rows of the access table (none for a user who reads no cases): what
    the lists filter, count and sort without reading the findings themselves."""
    if not reads_cases(user):
        return sa.false()
    return FindingAccess.agency_id == user.agency_id


def visible_totals_clause(user):
    """The user's agency's totals (none for a user who reads no cases)."""
    if not reads_cases(user):
        return sa.false()
    return FindingTotal.agency_id == user.agency_id


# --- the access table ---------------------------------------------------------------------

_findings, _shares, _projects = Finding.__table__, Share.__table__, Project.__table__


def access_rows(connection, finding_ids: Iterable[int]) -> list[dict]:
    """Who may read these findings, as rows of the access table: the owning agency always; each
    agency a finding is shared with while it is issued and the share not withdrawn."""
    ids = list(finding_ids)
    findings = connection.execute(
        sa.select(_findings.c.id, _findings.c.owner_agency_id, _findings.c.status,
                  _findings.c.unit_id, _findings.c.project_id, _findings.c.category_code,
                  _findings.c.amount, _findings.c.created_at, _projects.c.year)
        .outerjoin(_projects, _projects.c.id == _findings.c.project_id)
        .where(_findings.c.id.in_(ids))).all()
    readers: dict[int, list[int]] = {}
    for finding_id, agency_id in connection.execute(
            sa.select(_shares.c.finding_id, _shares.c.agency_id)
            .where(_shares.c.finding_id.in_(ids), _shares.c.withdrawn_at.is_(None))):
        readers.setdefault(finding_id, []).append(agency_id)
    rows = []
    for f in findings:
        row = {"finding_id": f.id, "status": f.status, "unit_id": f.unit_id,
               "project_id": f.project_id, "category_code": f.category_code,
               "amount": f.amount, "created_at": f.created_at,
               "year": f.year or f.created_at.astimezone(BEIJING_TIME).year}
        rows.append({**row, "agency_id": f.owner_agency_id, "own": True})
        if f.status == FindingStatus.ISSUED:
            rows.extend({**row, "agency_id": agency_id, "own": False}
                        for agency_id in readers.get(f.id, ()) if agency_id != f.owner_agency_id)
    return rows


def _chunks(ids: list[int], size: int):
    return (ids[start:start + size] for start in range(0, len(ids), size))


def _cents(amount) -> int:
    return 0 if amount is None else int((Decimal(amount) * 100).to_integral_value())


TOTAL_KEY = ("agency_id", "own", "status", "year", "category_code")


def _total_key(row) -> tuple:
    return tuple(row[name] for name in TOTAL_KEY)


def _add_to_totals(connection, deltas: dict[tuple, list[int]]) -> None:
    """Add (findings, cents) to each total, in key order (two changes of one agency's findings
    then wait for each other rather than deadlock)."""
    for key, (findings, cents) in sorted(deltas.items(),
                                         key=lambda item: tuple(map(str, item[0]))):
        if findings == 0 and cents == 0:
            continue
        statement = upsert(connection.dialect.name, FindingTotal).values(
            **dict(zip(TOTAL_KEY, key, strict=True)), findings=findings, cents=cents)
        connection.execute(statement.on_conflict_do_update(
            index_elements=list(TOTAL_KEY),
            set_={"findings": FindingTotal.findings + statement.excluded.findings,
                  "cents": FindingTotal.cents + statement.excluded.cents}))


def refresh_access(connection, finding_ids: Iterable[int] | None = None) -> None:
    """Rewrite the access rows of these findings from the rule, and the totals by the
    difference; of every finding when None (after rows were written around the ORM, as the
    benchmark's bulk load does)."""
    if finding_ids is None:
        connection.execute(sa.delete(FindingAccess))
        connection.execute(sa.delete(FindingTotal))
        every = connection.scalars(sa.select(_findings.c.id).order_by(_findings.c.id)).all()
        chunks = _chunks(every, 1000)
    else:
        chunks = _chunks(sorted(set(finding_ids)), 500)
    deltas: dict[tuple, list[int]] = {}
    for chunk in chunks:
        if finding_ids is not None:
            _forget(connection, chunk, deltas)
        rows = access_rows(connection, chunk)
        for row in rows:
            delta = deltas.setdefault(_total_key(row), [0, 0])
            delta[0] += 1
            delta[1] += _cents(row["amount"])
        if rows:
            connection.execute(sa.insert(FindingAccess), rows)
    _add_to_totals(connection, deltas)


def _forget(connection, finding_ids, deltas: dict[tuple, list[int]]) -> None:
    """Delete the access rows of these findings, taking them off the totals' differences."""
    gone = sa.select(*(getattr(FindingAccess, name) for name in TOTAL_KEY),
                     FindingAccess.amount).where(FindingAccess.finding_id.in_(finding_ids))
    for row in connection.execute(gone).mappings():
        delta = deltas.setdefault(_total_key(row), [0, 0])
        delta[0] -= 1
        delta[1] -= _cents(row["amount"])
    connection.execute(sa.delete(FindingAccess).where(FindingAccess.finding_id.in_(finding_ids)))


@sa.event.listens_for(Session, "before_flush")
def _forget_deleted(session, _context, _instances) -> None:
    """A finding about to be deleted leaves the access table and the totals first."""
    ids = [obj.id for obj in session.deleted if isinstance(obj, Finding) and obj.id is not None]
    if ids:
        deltas: dict[tuple, list[int]] = {}
        connection = session.connection()
        for chunk in _chunks(ids, 500):
            _forget(connection, chunk, deltas)
        _add_to_totals(connection, deltas)


@sa.event.listens_for(Session, "after_flush")
def _keep_access(session, _context) -> None:
    """Whatever changes a finding, a share or a project's year changes the access rows in the
    same flush, so in the same transaction."""
    touched, projects = set(), set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Finding):
            touched.add(obj.id)
        elif isinstance(obj, Share):
            touched.add(obj.finding_id)
        elif isinstance(obj, Project) and obj not in session.new:
            projects.add(obj.id)
    connection = session.connection()
    if projects:
        touched.update(connection.scalars(sa.select(_findings.c.id).where(
            _findings.c.project_id.in_(projects))))
    touched.discard(None)
    if touched:
        refresh_access(connection, touched)


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
