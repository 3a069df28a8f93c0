"""Publishing a project's rectification results (审计结果公告), and reading what was published.

What is published is a snapshot, written once at publication: the public pages read the snapshot
only, never the live findings or rectifications, so a later edit shows only when the project is
republished. The snapshot is built from an allow-list of public fields (title, category, amount,
the public state of the rectification, the amount recovered once verified) and the result text
the leader reviewed in the preview: persons involved, referrals, clues, comments, attachments,
internal notes, facts, sensitivity and the unit's own report texts never enter it. The result
text is prefilled from what the bureau verified, never from what the unit wrote, and is refused
when it names a person involved in a referral of the finding or carries an identity card or a
phone number.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from supervise import policy
from supervise.accounts.models import Role, User
from supervise.announcements.models import Announcement, PublicState
from supervise.cleaning import name_key
from supervise.database import now_utc
from supervise.errors import InvalidInput, OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings.models import Finding, FindingStatus, Sensitivity
from supervise.money import CENT, format_yuan
from supervise.policy import Permission
from supervise.policy import projects as project_access
from supervise.projects.models import Project
from supervise.rectifications.models import Plan, Rectification, RectificationState
from supervise.referrals.models import PersonInvolved, referral_findings
from supervise.vocabulary import DOCUMENT_LOCALE, chinese

# 2: public states, the reviewed result text, and the finding's id (never shown) that carries
# the text to the next publication.
SNAPSHOT_VERSION = 2
RESULT_LIMIT = 1000

# Items whose rectification the audit bureau has verified: the public reads them as rectified.
VERIFIED_STATES = frozenset({RectificationState.VERIFIED, RectificationState.SIGN_OFF_PENDING,
                             RectificationState.SIGNED_OFF})


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


def public_state(rectification: Rectification | None) -> PublicState:
    """What the public reads of a rectification: rectified once the bureau verified it, a
    long-term plan as continuing, anything else issued as under way."""
    if rectification is None:
        return PublicState.NOT_ISSUED
    if rectification.state in VERIFIED_STATES:
        return PublicState.RECTIFIED
    if rectification.plan == Plan.LONG_TERM or rectification.state == RectificationState.LONG_TERM:
        return PublicState.CONTINUING
    return PublicState.RECTIFYING


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(Decimal(amount).quantize(CENT))


@dataclass(frozen=True)
class Item:
    """One item as it would be published, with the result text the preview offers."""

    finding_id: int
    finding: str  # the finding's public id
    title: str
    category: str  # the Chinese name, whatever the leader's language
    amount: Decimal | None
    state: PublicState
    amount_recovered: Decimal | None  # as verified; None before
    prefill: str

    @property
    def verified(self) -> bool:
        return self.state == PublicState.RECTIFIED

    @property
    def state_name(self) -> str:
        """The public reads Chinese whatever language the publishing leader chose, and what was
        published must not change when a translation does: the word is written into the
        snapshot in Chinese, as it is (so is the prefilled result)."""
        return chinese(self.state)


def _neutral_result(state: PublicState, recovered: Decimal | None) -> str:
    """A result sentence of the bureau's own, in Chinese, from the public state and the amount
    it verified."""
    with force_locale(DOCUMENT_LOCALE):
        if state == PublicState.RECTIFIED and recovered:
            return _("Verified by the audit bureau as rectified; %(amount)s recovered or "
                     "returned.", amount=format_yuan(recovered))
        if state == PublicState.RECTIFIED:
            return _("Verified by the audit bureau as rectified.")
        if state == PublicState.CONTINUING:
            return _("Rectification continues under a long-term plan.")
        if state == PublicState.RECTIFYING:
            return _("Rectification is under way.")
        return ""


def _published_results(announcement: Announcement | None) -> dict[str, tuple[str, str]]:
    """Each finding's public state and result text as last published: {public id: (state,
    result)}. Snapshots before version 2 carried the unit's own text: nothing to reuse."""
    if announcement is None:
        return {}
    snapshot = json.loads(announcement.snapshot)
    return {item["finding"]: (item["state"], item["result"])
            for item in snapshot["items"] if "finding" in item}


