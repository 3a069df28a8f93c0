"""The inspection office reads an audited unit's dossier before a round (巡前会商): from a finding
shared with it, through the unit's name, to the dossier, whose charts are drawn from the tables
beside them, under the strict Content-Security-Policy (no violation, no console error), on a
desk and on a phone, and on paper the tables alone.

A screenshot at phone width is left in /tmp/shots/ (SHOTS) for a person to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("SHOTS", "/tmp/shots"))
PHONE = {"width": 390, "height": 844}
SHARED_FINDING = "区教育局违规发放津补贴"
# A referral of the audit bureau's about the same unit: the inspection office is no party to it.
AUDIT_REFERRAL = "关于区教育局违规发放津补贴问题线索的移送"

# Every CSP violation the page meets, from the first script on.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || ''));
});
"""

CHART_JS = """id => {
  const box = document.getElementById(id + '-chart');
  const table = document.getElementById(id);
  const canvas = box && box.querySelector('canvas');
  const b = box.getBoundingClientRect(), t = table.getBoundingClientRect();
  return {canvas: !!canvas, canvasWidth: canvas ? canvas.getBoundingClientRect().width : 0,
          boxWidth: b.width, boxHeight: b.height, drawn: table.getAttribute('data-chart-drawn'),
          beside: b.right <= t.left + 1, above: b.bottom <= t.top + 1,
          pageWidth: document.documentElement.clientWidth,
          pageScroll: document.documentElement.scrollWidth};
}"""


def test_the_inspection_office_reads_a_unit_dossier_with_its_charts(page, live_server,
                                                                     demo_data):
    errors = []

    def console(message):
        # The browser asks for a favicon the app does not have: not the page's error.
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(WATCH_CSP)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "inspect.staff")

    # From the finding shared with the office, by the unit's name, to the unit's dossier.
    page.goto("/findings?scope=shared_with_us")
    page.get_by_role("link", name=SHARED_FINDING, exact=True).click()
    page.get_by_role("link", name="区教育局", exact=True).click()
    expect(page).to_have_url(live_server("/units/unit-education/dossier"))
    expect(page.get_by_role("heading", level=1)).to_have_text("区教育局单位画像")

    # Each chart is drawn (a canvas in its container), beside the table it is drawn from.
    for table in ("findings-by-year", "findings-by-category", "rectification-by-state"):
        expect(page.locator(f"#{table}-chart canvas").first).to_be_attached()
        expect(page.locator(f"table#{table}")).to_be_visible()
        shape = page.evaluate(CHART_JS, table)
        assert shape["canvas"] and shape["drawn"] == "true", (table, shape)
        assert shape["beside"], (table, shape)
        assert shape["boxHeight"] > 150, (table, shape)
    # The table's own figures, for screen readers and paper.
    by_year = page.locator("table#findings-by-year")
    expect(by_year.locator("caption")).to_have_text("已签发问题（按年度）")
    expect(by_year.locator("tbody tr")).to_have_count(2)  # 2020 (shared), 2021 (its own)
    expect(by_year.locator("tfoot")).to_contain_text("2,785,450.00")
    # Its own referral, and nothing of the audit bureau's.
    expect(page.locator("#dossier-referrals")).to_contain_text(
        "关于区教育局党组主体责任落实不到位问题线索的移送")
    assert AUDIT_REFERRAL not in page.content()

    # The tooltips are drawn on the canvas: hovering over a chart needs no inline style.
    chart = page.locator("#findings-by-year-chart")
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    page.locator("#findings-by-category-chart").hover()
    page.wait_for_timeout(300)

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#dossier-findings").screenshot(path=str(SHOTS / "dossier-1280-findings.png"))

    # A phone: the window narrows, the charts follow it, above their tables, nothing sideways.
    wide = page.evaluate(CHART_JS, "findings-by-year")["canvasWidth"]
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(400)
    for table in ("findings-by-year", "findings-by-category", "rectification-by-state"):
        shape = page.evaluate(CHART_JS, table)
        assert shape["canvasWidth"] < wide and shape["canvasWidth"] <= PHONE["width"], shape
        assert shape["above"], (table, shape)
        assert shape["pageScroll"] <= shape["pageWidth"], shape
    page.screenshot(path=str(SHOTS / "dossier-390.png"), full_page=True)
    page.screenshot(path=str(SHOTS / "dossier-390-top.png"))
    for section in ("findings", "rectification", "referrals"):
        page.locator(f"#dossier-{section}").screenshot(
            path=str(SHOTS / f"dossier-390-{section}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_timeout(400)
    assert page.evaluate(CHART_JS, "findings-by-year")["canvasWidth"] > PHONE["width"]

    # On paper: the tables, without the charts.
    page.emulate_media(media="print")
    expect(page.locator("#findings-by-year-chart")).to_be_hidden()
    expect(page.locator("table#findings-by-year")).to_be_visible()
    page.emulate_media(media="screen")

    assert page.evaluate("window.__csp") == []
    assert errors == []
