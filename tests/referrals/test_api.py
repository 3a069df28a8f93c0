"""The referrals API (/api/v1): creating and editing, who sees what, lists, evidence."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from supervise.attachments.models import Attachment
from supervise.extensions import db
from supervise.findings.models import Handling
from supervise.referrals.models import Disposition, Referral, ReferralState
from supervise.referrals.workflow import CHASEABLE
from tests.factories import FindingFactory, ShareFactory, UserFactory
from tests.helpers import events, files, integer_keys
from tests.referrals.factories import OUTSIDERS, S, entries, referral_in, reload, snapshot
from tests.support.api import Caller, counted, statements_per_caller
from tests.support.files import EXE, PDF
from tests.support.records import unchanged


def body_for(**changes):
    body = {"receiver": "discipline", "kind": "clue",
            "title": "关于区教育局违规发放津补贴的问题线索",
            "audit_scope": "2025年度区教育局部门预算执行审计",
            "facts": "区教育局2025年以加班费名义违规发放津补贴123456.00元。",
            "classification": "违规发放津补贴", "basis": "《审计法》第五十二条",
            "opinion": "建议依规依纪依法处理", "feedback_request": "请于三个月内书面反馈",
            "persons_involved": [{"name": "王某某", "position": "局长"},
                                 {"name": "赵某", "position": "财务科科长"}],
            "findings": []}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- creating, reading, editing -------------------------------------------------------------


def test_create_then_read_a_referral(world, as_):
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff, title="违规发放津补贴")
    response = as_("audit_staff").post("/referrals",
                                       json=body_for(findings=[finding.public_id]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["state"] == "draft" and body["version"] == 1
    assert len(body["id"]) == 16 and integer_keys(body) == []
    assert body["sender"] == {"code": "audit", "name": "区审计局"}
    assert body["receiver"] == {"code": "discipline", "name": "区纪委监委"}
    assert body["kind"] == "clue"
    # Masked in the answer to a change: in full only when the referral is read (an event).
    assert body["persons_involved"] == [{"name": "王**"}, {"name": "赵*"}]
    assert body["findings"] == [{"id": finding.public_id, "title": "违规发放津补贴"}]
    for field in ("title", "audit_scope", "facts", "classification", "basis", "opinion",
                  "feedback_request"):
        assert body[field] == body_for()[field]
    assert body["acknowledge_by"] is None and body["answer_by"] is None
    assert body["clocks"] == {"acknowledge": None, "answer": None}
    assert body["handler"] is None and body["disposition"] is None and body["result"] == ""
    assert body["attachments"] == [] and body["extensions"] == []
    assert body["created_at"].endswith("+08:00")
    assert body["actions"] == ["submit"]
    assert [e["action"] for e in body["timeline"]] == ["create"]
    [event] = events("referral.create")
    assert event.object_id == body["id"] and event.actor_username == "audit.staff"
    assert json.loads(event.details) == {"receiver": "discipline", "kind": "clue",
                                         "findings": [finding.public_id]}

    read = as_("audit_leader").get(f"/referrals/{body['id']}").get_json()
    assert read["actions"] == ["submit"]
    assert read["persons_involved"] == [{"name": "王某某", "position": "局长"},
                                        {"name": "赵某", "position": "财务科科长"}]
    assert {k: v for k, v in read.items() if k not in ("actions", "persons_involved")} == \
        {k: v for k, v in body.items() if k not in ("actions", "persons_involved")}
    [reading] = events("referral.read")
    assert reading.actor_username == "audit.leader" and reading.object_id == body["id"]


def test_optional_content_may_be_left_out(world, as_):
    response = as_("audit_staff").post("/referrals", json=body_for(
        audit_scope=..., classification=..., basis=..., opinion=..., feedback_request=...,
        persons_involved=..., findings=...))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["persons_involved"] == [] and body["findings"] == []
    assert body["feedback_request"]  # the standard request to report back in writing


BAD_REFERRALS = [
    ("receiver missing", {"receiver": ...}, "receiver"),
    ("kind missing", {"kind": ...}, "kind"),
    ("title missing", {"title": ...}, "title"),
    ("facts missing", {"facts": ...}, "facts"),
    ("title blank", {"title": "  "}, "title"),
    ("facts blank", {"facts": ""}, "facts"),
    ("title too long", {"title": "长" * 201}, "title"),
    ("opinion too long", {"opinion": "长" * 5001}, "opinion"),
    ("title not text", {"title": 42}, "title"),
    ("unknown kind", {"kind": "gossip"}, "kind"),
    ("receiver an audited unit", {"receiver": "edu"}, "receiver"),
    ("receiver its own agency", {"receiver": "audit"}, "receiver"),
    ("unknown receiver", {"receiver": "nowhere"}, "receiver"),
    ("persons not a list", {"persons_involved": "王某某"}, "persons_involved"),
    ("person without a name", {"persons_involved": [{"position": "局长"}]}, "persons_involved"),
    ("person with a blank name", {"persons_involved": [{"name": " ", "position": "局长"}]},
     "persons_involved"),
    ("person name too long", {"persons_involved": [{"name": "王" * 51}]}, "persons_involved"),
    ("person with an extra field", {"persons_involved": [{"name": "王某某", "id_card": "1"}]},
     "persons_involved"),
    ("too many persons", {"persons_involved": [{"name": f"王{i}"} for i in range(51)]},
     "persons_involved"),
    ("findings not a list", {"findings": "abc"}, "findings"),
    ("unknown finding", {"findings": ["no-such-finding"]}, "findings"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("state smuggled in", {"state": "sent"}, "state"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_REFERRALS,
                         ids=[case for case, _, _ in BAD_REFERRALS])
def test_bad_input_is_refused_and_creates_nothing(world, as_, case, change, field):
    response = as_("audit_staff").post("/referrals", json=body_for(**change))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["status"] == 422 and body["message"]
    assert field in body["errors"]
    assert count(Referral) == 0 and events("referral.create") == []


@pytest.mark.parametrize("payload", ["{not json", '{"title": "a",}'])
def test_malformed_json_is_a_400(world, as_, payload):
    response = as_("audit_staff").post("/referrals", data=payload,
                                       content_type="application/json",
                                       headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert response.get_json() == {"status": 400,
                                   "message": "The request body is not valid JSON."}
    referral = referral_in(world, S.SENT)
    before = snapshot(referral)
    response = as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge",
                                      data=payload, content_type="application/json")
    assert response.status_code == 400
    assert snapshot(referral) == before
    assert count(Referral) == 1


@pytest.mark.parametrize("payload", [["not", "an", "object"], "text", 42])
def test_a_body_that_is_not_an_object_is_refused(world, as_, payload):
    assert as_("audit_staff").post("/referrals", json=payload).status_code == 422
    referral = referral_in(world, S.SENT)
    with unchanged(snapshot, referral):
        response = as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge",
                                          json=payload)
        assert response.status_code == 422


@pytest.mark.parametrize(("url", "body"), [
    ("/acknowledge", {"comment": "收到", "priority": "high"}),
    ("/acknowledge", {"comment": "收到", "version": "1"}),
    ("/acknowledge", {"comment": ["收到"]}),
    ("/chasers", {"comment": "请尽快签收", "urgent": True}),
    ("/chasers", {}),
])
def test_unknown_or_misshapen_fields_of_a_step_are_a_422(world, as_, url, body):
    referral = referral_in(world, S.SENT)
    name = "audit_staff" if url == "/chasers" else "disc_staff"
    with unchanged(snapshot, referral):
        response = as_(name).post(f"/referrals/{referral.public_id}{url}", json=body)
        assert response.status_code == 422, response.get_json()


def test_a_step_without_a_body(world, as_):
    referral = referral_in(world, S.SENT)
    response = as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge")
    assert response.status_code == 200
    assert response.get_json()["state"] == "acknowledged"


def test_edit_a_draft_with_its_version(world, as_):
    referral = referral_in(world, S.DRAFT)
    owner = as_("audit_staff")
    response = owner.patch(f"/referrals/{referral.public_id}", json={
        "version": 1, "title": "新标题",
        "persons_involved": [{"name": "钱某", "position": "出纳"}]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["title"] == "新标题" and body["version"] > 1
    version = body["version"]
    assert body["persons_involved"] == [{"name": "钱*"}]
    assert owner.get(f"/referrals/{referral.public_id}").get_json()["persons_involved"] == [
        {"name": "钱某", "position": "出纳"}]
    [event] = events("referral.update")
    assert json.loads(event.details) == {"fields": ["persons_involved", "title"]}

    stale = owner.patch(f"/referrals/{referral.public_id}", json={"version": 1, "title": "覆盖"})
    assert stale.status_code == 409
    assert reload(referral).title == "新标题"

    # Nothing changed: no new version, no event.
    same = owner.patch(f"/referrals/{referral.public_id}",
                       json={"version": version, "title": "新标题"})
    assert same.status_code == 200 and same.get_json()["version"] == version
    assert len(events("referral.update")) == 1


def test_changing_only_the_persons_is_a_new_version(world, as_):
    """Otherwise a second editor holding the old version would overwrite them unnoticed."""
    referral = referral_in(world, S.DRAFT)
    owner = as_("audit_staff")
    first = owner.patch(f"/referrals/{referral.public_id}", json={
        "version": 1, "persons_involved": [{"name": "孙某", "position": "会计"}]})
    assert first.status_code == 200
    assert first.get_json()["version"] > 1
    stale = owner.patch(f"/referrals/{referral.public_id}", json={
        "version": 1, "persons_involved": [{"name": "周某", "position": "会计"}]})
    assert stale.status_code == 409
    assert [p.name for p in reload(referral).persons] == ["孙某"]


@pytest.mark.parametrize(("body", "status"), [
    ({"title": "无版本"}, 422),
    ({"version": "1", "title": "字符串版本"}, 422),
    ({"version": 1, "title": ""}, 422),
    ({"version": 1, "receiver": "edu"}, 422),
    ({"version": 1, "state": "sent"}, 422),
    ({"version": 1, "sender": "inspection"}, 422),
])
def test_bad_edits_change_nothing(world, as_, body, status):
    referral = referral_in(world, S.DRAFT)
    with unchanged(snapshot, referral):
        response = as_("audit_staff").patch(f"/referrals/{referral.public_id}", json=body)
        assert response.status_code == status, response.get_json()


@pytest.mark.parametrize(("state", "name", "status"), [
    (S.SENT, "audit_staff", 409),
    (S.PENDING_APPROVAL, "audit_leader", 409),
    (S.ANSWERED, "audit_staff", 409),
    (S.RETURNED, "disc_staff", 403),
    (S.DRAFT, "disc_staff", 404),
    (S.DRAFT, "insp_staff", 404),
])
def test_who_may_edit_and_when(world, as_, state, name, status):
    referral = referral_in(world, state)
    with unchanged(snapshot, referral):
        response = as_(name).patch(f"/referrals/{referral.public_id}",
                                   json={"version": referral.version, "title": "改"})
        assert response.status_code == status


def test_a_returned_referral_is_revised_as_a_new_draft(world, as_):
    referral = referral_in(world, S.RETURNED, persons=(("张某某", "校长"), ("李某", "科长")))
    before = snapshot(referral)
    # What was sent stays as it was sent.
    response = as_("audit_staff").patch(f"/referrals/{referral.public_id}",
                                        json={"version": referral.version, "facts": "补充事实"})
    assert response.status_code == 409
    assert snapshot(referral) == before
    # The revision: a new draft with the same receiver, content and persons, to change.
    revision = as_("audit_staff").post(f"/referrals/{referral.public_id}/revisions")
    assert revision.status_code == 201, revision.get_json()
    draft = revision.get_json()
    assert draft["id"] != referral.public_id and draft["state"] == "draft"
    assert draft["receiver"]["code"] == "discipline" and draft["facts"] == referral.facts
    assert [p["name"] for p in draft["persons_involved"]] == ["张**", "李*"]
    changed = as_("audit_staff").patch(f"/referrals/{draft['id']}",
                                       json={"version": draft["version"], "facts": "补充事实"})
    assert changed.status_code == 200 and changed.get_json()["facts"] == "补充事实"
    assert reload(referral).facts == before["referral"]["facts"]
    assert reload(referral).state == S.RETURNED
    # One revision per returned referral.
    assert as_("audit_staff").get(f"/referrals/{referral.public_id}").get_json()["actions"] == []
    again = as_("audit_staff").post(f"/referrals/{referral.public_id}/revisions")
    assert again.status_code == 409


# --- who sees what --------------------------------------------------------------------------


@pytest.fixture
def referred_finding(world):
    """A finding shared with the inspection office and the organisation department, and
    referred to the commission."""
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff, title="违规发放津补贴问题")
    for agency in (world.inspection, world.org):
        ShareFactory(finding=finding, agency=agency, handling=Handling.MAY_REFER,
                     shared_by=world.audit_staff)
    return finding


@pytest.mark.parametrize("state", [s for s in ReferralState])
def test_outsiders_see_no_referral_even_of_a_finding_they_see(world, as_, referred_finding,
                                                               state):
    referral = referral_in(world, state, findings=[referred_finding],
                           title="绝密线索标题XK42")
    for name in OUTSIDERS:
        caller = as_(name)
        listing = caller.list()
        assert listing["items"] == [] and listing["total"] == 0
        for role in ("sent", "received"):
            assert caller.list(role=role)["total"] == 0
        assert caller.list(state=state.value)["total"] == 0
        response = caller.get(f"/referrals/{referral.public_id}")
        assert response.status_code == 404
        assert response.get_json() == {"status": 404, "message": "未找到。"}
    # They may still read the finding, and its uses do not reveal the referral.
    for name in ("insp_staff", "org_staff"):
        assert as_(name).get(f"/findings/{referred_finding.public_id}").status_code == 200
        uses = as_(name).get(f"/findings/{referred_finding.public_id}/uses")
        assert uses.status_code == 200
        text = uses.get_data(as_text=True)
        assert referral.public_id not in text and "XK42" not in text
    assert as_("unit_contact").get(
        f"/findings/{referred_finding.public_id}/uses").status_code == 404


def test_administrators_see_no_referral(world, as_):
    referral = referral_in(world, S.SENT)
    for role in ("sysadmin", "secadmin", "auditadmin"):
        admin = Caller(world.client, UserFactory(username=f"disc.{role}",
                                                 agency=world.discipline, roles=[role]))
        assert admin.get("/referrals").status_code == 403
        assert admin.get(f"/referrals/{referral.public_id}").status_code == 403
        assert admin.post(f"/referrals/{referral.public_id}/acknowledge").status_code == 403
        assert admin.get("/dispositions").status_code == 403
    assert reload(referral).state == S.SENT


def test_signed_out_callers_are_refused(world, client):
    referral = referral_in(world, S.SENT)
    for method, url in [("GET", "/referrals"), ("GET", f"/referrals/{referral.public_id}"),
                        ("POST", f"/referrals/{referral.public_id}/acknowledge"),
                        ("GET", "/dispositions")]:
        response = client.open(f"/api/v1{url}", method=method, json={},
                               headers={"Authorization": "Bearer forged"})
        assert response.status_code == 401
    assert reload(referral).state == S.SENT


def test_a_draft_is_invisible_to_the_receiver_until_first_sent(world, as_):
    owner, leader, receiver = as_("audit_staff"), as_("audit_leader"), as_("disc_staff")
    rid = owner.post("/referrals", json=body_for()).get_json()["id"]

    def hidden():
        assert receiver.list()["total"] == 0
        assert receiver.list(role="received")["total"] == 0
        assert receiver.get(f"/referrals/{rid}").status_code == 404

    hidden()
    assert owner.post(f"/referrals/{rid}/submit").status_code == 200
    hidden()
    assert leader.post(f"/referrals/{rid}/send-back",
                       json={"reason": "请补充定性依据"}).status_code == 200
    hidden()
    assert owner.post(f"/referrals/{rid}/submit").status_code == 200
    assert leader.post(f"/referrals/{rid}/approve").status_code == 200
    assert receiver.ids(role="received") == {rid}
    assert receiver.get(f"/referrals/{rid}").get_json()["actions"] == ["acknowledge", "return"]
    # Returned: the receiver keeps seeing what it returned. Its revision is a new draft, hidden
    # until the leader approves it again.
    assert receiver.post(f"/referrals/{rid}/return",
                         json={"reason": "证据不足"}).status_code == 200
    assert owner.post(f"/referrals/{rid}/submit").status_code == 409
    revision = owner.post(f"/referrals/{rid}/revisions")
    assert revision.status_code == 201
    new_id = revision.get_json()["id"]
    seen = receiver.get(f"/referrals/{rid}").get_json()
    assert seen["state"] == "returned" and seen["actions"] == []
    assert receiver.get(f"/referrals/{new_id}").status_code == 404
    assert owner.post(f"/referrals/{new_id}/submit").status_code == 200
    assert receiver.get(f"/referrals/{new_id}").status_code == 404
    assert leader.post(f"/referrals/{new_id}/approve").status_code == 200
    assert receiver.ids(role="received") == {rid, new_id}


def test_internal_notes_are_shown_to_the_receiver_only(world, as_):
    referral = referral_in(world, S.IN_HANDLING)
    rid = referral.public_id
    note = as_("disc_staff").post(f"/referrals/{rid}/note", json={"comment": "已约谈财务人员"})
    assert note.status_code == 200
    assert as_("audit_staff").post(f"/referrals/{rid}/chasers",
                                   json={"comment": "请加快办理"}).status_code == 201
    for name in ("disc_staff", "disc_leader"):
        timeline = as_(name).get(f"/referrals/{rid}").get_json()["timeline"]
        assert [(e["action"], e["internal"]) for e in timeline] == [
            ("note", True), ("chase", False)]
        assert timeline[0]["comment"] == "已约谈财务人员"
        assert timeline[0]["agency"] == {"code": "discipline", "name": "区纪委监委"}
        assert timeline[0]["actor"] == "纪检员乙" and timeline[0]["at"].endswith("+08:00")
    for name in ("audit_staff", "audit_leader"):
        response = as_(name).get(f"/referrals/{rid}")
        assert [e["action"] for e in response.get_json()["timeline"]] == ["chase"]
        assert "已约谈财务人员" not in response.get_data(as_text=True)
    # The note is in the event log as a step, without its text.
    [event] = events("referral.note")
    assert "已约谈财务人员" not in event.details


def test_actions_follow_the_caller_and_the_state(world, as_):
    referral = referral_in(world, S.ACKNOWLEDGED)
    rid = referral.public_id
    assert as_("disc_staff").get(f"/referrals/{rid}").get_json()["actions"] == [
        "note", "answer", "request-extension"]
    assert as_("disc_leader").get(f"/referrals/{rid}").get_json()["actions"] == [
        "assign", "note", "answer", "request-extension"]
    # No extension is waiting, so there is nothing to decide on yet.
    assert as_("audit_staff").get(f"/referrals/{rid}").get_json()["actions"] == ["chase"]


# --- lists ----------------------------------------------------------------------------------


def test_lists_by_role_and_state(world, as_):
    sent_draft = referral_in(world, S.DRAFT)
    sent_ack = referral_in(world, S.ACKNOWLEDGED)
    sent_closed = referral_in(world, S.CLOSED)
    insp_leader = UserFactory(username="insp.leader", agency=world.inspection, roles=["leader"])
    received = referral_in(world, S.SENT, sender_agency=world.inspection,
                           receiver_agency=world.audit, created_by=insp_leader)
    never_sent_to_us = referral_in(world, S.PENDING_APPROVAL, sender_agency=world.inspection,
                                   receiver_agency=world.audit, created_by=insp_leader)
    audit = as_("audit_staff")
    assert audit.ids() == {r.public_id for r in (sent_draft, sent_ack, sent_closed, received)}
    assert audit.ids(role="sent") == {r.public_id for r in (sent_draft, sent_ack, sent_closed)}
    assert audit.ids(role="received") == {received.public_id}
    assert audit.ids(state="sent") == {received.public_id}
    assert audit.ids(role="sent", state="sent") == set()
    assert audit.ids(state="closed") == {sent_closed.public_id}
    assert audit.ids(role="received", state="pending_approval") == set()
    disc = as_("disc_staff")
    assert disc.ids(role="received") == {sent_ack.public_id, sent_closed.public_id}
    assert disc.ids(role="sent") == set()
    insp = Caller(world.client, insp_leader, listing="/referrals")
    assert insp.ids() == {received.public_id, never_sent_to_us.public_id}


@pytest.mark.parametrize("params", [
    {"role": "everything"}, {"state": "lost"}, {"clock": "late"}, {"per_page": 101},
    {"per_page": 0}, {"page": 0}, {"page": "x"}, {"sort": "title"},
])
def test_bad_list_parameters_are_a_422(world, as_, params):
    response = as_("audit_staff").get("/referrals", query_string=params)
    assert response.status_code == 422
    assert set(params) <= set(response.get_json()["errors"])


def test_list_items_mask_the_persons_and_leave_out_the_facts(world, as_):
    referral = referral_in(world, S.SENT, persons=[("张某某", "校长"), ("欧阳某", "会计"),
                                                  ("李", "出纳")])
    assert as_("audit_staff").post(f"/referrals/{referral.public_id}/chasers",
                                   json={"comment": "请签收"}).status_code == 201
    for name in ("audit_staff", "disc_leader"):
        listing = as_(name).list()
        [item] = listing["items"]
        assert item["persons_involved"] == [{"name": "张**"}, {"name": "欧**"}, {"name": "李*"}]
        text = json.dumps(listing, ensure_ascii=False)
        for secret in ("张某某", "欧阳某", "校长", "会计", referral.facts, referral.opinion):
            assert secret not in text
        assert not {"facts", "audit_scope", "classification", "basis", "opinion", "timeline",
                    "result", "attachments"} & set(item)
        assert {"id", "kind", "state", "version", "title", "sender", "receiver", "handler",
                "acknowledge_by", "answer_by", "clocks", "calendar_complete", "sent_at",
                "chasers"} <= set(item)
        assert item["chasers"]["count"] == 1 and item["chasers"]["last_at"].endswith("+08:00")
        assert item["acknowledge_by"].endswith("23:59:59+08:00")
        assert integer_keys(item) == []


def test_pages(world, as_):
    made = [referral_in(world, S.SENT) for _ in range(5)]
    newest_first = [r.public_id for r in sorted(made, key=lambda r: (r.created_at, r.id),
                                                reverse=True)]
    owner = as_("audit_staff")
    assert owner.pages("/referrals", total=5) == newest_first
    by_deadline = owner.list(sort="acknowledge_by")["items"]
    assert [i["acknowledge_by"] for i in by_deadline] == sorted(
        i["acknowledge_by"] for i in by_deadline)


def test_a_list_runs_as_many_queries_for_fifty_rows_as_for_five(world, as_, count_queries):
    states = [S.SENT, S.ACKNOWLEDGED, S.IN_HANDLING, S.ANSWERED, S.DRAFT]
    chaser = as_("audit_staff")

    def add(n):
        for i in range(n):
            referral = referral_in(world, states[i % 5],
                                   persons=[("张某某", "校长"), (f"李{i}", "会计")])
            if states[i % 5] in CHASEABLE:  # never once answered
                assert chaser.post(f"/referrals/{referral.public_id}/chasers",
                                   json={"comment": "催办"}).status_code == 201

    callers_ = [as_("audit_staff"), as_("disc_leader")]

    def counts():
        return statements_per_caller(callers_, count_queries, counted("/referrals", per_page=100))

    add(5)
    five = counts()
    add(45)
    fifty = counts()
    assert [rows for rows, _ in five] == [5, 4] and [rows for rows, _ in fifty] == [50, 40]
    assert [queries for _, queries in five] == [queries for _, queries in fifty]


def test_dispositions_in_the_callers_language(world, as_):
    chinese = as_("disc_staff").get("/dispositions").get_json()
    assert [(d["code"], d["receivers"]) for d in chinese] == [
        ("talk_or_inquiry", "discipline"), ("preliminary_verification", "discipline"),
        ("held", "discipline"), ("closed", "discipline"), ("case_opened", "discipline"),
        ("transferred", "discipline"), ("handled", "department"), ("adopted", "department"),
        ("partly_adopted", "department"), ("not_adopted", "department"),
        ("passed_on", "department")]
    assert [d["name"] for d in chinese if d["receivers"] == "department"] == [
        "已处理", "已采纳", "部分采纳", "不予采纳", "移交其他部门"]
    english = as_("audit_staff").get("/dispositions",
                                     headers={"Accept-Language": "en"}).get_json()
    assert english[0] == {"code": "talk_or_inquiry", "name": "Talk or written inquiry",
                          "receivers": "discipline"}


def test_a_receiver_answers_with_a_disposition_of_its_kind(world, as_):
    """The commission disposes by its rules; a department (here the organisation department)
    by what it did with the request: each is refused the other's list."""
    to_commission = referral_in(world, S.IN_HANDLING)
    refused = as_("disc_staff").post(f"/referrals/{to_commission.public_id}/answer", json={
        "version": to_commission.version, "disposition": "adopted", "result": "已采纳"})
    assert refused.status_code == 422
    assert "disposition" in refused.get_json()["errors"]
    to_department = referral_in(world, S.IN_HANDLING, receiver_agency=world.org,
                                handler=world.org_staff)
    refused = as_("org_staff").post(f"/referrals/{to_department.public_id}/answer", json={
        "version": to_department.version, "disposition": "case_opened", "result": "立案"})
    assert refused.status_code == 422
    answered = as_("org_staff").post(f"/referrals/{to_department.public_id}/answer", json={
        "version": to_department.version, "disposition": "partly_adopted",
        "result": "部分采纳审计建议"})
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["disposition"] == {"code": "partly_adopted", "name": "部分采纳"}


