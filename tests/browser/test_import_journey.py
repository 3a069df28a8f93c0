"""The audit bureau's journey of importing findings from Excel in a real browser: the template
downloaded from the findings list and filled with 20 rows, 3 of them wrong; the preview with the
3 refused and why; the import of the 17 others as drafts; the refused rows downloaded.

Buttons are found by ids and CSS selectors, not by their (translated) text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import expect

from supervise.extensions import db
from supervise.findings.models import Finding, FindingStatus
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

TITLE = "导入核查：第{}号专项资金未按规定用途使用"


def _rows():
    """20 rows: 17 good, and rows 5, 11 and 17 of the sheet wrong in three ways."""
    rows = []
    for i in range(1, 21):
        row = ["区教育局", "", TITLE.format(i), f"经核查，第{i}笔专项资金被用于日常办公支出。",
               "违规发放津补贴", f"{1000 + i}.50", "《预算法》第十四条", "收回资金，调整账目",
               "一般"]
        rows.append(row)
    rows[3][0] = "不存在的单位"  # sheet row 5
    rows[9][5] = "壹万元"  # sheet row 11
    rows[15][2] = ""  # sheet row 17
    return rows


def test_import_twenty_rows_three_refused(page, live_server, demo_data, tmp_path):
    sign_in(page, live_server, "audit.staff")
    page.goto("/findings")
    page.locator("#import-findings").click()
    expect(page).to_have_url(live_server("/findings/import"))

    with page.expect_download() as template:
        page.locator("#import-template").click()
    workbook = load_workbook(io.BytesIO(Path(template.value.path()).read_bytes()))
    sheet = workbook["问题清单"]
    for row in _rows():
        sheet.append(row)
    filled = tmp_path / "问题清单.xlsx"
    workbook.save(filled)

    page.locator("input[type=file]").set_input_files(str(filled))
    with page.expect_navigation():
        page.locator("form.import-form button[type=submit]").click()
    expect(page.locator("#import-counts")).to_have_text(
        "问题清单.xlsx：共20行，可导入17行，不导入3行。")
    refused = page.locator("tr.row-refused")
    expect(refused).to_have_count(3)
    expect(refused.nth(0)).to_contain_text("被审计单位：未知的被审计单位。")
    expect(refused.nth(1)).to_contain_text("涉及金额（元）：金额不是有效的数字。")
    expect(refused.nth(2)).to_contain_text("标题：此项为必填项。")
    assert [refused.nth(i).get_attribute("data-line") for i in range(3)] == ["5", "11", "17"]
    expect(page.locator("tr.row-ok")).to_have_count(17)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "import-preview.png"), full_page=True)

    expect(page.locator("#import-confirm")).to_have_text("导入17行为草稿")
    with page.expect_navigation():
        page.locator("#import-confirm").click()
    expect(page.locator("#import-done")).to_contain_text("17个问题已记录为草稿。")
    expect(page.locator("#import-done")).to_contain_text("3行未导入。")

    with page.expect_download() as download:
        page.locator("#import-refused").click()
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    lines = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert lines == [5, 11, 17]
    assert "未知的被审计单位" in sheet["B2"].value

    with page.expect_navigation():
        page.locator("#import-drafts").click()
    titles = page.locator("table.findings tbody tr td:first-child a")
    expect(titles.filter(has_text="导入核查")).to_have_count(17)

    db.session.expire_all()
    imported = db.session.scalars(sa.select(Finding).where(
        Finding.title.startswith("导入核查"))).all()
    assert len(imported) == 17
    assert {f.status for f in imported} == {FindingStatus.DRAFT}
