"""Layouts a user notices (issue 11): on a phone every list is a column of cards, each value under
its column's label, the count tiles are one row that scrolls sideways, and no text is squeezed to
a character a line; on paper a record page is the record alone (its fields, timeline and
attachment names, no navigation or forms) with who printed it and when at its end.

The pages are the demo data's, seen by the demo accounts; labels are compared with the table's
own (translated) header, not with text written here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from supervise.accounts.models import User
from supervise.database import BEIJING_TIME, now_utc
from supervise.extensions import db
from supervise.rectifications.models import Rectification
from supervise.referrals.models import Referral

from .conftest import sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# The demo referral the discipline commission answered, with a timeline of six steps.
ANSWERED_REFERRAL = "关于某街道办事处疫情防控补助发放不精准问题线索的移送"
# The demo rectification item with a progress report in.
REPORTED_RECTIFICATION = "年初预算编制不细化，代编预算比例过高"

# Each account's list pages, each with its stacked table.
LISTS = {
    "audit.staff": [("/findings", "table.findings"), ("/referrals", "table.referrals"),
                    ("/rectifications", "table.rectifications"), ("/projects", "table.projects"),
                    ("/account/sessions", "table#sessions")],
    "audit.leader": [("/approvals", "table.queue")],
    "discipline.staff": [("/referrals/inbox?tab=handling", "table.referrals")],
    "sysadmin": [("/admin/users", "table.list")],
    "auditadmin": [("/audit/events", "table.events")],
}

# Every value in a card: the cell's ::before label and its header, the row's display, and how
# wide the table and the page are.
CARDS_JS = """table => {
  const headers = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
  const row = table.querySelector('tbody tr');
  const cells = [...row.querySelectorAll('td')].map(td => ({
    label: getComputedStyle(td, '::before').content,
    top: td.getBoundingClientRect().top,
  }));
  return {headers, cells, rowDisplay: getComputedStyle(row).display,
          tableWidth: table.scrollWidth, pageWidth: document.documentElement.clientWidth,
          pageScroll: document.documentElement.scrollWidth};
}"""

# Visible texts of more than three characters laid out narrower than three of them: text wrapped
# a character or two a line.
SQUEEZED_JS = """() => {
  const squeezed = [];
  for (const el of document.querySelectorAll(
      'td, th, button, a, label, dt, dd, .badge, .clock, .tile, .todo-item')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !el.checkVisibility()) continue;
    const text = [...el.innerText.trim()];
    const em = parseFloat(getComputedStyle(el).fontSize);
    if (text.length > 3 && box.width < 3 * em) {
      squeezed.push(`${el.tagName}.${el.className} ${box.width}px: ${text.join('').slice(0, 20)}`);
    }
  }
  return squeezed;
}"""

# The tiles of a row: their tops, and whether the row scrolls sideways.
TILES_JS = """row => ({
  tops: [...row.children].map(tile => tile.offsetTop),
  overflowX: getComputedStyle(row).overflowX,
  scrollWidth: row.scrollWidth,
  clientWidth: row.clientWidth,
})"""


def _open_as(new_page, live_server, username: str, viewport: dict | None = None) -> Page:
    page = new_page()
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(page, live_server, username)
    return page


def test_lists_are_cards_on_a_phone(new_page, live_server, demo_data):
    for username, lists in LISTS.items():
        page = _open_as(new_page, live_server, username, PHONE)
        for path, table_selector in lists:
            page.goto(path)
            table = page.locator(table_selector)
            expect(table.locator("tbody tr").first).to_be_visible()
            cards = table.evaluate(CARDS_JS)
            where = f"{username} {path}"
            assert cards["rowDisplay"] == "block", where
            # Each cell is labelled with its column's header, one value under the other.
            labels = [cell["label"] for cell in cards["cells"]]
            assert labels == [f'"{header}"' for header in cards["headers"]], where
            tops = [cell["top"] for cell in cards["cells"]]
            assert tops == sorted(tops) and len(set(tops)) == len(tops), where
            # Nothing wider than the phone: no sideways scrolling of the table or the page.
            assert cards["tableWidth"] <= cards["pageWidth"], where
            assert cards["pageScroll"] <= cards["pageWidth"], where
            assert page.evaluate(SQUEEZED_JS) == [], where


def test_count_tiles_are_one_row_that_scrolls_on_a_phone(new_page, live_server, demo_data):
    staff = _open_as(new_page, live_server, "audit.staff", PHONE)
    for path, row_selector in [("/referrals", ".tiles"), ("/", "ul.todo")]:
        staff.goto(path)
        row = staff.locator(row_selector)
        expect(row).to_be_visible()
        tiles = row.evaluate(TILES_JS)
        assert len(tiles["tops"]) > 2, path
        assert len(set(tiles["tops"])) == 1, (path, tiles)
        assert tiles["overflowX"] == "auto", path
        assert tiles["scrollWidth"] > tiles["clientWidth"], path
        # The page itself stays as wide as the phone; only the row scrolls.
        assert staff.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path


@pytest.mark.parametrize("username, path", [
    ("audit.staff", "/"),
    ("audit.staff", "/notifications?show=all"),
    ("discipline.staff", "/referrals/inbox"),
    ("unit.contact", "/rectifications"),
])
def test_no_text_wraps_a_character_a_line_on_a_phone(new_page, live_server, demo_data,
                                                     username, path):
    page = _open_as(new_page, live_server, username, PHONE)
    page.goto(path)
    page.locator(".nav-toggle").click()  # the menu's links count too
    expect(page.locator("#nav")).to_be_visible()
    assert page.evaluate(SQUEEZED_JS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _minutes_between(start, end) -> set[str]:
    """Every minute from start to end as the print footer writes it, in Beijing time."""
    minutes, moment = set(), start.replace(second=0, microsecond=0)
    while moment <= end:
        minutes.add(moment.astimezone(BEIJING_TIME).strftime("%Y-%m-%d %H:%M"))
        moment += timedelta(minutes=1)
    return minutes


def _assert_prints_the_record_alone(page: Page, path: str, parts: list[str]) -> None:
    user = db.session.scalar(sa.select(User).where(User.username == "audit.staff"))
    page.emulate_media(media="print")
    before = now_utc()
    page.goto(path)
    after = now_utc()

    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.locator("header .bell")).to_be_hidden()
    assert page.locator("form").count() > 0  # the record page has its forms, on screen
    expect(page.locator("form:visible")).to_have_count(0)
    expect(page.locator("button:visible")).to_have_count(0)
    expect(page.locator("#actions")).to_be_hidden()
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("dl.facts")).to_be_visible()
    for part in parts:  # each part whole, every entry of it
        expect(page.locator(part)).to_be_visible()
        entries = page.locator(f"{part} li, {part} article")
        assert entries.count() > 0, part
        expect(page.locator(f"{part} li:visible, {part} article:visible")).to_have_count(
            entries.count())

    footer = page.locator(".print-footer")
    expect(footer).to_be_visible()
    text = footer.inner_text()
    assert user.display_name in text and user.agency.name in text, text
    assert any(minute in text for minute in _minutes_between(before, after)), text

    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000

    # On screen the footer is not there, and the navigation is.
    page.emulate_media(media="screen")
    expect(footer).to_be_hidden()
    expect(page.locator("header.topbar")).to_be_visible()


def test_a_referral_prints_as_the_record_alone(new_page, live_server, demo_data):
    referral = db.session.scalar(sa.select(Referral).where(Referral.title == ANSWERED_REFERRAL))
    page = _open_as(new_page, live_server, "audit.staff")
    _assert_prints_the_record_alone(page, f"/referrals/{referral.public_id}",
                                    ["#timeline", "#findings", "#evidence"])


def test_a_rectification_prints_as_the_record_alone(new_page, live_server, demo_data):
    item = db.session.scalar(
        sa.select(Rectification).where(Rectification.title == REPORTED_RECTIFICATION))
    page = _open_as(new_page, live_server, "audit.staff")
    _assert_prints_the_record_alone(page, f"/rectifications/{item.public_id}",
                                    ["#reports", "#history"])


# The report form's visible parts, top to bottom: each part's box, and the boxes of the
# grid's fields (the money and the rules, side by side on a desk, one under the other on a
# phone).
FORM_BOXES_JS = """form => {
  const box = el => { const b = el.getBoundingClientRect();
                      return {top: b.top, bottom: b.bottom, height: b.height}; };
  const parts = [...form.children].filter(el => el.checkVisibility())
    .map(el => ({name: `${el.tagName}.${el.className}`, ...box(el)}));
  const grid = form.querySelector('.grid-form');
  return {parts, grid: box(grid), fields: [...grid.children].map(box)};
}"""
# Between two consecutive parts of a form: their margins and the gap, never a blank row.
MOST_SPACE = 32


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE],
                         ids=["desk", "phone"])
def test_the_units_report_form_has_no_blank_gap(new_page, live_server, demo_data, viewport):
    """The unit's report form is one column of parts (issue 11): the fields of its grid of
    money and rules used to sit under an empty band as tall as the fields stacked, the height
    the grid would take at its narrowest."""
    item = db.session.scalar(
        sa.select(Rectification).where(Rectification.title == REPORTED_RECTIFICATION))
    page = _open_as(new_page, live_server, "unit.contact", viewport)
    page.goto(f"/rectifications/{item.public_id}")
    form = page.locator("form.action-report")
    expect(form.locator("#measures")).to_be_visible()
    boxes = form.evaluate(FORM_BOXES_JS)
    parts = boxes["parts"]
    assert [p["name"] for p in parts][:2] == ["DIV.field", "DIV.grid-form"], parts
    for above, below in zip(parts, parts[1:], strict=False):
        assert 0 <= below["top"] - above["bottom"] <= MOST_SPACE, (above, below)
    # The grid is as tall as its fields, no taller: no blank band above or below them.
    grid, fields = boxes["grid"], boxes["fields"]
    assert grid["top"] <= min(f["top"] for f in fields) <= grid["top"] + 1, boxes
    assert max(f["bottom"] for f in fields) >= grid["bottom"] - MOST_SPACE, boxes
    if viewport["width"] > PHONE["width"]:  # side by side on a desk
        assert len({round(f["top"]) for f in fields}) == 1, fields


# Each required mark on the page: its box, its label's, and the control's after it.
MARKS_JS = """() => [...document.querySelectorAll('abbr.required')].map(mark => {
  const box = el => el && el.getBoundingClientRect();
  const label = mark.closest('label') || mark.previousElementSibling;
  const control = mark.closest('label') ? label.querySelector('input, select, textarea')
                                        : mark.nextElementSibling;
  const [m, l, c] = [box(mark), box(label), box(control)];
  return {label: label.textContent.trim(), markTop: m.top, markBottom: m.bottom,
          labelTop: l.top, labelBottom: l.bottom, labelRight: l.right, markLeft: m.left,
          controlTop: c ? c.top : null, inside: !!mark.closest('label')};
})"""


@pytest.mark.parametrize("path", ["/findings/new", "/referrals/new"])
def test_a_required_mark_stands_on_its_labels_line(new_page, live_server, demo_data, path):
    """The red * of a required field follows its label's words on the same line (issue 11: it
    stood alone on a line between label and field); the field starts the line below."""
    page = _open_as(new_page, live_server, "audit.staff")
    page.goto(path)
    marks = page.evaluate(MARKS_JS)
    assert len(marks) >= 3, marks
    for mark in marks:
        if not mark["inside"]:  # next to its label, on its line, just after its words
            assert mark["markTop"] < mark["labelBottom"], mark
            assert mark["markBottom"] > mark["labelTop"], mark
            assert 0 <= mark["markLeft"] - mark["labelRight"] < 16, mark
        if mark["controlTop"] is not None:
            assert mark["controlTop"] >= mark["markBottom"] - 1, mark
    # The label's own words are what a reader finds the field by.
    expect(page.get_by_label("标题", exact=True)).to_be_visible()
