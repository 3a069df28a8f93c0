"""The reminder sweep and the escalation ladder (督办): a clock that comes close to its deadline,
or passes it, is told once at each step.

The worker runs `sweep` on a schedule. Each clock (a referral's acknowledgement and answer, a
rectification item's report) raises "due soon" to the party that must act once the warning time
has come, and "overdue" to that party and to the party that waits once the deadline has passed.
Overdue by the settings' first number of working days, the platform chases the party that must
act (a chaser step in the record's history) and tells the waiting side's leader; overdue by the
second, it tells the acting side's leader (an escalation step). Each threshold is crossed at
most once per clock: the `reminders` table holds the highest each clock raised, which stands for
those below it, and its key makes a second sweep running at the same time insert nothing. A
sweep that finds a clock past several thresholds at once writes every step of the ladder (each
an event), but tells each person once, of the highest that concerns them; and a person who
would hear of more than DIGEST_AT records of one kind at once (a backlog, found the day the
platform starts over old records or after the worker stood still) hears once, of how many.

The times are those the records hold, counted in working days by the official calendar. A
deadline the calendar moves (a year's arrangement imported: the workflows count their clocks
again) keeps what was raised; one an approved extension replaces starts its reminders and its
ladder again.

Recipients are the workflows' own (`Audience.members`, the policy deciding who plays which
part), worked out from the accounts loaded once per sweep, and the rows are written in batches:
a sweep over 100,000 open clocks runs a few hundred statements, not hundreds of thousands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from supervise.accounts.models import Role
from supervise.calendar import deadlines
from supervise.calendar.models import CalendarYear, load_calendar
from supervise.database import now_utc
from supervise.events.log import record_events
from supervise.extensions import db
from supervise.notifications.models import DIGEST, EmailOptOut, Kind, Notification, Reminder
from supervise.notifications.outbox import (
    active_accounts,
    active_holders,
    mail_enabled,
    notify,
    values,
)
from supervise.rectifications import operations as rectification_operations
from supervise.rectifications import queries as rectification_queries
from supervise.rectifications.models import Rectification, RectificationStep
from supervise.rectifications.workflow import Party as RParty
from supervise.referrals import operations as referral_operations
from supervise.referrals import queries as referral_queries
from supervise.referrals.models import Referral, TimelineEntry
from supervise.referrals.workflow import ESCALATE, Party
from supervise.settings.models import get_setting
from supervise.vocabulary import DOCUMENT_LOCALE
from supervise.workflow import Notice, Workflow

CHUNK = 5000
# More reminders of one kind about one clock than this for one person in one sweep (a backlog
# found at once): one notification of how many instead, linking to the to-do centre.
DIGEST_AT = 20
ANALYZE_AFTER = 10_000
SWEEP_KINDS = (Kind.DUE_SOON, Kind.OVERDUE, Kind.CHASED, Kind.ESCALATED)


@dataclass(frozen=True)
class Clock:
    name: str
    label: object
    workflow: Workflow
    model: type
    running: Callable[[], sa.ColumnElement]
    warn_at: sa.orm.InstrumentedAttribute
    due_at: sa.orm.InstrumentedAttribute
    acting: object  # the party that must act
    waiting: object  # the party that waits for it
    chase_notices: tuple  # the escalation's first step: who is told
    leader_notices: tuple  # ... and its second
    step_table: sa.Table  # where the record's history is written
    step_key: str  # its column naming the record
    columns: tuple = ()  # what the sweep reads of a record: its parties, its people, its ids
    complete: sa.orm.InstrumentedAttribute | None = None  # counted by a known calendar?


@dataclass(frozen=True)
class Threshold:
    name: str
    crossed: sa.ColumnElement
    notices: list
    step: str | None = None  # the history step it writes, if any
    comment: str = ""
    working_days: int | None = None


REFERRAL_CHASE = (Notice(Kind.CHASED, Party.RECEIVER),
                  Notice(Kind.ESCALATED, Party.SENDER_LEADER))
REFERRAL_LEADER = (Notice(Kind.ESCALATED, Party.RECEIVER_LEADER),)
REFERRAL_COLUMNS = (Referral.public_id, Referral.state, Referral.sender_agency_id,
                    Referral.receiver_agency_id, Referral.first_sent_at, Referral.created_by_id,
                    Referral.handler_id)
CLOCKS = [
    Clock("acknowledge", _l("Acknowledgement"), referral_operations.WORKFLOW, Referral,
          lambda: Referral.state == referral_queries.S.SENT,
          Referral.acknowledge_warn_at, Referral.acknowledge_by, Party.RECEIVER, Party.SENDER,
          REFERRAL_CHASE, REFERRAL_LEADER, TimelineEntry.__table__, "referral_id",
          REFERRAL_COLUMNS, Referral.acknowledge_calendar_complete),
    Clock("answer", _l("Answer"), referral_operations.WORKFLOW, Referral,
          lambda: Referral.state.in_(referral_queries.ANSWER_RUNNING),
          Referral.answer_warn_at, Referral.answer_by, Party.RECEIVER, Party.SENDER,
          REFERRAL_CHASE, REFERRAL_LEADER, TimelineEntry.__table__, "referral_id",
          REFERRAL_COLUMNS, Referral.answer_calendar_complete),
    Clock("report", _l("Rectification report"), rectification_operations.WORKFLOW,
          Rectification, lambda: Rectification.state.in_(rectification_queries.RUNNING),
          Rectification.warn_at, Rectification.due_at, RParty.UNIT, RParty.OWNER,
          (Notice(Kind.CHASED, RParty.UNIT),), (Notice(Kind.ESCALATED, RParty.OWNER_LEADER),),
          RectificationStep.__table__, "rectification_id",
          (Rectification.public_id, Rectification.state, Rectification.owner_agency_id,
           Rectification.unit_id, Rectification.issued_by_id),
          Rectification.calendar_complete),
]


def escalation_cutoff(now: datetime, working_days: int, cal) -> datetime:
    """The latest deadline that is overdue by `working_days` working days now: a deadline at
    the end of day D is, once the end of the `working_days`-th working day after D has
    passed."""
    day = deadlines.local_date(now)
    for _day in range(800):
        end = deadlines.end_of_day(day)
        if deadlines.add_working_days(end, working_days, cal).due_at < now:
            return end
        day -= timedelta(days=1)
    return deadlines.end_of_day(day)


def _thresholds(clock: Clock, now: datetime, cal) -> list[Threshold]:
    """Each threshold, the records past it, who is told, and the step it writes."""
    chase_days = get_setting("escalation_chase_working_days")
    leader_days = get_setting("escalation_leader_working_days")
    with force_locale(DOCUMENT_LOCALE):  # the history is written in Chinese
        chase_text = _("%(clock)s overdue by %(n)d working days: chased by the platform.",
                       clock=clock.label, n=chase_days)
        leader_text = _("%(clock)s overdue by %(n)d working days: escalated to the leader.",
                        clock=clock.label, n=leader_days)
    return [
        Threshold("escalate_leader", clock.due_at <= escalation_cutoff(now, leader_days, cal),
                  list(clock.leader_notices), ESCALATE, leader_text, leader_days),
        Threshold("escalate_chase", clock.due_at <= escalation_cutoff(now, chase_days, cal),
                  list(clock.chase_notices), "chase", chase_text, chase_days),
        Threshold("overdue", clock.due_at < now,
                  [Notice(Kind.OVERDUE, clock.acting), Notice(Kind.OVERDUE, clock.waiting)]),
        Threshold("due_soon", sa.and_(clock.warn_at <= now, clock.due_at >= now),
                  [Notice(Kind.DUE_SOON, clock.acting)]),
    ]


def _raised(clock: Clock, names: list[str]) -> sa.ColumnElement[bool]:
    """The record's clock has raised one of the thresholds already."""
    return sa.exists().where(Reminder.subject_type == clock.workflow.name,
                             Reminder.subject_id == clock.model.id,
                             Reminder.clock == clock.name, Reminder.threshold.in_(names))


