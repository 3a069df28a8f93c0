"""The reminder sweep: a clock that comes close to its deadline, or passes it, is told once.

The worker runs `sweep` on a schedule. Each clock (a referral's acknowledgement and answer, a
rectification item's report) raises "due soon" to the party that must act once the warning time
has come, and "overdue" to that party and to the party that waits once the deadline has passed;
each at most once per clock and threshold (the `reminders` table, whose key makes a second sweep
running at the same time insert nothing). The times are those the records hold, which the
calendar import recomputes: a sweep after an import reads the moved deadlines.

Recipients are the workflows' own (`Audience.members`, the policy deciding who plays which
part), worked out from the accounts loaded once per sweep, and the rows are written in batches:
a sweep over 100,000 open clocks runs a few hundred statements, not hundreds of thousands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from supervise.database import new_public_id, now_utc
from supervise.extensions import db
from supervise.notifications.models import EmailOptOut, EmailState, Kind, Notification, Reminder
from supervise.notifications.outbox import active_accounts, mail_enabled
from supervise.rectifications import operations as rectification_operations
from supervise.rectifications import queries as rectification_queries
from supervise.rectifications.models import Rectification
from supervise.rectifications.workflow import Party as RParty
from supervise.referrals import operations as referral_operations
from supervise.referrals import queries as referral_queries
from supervise.referrals.models import Referral
from supervise.referrals.workflow import Party
from supervise.workflow import Notice, Workflow

CHUNK = 2000


@dataclass(frozen=True)
class Clock:
    name: str
    workflow: Workflow
    model: type
    running: Callable[[], sa.ColumnElement]
    warn_at: sa.orm.InstrumentedAttribute
    due_at: sa.orm.InstrumentedAttribute
    acting: object  # the party that must act
    waiting: object  # the party that waits for it


CLOCKS = [
    Clock("acknowledge", referral_operations.WORKFLOW, Referral,
          lambda: Referral.state == referral_queries.S.SENT,
          Referral.acknowledge_warn_at, Referral.acknowledge_by, Party.RECEIVER, Party.SENDER),
    Clock("answer", referral_operations.WORKFLOW, Referral,
          lambda: Referral.state.in_(referral_queries.ANSWER_RUNNING),
          Referral.answer_warn_at, Referral.answer_by, Party.RECEIVER, Party.SENDER),
    Clock("report", rectification_operations.WORKFLOW, Rectification,
          lambda: Rectification.state.in_(rectification_queries.RUNNING),
          Rectification.warn_at, Rectification.due_at, RParty.UNIT, RParty.OWNER),
]


def _thresholds(clock: Clock, now: datetime):
    """Each threshold, the records past it, and who is told."""
    return [
        ("overdue", clock.due_at < now,
         [Notice(Kind.OVERDUE, clock.acting), Notice(Kind.OVERDUE, clock.waiting)]),
        ("due_soon", sa.and_(clock.warn_at <= now, clock.due_at >= now),
         [Notice(Kind.DUE_SOON, clock.acting)]),
    ]


def _insert_new_reminders(rows: list[dict]) -> set[tuple]:
    """Insert the reminders not raised yet, skipping any another sweep raised meanwhile; the
    keys of those this sweep inserted."""
    if not rows:
        return set()
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Reminder)
    result = db.session.execute(
        insert.on_conflict_do_nothing().returning(Reminder.subject_type, Reminder.subject_id,
                                                  Reminder.clock, Reminder.threshold),
        rows)
    return {tuple(r) for r in result}


def sweep(now: datetime | None = None) -> Counter:
    """Raise every reminder that is due; commits per batch. Returns what was raised, by
    threshold."""
    now = now or now_utc()
    raised = Counter()
    accounts: dict[frozenset, list] = {}
    opted_out = {(o.user_id, o.kind) for o in db.session.scalars(
        sa.select(EmailOptOut).where(EmailOptOut.kind.in_((Kind.DUE_SOON, Kind.OVERDUE))))}
    emailing = mail_enabled()
    for clock in CLOCKS:
        subject_type = clock.workflow.name
        for threshold, crossed, notices in _thresholds(clock, now):
            told = sa.exists().where(Reminder.subject_type == subject_type,
                                     Reminder.subject_id == clock.model.id,
                                     Reminder.clock == clock.name,
                                     Reminder.threshold == threshold)
            query = (sa.select(clock.model).where(clock.running(), crossed, ~told)
                     .order_by(clock.model.id))
            last = 0
            while True:
                records = list(db.session.scalars(
                    query.where(clock.model.id > last).limit(CHUNK)))
                if not records:
                    break
                last = records[-1].id
                inserted = _insert_new_reminders([
                    {"subject_type": subject_type, "subject_id": r.id, "clock": clock.name,
                     "threshold": threshold, "raised_at": now} for r in records])
                rows = []
                for record in records:
                    if (subject_type, record.id, clock.name, threshold) not in inserted:
                        continue  # another sweep raised it
                    agencies = frozenset(clock.workflow.notify.agencies(record))
                    if agencies not in accounts:
                        accounts[agencies] = active_accounts(agencies)
                    for notice in notices:
                        for user in clock.workflow.notify.members(
                                clock.workflow, None, record, notice, accounts[agencies]):
                            email = emailing and bool(user.email) and \
                                (user.id, notice.kind) not in opted_out
                            rows.append({
                                "public_id": new_public_id(), "recipient_id": user.id,
                                "kind": notice.kind, "subject_type": subject_type,
                                "subject_id": record.id, "subject_public_id": record.public_id,
                                "created_at": now,
                                "key": f"{threshold}:{subject_type}:{record.id}:{clock.name}",
                                "email_state": EmailState.PENDING if email else None,
                                "email_next_at": now if email else None})
                if rows:
                    db.session.execute(sa.insert(Notification), rows)
                raised[threshold] += len(inserted)
                db.session.commit()
                accounts.clear()  # expired by the commit: loaded again, once, for the next batch
    return raised