def publish_items(project: Project, announcement: Announcement | None) -> list[Item]:
    """The items an announcement of the project would hold now, each with its prefilled result:
    the text published last time if the public state is the same, otherwise a sentence of the
    bureau's own."""
    published = _published_results(announcement)
    rows = db.session.execute(
        _issued_findings_query(project)
        .options(selectinload(Finding.category), selectinload(Rectification.reports))
        .order_by(Finding.created_at, Finding.id)).all()
    items = []
    for finding, rectification in rows:
        state = public_state(rectification)
        recovered = (rectification.amount_recovered if state == PublicState.RECTIFIED else None)
        before = published.get(finding.public_id)
        prefill = (before[1] if before is not None and before[0] == chinese(state)
                   else _neutral_result(state, recovered))
        items.append(Item(
            finding_id=finding.id, finding=finding.public_id, title=finding.title,
            category=finding.category.name, amount=finding.amount, state=state,
            amount_recovered=recovered, prefill=prefill))
    return items


@dataclass(frozen=True)
class Preview:
    items: list[Item]
    republishing: bool
    unverified: int


def preview(user: User, project: Project) -> Preview:
    """What publishing the project would show the public, for the leader to review."""
    _check(user, project)
    announcement = announcement_of(project)
    items = publish_items(project, announcement)
    if not items:
        raise OperationError(_("This project has no issued findings to publish."), 400)
    return Preview(items=items, republishing=announcement is not None,
                   unverified=sum(1 for i in items if not i.verified))


# --- what a public text must not carry --------------------------------------------------------

_DASH = "[-‐‑–—]"
_SEPARATOR = f"(?:{_DASH}| )?"
ID_CARD = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9X]|[0-9]{15})(?![0-9])", re.IGNORECASE)
MOBILE = re.compile(rf"(?<![0-9])(?:\+?86{_SEPARATOR})?1[3-9][0-9]{_SEPARATOR}[0-9]{{4}}"
                    rf"{_SEPARATOR}[0-9]{{4}}(?![0-9])")
LANDLINE = re.compile(rf"(?<![0-9])(?:\(0[0-9]{{2,3}}\){_SEPARATOR}|0[0-9]{{2,3}}{_SEPARATOR})"
                      rf"[0-9]{{7,8}}(?![0-9])")
def _plain(text: str) -> str:
    """Full-width digits, letters and brackets as ASCII ones (NFKC), for the patterns."""
    return unicodedata.normalize("NFKC", text)


def _persons_of(items: list[Item]) -> dict[int, set[str]]:
    """The names of the persons involved in every referral that cites each item's finding,
    whatever the referral's state or sender (opened: they are sealed at rest). Names of one
    character match too much to test."""
    rows = db.session.execute(
        sa.select(referral_findings.c.finding_id, PersonInvolved)
        .join(PersonInvolved, PersonInvolved.referral_id == referral_findings.c.referral_id)
        .where(referral_findings.c.finding_id.in_([i.finding_id for i in items]))).all()
    names: dict[int, set[str]] = {}
    for finding_id, person in rows:
        key = name_key(person.name)
        if len(key) >= 2:
            names.setdefault(finding_id, set()).add(key)
    return names


def screen(items: list[Item], texts: Mapping[str, str]) -> dict[str, str]:
    """Why each text may not be published ({finding public id: message}); the message says what
    kind of thing was found, never the thing itself."""
    persons = _persons_of(items)
    errors = {}
    for item in items:
        text = texts[item.finding]
        plain, key = _plain(text), name_key(text)
        found = []
        if any(name in key for name in persons.get(item.finding_id, ())):
            found.append(_("the name of a person involved in a referral of this finding"))
        if ID_CARD.search(plain):
            found.append(_("what looks like an identity card number"))
        if MOBILE.search(plain) or LANDLINE.search(plain):
            found.append(_("what looks like a phone number"))
        if found:
            errors[item.finding] = _(
                "The public result of “%(title)s” contains %(found)s. Correct it and publish "
                "again.", title=item.title, found=format_list(found, locale=get_locale()))
    return errors


