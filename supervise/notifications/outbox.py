"""Writing notifications, inside the transaction of the change they tell of.

The workflows name, for each step, what kind of notice goes to which of the record's parties
(`supervise.workflow.Notice`). Who those people are is worked out here when the step is taken:
the active accounts of the agencies concerned, kept only where the policy gives them that party
in this record (so nobody is told of a record they may not read), narrowed to the one person in
charge where the record names one (the drafter, the handler), and never the person acting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from supervise.accounts.models import Agency, User
from supervise.database import now_utc
from supervise.extensions import db
from supervise.notifications.models import Kind, Notification


def notify(kind: Kind, subject_type: str, record, recipients: Iterable[User], *,
           key: str | None = None) -> list[Notification]:
    """One notification per recipient about `record`; the caller's transaction commits them."""
    rows = [Notification(recipient_id=user.id, kind=kind, subject_type=subject_type,
                         subject_id=record.id, subject_public_id=record.public_id, key=key)
            for user in {u.id: u for u in recipients}.values()]
    db.session.add_all(rows)
    return rows


def active_accounts(agency_ids: Iterable[int]) -> list[User]:
    ids = sorted({i for i in agency_ids if i is not None})
    if not ids:
        return []
    return list(db.session.scalars(
        sa.select(User).join(User.agency)
        .where(User.agency_id.in_(ids), User.active.is_(True), Agency.active.is_(True))
        .order_by(User.id)))


@dataclass(frozen=True)
class Audience:
    """Who a workflow's notices reach.

    agencies: record -> the agencies whose accounts may play a part in it.
    in_charge: party -> (record -> the one person in charge for that party, or None).
    """

    agencies: Callable[[Any], Iterable[int]]
    in_charge: dict[Any, Callable[[Any], User | None]] = field(default_factory=dict)

    def __call__(self, workflow, actor: User, record, notices) -> list[Notification]:
        if not notices:
            return []
        written = []
        accounts = active_accounts([*self.agencies(record),
                                    *(n.agency_id for n in notices)])
        for notice in notices:
            members = [u for u in accounts
                       if notice.party in workflow.parties(u, record)
                       and notice.agency_id in (None, u.agency_id)]
            person = self.in_charge.get(notice.party, lambda _record: None)(record)
            if person is not None and any(u.id == person.id for u in members):
                members = [person]
            written += notify(notice.kind, workflow.name, record,
                              [u for u in members if u.id != actor.id])
        return written


def unread_count(user) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.recipient_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(notifications: Iterable[Notification]) -> None:
    """Read once: reading again keeps the first time."""
    now = now_utc()
    for n in notifications:
        if n.read_at is None:
            n.read_at = now


def mark_all_read(user) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now_utc()))
    return result.rowcount