def test_a_step_refuses_what_the_document_forbids_even_in_a_field_it_does_not_read(world, as_):
    """A disposition is published as a list of codes: a step that does not read it (a note)
    refuses a word outside the list as the answer does, and nothing is written."""
    referral = referral_in(world, S.IN_HANDLING)
    rid = referral.public_id
    for step in ("note", "answer"):
        refused = as_("disc_staff").post(f"/referrals/{rid}/{step}", json={
            "comment": "已调取账册", "disposition": "__not_in_enum__", "result": "结果"})
        assert refused.status_code == 422, (step, refused.get_json())
        assert refused.get_json()["errors"]["disposition"] == [
            "必须是以下之一：" + ", ".join(d.value for d in Disposition) + "。"]
    # So is a result over its published length, which a note does not read either.
    refused = as_("disc_staff").post(f"/referrals/{rid}/note",
                                     json={"comment": "已调取账册", "result": "长" * 20001})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"result": ["过长：最多 20000 个字符。"]}
    assert as_("disc_staff").get(f"/referrals/{rid}").get_json()["state"] == "in_handling"
    assert events("referral.note") == []


# --- evidence -------------------------------------------------------------------------------


def test_evidence_upload_and_download(world, as_, upload_dir):
    referral = referral_in(world, S.DRAFT)
    rid = referral.public_id
    owner = as_("audit_staff")
    response = owner.upload(f"/referrals/{rid}/attachments", {"file": (PDF, "证据.pdf")})
    assert response.status_code == 201, response.get_json()
    attachment = response.get_json()
    assert set(attachment) == {"id", "filename", "size", "sha256", "content_type"}
    assert attachment["filename"] == "证据.pdf" and attachment["content_type"] == "application/pdf"
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert owner.get(f"/referrals/{rid}").get_json()["attachments"] == [attachment]
    [event] = events("attachment.upload")
    assert event.object_id == rid

    # The receiver cannot fetch it before the referral is sent, then can.
    url = f"/referrals/{rid}/attachments/{attachment['id']}"
    assert as_("disc_staff").get(url).status_code == 404
    assert owner.post(f"/referrals/{rid}/submit").status_code == 200
    assert as_("audit_leader").post(f"/referrals/{rid}/approve").status_code == 200
    download = as_("disc_staff").get(url, buffered=True)
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    [event] = events("attachment.download")
    assert event.actor_username == "disc.staff" and event.object_id == rid
    assert json.loads(event.details) == {"attachment": attachment["id"],
                                         "sha256": attachment["sha256"]}
    for name in OUTSIDERS:
        assert as_(name).get(url).status_code == 404

    # Evidence is fixed once sent.
    before = files(upload_dir)
    late = owner.upload(f"/referrals/{rid}/attachments", {"file": (PDF, "补充.pdf")})
    assert late.status_code == 409
    assert files(upload_dir) == before


