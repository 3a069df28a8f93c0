"""The leader's cockpit (issue 14): the audit bureau's leader opens the statistics, sees the
figures drawn beside their tables, and follows a figure to the records it counts."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SHOTS")  # a folder: keep screenshots of the pages to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _count(cell) -> int:
    return int(re.sub(r"\D", "", cell.inner_text()) or 0)


def test_a_leader_follows_a_figure_to_the_records_it_counts(page, live_server, demo_data):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, "audit.leader")
    page.get_by_role("link", name="统计分析").click()
    expect(page.locator("h1")).to_contain_text("统计分析")

    # The referrals the bureau sent, by kind: a chart drawn from the table beside it.
    expect(page.locator("#referrals_by_kind-chart canvas")).to_have_count(1)
    sent_row = page.locator("#referrals_answer tbody tr").filter(has_text="本单位移送")
    items = sent_row.locator("td").first
    n = _count(items)
    assert n > 0
    _shot(page, "statistics-referrals")
    items.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text("移送事项")
    expect(page.locator("table.referrals tbody tr")).to_have_count(n)
    expect(page.get_by_text(f"共{n}条", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text(re.compile(r"\d{4}年 · 本单位移送"))

    # Back, to the findings by category: the count of a category opens its findings.
    page.get_by_role("link", name="返回统计").click()
    page.get_by_role("link", name="问题", exact=True).last.click()
    expect(page.locator("#findings_by_category-chart canvas")).to_have_count(1)
    first = page.locator("#findings_by_category tbody tr").first
    category = first.locator("th").inner_text()
    m = _count(first.locator("td").first)
    _shot(page, "statistics-findings")
    first.locator("td").first.get_by_role("link").click()
    rows = page.locator("table.findings tbody tr")
    expect(rows).to_have_count(min(m, 20))
    for text in rows.locator("td:nth-child(3)").all_inner_texts():
        assert text == category

    # The year's summary, for a work report.
    page.goto("/statistics/annual")
    expect(page.locator("#annual")).to_contain_text("整改率")
    _shot(page, "statistics-annual")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


PHONE = {"locale": "zh-CN", "viewport": {"width": 390, "height": 844}}


@pytest.mark.parametrize("context_options", [PHONE])
def test_the_cockpit_on_a_phone(page, live_server, demo_data):
    sign_in(page, live_server, "audit.leader")
    page.goto("/statistics?section=rectifications")
    chart = page.locator("#rectification_by_unit-chart canvas")
    expect(chart).to_have_count(1)
    assert chart.bounding_box()["width"] <= 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    _shot(page, "statistics-phone")
