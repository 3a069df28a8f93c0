"""The rectifications API (/api/v1): the audited unit's portal (its own items only, only the text
issued to it), reports with evidence, the issuing agency's lists, and the event trail."""

from __future__ import annotations

import hashlib
import json

import pytest

from supervise.attachments.models import Attachment
from supervise.extensions import db
from supervise.findings.models import Comment, Handling
from supervise.rectifications.models import Plan, RectificationReport
from supervise.referrals.models import ReferralState
from tests.factories import ShareFactory, UserFactory
from tests.helpers import events, files, integer_keys
from tests.rectifications.factories import (
    OUTSIDERS,
    S,
    count,
    finding_for,
    rectification_in,
    reload,
    snapshot,
    steps,
)
from tests.referrals.factories import referral_in
from tests.support.api import Caller, counted, statements_per_caller
from tests.support.files import EXE, PDF
from tests.support.records import unchanged

EN = {"Accept-Language": "en"}

UNIT_DETAIL = {"id", "title", "facts", "legal_basis", "recommendation", "amount", "plan",
               "plan_name", "state", "state_name", "due_at", "clock", "calendar_complete",
               "reports", "messages", "actions"}
UNIT_REPORT = {"id", "measures", "amount_recovered", "rules", "final", "submitted_at",
               "attachments"}
UNIT_ROW = {"id", "title", "amount", "plan", "plan_name", "state", "state_name", "due_at",
            "clock", "calendar_complete"}
OWNER_DETAIL = UNIT_DETAIL - {"messages"} | {
    "finding", "unit", "owner", "version", "amount_recovered", "issued_at", "issued_by",
    "rectified_at", "signed_off_at", "signed_off_by", "steps"}
OWNER_REPORT = UNIT_REPORT | {"submitted_by"}
OWNER_ROW = UNIT_ROW | {"finding", "unit", "owner", "version", "issued_at", "rectified_at",
                        "signed_off_at", "amount_recovered"}


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- the audited unit's portal --------------------------------------------------------------


def test_a_unit_contact_sees_its_own_units_items_only(world, as_, upload_dir):
    ours = [rectification_in(world, state) for state in S]
    # Issued to 区教育局 by the neighbouring audit bureau: still the unit's own item.
    from_audit2 = rectification_in(world, S.NOT_STARTED, finding=finding_for(
        world, owner_agency=world.audit2, created_by=world.audit2_staff))
    theirs = rectification_in(world, S.IN_PROGRESS, unit=world.health)
    evidence = as_("unit2_contact").upload(f"/rectifications/{theirs.public_id}/reports", {
        "measures": "已整改", "files": (PDF, "卫健委凭证.pdf")})
    assert evidence.status_code == 201, evidence.get_json()
    [their_file] = evidence.get_json()["reports"][-1]["attachments"]

    unit = as_("unit_contact")
    listing = unit.list()
    assert {i["id"] for i in listing["items"]} == {r.public_id for r in [*ours, from_audit2]}
    assert listing["total"] == len(S) + 1
    assert unit.ids(unit="health") == set() and unit.ids(unit="edu") == listing_ids(listing)
    assert as_("unit2_contact").ids() == {theirs.public_id}
    for rectification in ours:
        assert unit.get(f"/rectifications/{rectification.public_id}").status_code == 200

    # Another unit's item does not exist for it: reading, reporting, its evidence.
    before = snapshot(theirs)
    tid = theirs.public_id
    for response in (
        unit.get(f"/rectifications/{tid}", headers=EN),
        unit.post(f"/rectifications/{tid}/reports", json={"measures": "冒名报送"}, headers=EN),
        unit.upload(f"/rectifications/{tid}/reports", {"measures": "冒名",
                                                       "files": (PDF, "a.pdf")}),
        unit.get(f"/rectifications/{tid}/attachments/{their_file['id']}", headers=EN),
        unit.get(f"/rectifications/{ours[1].public_id}/attachments/{their_file['id']}"),
    ):
        assert response.status_code == 404, response.get_json()
        assert their_file["filename"] not in text_of(response)
    assert snapshot(theirs) == before
    assert len(files(upload_dir)) == 1


def listing_ids(listing) -> set[str]:
    return {item["id"] for item in listing["items"]}


