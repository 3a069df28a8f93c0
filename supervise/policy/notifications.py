"""Whose notifications are whose, and what a notification may show its reader.

A notification is its recipient's alone: anyone else's answers 404. What it is about is read
through the record's own scope each time it is shown: a record the reader can no longer see
(a share withdrawn, an account moved) leaves a notification with its kind only, no title.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from supervise.accounts.models import User
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.notifications.models import ACCOUNT, DIGEST, Notification
from supervise.policy.core import one_or_404
from supervise.policy.findings import visible_findings_clause
from supervise.policy.rectifications import visible_rectifications_clause
from supervise.policy.referrals import visible_referrals_clause
from supervise.rectifications.models import Rectification
from supervise.referrals.models import Referral

# The subject of an EXPORT_READY notice: the recipient's own export job (supervise.ledgers.jobs).
EXPORT = "export"

# subject_type -> the record's model, its scope for a user, and the page that shows it.
SUBJECTS = {
    "finding": (Finding, visible_findings_clause, "findings.finding"),
    "referral": (Referral, visible_referrals_clause, "referrals.referral"),
    "rectification": (Rectification, visible_rectifications_clause,
                      "rectifications.rectification"),
}

# The title of a digest, by the clock it counts ("workflow:clock"); %(n)d is the count.
DIGEST_TITLES = {
    "referral:acknowledge": _l("Acknowledgement of %(n)d referrals"),
    "referral:answer": _l("Answers to %(n)d referrals"),
    "rectification:report": _l("Reports on %(n)d rectification items"),
}


def own_notifications(user) -> sa.Select:
    return sa.select(Notification).where(Notification.recipient_id == user.id)


def notification_or_404(user, public_id: str, *, for_update: bool = False) -> Notification:
    return one_or_404(own_notifications(user), Notification, public_id, for_update)


def readable_subjects(user, notifications) -> dict[tuple[str, int], object]:
    """The records of these notifications that the user may read now, by (type, id): one
    statement per kind of record."""
    wanted = defaultdict(set)
    for n in notifications:
        if n.subject_type in SUBJECTS:
            wanted[n.subject_type].add(n.subject_id)
    found = {}
    for subject_type, ids in wanted.items():
        model, clause, _endpoint = SUBJECTS[subject_type]
        for record in db.session.scalars(sa.select(model).where(model.id.in_(ids),
                                                                 clause(user))):
            found[subject_type, record.id] = record
    return found


def subject_endpoint(notification: Notification) -> str | None:
    entry = SUBJECTS.get(notification.subject_type)
    return entry[2] if entry else None


def _account_names(notifications) -> dict[int, str]:
    """The user names of the accounts these notifications tell of (one statement)."""
    ids = {n.subject_id for n in notifications if n.subject_type == ACCOUNT}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class Listed:
    """A notification as its reader sees it: the title of its record only while the reader may
    read the record; the link always (the record's page answers for itself)."""

    notification: Notification
    title: str | None
    url: str | None

    def __getattr__(self, name):
        return getattr(self.notification, name)


def listed(user, notifications) -> list[Listed]:
    notifications = list(notifications)
    readable = readable_subjects(user, notifications)
    accounts = _account_names(notifications)
    shown = []
    for n in notifications:
        if n.subject_type == ACCOUNT:  # a reset: of one's own account, or flagged to the auditor
            if n.subject_id == user.id:
                shown.append(Listed(n, _("Your account"), url_for("accounts.change_password")))
            else:
                shown.append(Listed(n, _("Account %(username)s", username=accounts.get(
                    n.subject_id, "")), url_for("events.events", object_type="users",
                                                object_id=n.subject_id)))
            continue
        if n.subject_type == "calendar":  # a year whose official calendar is missing
            shown.append(Listed(n, _("Working-day calendar of %(year)s", year=n.subject_id),
                                url_for("calendar.arrangement", year=n.subject_id)))
            continue
        if n.subject_type == EXPORT:  # a ledger built in the background: always one's own
            shown.append(Listed(n, _("Your ledger export"), url_for("exports.exports")))
            continue
        if n.subject_type == DIGEST:  # a count only: the to-do centre lists the records
            title = DIGEST_TITLES.get(n.subject_public_id)
            shown.append(Listed(n, title % {"n": n.subject_id} if title else None,
                                url_for("todo.home")))
            continue
        record = readable.get((n.subject_type, n.subject_id))
        endpoint = subject_endpoint(n)
        shown.append(Listed(n, record.title if record is not None else None,
                            url_for(endpoint, public_id=n.subject_public_id)
                            if endpoint else None))
    return shown
