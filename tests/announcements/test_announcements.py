"""The public announcement of rectification results (审计结果公告): who publishes, what the open
pages show without sign-in, the snapshot, unpublishing, unverified items, and the sensitive fields
that never reach the public."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from supervise.accounts.models import AgencyKind
from supervise.announcements import operations
from supervise.announcements.models import Announcement
from supervise.attachments.models import Attachment
from supervise.database import now_utc
from supervise.errors import OperationError
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


def rectify(world, finding, state: RectificationState, reports=()) -> Rectification:
    """A rectification in `state`, with reports given as (measures, amount, final)."""
    now = now_utc()
    rectification = Rectification(
        finding_id=finding.id, unit_id=finding.unit_id, owner_agency_id=finding.owner_agency_id,
        plan=Plan.STAGED, state=state, title=finding.title, facts=finding.facts,
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


def assert_open_page(response) -> None:
    """A page for the public: no sign-in, nothing inline that the CSP would block."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert "<style" not in html


# --- publishing -------------------------------------------------------------------------------

def test_leader_publishes_and_anyone_reads_without_signing_in(app, world, verified):
    leader = signed_in(app, "leader")
    page = leader.get(f"/projects/{world.project.public_id}")
    html = page.get_data(as_text=True)
    assert f'action="{publish_url(world.project)}"' in html and 'name="csrf_token"' in html
    assert "/announcement/delete" not in html  # nothing to unpublish yet

    response = leader.post_form(publish_url(world.project))
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
    for expected in (PROJECT_NAME, "区审计局", "违规发放津补贴问题", "违规发放津补贴",
                     "1,234,567.89 元", "政府采购程序不规范问题", "政府采购", "50,000.00 元",
                     "已销号", "已追回全部违规发放资金并修订津补贴发放办法",
                     "235,567.89 元",  # recovered: the sum of both reports
                     "已完善政府采购内控制度"):
        assert expected in text, expected
    assert "已制定整改方案" not in text  # an interim report is not the result


def test_snapshot_holds_exactly_the_public_fields(app, world, verified):
    operations.publish(world.leader, world.project, confirm_unverified=False)
    db.session.commit()
    snapshot = json.loads(db.session.scalar(sa.select(Announcement.snapshot)))
    assert set(snapshot) == {"version", "project", "published_at", "items"}
    assert snapshot["project"] == {"name": PROJECT_NAME, "year": 2025, "lead_agency": "区审计局"}
    assert snapshot["items"] == [
        {"title": "违规发放津补贴问题", "category": "违规发放津补贴", "amount": "1234567.89",
         "state": "已销号", "verified": True, "amount_recovered": "235567.89",
         "result": "已追回全部违规发放资金并修订津补贴发放办法"},
        {"title": "政府采购程序不规范问题", "category": "政府采购", "amount": "50000.00",
         "state": "核实通过", "verified": True,
         "amount_recovered": "0.00", "result": "已完善政府采购内控制度"},
    ]


def test_the_snapshot_is_chinese_whatever_the_leaders_language(app, world, verified):
    world.leader.locale = "en"
    db.session.commit()
    leader = signed_in(app, "leader")
    assert leader.post_form(publish_url(world.project)).status_code == 302
    snapshot = json.loads(db.session.scalar(sa.select(Announcement.snapshot)))
    assert [i["category"] for i in snapshot["items"]] == ["违规发放津补贴", "政府采购"]
    assert snapshot["items"][0]["state"] == "已销号"