@pytest.fixture
def everything_about_a_finding(world, as_):
    """A finding of the audit bureau about 区教育局, shared, commented on, referred and issued
    for rectification, each with a marker that the unit must never read."""
    finding = finding_for(world, title="违规发放津补贴问题", facts="以加班费名义发放MARK-FACTS。")
    ShareFactory(finding=finding, agency=world.inspection, handling=Handling.READ_ONLY,
                 note="共享备注MARK-SHARE", shared_by=world.audit_staff)
    db.session.add(Comment(finding_id=finding.id, thread_agency=world.inspection,
                           author=world.insp_staff, body="巡察意见MARK-COMMENT"))
    db.session.commit()
    referral = referral_in(world, ReferralState.SENT, findings=[finding],
                           title="问题线索MARK-REFERRAL", persons=(("张某某", "校长"),))
    rectification = rectification_in(world, S.NOT_STARTED, finding=finding)
    return finding, referral, rectification


MARKERS = ("MARK-SHARE", "MARK-COMMENT", "MARK-REFERRAL", "张某某")


def test_a_unit_contact_reaches_no_finding_share_comment_or_referral(
        world, as_, everything_about_a_finding):
    finding, referral, rectification = everything_about_a_finding
    fid, rid = finding.public_id, referral.public_id
    unit = as_("unit_contact")
    # Lists answer, empty: the unit's contact holds the staff role, and the scopes give it
    # nothing.
    for url in ("/findings", "/referrals", "/projects"):
        response = unit.get(url)
        assert response.status_code == 200, url
        body = response.get_json()
        assert body["items"] == [] and body["total"] == 0, url
    # Records answer 404, as if they did not exist.
    for method, url, body in [
        ("GET", f"/findings/{fid}", None), ("GET", f"/findings/{fid}/uses", None),
        ("GET", f"/findings/{fid}/comments", None),
        ("POST", f"/findings/{fid}/comments", {"body": "请说明"}),
        ("POST", f"/findings/{fid}/shares", {"agency": "edu", "handling": "read_only"}),
        ("POST", f"/findings/{fid}/rectification", {"plan": "staged"}),
        ("GET", f"/referrals/{rid}", None), ("POST", f"/referrals/{rid}/acknowledge", {}),
    ]:
        response = unit._call(method, url, json=body)
        assert response.status_code == 404, (method, url, response.get_json())
        for marker in (*MARKERS, finding.title):
            assert marker not in text_of(response)
    # And the item issued to it shows none of it.
    text = text_of(unit.get(f"/rectifications/{rectification.public_id}"))
    for marker in (*MARKERS, fid, rid):
        assert marker not in text, marker


