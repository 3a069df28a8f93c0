"""The public announcement of rectification results (审计结果公告): who publishes, the preview where
the leader reviews each item's public text, what the open pages show without sign-in (public
words only), the snapshot, unpublishing, unverified items, the texts refused for naming a person
or carrying an identity card or phone number, and the sensitive fields that never reach the
public."""

from __future__ import annotations

import html as html_lib
import json
import logging
import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from supervise.accounts.models import Agency, AgencyKind
from supervise.announcements import operations
from supervise.announcements.models import Announcement
from supervise.attachments.models import Attachment
from supervise.database import now_utc
from supervise.errors import InvalidInput, OperationError
from supervise.extensions import db
from supervise.findings.models import Comment, FindingStatus
from supervise.rectifications.models import (
    Plan,
    Rectification,
    RectificationReport,
    RectificationState,
)
from supervise.referrals.models import (
    PersonInvolved,
    Referral,
    ReferralKind,
    ReferralState,
    TimelineEntry,
)
from tests.conftest import page_text
from tests.factories import (
    AgencyFactory,
    FindingFactory,
    ProjectFactory,
    ShareFactory,
    UserFactory,
)
from tests.helpers import events

S = RectificationState
PROJECT_NAME = "2025年度区教育局部门预算执行审计"

# Words of the bureau's own workflow that the public never reads.
INTERNAL_WORDS = ["已销号", "核实通过", "销号待审批", "已整改待核实", "长期整改", "未整改"]


# --- the district, built directly in the database ------------------------------------------------

@pytest.fixture
def world():
    """Its own district: one audit bureau, one unit, a project, and nobody else."""
    audit = AgencyFactory(code="audit", name="区审计局", kind=AgencyKind.AUDIT)
    unit = AgencyFactory(code="unit-education", name="区教育局", kind=AgencyKind.AUDITED_UNIT)
    leader = UserFactory(username="leader", display_name="李局长", agency=audit,
                         roles=["leader"])
    staff = UserFactory(username="auditor", agency=audit)
    contact = UserFactory(username="contact", agency=unit)
    project = ProjectFactory(name=PROJECT_NAME, year=2025, lead_agency=audit,
                             created_by_id=staff.id)
    return SimpleNamespace(audit=audit, unit=unit, leader=leader, staff=staff,
                           contact=contact, project=project)


def finding_of(world, **fields):
    fields.setdefault("amount", Decimal("1234567.89"))
    return FindingFactory(owner_agency=world.audit, unit=world.unit, project=world.project,
                          created_by=world.staff, **fields)


def rectify(world, finding, state: RectificationState, reports=(),
            plan: Plan = Plan.STAGED) -> Rectification:
    """A rectification in `state`, with reports given as (measures, amount, final)."""
    now = now_utc()
    rectification = Rectification(
        finding_id=finding.id, unit_id=finding.unit_id, owner_agency_id=finding.owner_agency_id,
        plan=plan, state=state, title=finding.title, facts=finding.facts,
        issued_by_id=world.leader.id, due_at=now + timedelta(days=60),
        warn_at=now + timedelta(days=53))
    db.session.add(rectification)
    db.session.flush()
    for measures, amount, final in reports:
        db.session.add(RectificationReport(
            rectification_id=rectification.id, submitted_by_id=world.contact.id,
            measures=measures, amount_recovered=None if amount is None else Decimal(amount),
            final=final))
    db.session.commit()
    return rectification


@pytest.fixture
def verified(world):
    """Two issued findings, both rectified and verified or signed off."""
    first = finding_of(world, title="违规发放津补贴问题", category_code="allowances",
                       amount=Decimal("1234567.89"))
    rectify(world, first, S.SIGNED_OFF, [
        ("已制定整改方案", "1000.00", False),
        ("已追回全部违规发放资金并修订津补贴发放办法", "234567.89", True)])
    second = finding_of(world, title="政府采购程序不规范问题", category_code="procurement",
                        amount=Decimal("50000.00"))
    rectify(world, second, S.VERIFIED, [("已完善政府采购内控制度", None, True)])
    return SimpleNamespace(first=first, second=second)


def refer(world, finding, *names: str) -> Referral:
    """A clue sent to the discipline commission, citing `finding`, naming `names`."""
    discipline = db.session.scalar(sa.select(Agency).where(Agency.code == "discipline")) \
        or AgencyFactory(code="discipline", kind=AgencyKind.DISCIPLINE)
    now = now_utc()
    referral = Referral(
        sender_agency_id=world.audit.id, receiver_agency_id=discipline.id,
        kind=ReferralKind.CLUE, state=ReferralState.SENT, title="问题线索移送",
        facts="事实", created_by_id=world.staff.id, sent_at=now, first_sent_at=now,
        findings=[finding],
        persons=[PersonInvolved(name=name, title="科长", position=n)
                 for n, name in enumerate(names)])
    db.session.add(referral)
    db.session.commit()
    return referral


