"""The findings API (/api/v1): who sees what, every bad input refused without a trace, and every
change an event."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from supervise.attachments.models import Attachment
from supervise.database import now_utc
from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings.models import (
    Category,
    Comment,
    Finding,
    FindingLink,
    FindingStatus,
    Handling,
    Sensitivity,
    Share,
)
from supervise.projects.models import Project
from supervise.settings.models import Setting
from tests.factories import (
    FindingFactory,
    ProjectFactory,
    ShareFactory,
    UserFactory,
)
from tests.helpers import events, integer_keys
from tests.support.api import Caller, counted, statements_per_caller
from tests.support.files import DOCX, EXE, JPEG, OFD, PDF, PNG, XLSX, zip_file

API = "/api/v1"


def finding(world, *, owner=None, unit=None, **kwargs):
    owner = owner or world.audit
    creator = world.audit_staff if owner == world.audit else world.insp_staff
    return FindingFactory(owner_agency=owner, unit=unit or world.edu, created_by=creator,
                          **kwargs)


def share(world, target, agency=None, **kwargs):
    by = world.audit_staff if target.owner_agency == world.audit else world.insp_staff
    return ShareFactory(finding=target, agency=agency or world.inspection, shared_by=by,
                        **kwargs)


def attach(world, target, upload_dir, content=PDF, filename="evidence.pdf"):
    """An attachment stored as the upload view would store it."""
    storage_name = hashlib.sha256(content + filename.encode()).hexdigest()[:32]
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / storage_name).write_bytes(content)
    attachment = Attachment(finding_id=target.id, filename=filename,
                            content_type="application/pdf", size=len(content),
                            sha256=hashlib.sha256(content).hexdigest(),
                            storage_name=storage_name, uploaded_by=target.created_by)
    db.session.add(attachment)
    db.session.commit()
    return attachment


# --- reading the database -------------------------------------------------------------------

COUNTED = (Finding, Share, Attachment, Comment, FindingLink, Project, Event)


def snapshot(upload_dir=None):
    """Every row count and stored file, to prove a refused request changed nothing."""
    db.session.expire_all()
    state = {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
             for model in COUNTED}
    # A token taken through POST /tokens is an event; that is not the change.
    state["Event"] = db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.action != "auth.token_issued"))
    state["findings"] = [
        (f.public_id, f.version, f.status, f.title, f.amount, f.unit_id, f.project_id,
         f.category_code, f.facts)
        for f in db.session.scalars(sa.select(Finding).order_by(Finding.id))]
    state["shares"] = [(s.public_id, s.withdrawn_at) for s in
                       db.session.scalars(sa.select(Share).order_by(Share.id))]
    if upload_dir is not None:
        state["files"] = sorted(p.name for p in upload_dir.iterdir())
    return state


def finding_row(public_id) -> Finding:
    db.session.expire_all()
    return db.session.scalar(sa.select(Finding).where(Finding.public_id == public_id))


def valid_body(world, **changes):
    body = {"unit": "edu", "project": world.project.public_id,
            "title": "违规发放津补贴", "facts": "2020年区教育局违规发放津补贴共计1234.50元。",
            "category": "allowances", "amount": "1234.50", "legal_basis": "《预算法》第九十三条",
            "recommendation": "责令收回。", "sensitivity": "normal"}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


# --- who sees what --------------------------------------------------------------------------


@pytest.fixture
def shared_world(world, upload_dir):
    """Audit findings: one shared with the inspection office, one issued and kept, one draft,
    one shared and withdrawn; and one of the inspection office's own."""
    w = world
    w.shared = finding(w, title="违规发放津补贴问题", project=w.project)
    w.share = share(w, w.shared, note="请巡察时关注", handling=Handling.READ_ONLY)
    w.kept = finding(w, title="政府采购未公开招标")
    w.draft = finding(w, title="草稿问题", status=FindingStatus.DRAFT, issued_at=None)
    w.withdrawn = finding(w, title="已撤回共享的问题")
    share(w, w.withdrawn, withdrawn_at=now_utc(), withdrawn_by=w.audit_staff)
    w.own_inspection = finding(w, owner=w.inspection, title="巡察发现的问题")
    w.shared_file = attach(w, w.shared, upload_dir)
    w.kept_file = attach(w, w.kept, upload_dir, filename="kept.pdf")
    return w


def test_the_inspection_office_sees_exactly_what_is_shared_with_it(shared_world, as_):
    w = shared_world
    insp = as_("insp_staff")
    assert insp.ids(scope="shared_with_us") == {w.shared.public_id}
    assert insp.ids(scope="own") == {w.own_inspection.public_id}
    assert insp.ids() == {w.shared.public_id, w.own_inspection.public_id}

    body = insp.get(f"/findings/{w.shared.public_id}").get_json()
    assert body["id"] == w.shared.public_id
    assert body["share"]["handling"] == "read_only"
    assert body["share"]["note"] == "请巡察时关注"
    assert body["share"]["shared_at"].endswith("+08:00")
    assert body["owner"] == {"code": "audit", "name": "区审计局"}
    assert [a["filename"] for a in body["attachments"]] == ["evidence.pdf"]

    for hidden in (w.kept, w.draft, w.withdrawn):
        response = insp.get(f"/findings/{hidden.public_id}")
        assert response.status_code == 404
        assert response.get_json() == {"status": 404, "message": "未找到。"}
        assert insp.get(f"/findings/{hidden.public_id}/uses").status_code == 404
        assert insp.get(f"/findings/{hidden.public_id}/comments").status_code == 404
    download = insp.get(f"/attachments/{w.shared_file.public_id}", buffered=True)
    assert download.status_code == 200
    assert insp.get(f"/attachments/{w.kept_file.public_id}").status_code == 404
    assert insp.get("/attachments/no-such-attachment").status_code == 404


