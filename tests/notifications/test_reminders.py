"""The reminder sweep: "due soon" to whoever must act, "overdue" to them and to whoever waits,
once per clock and threshold however often it runs, by the working-day calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from supervise.database import BEIJING_TIME, now_utc
from supervise.extensions import db
from supervise.notifications.models import Kind as N
from supervise.notifications.models import Notification, Reminder
from supervise.reminders import DIGEST_AT, sweep
from tests.helpers import race
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
    for _ in range(15):  # below the digest: each told of each
        referrals.referral_in(world, S.SENT)

    def run():
        with app.app_context():
            raised = sweep()
            db.session.remove()
            return raised

    results = race([run, run])
    assert sum(r.get("due_soon", 0) for r in results) == 15
    keys = [(n.recipient_id, n.key) for n in db.session.scalars(sa.select(Notification))]
    assert len(keys) == len(set(keys)) == 30


def test_a_backlog_is_told_as_a_count(world, as_):
    """More than DIGEST_AT reminders of one kind for one person at once: one notification of
    how many, which links to the to-do centre and names no record."""
    referrals_sent = [referrals.referral_in(world, S.SENT) for _ in range(DIGEST_AT + 1)]
    lone = rectifications.rectification_in(world, rectifications.S.IN_PROGRESS,
                                           due_at=referrals_sent[0].acknowledge_by)
    at = max(*(r.acknowledge_warn_at for r in referrals_sent), lone.warn_at) + timedelta(
        minutes=1)
    assert sweep(at) == {"due_soon": DIGEST_AT + 2}
    for name in ("disc_staff", "disc_leader"):
        [item] = as_(name).get("/notifications").get_json()["items"]
        assert item["record"] == {"type": "digest", "id": "referral:acknowledge"}
        assert item["kind"] == "due_soon" and item["url"] == "/"
        assert item["title"] == f"{DIGEST_AT + 1}件移送事项的签收"
    # The one rectification item is told as itself.
    [item] = as_("unit_contact").get("/notifications").get_json()["items"]
    assert item["record"] == {"type": "rectification", "id": lone.public_id}
    assert sweep(at) == {}


# --- the escalation ladder -------------------------------------------------------------------

def working_days_after(moment, n):
    from supervise.calendar import deadlines
    from supervise.calendar.models import load_calendar

    return deadlines.add_working_days(moment, n, load_calendar()).due_at


def test_the_ladder_chases_then_tells_the_leaders(world, as_):
    referral = referrals.referral_in(world, S.SENT)
    rid = referral.public_id
    due = referral.acknowledge_by
    sweep(due + timedelta(minutes=1))  # overdue
    before = told(world)
    # Overdue by five working days, not yet: nothing more.
    assert sweep(working_days_after(due, 5) - timedelta(minutes=1)) == {}
    raised = sweep(working_days_after(due, 5) + timedelta(minutes=1))
    assert raised == {"escalate_chase": 1}
    assert sorted(set(told(world)) - set(before)) == [
        ("audit_leader", N.ESCALATED, "acknowledge"),
        ("disc_leader", N.CHASED, "acknowledge"),
        ("disc_staff", N.CHASED, "acknowledge")]
    # A chaser of the platform, in the history both parties read, and an event.
    for name in ("audit_staff", "disc_staff"):
        timeline = as_(name).get(f"/referrals/{rid}").get_json()["timeline"]
        [chaser] = [e for e in timeline if e["actor"] is None]
        assert chaser["action"] == "chase" and chaser["agency"] is None
        assert "逾期5个工作日" in chaser["comment"]
    listed = as_("audit_staff").get("/referrals", query_string={"per_page": 100}).get_json()
    assert listed["items"][0]["chasers"]["count"] == 1
    from tests.helpers import events

    [event] = events("referral.escalate")
    assert event.object_id == rid and event.actor_id is None
    assert '"step": "escalate_chase"' in event.details
    # Overdue by ten: the commission's leader.
    before = told(world)
    assert sweep(working_days_after(due, 10) + timedelta(minutes=1)) == {
        "escalate_leader": 1}
    assert sorted(set(told(world)) - set(before)) == [
        ("disc_leader", N.ESCALATED, "acknowledge")]
    timeline = as_("audit_leader").get(f"/referrals/{rid}").get_json()["timeline"]
    assert [e["action"] for e in timeline if e["actor"] is None] == ["chase", "escalate"]
    assert sweep(working_days_after(due, 30)) == {}
    from supervise.events.log import verify_chain

    assert verify_chain()[1] is None
    # The sender's leader finds it in the escalation list.
    todo = {i["kind"]: i for i in as_("audit_leader").get("/todo").get_json()["items"]}
    assert todo["referrals_escalated"]["count"] == 1
    assert todo["referrals_escalated"]["url"] == "/referrals?need=escalated"


def test_the_ladder_follows_the_settings(world):
    from supervise.settings.models import Setting

    db.session.add_all([Setting(key="escalation_chase_working_days", value=1),
                        Setting(key="escalation_leader_working_days", value=2)])
    db.session.commit()
    referral = referrals.referral_in(world, S.IN_HANDLING)
    due = referral.answer_by
    assert sweep(working_days_after(due, 1) + timedelta(minutes=1)) == {
        "overdue": 1, "escalate_chase": 1}
    # Both crossed in one sweep: each person hears once, of the higher step.
    assert told(world) == [("audit_leader", N.ESCALATED, "answer"),
                           ("audit_staff", N.OVERDUE, "answer"),
                           ("disc_staff", N.CHASED, "answer")]
    assert sweep(working_days_after(due, 2) + timedelta(minutes=1)) == {"escalate_leader": 1}


def test_a_rectification_is_chased_then_the_audit_leader_told(world):
    item = rectifications.rectification_in(world, rectifications.S.NOT_STARTED)
    due = item.due_at
    assert sweep(working_days_after(due, 5) + timedelta(minutes=1)) == {
        "overdue": 1, "escalate_chase": 1}
    assert ("unit_contact", N.CHASED, "report") in told(world)
    assert sweep(working_days_after(due, 10) + timedelta(minutes=1)) == {"escalate_leader": 1}
    assert ("audit_leader", N.ESCALATED, "report") in told(world)
    steps = [(s.action, s.actor_id) for s in rectifications.steps(item)]
    assert ("chase", None) in steps and ("escalate", None) in steps


def test_an_answered_referral_climbs_no_further(world):
    referral = referrals.referral_in(world, S.ANSWERED)
    assert sweep(working_days_after(referral.answer_by, 20)) == {}


def test_an_approved_extension_starts_the_answer_reminders_again(world, as_):
    from tests.referrals.factories import Action, api_step, reload

    referral = referrals.referral_in(world, S.IN_HANDLING, pending_extension=True)
    late = referral.answer_by + timedelta(hours=1)
    assert sweep(late) == {"overdue": 1}
    url, body, status = api_step(Action.DECIDE_EXTENSION, referral)
    assert as_("audit_leader").post(url, json=body).status_code == status
    referral = reload(referral)
    assert sweep(late) == {}  # on time again
    assert sweep(referral.answer_by + timedelta(hours=1)) == {"overdue": 1}


def test_the_security_administrator_is_told_once_of_a_year_without_calendar(app, world):
    """Deadlines counted past the last year with an official calendar (weekends only): the
    security administrator hears of that year once, with no record named."""
    from supervise.calendar.models import CalendarYear
    from tests.factories import UserFactory

    last = db.session.scalar(sa.select(sa.func.max(CalendarYear.year)))
    referral = referrals.referral_in(world, S.IN_HANDLING)
    referral.answer_by = beijing(last + 1, 3, 2, 23, 59, 59)
    referral.answer_calendar_complete = False
    db.session.commit()
    assert sweep(beijing(last, 12, 1)).get("calendar_missing", 0) == 0  # nobody to tell yet
    admin = UserFactory(username="sec.admin", agency=world.audit, roles=["secadmin"])
    db.session.commit()
    assert sweep(beijing(last, 12, 1))["calendar_missing"] == 1
    assert "calendar_missing" not in sweep(beijing(last, 12, 2))
    [row] = db.session.scalars(sa.select(Notification).where(
        Notification.recipient_id == admin.id)).all()
    assert (row.kind, row.subject_type, row.subject_id) == (N.CALENDAR_MISSING, "calendar",
                                                            last + 1)
    client = app.test_client()
    assert client.sign_in("sec.admin").status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert f"{last + 1}年工作日历" in page and referral.title not in page
    opened = client.get(f"/notifications/{row.public_id}")
    assert opened.location.endswith(f"/settings/calendar?year={last + 1}")
    assert client.get(opened.location).status_code == 200
