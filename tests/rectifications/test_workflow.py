"""The rectification workflow through the API: the whole transition table (every action from
every state, for the right party, a wrong party and outsiders), issuing, the rules on input, and
the report-by clock.

The expectations are read from `supervise.rectifications.workflow.TRANSITIONS`, never repeated
here: the table is what the operations, the pages and these tests share.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from supervise.extensions import db
from supervise.findings.models import FindingStatus, Handling
from supervise.rectifications.models import Plan, Rectification, RectificationState
from supervise.rectifications.workflow import TRANSITIONS, Action, Party
from supervise.settings.models import Setting
from tests.factories import FindingFactory, ShareFactory
from tests.helpers import events
from tests.rectifications.factories import (
    ACTOR,
    OUTSIDERS,
    S,
    api_step,
    count,
    finding_for,
    label,
    rectification_in,
    reload,
    reports,
    snapshot,
    steps,
)
from tests.referrals.factories import shanghai
from tests.support.records import unchanged

EN = {"Accept-Language": "en"}


# --- the transition table -------------------------------------------------------------------

# The parts each person plays in an item the audit bureau issued to 区教育局.
PARTIES_OF = {
    "audit_staff": {Party.OWNER},
    "audit_leader": {Party.OWNER, Party.OWNER_LEADER},
    "unit_contact": {Party.UNIT},
}
# A report is final (the unit says it is done) or interim; both are the one action REPORT.
CASES = [("report-interim", Action.REPORT), ("report-final", Action.REPORT),
         *((a.value, a) for a in TRANSITIONS if a != Action.REPORT)]


def expected_state(case: str, plan: Plan, state: RectificationState) -> RectificationState:
    transition = TRANSITIONS[dict(CASES)[case]]
    if transition.target is not None:
        return transition.target
    reworking = S.LONG_TERM if plan == Plan.LONG_TERM else S.IN_PROGRESS
    if case == "report-final":
        return S.PENDING_VERIFICATION
    if case in ("report-interim", Action.SEND_BACK.value):
        return reworking
    return state  # a chaser changes nothing but the history


@pytest.mark.parametrize("state", list(RectificationState), ids=[s.value for s in S])
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_the_transition_table(world, as_, case, state):
    action = dict(CASES)[case]
    transition = TRANSITIONS[action]
    rectification = rectification_in(world, state)
    url, body, success = api_step(case, rectification)
    for name in (*OUTSIDERS, *PARTIES_OF):
        as_(name)  # tokens first: issuing one is no change to the item
    before = snapshot(rectification)

    # Outsiders do not learn that the item exists: the inspection office, the commission, the
    # organisation department, another audit bureau, another unit's contact.
    for name in OUTSIDERS:
        response = as_(name).post(url, json=body, headers=EN)
        assert response.status_code == 404, (name, response.get_json())
        assert response.get_json() == {"status": 404, "message": "Not found."}
        assert snapshot(rectification) == before

    # A party that is not the one the table names may not, whatever the state: the unit does not
    # verify, audit staff do not approve a sign-off, the audit bureau does not report.
    for name, mine in PARTIES_OF.items():
        if transition.party in mine:
            continue
        response = as_(name).post(url, json=body, headers=EN)
        assert response.status_code == 403, (name, response.get_json())
        assert snapshot(rectification) == before

    actor = ACTOR[transition.party]
    response = as_(actor).post(url, json=body, headers=EN)
    if state not in transition.sources:
        assert response.status_code == 409, response.get_json()
        assert label(state) in response.get_json()["message"]
        assert snapshot(rectification) == before
        return

    assert response.status_code == success, response.get_json()
    expected = expected_state(case, rectification.plan, state)
    answer = response.get_json()
    assert answer["state"] == expected.value
    row = reload(rectification)
    assert row.state == expected
    assert row.version == before["rectification"]["version"] + (expected != state)
    new_steps = steps(rectification)[len(before["steps"]):]
    assert [s.action for s in new_steps] == [action.value]
    assert new_steps[0].from_state == state.value
    assert new_steps[0].to_state == (None if action == Action.CHASE else expected.value)
    assert new_steps[0].actor.username == getattr(world, actor).username
    [event] = events(f"rectification.{action.value}")
    assert event.object_id == rectification.public_id
    assert event.actor_username == getattr(world, actor).username
    new_reports = reports(rectification)[len(before["reports"]):]
    if action == Action.REPORT:
        [report] = new_reports
        assert report.final is (case == "report-final")
        assert report.amount_recovered == Decimal("1000.50")
        assert report.submitted_by.username == world.unit_contact.username
    else:
        assert new_reports == []


def test_the_table_covers_every_action_the_issue_names():
    assert {a.value for a in TRANSITIONS} == {"report", "verify", "sign-off", "approve-sign-off",
                                              "send-back", "chase"}


def test_sign_off_needs_the_leaders_approval(world, as_):
    """Audit staff request the sign-off; only a leader of the audit bureau grants it."""
    rectification = rectification_in(world, S.VERIFIED)
    rid = rectification.public_id
    assert as_("audit_staff").post(f"/rectifications/{rid}/sign-off").status_code == 200
    assert reload(rectification).state == S.SIGN_OFF_PENDING
    refused = as_("audit_staff").post(f"/rectifications/{rid}/approve-sign-off")
    assert refused.status_code == 403
    assert reload(rectification).state == S.SIGN_OFF_PENDING
    assert reload(rectification).signed_off_at is None
    # Nor may the leader skip the request: straight from verified is the wrong state.
    other = rectification_in(world, S.VERIFIED)
    skipped = as_("audit_leader").post(f"/rectifications/{other.public_id}/approve-sign-off")
    assert skipped.status_code == 409
    assert reload(other).state == S.VERIFIED

    approved = as_("audit_leader").post(f"/rectifications/{rid}/approve-sign-off",
                                        json={"comment": "同意销号"})
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["state"] == "signed_off" and body["signed_off_by"] == "审计局长"
    assert body["signed_off_at"].endswith("+08:00") and body["actions"] == []
    row = reload(rectification)
    assert row.signed_off_by.username == "audit.leader" and row.signed_off_at is not None


@pytest.mark.parametrize("plan", list(Plan), ids=[p.value for p in Plan])
def test_interim_reports_and_send_backs_follow_the_plan(world, as_, plan):
    rework = S.LONG_TERM if plan == Plan.LONG_TERM else S.IN_PROGRESS
    fresh = rectification_in(world, S.NOT_STARTED, plan=plan)
    response = as_("unit_contact").post(f"/rectifications/{fresh.public_id}/reports",
                                        json={"measures": "已制定整改方案"})
    assert response.status_code == 201, response.get_json()
    assert reload(fresh).state == rework
    for state in (S.PENDING_VERIFICATION, S.VERIFIED, S.SIGN_OFF_PENDING):
        item = rectification_in(world, state, plan=plan)
        response = as_("audit_staff").post(f"/rectifications/{item.public_id}/send-back",
                                           json={"reason": "未提供退款凭证"})
        assert response.status_code == 200, response.get_json()
        assert reload(item).state == rework
        # The unit reports again and may say it is done.
        again = as_("unit_contact").post(f"/rectifications/{item.public_id}/reports",
                                         json={"measures": "已补充退款凭证", "final": True})
        assert again.status_code == 201
        assert reload(item).state == S.PENDING_VERIFICATION


# --- the rules on input ---------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   ", ...], ids=["null", "empty", "blank",
                                                                 "missing"])
def test_a_send_back_needs_a_reason(world, as_, reason):
    rectification = rectification_in(world, S.PENDING_VERIFICATION)
    with unchanged(snapshot, rectification):
        body = {"comment": "见附件"} if reason is ... else {"reason": reason}
        response = as_("audit_staff").post(f"/rectifications/{rectification.public_id}/send-back",
                                           json=body, headers=EN)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["errors"] == {"reason": "Give a reason."}


@pytest.mark.parametrize("body", [{}, {"comment": " "}, {"comment": None}])
def test_a_chaser_needs_a_message(world, as_, body):
    rectification = rectification_in(world, S.NOT_STARTED)
    with unchanged(snapshot, rectification):
        response = as_("audit_staff").post(f"/rectifications/{rectification.public_id}/chase",
                                           json=body)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"comment"}


def test_a_report_on_a_signed_off_item_is_refused(world, as_):
    rectification = rectification_in(world, S.SIGNED_OFF)
    url = f"/rectifications/{rectification.public_id}/reports"
    with unchanged(snapshot, rectification):
        response = as_("unit_contact").post(url, json={"measures": "补充整改", "final": True},
                                            headers=EN)
        assert response.status_code == 409
        assert label(S.SIGNED_OFF) in response.get_json()["message"]


BAD_AMOUNTS = [
    ("negative", "-100.00"),
    ("negative zero-ish", "-0.01"),
    ("not a number", "一百元"),
    ("letters", "12a.00"),
    ("three decimals", "100.123"),
    ("exponent", "1e3"),
    ("a JSON number", 100.5),
    ("a JSON integer", 100),
    ("a boolean", True),
    ("too large", "99999999999999999.00"),
]


@pytest.mark.parametrize("amount", [a for _, a in BAD_AMOUNTS], ids=[c for c, _ in BAD_AMOUNTS])
def test_a_bad_amount_is_refused(world, as_, amount):
    rectification = rectification_in(world, S.IN_PROGRESS)
    url = f"/rectifications/{rectification.public_id}/reports"
    with unchanged(snapshot, rectification):
        response = as_("unit_contact").post(url, json={"measures": "已退回资金",
                                                       "amount_recovered": amount})
        assert response.status_code == 422, response.get_json()
        assert set(response.get_json()["errors"]) == {"amount_recovered"}


@pytest.mark.parametrize(("amount", "stored"), [
    ("1234.5", Decimal("1234.50")), ("1,234,567.89", Decimal("1234567.89")),
    ("0", Decimal("0.00")), (None, None), ("", None),
])
def test_good_amounts_are_kept_exactly(world, as_, amount, stored):
    rectification = rectification_in(world, S.IN_PROGRESS)
    response = as_("unit_contact").post(f"/rectifications/{rectification.public_id}/reports",
                                        json={"measures": "已退回资金", "amount_recovered": amount})
    assert response.status_code == 201, response.get_json()
    assert reports(rectification)[-1].amount_recovered == stored
    shown = response.get_json()["reports"][-1]["amount_recovered"]
    assert shown == (None if stored is None else str(stored))


@pytest.mark.parametrize("body", [
    {}, {"measures": ""}, {"measures": "   "}, {"measures": None}, {"final": True},
    {"measures": "长" * 20001},
], ids=["nothing", "empty", "blank", "null", "final only", "too long"])
def test_a_report_needs_its_measures(world, as_, body):
    rectification = rectification_in(world, S.NOT_STARTED)
    with unchanged(snapshot, rectification):
        response = as_("unit_contact").post(f"/rectifications/{rectification.public_id}/reports",
                                            json=body)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"measures"}


@pytest.mark.parametrize("body", [
    {"measures": "整改", "colour": "red"},
    {"measures": "整改", "state": "signed_off"},
    {"measures": ["整改"]},
    {"measures": "整改", "version": "1"},
    {"measures": "整改", "final": "perhaps"},
    {"measures": "整改", "rules": "长" * 5001},
])
def test_misshapen_reports_are_a_422(world, as_, body):
    rectification = rectification_in(world, S.NOT_STARTED)
    with unchanged(snapshot, rectification):
        response = as_("unit_contact").post(f"/rectifications/{rectification.public_id}/reports",
                                            json=body)
        assert response.status_code == 422, response.get_json()


@pytest.mark.parametrize("path", ["/report", "/issue", "/read", "/delete", "/verify/now",
                                  "/approve"])
def test_an_unknown_action_is_a_404(world, as_, path):
    rectification = rectification_in(world, S.PENDING_VERIFICATION)
    with unchanged(snapshot, rectification):
        response = as_("audit_leader").post(f"/rectifications/{rectification.public_id}{path}",
                                            json={"comment": "好"})
        assert response.status_code == 404


def test_an_action_on_an_unknown_item_is_a_404(world, as_):
    assert as_("audit_staff").post("/rectifications/no-such-item/verify").status_code == 404
    assert as_("unit_contact").post("/rectifications/no-such-item/reports",
                                    json={"measures": "整改"}).status_code == 404


# --- issuing --------------------------------------------------------------------------------


def issue(as_, finding, body=None, name="audit_staff"):
    return as_(name).post(f"/findings/{finding.public_id}/rectification",
                          json={"plan": "staged"} if body is None else body, headers=EN)


@pytest.mark.parametrize(("plan", "due"), [
    # 60 days after 2026-08-03 is Friday 2026-10-02, in the National Day holiday (Oct 1-7):
    # the next working day, Thursday Oct 8.
    ("staged", date(2026, 10, 8)),
    ("long_term", date(2026, 10, 8)),
    # 30 days: Wednesday 2026-09-02, a working day.
    ("immediate", date(2026, 9, 2)),
])
def test_the_default_report_by_date(world, as_, plan, due):
    finding = finding_for(world)
    with time_machine.travel(shanghai(date(2026, 8, 3), 10), tick=False):
        response = issue(as_, finding, {"plan": plan})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["due_at"] == f"{due.isoformat()}T23:59:59+08:00"
    assert body["issued_at"] == "2026-08-03T10:00:00+08:00"
    assert body["calendar_complete"] is True
    assert body["state"] == "not_started" and body["plan"] == plan and body["version"] == 1
    assert body["finding"] == finding.public_id
    assert body["unit"] == {"code": "edu", "name": "区教育局"}
    assert body["issued_by"] == "审计员甲" and body["reports"] == []
    # The text as issued: a copy, which later edits of the finding do not change.
    for field in ("title", "facts", "legal_basis", "recommendation"):
        assert body[field] == getattr(finding, field)
    assert body["amount"] == "123456.00"
    assert [s["action"] for s in body["steps"]] == ["issue"]
    assert body["actions"] == ["chase"]
    [event] = events("rectification.issue")
    assert event.actor_username == "audit.staff" and event.object_id == body["id"]
    assert json.loads(event.details) == {"finding": finding.public_id, "plan": plan,
                                         "due": due.isoformat()}


def test_a_default_report_by_date_on_a_weekend_moves_to_monday(world, as_):
    finding = finding_for(world)
    # 30 days after Thursday 2026-08-06 is Saturday 2026-09-05.
    with time_machine.travel(shanghai(date(2026, 8, 6), 16), tick=False):
        response = issue(as_, finding, {"plan": "immediate"})
    assert response.get_json()["due_at"] == "2026-09-07T23:59:59+08:00"


def test_the_settings_decide_the_default(world, as_):
    db.session.add(Setting(key="rectification_days", value=90))
    db.session.commit()
    finding = finding_for(world)
    with time_machine.travel(shanghai(date(2026, 8, 3), 10), tick=False):
        response = issue(as_, finding, {"plan": "staged"})
    assert response.get_json()["due_at"] == "2026-11-02T23:59:59+08:00"  # 2026-11-01 is Sunday


@pytest.mark.parametrize(("due", "complete"), [("2026-09-15", True), ("2027-02-01", False)])
def test_an_explicit_report_by_date(world, as_, due, complete):
    finding = finding_for(world)
    with time_machine.travel(shanghai(date(2026, 8, 3), 10), tick=False):
        response = issue(as_, finding, {"plan": "staged", "due_at": due})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["due_at"] == f"{due}T23:59:59+08:00"
    # 2027 has no official calendar data yet: weekends only, and the item says so.
    assert body["calendar_complete"] is complete


@pytest.mark.parametrize(("body", "field"), [
    ({"plan": "staged", "due_at": "2026-08-02"}, "due_at"),  # yesterday
    ({"plan": "staged", "due_at": "2026-08-03"}, "due_at"),  # today
    ({"plan": "staged", "due_at": "2020-01-01"}, "due_at"),
    ({"plan": "staged", "due_at": "2026-02-30"}, "due_at"),
    ({"plan": "staged", "due_at": "next month"}, "due_at"),
    ({"plan": "staged", "due_at": 20261001}, "due_at"),
    ({"plan": "whenever"}, "plan"),
    ({"plan": ""}, "plan"),
    ({}, "plan"),
    ({"plan": "staged", "state": "signed_off"}, "state"),
])
def test_bad_issues_are_a_422_and_issue_nothing(world, as_, body, field):
    finding = finding_for(world)
    with time_machine.travel(shanghai(date(2026, 8, 3), 10), tick=False):
        response = issue(as_, finding, body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(Rectification) == 0 and events("rectification.issue") == []


def test_a_draft_finding_cannot_be_issued(world, as_):
    finding = finding_for(world, status=FindingStatus.DRAFT, issued_at=None)
    response = issue(as_, finding)
    assert response.status_code == 409
    assert count(Rectification) == 0


def test_a_finding_is_issued_once(world, as_):
    finding = finding_for(world)
    assert issue(as_, finding).status_code == 201
    again = issue(as_, finding, {"plan": "immediate"}, name="audit_leader")
    assert again.status_code == 409
    assert count(Rectification) == 1 and len(events("rectification.issue")) == 1


def test_only_the_owner_issues_its_finding(world, as_):
    # The inspection office's finding, shared with the audit bureau: visible, not owned.
    shared = FindingFactory(owner_agency=world.inspection, unit=world.edu,
                            created_by=world.insp_staff)
    ShareFactory(finding=shared, agency=world.audit, handling=Handling.MAY_REFER,
                 shared_by=world.insp_staff)
    assert issue(as_, shared).status_code == 403
    # Another audit bureau's finding, not shared: not even visible.
    hidden = FindingFactory(owner_agency=world.audit2, unit=world.edu,
                            created_by=world.audit2_staff)
    assert issue(as_, hidden).status_code == 404
    # The audited unit and the other agencies cannot reach the audit bureau's finding at all.
    own = finding_for(world)
    for name in ("unit_contact", "unit2_contact", "disc_staff", "org_staff", "insp_staff"):
        assert issue(as_, own, name=name).status_code == 404, name
    assert issue(as_, FindingFactory.build(public_id="no-such-finding")).status_code == 404
    assert count(Rectification) == 0
    # The inspection office issues its own findings.
    response = issue(as_, shared, name="insp_staff")
    assert response.status_code == 201
    assert response.get_json()["owner"]["code"] == "inspection"


# --- the report-by clock --------------------------------------------------------------------


def read(as_, rectification, at, name="audit_staff"):
    with time_machine.travel(at, tick=False):
        response = as_(name).get(f"/rectifications/{rectification.public_id}")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def issued(world, as_):
    """Issued on 2026-08-03 at 10:00 with a staged plan: report by 2026-10-08. Five working days
    before it, counting it, are Sep 24, 28, 29, 30 and Oct 8 (Sep 25-27 are the Mid-Autumn
    holiday, Oct 1-7 National Day)."""
    finding = finding_for(world)
    with time_machine.travel(shanghai(date(2026, 8, 3), 10), tick=False):
        rid = issue(as_, finding).get_json()["id"]
    return reload(rid)


def test_the_clock_runs_to_overdue(world, as_, issued):
    due = shanghai(date(2026, 10, 8), 23, 59, 59)
    assert read(as_, issued, shanghai(date(2026, 9, 23), 23, 59, 59))["clock"] == "on_time"
    assert read(as_, issued, shanghai(date(2026, 9, 24)))["clock"] == "due_soon"
    assert read(as_, issued, due)["clock"] == "due_soon"
    overdue = read(as_, issued, due + timedelta(seconds=1))
    assert overdue["clock"] == "overdue" and overdue["actions"] == ["chase"]
    # The unit reads the same clock.
    assert read(as_, issued, due + timedelta(seconds=1), "unit_contact")["clock"] == "overdue"
    # Overdue: the audit bureau chases.
    with time_machine.travel(due + timedelta(days=1), tick=False):
        chased = as_("audit_staff").post(f"/rectifications/{issued.public_id}/chase",
                                         json={"comment": "已逾期，请立即报送整改情况"})
    assert chased.status_code == 200, chased.get_json()
    assert chased.get_json()["clock"] == "overdue"
    assert chased.get_json()["state"] == "not_started"
    [event] = events("rectification.chase")
    assert event.object_id == issued.public_id


def test_an_interim_report_does_not_stop_the_clock(world, as_, issued):
    with time_machine.travel(shanghai(date(2026, 9, 1), 9), tick=False):
        response = as_("unit_contact").post(f"/rectifications/{issued.public_id}/reports",
                                            json={"measures": "已制定整改方案"})
    assert response.get_json()["clock"] == "on_time"
    assert read(as_, issued, shanghai(date(2026, 10, 9)))["clock"] == "overdue"


def test_a_final_report_in_time_meets_the_clock(world, as_, issued):
    with time_machine.travel(shanghai(date(2026, 10, 8), 23, 59, 59), tick=False):
        response = as_("unit_contact").post(f"/rectifications/{issued.public_id}/reports",
                                            json={"measures": "已全部整改", "final": True})
    assert response.status_code == 201
    assert response.get_json()["clock"] == "met"
    later = read(as_, issued, shanghai(date(2026, 12, 1)))
    assert later["clock"] == "met" and later["rectified_at"] == "2026-10-08T23:59:59+08:00"
    assert later["state"] == "pending_verification"


def test_a_late_final_report_is_met_late(world, as_, issued):
    with time_machine.travel(shanghai(date(2026, 10, 9), 0, 0, 1), tick=False):
        response = as_("unit_contact").post(f"/rectifications/{issued.public_id}/reports",
                                            json={"measures": "已全部整改", "final": True})
    assert response.get_json()["clock"] == "met_late"
    # A chaser belongs to an open item only.
    with time_machine.travel(shanghai(date(2026, 10, 10)), tick=False):
        chased = as_("audit_staff").post(f"/rectifications/{issued.public_id}/chase",
                                         json={"comment": "催办"})
    assert chased.status_code == 409


def test_the_clock_filters(world, as_):
    now = shanghai(date(2026, 9, 28), 12)
    with time_machine.travel(now, tick=False):
        # issued 2026-08-03: report by Oct 8, due soon since Sep 24
        soon = rectification_in(world, S.IN_PROGRESS, issued_at=shanghai(date(2026, 8, 3), 10))
        # issued 2026-07-01: report by Aug 31 (60 days is Aug 30, a Sunday): overdue
        late = rectification_in(world, S.NOT_STARTED, issued_at=shanghai(date(2026, 7, 1), 10))
        # issued 2026-09-01: report by Oct 31: on time
        on_time = rectification_in(world, S.LONG_TERM,
                                   issued_at=shanghai(date(2026, 9, 1), 10))
        # rectified (final report in) but overdue by the date: its clock is met
        rectification_in(world, S.PENDING_VERIFICATION,
                         issued_at=shanghai(date(2026, 7, 1), 10))
        rectification_in(world, S.SIGNED_OFF, issued_at=shanghai(date(2026, 8, 3), 10))
        owner = as_("audit_staff")
        assert owner.ids(clock="due_soon") == {soon.public_id}
        assert owner.ids(clock="overdue") == {late.public_id}
        rows = {i["id"]: i["clock"] for i in owner.list()["items"]}
        assert rows[soon.public_id] == "due_soon" and rows[late.public_id] == "overdue"
        assert rows[on_time.public_id] == "on_time"
        assert sorted(rows.values()) == ["due_soon", "met", "met", "on_time", "overdue"]
        assert as_("unit_contact").ids(clock="overdue") == {late.public_id}
