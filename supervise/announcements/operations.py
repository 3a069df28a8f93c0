"""Publishing a project's rectification results (审计结果公告), and reading what was published.

What is published is a snapshot, written once at publication: the public pages read the snapshot
only, never the live findings or rectifications, so a later edit shows only when the project is
republished. The snapshot is built from an allow-list of public fields (title, category, amount,
rectification state, amount recovered, the measures of the final report): persons involved,
referrals, clues, comments, attachments, internal notes, facts and sensitivity never enter it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import selectinload

from supervise import policy
from supervise.accounts.models import Role, User
from supervise.announcements.models import Announcement
from supervise.database import now_utc
from supervise.errors import OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings.models import Finding, FindingStatus, Sensitivity
from supervise.money import CENT
from supervise.policy import Permission
from supervise.policy import projects as project_access
from supervise.projects.models import Project
from supervise.rectifications.models import Rectification, RectificationState
from supervise.vocabulary import chinese

SNAPSHOT_VERSION = 1

# Items whose rectification the audit bureau has verified: their result may be published as it is.
VERIFIED_STATES = frozenset({RectificationState.VERIFIED, RectificationState.SIGN_OFF_PENDING,
                             RectificationState.SIGNED_OFF})

# The public reads Chinese whatever language the publishing leader chose, in the words of the
# Chinese screens, and what was published must not change when a translation does: the words are
# written into the snapshot as they are.
NOT_ISSUED_NAME = "未下达整改"


class UnverifiedItems(OperationError):
    """Some items are not verified, and the leader did not confirm publishing them as they are."""

    def __init__(self, unverified: int, items: int):
        super().__init__(ngettext(
            "%(num)d of the %(items)d items of this project is not yet verified or signed off. "
            "Confirm that you publish its results as they stand.",
            "%(num)d of the %(items)d items of this project are not yet verified or signed off. "
            "Confirm that you publish their results as they stand.",
            unverified, items=items), 409)
        self.unverified = unverified
        self.items = items


# --- who may publish, what is published -----------------------------------------------------

def _issued_findings_query(project: Project) -> sa.Select:
    """The project's issued findings, of the agency that leads it, with their rectification.
    Findings marked sensitive are never published."""
    return (sa.select(Finding, Rectification)
            .outerjoin(Rectification, Rectification.finding_id == Finding.id)
            .where(Finding.project_id == project.id,
                   Finding.owner_agency_id == project.lead_agency_id,
                   Finding.status == FindingStatus.ISSUED,
                   Finding.sensitivity != Sensitivity.SENSITIVE))


@dataclass(frozen=True)
class Readiness:
    items: int
    unverified: int


def readiness(project: Project) -> Readiness:
    """How many items an announcement would hold, and how many of them are not verified."""
    rows = db.session.execute(_issued_findings_query(project).with_only_columns(
        Finding.id, Rectification.state)).all()
    unverified = sum(1 for _id, state in rows if state not in VERIFIED_STATES)
    return Readiness(items=len(rows), unverified=unverified)


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(Decimal(amount).quantize(CENT))


def _item(finding: Finding, rectification: Rectification | None) -> dict:
    """One published item: an allow-list of public fields, nothing else."""
    item = {
        "title": finding.title,
        "category": finding.category.name,  # the Chinese name, whatever the leader's language
        "amount": _money(finding.amount),
        "state": NOT_ISSUED_NAME,
        "verified": False,
        "amount_recovered": None,
        "result": "",
    }
    if rectification is not None:
        verified = rectification.state in VERIFIED_STATES
        final_reports = [r for r in rectification.reports if r.final]
        item.update(
            state=chinese(rectification.state),
            verified=verified,
            amount_recovered=_money(rectification.amount_recovered),
            result=final_reports[-1].measures if verified and final_reports else "",
        )
    return item


def build_snapshot(project: Project, published_at: datetime) -> dict:
    rows = db.session.execute(
        _issued_findings_query(project)
        .options(selectinload(Finding.category),
                 selectinload(Rectification.reports))
        .order_by(Finding.created_at, Finding.id)).all()
    return {
        "version": SNAPSHOT_VERSION,
        "project": {
            "name": project.name,
            "year": project.year,
            "lead_agency": project.lead_agency.name,
        },
        "published_at": published_at.isoformat(),
        "items": [_item(finding, rectification) for finding, rectification in rows],
    }


# --- publishing -------------------------------------------------------------------------------

def _check(user: User, project: Project) -> None:
    if not (policy.can(user, Permission.APPROVE) and user.has_role(Role.LEADER)):
        raise OperationError(_("Only a leader may publish the results of a project."), 403)
    if not project_access.may_publish(user, project):
        raise OperationError(str(_("Not found.")), 404)


def _lock(project: Project) -> Announcement | None:
    """Serialise publishers of one project (a row lock on PostgreSQL), then read its
    announcement."""
    db.session.execute(sa.select(Project.id).where(Project.id == project.id).with_for_update())
    return db.session.scalar(sa.select(Announcement).where(Announcement.project_id == project.id))


def publish(user: User, project: Project, confirm_unverified: bool) -> Announcement:
    """Publish (or republish, replacing the snapshot) a project's rectification results."""
    _check(user, project)
    announcement = _lock(project)
    ready = readiness(project)
    if ready.items == 0:
        raise OperationError(_("This project has no issued findings to publish."), 400)
    if ready.unverified and not confirm_unverified:
        raise UnverifiedItems(ready.unverified, ready.items)
    published_at = now_utc()
    snapshot = build_snapshot(project, published_at)
    text = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
    republished = announcement is not None
    if announcement is None:
        announcement = Announcement(project_id=project.id)
        db.session.add(announcement)
    announcement.published_by_id = user.id
    announcement.published_at = published_at
    announcement.snapshot = text
    db.session.flush()
    record_event("announcement.publish", actor=user, obj=project, details={
        "project": project.public_id, "items": len(snapshot["items"]),
        "unverified": ready.unverified, "republished": republished})
    return announcement


def unpublish(user: User, project: Project) -> None:
    """Take a project's announcement off the public pages."""
    _check(user, project)
    announcement = _lock(project)
    if announcement is None:
        raise OperationError(_("This project's results are not published."), 409)
    db.session.delete(announcement)
    db.session.flush()
    record_event("announcement.unpublish", actor=user, obj=project,
                 details={"project": project.public_id})


# --- reading ----------------------------------------------------------------------------------
# The public scope lives here rather than in supervise.policy: what anyone may read is what has
# been published, and nothing but its snapshot.

def announced_projects() -> sa.Select:
    """Published announcements, newest first, for anyone, signed in or not."""
    return (sa.select(Announcement)
            .options(selectinload(Announcement.project).load_only(Project.public_id))
            .order_by(Announcement.published_at.desc(), Announcement.id.desc()))


def announcement_of(project: Project) -> Announcement | None:
    return db.session.scalar(sa.select(Announcement).where(Announcement.project_id == project.id))


def published_announcement(project_public_id: str) -> Announcement | None:
    return db.session.scalar(
        sa.select(Announcement).join(Project, Project.id == Announcement.project_id)
        .where(Project.public_id == project_public_id))


def read_snapshot(announcement: Announcement) -> dict:
    """The snapshot as the public pages show it: amounts as decimals, the time as a time."""
    snapshot = json.loads(announcement.snapshot)
    snapshot["published_at"] = datetime.fromisoformat(snapshot["published_at"])
    for item in snapshot["items"]:
        for key in ("amount", "amount_recovered"):
            item[key] = None if item.get(key) is None else Decimal(item[key])
    return snapshot