def _texts(items: list[Item], results: Mapping[str, object] | None) -> dict[str, str]:
    """The result text of each item: as the leader gave it in the preview (all of them, or the
    preview is out of date), or as prefilled when no preview is involved."""
    if results is None:
        texts = {item.finding: item.prefill for item in items}
    elif set(results) != {item.finding for item in items}:
        raise OperationError(_("The findings to publish have changed since the preview was "
                               "opened. Check the texts below and publish again."), 409)
    else:
        texts, errors = {}, {}
        for item in items:
            raw = results[item.finding]
            if not isinstance(raw, str):
                errors[item.finding] = _("Must be text.")
            elif len(raw.strip()) > RESULT_LIMIT:
                errors[item.finding] = _("Too long: at most %(n)d characters.", n=RESULT_LIMIT)
            else:
                texts[item.finding] = raw.strip()
        if errors:
            raise InvalidInput(errors)
    errors = screen(items, texts)
    if errors:
        raise InvalidInput(errors)
    return texts


def build_snapshot(project: Project, items: list[Item], texts: Mapping[str, str],
                   published_at: datetime) -> dict:
    return {
        "version": SNAPSHOT_VERSION,
        "project": {
            "name": project.name,
            "year": project.year,
            "lead_agency": project.lead_agency.name,
        },
        "published_at": published_at.isoformat(),
        "items": [{
            "finding": item.finding,
            "title": item.title,
            "category": item.category,
            "amount": _money(item.amount),
            "state": item.state_name,
            "verified": item.verified,
            "amount_recovered": _money(item.amount_recovered),
            "result": texts[item.finding],
        } for item in items],
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


def publish(user: User, project: Project, confirm_unverified: bool,
            results: Mapping[str, object] | None = None) -> Announcement:
    """Publish (or republish, replacing the snapshot) a project's rectification results, with
    the result text of each item as the leader reviewed it in the preview ({finding public id:
    text}); without `results`, the prefilled texts."""
    _check(user, project)
    announcement = _lock(project)
    items = publish_items(project, announcement)
    if not items:
        raise OperationError(_("This project has no issued findings to publish."), 400)
    texts = _texts(items, results)
    unverified = sum(1 for item in items if not item.verified)
    if unverified and not confirm_unverified:
        raise UnverifiedItems(unverified, len(items))
    published_at = now_utc()
    snapshot = build_snapshot(project, items, texts, published_at)
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
        "project": project.public_id, "items": len(items),
        "unverified": unverified, "republished": republished})
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


def _version_1_state(item: dict) -> PublicState:
    if item["verified"]:
        return PublicState.RECTIFIED
    if item["state"] == chinese(PublicState.NOT_ISSUED):
        return PublicState.NOT_ISSUED
    if item["state"] == chinese(RectificationState.LONG_TERM):
        return PublicState.CONTINUING
    return PublicState.RECTIFYING


def read_snapshot(announcement: Announcement) -> dict:
    """The snapshot as the public pages show it: amounts as decimals, the time as a time. A
    snapshot of version 1 held the internal state and the unit's own report text: it is shown
    in the public words, without that text and without amounts nobody verified."""
    snapshot = json.loads(announcement.snapshot)
    snapshot["published_at"] = datetime.fromisoformat(snapshot["published_at"])
    for item in snapshot["items"]:
        if snapshot["version"] < 2:
            item["state"] = chinese(_version_1_state(item))
            item["result"] = ""
            if not item["verified"]:
                item["amount_recovered"] = None
        for key in ("amount", "amount_recovered"):
            item[key] = None if item.get(key) is None else Decimal(item[key])
    return snapshot
