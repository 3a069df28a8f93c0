"""Findings through the pages: who sees what, the forms, the bad input, the uses panel."""

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

from supervise.accounts.models import AgencyKind
from supervise.attachments.models import Attachment
from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings.models import Comment, Finding, FindingStatus, Share
from supervise.settings.models import Setting
from tests.conftest import page_text
from tests.factories import AgencyFactory, FindingFactory, ProjectFactory, ShareFactory, UserFactory
from tests.helpers import events
from tests.support.files import EXE, PDF, PNG


@pytest.fixture
def district():
    """An audit bureau, an inspection office, a commission, an organisation department and a
    unit, each with a staff member, and the bureau's leader."""
    agencies = {
        "audit": AgencyFactory(code="audit", name="区审计局", kind=AgencyKind.AUDIT),
        "inspection": AgencyFactory(code="inspection", name="区委巡察办",
                                    kind=AgencyKind.INSPECTION),
        "discipline": AgencyFactory(code="discipline", name="区纪委监委",
                                    kind=AgencyKind.DISCIPLINE),
        "organization": AgencyFactory(code="organization", name="区委组织部",
                                      kind=AgencyKind.ORGANIZATION),
        "unit": AgencyFactory(code="unit-education", name="区教育局",
                              kind=AgencyKind.AUDITED_UNIT),
        "street": AgencyFactory(code="unit-street", name="某街道办事处",
                                kind=AgencyKind.AUDITED_UNIT),
    }
    people = {
        "auditor": UserFactory(username="auditor", agency=agencies["audit"]),
        "leader": UserFactory(username="leader", agency=agencies["audit"], roles=["leader"]),
        "inspector": UserFactory(username="inspector", agency=agencies["inspection"]),
        "commissioner": UserFactory(username="commissioner", agency=agencies["discipline"]),
        "organiser": UserFactory(username="organiser", agency=agencies["organization"]),
        "contact": UserFactory(username="contact", agency=agencies["unit"]),
        "sysadmin": UserFactory(username="sys", agency=agencies["audit"], roles=["sysadmin"]),
    }
    return agencies, people


def finding_for(agencies, **kwargs):
    kwargs.setdefault("owner_agency", agencies["audit"])
    kwargs.setdefault("unit", agencies["unit"])
    return FindingFactory(**kwargs)


def as_user(app, username):
    client = app.test_client()
    assert client.sign_in(username).status_code == 302
    return client


def titles_on(response) -> list[str]:
    html = response.get_data(as_text=True)
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'<a href="/findings/[^"]+">([^<]+)</a>', body)


def test_inspection_office_sees_exactly_what_is_shared_with_it(app, district):
    agencies, _people = district
    shared = finding_for(agencies, title="共享给巡察办的问题")
    ShareFactory(finding=shared, agency=agencies["inspection"])
    not_shared = finding_for(agencies, title="未共享的问题")
    draft = finding_for(agencies, title="草稿问题", status=FindingStatus.DRAFT)
    to_other = finding_for(agencies, title="共享给纪委的问题")
    ShareFactory(finding=to_other, agency=agencies["discipline"])

    inspector = as_user(app, "inspector")
    assert titles_on(inspector.get("/findings?scope=shared_with_us")) == ["共享给巡察办的问题"]
    assert inspector.get(f"/findings/{shared.public_id}").status_code == 200
    for hidden in (not_shared, draft, to_other):
        assert inspector.get(f"/findings/{hidden.public_id}").status_code == 404

    auditor = as_user(app, "auditor")
    assert sorted(titles_on(auditor.get("/findings?scope=own"))) == sorted(
        ["共享给巡察办的问题", "未共享的问题", "草稿问题", "共享给纪委的问题"])


@pytest.mark.parametrize("username", ["organiser", "contact"])
def test_others_see_none_of_them(app, district, username):
    agencies, _people = district
    finding = finding_for(agencies)
    ShareFactory(finding=finding, agency=agencies["inspection"])
    client = as_user(app, username)
    response = client.get("/findings?scope=shared_with_us")
    if username == "contact":
        assert response.status_code == 404  # an audited unit has no case pages at all
    else:
        assert titles_on(response) == []
    assert client.get(f"/findings/{finding.public_id}").status_code == 404


