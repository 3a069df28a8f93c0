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
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import current_app

from supervise.accounts.models import Agency, Role, User, UserRole
from supervise.accounts.operations import account_reset, resets_close_together
from supervise.database import new_public_id, now_utc
from supervise.events.log import record_event
from supervise.events.models import Outcome
from supervise.extensions import db
from supervise.notifications.models import (
    ACCOUNT,
    EmailOptOut,
    EmailState,
    Kind,
    Notification,
)


def mail_enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def notify(kind: Kind, subject_type: str, record, recipients: Iterable[User], *,
           key: str | None = None) -> list[Notification]:
    """One notification per recipient about `record`, to be emailed too where mail is on and
    the recipient has an address and has not opted out of the kind; the caller's transaction
    commits them."""
    users = list({u.id: u for u in recipients}.values())
    by_email = _emailed(kind, users)
    now = now_utc()
    rows = [Notification(**values(kind, subject_type, record, user.id, now=now, key=key,
                                  emailed=user.id in by_email))
            for user in users]
    db.session.add_all(rows)
    return rows


def values(kind: Kind, subject_type: str, record, recipient_id: int, *, now, emailed: bool,
           key: str | None = None) -> dict:
    """The columns of one notification (for `notify`, and for the sweep's batch inserts)."""
    return {"public_id": new_public_id(), "recipient_id": recipient_id, "kind": kind,
            "subject_type": subject_type, "subject_id": record.id,
            "subject_public_id": record.public_id, "created_at": now, "key": key,
            "email_state": EmailState.PENDING if emailed else None,
            "email_next_at": now if emailed else None}


def _emailed(kind: Kind, users: list[User]) -> set[int]:
    """Who of `users` gets this kind by email: one statement, none when mail is off."""
    addressed = {u.id for u in users if u.email}
    if not addressed or not mail_enabled():
        return set()
    opted_out = set(db.session.scalars(sa.select(EmailOptOut.user_id).where(
        EmailOptOut.kind == kind, EmailOptOut.user_id.in_(addressed))))
    return addressed - opted_out


def active_accounts(agency_ids: Iterable[int]) -> list[User]:
    ids = sorted({i for i in agency_ids if i is not None})
    if not ids:
        return []
    return list(db.session.scalars(
        sa.select(User).join(User.agency)
        .where(User.agency_id.in_(ids), User.active.is_(True), Agency.active.is_(True))
        .order_by(User.id)))


def active_holders(role: Role) -> list[User]:
    """The active accounts holding a role (an administrator's, say), in active agencies."""
    return list(db.session.scalars(
        sa.select(User).join(User.role_rows).join(User.agency)
        .where(UserRole.role == role, User.active.is_(True), Agency.active.is_(True))
        .order_by(User.id)))


@account_reset.connect
def _tell_of_a_reset(actor, *, user: User, what: str) -> None:
    """The holder hears of every reset of their password or second factor (in the platform and
    by email); the audit administrators hear of an account whose password and second factor
    were both reset within a day, and the event log keeps it."""
    account = SimpleNamespace(id=user.id, public_id=str(user.id))
    kind = Kind.PASSWORD_RESET if what == "password" else Kind.SECOND_FACTOR_RESET
    notify(kind, ACCOUNT, account, [user])
    if resets_close_together(user):
        notify(Kind.RESETS_FLAGGED, ACCOUNT, account, active_holders(Role.AUDITADMIN))
        record_event("user.resets_flagged", actor=actor, obj=user, outcome=Outcome.DENIED)


@dataclass(frozen=True)
class Audience:
    """Who a workflow's notices reach.

    agencies: record -> the agencies whose accounts may play a part in it.
    in_charge: party -> (record -> the id of the one person in charge for that party, or None).
    party_key: record -> everything of it the workflow's `parties` reads (the policy's
      `party_key`), so that a sweep over many records works out each key's people once.
    """

    agencies: Callable[[Any], Iterable[int]]
    in_charge: dict[Any, Callable[[Any], int | None]] = field(default_factory=dict)
    party_key: Callable[[Any], tuple] | None = None

    @staticmethod
    def _playing(workflow, record, notice, accounts) -> list[User]:
        return [u for u in accounts if notice.party in workflow.parties(u, record)
                and notice.agency_id in (None, u.agency_id)]

    def __call__(self, workflow, actor: User | None, record, notices) -> list[Notification]:
        if not notices:
            return []
        accounts = active_accounts([*self.agencies(record),
                                    *(n.agency_id for n in notices)])
        written = []
        for notice in notices:
            written += notify(notice.kind, workflow.name, record,
                              self.members(workflow, actor, record, notice, accounts))
        return written

    def members(self, workflow, actor: User | None, record, notice, accounts: list[User],
                cache: dict | None = None) -> list[User]:
        """Who of `accounts` the notice reaches (no statement: the accounts are loaded). With
        a `cache`, records of one party key and person in charge share the work."""
        person = self.in_charge.get(notice.party, lambda _record: None)(record)
        if cache is None or self.party_key is None:
            return self._narrow(self._playing(workflow, record, notice, accounts), person, actor)
        key = (notice, self.party_key(record), person, actor and actor.id, id(accounts))
        if key not in cache:
            cache[key] = self._narrow(self._playing(workflow, record, notice, accounts),
                                      person, actor)
        return cache[key]

    @staticmethod
    def _narrow(members: list[User], person: int | None, actor: User | None) -> list[User]:
        """The person in charge alone where there is one among them; never the actor."""
        if any(u.id == person for u in members):
            members = [u for u in members if u.id == person]
        return [u for u in members if actor is None or u.id != actor.id]


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