def test_the_unit_reads_only_the_text_issued_to_it(world, as_, upload_dir):
    finding = finding_for(world)
    issued = as_("audit_staff").post(f"/findings/{finding.public_id}/rectification",
                                     json={"plan": "staged"})
    assert issued.status_code == 201
    rid = issued.get_json()["id"]
    unit, owner, leader = as_("unit_contact"), as_("audit_staff"), as_("audit_leader")
    # The finding changes later: the unit keeps the text as issued.
    finding.title = "改后的内部标题MARK-LATER"
    db.session.commit()

    report = unit.upload(f"/rectifications/{rid}/reports", {
        "measures": "已清退津补贴", "amount_recovered": "1000.00", "rules": "修订办法",
        "final": "true", "files": (PDF, "清退凭证.pdf")})
    assert report.status_code == 201, report.get_json()
    assert owner.post(f"/rectifications/{rid}/verify",
                      json={"comment": "内部核实意见MARK-VERIFY"}).status_code == 200
    assert owner.post(f"/rectifications/{rid}/send-back",
                      json={"reason": "请补充银行回单", "comment": "MARK-IGNORED"}
                      ).status_code == 200
    assert owner.post(f"/rectifications/{rid}/chase",
                      json={"comment": "请于本周内补充"}).status_code == 200

    response = unit.get(f"/rectifications/{rid}")
    body = response.get_json()
    assert set(body) == UNIT_DETAIL
    assert body["title"] == "违规发放津补贴问题" and body["amount"] == "123456.00"
    assert body["facts"] == finding.facts and body["legal_basis"] == finding.legal_basis
    assert body["state"] == "in_progress" and body["actions"] == ["report"]
    [shown] = body["reports"]
    assert set(shown) == UNIT_REPORT
    assert shown["measures"] == "已清退津补贴" and shown["amount_recovered"] == "1000.00"
    assert shown["final"] is True and shown["attachments"][0]["filename"] == "清退凭证.pdf"
    # What is addressed to the unit: why its work came back, and the chaser.
    assert [(m["action"], m["text"], m["by"]) for m in body["messages"]] == [
        ("send-back", "请补充银行回单", "审计员甲"), ("chase", "请于本周内补充", "审计员甲")]
    assert all(set(m) == {"action", "at", "text", "by"} for m in body["messages"])
    text = text_of(response)
    for secret in ("MARK-VERIFY", "MARK-LATER", finding.public_id, "audit.staff", "审计局长",
                   "区审计局", "issued_by", "steps", "version"):
        assert secret not in text, secret
    assert integer_keys(body) == []

    # The unit's list rows, and its answers to its own steps, are as narrow.
    [row] = unit.list()["items"]
    assert set(row) == UNIT_ROW
    again = unit.post(f"/rectifications/{rid}/reports", json={"measures": "已补充银行回单"})
    assert again.status_code == 201 and set(again.get_json()) == UNIT_DETAIL
    assert "MARK-VERIFY" not in text_of(again)

    # The issuing agency reads all of it, the history included.
    full = leader.get(f"/rectifications/{rid}").get_json()
    assert set(full) == OWNER_DETAIL
    assert all(set(r) == OWNER_REPORT for r in full["reports"])
    assert full["finding"] == finding.public_id and full["version"] > 1
    assert full["issued_by"] == "审计员甲" and full["amount_recovered"] == "1000.00"
    assert [s["action"] for s in full["steps"]] == [
        "issue", "report", "verify", "send-back", "chase", "report"]
    assert full["steps"][2]["comment"] == "内部核实意见MARK-VERIFY"
    assert full["steps"][2]["agency"] == {"code": "audit", "name": "区审计局"}
    assert full["reports"][0]["submitted_by"] == "教育局联络员"
    assert full["actions"] == ["chase"]
    [owner_row] = owner.list()["items"]
    assert set(owner_row) == OWNER_ROW
    assert integer_keys(full) == [] and integer_keys(owner_row) == []


# --- reports with evidence ------------------------------------------------------------------


def test_a_report_with_evidence(world, as_, upload_dir):
    rectification = rectification_in(world, S.NOT_STARTED)
    rid = rectification.public_id
    unit = as_("unit_contact")
    response = unit.upload(f"/rectifications/{rid}/reports", [
        ("measures", "已收回违规发放的津补贴"), ("amount_recovered", "12,345.60"),
        ("rules", "修订《津补贴发放管理办法》"), ("final", "true"),
        ("version", str(rectification.version)),
        ("files", (PDF, "退款凭证.pdf")), ("files", (PDF + b"%2", "会议纪要.pdf"))])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["state"] == "pending_verification" and body["clock"] == "met"
    [report] = body["reports"]
    assert report["amount_recovered"] == "12345.60" and report["final"] is True
    assert report["submitted_at"].endswith("+08:00")
    assert sorted(a["filename"] for a in report["attachments"]) == ["会议纪要.pdf", "退款凭证.pdf"]
    for attachment in report["attachments"]:
        assert set(attachment) == {"id", "filename", "size", "sha256", "content_type"}
        assert attachment["content_type"] == "application/pdf"
    assert len(files(upload_dir)) == 2
    assert [json.loads(e.details)["type"] for e in events("attachment.upload")] == ["pdf", "pdf"]
    assert all(e.object_id == rid for e in events("attachment.upload"))

    first = next(a for a in report["attachments"] if a["filename"] == "退款凭证.pdf")
    url = f"/rectifications/{rid}/attachments/{first['id']}"
    for name in ("unit_contact", "audit_staff", "audit_leader"):
        download = as_(name).get(url, buffered=True)
        assert download.status_code == 200
        assert download.data == PDF and download.mimetype == "application/pdf"
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert hashlib.sha256(download.data).hexdigest() == first["sha256"]
    assert [(e.actor_username, e.object_id, json.loads(e.details))
            for e in events("attachment.download")] == [
        (username, rid, {"attachment": first["id"], "sha256": first["sha256"]})
        for username in ("unit.contact", "audit.staff", "audit.leader")]
    for name in OUTSIDERS:
        assert as_(name).get(url).status_code == 404, name
    # Not a finding's attachment, nor another item's.
    other = rectification_in(world, S.NOT_STARTED)
    assert unit.get(f"/rectifications/{other.public_id}/attachments/{first['id']}"
                    ).status_code == 404
    assert as_("audit_staff").get(f"/attachments/{first['id']}").status_code == 404
    assert unit.get(f"/rectifications/{rid}/attachments/nothing").status_code == 404