def test_administrators_cannot_open_case_content(app, district):
    agencies, _people = district
    finding = finding_for(agencies)
    client = as_user(app, "sys")
    assert client.get("/findings").status_code == 403
    assert client.get(f"/findings/{finding.public_id}").status_code == 403


def test_withdrawal_ends_access_at_once_attachments_included(app, district):
    agencies, _people = district
    finding = finding_for(agencies)
    auditor = as_user(app, "auditor")
    response = auditor.post_form(f"/findings/{finding.public_id}/attachments",
                                 {"file": (io.BytesIO(PDF), "底稿.pdf")},
                                 content_type="multipart/form-data")
    assert response.status_code == 302
    attachment = db.session.scalar(sa.select(Attachment))
    share = ShareFactory(finding=finding, agency=agencies["inspection"])
    download = f"/findings/{finding.public_id}/attachments/{attachment.public_id}"

    inspector = as_user(app, "inspector")
    got = inspector.get(download)
    assert got.status_code == 200
    assert got.data == PDF
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["Content-Type"] == "application/pdf"
    got.close()
    assert len(events("attachment.download")) == 1

    response = auditor.post_form(
        f"/findings/{finding.public_id}/shares/{share.public_id}/withdraw")
    assert response.status_code == 302
    assert inspector.get(f"/findings/{finding.public_id}").status_code == 404
    assert inspector.get(download).status_code == 404
    assert titles_on(inspector.get("/findings?scope=shared_with_us")) == []
    # History stays: the owner still sees the withdrawn share.
    assert "已撤回" in page_text(auditor.get(f"/findings/{finding.public_id}"))


def test_create_edit_issue_share_is_the_day_of_an_auditor(app, district):
    agencies, _people = district
    project = ProjectFactory(lead_agency=agencies["audit"], name="2020年度区教育局部门预算执行审计")
    auditor = as_user(app, "auditor")
    response = auditor.post_form("/findings/new", {
        "unit": "unit-education", "project": project.public_id, "title": "违规发放津补贴",
        "facts": "以加班补助名义发放津补贴。", "category": "allowances", "amount": "1,234,567.80",
        "legal_basis": "预算法第九十三条", "recommendation": "清退", "sensitivity": "normal"})
    assert response.status_code == 302
    finding = db.session.scalar(sa.select(Finding).where(Finding.title == "违规发放津补贴"))
    assert str(finding.amount) == "1234567.80"
    assert finding.status == FindingStatus.DRAFT
    page = page_text(auditor.get(response.headers["Location"]))
    assert "1,234,567.80 元" in page

    # Staff cannot issue; the leader can, once.
    assert auditor.post_form(f"/findings/{finding.public_id}/issue").status_code == 403
    leader = as_user(app, "leader")
    assert leader.post_form(f"/findings/{finding.public_id}/issue").status_code == 302
    again = leader.post_form(f"/findings/{finding.public_id}/issue")
    assert again.status_code == 409
    assert "已经签发" in page_text(again) or "已签发" in page_text(again)

    db.session.refresh(finding)  # issuing moved the version on
    response = auditor.post_form(f"/findings/{finding.public_id}/edit", {
        "unit": "unit-education", "project": project.public_id, "title": "违规发放津补贴问题",
        "facts": "以加班补助名义发放津补贴。", "category": "allowances", "amount": "1234567.80",
        "legal_basis": "预算法第九十三条", "recommendation": "清退", "sensitivity": "normal",
        "version": finding.version})
    assert response.status_code == 302
    [update] = events("finding.update")
    assert '"fields": ["title"]' in update.details

    response = auditor.post_form(f"/findings/{finding.public_id}/shares", {
        "agency": "inspection", "handling": "may_refer", "note": "请关注"})
    assert response.status_code == 302
    assert [e.action for e in events("finding.share")] == ["finding.share"]
    for action in ("finding.create", "finding.issue"):
        assert len(events(action)) == 1


