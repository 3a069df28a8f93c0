"""Reading notifications, on the pages and through the API: one's own only, newest first, the
record's title only while the reader may read the record, marking read once, the header's bell;
and nothing a notification shows ever carries the persons involved, facts or internal notes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from supervise.extensions import db
from supervise.findings.models import FindingStatus
from supervise.notifications.models import Kind as N
from supervise.notifications.models import Notification
from supervise.notifications.outbox import notify
from supervise.referrals.workflow import TRANSITIONS
from supervise.referrals.workflow import Action as A
from tests.factories import FindingFactory, ShareFactory
from tests.referrals import factories as referrals
from tests.referrals.factories import ACTOR, S, api_step
from tests.support.api import counted, statements_per_caller

EN = {"Accept-Language": "en"}


def notice(world, user, record, kind=N.CHASED, subject_type="referral"):
    [row] = notify(kind, subject_type, record, [user])
    db.session.commit()
    return row


def test_the_list_is_the_readers_own_newest_first(world, as_):
    first = referrals.referral_in(world, S.SENT, title="第一件")
    second = referrals.referral_in(world, S.SENT, title="第二件")
    notice(world, world.disc_staff, first)
    mine = notice(world, world.disc_staff, second, N.REFERRAL_RECEIVED)
    notice(world, world.disc_leader, second)
    answer = as_("disc_staff").get("/notifications", headers=EN).get_json()
    assert (answer["total"], answer["unread"]) == (2, 2)
    top = answer["items"][0]
    assert top["id"] == mine.public_id
    assert (top["kind"], top["kind_name"], top["title"]) == ("referral_received",
                                                               "Referral received", "第二件")
    assert top["record"] == {"type": "referral", "id": second.public_id}
    assert top["url"] == f"/referrals/{second.public_id}" and top["read_at"] is None
    assert [i["title"] for i in answer["items"]] == ["第二件", "第一件"]


def test_reading_one_is_once_and_only_ones_own(world, as_):
    referral = referrals.referral_in(world, S.SENT)
    row = notice(world, world.disc_staff, referral)
    assert as_("disc_leader").post(f"/notifications/{row.public_id}/read").status_code == 404
    read = as_("disc_staff").post(f"/notifications/{row.public_id}/read").get_json()
    assert read["read_at"] is not None
    again = as_("disc_staff").post(f"/notifications/{row.public_id}/read").get_json()
    assert again["read_at"] == read["read_at"]
    assert as_("disc_staff").get("/notifications", query_string={"unread": 1}).get_json()[
        "total"] == 0
    assert as_("disc_staff").get("/notifications").get_json()["total"] == 1


def test_all_read_at_once(world, as_):
    referral = referrals.referral_in(world, S.SENT)
    for _ in range(3):
        notice(world, world.disc_staff, referral)
    other = notice(world, world.disc_leader, referral)
    assert as_("disc_staff").post("/notifications/read").get_json() == {"marked": 3}
    assert as_("disc_staff").post("/notifications/read").get_json() == {"marked": 0}
    db.session.expire_all()
    assert db.session.get(Notification, other.id).read_at is None


def test_access_withdrawn_leaves_the_kind_and_no_title(world, as_):
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu, title="某专项资金问题")
    share = ShareFactory(finding=finding, agency=world.inspection)
    row = notice(world, world.insp_staff, finding, N.FINDING_SHARED, "finding")
    assert as_("insp_staff").list()["items"][0]["title"] == "某专项资金问题"
    share.withdrawn_at = share.shared_at
    db.session.commit()
    [item] = as_("insp_staff").list()["items"]
    assert item["title"] is None and item["kind"] == "finding_shared"
    client = world.client
    assert client.sign_in("insp.staff").status_code == 302
    page = client.get("/notifications?show=all").get_data(as_text=True)
    assert "某专项资金问题" not in page and "您已无权查看的记录" in page
    opened = client.get(f"/notifications/{row.public_id}")
    assert opened.status_code == 302 and opened.location.endswith(f"/findings/{finding.public_id}")
    assert client.get(opened.location).status_code == 404


def test_the_bell_counts_the_unread_and_the_page_marks_them_read(world):
    referral = referrals.referral_in(world, S.SENT)
    row = notice(world, world.disc_staff, referral)
    notice(world, world.disc_staff, referral)
    client = world.client
    assert client.sign_in("disc.staff").status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert 'aria-label="消息：2 条未读"' in home
    assert client.post_form(f"/notifications/{row.public_id}/read").status_code == 302
    assert 'aria-label="消息：1 条未读"' in client.get("/").get_data(as_text=True)
    opened = client.get(f"/notifications/{row.public_id}")
    assert opened.location.endswith(f"/referrals/{referral.public_id}")
    assert client.post_form("/notifications/read-all").status_code == 302
    assert 'aria-label="消息：0 条未读"' in client.get("/").get_data(as_text=True)
    assert client.get("/notifications?show=everything").status_code == 400


def test_a_list_runs_as_many_statements_for_fifty_as_for_five(world, as_, count_queries):
    def add(n):
        for i in range(n):
            referral = referrals.referral_in(world, S.SENT)
            finding = FindingFactory(owner_agency=world.discipline, unit=world.edu,
                                     status=FindingStatus.ISSUED)
            notice(world, world.disc_staff, referral)
            notice(world, world.disc_staff, finding, N.FINDING_SHARED, "finding")
            if i % 2:
                notice(world, world.disc_staff, referral, N.ANSWERED)

    add(5)
    few = statements_per_caller([as_("disc_staff")], count_queries,
                                counted("/notifications", per_page=100))
    add(45)
    many = statements_per_caller([as_("disc_staff")], count_queries,
                                 counted("/notifications", per_page=100))
    assert [rows for rows, _ in few] == [12] and [rows for rows, _ in many] == [100]
    assert [n for _, n in few] == [n for _, n in many]


# --- nothing sensitive ----------------------------------------------------------------------

PERSON, FACT, NOTE, REASON = "甲标记人名", "乙标记事实", "丙标记备注", "丁标记理由"


# A referral's whole life, with the texts of its steps carrying markers.
PATH = [(A.SUBMIT, None), (A.APPROVE, None), (A.CHASE, None), (A.ACKNOWLEDGE, None),
        (A.ASSIGN, None), (A.NOTE, {"comment": NOTE}),
        (A.REQUEST_EXTENSION, None), (A.DECIDE_EXTENSION, None),
        (A.ANSWER, {"disposition": "held", "result": f"结果：{FACT}"}),
        (A.REOPEN, {"reason": REASON}), (A.ANSWER, None), (A.CLOSE, None)]


def test_nothing_a_notification_shows_carries_what_it_must_not(app, world, as_):
    """A referral through its whole life, with unique markers in the persons involved, the
    facts, the internal notes and the reasons: no list, page or answer about notifications
    shows any of them to anyone, though each step told somebody."""
    referral = referrals.referral_in(world, S.DRAFT, persons=[(PERSON, "校长")],
                                     facts=f"事实：{FACT}")
    for action, body in PATH:
        url, default, success = api_step(action, referrals.reload(referral))
        if action == A.REQUEST_EXTENSION:
            default["reason"] = REASON
        response = as_(ACTOR[TRANSITIONS[action].party]).post(url, json=body or default)
        assert response.status_code == success, (action, response.get_json())
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) >= 10
    for name in ("audit_staff", "audit_leader", "disc_staff", "disc_leader", "insp_staff"):
        shown = as_(name).get("/notifications", query_string={"per_page": 100}).get_data(
            as_text=True)
        client = app.test_client()
        assert client.sign_in(getattr(world, name).username).status_code == 302
        shown += client.get("/notifications?show=all").get_data(as_text=True)
        for marker in (PERSON, FACT, NOTE, REASON):
            assert marker not in shown, (name, marker)


@pytest.mark.parametrize("query", ["unread=maybe", "page=0", "per_page=1000"])
def test_a_bad_query_is_refused(world, as_, query):
    assert as_("disc_staff").get(f"/notifications?{query}").status_code in (400, 422)
