"""The rectification journey in a real browser (issue 5): the audited unit's contact reports the
rectification of an issued finding, with its evidence, and the audit bureau verifies it, asks for
its sign-off and its leader signs it off, which the finding then shows; the published announcement
of a project shows its problems and their results to anyone, and nothing it must not.

Each actor signs in in a browser context of their own. Buttons are found by ids, names, hrefs
and CSS selectors, not by their (translated) text; the titles, facts and amounts asserted are the
demo data's own, or were typed by the test.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from supervise.announcements.models import PublicState
from supervise.announcements.operations import VERIFIED_STATES
from supervise.demo import (
    DEMO_FINDINGS,
    DEMO_PROJECTS,
    DEMO_RECTIFICATIONS,
    DEMO_REFERRALS,
    PERSONS,
)
from supervise.events.models import Event
from supervise.extensions import db
from supervise.rectifications.models import RectificationState
from supervise.vocabulary import chinese

from .conftest import sign_in

pytestmark = pytest.mark.browser

UNIT = "unit-education"

# The education bureau's item, still being rectified in the demo (one progress report in).
TITLE = "年初预算编制不细化，代编预算比例过高"
MEASURES = "已将代编预算全部细化到具体项目，2021年起不再安排代编预算；多列支的经费已收回。"
RECOVERED = "1,000.50"
RULES = "《区教育局预算编制细化工作规程（2021年修订）》"
PDF_NAME = "整改报告.pdf"
PDF_BYTES = b"%PDF-1.4\n%%EOF\n"

FINDINGS = {finding[2]: finding for finding in DEMO_FINDINGS}
UNIT_TITLES = sorted(title for title, *_rest in DEMO_RECTIFICATIONS
                     if FINDINGS[title][1] == UNIT)
STREET_TITLES = sorted(finding[2] for finding in DEMO_FINDINGS if finding[1] == "unit-street")
FACTS = FINDINGS[TITLE][5]

# The published demo project, and the names and titles its announcement must never show.
ANNOUNCED_PROJECT = DEMO_PROJECTS[1][3]
ANNOUNCED_ITEMS = [finding for finding in DEMO_FINDINGS
                   if finding[0] == 1 and finding[-1]]  # issued findings of the project
PERSON_NAMES = sorted({p["name"] for r in DEMO_REFERRALS for p in r[6]}
                      | {p["name"] for p in PERSONS})
REFERRAL_TITLES = [r[5] for r in DEMO_REFERRALS]


def test_expected_demo_data():
    """The journey relies on these facts of the demo data."""
    plan_and_steps = {title: (plan, steps) for title, plan, _days, steps in DEMO_RECTIFICATIONS}
    plan, steps = plan_and_steps[TITLE]
    assert plan == "staged"
    # One progress report, not final: the item is in progress.
    assert [(action, fields.get("final", False)) for action, _d, _a, fields in steps] == [
        ("report", False)]
    assert FINDINGS[TITLE][1] == UNIT and FINDINGS[TITLE][4] is not None
    assert TITLE in UNIT_TITLES and len(UNIT_TITLES) >= 2
    assert STREET_TITLES and any(title in plan_and_steps for title in STREET_TITLES)
    assert not set(UNIT_TITLES) & set(STREET_TITLES)
    assert ANNOUNCED_ITEMS and all(finding[1] == "unit-street" for finding in ANNOUNCED_ITEMS)
    assert set(PERSON_NAMES) >= {"张建国", "李明华", "赵卫东", "孙丽", "周海燕", "吴国平", "王志强"}


def exactly(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def item_link(page: Page, title: str):
    return page.locator("table.rectifications tbody td:first-child > a", has_text=exactly(title))


def item_row(page: Page, title: str):
    return page.locator("table.rectifications tbody tr").filter(
        has=page.locator("td:first-child > a", has_text=exactly(title)))


def state_badge(page: Page, state: str):
    """The item's state badge at the top of its page."""
    return page.locator(f"main > p > .badge.rstate-{state}")


def expect_done(page: Page, live_server, path: str, state: str) -> None:
    expect(page).to_have_url(live_server(path))
    expect(page.locator(".flash-success")).to_have_count(1)
    expect(page.locator(".flash-error")).to_have_count(0)
    expect(state_badge(page, state)).to_have_count(1)


def events_by_action(object_id: str) -> dict[str, list[dict]]:
    """The details of every event about one object, by action, with the actor."""
    query = (sa.select(Event.action, Event.actor_username, Event.details)
             .where(Event.object_id == object_id).order_by(Event.seq))
    by_action: dict[str, list[dict]] = {}
    for action, actor, details in db.session.execute(query):
        by_action.setdefault(action, []).append({"actor": actor, **json.loads(details or "{}")})
    return by_action