def test_an_attachment_belongs_to_its_referral(world, as_, upload_dir):
    first, second = referral_in(world, S.DRAFT), referral_in(world, S.DRAFT)
    owner = as_("audit_staff")
    aid = owner.upload(f"/referrals/{first.public_id}/attachments",
                       {"file": (PDF, "a.pdf")}).get_json()["id"]
    assert owner.get(f"/referrals/{second.public_id}/attachments/{aid}").status_code == 404
    assert owner.get(f"/referrals/{first.public_id}/attachments/nothing").status_code == 404
    # Nor is it a finding's attachment.
    assert owner.get(f"/attachments/{aid}").status_code == 404
    assert owner.get(f"/referrals/{first.public_id}/attachments/{aid}",
                     buffered=True).status_code == 200


@pytest.mark.parametrize(("name", "state", "content", "status"), [
    ("disc_staff", S.RETURNED, PDF, 403),
    ("insp_staff", S.DRAFT, PDF, 404),
    ("disc_staff", S.DRAFT, PDF, 404),
    ("audit_staff", S.DRAFT, EXE, 415),
    ("audit_staff", S.DRAFT, b"", 400),
])
def test_bad_uploads_leave_nothing(world, as_, upload_dir, name, state, content, status):
    referral = referral_in(world, state)
    before = snapshot(referral)
    response = as_(name).upload(f"/referrals/{referral.public_id}/attachments",
                                {"file": (content, "evidence.pdf")})
    assert response.status_code == status, response.get_json()
    assert files(upload_dir) == []
    assert snapshot(referral) == before
    assert count(Attachment) == 0