def test_only_a_leader_of_the_lead_agency_publishes(app, world, verified):
    staff = signed_in(app, "auditor")
    assert "/announcement" not in staff.get(
        f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert staff.post_form(publish_url(world.project)).status_code == 403
    assert staff.post_form(publish_url(world.project) + "/delete").status_code == 403

    other_audit = AgencyFactory(kind=AgencyKind.AUDIT)
    UserFactory(username="other-leader", agency=other_audit, roles=["leader"])
    inspection = AgencyFactory(kind=AgencyKind.INSPECTION)
    UserFactory(username="inspection-leader", agency=inspection, roles=["leader"])
    for username in ("other-leader", "inspection-leader"):
        client = signed_in(app, username)
        assert client.post_form(publish_url(world.project)).status_code == 404
        assert client.post_form(publish_url(world.project) + "/delete").status_code == 404
    leader = signed_in(app, "leader")
    assert leader.post_form("/projects/no-such-project/announcement").status_code == 404

    assert announcements_count() == 0
    assert events("announcement.publish") == []

    # Nor may anyone outside the rule publish through the operation itself.
    with pytest.raises(OperationError) as refused:
        operations.publish(world.staff, world.project, confirm_unverified=True)
    assert refused.value.status == 403
    other = UserFactory(agency=other_audit, roles=["leader"])
    with pytest.raises(OperationError) as refused:
        operations.publish(other, world.project, confirm_unverified=True)
    assert refused.value.status == 404


def test_publishing_needs_the_form_token(app, world, verified):
    leader = signed_in(app, "leader")
    assert leader.post(publish_url(world.project)).status_code == 400
    assert announcements_count() == 0


def test_a_project_without_issued_findings_cannot_be_published(app, world):
    finding_of(world, status=FindingStatus.DRAFT, issued_at=None)
    leader = signed_in(app, "leader")
    assert leader.post_form(publish_url(world.project), {"confirm": "1"}).status_code == 400
    assert announcements_count() == 0
    html = leader.get(f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert publish_url(world.project) not in html


def test_drafts_and_other_projects_findings_are_not_published(app, world, verified):
    finding_of(world, title="尚未下达的草稿问题", status=FindingStatus.DRAFT, issued_at=None)
    other_project = ProjectFactory(lead_agency=world.audit, created_by_id=world.staff.id)
    FindingFactory(owner_agency=world.audit, unit=world.unit, project=other_project,
                   created_by=world.staff, title="另一项目的问题")
    operations.publish(world.leader, world.project, confirm_unverified=False)
    db.session.commit()
    text = page_text(app.test_client().get(public_url(world.project)))
    assert "违规发放津补贴问题" in text
    assert "尚未下达的草稿问题" not in text and "另一项目的问题" not in text


# --- the snapshot -----------------------------------------------------------------------------

def test_later_edits_show_only_when_republished(app, world, verified):
    leader = signed_in(app, "leader")
    assert leader.post_form(publish_url(world.project)).status_code == 302
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

    assert leader.post_form(publish_url(world.project)).status_code == 302
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
    assert leader.post_form(publish_url(world.project)).status_code == 302
    anonymous = app.test_client()
    assert anonymous.get(public_url(world.project)).status_code == 200

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
    assert leader.post_form(publish_url(world.project)).status_code == 302
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
        snapshot = {"version": 1, "project": {"name": project.name, "year": 2020,
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
    page = leader.get(f"/projects/{world.project.public_id}").get_data(as_text=True)
    assert 'name="confirm"' in page  # warned before trying

    response = leader.post_form(publish_url(world.project))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'name="confirm"' in html and 'name="csrf_token"' in html
    assert "2" in page_text(response)  # how many items are unverified
    assert announcements_count() == 0
    assert events("announcement.publish") == []
    assert app.test_client().get(public_url(world.project)).status_code == 404

    with pytest.raises(operations.UnverifiedItems) as refused:
        operations.publish(world.leader, world.project, confirm_unverified=False)
    assert (refused.value.status, refused.value.unverified, refused.value.items) == (409, 2, 4)
    db.session.rollback()

    response = leader.post_form(publish_url(world.project), {"confirm": "1"})
    assert response.status_code == 302
    [event] = events("announcement.publish")
    assert json.loads(event.details)["unverified"] == 2
    snapshot = json.loads(db.session.scalar(sa.select(Announcement.snapshot)))
    by_title = {i["title"]: i for i in snapshot["items"]}
    assert by_title["待核实的问题"]["state"] == "已整改待核实"
    assert by_title["待核实的问题"]["verified"] is False
    assert by_title["待核实的问题"]["result"] == ""  # not verified: no result to publish
    assert by_title["未下达整改的问题"] == {
        "title": "未下达整改的问题", "category": "违规发放津补贴", "amount": None,
        "state": "未下达整改", "verified": False, "amount_recovered": None, "result": ""}
    text = page_text(app.test_client().get(public_url(world.project)))
    assert "未下达整改" in text and "已整改待核实" in text and "单位自称已整改的措施" not in text


def test_republishing_asks_again_when_items_are_unverified(app, world, verified):
    leader = signed_in(app, "leader")
    assert leader.post_form(publish_url(world.project)).status_code == 302
    finding_of(world, title="新增的问题")
    assert leader.post_form(publish_url(world.project)).status_code == 409
    text = page_text(app.test_client().get(public_url(world.project)))
    assert "新增的问题" not in text  # the published snapshot is untouched
    assert leader.post_form(publish_url(world.project), {"confirm": "1"}).status_code == 302
    assert "新增的问题" in page_text(app.test_client().get(public_url(world.project)))


# --- what never reaches the public --------------------------------------------------------------

MARKERS = ["MARK-PERSON-2", "MARK-POSITION-2", "MARK-FACTS-2", "MARK-OPINION-2",
           "MARK-REFTITLE-2", "MARK-COMMENT-2", "MARK-NOTE-2", "MARK-FILE-2", "MARK-SECRET-2",
           "MARK-BASIS-2", "MARK-ADVICE-2", "MARK-SHARE-2", "MARK-ISSUED-2", "MARK-INTERIM-2",
           "MARK-RULES-2", "MARK-EVIDENCE-2", "MARK-UNIT-2", "MARK-MEMBER-2"]


def test_no_sensitive_field_reaches_a_public_page(app, world):
    world.unit.name = "MARK-UNIT-2 区教育局"
    UserFactory(username="member", display_name="MARK-MEMBER-2", agency=world.audit)
    discipline = AgencyFactory(code="discipline", kind=AgencyKind.DISCIPLINE)
    commissioner = UserFactory(agency=discipline)
    finding = finding_of(world, title="公开的问题标题", facts="MARK-SECRET-2 事实",
                         legal_basis="MARK-BASIS-2", recommendation="MARK-ADVICE-2")
    rectification = rectify(world, finding, S.SIGNED_OFF, [
        ("MARK-INTERIM-2 阶段性措施", "10.00", False),
        ("公开的整改结果", "20.00", True)])
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
    assert leader.post_form(publish_url(world.project)).status_code == 302

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