BAD_CREATE = [
    ({"amount": "-1"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": "1.234"}, "amount"),
    ({"title": ""}, "title"),
    ({"title": "题" * 201}, "title"),
    ({"unit": "audit"}, "unit"),
    ({"unit": "nowhere"}, "unit"),
    ({"category": "martian"}, "category"),
    ({"project": "not-a-project"}, "project"),
]


@pytest.mark.parametrize("change, field", BAD_CREATE)
def test_bad_finding_input_is_refused_and_changes_nothing(app, district, change, field):
    auditor = as_user(app, "auditor")
    data = {"unit": "unit-education", "project": "", "title": "标题", "facts": "事实",
            "category": "allowances", "amount": "10.00", "legal_basis": "", "recommendation": "",
            "sensitivity": "normal", **change}
    seq = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    response = auditor.post_form("/findings/new", data)
    assert response.status_code == 400
    assert 'class="field has-error"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Finding)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == seq


def test_a_failed_finding_form_keeps_the_input_and_asks_to_choose(app, district):
    """Nothing chosen is "please choose" next to the field, not "unknown unit"; what was typed
    stays; the fields to fill are marked."""
    auditor = as_user(app, "auditor")
    blank = auditor.get("/findings/new").get_data(as_text=True)
    for name in ("unit", "title", "facts", "category"):
        label = re.search(rf'<label for="{name}">[^<]*</label>(.*?)\n', blank).group(1)
        assert 'class="required"' in label, name
    response = auditor.post_form("/findings/new", {
        "unit": "", "project": "", "title": "食堂采购未招标XK10", "facts": "事实经过XK11",
        "category": "", "amount": "10.00", "sensitivity": "normal"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    unit = html[html.index('<label for="unit">'):html.index('<label for="project">')]
    assert "请选择。" in unit and "未知" not in unit
    assert "食堂采购未招标XK10" in html and "事实经过XK11" in html


def test_only_agencies_with_readers_are_offered_to_share_with_or_refer_to(app, district):
    """An agency of administrators only (the IT bureau) is not offered as a partner."""
    agencies, _people = district
    it = AgencyFactory(code="data-bureau", name="区数据局", kind=AgencyKind.DEPARTMENT)
    UserFactory(username="it.admin", agency=it, roles=["sysadmin"])
    finding = finding_for(agencies)
    auditor = as_user(app, "auditor")
    for url in (f"/findings/{finding.public_id}", "/referrals/new"):
        html = auditor.get(url).get_data(as_text=True)
        assert "区纪委监委" in html and "区数据局" not in html, url


def test_the_inspection_office_follows_the_rectification_of_what_was_shared(app, district):
    """巡审联动 follow-up: the office reads how far the rectification of a finding shared with it
    is (state and report-by date), never the item itself, its reports or its history."""
    agencies, people = district
    shared = finding_for(agencies, title="共享问题XK12")
    ShareFactory(finding=shared, agency=agencies["inspection"], shared_by=people["auditor"])
    auditor = as_user(app, "auditor")
    assert auditor.post_form(f"/findings/{shared.public_id}/rectification",
                             {"plan": "staged"}).status_code == 302
    inspector = as_user(app, "inspector")
    listed = inspector.get("/findings", query_string={"scope": "shared_with_us"})
    row = page_text(listed)
    assert "共享问题XK12" in row and "未整改" in row
    page = inspector.get(f"/findings/{shared.public_id}").get_data(as_text=True)
    progress = page[page.index('id="shared-progress"'):]
    assert "未整改" in progress[:400] and "前报告" in progress[:400]
    assert "/rectifications/" not in page


def test_stale_edit_is_refused_with_409(app, district):
    agencies, _people = district
    finding = finding_for(agencies, title="原标题")
    auditor = as_user(app, "auditor")
    form = {"unit": "unit-education", "project": "", "title": "我的修改", "facts": "事实",
            "category": "allowances", "amount": "", "legal_basis": "", "recommendation": "",
            "sensitivity": "normal", "version": finding.version}
    other = dict(form, title="别人的修改")
    assert auditor.post_form(f"/findings/{finding.public_id}/edit", other).status_code == 302
    response = auditor.post_form(f"/findings/{finding.public_id}/edit", form)
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Finding, finding.id).title == "别人的修改"


def test_editing_another_agencys_finding(app, district):
    agencies, _people = district
    finding = finding_for(agencies)
    inspector = as_user(app, "inspector")
    assert inspector.get(f"/findings/{finding.public_id}/edit").status_code == 404
    ShareFactory(finding=finding, agency=agencies["inspection"])
    assert inspector.get(f"/findings/{finding.public_id}/edit").status_code == 403


@pytest.mark.parametrize("agency, status", [
    ("audit", 422), ("unit-education", 422), ("nowhere", 422), ("inspection", 409)])
def test_bad_shares_are_refused(app, district, agency, status):
    agencies, _people = district
    finding = finding_for(agencies)
    ShareFactory(finding=finding, agency=agencies["inspection"])
    auditor = as_user(app, "auditor")
    response = auditor.post_form(f"/findings/{finding.public_id}/shares",
                                 {"agency": agency, "handling": "read_only", "note": ""})
    assert response.status_code == status
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Share)) == 1


def test_a_draft_cannot_be_shared(app, district):
    agencies, _people = district
    draft = finding_for(agencies, status=FindingStatus.DRAFT)
    auditor = as_user(app, "auditor")
    response = auditor.post_form(f"/findings/{draft.public_id}/shares",
                                 {"agency": "inspection", "handling": "read_only"})
    assert response.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Share)) == 0