def test_an_upload_needs_a_file(world, as_, upload_dir):
    referral = referral_in(world, S.DRAFT)
    response = as_("audit_staff").upload(f"/referrals/{referral.public_id}/attachments",
                                         {"other": "x"})
    assert response.status_code == 422 and "file" in response.get_json()["errors"]


def test_an_answer_with_files(world, as_, upload_dir):
    referral = referral_in(world, S.IN_HANDLING)
    rid = referral.public_id
    response = as_("disc_staff").upload(f"/referrals/{rid}/answer", {
        "disposition": "case_opened", "result": "已立案审查。", "comment": "附立案决定书",
        "version": str(referral.version), "files": (PDF, "立案决定书.pdf")})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "answered" and body["disposition"]["code"] == "case_opened"
    answer = body["timeline"][-1]
    assert answer["action"] == "answer"
    [attachment] = answer["attachments"]
    assert attachment["filename"] == "立案决定书.pdf"
    assert body["attachments"] == []  # the referral's own evidence is the sender's
    download = as_("audit_staff").get(f"/referrals/{rid}/attachments/{attachment['id']}",
                                      buffered=True)
    assert download.status_code == 200 and download.data == PDF
    assert len(files(upload_dir)) == 1


def test_an_answer_with_two_files(world, as_, upload_dir):
    referral = referral_in(world, S.ACKNOWLEDGED)
    response = as_("disc_staff").upload(f"/referrals/{referral.public_id}/answer", [
        ("disposition", "transferred"), ("result", "已移送检察机关。"),
        ("files", (PDF, "移送函.pdf")), ("files", (PDF + b"%2", "回执.pdf"))])
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()["timeline"][-1]
    assert sorted(a["filename"] for a in answer["attachments"]) == ["回执.pdf", "移送函.pdf"]
    assert len(files(upload_dir)) == 2


