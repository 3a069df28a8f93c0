"""Rectification through the pages: the auditor issues, the unit reports, the leader signs off."""

import io

import pytest
import sqlalchemy as sa

from supervise.accounts.models import AgencyKind
from supervise.extensions import db
from supervise.rectifications.models import Rectification, RectificationState
from tests.conftest import page_text
from tests.factories import AgencyFactory, FindingFactory, UserFactory
from tests.support.files import EXE, PDF


@pytest.fixture
def world():
    """Its own district, for the pages (users by plain user name); returns its one finding."""
    audit = AgencyFactory(code="audit", name="区审计局", kind=AgencyKind.AUDIT)
    unit = AgencyFactory(code="unit-education", name="区教育局", kind=AgencyKind.AUDITED_UNIT)
    other_unit = AgencyFactory(code="unit-street", name="某街道办事处",
                               kind=AgencyKind.AUDITED_UNIT)
    UserFactory(username="auditor", agency=audit)
    UserFactory(username="audit.boss", agency=audit, roles=["leader"])
    UserFactory(username="contact", agency=unit)
    UserFactory(username="street", agency=other_unit)
    finding = FindingFactory(owner_agency=audit, unit=unit, title="违规发放津补贴",
                             facts="以加班补助名义发放。", legal_basis="预算法",
                             recommendation="清退")
    return finding


def as_user(app, username):
    client = app.test_client()
    assert client.sign_in(username).status_code == 302
    return client


def item() -> Rectification:
    db.session.expire_all()
    return db.session.scalar(sa.select(Rectification))


def act(client, r, action, **data):
    return client.post_form(f"/rectifications/{r.public_id}/act/{action}", data,
                            content_type="multipart/form-data")


def test_from_issue_to_sign_off(app, world):
    auditor, boss, contact = (as_user(app, n) for n in ("auditor", "audit.boss", "contact"))
    response = auditor.post_form(f"/findings/{world.public_id}/rectification",
                                 {"plan": "staged"})
    assert response.status_code == 302
    r = item()
    assert r.state == RectificationState.NOT_STARTED and r.title == "违规发放津补贴"

    portal = contact.get("/rectifications")
    assert "违规发放津补贴" in page_text(portal)
    page = contact.get(f"/rectifications/{r.public_id}")
    assert "以加班补助名义发放。" in page_text(page)
    assert f"/findings/{world.public_id}" not in page.get_data(as_text=True)

    response = act(contact, r, "report", measures="已清退一半", amount_recovered="1,000.50",
                   files=(io.BytesIO(PDF), "退款凭证.pdf"))
    assert response.status_code == 302
    assert item().state == RectificationState.IN_PROGRESS
    assert act(contact, r, "report", measures="全部清退", final="1").status_code == 302
    assert item().state == RectificationState.PENDING_VERIFICATION

    assert act(contact, r, "verify").status_code == 403
    assert act(auditor, r, "verify", comment="已核实").status_code == 302
    assert act(auditor, r, "sign-off").status_code == 302
    assert act(auditor, r, "approve-sign-off").status_code == 403  # needs the leader
    assert item().state == RectificationState.SIGN_OFF_PENDING
    assert act(boss, r, "approve-sign-off").status_code == 302
    assert item().state == RectificationState.SIGNED_OFF
    refused = act(contact, r, "report", measures="再报一次")
    assert refused.status_code == 409

    # The evidence the unit sent can be read by both sides.
    attachment = item().reports[0].attachments[0]
    url = f"/rectifications/{r.public_id}/attachments/{attachment.public_id}"
    for client in (auditor, contact):
        got = client.get(url)
        assert got.status_code == 200 and got.data == PDF
        got.close()
    finding_page = page_text(auditor.get(f"/findings/{world.public_id}"))
    assert "已销号" in finding_page


def _history(page) -> str:
    text = page_text(page)
    return text[text.index("处理过程"):]


def test_the_unit_reads_the_steps_that_concern_it_not_the_audit_bureaus_own(app, world):
    """The unit reads its item's history from the issue: its reports, the sign-off; never the
    auditor's verification, the request to the leader, or the leader's comment."""
    auditor, boss, contact = (as_user(app, n) for n in ("auditor", "audit.boss", "contact"))
    auditor.post_form(f"/findings/{world.public_id}/rectification", {"plan": "staged"})
    r = item()
    assert act(contact, r, "report", measures="全部清退", final="1").status_code == 302
    assert act(auditor, r, "verify", comment="核实意见XK7").status_code == 302
    assert act(auditor, r, "sign-off", comment="请审批XK8").status_code == 302
    assert act(boss, r, "approve-sign-off", comment="领导意见XK9").status_code == 302

    own = _history(auditor.get(f"/rectifications/{r.public_id}"))
    assert all(marker in own for marker in ("核实意见XK7", "请审批XK8", "领导意见XK9"))
    assert "核实 →" in own and "申请销号" in own
    unit = _history(contact.get(f"/rectifications/{r.public_id}"))
    assert "下发整改" in unit and "审批销号" in unit and "报送整改情况" in unit
    for marker in ("XK7", "XK8", "XK9", "申请销号", "核实 →"):
        assert marker not in unit, marker