def _insert_new_reminders(rows: list[dict]) -> set[tuple]:
    """Insert the reminders not raised yet, skipping any another sweep raised meanwhile; the
    keys of those this sweep inserted."""
    if not rows:
        return set()
    dialect = db.session.get_bind().dialect.name
    table = Reminder.__table__
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    result = db.session.execute(
        insert.on_conflict_do_nothing().returning(table.c.subject_type, table.c.subject_id,
                                                  table.c.clock, table.c.threshold),
        rows)
    return {tuple(r) for r in result}


def missing_calendar_years() -> list[int]:
    """Years in which running deadlines fall that were counted without the year's official
    calendar (weekends only), and whose calendar is still not known."""
    years = set()
    for clock in CLOCKS:
        low, high = db.session.execute(
            sa.select(sa.func.min(clock.due_at), sa.func.max(clock.due_at))
            .where(clock.running(), clock.complete.is_(False))).one()
        if low is not None:
            years |= set(range(deadlines.local_date(low).year,
                               deadlines.local_date(high).year + 1))
    known = set(db.session.scalars(sa.select(CalendarYear.year).where(
        CalendarYear.year.in_(years)))) if years else set()
    return sorted(years - known)


def tell_missing_calendars(now: datetime) -> int:
    """Tell the security administrators, once a year, of each year whose calendar the running
    deadlines lack (a count only: no record is named)."""
    admins = active_holders(Role.SECADMIN)
    if not admins:
        return 0  # kept for when there is one to tell
    inserted = _insert_new_reminders([
        {"subject_type": "calendar", "subject_id": year, "clock": "calendar",
         "threshold": "missing", "raised_at": now} for year in missing_calendar_years()])
    for _type, year, _clock, _threshold in sorted(inserted):
        notify(Kind.CALENDAR_MISSING, "calendar", SimpleNamespace(id=year, public_id=str(year)),
               admins, key=f"calendar_missing:{year}")
    db.session.commit()
    return len(inserted)