def test_a_refused_answer_with_files_leaves_no_file(world, as_, upload_dir):
    referral = referral_in(world, S.IN_HANDLING)
    before = snapshot(referral)
    for fields in (
        {"result": "已立案审查。", "files": (PDF, "a.pdf")},  # no disposition
        {"disposition": "held", "result": "暂存", "files": (EXE, "a.pdf")},
        {"disposition": "held", "result": "暂存", "colour": "red"},
    ):
        response = as_("disc_staff").upload(f"/referrals/{referral.public_id}/answer", fields)
        assert response.status_code in (415, 422), response.get_json()
        assert files(upload_dir) == []
        assert snapshot(referral) == before
    # Two files, the second refused: the first, stored already, goes too.
    response = as_("disc_staff").upload(f"/referrals/{referral.public_id}/answer", [
        ("disposition", "held"), ("result", "暂存"), ("files", (PDF, "a.pdf")),
        ("files", (EXE, "b.pdf"))])
    assert response.status_code == 415
    assert files(upload_dir) == [] and count(Attachment) == 0
    assert snapshot(referral) == before
    # Files go with an answer only.
    response = as_("disc_staff").upload(f"/referrals/{referral.public_id}/note", {
        "comment": "附件", "files": (PDF, "a.pdf")})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"files"}
    assert files(upload_dir) == []
    wrong_state = referral_in(world, S.SENT)
    response = as_("disc_staff").upload(f"/referrals/{wrong_state.public_id}/answer", {
        "disposition": "held", "result": "暂存", "files": (PDF, "a.pdf")})
    assert response.status_code == 409
    assert files(upload_dir) == []


