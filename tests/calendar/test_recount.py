"""A change of the calendar counts the running deadlines again: a deadline counted weekends
only, because its year was not known yet, moves to where the official arrangement puts it; a
date someone chose stays. Each move is a step in the record's history and an event, and the
reminder sweep follows the new date without telling anyone twice."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from supervise.calendar import operations
from supervise.calendar.deadlines import local_date
from supervise.database import BEIJING_TIME
from supervise.extensions import db
from supervise.referrals.models import Extension, ExtensionDecision
from supervise.reminders import sweep
from tests.calendar.test_calendar_pages import ARRANGEMENT_2027
from tests.factories import UserFactory
from tests.helpers import events
from tests.rectifications import factories as rectifications
from tests.rectifications.conftest import as_, world  # noqa: F401  (the same district)
from tests.referrals import factories as referrals
from tests.referrals.factories import S


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING_TIME)


def day(moment) -> date:
    return local_date(moment)


@pytest.fixture
def secadmin(world):  # noqa: F811
    return UserFactory(username="sec", roles=["secadmin"])


def import_2027(secadmin):
    operations.import_year(secadmin, 2027, ARRANGEMENT_2027)
    db.session.commit()
    db.session.expire_all()


def test_deadlines_counted_weekends_only_move_to_the_arrangement(world, secadmin):  # noqa: F811
    # Sent on 30 December 2026: three working days to acknowledge were 31 December, 1 January
    # (a Friday, counted as a working day without the 2027 calendar) and 4 January.
    new_year = referrals.referral_in(world, S.SENT, sent_at=beijing(2026, 12, 30, 10))
    # Sent on 10 November 2026: three months to answer end on 10 February 2027, in the Spring
    # Festival of the 2027 arrangement (8–14 February off): the 15th.
    festival = referrals.referral_in(world, S.ACKNOWLEDGED, sent_at=beijing(2026, 11, 10, 10))
    assert day(new_year.acknowledge_by) == date(2027, 1, 4)
    assert not new_year.acknowledge_calendar_complete
    assert day(festival.answer_by) == date(2027, 2, 10)
    acknowledged_by = festival.acknowledge_by

    import_2027(secadmin)
    assert day(new_year.acknowledge_by) == date(2027, 1, 5)
    assert new_year.acknowledge_calendar_complete and new_year.answer_calendar_complete
    assert day(new_year.answer_by) == date(2027, 3, 30)  # no holiday near: stays
    assert day(festival.answer_by) == date(2027, 2, 15)
    # Five working days of warning: 3, 4, 5, 7 (a Sunday worked) and 15 February.
    assert day(festival.answer_warn_at) == date(2027, 2, 3)
    assert festival.acknowledge_by == acknowledged_by  # a stopped clock is history

    [ack] = [e for e in new_year.entries if e.action == "recount"]
    assert ack.actor_id is None and not ack.internal
    assert ack.comment == "按2027年节假日安排重新计算签收期限：由2027-01-04调整为2027-01-05。"
    assert [json.loads(e.details) for e in events("referral.recount")] == [
        {"year": 2027, "clock": "acknowledge", "from": "2027-01-04", "to": "2027-01-05"},
        {"year": 2027, "clock": "answer", "from": "2027-02-10", "to": "2027-02-15"}]


def test_the_receiver_reads_the_move_in_the_timeline(world, secadmin, as_):  # noqa: F811
    referral = referrals.referral_in(world, S.SENT, sent_at=beijing(2026, 12, 30, 10))
    import_2027(secadmin)
    for name in ("disc_staff", "audit_staff"):
        timeline = as_(name).get(f"/referrals/{referral.public_id}").get_json()["timeline"]
        assert "recount" in [e["action"] for e in timeline]
    assert as_("insp_staff").get(f"/referrals/{referral.public_id}").status_code == 404


def test_a_date_an_extension_set_stays(world, secadmin):  # noqa: F811
    referral = referrals.referral_in(world, S.IN_HANDLING, sent_at=beijing(2026, 11, 2, 10))
    extended = beijing(2027, 2, 10, 23, 59, 59)
    db.session.add(Extension(
        referral=referral, requested_by=world.disc_staff, reason="案情复杂",
        previous_answer_by=referral.answer_by, requested_answer_by=extended,
        decision=ExtensionDecision.APPROVED, decided_by=world.audit_leader,
        decided_at=referral.sent_at + timedelta(days=30)))
    referral.answer_by = extended
    db.session.commit()
    import_2027(secadmin)
    assert referral.answer_by == extended and referral.answer_calendar_complete
    assert events("referral.recount") == []


def test_a_default_report_date_moves_a_chosen_one_stays(world, secadmin):  # noqa: F811
    # Issued on 11 December 2026: sixty days end on 9 February 2027, in the Spring Festival.
    default = rectifications.rectification_in(world, rectifications.S.IN_PROGRESS,
                                              issued_at=beijing(2026, 12, 11, 10))
    chosen = rectifications.rectification_in(
        world, rectifications.S.NOT_STARTED, unit=world.health,
        issued_at=beijing(2026, 12, 11, 10), due_at=beijing(2027, 2, 9, 23, 59, 59))
    assert day(default.due_at) == date(2027, 2, 9) and not default.calendar_complete

    import_2027(secadmin)
    assert day(default.due_at) == date(2027, 2, 15) and default.calendar_complete
    assert day(chosen.due_at) == date(2027, 2, 9) and chosen.calendar_complete
    [step] = [s for s in default.steps if s.action == "recount"]
    assert step.comment == ("按2027年节假日安排重新计算整改情况报送期限："
                            "由2027-02-09调整为2027-02-15。")
    assert [json.loads(e.details)["to"] for e in events("rectification.recount")] == [
        "2027-02-15"]

    # Forgetting the year again counts weekends only once more, and says so.
    operations.remove_year(secadmin, 2027)
    db.session.commit()
    db.session.expire_all()
    assert day(default.due_at) == date(2027, 2, 9) and not default.calendar_complete
    assert not chosen.calendar_complete


def test_the_sweep_follows_the_moved_deadline_and_tells_nobody_twice(world, secadmin):  # noqa: F811
    referral = referrals.referral_in(world, S.SENT, sent_at=beijing(2026, 12, 30, 10))
    monday = beijing(2027, 1, 4, 12)
    assert sweep(monday) == {"due_soon": 1, "calendar_missing": 1}  # 2027 not known yet
    import_2027(secadmin)  # due on the 5th now
    assert sweep(monday) == {}
    assert sweep(beijing(2027, 1, 5, 12)) == {}  # would have been overdue before the import
    assert sweep(beijing(2027, 1, 6, 9)) == {"overdue": 1}
    assert day(referral.acknowledge_by) == date(2027, 1, 5)


def test_the_security_administrator_is_told_how_many_moved(app, world, secadmin):  # noqa: F811
    referrals.referral_in(world, S.SENT, sent_at=beijing(2026, 12, 30, 10))
    client = app.test_client()
    client.sign_in("sec")
    response = client.post_form("/settings/calendar", {"year": "2027", "text": ARRANGEMENT_2027},
                                follow_redirects=True)
    assert "按此安排重新计算的未到期期限：1个。" in response.text
    assert json.loads(events("calendar.import")[0].details)["moved"] == 1
    response = client.post_form("/settings/calendar/remove", {"year": "2027", "confirm": "1"},
                                follow_redirects=True)
    assert "按此安排重新计算的未到期期限：1个。" in response.text