def test_uploads_are_judged_by_content_and_size(app, district):
    agencies, _people = district
    finding = finding_for(agencies)
    auditor = as_user(app, "auditor")
    url = f"/findings/{finding.public_id}/attachments"

    def upload(data, name):
        return auditor.post_form(url, {"file": (io.BytesIO(data), name)},
                                 content_type="multipart/form-data")

    stored_before = set(Path(app.config["UPLOAD_DIR"]).iterdir())
    assert upload(EXE, "evidence.pdf").status_code == 415
    assert upload(b"", "empty.pdf").status_code == 400
    db.session.add(Setting(key="attachment_max_mb", value=1))
    db.session.commit()
    # Over werkzeug's 500 KB threshold the test client spools the body to a temporary file:
    # build the request here so that file is closed.
    builder = EnvironBuilder(path=url, method="POST", data={
        "csrf_token": auditor.csrf_token(), "file": (io.BytesIO(PDF + b"0" * 1024 * 1024),
                                                     "big.pdf")})
    environ = builder.get_environ()
    try:
        assert auditor.open(environ).status_code == 413
    finally:
        environ["wsgi.input"].close()
        builder.close()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert events("attachment.upload") == []
    assert set(Path(app.config["UPLOAD_DIR"]).iterdir()) == stored_before

    assert upload(PNG, "photo.pdf").status_code == 302
    attachment = db.session.scalar(sa.select(Attachment))
    assert attachment.content_type == "image/png" and attachment.filename == "photo.png"
    assert len(events("attachment.upload")) == 1