def test_every_step_is_on_the_timeline_and_an_event(world, as_, upload_dir):
    owner, leader = as_("audit_staff"), as_("audit_leader")
    receiver, chief = as_("disc_staff"), as_("disc_leader")
    rid = owner.post("/referrals", json=body_for()).get_json()["id"]
    owner.upload(f"/referrals/{rid}/attachments", {"file": (PDF, "证据.pdf")})
    steps = [
        (owner, f"/referrals/{rid}/submit", {}),
        (leader, f"/referrals/{rid}/approve", {"comment": "同意移送"}),
        (owner, f"/referrals/{rid}/chasers", {"comment": "请及时签收"}),
        (receiver, f"/referrals/{rid}/acknowledge", {}),
        (chief, f"/referrals/{rid}/assign", {"handler": "disc.staff"}),
        (receiver, f"/referrals/{rid}/note", {"comment": "已调取账册"}),
        (receiver, f"/referrals/{rid}/answer", {"disposition": "talk_or_inquiry",
                                                "result": "已谈话提醒。"}),
        (owner, f"/referrals/{rid}/reopen", {"reason": "未说明资金退回情况"}),
        (receiver, f"/referrals/{rid}/answer", {"disposition": "talk_or_inquiry",
                                                "result": "已谈话提醒，资金已退回。"}),
        (owner, f"/referrals/{rid}/close", {"comment": "办结"}),
    ]
    for caller, url, body in steps:
        response = caller.post(url, json=body)
        assert response.status_code in (200, 201), (url, response.get_json())
    referral = reload(rid)
    assert referral.state == S.CLOSED and referral.closed_at is not None
    assert [e.action for e in entries(referral)] == [
        "create", "submit", "approve", "chase", "acknowledge", "assign", "note", "answer",
        "reopen", "answer", "close"]
    trail = [(e.action, e.actor_username) for e in events()
             if e.object_id == rid and e.action != "referral.read"]
    assert trail == [
        ("referral.create", "audit.staff"), ("attachment.upload", "audit.staff"),
        ("referral.submit", "audit.staff"), ("referral.approve", "audit.leader"),
        ("referral.chase", "audit.staff"), ("referral.acknowledge", "disc.staff"),
        ("referral.assign", "disc.leader"), ("referral.note", "disc.staff"),
        ("referral.answer", "disc.staff"), ("referral.reopen", "audit.staff"),
        ("referral.answer", "disc.staff"), ("referral.close", "audit.staff")]
    final = owner.get(f"/referrals/{rid}").get_json()
    assert final["state"] == "closed" and final["actions"] == []
    assert final["result"] == "已谈话提醒，资金已退回。"
    assert final["handler"] == {"username": "disc.staff", "display_name": "纪检员乙"}