def test_the_unit_sees_only_its_own_items_and_no_case_content(app, world):
    as_user(app, "auditor").post_form(f"/findings/{world.public_id}/rectification",
                                      {"plan": "immediate"})
    r = item()
    street = as_user(app, "street")
    assert street.get(f"/rectifications/{r.public_id}").status_code == 404
    assert "违规发放津补贴" not in page_text(street.get("/rectifications"))
    contact = as_user(app, "contact")
    for url in ("/findings", f"/findings/{world.public_id}", "/referrals/inbox", "/referrals",
                "/projects"):
        assert contact.get(url).status_code == 404, url


@pytest.mark.parametrize("action, data, status", [
    ("report", {"measures": ""}, 400),
    ("report", {"measures": "x", "amount_recovered": "-5"}, 400),
    ("report", {"measures": "x", "amount_recovered": "1.001"}, 400),
    ("chase", {"comment": ""}, 400),
])
def test_bad_input_changes_nothing(app, world, action, data, status):
    as_user(app, "auditor").post_form(f"/findings/{world.public_id}/rectification",
                                      {"plan": "immediate"})
    r = item()
    client = as_user(app, "contact" if action == "report" else "auditor")
    assert act(client, r, action, **data).status_code == status
    assert item().state == RectificationState.NOT_STARTED
    assert item().reports == []


def test_send_back_needs_a_reason(app, world):
    auditor = as_user(app, "auditor")
    auditor.post_form(f"/findings/{world.public_id}/rectification", {"plan": "long_term"})
    r = item()
    act(as_user(app, "contact"), r, "report", measures="已完成", final="1")
    assert act(auditor, r, "send-back", reason="").status_code == 400
    assert act(auditor, r, "send-back", reason="缺少凭证").status_code == 302
    assert item().state == RectificationState.LONG_TERM


def test_issuing_twice_or_a_draft_is_refused(app, world):
    auditor = as_user(app, "auditor")
    url = f"/findings/{world.public_id}/rectification"
    assert auditor.post_form(url, {"plan": "immediate"}).status_code == 302
    auditor.post_form(url, {"plan": "immediate"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rectification)) == 1


def test_the_unit_page_shows_only_what_its_allow_list_names(app, world):
    """A field nobody named for the unit stays off its pages (rectifications.views.UNIT_PAGE)."""
    from supervise.pages import AllowList
    from supervise.rectifications.views import UNIT_PAGE

    as_user(app, "auditor").post_form(f"/findings/{world.public_id}/rectification",
                                      {"plan": "staged"})
    r = item()
    shown = AllowList(r, UNIT_PAGE)
    assert shown.title == r.title and shown.owner_agency.name == r.owner_agency.name
    for hidden in ("finding", "unit", "issued_by", "signed_off_by", "owner_agency_id"):
        assert not hasattr(shown, hidden), hidden
    assert not hasattr(shown.owner_agency, "code")
    assert [report.measures for report in shown.reports] == []
    page = page_text(as_user(app, "contact").get(f"/rectifications/{r.public_id}"))
    assert "以加班补助名义发放。" in page and "区审计局" in page


def test_a_refused_report_from_the_page_keeps_no_file(app, world, upload_dir):
    """The page's one commit-or-discard path (pages.attempt) removes what the failed request
    stored: no orphaned evidence."""
    as_user(app, "auditor").post_form(f"/findings/{world.public_id}/rectification",
                                      {"plan": "staged"})
    r = item()
    contact = as_user(app, "contact")
    # The first file is stored before the second is found to be a program: both go.
    response = act(contact, r, "report", measures="已清退",
                   files=[(io.BytesIO(PDF), "退款凭证.pdf"), (io.BytesIO(EXE), "setup.pdf")])
    assert response.status_code == 415
    assert item().reports == [] and list(upload_dir.iterdir()) == []
    response = act(contact, r, "report", measures="已清退", amount_recovered="5",
                   files=(io.BytesIO(PDF), "退款凭证.pdf"))
    assert response.status_code == 302 and len(list(upload_dir.iterdir())) == 1