def test_comment_threads_are_between_the_owner_and_each_recipient(app, district):
    agencies, _people = district
    finding = finding_for(agencies)
    ShareFactory(finding=finding, agency=agencies["inspection"])
    ShareFactory(finding=finding, agency=agencies["discipline"])
    inspector = as_user(app, "inspector")
    commissioner = as_user(app, "commissioner")
    auditor = as_user(app, "auditor")
    url = f"/findings/{finding.public_id}/comments"
    assert inspector.post_form(url, {"body": "巡察办的问题"}).status_code == 302
    assert commissioner.post_form(url, {"body": "纪委的问题"}).status_code == 302
    assert auditor.post_form(url, {"body": "答复巡察办", "thread": "inspection"}).status_code == 302
    assert auditor.post_form(url, {"body": "x", "thread": "organization"}).status_code == 422
    assert inspector.post_form(url, {"body": "   "}).status_code == 422

    page = page_text(inspector.get(f"/findings/{finding.public_id}"))
    assert "巡察办的问题" in page and "答复巡察办" in page and "纪委的问题" not in page
    page = page_text(commissioner.get(f"/findings/{finding.public_id}"))
    assert "纪委的问题" in page and "巡察办的问题" not in page
    page = page_text(auditor.get(f"/findings/{finding.public_id}"))
    assert all(text in page for text in ("巡察办的问题", "纪委的问题", "答复巡察办"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 3


def test_recipient_links_its_own_finding_and_the_owner_sees_the_use(app, district):
    agencies, _people = district
    audit_finding = finding_for(agencies, title="审计发现的问题")
    ShareFactory(finding=audit_finding, agency=agencies["inspection"])
    own = finding_for(agencies, owner_agency=agencies["inspection"], title="巡察发现的秘密问题")
    inspector = as_user(app, "inspector")
    response = inspector.post_form(f"/findings/{audit_finding.public_id}/links",
                                   {"related": own.public_id})
    assert response.status_code == 302
    again = inspector.post_form(f"/findings/{audit_finding.public_id}/links",
                                {"related": own.public_id})
    assert again.status_code == 409
    assert "巡察发现的秘密问题" in page_text(inspector.get(f"/findings/{audit_finding.public_id}"))
    owner_view = page_text(as_user(app, "auditor").get(f"/findings/{audit_finding.public_id}"))
    assert "区委巡察办" in owner_view
    assert "巡察发现的秘密问题" not in owner_view  # not shared with the bureau


def test_list_page_runs_the_same_queries_for_5_and_50_findings(app, district, count_queries):
    agencies, _people = district
    inspector = as_user(app, "inspector")

    def measure():
        with count_queries() as statements:
            assert inspector.get("/findings?scope=shared_with_us").status_code == 200
        return len(statements)

    for _ in range(5):
        ShareFactory(finding=finding_for(agencies), agency=agencies["inspection"])
    few = measure()
    for _ in range(45):
        ShareFactory(finding=finding_for(agencies, unit=agencies["street"]),
                     agency=agencies["inspection"])
    assert measure() == few


def test_filters_narrow_the_shared_list(app, district):
    agencies, _people = district
    for unit, title, category in (("unit", "教育局津补贴", "allowances"),
                                  ("street", "街道采购", "procurement")):
        finding = finding_for(agencies, unit=agencies[unit], title=title, category_code=category)
        ShareFactory(finding=finding, agency=agencies["inspection"])
    inspector = as_user(app, "inspector")
    base = "/findings?scope=shared_with_us"
    assert titles_on(inspector.get(base + "&unit=unit-street")) == ["街道采购"]
    assert titles_on(inspector.get(base + "&category=allowances")) == ["教育局津补贴"]
    assert titles_on(inspector.get(base + "&q=采购")) == ["街道采购"]
    assert titles_on(inspector.get(base + "&year=1999")) == []
    bad = inspector.get(base + "&year=twenty")
    assert bad.status_code == 400 and titles_on(bad) == []


def test_sensitive_findings_leave_a_reading_event(app, district):
    agencies, _people = district
    finding = finding_for(agencies, sensitivity="sensitive")
    as_user(app, "auditor").get(f"/findings/{finding.public_id}")
    assert len(events("finding.read")) == 1


def test_a_draft_is_submitted_sent_back_with_a_reason_and_issued_from_its_page(app, district):
    agencies, people = district
    finding = FindingFactory(owner_agency=agencies["audit"], unit=agencies["unit"],
                             created_by=people["auditor"], status=FindingStatus.DRAFT,
                             issued_at=None)
    url = f"/findings/{finding.public_id}"
    auditor, leader = as_user(app, "auditor"), as_user(app, "leader")
    assert "报领导签发" in page_text(auditor.get(url))
    assert auditor.post_form(f"{url}/submit", {"version": 1}).status_code == 302
    page = page_text(leader.get(url))
    assert "待签发" in page and "退回" in page
    assert leader.post_form(f"{url}/send-back", {"version": 2, "reason": ""}).status_code == 422
    assert leader.post_form(f"{url}/send-back",
                            {"version": 2, "reason": "请补充账簿页码"}).status_code == 302
    assert "请补充账簿页码" in page_text(auditor.get(url))
    assert auditor.post_form(f"{url}/submit", {"version": 3}).status_code == 302
    assert leader.post_form(f"{url}/issue", {"version": 4}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Finding, finding.id).status == FindingStatus.ISSUED
    assert "请补充账簿页码" not in page_text(auditor.get(url))
