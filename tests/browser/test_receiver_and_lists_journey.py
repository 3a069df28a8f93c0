"""What the other party reads and how people find their work (issue 11, items 3, 6 and 8).

The commission reads the findings a referral cites, as they were when it was sent, with their
evidence; the organisation department answers with a department's dispositions, nothing chosen
at first, and its file is listed with the answer. A leader finds the drafts waiting for them, the
audit bureau narrows its rectification items to a unit with their states counted, the commission
searches its inbox and keeps to what is assigned to it, and the inspection office follows the
rectification of a finding shared with it.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from supervise.accounts.models import Agency
from supervise.extensions import db
from supervise.findings.models import Finding, FindingStatus
from supervise.rectifications.models import Rectification, RectificationState
from supervise.referrals.models import Referral, ReferralState
from supervise.vocabulary import chinese

from .conftest import sign_in

pytestmark = pytest.mark.browser

# Demo referrals: one sent to the commission citing a finding with a PDF of evidence, one the
# organisation department has acknowledged.
SENT_WITH_EVIDENCE = "关于某街道办事处疫情防控物资采购价格偏高问题线索的移送"
CITED_FINDING = "疫情防控物资采购价格明显偏高"
TO_THE_DEPARTMENT = "关于区教育局领导班子超标准接待问题的移送处理"
DEPARTMENT_DISPOSITIONS = ["已处理", "已采纳", "部分采纳", "不予采纳", "移交其他部门"]


def _referral(title: str) -> Referral:
    return db.session.scalar(sa.select(Referral).where(Referral.title == title))


def test_the_receiver_reads_the_cited_findings_and_their_evidence(page, live_server,
                                                                  demo_data):
    referral = _referral(SENT_WITH_EVIDENCE)
    assert referral.state == ReferralState.SENT
    finding = db.session.scalar(sa.select(Finding).where(Finding.title == CITED_FINDING))
    sign_in(page, live_server, "discipline.staff")
    page.goto(f"/referrals/{referral.public_id}")

    cited = page.locator("#findings article.cited")
    expect(cited).to_have_count(1)
    expect(cited.locator("h3")).to_have_text(CITED_FINDING)
    expect(cited.locator("h3 a")).to_have_count(0)  # the finding itself is not the commission's
    expect(cited.locator(".prose").first).to_have_text(finding.facts)
    evidence = cited.locator("ul.attachments a")
    expect(evidence).to_have_count(1)
    with page.expect_download() as download:
        evidence.click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert download.value.path().read_bytes().startswith(b"%PDF")


def test_a_department_answers_with_its_own_dispositions_and_a_file(page, new_page, live_server,
                                                                   demo_data, tmp_path):
    referral = _referral(TO_THE_DEPARTMENT)
    assert referral.state == ReferralState.ACKNOWLEDGED
    url = f"/referrals/{referral.public_id}"
    sign_in(page, live_server, "org.staff")
    page.goto(url)

    answer = page.locator("form.action-answer")
    disposition = answer.locator("select[name=disposition]")
    expect(disposition).to_have_value("")
    labels = [t.strip() for t in disposition.locator("option").all_inner_texts()]
    assert labels[1:] == DEPARTMENT_DISPOSITIONS
    disposition.select_option(label="已采纳")
    answer.locator("textarea[name=result]").fill("已将审计结果运用于领导班子年度考核。")
    letter = tmp_path / "采纳情况说明.pdf"
    letter.write_bytes(b"%PDF-1.4\n%%EOF\n")
    answer.locator("input[name=files]").set_input_files(str(letter))
    answer.locator("button[type=submit]").click()

    expect(page).to_have_url(live_server(url))
    expect(page.locator(".flash-success")).to_have_count(1)
    expect(page.locator("section.clocks dl.facts")).to_contain_text("已采纳")
    expect(page.locator("#answer-files a")).to_have_text(["采纳情况说明.pdf"])
    # The assignment lists have nobody chosen (the commission's leader assigns its handlers).
    leader = new_page()
    sign_in(leader, live_server, "discipline.leader")
    handling = _referral("关于区教育局校舍维修工程管理问题线索的移送")
    leader.goto(f"/referrals/{handling.public_id}")
    expect(leader.locator("form.action-assign select[name=handler]")).to_have_value("")


def test_lists_find_what_each_person_looks_for(page, new_page, live_server, demo_data):
    # A leader finds the drafts submitted for issue among the findings.
    sign_in(page, live_server, "audit.leader")
    page.goto("/findings")
    page.locator("select[name=status]").select_option("pending_issue")
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"status=pending_issue"))
    waiting = db.session.scalars(sa.select(Finding.title).where(
        Finding.status == FindingStatus.PENDING_ISSUE)).all()
    assert waiting
    expect(page.locator("table.findings tbody tr td:first-child a")).to_have_text(waiting)

    # The audit bureau's rectification items of one unit, with their states counted.
    staff = new_page()
    sign_in(staff, live_server, "audit.staff")
    staff.goto("/rectifications")
    street = db.session.scalar(sa.select(Agency).where(Agency.code == "unit-street"))
    staff.locator("form.filters select[name=unit]").select_option(street.code)
    staff.locator("form.filters button[type=submit]").click()
    rows = staff.locator("table.rectifications tbody tr")
    items = db.session.scalars(sa.select(Rectification).where(
        Rectification.unit_id == street.id)).all()
    assert items
    expect(rows).to_have_count(len(items))
    tiles = staff.locator("#rectification-states a.tile")
    expect(tiles.first.locator(".tile-n")).to_have_text(str(len(items)))
    in_progress = sum(1 for i in items if i.state == RectificationState.IN_PROGRESS)
    expect(staff.locator("#rectification-states a.rstate-in_progress .tile-n")).to_have_text(
        str(in_progress))

    # The commission searches all its inbox and keeps to what is assigned to its handler.
    handler = new_page()
    sign_in(handler, live_server, "discipline.staff")
    handler.goto("/referrals/inbox?tab=all")
    received = db.session.scalars(sa.select(Referral).where(
        Referral.receiver_agency.has(code="discipline"),
        Referral.first_sent_at.is_not(None))).all()
    expect(handler.locator("table.referrals tbody tr")).to_have_count(len(received))
    handler.locator("#inbox-filters input[name=q]").fill("捐赠")
    handler.locator("#inbox-filters button[type=submit]").click()
    expect(handler.locator("table.referrals tbody tr")).to_have_count(1)
    expect(handler.locator("table.referrals tbody")).to_contain_text("社会捐赠款物")
    handler.locator("#inbox-filters input[name=q]").fill("")
    handler.locator("#inbox-filters input[name=mine]").check()
    handler.locator("#inbox-filters button[type=submit]").click()
    mine = [r for r in received if r.handler is not None
            and r.handler.username == "discipline.staff"]
    assert 0 < len(mine) < len(received)
    expect(handler.locator("table.referrals tbody tr")).to_have_count(len(mine))

    # The inspection office follows the rectification of a finding shared with it.
    inspector = new_page()
    sign_in(inspector, live_server, "inspect.staff")
    inspector.goto("/findings?scope=shared_with_us")
    state = chinese(db.session.scalar(sa.select(Rectification.state).join(Finding).where(
        Finding.title == "区教育局违规发放津补贴")))
    row = inspector.locator("table.findings tbody tr", has_text="区教育局违规发放津补贴")
    expect(row).to_contain_text(state)
    row.locator("a", has_text="区教育局违规发放津补贴").click()
    expect(inspector.locator("#shared-progress")).to_contain_text(state)