def _snapshot(users: list) -> list:
    """The accounts as loaded, kept out of the session so that the batches' commits do not
    expire them (the sweep reads their ids, agencies and roles, all loaded with them)."""
    for user in users:
        user.roles  # noqa: B018 - loaded before detaching
        db.session.expunge(user)
    return users


@dataclass
class _Sweep:
    """What one sweep keeps while it runs: the accounts of each set of agencies, who plays
    which part by party key, the email opt-outs, and for the clock it works on, who hears of
    what and who gets a digest instead."""

    now: datetime
    emailing: bool = field(default_factory=mail_enabled)
    accounts: dict = field(default_factory=dict)
    playing: dict = field(default_factory=dict)
    opted_out: set = field(default_factory=lambda: {
        (o.user_id, o.kind) for o in db.session.scalars(
            sa.select(EmailOptOut).where(EmailOptOut.kind.in_(SWEEP_KINDS)))})
    plans: dict = field(default_factory=dict)  # record id -> [(person, notice, threshold)]
    digests: Counter = field(default_factory=Counter)  # (person id, kind) -> how many
    digested: set = field(default_factory=set)  # ...whose digest is written

    def plan(self, clock: Clock, past: list[Threshold], record) -> list[tuple]:
        """Who hears of the thresholds a record crossed: each person once, of the highest
        that concerns them (they come first)."""
        audience = clock.workflow.notify
        agencies = frozenset(audience.agencies(record))
        if agencies not in self.accounts:
            self.accounts[agencies] = _snapshot(active_accounts(agencies))
        told, planned = set(), []
        for t in past:
            for notice in t.notices:
                for user in audience.members(clock.workflow, None, record, notice,
                                             self.accounts[agencies], self.playing):
                    if user.id not in told:
                        told.add(user.id)
                        planned.append((user, notice, t))
        return planned

    def start(self, clock: Clock, records: list, past: dict) -> None:
        """Plan a clock's notices; whoever would hear of more than DIGEST_AT records of one
        kind hears once, of how many."""
        self.plans = {r.id: self.plan(clock, past[r.id], r) for r in records}
        counts = Counter((user.id, notice.kind) for planned in self.plans.values()
                         for user, notice, _t in planned)
        self.digests = Counter({key: n for key, n in counts.items() if n > DIGEST_AT})
        self.digested = set()

    def _row(self, user, kind, subject_type, record, key) -> dict:
        return values(kind, subject_type, record, user.id, now=self.now, key=key,
                      emailed=self.emailing and bool(user.email)
                      and (user.id, kind) not in self.opted_out)

    def notifications(self, clock: Clock, record) -> list[dict]:
        # The deadline is in the key: one a new date replaced (an extension) is told again.
        due = deadlines.local_date(getattr(record, clock.due_at.key)).isoformat()
        rows = []
        for user, notice, t in self.plans[record.id]:
            digest = (user.id, notice.kind)
            if digest not in self.digests:
                rows.append(self._row(
                    user, notice.kind, clock.workflow.name, record,
                    f"{t.name}:{clock.workflow.name}:{record.id}:{due}:{clock.name}"))
            elif digest not in self.digested:  # with the first of its records
                self.digested.add(digest)
                subject = SimpleNamespace(id=self.digests[digest],
                                          public_id=f"{clock.workflow.name}:{clock.name}")
                rows.append(self._row(
                    user, notice.kind, DIGEST, subject,
                    f"{DIGEST}:{notice.kind}:{subject.public_id}:{self.now.isoformat()}"))
        return rows

    def batch(self, clock: Clock, records: list, past: dict) -> Counter:
        """Raise what a batch of records crossed (`past`: by record id, the thresholds
        crossed, highest first); commits. What this sweep raised, by threshold (another sweep
        at the same time may have raised some)."""
        subject_type = clock.workflow.name
        # One row a record, of the highest threshold crossed: it stands for those below.
        inserted = _insert_new_reminders([
            {"subject_type": subject_type, "subject_id": r.id, "clock": clock.name,
             "threshold": past[r.id][0].name, "raised_at": self.now} for r in records])
        mine = [r for r in records
                if (subject_type, r.id, clock.name, past[r.id][0].name) in inserted]
        steps = [(r, t) for r in mine for t in past[r.id] if t.step]
        if steps:
            db.session.execute(sa.insert(clock.step_table), [
                {clock.step_key: r.id, "action": t.step, "at": self.now, "comment": t.comment,
                 "actor_id": None, "agency_id": None} for r, t in steps])
            record_events([
                {"action": f"{subject_type}.escalate", "object_type": clock.model.__tablename__,
                 "object_id": r.public_id, "occurred_at": self.now,
                 "details": {"clock": clock.name, "step": t.name,
                             "working_days": t.working_days}} for r, t in steps])
        rows = [row for r in mine for row in self.notifications(clock, r)]
        if rows:
            db.session.execute(sa.insert(Notification.__table__), rows)
        db.session.commit()
        return Counter(t.name for r in mine for t in past[r.id])