def signed_in(app, username):
    client = app.test_client()
    response = client.sign_in(username)
    assert response.status_code == 302
    return client


def announcements_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Announcement))


def publish_url(project) -> str:
    return f"/projects/{project.public_id}/announcement"


def public_url(project) -> str:
    return f"/public/announcements/{project.public_id}"


def preview_texts(response) -> dict[str, str]:
    """The result text fields of a preview page, as the browser would post them."""
    html = response.get_data(as_text=True)
    return {name: html_lib.unescape(value) for name, value in re.findall(
        r'<textarea id="[^"]*" name="(result-[^"]+)"[^>]*>(.*?)</textarea>', html, re.S)}


def field_of(finding) -> str:
    return f"result-{finding.public_id}"


def publish_through_preview(client, project, texts: dict | None = None, confirm=False):
    """What a leader does: open the preview, change some texts (by finding), publish."""
    page = client.get(publish_url(project))  # the preview
    assert page.status_code == 200
    form = preview_texts(page)
    for finding, text in (texts or {}).items():
        form[field_of(finding)] = text
    if confirm:
        form["confirm"] = "1"
    return client.post_form(publish_url(project), form)


def assert_open_page(response) -> None:
    """A page for the public: no sign-in, nothing inline that the CSP would block."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert "<style" not in html



# --- the preview and publishing ---------------------------------------------------------------

FIRST_PREFILL = "经审计机关核实，该问题已整改，追回或退还资金235,567.89 元。"
SECOND_PREFILL = "经审计机关核实，该问题已整改。"


def test_leader_previews_publishes_and_anyone_reads_without_signing_in(app, world, verified):
    leader = signed_in(app, "leader")
    html = leader.get(f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert f'href="{publish_url(world.project)}"' in html  # the preview, a page of its own
    assert "/announcement/delete" not in html  # nothing to unpublish yet

    preview = leader.get(publish_url(world.project))
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert f'action="{publish_url(world.project)}"' in html and 'name="csrf_token"' in html
    assert "data-confirm=" in html and PROJECT_NAME in html  # the final button names the record
    text = page_text(preview)
    assert "确认发布" in text and "区审计局" in text
    assert "已整改" in text and not any(word in text for word in INTERNAL_WORDS)
    # Prefilled from what the bureau verified, never from what the unit wrote.
    assert preview_texts(preview) == {field_of(verified.first): FIRST_PREFILL,
                                      field_of(verified.second): SECOND_PREFILL}
    assert "已追回全部违规发放资金" not in html and "已完善政府采购内控制度" not in html
    assert announcements_count() == 0 and events("announcement.publish") == []

    edited = "已清退违规发放的津补贴，并修订了津补贴发放办法。"
    response = publish_through_preview(leader, world.project, {verified.first: edited})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/projects/{world.project.public_id}")
    announcement = db.session.scalar(sa.select(Announcement))
    assert announcement.project_id == world.project.id
    assert announcement.published_by_id == world.leader.id
    [event] = events("announcement.publish")
    assert event.actor_username == "leader" and event.object_id == world.project.public_id
    details = json.loads(event.details)
    assert (details["project"], details["items"], details["unverified"]) == (
        world.project.public_id, 2, 0)

    # The leader's page now offers to republish and to unpublish.
    html = leader.get(f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert f'action="{publish_url(world.project)}/delete"' in html
    assert f'href="{public_url(world.project)}"' in html

    anonymous = app.test_client()
    listing = anonymous.get("/public/announcements")
    assert_open_page(listing)
    text = page_text(listing)
    assert PROJECT_NAME in text and "2025" in text and "区审计局" in text
    assert public_url(world.project) in listing.get_data(as_text=True)

    detail = anonymous.get(public_url(world.project))
    assert_open_page(detail)
    text = page_text(detail)
    assert "区审计局 · 审计结果公告" in text  # the header names the publishing bureau
    assert "<title>" + PROJECT_NAME + " · 区审计局" in detail.get_data(as_text=True)
    for expected in (PROJECT_NAME, "违规发放津补贴问题", "违规发放津补贴", "1,234,567.89 元",
                     "政府采购程序不规范问题", "政府采购", "50,000.00 元", "已整改", edited,
                     SECOND_PREFILL,
                     "235,567.89 元"):  # recovered: the sum of both reports
        assert expected in text, expected
    for unit_text in ("已制定整改方案", "已追回全部违规发放资金并修订津补贴发放办法",
                      "已完善政府采购内控制度", FIRST_PREFILL):
        assert unit_text not in text, unit_text
    assert not any(word in text for word in INTERNAL_WORDS)


def test_snapshot_holds_exactly_the_public_fields(app, world, verified):
    operations.publish(world.leader, world.project, confirm_unverified=False, results={
        verified.first.public_id: "  已整改到位。 ", verified.second.public_id: ""})
    db.session.commit()
    snapshot = json.loads(db.session.scalar(sa.select(Announcement.snapshot)))
    assert set(snapshot) == {"version", "project", "published_at", "items"}
    assert snapshot["version"] == 2
    assert snapshot["project"] == {"name": PROJECT_NAME, "year": 2025, "lead_agency": "区审计局"}
    assert snapshot["items"] == [
        {"finding": verified.first.public_id, "title": "违规发放津补贴问题",
         "category": "违规发放津补贴", "amount": "1234567.89", "state": "已整改",
         "verified": True, "amount_recovered": "235567.89", "result": "已整改到位。"},
        {"finding": verified.second.public_id, "title": "政府采购程序不规范问题",
         "category": "政府采购", "amount": "50000.00", "state": "已整改", "verified": True,
         "amount_recovered": "0.00", "result": ""},
    ]
    # Without a preview (the demo's seeding), the prefilled texts are published.
    operations.publish(world.leader, world.project, confirm_unverified=False)
    db.session.commit()
    snapshot = json.loads(db.session.scalar(sa.select(Announcement.snapshot)))
    assert [i["result"] for i in snapshot["items"]] == ["已整改到位。", ""]  # as published


def test_the_snapshot_is_chinese_whatever_the_leaders_language(app, world, verified):
    world.leader.locale = "en"
    db.session.commit()
    leader = signed_in(app, "leader")
    preview = leader.get(publish_url(world.project))
    assert "Confirm and publish" in page_text(preview)
    assert preview_texts(preview)[field_of(verified.second)] == SECOND_PREFILL
    assert publish_through_preview(leader, world.project).status_code == 302
    snapshot = json.loads(db.session.scalar(sa.select(Announcement.snapshot)))
    assert [i["category"] for i in snapshot["items"]] == ["违规发放津补贴", "政府采购"]
    assert [i["state"] for i in snapshot["items"]] == ["已整改", "已整改"]
    assert [i["result"] for i in snapshot["items"]] == [FIRST_PREFILL, SECOND_PREFILL]


def test_only_a_leader_of_the_lead_agency_publishes(app, world, verified):
    staff = signed_in(app, "auditor")
    assert "/announcement" not in staff.get(
        f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert staff.get(publish_url(world.project)).status_code == 403
    assert staff.post_form(publish_url(world.project)).status_code == 403
    assert staff.post_form(publish_url(world.project) + "/delete").status_code == 403

    other_audit = AgencyFactory(kind=AgencyKind.AUDIT)
    UserFactory(username="other-leader", agency=other_audit, roles=["leader"])
    inspection = AgencyFactory(kind=AgencyKind.INSPECTION)
    UserFactory(username="inspection-leader", agency=inspection, roles=["leader"])
    for username in ("other-leader", "inspection-leader"):
        client = signed_in(app, username)
        assert client.get(publish_url(world.project)).status_code == 404
        assert client.post_form(publish_url(world.project)).status_code == 404
        assert client.post_form(publish_url(world.project) + "/delete").status_code == 404
    leader = signed_in(app, "leader")
    assert leader.get("/projects/no-such-project/announcement").status_code == 404
    assert leader.post_form("/projects/no-such-project/announcement").status_code == 404

    assert announcements_count() == 0
    assert events("announcement.publish") == []

    # Nor may anyone outside the rule publish or preview through the operations themselves.
    for operation in (lambda user: operations.publish(user, world.project, True),
                      lambda user: operations.preview(user, world.project)):
        with pytest.raises(OperationError) as refused:
            operation(world.staff)
        assert refused.value.status == 403
        other = UserFactory(agency=other_audit, roles=["leader"])
        with pytest.raises(OperationError) as refused:
            operation(other)
        assert refused.value.status == 404


def test_publishing_needs_the_form_token(app, world, verified):
    leader = signed_in(app, "leader")
    form = preview_texts(leader.get(publish_url(world.project)))
    assert leader.post(publish_url(world.project), data=form).status_code == 400
    assert announcements_count() == 0


def test_a_project_without_issued_findings_cannot_be_published(app, world):
    finding_of(world, status=FindingStatus.DRAFT, issued_at=None)
    leader = signed_in(app, "leader")
    assert leader.get(publish_url(world.project)).status_code == 400
    assert leader.post_form(publish_url(world.project), {"confirm": "1"}).status_code == 400
    assert announcements_count() == 0
    html = leader.get(f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert publish_url(world.project) not in html


def test_drafts_and_other_projects_findings_are_not_published(app, world, verified):
    finding_of(world, title="尚未下达的草稿问题", status=FindingStatus.DRAFT, issued_at=None)
    other_project = ProjectFactory(lead_agency=world.audit, created_by_id=world.staff.id)
    FindingFactory(owner_agency=world.audit, unit=world.unit, project=other_project,
                   created_by=world.staff, title="另一项目的问题")
    leader = signed_in(app, "leader")
    assert "尚未下达的草稿问题" not in page_text(leader.get(publish_url(world.project)))
    operations.publish(world.leader, world.project, confirm_unverified=False)
    db.session.commit()
    text = page_text(app.test_client().get(public_url(world.project)))
    assert "违规发放津补贴问题" in text
    assert "尚未下达的草稿问题" not in text and "另一项目的问题" not in text


# --- the public words ---------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "plan", "word"), [
    (S.SIGNED_OFF, Plan.STAGED, "已整改"),
    (S.SIGN_OFF_PENDING, Plan.STAGED, "已整改"),
    (S.VERIFIED, Plan.LONG_TERM, "已整改"),
    (S.LONG_TERM, Plan.LONG_TERM, "持续整改"),
    (S.IN_PROGRESS, Plan.LONG_TERM, "持续整改"),
    (S.PENDING_VERIFICATION, Plan.LONG_TERM, "持续整改"),
    (S.NOT_STARTED, Plan.IMMEDIATE, "整改中"),
    (S.IN_PROGRESS, Plan.STAGED, "整改中"),
    (S.PENDING_VERIFICATION, Plan.STAGED, "整改中"),
])
def test_the_public_reads_the_public_words_only(app, world, state, plan, word):
    finding = finding_of(world, title="公开的问题")
    rectify(world, finding, state, [("单位报送的整改措施MARK-MEASURES", "10.00", True)], plan=plan)
    leader = signed_in(app, "leader")
    preview = page_text(leader.get(publish_url(world.project)))
    assert word in preview and "MARK-MEASURES" not in preview
    assert publish_through_preview(leader, world.project, confirm=True).status_code == 302
    text = page_text(app.test_client().get(public_url(world.project)))
    assert word in text
    assert not any(internal in text for internal in INTERNAL_WORDS)
    assert "MARK-MEASURES" not in text
    # What the unit says it recovered shows only once the bureau verified it.
    assert ("10.00 元" in text) is (word == "已整改")


def test_republishing_prefills_what_was_published_while_the_state_holds(app, world, verified):
    pending = finding_of(world, title="整改中的问题")
    rectification = rectify(world, pending, S.IN_PROGRESS)
    leader = signed_in(app, "leader")
    assert preview_texts(leader.get(publish_url(world.project)))[field_of(pending)] == \
        "该问题正在整改。"
    assert publish_through_preview(leader, world.project, {
        verified.first: "津补贴已清退。", pending: "正在修订采购内控制度。"},
        confirm=True).status_code == 302

    # Republished: each text as published last time, while the public state is the same...
    texts = preview_texts(leader.get(publish_url(world.project)))
    assert texts[field_of(verified.first)] == "津补贴已清退。"
    assert texts[field_of(pending)] == "正在修订采购内控制度。"
    # ...and the bureau's sentence again once it changed.
    rectification.state = S.SIGNED_OFF
    db.session.commit()
    texts = preview_texts(leader.get(publish_url(world.project)))
    assert texts[field_of(pending)] == SECOND_PREFILL
    assert texts[field_of(verified.first)] == "津补贴已清退。"


def test_a_snapshot_of_version_1_shows_the_public_words_without_the_units_text(app, world):
    items = [
        {"title": "第一项问题", "category": "政府采购", "amount": "100.00", "state": "已销号",
         "verified": True, "amount_recovered": "20.00", "result": "已对相关责任人进行诫勉谈话"},
        {"title": "第二项问题", "category": "政府采购", "amount": None,
         "state": "已整改待核实", "verified": False, "amount_recovered": "30.00",
         "result": "单位自称的措施"},
        {"title": "第三项问题", "category": "政府采购", "amount": None, "state": "长期整改",
         "verified": False, "amount_recovered": None, "result": ""},
        {"title": "第四项问题", "category": "政府采购", "amount": None, "state": "未下达整改",
         "verified": False, "amount_recovered": None, "result": ""},
    ]
    snapshot = {"version": 1, "project": {"name": PROJECT_NAME, "year": 2025,
                                          "lead_agency": "区审计局"},
                "published_at": now_utc().isoformat(), "items": items}
    db.session.add(Announcement(project_id=world.project.id, published_by_id=world.leader.id,
                                snapshot=json.dumps(snapshot, ensure_ascii=False)))
    db.session.commit()
    text = page_text(app.test_client().get(public_url(world.project)))
    for word in ("已整改", "整改中", "持续整改", "未下达整改", "20.00 元"):
        assert word in text, word
    for hidden in ("诫勉谈话", "单位自称的措施", "30.00 元", *INTERNAL_WORDS):
        assert hidden not in text, hidden


# --- what a public text may not carry -----------------------------------------------------------

def test_a_text_naming_a_person_involved_is_refused_and_nothing_is_published(
        app, world, verified, caplog):
    refer(world, verified.first, "张志远", "李")
    leader = signed_in(app, "leader")
    typed = "已对张志远进行诫勉谈话。"
    with caplog.at_level(logging.DEBUG):
        response = publish_through_preview(leader, world.project, {verified.first: typed})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The form keeps what was typed, with why next to the field; the message says which item
    # and what kind of thing, never the name.
    assert preview_texts(response)[field_of(verified.first)] == typed
    errors = re.findall(r'<p class="field-error" id="([^"]+)-error">(.*?)</p>', html, re.S)
    assert [(name, html_lib.unescape(message)) for name, message in errors] == [(
        field_of(verified.first),
        "“违规发放津补贴问题”的公开整改结果含有涉及人员姓名，请修改后重新发布。")]
    assert "本次未发布" in page_text(response)
    assert html.count("张志远") == 1  # in the text field only
    assert "张志远" not in caplog.text
    assert announcements_count() == 0 and events("announcement.publish") == []

    # Spaces or full-width letters between the characters do not hide the name.
    for disguised in ("已对张 志　远进行谈话。", "已对张\u200b志远进行谈话。"):
        assert publish_through_preview(leader, world.project, {
            verified.first: disguised}).status_code == 422
    # A one-character name is not looked for: it would refuse nearly every text.
    assert publish_through_preview(leader, world.project, {
        verified.first: "已修订李某所在单位的发放办法。"}).status_code == 302
    assert "张志远" not in db.session.scalar(sa.select(Announcement.snapshot))


def test_every_referral_of_the_finding_counts_whatever_its_state(app, world, verified):
    referral = refer(world, verified.second, "王志强")
    referral.state = ReferralState.DRAFT
    db.session.commit()
    with pytest.raises(InvalidInput) as refused:
        operations.publish(world.leader, world.project, confirm_unverified=False, results={
            verified.first.public_id: "", verified.second.public_id: "王志强已作出检查。"})
    assert list(refused.value.errors) == [verified.second.public_id]
    assert "王志强" not in str(refused.value.errors) and "王志强" not in refused.value.message


@pytest.mark.parametrize(("text", "kind"), [
    ("联系人身份证号110101199003074517。", "疑似身份证号码"),
    ("身份证号11010119900307451X", "疑似身份证号码"),
    ("身份证号11010119900307451x。", "疑似身份证号码"),
    ("老身份证110101900307451", "疑似身份证号码"),
    ("身份证号１１０１０１１９９００３０７４５１７", "疑似身份证号码"),  # full-width digits
    ("咨询电话13812345678", "疑似电话号码"),
    ("咨询电话138-1234-5678", "疑似电话号码"),
    ("咨询电话138 1234 5678", "疑似电话号码"),
    ("咨询电话+86 13812345678", "疑似电话号码"),
    ("咨询电话010-87654321", "疑似电话号码"),
    ("咨询电话（0755）87654321", "疑似电话号码"),
    ("咨询电话0571 8765432", "疑似电话号码"),
])
def test_identity_card_and_phone_numbers_are_refused(app, world, verified, text, kind):
    leader = signed_in(app, "leader")
    response = publish_through_preview(leader, world.project, {verified.second: text})
    assert response.status_code == 422
    assert f"“政府采购程序不规范问题”的公开整改结果含有{kind}" in page_text(response)
    assert preview_texts(response)[field_of(verified.second)] == text
    assert announcements_count() == 0


@pytest.mark.parametrize("text", [
    "已追回资金9.53万元，2021年代编预算比例降至5%。",
    "已退回超标费用12,480.00元，涉及23人。",
    "依据《中华人民共和国政府采购法》第二十七条整改，2020年12月31日前完成。",
    "金额1234567.89元",
    "文号区审〔2026〕3号",
])
def test_ordinary_figures_are_not_mistaken_for_numbers_of_persons(app, world, verified, text):
    leader = signed_in(app, "leader")
    assert publish_through_preview(leader, world.project, {verified.second: text}).status_code \
        == 302
    assert text in page_text(app.test_client().get(public_url(world.project)))


def test_kinds_found_together_are_named_together(app, world, verified):
    refer(world, verified.first, "张志远")
    errors = operations.screen(
        operations.publish_items(world.project, None),
        {verified.first.public_id: "张志远，电话13812345678，身份证110101199003074517",
         verified.second.public_id: "张志远"})
    assert errors == {verified.first.public_id: (
        "“违规发放津补贴问题”的公开整改结果含有涉及人员姓名、疑似身份证号码和疑似电话号码，"
        "请修改后重新发布。")}


def test_a_text_too_long_is_refused(app, world, verified):
    leader = signed_in(app, "leader")
    response = publish_through_preview(leader, world.project, {
        verified.first: "整" * (operations.RESULT_LIMIT + 1)})
    assert response.status_code == 422
    assert f"过长：最多 {operations.RESULT_LIMIT} 个字符" in page_text(response)
    assert announcements_count() == 0


def test_a_preview_out_of_date_is_shown_again_not_published(app, world, verified):
    leader = signed_in(app, "leader")
    form = preview_texts(leader.get(publish_url(world.project)))
    form[field_of(verified.first)] = "我输入的文字"
    added = finding_of(world, title="预览之后下达的问题")
    rectify(world, added, S.SIGNED_OFF)
    response = leader.post_form(publish_url(world.project), form)
    assert response.status_code == 409
    assert "拟公告的问题已有变化" in page_text(response)
    texts = preview_texts(response)
    assert texts[field_of(verified.first)] == "我输入的文字"  # what was typed stays
    assert texts[field_of(added)] == SECOND_PREFILL  # the new item, prefilled
    assert announcements_count() == 0
    # A form naming a finding that is not among the items is out of date as well.
    texts["result-no-such-finding"] = "x"
    assert leader.post_form(publish_url(world.project), texts).status_code == 409
    del texts["result-no-such-finding"]
    assert leader.post_form(publish_url(world.project), texts).status_code == 302


# --- the snapshot -----------------------------------------------------------------------------

def test_later_edits_show_only_when_republished(app, world, verified):
    leader = signed_in(app, "leader")
    assert publish_through_preview(leader, world.project).status_code == 302
    first_published_at = db.session.scalar(sa.select(Announcement.published_at))

    verified.first.title = "违规发放津补贴问题（已更正）"
    verified.first.amount = Decimal("7654321.00")
    world.project.name = "改名后的项目"
    db.session.commit()

    anonymous = app.test_client()
    text = page_text(anonymous.get(public_url(world.project)))
    assert "违规发放津补贴问题" in text and "1,234,567.89 元" in text
    assert "已更正" not in text and "7,654,321.00 元" not in text
    listing = page_text(anonymous.get("/public/announcements"))
    assert PROJECT_NAME in listing and "改名后的项目" not in listing

    assert publish_through_preview(leader, world.project).status_code == 302
    assert announcements_count() == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(Announcement.published_at)) >= first_published_at
    text = page_text(anonymous.get(public_url(world.project)))
    assert "违规发放津补贴问题（已更正）" in text and "7,654,321.00 元" in text
    assert "1,234,567.89 元" not in text
    assert "改名后的项目" in page_text(anonymous.get("/public/announcements"))
    assert [json.loads(e.details)["republished"]
            for e in events("announcement.publish")] == [False, True]


def test_public_pages_read_the_snapshot_only(app, world, verified, count_queries):
    operations.publish(world.leader, world.project, confirm_unverified=False)
    db.session.commit()
    anonymous = app.test_client()
    for url in ("/public/announcements", public_url(world.project)):
        with count_queries() as statements:
            assert anonymous.get(url).status_code == 200
        touched = " ".join(statements).lower()
        for table in ("findings", "rectification", "referral", "attachments", "comments",
                      "shares"):
            assert table not in touched, (url, table)


# --- unpublishing -----------------------------------------------------------------------------

def test_unpublish_removes_the_page_and_the_list_entry(app, world, verified):
    leader = signed_in(app, "leader")
    assert publish_through_preview(leader, world.project).status_code == 302
    anonymous = app.test_client()
    assert anonymous.get(public_url(world.project)).status_code == 200
    html = leader.get(f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert re.search(r'class="danger" data-confirm="[^"]+">撤下公告', html)

    response = leader.post_form(publish_url(world.project) + "/delete")
    assert response.status_code == 302
    assert announcements_count() == 0
    [event] = events("announcement.unpublish")
    assert event.object_id == world.project.public_id and event.actor_username == "leader"

    assert anonymous.get(public_url(world.project)).status_code == 404
    assert PROJECT_NAME not in page_text(anonymous.get("/public/announcements"))
    # Unpublishing what is not published is refused and records nothing.
    assert leader.post_form(publish_url(world.project) + "/delete").status_code == 409
    assert len(events("announcement.unpublish")) == 1
    # Published again, it comes back.
    assert publish_through_preview(leader, world.project).status_code == 302
    assert anonymous.get(public_url(world.project)).status_code == 200


def test_never_published_projects_are_not_found(app, world, verified):
    anonymous = app.test_client()
    assert anonymous.get(public_url(world.project)).status_code == 404
    assert anonymous.get("/public/announcements/no-such-project").status_code == 404
    listing = anonymous.get("/public/announcements")
    assert_open_page(listing)
    assert PROJECT_NAME not in page_text(listing)


def test_the_public_list_is_paginated(app, world):
    per_page = app.config["PAGE_SIZE"]
    published_at = now_utc()
    for n in range(per_page + 1):
        project = ProjectFactory(name=f"公告项目{n:03d}", lead_agency=world.audit,
                                 created_by_id=world.staff.id)
        snapshot = {"version": 2, "project": {"name": project.name, "year": 2020,
                                              "lead_agency": "区审计局"},
                    "published_at": (published_at + timedelta(minutes=n)).isoformat(),
                    "items": []}
        db.session.add(Announcement(project_id=project.id, published_by_id=world.leader.id,
                                    published_at=published_at + timedelta(minutes=n),
                                    snapshot=json.dumps(snapshot, ensure_ascii=False)))
    db.session.commit()
    anonymous = app.test_client()
    first = page_text(anonymous.get("/public/announcements"))
    assert f"公告项目{per_page:03d}" in first and "公告项目000" not in first  # newest first
    second = page_text(anonymous.get("/public/announcements?page=2"))
    assert "公告项目000" in second and f"公告项目{per_page:03d}" not in second


# --- unverified items -------------------------------------------------------------------------

def test_unverified_items_need_confirmation(app, world, verified):
    pending = finding_of(world, title="待核实的问题", amount=Decimal("800.00"))
    rectify(world, pending, S.PENDING_VERIFICATION, [("单位自称已整改的措施", "100.00", True)])
    finding_of(world, title="未下达整改的问题", amount=None)

    leader = signed_in(app, "leader")
    page = page_text(leader.get(f"/projects/{world.project.public_id}"))
    assert "4项中有2项尚未核实或销号" in page.replace(" ", "")  # warned before the preview

    preview = leader.get(publish_url(world.project))
    html = preview.get_data(as_text=True)
    assert re.search(r'<input type="checkbox" name="confirm" value="1" required>', html)
    response = publish_through_preview(leader, world.project, {pending: "正在整改。"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'name="confirm"' in html and 'name="csrf_token"' in html
    assert "2" in page_text(response)  # how many items are unverified
    assert preview_texts(response)[field_of(pending)] == "正在整改。"  # kept
    assert announcements_count() == 0
    assert events("announcement.publish") == []
    assert app.test_client().get(public_url(world.project)).status_code == 404

    with pytest.raises(operations.UnverifiedItems) as refused:
        operations.publish(world.leader, world.project, confirm_unverified=False)
    assert (refused.value.status, refused.value.unverified, refused.value.items) == (409, 2, 4)
    db.session.rollback()

    response = publish_through_preview(leader, world.project, {pending: "正在整改。"},
                                       confirm=True)
    assert response.status_code == 302
    [event] = events("announcement.publish")
    assert json.loads(event.details)["unverified"] == 2
    snapshot = json.loads(db.session.scalar(sa.select(Announcement.snapshot)))
    by_title = {i["title"]: i for i in snapshot["items"]}
    assert by_title["待核实的问题"]["state"] == "整改中"
    assert by_title["待核实的问题"]["verified"] is False
    assert by_title["待核实的问题"]["amount_recovered"] is None  # not verified: not published
    assert by_title["待核实的问题"]["result"] == "正在整改。"
    assert {k: v for k, v in by_title["未下达整改的问题"].items() if k != "finding"} == {
        "title": "未下达整改的问题", "category": "违规发放津补贴", "amount": None,
        "state": "未下达整改", "verified": False, "amount_recovered": None, "result": ""}
    text = page_text(app.test_client().get(public_url(world.project)))
    assert "未下达整改" in text and "整改中" in text and "单位自称已整改的措施" not in text
    assert "已整改待核实" not in text


def test_republishing_asks_again_when_items_are_unverified(app, world, verified):
    leader = signed_in(app, "leader")
    assert publish_through_preview(leader, world.project).status_code == 302
    finding_of(world, title="新增的问题")
    assert publish_through_preview(leader, world.project).status_code == 409
    text = page_text(app.test_client().get(public_url(world.project)))
    assert "新增的问题" not in text  # the published snapshot is untouched
    assert publish_through_preview(leader, world.project, confirm=True).status_code == 302
    assert "新增的问题" in page_text(app.test_client().get(public_url(world.project)))


# --- what never reaches the public --------------------------------------------------------------

MARKERS = ["MARK-PERSON-2", "MARK-POSITION-2", "MARK-FACTS-2", "MARK-OPINION-2",
           "MARK-REFTITLE-2", "MARK-COMMENT-2", "MARK-NOTE-2", "MARK-FILE-2", "MARK-SECRET-2",
           "MARK-BASIS-2", "MARK-ADVICE-2", "MARK-SHARE-2", "MARK-ISSUED-2", "MARK-INTERIM-2",
           "MARK-RULES-2", "MARK-EVIDENCE-2", "MARK-UNIT-2", "MARK-MEMBER-2", "MARK-FINAL-2"]


def test_no_sensitive_field_reaches_a_public_page(app, world):
    world.unit.name = "MARK-UNIT-2 区教育局"
    UserFactory(username="member", display_name="MARK-MEMBER-2", agency=world.audit)
    discipline = AgencyFactory(code="discipline", kind=AgencyKind.DISCIPLINE)
    commissioner = UserFactory(agency=discipline)
    finding = finding_of(world, title="公开的问题标题", facts="MARK-SECRET-2 事实",
                         legal_basis="MARK-BASIS-2", recommendation="MARK-ADVICE-2")
    rectification = rectify(world, finding, S.SIGNED_OFF, [
        ("MARK-INTERIM-2 阶段性措施", "10.00", False),
        ("MARK-FINAL-2 单位报送的最终措施", "20.00", True)])
    rectification.facts = "MARK-ISSUED-2"
    rectification.reports[-1].rules = "MARK-RULES-2"
    now = now_utc()
    referral = Referral(
        sender_agency_id=world.audit.id, receiver_agency_id=discipline.id,
        kind=ReferralKind.CLUE, state=ReferralState.IN_HANDLING, title="MARK-REFTITLE-2",
        facts="MARK-FACTS-2", opinion="MARK-OPINION-2", created_by_id=world.staff.id,
        sent_at=now, first_sent_at=now, findings=[finding],
        persons=[PersonInvolved(name="MARK-PERSON-2", title="MARK-POSITION-2", position=0)])
    db.session.add(referral)
    db.session.flush()
    db.session.add(TimelineEntry(referral_id=referral.id, action="note",
                                 actor_id=commissioner.id, agency_id=discipline.id,
                                 comment="MARK-NOTE-2", internal=True))
    db.session.add(Comment(finding_id=finding.id, thread_agency_id=world.audit.id,
                           author_id=world.staff.id, body="MARK-COMMENT-2"))
    for filename, owner in (("MARK-FILE-2.pdf", {"finding_id": finding.id}),
                            ("MARK-EVIDENCE-2.pdf",
                             {"rectification_report_id": rectification.reports[-1].id})):
        db.session.add(Attachment(filename=filename, content_type="application/pdf", size=1,
                                  sha256="0" * 64, storage_name=f"store-{filename}",
                                  uploaded_by_id=world.staff.id, **owner))
    db.session.commit()
    ShareFactory(finding=finding, note="MARK-SHARE-2")

    leader = signed_in(app, "leader")
    preview = leader.get(publish_url(world.project)).get_data(as_text=True)
    assert not any(marker in preview for marker in MARKERS)
    assert publish_through_preview(leader, world.project, {
        finding: "公开的整改结果"}).status_code == 302

    snapshot_text = db.session.scalar(sa.select(Announcement.snapshot))
    anonymous = app.test_client()
    pages = {url: anonymous.get(url) for url in ("/public/announcements",
                                                 public_url(world.project))}
    for response in pages.values():
        assert_open_page(response)
    assert "公开的问题标题" in page_text(pages[public_url(world.project)])
    assert "公开的整改结果" in page_text(pages[public_url(world.project)])
    for marker in MARKERS:
        assert marker not in snapshot_text, marker
        for url, response in pages.items():
            assert marker not in response.get_data(as_text=True), (marker, url)
    # The event of the publication carries counts, not content.
    [event] = events("announcement.publish")
    assert not any(marker in event.details for marker in MARKERS)
    # A person's name typed in the text is refused (a Latin name, whatever its case).
    response = publish_through_preview(leader, world.project, {finding: "mark-person-2 已谈话"})
    assert response.status_code == 422


def test_sensitive_findings_are_never_published(app):
    from supervise.announcements.operations import _issued_findings_query
    from supervise.extensions import db as _db
    from tests.factories import FindingFactory, ProjectFactory

    project = ProjectFactory()
    FindingFactory(project=project, owner_agency=project.lead_agency, title="公开的问题")
    FindingFactory(project=project, owner_agency=project.lead_agency, title="敏感的问题",
                   sensitivity="sensitive")
    titles = [f.title for f, _r in _db.session.execute(_issued_findings_query(project))]
    assert titles == ["公开的问题"]
