"""The to-do centre: what waits for each person, counted as the list it links to shows it, in
a fixed number of statements; and the leader's one queue of approvals."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from supervise.database import now_utc
from supervise.extensions import db
from supervise.findings.models import FindingStatus
from tests.conftest import page_text
from tests.factories import FindingFactory, UserFactory
from tests.rectifications import factories as rectifications
from tests.referrals import factories as referrals
from tests.referrals.factories import S
from tests.support.api import counted, statements_per_caller

R = rectifications.S
PEOPLE = ("audit_staff", "audit_leader", "disc_staff", "disc_leader", "insp_staff",
          "unit_contact", "unit2_contact", "secadmin")


def district(world, n: int = 1):
    """`n` of every kind of thing that waits, between the audit bureau, the commission and
    区教育局."""
    long_ago = now_utc() - timedelta(days=120)
    for _ in range(n):
        for state in (S.DRAFT, S.PENDING_APPROVAL, S.SENT, S.ACKNOWLEDGED, S.ANSWERED,
                      S.RETURNED):
            referrals.referral_in(world, state)
        referrals.referral_in(world, S.SENT, sent_at=long_ago)  # both clocks overdue
        referrals.referral_in(world, S.IN_HANDLING, pending_extension=True)
        chased = referrals.referral_in(world, S.ACKNOWLEDGED)
        db.session.add(referrals.TimelineEntry(
            referral=chased, action="chase", actor=world.audit_staff,
            agency_id=world.audit.id, comment="请抓紧"))
        for status in (FindingStatus.DRAFT, FindingStatus.PENDING_ISSUE):
            FindingFactory(owner_agency=world.audit, unit=world.edu, status=status,
                           created_by=world.audit_staff)
        for state in (R.PENDING_VERIFICATION, R.SIGN_OFF_PENDING, R.IN_PROGRESS):
            rectifications.rectification_in(world, state)
        rectifications.rectification_in(world, R.NOT_STARTED, issued_at=long_ago)  # overdue
        db.session.commit()


@pytest.fixture
def secadmin(world):
    world.secadmin = UserFactory(username="sec.admin", agency=world.audit, roles=["secadmin"])
    db.session.commit()
    return world.secadmin


def todo(as_, name) -> dict[str, int]:
    answer = as_(name).get("/todo")
    assert answer.status_code == 200, answer.get_json()
    return {i["kind"]: i["count"] for i in answer.get_json()["items"]}


def test_each_person_is_counted_what_waits_for_them(world, as_, secadmin):
    district(world)
    assert todo(as_, "disc_staff") == {
        "referrals_acknowledge": 2, "referrals_answer": 3,
        "referrals_acknowledge_due_soon": 1, "referrals_acknowledge_overdue": 1,
        "referrals_answer_due_soon": 0, "referrals_answer_overdue": 1,
        "referrals_chased": 1}
    staff = todo(as_, "audit_staff")
    assert {k: v for k, v in staff.items() if not k.startswith("referrals_a")} | {} == {
        "referrals_chased": 0, "findings_submit": 1, "referrals_submit": 1,
        "referrals_decide_extension": 1, "referrals_confirm_answer": 1, "referrals_revise": 1,
        "rectifications_verify": 1, "rectifications_due_soon": 0, "rectifications_overdue": 1}
    leader = todo(as_, "audit_leader")
    assert (leader["findings_issue"], leader["referrals_approve"],
            leader["rectifications_sign_off"]) == (1, 1, 1)
    assert "findings_issue" not in staff and "referrals_approve" not in staff
    assert todo(as_, "unit_contact") == {"reports_due": 2, "reports_due_soon": 0,
                                         "reports_overdue": 1}
    assert todo(as_, "unit2_contact") == {"reports_due": 0, "reports_due_soon": 0,
                                          "reports_overdue": 0}
    assert set(todo(as_, "secadmin")) == {"calendar_missing"}


def test_every_count_is_the_total_of_the_list_it_links_to(app, world, as_, secadmin):
    district(world, 2)
    for name in PEOPLE:
        client = app.test_client()
        assert client.sign_in(getattr(world, name).username).status_code == 302
        for item in as_(name).get("/todo").get_json()["items"]:
            if item["kind"] == "calendar_missing":
                continue
            page = page_text(client.get(item["url"]))
            total = re.search(r"共(\d+)条", page)
            assert total and int(total[1]) == item["count"], (name, item)


def test_a_removed_receiver_revision_is_no_longer_to_revise(world, as_):
    referral = referrals.referral_in(world, S.RETURNED)
    assert todo(as_, "audit_staff")["referrals_revise"] == 1
    assert as_("audit_staff").post(f"/referrals/{referral.public_id}/revisions",
                                   json={}).status_code == 201
    assert todo(as_, "audit_staff")["referrals_revise"] == 0


def test_the_centre_runs_as_many_statements_for_many_records_as_for_few(world, as_,
                                                                        count_queries):
    people = [as_(n) for n in ("audit_leader", "disc_staff", "unit_contact")]
    district(world, 1)
    few = statements_per_caller(people, count_queries, counted("/todo"))
    district(world, 6)
    many = statements_per_caller(people, count_queries, counted("/todo"))
    assert few == many


def test_the_home_page_is_the_centre(app, world):
    district(world)
    client = app.test_client()
    assert client.sign_in("disc.staff").status_code == 302
    page = page_text(client.get("/"))
    assert "工作台" in page and "待签收" in page
    html = client.get("/").get_data(as_text=True)
    assert 'href="/referrals/inbox?need=acknowledge"' in html


def test_the_leaders_queue_holds_everything_that_waits_for_a_leader(app, world):
    district(world)
    client = app.test_client()
    assert client.sign_in("audit.leader").status_code == 302
    page = page_text(client.get("/approvals"))
    for what in ("待签发的问题", "待审批的移送事项", "待审批的销号", "待决定的延期申请"):
        assert what in page, what
    assert "张**" in page and "张某某" not in page  # persons involved masked
    staff = app.test_client()
    assert staff.sign_in("audit.staff").status_code == 302
    assert staff.get("/approvals").status_code == 403