@pytest.mark.parametrize(("fields", "status", "errors"), [
    ({"measures": "整改", "files": (EXE, "a.pdf")}, 415, None),
    ({"measures": "整改", "files": (b"", "empty.pdf")}, 400, None),
    ({"files": (PDF, "a.pdf")}, 422, {"measures"}),
    ({"measures": "整改", "amount_recovered": "-5", "files": (PDF, "a.pdf")}, 422,
     {"amount_recovered"}),
    ({"measures": "整改", "colour": "red", "files": (PDF, "a.pdf")}, 422, {"colour"}),
    ({"measures": "整改", "file": (PDF, "a.pdf")}, 422, {"file"}),
])
def test_a_refused_report_leaves_no_file(world, as_, upload_dir, fields, status, errors):
    rectification = rectification_in(world, S.IN_PROGRESS)
    with unchanged(snapshot, rectification):
        response = as_("unit_contact").upload(f"/rectifications/{rectification.public_id}/reports",
                                              fields)
        assert response.status_code == status, response.get_json()
        if errors:
            assert set(response.get_json()["errors"]) == errors
        assert files(upload_dir) == [] and count(Attachment) == 0


def test_two_files_the_second_refused_leave_nothing(world, as_, upload_dir):
    rectification = rectification_in(world, S.IN_PROGRESS)
    before = snapshot(rectification)
    response = as_("unit_contact").upload(f"/rectifications/{rectification.public_id}/reports", [
        ("measures", "整改"), ("files", (PDF, "a.pdf")),
        ("files", (EXE, "b.pdf"))])
    assert response.status_code == 415
    assert files(upload_dir) == [] and count(Attachment) == 0
    assert count(RectificationReport) == len(before["reports"])
    assert snapshot(rectification) == before


@pytest.mark.parametrize(("name", "state", "status"), [
    ("audit_staff", S.IN_PROGRESS, 403),
    ("audit_leader", S.NOT_STARTED, 403),
    ("unit_contact", S.SIGNED_OFF, 409),
    ("unit_contact", S.PENDING_VERIFICATION, 409),
    ("unit2_contact", S.IN_PROGRESS, 404),
    ("insp_staff", S.IN_PROGRESS, 404),
])
def test_evidence_only_from_the_unit_while_the_item_is_open(world, as_, upload_dir, name,
                                                            state, status):
    rectification = rectification_in(world, state)
    with unchanged(snapshot, rectification):
        response = as_(name).upload(f"/rectifications/{rectification.public_id}/reports", {
            "measures": "整改", "files": (PDF, "a.pdf")})
        assert response.status_code == status
        assert files(upload_dir) == []


# --- lists ----------------------------------------------------------------------------------


def test_lists_by_state_and_unit(world, as_):
    edu_open = rectification_in(world, S.IN_PROGRESS)
    edu_done = rectification_in(world, S.SIGNED_OFF)
    health = rectification_in(world, S.IN_PROGRESS, unit=world.health)
    elsewhere = rectification_in(world, S.IN_PROGRESS, finding=finding_for(
        world, owner_agency=world.audit2, created_by=world.audit2_staff))
    owner = as_("audit_staff")
    assert owner.ids() == {edu_open.public_id, edu_done.public_id, health.public_id}
    assert owner.ids(state="in_progress") == {edu_open.public_id, health.public_id}
    assert owner.ids(state="signed_off") == {edu_done.public_id}
    assert owner.ids(unit="edu") == {edu_open.public_id, edu_done.public_id}
    assert owner.ids(unit="health", state="in_progress") == {health.public_id}
    assert owner.ids(unit="nowhere") == set()
    assert as_("audit2_staff").ids() == {elsewhere.public_id}
    assert as_("unit_contact").ids(state="in_progress") == {edu_open.public_id,
                                                            elsewhere.public_id}
    for name in ("insp_staff", "org_staff", "disc_staff"):
        listing = as_(name).list()
        assert listing["items"] == [] and listing["total"] == 0