def sweep(now: datetime | None = None) -> Counter:
    """Raise every reminder that is due; commits per batch. Returns what was raised, by
    threshold."""
    now = now or now_utc()
    run = _Sweep(now)
    raised = Counter()
    cal = load_calendar()
    for clock in CLOCKS:
        # Which records are past which threshold not raised yet (ids only: a few statements
        # however many records), then the records themselves once each, as rows.
        thresholds = _thresholds(clock, now, cal)
        names = [t.name for t in thresholds]
        crossed = [(t, set(db.session.scalars(
            sa.select(clock.model.id)
            .where(clock.running(), t.crossed, ~_raised(clock, names[:i + 1]))
            .order_by(clock.model.id))))
            for i, t in enumerate(thresholds)]
        ids = sorted(set().union(*(ids for _t, ids in crossed)))
        records = [record for start in range(0, len(ids), CHUNK)
                   for record in db.session.execute(
                       sa.select(clock.model.id, clock.due_at, *clock.columns)
                       .where(clock.model.id.in_(ids[start:start + CHUNK]), clock.running())
                       .order_by(clock.model.id))]
        past = {r.id: [t for t, ids in crossed if r.id in ids] for r in records}
        run.start(clock, records, past)
        for start in range(0, len(records), CHUNK):
            raised += run.batch(clock, records[start:start + CHUNK], past)
    missing = tell_missing_calendars(now)
    if missing:
        raised["calendar_missing"] = missing
    if sum(raised.values()) > ANALYZE_AFTER and db.session.get_bind().dialect.name == \
            "postgresql":
        # So many new rows at once (a backlog): refresh the planner's statistics now rather
        # than when autovacuum comes by, or the next sweep plans for an empty table.
        db.session.execute(sa.text("ANALYZE reminders"))
        db.session.commit()
    return raised
