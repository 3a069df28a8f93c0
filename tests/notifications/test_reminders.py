"""The reminder sweep: "due soon" to whoever must act, "overdue" to them and to whoever waits,
once per clock and threshold however often it runs, by the working-day calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from supervise.database import BEIJING_TIME, now_utc
from supervise.extensions import db
from supervise.notifications.models import Kind as N
from supervise.notifications.models import Notification, Reminder
from supervise.reminders import sweep
from tests.rectifications import factories as rectifications
from tests.referrals import factories as referrals
from tests.referrals.factories import S

NAMES = ("audit_staff", "audit_leader", "disc_staff", "disc_leader", "unit_contact",
         "unit2_contact", "insp_staff")


def told(world) -> list[tuple[str, N, str]]:
    db.session.expire_all()
    names = {getattr(world, n).id: n for n in NAMES}
    return sorted((names[n.recipient_id], n.kind, n.key.split(":")[-1])
                  for n in db.session.scalars(sa.select(Notification)))


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING_TIME)


def test_due_soon_then_overdue_once_each(world):
    referral = referrals.referral_in(world, S.SENT, sent_at=now_utc() - timedelta(hours=1))
    # Three working days to acknowledge are within the five of the warning: due soon at once,
    # to the commission (nobody in charge yet: both of its people).
    assert sweep() == {"due_soon": 1}
    due_soon = [("disc_leader", N.DUE_SOON, "acknowledge"),
                ("disc_staff", N.DUE_SOON, "acknowledge")]
    assert told(world) == due_soon
    assert sweep() == {} and sweep() == {}
    # Past the deadline: the commission, and the drafter who waits for it.
    past = referral.acknowledge_by + timedelta(minutes=1)
    assert sweep(past) == {"overdue": 1}
    overdue = [("audit_staff", N.OVERDUE, "acknowledge"),
               ("disc_leader", N.OVERDUE, "acknowledge"),
               ("disc_staff", N.OVERDUE, "acknowledge")]
    assert told(world) == sorted(due_soon + overdue)
    assert sweep(past) == {}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 2


def test_a_clock_that_stopped_is_not_reminded(world):
    referral = referrals.referral_in(world, S.ANSWERED)
    closed = referrals.referral_in(world, S.CLOSED)
    assert sweep(referral.answer_by + timedelta(days=1)) == {}
    assert sweep(closed.answer_by + timedelta(days=1)) == {}
    assert told(world) == []


def test_the_handler_is_reminded_once_there_is_one(world):
    referral = referrals.referral_in(world, S.IN_HANDLING)  # handled by disc_staff
    assert sweep(referral.answer_by + timedelta(hours=1)) == {"overdue": 1}
    assert told(world) == [("audit_staff", N.OVERDUE, "answer"),
                           ("disc_staff", N.OVERDUE, "answer")]


def test_the_unit_and_the_auditor_are_reminded_of_a_report(world):
    item = rectifications.rectification_in(world, rectifications.S.IN_PROGRESS)
    assert sweep(item.warn_at + timedelta(minutes=1)) == {"due_soon": 1}
    assert sweep(item.due_at + timedelta(minutes=1)) == {"overdue": 1}
    assert told(world) == [("audit_staff", N.OVERDUE, "report"),
                           ("unit_contact", N.DUE_SOON, "report"),
                           ("unit_contact", N.OVERDUE, "report")]
    assert sweep(item.due_at + timedelta(days=3)) == {}


def test_the_working_day_calendar_decides_not_the_weekdays(world):
    """Sent on Friday 13 February 2026, before the Spring Festival (15–23 February off,
    Saturday 14th a working day): three working days to acknowledge run to 25 February.
    Counting weekdays only would have made it overdue on the 19th."""
    referral = referrals.referral_in(world, S.SENT, sent_at=beijing(2026, 2, 13, 10))
    assert referral.acknowledge_by.astimezone(BEIJING_TIME).date().isoformat() == "2026-02-25"
    sweep(beijing(2026, 2, 20, 12))
    assert ("disc_staff", N.OVERDUE, "acknowledge") not in told(world)
    sweep(beijing(2026, 2, 26, 9))
    assert ("disc_staff", N.OVERDUE, "acknowledge") in told(world)


def test_two_sweeps_at_once_raise_each_reminder_once(app, world):
    import threading

    for _ in range(30):
        referrals.referral_in(world, S.SENT)
    results = []

    def run():
        with app.app_context():
            results.append(sweep())
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.get("due_soon", 0) for r in results) == 30
    keys = [(n.recipient_id, n.key) for n in db.session.scalars(sa.select(Notification))]
    assert len(keys) == len(set(keys)) == 60