@pytest.mark.parametrize("params", [
    {"state": "lost"}, {"clock": "late"}, {"per_page": 101}, {"per_page": 0}, {"page": 0},
    {"page": "x"},
])
def test_bad_list_parameters_are_a_422(world, as_, params):
    response = as_("audit_staff").get("/rectifications", query_string=params)
    assert response.status_code == 422
    assert set(params) <= set(response.get_json()["errors"])


def test_pages_earliest_deadline_first(world, as_):
    from datetime import timedelta

    from supervise.database import now_utc

    made = [rectification_in(world, S.NOT_STARTED, issued_at=now_utc() - timedelta(days=d))
            for d in (3, 10, 1, 7, 5)]
    by_deadline = [r.public_id for r in sorted(made, key=lambda r: (r.due_at, r.id))]
    assert as_("audit_staff").pages("/rectifications", total=5) == by_deadline


def test_a_list_runs_as_many_queries_for_fifty_rows_as_for_five(world, as_, count_queries):
    states = list(S)

    def add(n):
        for i in range(n):
            rectification_in(world, states[i % len(states)],
                             plan=Plan.LONG_TERM if states[i % len(states)] == S.LONG_TERM
                             else Plan.IMMEDIATE)

    def counts():
        return statements_per_caller((as_("audit_staff"), as_("unit_contact")), count_queries,
                                     counted("/rectifications", per_page=100))

    add(5)
    five = counts()
    add(45)
    fifty = counts()
    assert [rows for rows, _ in five] == [5, 5] and [rows for rows, _ in fifty] == [50, 50]
    assert [queries for _, queries in five] == [queries for _, queries in fifty]


def test_reading_an_item_runs_as_many_queries_for_a_long_history(world, as_, count_queries,
                                                                  upload_dir):
    rectification = rectification_in(world, S.NOT_STARTED)
    rid = rectification.public_id

    def steps_(n):
        for i in range(n):
            assert as_("unit_contact").upload(f"/rectifications/{rid}/reports", {
                "measures": f"第{i}次进展", "files": (PDF + str(i).encode(), f"{i}.pdf")}
            ).status_code == 201
            assert as_("audit_staff").post(f"/rectifications/{rid}/chase",
                                           json={"comment": f"催办{i}"}).status_code == 200

    def counts():
        result = []
        for name in ("audit_staff", "unit_contact"):
            as_(name).get(f"/rectifications/{rid}")
            with count_queries() as statements:
                response = as_(name).get(f"/rectifications/{rid}")
            result.append((len(response.get_json()["reports"]), len(statements)))
        return result

    steps_(2)
    short = counts()
    steps_(10)
    long = counts()
    assert [n for n, _ in short] == [2, 2] and [n for n, _ in long] == [12, 12]
    assert [q for _, q in short] == [q for _, q in long]


# --- who else may call ----------------------------------------------------------------------


def test_administrators_and_signed_out_callers_are_refused(world, as_, client):
    rectification = rectification_in(world, S.PENDING_VERIFICATION)
    rid = rectification.public_id
    finding = finding_for(world)
    calls = [("GET", "/rectifications"), ("GET", f"/rectifications/{rid}"),
             ("POST", f"/rectifications/{rid}/verify"),
             ("POST", f"/rectifications/{rid}/reports"),
             ("POST", f"/findings/{finding.public_id}/rectification")]
    for role in ("sysadmin", "secadmin", "auditadmin"):
        admin = Caller(world.client, UserFactory(username=f"audit.{role}", agency=world.audit,
                                                 roles=[role]))
        for method, url in calls:
            assert admin._call(method, url, json={"plan": "staged"}).status_code == 403
    for method, url in calls:
        response = client.open(f"/api/v1{url}", method=method, json={},
                               headers={"Authorization": "Bearer forged"})
        assert response.status_code == 401
    assert reload(rectification).state == S.PENDING_VERIFICATION
    assert count(Attachment) == 0


def test_other_agencies_never_learn_of_an_item(world, as_):
    rectification = rectification_in(world, S.IN_PROGRESS)
    for name in OUTSIDERS:
        response = as_(name).get(f"/rectifications/{rectification.public_id}")
        assert response.status_code == 404
        assert rectification.public_id not in text_of(as_(name).get("/rectifications"))


# --- every step is an event -----------------------------------------------------------------


