"""Official documents as people meet them: the audit bureau's staff finds the referral letter
the demo made on an overdue referral, makes its chaser letter again as a second version and
downloads it; the commission reads both on the same referral; the audited unit downloads its
rectification notice; the bureau's leader reads the agency's numbering."""

from __future__ import annotations

import io
import os
import re

import docx
import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SHOTS")  # a folder: keep screenshots of the pages to look at
OVERDUE = "关于某街道办事处疫情防控物资采购价格偏高问题线索的移送"  # chased, not acknowledged
YEAR = re.compile(r"〔\d{4}〕")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _text(path) -> str:
    document = docx.Document(io.BytesIO(path.read_bytes()))
    return "\n".join(p.text for p in document.paragraphs)


def test_documents_from_the_referral_page_to_the_receiver(page, new_page, live_server,
                                                          demo_data, tmp_path):
    sign_in(page, live_server, "audit.staff")
    page.goto("/referrals")
    page.get_by_role("link", name=OVERDUE).click()
    panel = page.locator("#documents")
    expect(panel.locator("h2")).to_have_text("公文")
    letter = panel.locator("tr.document-row[data-kind=referral_letter]")
    expect(letter.locator(".document-number")).to_have_text(re.compile(r"^区审移〔\d{4}〕\d+号$"))
    chaser = panel.locator("tr.document-row[data-kind=chaser]")
    expect(chaser).to_have_count(1)
    number = chaser.locator(".document-number").inner_text()
    assert number.startswith("区审催〔")

    panel.get_by_role("button", name="重新生成催办函").click()
    expect(page.locator(".flash-success")).to_contain_text(f"已生成催办函 {number}（第2版）")
    expect(panel.locator("tr.document-row[data-kind=chaser]")).to_have_count(2)
    _shot(page, "documents-referral")
    newest = panel.locator("tr.document-row[data-kind=chaser][data-version='2']")
    with page.expect_download() as download:
        newest.get_by_role("link", name="Word").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith("（第2版）.docx")
    text = _text(saved)
    assert number in text and "区纪委监委：" in text and OVERDUE in text

    # The commission reads both versions on the same referral, and makes none.
    receiver = new_page()
    sign_in(receiver, live_server, "discipline.staff")
    receiver.goto("/referrals/inbox?tab=all")
    receiver.get_by_role("link", name=OVERDUE).click()
    rows = receiver.locator("#documents tr.document-row[data-kind=chaser]")
    expect(rows).to_have_count(2)
    expect(receiver.locator("#documents button")).to_have_count(0)


def test_the_unit_downloads_its_rectification_notice(page, live_server, demo_data, tmp_path):
    sign_in(page, live_server, "unit.contact")
    page.goto("/rectifications")
    page.get_by_role("link", name="区教育局违规发放津补贴").first.click()
    notice = page.locator("#documents tr.document-row[data-kind=rectification_notice]")
    number = notice.locator(".document-number").inner_text()
    assert number.startswith("区审整") and YEAR.search(number)
    _shot(page, "documents-unit")
    with page.expect_download() as download:
        notice.get_by_role("link", name="Word").click()
    saved = tmp_path / "notice.docx"
    download.value.save_as(saved)
    text = _text(saved)
    assert number in text and "区教育局：" in text


def test_the_leader_reads_the_agencys_numbering(page, live_server, demo_data):
    sign_in(page, live_server, "audit.leader")
    page.goto("/documents/numbering")
    expect(page.locator("#referral_letter")).to_have_value("区审移")
    _shot(page, "documents-numbering")


def test_the_security_administrator_is_told_why_a_template_is_refused(page, live_server,
                                                                      demo_data, tmp_path):
    sign_in(page, live_server, "secadmin")
    page.goto("/settings")
    page.get_by_role("link", name="公文模板").click()
    card = page.locator("section#rectification_notice")
    expect(card).to_contain_text("内置模板")
    wrong = tmp_path / "通知书.docx"
    wrong.write_text("{{ persons }}", encoding="utf-8")
    card.locator("input[type=file]").set_input_files(str(wrong))
    card.get_by_role("button", name=re.compile("上传模板")).click()
    expect(page.locator(".flash-error")).to_contain_text("模板须为Word文档（.docx）")
    _shot(page, "documents-templates")