@pytest.mark.parametrize("name", ["org_staff", "disc_staff", "unit_contact"])
def test_other_agencies_and_the_audited_unit_see_none_of_them(shared_world, as_, name):
    w = shared_world
    caller = as_(name)
    listing = caller.get("/findings").get_json()
    assert listing["items"] == [] and listing["total"] == 0
    assert listing["total_amount"] == "0.00"
    for target in (w.shared, w.kept, w.draft, w.withdrawn, w.own_inspection):
        assert caller.get(f"/findings/{target.public_id}").status_code == 404
        assert caller.patch(f"/findings/{target.public_id}",
                            json={"title": "x", "version": 1}).status_code == 404
    assert caller.get(f"/attachments/{w.shared_file.public_id}").status_code == 404
    assert caller.get("/findings/similar",
                      query_string={"unit": "edu", "title": w.shared.title}).get_json() == []


def test_administrators_see_no_case_content(shared_world, as_):
    admin = UserFactory(username="sys.admin", agency=shared_world.audit, roles=["sysadmin"])
    caller = Caller(shared_world.client, admin)
    # Administrators hold no case-content permission: the chokepoint refuses them outright.
    assert caller.get("/findings").status_code == 403
    assert caller.get(f"/findings/{shared_world.shared.public_id}").status_code == 403
    assert caller.post("/findings", json=valid_body(shared_world)).status_code == 403


def test_the_owner_sees_everything_it_owns_drafts_included(shared_world, as_):
    w = shared_world
    owned = {w.shared.public_id, w.kept.public_id, w.draft.public_id, w.withdrawn.public_id}
    for name in ("audit_staff", "audit_leader"):
        caller = as_(name)
        assert caller.ids() == owned
        assert caller.ids(scope="own") == owned
        assert caller.ids(scope="shared_with_us") == set()
    draft = as_("audit_staff").get(f"/findings/{w.draft.public_id}").get_json()
    assert draft["status"] == "draft" and draft["issued_at"] is None
    assert "share" not in draft  # the owner reads its shares in the uses panel
    assert as_("audit_staff").get(f"/findings/{w.own_inspection.public_id}").status_code == 404


def test_withdrawal_ends_access_at_once_attachments_included(world, as_, upload_dir):
    w = world
    target = finding(w)
    owner, insp = as_("audit_staff"), as_("insp_staff")
    attachment_id = owner.attach(target.public_id, PDF).get_json()["id"]
    created = owner.post(f"/findings/{target.public_id}/shares",
                         json={"agency": "inspection", "note": "请关注", "handling": "may_refer"})
    assert created.status_code == 201
    share_id = created.get_json()["id"]
    assert insp.get(f"/findings/{target.public_id}").get_json()["share"]["handling"] == \
        "may_refer"
    assert insp.get(f"/attachments/{attachment_id}", buffered=True).status_code == 200

    withdrawn = owner.delete(f"/findings/{target.public_id}/shares/{share_id}")
    assert withdrawn.status_code == 200
    body = withdrawn.get_json()
    assert body["id"] == share_id and body["active"] is False
    assert body["withdrawn_at"].endswith("+08:00")

    assert insp.get(f"/findings/{target.public_id}").status_code == 404
    assert insp.get(f"/attachments/{attachment_id}").status_code == 404
    assert insp.ids() == set()
    [event] = events("finding.share_withdraw")
    assert json.loads(event.details) == {"share": share_id, "agency": "inspection"}
    # History stays: the owner still sees the withdrawn share.
    shares = owner.get(f"/findings/{target.public_id}/uses").get_json()["shares"]
    assert [(s["id"], s["active"]) for s in shares] == [(share_id, False)]
    assert owner.delete(f"/findings/{target.public_id}/shares/{share_id}").status_code == 409


def test_signed_out_callers_are_refused(client, world):
    target = finding(world)
    for method, url in [("GET", "/findings"), ("GET", f"/findings/{target.public_id}"),
                        ("POST", "/findings"), ("GET", "/categories"), ("GET", "/projects")]:
        assert client.open(API + url, method=method).status_code == (
            401 if method == "GET" else 400)  # a cookie-less POST fails the CSRF check first
        response = client.open(API + url, method=method, json={},
                               headers={"Authorization": "Bearer forged"})
        assert response.status_code == 401


# --- creating and reading -------------------------------------------------------------------


def test_create_then_read_a_finding(world, as_):
    owner = as_("audit_staff")
    response = owner.post("/findings", json=valid_body(world))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "draft" and body["version"] == 1
    assert len(body["id"]) == 16 and not body["id"].isdigit()
    assert body["amount"] == "1234.50"
    assert body["category"] == "allowances" and body["category_name"] == "违规发放津补贴"
    assert body["unit"] == {"code": "edu", "name": "区教育局"}
    assert body["owner"] == {"code": "audit", "name": "区审计局"}
    assert body["project"] == {"id": world.project.public_id, "year": 2020,
                               "name": "2020年度区教育局部门预算执行审计"}
    assert body["created_at"].endswith("+08:00")
    assert body["attachments"] == [] and body["sensitivity"] == "normal"
    assert integer_keys(body) == []

    [event] = events("finding.create")
    assert event.object_id == body["id"] and event.actor_username == "audit.staff"
    read = owner.get(f"/findings/{body['id']}", headers={"Accept-Language": "en"}).get_json()
    assert read["category_name"] == "Improper allowances and subsidies"
    assert {k: v for k, v in read.items() if k != "category_name"} == \
        {k: v for k, v in body.items() if k != "category_name"}


def test_optional_fields_may_be_left_out(world, as_):
    body = valid_body(world, project=None, amount=..., legal_basis=..., recommendation=...,
                      sensitivity=...)
    response = as_("insp_staff").post("/findings", json={**body, "unit": "health"})
    assert response.status_code == 201
    created = response.get_json()
    assert created["project"] is None and created["amount"] is None
    assert created["owner"]["code"] == "inspection"


def test_the_audited_unit_and_the_commission_record_no_findings(world, as_):
    for name in ("unit_contact", "disc_staff", "org_staff"):
        before = snapshot()
        assert as_(name).post("/findings", json=valid_body(world, project=None)).status_code \
            == 403
        assert snapshot() == before