def test_every_step_is_in_the_history_and_an_event(world, as_, upload_dir):
    finding = finding_for(world)
    owner, leader, unit = as_("audit_staff"), as_("audit_leader"), as_("unit_contact")
    issued = owner.post(f"/findings/{finding.public_id}/rectification",
                        json={"plan": "staged"})
    assert issued.status_code == 201
    rid = issued.get_json()["id"]
    journey = [
        (unit, "reports", {"measures": "已制定整改方案"}, 201),
        (owner, "chase", {"comment": "请加快整改"}, 200),
        (unit, "reports", {"measures": "已清退", "amount_recovered": "100.00",
                           "final": True}, 201),
        (owner, "send-back", {"reason": "未见退款凭证"}, 200),
        (unit, "reports", {"measures": "已补充凭证", "final": True}, 201),
        (owner, "verify", {"comment": "核实无误"}, 200),
        (owner, "sign-off", {"comment": "申请销号"}, 200),
        (leader, "approve-sign-off", {"comment": "同意销号"}, 200),
    ]
    for caller, action, body, status in journey:
        response = caller.post(f"/rectifications/{rid}/{action}", json=body)
        assert response.status_code == status, (action, response.get_json())
    row = reload(rid)
    assert row.state == S.SIGNED_OFF and row.signed_off_by.username == "audit.leader"
    assert [(s.action, s.from_state, s.to_state) for s in steps(row)] == [
        ("issue", None, "not_started"),
        ("report", "not_started", "in_progress"),
        ("chase", "in_progress", None),
        ("report", "in_progress", "pending_verification"),
        ("send-back", "pending_verification", "in_progress"),
        ("report", "in_progress", "pending_verification"),
        ("verify", "pending_verification", "verified"),
        ("sign-off", "verified", "sign_off_pending"),
        ("approve-sign-off", "sign_off_pending", "signed_off")]
    trail = [(e.action, e.actor_username) for e in events() if e.object_id == rid]
    assert trail == [
        ("rectification.issue", "audit.staff"), ("rectification.report", "unit.contact"),
        ("rectification.chase", "audit.staff"), ("rectification.report", "unit.contact"),
        ("rectification.send-back", "audit.staff"), ("rectification.report", "unit.contact"),
        ("rectification.verify", "audit.staff"), ("rectification.sign-off", "audit.staff"),
        ("rectification.approve-sign-off", "audit.leader")]
    [first_final] = [e for e in events("rectification.report")
                     if json.loads(e.details)["final"] and
                     json.loads(e.details)["amount_recovered"] == "100.00"]
    assert json.loads(first_final.details) == {"final": True, "amount_recovered": "100.00",
                                               "from": "in_progress",
                                               "to": "pending_verification"}
    final = owner.get(f"/rectifications/{rid}").get_json()
    assert final["state"] == "signed_off" and final["actions"] == []
    assert final["amount_recovered"] == "100.00"
    assert unit.get(f"/rectifications/{rid}").get_json()["actions"] == []


def test_a_send_back_restarts_the_clock(world, as_):
    from datetime import date

    import time_machine

    from tests.referrals.factories import shanghai

    with time_machine.travel(shanghai(date(2026, 8, 3), 10), tick=False):
        rectification = rectification_in(world, S.PENDING_VERIFICATION)  # due 2026-10-08
        assert as_("audit_staff").post(f"/rectifications/{rectification.public_id}/send-back",
                                       json={"reason": "证据不足"}).status_code == 200
    with time_machine.travel(shanghai(date(2026, 10, 12), 10), tick=False):
        owner = as_("audit_staff")
        listed = owner.ids(clock="overdue")
        shown = owner.get(f"/rectifications/{rectification.public_id}").get_json()["clock"]
    assert listed == {rectification.public_id}
    assert shown == "overdue"


def test_the_openapi_document_describes_the_rectifications(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/findings/{finding_id}/rectification", "/api/v1/rectifications",
                 "/api/v1/rectifications/{rectification_id}",
                 "/api/v1/rectifications/{rectification_id}/reports",
                 "/api/v1/rectifications/{rectification_id}/{action}",
                 "/api/v1/rectifications/{rectification_id}/attachments/{attachment_id}"):
        assert path in paths, path
    [action] = [p for p in paths["/api/v1/rectifications/{rectification_id}/{action}"]
                ["parameters"] if p["name"] == "action"]
    assert set(action["schema"]["enum"]) == {"verify", "sign-off", "approve-sign-off",
                                             "send-back", "chase"}
