"""The inspection officer's journey through findings in a real browser: the findings shared with
the inspection office for one audited unit, an audit finding with its note and evidence, and a
link from one of the office's own findings to it, all recorded in the event log.

Buttons are found by ids, names, hrefs and CSS selectors, not by their (translated) text; the
titles and notes asserted are the demo data's own.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from supervise.demo import DEMO_AGENCIES, DEMO_FINDINGS
from supervise.events.models import Event
from supervise.extensions import db

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "demo-pass-2026"
USERNAME = "inspect.staff"
UNIT = "unit-education"
AGENCY_NAMES = {code: name for code, name, _kind in DEMO_AGENCIES}

SHARED_TITLE = "区教育局违规发放津补贴"
OWN_DEMO_TITLE = "区教育局党组落实全面从严治党主体责任不到位"
NEW_TITLE = "区教育局未建立审计整改台账（巡察补充发现）"
NEW_FACTS = "巡察组核查发现，区教育局对审计指出的问题未建立整改台账，整改进展无从跟踪。"


def _shared_with_inspection(shares) -> bool:
    return any(agency == "inspection" and not withdrawn
               for agency, _handling, _note, withdrawn in shares)


# The demo findings about the unit that the inspection office may read now.
EXPECTED_TITLES = sorted(
    title for (_project, unit, title, _category, _amount, _facts, _basis, _recommendation,
               _evidence, shares, issued) in DEMO_FINDINGS
    if unit == UNIT and issued and _shared_with_inspection(shares))
STREET_TITLES = [finding[2] for finding in DEMO_FINDINGS if finding[1] == "unit-street"]
SHARED_NOTE = next(note for (_p, _u, title, *_rest, shares, _issued) in DEMO_FINDINGS
                   if title == SHARED_TITLE
                   for agency, _handling, note, _withdrawn in shares if agency == "inspection")


@pytest.fixture
def demo_data(app):
    """The demo agencies, accounts, projects and findings, made by the real `flask seed-demo`."""
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()


def finding_path(url: str) -> str:
    match = re.search(r"(/findings/[^/?#]+)$", url)
    assert match, url
    return match.group(1)


def test_expected_demo_data():
    """The journey relies on these facts of the demo data."""
    assert SHARED_TITLE in EXPECTED_TITLES
    assert len(EXPECTED_TITLES) >= 2
    assert SHARED_NOTE
    assert STREET_TITLES


def test_inspection_officer_reads_downloads_and_links_a_shared_finding(
        app, page, live_server, demo_data):
    # 1. Sign in through the form.
    sign_in(page, USERNAME)
    expect(page).to_have_url(live_server("/"))
    expect(page.locator("header .who")).to_have_text(f"赵巡察 · {AGENCY_NAMES['inspection']}")

    # 2. The findings shared with the office about 区教育局.
    page.locator('#nav a[href="/findings"]').click()
    expect(page).to_have_url(re.compile(re.escape(live_server("/findings")) + r"(\?|$)"))
    page.locator('nav.tabs a[href*="scope=shared_with_us"]').click()
    expect(page).to_have_url(re.compile(r"scope=shared_with_us"))
    expect(page.locator('nav.tabs a[href*="scope=shared_with_us"]')).to_have_attribute(
        "aria-current", "page")
    page.locator("#finding-filters select[name=unit]").select_option(UNIT)
    page.locator("#finding-filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"unit=unit-education"))
    expect(page).to_have_url(re.compile(r"scope=shared_with_us"))

    rows = page.locator("table.findings tbody tr")
    expect(rows).to_have_count(len(EXPECTED_TITLES))
    titles = page.locator("table.findings tbody tr td:first-child > a")
    assert sorted(titles.all_inner_texts()) == EXPECTED_TITLES
    units = page.locator("table.findings tbody tr td:nth-child(2)")
    assert set(units.all_inner_texts()) == {AGENCY_NAMES[UNIT]}
    body_text = page.locator("table.findings tbody").inner_text()
    for title in STREET_TITLES:
        assert title not in body_text
    assert AGENCY_NAMES["unit-street"] not in body_text

    # 3. The shared finding: its title, the audit bureau's note and its evidence.
    page.locator("table.findings tbody a", has_text=SHARED_TITLE).click()
    expect(page).to_have_url(re.compile(re.escape(live_server("/findings/")) + r"[^/?#]+$"))
    shared_path = finding_path(page.url)
    expect(page.locator("h1")).to_have_text(SHARED_TITLE)
    note = page.locator(".flash-info", has_text=SHARED_NOTE)
    expect(note).to_have_count(1)
    expect(note).to_contain_text(AGENCY_NAMES["audit"])

    evidence = page.locator("#evidence ul.attachments a")
    expect(evidence).to_have_count(1)
    with page.expect_download() as info:
        evidence.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        assert fh.read().startswith(b"%PDF-")

    # The office's own demo finding is linked already, and the office may link more.
    expect(page.locator("#uses a", has_text=OWN_DEMO_TITLE)).to_have_count(1)
    expect(page.locator("#link-form")).to_have_count(1)

    # 4. A new finding of the office's own, recorded through the form...
    page.goto("/findings/new")
    form = page.locator("form.finding-form")
    form.locator("#unit").select_option(UNIT)
    form.locator("#category").select_option("other")
    form.locator("#title").fill(NEW_TITLE)
    form.locator("#facts").fill(NEW_FACTS)
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(NEW_TITLE)
    new_path = finding_path(page.url)
    assert new_path != shared_path
    new_public_id = new_path.rsplit("/", 1)[1]

    # ...then linked to the shared finding from its page.
    page.goto(shared_path)
    expect(page.locator(f'#uses a[href="{new_path}"]')).to_have_count(0)
    related = page.locator("#link-form select[name=related]")
    expect(related.locator(f'option[value="{new_public_id}"]')).to_have_text(NEW_TITLE)
    related.select_option(new_public_id)
    page.locator("#link-form button[type=submit]").click()

    expect(page).to_have_url(live_server(shared_path))
    expect(page.locator(".flash-success")).to_have_count(1)
    expect(page.locator(".flash-error")).to_have_count(0)
    new_link = page.locator(f'#uses a[href="{new_path}"]')
    expect(new_link).to_have_count(1)
    expect(new_link).to_have_text(NEW_TITLE)
    # The demo's own link is still there.
    expect(page.locator("#uses a", has_text=OWN_DEMO_TITLE)).to_have_count(1)

    # 5. The event log tells who downloaded the evidence and who linked the findings.
    with app.app_context():
        events = db.session.execute(sa.select(Event.action, Event.actor_username).where(
            Event.action.in_(["attachment.download", "finding.link"]))).all()
    by_action: dict[str, set] = {}
    for action, actor in events:
        by_action.setdefault(action, set()).add(actor)
    assert by_action.get("attachment.download") == {USERNAME}
    # The demo's seed link was made by inspect.staff too, and so was the new one.
    assert by_action.get("finding.link") == {USERNAME}
    with app.app_context():
        link_events = db.session.scalars(sa.select(Event.details).where(
            Event.action == "finding.link", Event.actor_username == USERNAME)).all()
    assert any(new_public_id in details for details in link_events)