def test_reading_a_sensitive_finding_is_an_event(world, as_):
    sensitive = finding(world, sensitivity=Sensitivity.SENSITIVE)
    plain = finding(world)
    owner = as_("audit_staff")
    assert owner.get(f"/findings/{plain.public_id}").status_code == 200
    assert events("finding.read") == []
    assert owner.get(f"/findings/{sensitive.public_id}").get_json()["sensitivity"] == \
        "sensitive"
    [event] = events("finding.read")
    assert event.object_id == sensitive.public_id and event.actor_username == "audit.staff"


BAD_FINDINGS = [
    ("negative amount", {"amount": "-1.00"}, "amount"),
    ("amount not a number", {"amount": "一千元"}, "amount"),
    ("amount with three decimals", {"amount": "12.345"}, "amount"),
    ("amount as a JSON number", {"amount": 12.5}, "amount"),
    ("amount as a JSON integer", {"amount": 12}, "amount"),
    ("title missing", {"title": ...}, "title"),
    ("facts missing", {"facts": ...}, "facts"),
    ("title blank", {"title": "   "}, "title"),
    ("title too long", {"title": "长" * 201}, "title"),
    ("facts too long", {"facts": "长" * 20001}, "facts"),
    ("title not text", {"title": 42}, "title"),
    ("unknown unit", {"unit": "nowhere"}, "unit"),
    ("unit that is no audited unit", {"unit": "inspection"}, "unit"),
    ("unknown project", {"project": "no-such-project"}, "project"),
    ("unknown category", {"category": "nothing"}, "category"),
    ("unknown sensitivity", {"sensitivity": "secret"}, "sensitivity"),
    ("unknown field", {"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_FINDINGS,
                         ids=[case for case, _, _ in BAD_FINDINGS])
def test_bad_input_is_refused_and_changes_nothing(world, as_, case, change, field):
    owner = as_("audit_staff")
    before = snapshot()
    response = owner.post("/findings", json=valid_body(world, **change))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["status"] == 422 and body["message"]
    assert field in body["errors"]
    assert snapshot() == before


def test_an_amount_must_be_sent_as_a_string(world, as_):
    response = as_("audit_staff").post("/findings", json=valid_body(world, amount=1234.5),
                                       headers={"Accept-Language": "en"})
    assert response.get_json()["errors"] == {
        "amount": ["Give the amount as a string such as '1234.56'."]}


def test_each_bad_field_is_named_at_once(world, as_):
    response = as_("audit_staff").post(
        "/findings", json=valid_body(world, amount="-5", unit="nowhere", category="nothing"),
        headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "amount": "The amount cannot be negative.", "unit": "Unknown audited unit.",
        "category": "Unknown category."}


def test_another_agencys_project_is_unknown(world, as_):
    theirs = ProjectFactory(lead_agency=world.inspection, created_by_id=world.insp_staff.id)
    before = snapshot()
    response = as_("audit_staff").post("/findings",
                                       json=valid_body(world, project=theirs.public_id))
    assert response.status_code == 422 and "project" in response.get_json()["errors"]
    assert snapshot() == before


@pytest.mark.parametrize("payload", ["{not json", '{"title": "a",}'])
def test_malformed_json_is_a_400(world, as_, payload):
    before = snapshot()
    response = as_("audit_staff").post("/findings", data=payload,
                                       content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == "请求正文不是有效的JSON。"
    assert snapshot() == before


def test_a_body_that_is_not_an_object_is_refused(world, as_):
    before = snapshot()
    response = as_("audit_staff").post("/findings", json=["not", "an", "object"])
    assert response.status_code == 422
    assert snapshot() == before


# --- editing --------------------------------------------------------------------------------


def test_edit_carries_the_version_and_names_the_changed_fields(world, as_):
    target = finding(world, status=FindingStatus.DRAFT, issued_at=None, amount=Decimal("10.00"))
    owner = as_("audit_staff")
    response = owner.patch(f"/findings/{target.public_id}",
                           json={"version": 1, "title": "新标题", "amount": "20.5",
                                 "facts": target.facts})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == 2 and body["title"] == "新标题" and body["amount"] == "20.50"
    [event] = events("finding.update")
    assert json.loads(event.details) == {"fields": ["amount", "title"], "after_issue": False}

    # Issued findings may still be edited by the owner's staff; the event says so.
    assert as_("audit_leader").post(f"/findings/{target.public_id}/issue").status_code == 200
    version = finding_row(target.public_id).version
    response = owner.patch(f"/findings/{target.public_id}",
                           json={"version": version, "project": world.project.public_id})
    assert response.status_code == 200
    assert response.get_json()["project"]["id"] == world.project.public_id
    assert json.loads(events("finding.update")[-1].details) == {
        "fields": ["project"], "after_issue": True}

    # Nothing changed: same version, no event.
    same = owner.patch(f"/findings/{target.public_id}",
                       json={"version": version + 1, "title": "新标题"})
    assert same.status_code == 200 and same.get_json()["version"] == version + 1
    assert len(events("finding.update")) == 2


def test_a_stale_edit_is_a_409_and_changes_nothing(world, as_):
    target = finding(world)
    owner = as_("audit_staff")
    assert owner.patch(f"/findings/{target.public_id}",
                       json={"version": 1, "title": "第一次修改"}).status_code == 200
    before = snapshot()
    stale = owner.patch(f"/findings/{target.public_id}", json={"version": 1, "title": "覆盖"})
    assert stale.status_code == 409
    assert stale.get_json()["status"] == 409 and stale.get_json()["message"]
    assert snapshot() == before
    assert finding_row(target.public_id).title == "第一次修改"


@pytest.mark.parametrize(("body", "status"), [
    ({"title": "无版本"}, 422),
    ({"version": "1", "title": "字符串版本"}, 422),
    ({"version": 1, "amount": "-3"}, 422),
    ({"version": 1, "title": ""}, 422),
    ({"version": 1, "unit": "nowhere"}, 422),
    ({"version": 1, "status": "issued"}, 422),
    ({"version": 1, "owner": "inspection"}, 422),
])
def test_bad_edits_change_nothing(world, as_, body, status):
    target = finding(world)
    before = snapshot()
    response = as_("audit_staff").patch(f"/findings/{target.public_id}", json=body)
    assert response.status_code == status, response.get_json()
    assert snapshot() == before


def test_editing_another_agencys_finding_is_a_404(world, as_):
    theirs = finding(world, owner=world.inspection)
    before = snapshot()
    response = as_("audit_staff").patch(f"/findings/{theirs.public_id}",
                                        json={"version": 1, "title": "改别人的"})
    assert response.status_code == 404
    assert snapshot() == before


def test_a_recipient_may_read_but_not_edit(world, as_, upload_dir):
    target = finding(world)
    share(world, target)
    before = snapshot()
    for name in ("insp_staff", "insp_leader"):
        response = as_(name).patch(f"/findings/{target.public_id}",
                                   json={"version": 1, "title": "巡察办改的"})
        assert response.status_code == 403
        assert as_(name).post(f"/findings/{target.public_id}/shares",
                              json={"agency": "discipline", "handling": "read_only"}
                              ).status_code == 403
        assert as_(name).attach(target.public_id, PDF).status_code == 403
    assert snapshot(upload_dir) == {**before, "files": []}


# --- issuing --------------------------------------------------------------------------------


def test_a_leader_issues_a_draft_once(world, as_):
    draft = finding(world, status=FindingStatus.DRAFT, issued_at=None)
    before = snapshot()
    assert as_("audit_staff").post(f"/findings/{draft.public_id}/issue").status_code == 403
    assert as_("insp_leader").post(f"/findings/{draft.public_id}/issue").status_code == 404
    assert snapshot() == before

    response = as_("audit_leader").post(f"/findings/{draft.public_id}/issue")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "issued" and body["issued_at"].endswith("+08:00")
    assert body["version"] == 2
    [event] = events("finding.issue")
    assert event.object_id == draft.public_id and event.actor_username == "audit.leader"

    before = snapshot()
    again = as_("audit_leader").post(f"/findings/{draft.public_id}/issue")
    assert again.status_code == 409
    assert snapshot() == before


def test_a_draft_goes_to_the_leader_who_sends_it_back_or_issues_it(world, as_):
    draft = finding(world, status=FindingStatus.DRAFT, issued_at=None)
    fid = draft.public_id
    before = snapshot()
    assert as_("audit_leader").post(f"/findings/{fid}/send-back",
                                    json={"reason": "再核"}).status_code == 409  # not submitted
    assert as_("insp_staff").post(f"/findings/{fid}/submit").status_code == 404
    assert snapshot() == before

    submitted = as_("audit_staff").post(f"/findings/{fid}/submit", json={"version": 1})
    assert submitted.status_code == 200
    assert (submitted.get_json()["status"], submitted.get_json()["version"]) == \
        ("pending_issue", 2)
    assert as_("audit_staff").post(f"/findings/{fid}/submit").status_code == 409
    assert as_("audit_staff").post(f"/findings/{fid}/send-back",
                                   json={"reason": "x"}).status_code == 403
    before = snapshot()
    for body in ({"reason": ""}, {"reason": "  "}, {"reason": "长" * 4001}):
        response = as_("audit_leader").post(f"/findings/{fid}/send-back", json=body)
        assert response.status_code == 422, response.get_json()
        assert "reason" in response.get_json()["errors"]
    assert as_("audit_leader").post(f"/findings/{fid}/send-back", json={}).status_code == 422
    assert as_("audit_leader").post(f"/findings/{fid}/send-back",
                                    json={"reason": "再核", "version": 1}).status_code == 409
    assert snapshot() == before

    back = as_("audit_leader").post(f"/findings/{fid}/send-back",
                                    json={"reason": "金额需与账簿核对", "version": 2})
    assert back.status_code == 200 and back.get_json()["status"] == "draft"
    db.session.expire_all()
    assert db.session.get(Finding, draft.id).sent_back_reason == "金额需与账簿核对"
    assert as_("audit_staff").post(f"/findings/{fid}/submit").status_code == 200
    issued = as_("audit_leader").post(f"/findings/{fid}/issue")
    assert issued.status_code == 200 and issued.get_json()["status"] == "issued"
    assert [e.action for e in events() if e.object_id == fid] == [
        "finding.submit", "finding.send-back", "finding.submit", "finding.issue"]
    db.session.expire_all()
    assert db.session.get(Finding, draft.id).sent_back_reason == ""


# --- sharing --------------------------------------------------------------------------------


def test_sharing_an_issued_finding(world, as_):
    target = finding(world)
    response = as_("audit_staff").post(
        f"/findings/{target.public_id}/shares",
        json={"agency": "inspection", "note": " 请巡察时关注 ", "handling": "read_only"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["agency"] == {"code": "inspection", "name": "区委巡察办"}
    assert body["note"] == "请巡察时关注" and body["handling"] == "read_only"
    assert body["active"] is True and body["withdrawn_at"] is None
    assert len(body["id"]) == 16 and integer_keys(body) == []
    [event] = events("finding.share")
    assert json.loads(event.details) == {"share": body["id"], "agency": "inspection",
                                         "handling": "read_only"}
    assert as_("insp_staff").ids() == {target.public_id}


def test_the_inspection_office_shares_back(world, as_):
    theirs = finding(world, owner=world.inspection)
    response = as_("insp_staff").post(f"/findings/{theirs.public_id}/shares",
                                      json={"agency": "audit", "handling": "may_refer"})
    assert response.status_code == 201
    assert as_("audit_staff").ids(scope="shared_with_us") == {theirs.public_id}


@pytest.mark.parametrize(("case", "body", "status", "field"), [
    ("draft", {"agency": "inspection", "handling": "read_only"}, 409, None),
    ("own agency", {"agency": "audit", "handling": "read_only"}, 422, "agency"),
    ("audited unit", {"agency": "edu", "handling": "read_only"}, 422, "agency"),
    ("unknown agency", {"agency": "nowhere", "handling": "read_only"}, 422, "agency"),
    ("unknown handling", {"agency": "inspection", "handling": "anything"}, 422, "handling"),
    ("handling missing", {"agency": "inspection"}, 422, "handling"),
    ("note too long", {"agency": "inspection", "handling": "read_only", "note": "长" * 1001},
     422, "note"),
    ("unknown field", {"agency": "inspection", "handling": "read_only", "until": "2026"},
     422, "until"),
])
def test_bad_shares_are_refused(world, as_, case, body, status, field):
    target = finding(world, status=FindingStatus.DRAFT if case == "draft" else
                     FindingStatus.ISSUED)
    before = snapshot()
    response = as_("audit_staff").post(f"/findings/{target.public_id}/shares", json=body)
    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["errors"]
    assert snapshot() == before


def test_sharing_twice_with_the_same_agency_is_a_409(world, as_):
    target = finding(world)
    owner = as_("audit_staff")
    body = {"agency": "inspection", "handling": "read_only"}
    assert owner.post(f"/findings/{target.public_id}/shares", json=body).status_code == 201
    before = snapshot()
    response = owner.post(f"/findings/{target.public_id}/shares", json=body,
                          headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert "区委巡察办" in response.get_json()["message"]
    assert snapshot() == before


def test_a_share_is_withdrawn_only_through_its_own_finding(world, as_):
    first, second = finding(world), finding(world)
    share(world, first)
    other = share(world, second)
    owner = as_("audit_staff")
    before = snapshot()
    assert owner.delete(f"/findings/{first.public_id}/shares/{other.public_id}").status_code \
        == 404
    assert owner.delete(f"/findings/{first.public_id}/shares/nothing").status_code == 404
    # The recipient sees its share but may not withdraw it; another agency's share is unknown.
    discipline_share = share(world, second, agency=world.discipline)
    before = snapshot()
    assert as_("insp_staff").delete(
        f"/findings/{second.public_id}/shares/{other.public_id}").status_code == 403
    assert as_("insp_staff").delete(
        f"/findings/{second.public_id}/shares/{discipline_share.public_id}").status_code == 404
    assert snapshot() == before


# --- attachments ----------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "name", "content_type", "stored_as"), [
    (PDF, "审计证据.pdf", "application/pdf", "审计证据.pdf"),
    (PNG, "photo.png", "image/png", "photo.png"),
    (JPEG, "现场照片.JPG", "image/jpeg", "现场照片.jpg"),
    (DOCX, "底稿.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml."
                      "document", "底稿.docx"),
    (XLSX, "明细.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "明细.xlsx"),
    (OFD, "通知.ofd", "application/ofd", "通知.ofd"),
    (PDF, "../../etc/scan", "application/pdf", "scan.pdf"),
])
def test_upload_then_download(world, as_, upload_dir, content, name, content_type, stored_as):
    target = finding(world)
    share(world, target)
    response = as_("audit_staff").attach(target.public_id, content, name)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "filename", "size", "sha256", "content_type"}
    assert body["filename"] == stored_as and body["content_type"] == content_type
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    [stored] = list(upload_dir.iterdir())
    assert stored.read_bytes() == content and stored.name != name
    [event] = events("attachment.upload")
    assert json.loads(event.details)["attachment"] == body["id"]
    assert as_("audit_staff").get(f"/findings/{target.public_id}").get_json()["attachments"] \
        == [body]

    download = as_("insp_staff").get(f"/attachments/{body['id']}", buffered=True)
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == content_type
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    [event] = events("attachment.download")
    assert event.actor_username == "insp.staff" and event.object_id == target.public_id
    assert json.loads(event.details) == {"attachment": body["id"], "sha256": body["sha256"]}


def test_download_name_is_the_uploaded_name(world, as_, upload_dir):
    target = finding(world)
    attachment_id = as_("audit_staff").attach(target.public_id, PDF, "证据.pdf").get_json()["id"]
    download = as_("audit_staff").get(f"/attachments/{attachment_id}", buffered=True)
    assert "filename*=UTF-8''%E8%AF%81%E6%8D%AE.pdf" in download.headers["Content-Disposition"]


@pytest.mark.parametrize(("case", "content", "name", "status"), [
    ("executable renamed to pdf", EXE, "evidence.pdf", 415),
    ("zip that is no office file", zip_file("readme.txt"), "evidence.docx", 415),
    ("text", b"just some text", "evidence.txt", 415),
    ("html", b"<html><script>alert(1)</script></html>", "evidence.pdf", 415),
    ("empty file", b"", "evidence.pdf", 400),
])
def test_bad_uploads_are_refused_and_leave_nothing(world, as_, upload_dir, case, content, name,
                                                    status):
    target = finding(world)
    before = snapshot(upload_dir)
    response = as_("audit_staff").attach(target.public_id, content, name)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["message"]
    assert snapshot(upload_dir) == before


def test_an_oversized_upload_is_a_413(world, as_, upload_dir):
    target = finding(world)
    db.session.add(Setting(key="attachment_max_mb", value=1))
    db.session.commit()
    before = snapshot(upload_dir)
    big = PDF + b"0" * (1024 * 1024 + 512 * 1024)
    response = as_("audit_staff").attach(target.public_id, big, "big.pdf",)
    assert response.status_code == 413
    assert "1" in response.get_json()["message"]
    assert snapshot(upload_dir) == before
    # Just under the limit is fine.
    small = PDF + b"0" * (1024 * 1024 - len(PDF))
    assert as_("audit_staff").attach(target.public_id, small, "ok.pdf").status_code == 201


def test_an_upload_needs_a_file(world, as_, upload_dir):
    target = finding(world)
    before = snapshot(upload_dir)
    response = as_("audit_staff").post(f"/findings/{target.public_id}/attachments",
                                       data={"other": "x"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]
    assert snapshot(upload_dir) == before


def test_uploading_to_an_invisible_finding_is_a_404(world, as_, upload_dir):
    theirs = finding(world, owner=world.inspection)
    before = snapshot(upload_dir)
    assert as_("audit_staff").attach(theirs.public_id, PDF).status_code == 404
    assert snapshot(upload_dir) == before


def test_a_missing_stored_file_is_a_404_and_no_download_event(world, as_, upload_dir):
    target = finding(world)
    attachment = attach(world, target, upload_dir)
    (upload_dir / attachment.storage_name).unlink()
    assert as_("audit_staff").get(f"/attachments/{attachment.public_id}").status_code == 404
    assert events("attachment.download") == []


# --- lists ----------------------------------------------------------------------------------


@pytest.fixture
def many(world):
    w = world
    old_project = ProjectFactory(lead_agency=w.audit, year=2019, name="2019年度专项审计",
                                 created_by_id=w.audit_staff.id)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    specs = [
        # title, unit, project, category, amount, created_at
        ("ABC公司违规发放津补贴", w.edu, w.project, "allowances", "100.10", base),
        ("公务接待超标准", w.edu, w.project, "three_public", "0.20", base + timedelta(hours=1)),
        ("政府采购未公开招标", w.health, old_project, "procurement", None,
         base + timedelta(hours=2)),
        ("固定资产账实不符", w.health, None, "state_assets", "5000.00",
         base + timedelta(hours=3)),
        # Recorded on 2020-01-01 01:00 in Shanghai, which is still 2019 in UTC.
        ("跨年记录的问题 100%完成", w.edu, None, "other", "0.10",
         datetime(2019, 12, 31, 17, 0, tzinfo=UTC)),
    ]
    made = {}
    for title, unit, project, category, amount, created_at in specs:
        made[title] = finding(w, title=title, unit=unit, project=project, category_code=category,
                              amount=Decimal(amount) if amount else None, created_at=created_at,
                              facts=f"{title}的事实。")
    w.made = made
    w.old_project = old_project
    return w


def ids_of(w, *titles):
    return {w.made[title].public_id for title in titles}


def test_filters(many, as_):
    w, owner = many, as_("audit_staff")
    assert owner.ids(unit="edu") == ids_of(w, "ABC公司违规发放津补贴", "公务接待超标准",
                                           "跨年记录的问题 100%完成")
    assert owner.ids(project=w.project.public_id) == ids_of(w, "ABC公司违规发放津补贴",
                                                           "公务接待超标准")
    assert owner.ids(project="no-such-project") == set()
    assert owner.ids(year=2019) == ids_of(w, "政府采购未公开招标")
    assert owner.ids(year=2020) == ids_of(w, "ABC公司违规发放津补贴", "公务接待超标准",
                                          "跨年记录的问题 100%完成")
    assert owner.ids(year=2026) == ids_of(w, "固定资产账实不符")
    assert owner.ids(category="procurement") == ids_of(w, "政府采购未公开招标")
    assert owner.ids(q="abc") == ids_of(w, "ABC公司违规发放津补贴")
    assert owner.ids(q="账实不符的事实") == ids_of(w, "固定资产账实不符")  # in the facts
    assert owner.ids(q="100%") == ids_of(w, "跨年记录的问题 100%完成")
    assert owner.ids(q="%") == ids_of(w, "跨年记录的问题 100%完成")
    assert owner.ids(q="_") == set()
    assert owner.ids(unit="edu", category="three_public", year=2020, q="接待") == \
        ids_of(w, "公务接待超标准")


def test_sorting_and_pages(many, as_):
    owner = as_("audit_staff")

    def titles(**params):
        return [item["title"] for item in
                owner.get("/findings", query_string=params).get_json()["items"]]

    newest_first = ["固定资产账实不符", "政府采购未公开招标", "公务接待超标准",
                    "ABC公司违规发放津补贴", "跨年记录的问题 100%完成"]
    assert titles() == newest_first
    assert titles(sort="-created_at") == newest_first
    assert titles(sort="created_at") == newest_first[::-1]
    assert titles(sort="-amount") == ["固定资产账实不符", "ABC公司违规发放津补贴",
                                      "公务接待超标准", "跨年记录的问题 100%完成",
                                      "政府采购未公开招标"]
    assert titles(sort="amount") == ["政府采购未公开招标", "跨年记录的问题 100%完成",
                                     "公务接待超标准", "ABC公司违规发放津补贴", "固定资产账实不符"]
    assert titles(sort="title")[0] == "ABC公司违规发放津补贴"

    assert owner.pages("/findings", total=5, key="title") == newest_first
    # The total covers every matching finding, not only the page, and is exact.
    first = owner.get("/findings", query_string={"per_page": 2}).get_json()
    assert first["total_amount"] == "5100.40"
    assert owner.get("/findings", query_string={"unit": "edu"}).get_json()["total_amount"] == \
        "100.40"


def test_list_items_leave_out_the_long_texts(many, as_):
    item = as_("audit_staff").get("/findings").get_json()["items"][0]
    assert not {"facts", "legal_basis", "recommendation", "attachments"} & set(item)
    assert {"id", "status", "version", "title", "category", "category_name", "amount", "unit",
            "owner", "project", "created_at", "issued_at", "sensitivity"} <= set(item)
    assert integer_keys(item) == []


@pytest.mark.parametrize("params", [
    {"per_page": 101}, {"per_page": 0}, {"page": 0}, {"page": "x"}, {"sort": "id"},
    {"scope": "everything"}, {"year": "二〇二〇"}, {"year": 1850},
])
def test_bad_list_parameters_are_a_422(world, as_, params):
    response = as_("audit_staff").get("/findings", query_string=params)
    assert response.status_code == 422
    assert set(params) <= set(response.get_json()["errors"])


def test_a_list_runs_as_many_queries_for_fifty_rows_as_for_five(world, as_, count_queries,
                                                                 upload_dir):
    w = world
    projects = [w.project, ProjectFactory(lead_agency=w.audit, created_by_id=w.audit_staff.id)]
    categories = ["allowances", "budget", "procurement"]
    units = [w.edu, w.health]

    def add(n):
        for i in range(n):
            made = finding(w, unit=units[i % 2], project=projects[i % 2] if i % 3 else None,
                           category_code=categories[i % 3])
            share(w, made, handling=Handling.MAY_REFER if i % 2 else Handling.READ_ONLY)
            if i % 4 == 0:
                share(w, made, agency=w.discipline)
            if i % 5 == 0:
                attach(w, made, upload_dir, filename=f"e{made.public_id}.pdf")

    callers = [as_("audit_staff"), as_("insp_staff")]

    def counts():
        return statements_per_caller(callers, count_queries, counted("/findings", per_page=100))

    add(5)
    five = counts()
    add(45)
    fifty = counts()
    assert [rows for rows, _ in five] == [5, 5] and [rows for rows, _ in fifty] == [50, 50]
    assert [queries for _, queries in five] == [queries for _, queries in fifty]


# --- categories, uses, comments, links, similar ---------------------------------------------


def test_categories_in_the_callers_language(world, as_):
    db.session.add(Category(code="retired", name="停用", name_en="Retired", position=1,
                            active=False))
    db.session.commit()
    caller = as_("insp_staff")
    chinese = caller.get("/categories").get_json()
    assert chinese[0] == {"code": "allowances", "name": "违规发放津补贴"}
    assert [c["code"] for c in chinese] == ["allowances", "three_public", "budget",
                                            "procurement", "state_assets", "construction",
                                            "other"]
    english = caller.get("/categories", headers={"Accept-Language": "en"}).get_json()
    assert english[-1] == {"code": "other", "name": "Other"}


def test_uses_show_shares_and_related_findings(world, as_):
    w = world
    target = finding(w)
    own = finding(w, owner=w.inspection, title="巡察中发现的同类问题")
    share(w, target)
    share(w, target, agency=w.discipline, withdrawn_at=now_utc(), withdrawn_by=w.audit_staff)
    insp = as_("insp_staff")
    linked = insp.post(f"/findings/{target.public_id}/links", json={"related": own.public_id})
    assert linked.status_code == 201
    assert linked.get_json()["finding"] == target.public_id
    assert linked.get_json()["related"] == own.public_id

    owner_view = as_("audit_staff").get(f"/findings/{target.public_id}/uses").get_json()
    assert [(s["agency"]["code"], s["active"]) for s in owner_view["shares"]] == [
        ("inspection", True), ("discipline", False)]
    # The owner cannot open the inspection office's finding: only who owns it is shown.
    assert owner_view["related"] == [{"visible": False, "owner": {"name": "区委巡察办"}}]
    assert own.public_id not in json.dumps(owner_view) and own.title not in json.dumps(
        owner_view)

    insp_view = insp.get(f"/findings/{target.public_id}/uses").get_json()
    assert [s["agency"]["code"] for s in insp_view["shares"]] == ["inspection"]
    [related] = insp_view["related"]
    assert related["visible"] is True and related["id"] == own.public_id
    assert related["title"] == "巡察中发现的同类问题"
    assert related["owner"] == {"code": "inspection", "name": "区委巡察办"}
    assert integer_keys(insp_view) == [] and integer_keys(owner_view) == []


def test_links_are_made_and_removed_by_the_linking_agency(world, as_):
    w = world
    target = finding(w)
    own = finding(w, owner=w.inspection)
    share(w, target)
    insp = as_("insp_staff")
    assert insp.post(f"/findings/{target.public_id}/links",
                     json={"related": own.public_id}).status_code == 201
    before = snapshot()
    assert insp.post(f"/findings/{target.public_id}/links",
                     json={"related": own.public_id}).status_code == 409
    # Only one of the caller's own findings can be linked.
    assert insp.post(f"/findings/{target.public_id}/links",
                     json={"related": target.public_id}).status_code == 422
    assert insp.post(f"/findings/{target.public_id}/links",
                     json={"related": "nothing"}).status_code == 422
    assert as_("org_staff").post(f"/findings/{target.public_id}/links",
                                 json={"related": own.public_id}).status_code == 404
    assert as_("audit_staff").delete(
        f"/findings/{target.public_id}/links/{own.public_id}").status_code == 404
    assert snapshot() == before

    assert insp.delete(f"/findings/{target.public_id}/links/{own.public_id}").status_code == 204
    assert insp.delete(f"/findings/{target.public_id}/links/{own.public_id}").status_code == 404
    assert [e.action for e in events("finding.unlink")] == ["finding.unlink"]


def test_comment_threads(world, as_):
    w = world
    target = finding(w)
    share(w, target)
    share(w, target, agency=w.discipline)
    insp, disc, owner = as_("insp_staff"), as_("disc_staff"), as_("audit_staff")
    written = insp.post(f"/findings/{target.public_id}/comments", json={"body": "请提供明细"})
    assert written.status_code == 201
    body = written.get_json()
    assert body["thread"] == {"code": "inspection", "name": "区委巡察办"}
    assert body["author_agency"]["code"] == "inspection" and body["body"] == "请提供明细"
    assert disc.post(f"/findings/{target.public_id}/comments",
                     json={"body": "纪委的问题"}).status_code == 201
    before = snapshot()
    assert owner.post(f"/findings/{target.public_id}/comments",
                      json={"body": "没有指明线程"}).status_code == 422
    assert owner.post(f"/findings/{target.public_id}/comments",
                      json={"body": "给被审计单位", "thread": "edu"}).status_code == 422
    assert insp.post(f"/findings/{target.public_id}/comments",
                     json={"body": "  "}).status_code == 422
    assert as_("org_staff").post(f"/findings/{target.public_id}/comments",
                                 json={"body": "x"}).status_code == 404
    assert snapshot() == before
    assert owner.post(f"/findings/{target.public_id}/comments",
                      json={"body": "已附明细", "thread": "inspection"}).status_code == 201

    assert [c["body"] for c in owner.get(f"/findings/{target.public_id}/comments").get_json()] \
        == ["请提供明细", "纪委的问题", "已附明细"]
    insp_thread = insp.get(f"/findings/{target.public_id}/comments").get_json()
    assert [c["body"] for c in insp_thread] == ["请提供明细", "已附明细"]
    assert [c["body"] for c in disc.get(f"/findings/{target.public_id}/comments").get_json()] \
        == ["纪委的问题"]
    assert integer_keys(insp_thread) == []


def test_similar_titles_for_the_overlap_hint(world, as_):
    w = world
    finding(w, title="违规发放津补贴问题")
    finding(w, title="违规发放津贴补贴")
    finding(w, title="政府采购未公开招标")
    finding(w, title="违规发放津补贴问题", unit=w.health)
    hidden = finding(w, owner=w.inspection, title="违规发放津补贴问题")
    shared_back = finding(w, owner=w.inspection, title="违规发放津补贴的问题")
    share(w, shared_back, agency=w.audit)
    for i in range(6):
        finding(w, title=f"违规发放津补贴问题{i}")

    hint = as_("audit_staff").get("/findings/similar",
                                  query_string={"unit": "edu", "title": "违规发放津补贴问题"})
    assert hint.status_code == 200
    body = hint.get_json()
    assert len(body) == 5
    assert body[0]["title"] == "违规发放津补贴问题" and body[0]["similarity"] == 1.0
    assert [b["similarity"] for b in body] == sorted((b["similarity"] for b in body),
                                                     reverse=True)
    assert all(b["similarity"] >= 0.3 for b in body)
    assert hidden.public_id not in {b["id"] for b in body}
    assert set(body[0]) == {"id", "title", "owner", "similarity"}
    assert body[0]["owner"] == {"code": "audit", "name": "区审计局"}

    everything = as_("audit_staff").get(
        "/findings/similar", query_string={"unit": "edu", "title": "违规发放津补贴的问题"}
    ).get_json()
    assert shared_back.public_id in {b["id"] for b in everything}
    assert as_("audit_staff").get("/findings/similar", query_string={
        "unit": "edu", "title": "完全无关的标题"}).get_json() == []
    assert as_("audit_staff").get("/findings/similar",
                                  query_string={"unit": "edu"}).status_code == 422


# --- projects -------------------------------------------------------------------------------


def test_projects_of_the_callers_agency(world, as_):
    w = world
    ProjectFactory(lead_agency=w.inspection, name="2026年第一轮巡察", year=2026,
                   created_by_id=w.insp_staff.id)
    listing = as_("audit_staff").get("/projects").get_json()
    assert [p["name"] for p in listing["items"]] == ["2020年度区教育局部门预算执行审计"]
    assert listing["total"] == 1 and listing["items"][0]["id"] == w.project.public_id
    assert [p["name"] for p in as_("insp_staff").get("/projects").get_json()["items"]] == [
        "2026年第一轮巡察"]
    assert as_("unit_contact").get("/projects").get_json()["items"] == []

    response = as_("audit_staff").post("/projects", json={
        "year": 2020, "kind": "audit", "name": "2020年疫情防控资金和捐赠款物专项审计",
        "units": ["edu", "health"], "team": ["audit.staff", "audit.leader"]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [u["code"] for u in body["units"]] == ["edu", "health"]
    assert [m["username"] for m in body["team"]] == ["audit.leader", "audit.staff"]
    assert body["lead_agency"]["code"] == "audit" and body["year"] == 2020
    assert integer_keys(body) == []
    assert len(events("project.create")) == 1
    created = as_("audit_staff").post("/findings", json=valid_body(w, project=body["id"]))
    assert created.get_json()["project"]["id"] == body["id"]


@pytest.mark.parametrize(("name", "body", "status"), [
    ("audit_staff", {"year": 2020, "kind": "audit", "name": "x", "units": ["nowhere"]}, 422),
    ("audit_staff", {"year": 1999, "kind": "audit", "name": "x", "units": ["edu"]}, 422),
    ("audit_staff", {"year": 2020, "kind": "party", "name": "x", "units": ["edu"]}, 422),
    ("audit_staff", {"year": 2020, "kind": "audit", "name": "x", "units": []}, 422),
    ("audit_staff", {"year": 2020, "kind": "audit", "name": "x", "units": ["edu"],
                     "team": ["insp.staff"]}, 422),
    ("audit_staff", {"year": "2020", "kind": "audit", "name": "x", "units": ["edu"]}, 422),
    ("audit_staff", {"kind": "audit", "name": "x", "units": ["edu"]}, 422),
    ("unit_contact", {"year": 2020, "kind": "audit", "name": "x", "units": ["edu"]}, 403),
    ("disc_staff", {"year": 2020, "kind": "audit", "name": "x", "units": ["edu"]}, 403),
])
def test_bad_projects_are_refused(world, as_, name, body, status):
    before = snapshot()
    assert as_(name).post("/projects", json=body).status_code == status
    assert snapshot() == before


# --- the whole trail ------------------------------------------------------------------------


def test_every_change_is_an_event(world, as_, upload_dir):
    owner, leader, insp = as_("audit_staff"), as_("audit_leader"), as_("insp_staff")
    created = owner.post("/findings", json=valid_body(world)).get_json()
    fid = created["id"]
    owner.patch(f"/findings/{fid}", json={"version": 1, "recommendation": "责令整改。"})
    leader.post(f"/findings/{fid}/issue")
    share_id = owner.post(f"/findings/{fid}/shares",
                          json={"agency": "inspection", "handling": "read_only"}
                          ).get_json()["id"]
    attachment_id = owner.attach(fid, PDF).get_json()["id"]
    assert insp.get(f"/attachments/{attachment_id}", buffered=True).status_code == 200
    owner.delete(f"/findings/{fid}/shares/{share_id}")

    db.session.expire_all()
    trail = [(e.action, e.actor_username, e.object_id) for e in db.session.scalars(
        sa.select(Event).where(Event.object_type == "findings").order_by(Event.seq))]
    assert trail == [
        ("finding.create", "audit.staff", fid),
        ("finding.update", "audit.staff", fid),
        ("finding.issue", "audit.leader", fid),
        ("finding.share", "audit.staff", fid),
        ("attachment.upload", "audit.staff", fid),
        ("attachment.download", "insp.staff", fid),
        ("finding.share_withdraw", "audit.staff", fid),
    ]
    assert json.loads(events("finding.update")[0].details)["fields"] == ["recommendation"]