def test_unit_reports_with_evidence_and_the_audit_bureau_signs_off(
        app, page, new_page, live_server, demo_data, tmp_path):
    unit = page
    # 1. The unit's contact sees rectification only, and only the unit's own items.
    sign_in(unit, live_server, "unit.contact")
    expect(unit.locator('#nav a[href="/rectifications"]')).to_have_count(1)
    expect(unit.locator('#nav a[href^="/findings"]')).to_have_count(0)
    expect(unit.locator('#nav a[href^="/referrals"]')).to_have_count(0)
    for path in ("/findings", "/referrals/inbox"):
        response = unit.goto(path)
        assert response is not None and response.status == 404, path
    unit.goto("/")

    unit.locator('#nav a[href="/rectifications"]').click()
    expect(unit).to_have_url(re.compile(re.escape(live_server("/rectifications")) + r"(\?|$)"))
    links = unit.locator("table.rectifications tbody td:first-child > a")
    expect(links).to_have_count(len(UNIT_TITLES))
    assert sorted(text.strip() for text in links.all_inner_texts()) == UNIT_TITLES
    table = unit.locator("table.rectifications")
    for title in STREET_TITLES:
        expect(table).not_to_contain_text(title)
    row = item_row(unit, TITLE)
    expect(row.locator(".badge.rstate-in_progress")).to_have_count(1)

    item_link(unit, TITLE).click()
    expect(unit).to_have_url(re.compile(re.escape(live_server("/rectifications/")) + r"[^/?#]+$"))
    path = re.search(r"(/rectifications/[^/?#]+)$", unit.url).group(1)
    rectification_id = path.rsplit("/", 1)[1]
    expect(unit.locator("h1")).to_have_text(TITLE)
    expect(state_badge(unit, "in_progress")).to_have_count(1)
    expect(unit.locator("main .card .prose").first).to_have_text(FACTS)
    expect(unit.locator('a[href^="/findings/"]')).to_have_count(0)
    # The demo's progress report is there already.
    expect(unit.locator("#reports ol.timeline > li")).to_have_count(1)

    # ... and reports the rectification done, with its evidence.
    pdf = tmp_path / PDF_NAME
    pdf.write_bytes(PDF_BYTES)
    report = unit.locator("form.action-report")
    report.locator("textarea#measures").fill(MEASURES)
    report.locator("#amount_recovered").fill(RECOVERED)
    report.locator("#rules").fill(RULES)
    report.locator("input[name=final]").check()
    report.locator("input[name=files]").set_input_files(str(pdf))
    report.locator("button[type=submit]").click()

    expect_done(unit, live_server, path, "pending_verification")
    expect(unit.locator("form.action-report")).to_have_count(0)
    reports = unit.locator("#reports ol.timeline > li")
    expect(reports).to_have_count(2)
    newest = reports.first
    expect(newest.locator(".prose")).to_have_text(MEASURES)
    expect(newest).to_contain_text(RECOVERED)
    expect(newest).to_contain_text(RULES)
    expect(newest.locator(f'a[href^="{path}/attachments/"]')).to_have_text(PDF_NAME)
    expect(unit.locator("main .card dl.facts")).to_contain_text(RECOVERED)

    # 2. The audit staff member finds the item, reads the evidence and verifies it.
    staff = new_page()
    sign_in(staff, live_server, "audit.staff")
    staff.locator('#nav a[href="/rectifications"]').click()
    expect(staff).to_have_url(re.compile(re.escape(live_server("/rectifications")) + r"(\?|$)"))
    row = item_row(staff, TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("区教育局")
    expect(row.locator(".badge.rstate-pending_verification")).to_have_count(1)
    item_link(staff, TITLE).click()
    expect(staff).to_have_url(live_server(path))
    expect(state_badge(staff, "pending_verification")).to_have_count(1)

    document = staff.locator(f'#reports a[href^="{path}/attachments/"]', has_text=PDF_NAME)
    expect(document).to_have_count(1)
    with staff.expect_download() as info:
        document.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == PDF_NAME
    with open(download.path(), "rb") as fh:
        content = fh.read()
    assert content.startswith(b"%PDF-")
    assert content == PDF_BYTES

    staff.locator("form.action-verify button[type=submit]").click()
    expect_done(staff, live_server, path, "verified")
    expect(staff.locator("form.action-verify")).to_have_count(0)

    # ... and asks for its sign-off, which only a leader approves.
    staff.locator("form.action-sign-off button[type=submit]").click()
    expect_done(staff, live_server, path, "sign_off_pending")
    expect(staff.locator("form.action-sign-off")).to_have_count(0)
    expect(staff.locator("form.action-approve-sign-off")).to_have_count(0)

    # 3. The leader approves the sign-off.
    leader = new_page()
    sign_in(leader, live_server, "audit.leader")
    leader.goto("/rectifications")
    item_link(leader, TITLE).click()
    expect(leader).to_have_url(live_server(path))
    expect(state_badge(leader, "sign_off_pending")).to_have_count(1)
    leader.locator("form.action-approve-sign-off button[type=submit]").click()
    expect_done(leader, live_server, path, "signed_off")
    expect(leader.locator("#actions")).to_have_count(0)

    # The finding shows its rectification signed off.
    finding_link = leader.locator("main .card").first.locator('a[href^="/findings/"]')
    expect(finding_link).to_have_count(1)
    finding_path = finding_link.get_attribute("href")
    finding_link.click()
    expect(leader).to_have_url(live_server(finding_path))
    expect(leader.locator("h1")).to_have_text(TITLE)
    use = leader.locator("#uses p").filter(has=leader.locator(f'a[href="{path}"]'))
    expect(use).to_have_count(1)
    expect(use.locator(f'a[href="{path}"]')).to_have_text("区教育局")
    expect(use.locator(".badge.rstate-signed_off")).to_have_count(1)
    expect(use).to_contain_text(RECOVERED)

    # The unit sees it signed off, and still cannot open the finding.
    unit.goto(path)
    expect(state_badge(unit, "signed_off")).to_have_count(1)
    expect(unit.locator("#actions")).to_have_count(0)
    response = unit.goto(finding_path)
    assert response is not None and response.status == 404

    # 4. Anyone reads the published announcement of the epidemic funds audit.
    public = new_page()
    public.goto("/public/announcements")
    project = public.locator("table tbody td a", has_text=exactly(ANNOUNCED_PROJECT))
    expect(project).to_have_count(1)
    project.click()
    expect(public).to_have_url(re.compile(
        re.escape(live_server("/public/announcements/")) + r"[^/?#]+$"))
    expect(public.locator("h1")).to_contain_text(ANNOUNCED_PROJECT)
    expect(public.locator("#nav")).to_have_count(0)
    rows = public.locator("table.list tbody tr")
    expect(rows).to_have_count(len(ANNOUNCED_ITEMS))
    steps = {title: steps for title, _plan, _days, steps in DEMO_RECTIFICATIONS}
    final_states = {"verify": RectificationState.VERIFIED,
                    "sign-off": RectificationState.SIGN_OFF_PENDING,
                    "approve-sign-off": RectificationState.SIGNED_OFF,
                    "send-back": RectificationState.IN_PROGRESS}
    for finding in ANNOUNCED_ITEMS:
        title, amount = finding[2], finding[4]
        row = rows.filter(has=public.locator("td:first-child", has_text=exactly(title)))
        expect(row).to_have_count(1)
        expect(row.locator("td.num")).to_contain_text(f"{Decimal(amount):,.2f}")
        item_steps = steps[title]
        state = final_states[item_steps[-1][0]]
        result_cell = row.locator("td:last-child")
        with app.test_request_context():  # the public words, in Chinese
            word = chinese(PublicState.RECTIFIED if state in VERIFIED_STATES
                           else PublicState.RECTIFYING)
        expect(result_cell.locator(".badge")).to_have_text(word)
        final_reports = [fields for action, _d, _a, fields in item_steps
                         if action == "report" and fields.get("final")]
        if state in VERIFIED_STATES:
            expect(result_cell.locator(".badge.badge-ok")).to_have_count(1)
            recovered = final_reports[-1].get("amount_recovered")
            if recovered:
                expect(result_cell).to_contain_text(f"{Decimal(recovered):,.2f}")
        else:
            expect(result_cell.locator(".badge.badge-warn")).to_have_count(1)
        for report in final_reports:  # the unit's own words are not the public result
            expect(result_cell).not_to_contain_text(report["measures"])
    body = public.locator("body")
    html = public.content()
    for text in PERSON_NAMES + REFERRAL_TITLES:
        expect(body).not_to_contain_text(text)
        assert text not in html, text

    # 5. The event log has each step, by whom it was taken.
    with app.app_context():
        events = events_by_action(rectification_id)
    reported = events.get("rectification.report", [])
    assert [e["actor"] for e in reported] == ["unit.contact"] * 2  # the demo's and this one
    assert (reported[-1].get("final"), reported[-1].get("amount_recovered"),
            reported[-1].get("from"), reported[-1].get("to")) == (
        True, "1000.50", "in_progress", "pending_verification")
    assert [(e["actor"], e.get("type")) for e in events.get("attachment.upload", [])] == [
        ("unit.contact", "pdf")]
    assert [e["actor"] for e in events.get("attachment.download", [])] == ["audit.staff"]
    assert [(e["actor"], e.get("to")) for e in events.get("rectification.verify", [])] == [
        ("audit.staff", "verified")]
    assert [(e["actor"], e.get("to")) for e in events.get("rectification.sign-off", [])] == [
        ("audit.staff", "sign_off_pending")]
    assert [(e["actor"], e.get("to"))
            for e in events.get("rectification.approve-sign-off", [])] == [
        ("audit.leader", "signed_off")]