def test_the_openapi_document_describes_the_referrals(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/referrals", "/api/v1/referrals/{referral_id}",
                 "/api/v1/referrals/{referral_id}/{action}",
                 "/api/v1/referrals/{referral_id}/chasers",
                 "/api/v1/referrals/{referral_id}/extensions",
                 "/api/v1/referrals/{referral_id}/extensions/{extension_id}/{decision}",
                 "/api/v1/referrals/{referral_id}/attachments",
                 "/api/v1/referrals/{referral_id}/attachments/{attachment_id}",
                 "/api/v1/dispositions"):
        assert path in paths, path
    [action] = [p for p in paths["/api/v1/referrals/{referral_id}/{action}"]["parameters"]
                if p["name"] == "action"]
    assert "acknowledge" in action["schema"]["enum"] and "chase" not in action["schema"]["enum"]


def test_reading_a_referral_runs_as_many_queries_for_a_long_timeline(world, as_,
                                                                       count_queries):
    referral = referral_in(world, S.IN_HANDLING, pending_extension=True)
    rid = referral.public_id
    sender, receiver = as_("audit_staff"), as_("disc_staff")

    def steps(n):
        for i in range(n):
            assert sender.post(f"/referrals/{rid}/chasers",
                               json={"comment": f"第{i}次催办"}).status_code == 201
            assert receiver.post(f"/referrals/{rid}/note",
                                 json={"comment": f"进展{i}"}).status_code == 200

    def counts():
        return statements_per_caller((sender, receiver), count_queries,
                                     counted(f"/referrals/{rid}", key="timeline"))

    steps(2)
    short = counts()
    steps(20)
    long = counts()
    assert [n for n, _ in short] == [2, 4] and [n for n, _ in long] == [22, 44]
    assert [q for _, q in short] == [q for _, q in long]
