"""Referral journeys in a real browser (issue 4): the audit bureau drafts a referral from a
finding, its leader approves and sends it, and the bureau tracks its referrals and chases an
overdue one; the discipline commission acknowledges an overdue referral, its leader assigns a
handler, and the handler answers, which the audit bureau then sees on the finding.

Each actor signs in in a browser context of their own. Buttons are found by ids, names, hrefs
and CSS selectors, not by their (translated) text; the titles and names asserted are the demo
data's own, or were typed by the test.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from supervise.demo import DEMO_REFERRALS
from supervise.events.models import Event
from supervise.extensions import db

from .conftest import sign_in

pytestmark = pytest.mark.browser


# The issued audit finding the audit bureau refers anew (the demo has a draft referral of it).
FINDING_TITLE = "区教育局违规发放津补贴"
NEW_TITLE = "关于区教育局违规发放津补贴问题线索的移送（补充）"
NEW_PERSONS = "陈某某 区教育局副局长\n刘某某 区教育局科员"

# The demo referral sent 11 days ago and never acknowledged: overdue, chased twice.
OVERDUE_TITLE = "关于某街道办事处疫情防控物资采购价格偏高问题线索的移送"
OVERDUE_FINDING = "疫情防控物资采购价格明显偏高"
OVERDUE_PERSON = "赵卫东"
RESULT = "经初步核实，反映问题基本属实，已对相关责任人立案审查调查，多付款项正在追缴。"


def _demo(title: str):
    return next(r for r in DEMO_REFERRALS if r[5] == title)


def test_expected_demo_data():
    """The journeys rely on these facts of the demo data."""
    _staff, _leader, receiver, _kind, finding, _title, persons, _opinion, steps = _demo(
        OVERDUE_TITLE)
    assert receiver == "discipline"
    assert finding == OVERDUE_FINDING
    assert [p["name"] for p in persons] == [OVERDUE_PERSON]
    assert [action for action, _days, _fields in steps] == ["submit", "approve", "chase", "chase"]
    assert any(r[4] == FINDING_TITLE for r in DEMO_REFERRALS)
    assert all(r[5] != NEW_TITLE for r in DEMO_REFERRALS)


def path_of(url: str, pattern: str) -> str:
    match = re.search(pattern, url)
    assert match, url
    return match.group(1)


def referral_row(page: Page, title: str):
    return page.locator("table.referrals tbody tr").filter(
        has=page.locator("td:first-child > a", has_text=re.compile(f"^{re.escape(title)}$")))


def queue_row(page: Page, title: str):
    """A row of the leader's approval queue."""
    return page.locator("table.queue tbody tr").filter(
        has=page.locator("td:first-child > a", has_text=re.compile(f"^{re.escape(title)}$")))


def clock_class(status: str) -> re.Pattern:
    return re.compile(rf"(^|\s)clock-{status}(\s|$)")


def events_by_action(object_id: str | None = None) -> dict[str, list[dict]]:
    """The details of every event (about one object, if given), by action, with the actor."""
    query = sa.select(Event.action, Event.actor_username, Event.details).order_by(Event.seq)
    if object_id is not None:
        query = query.where(Event.object_id == object_id)
    by_action: dict[str, list[dict]] = {}
    for action, actor, details in db.session.execute(query):
        by_action.setdefault(action, []).append({"actor": actor, **json.loads(details or "{}")})
    return by_action


def all_event_details() -> str:
    return "\n".join(db.session.scalars(sa.select(Event.details)))


def test_audit_bureau_drafts_gets_approval_tracks_and_chases(
        app, page, new_page, live_server, demo_data):
    staff = page
    # 1. The audit staff member opens the issued finding and refers it.
    sign_in(staff, live_server, "audit.staff")
    staff.locator('#nav a[href="/findings"]').click()
    expect(staff).to_have_url(re.compile(re.escape(live_server("/findings")) + r"(\?|$)"))
    staff.locator("table.findings tbody a",
                  has_text=re.compile(f"^{re.escape(FINDING_TITLE)}$")).click()
    expect(staff.locator("h1")).to_have_text(FINDING_TITLE)
    finding_id = path_of(staff.url, r"/findings/([^/?#]+)$")

    refer = staff.locator('#uses a[href^="/referrals/new?finding="]')
    expect(refer).to_have_attribute("href", f"/referrals/new?finding={finding_id}")
    refer.click()
    expect(staff).to_have_url(live_server(f"/referrals/new?finding={finding_id}"))

    form = staff.locator("form.referral-form")
    # Prefilled from the finding: its title, and the finding cited (and only it).
    expect(form.locator("#title")).to_have_value(re.compile(re.escape(FINDING_TITLE)))
    expect(form.locator(f'input[name=findings][value="{finding_id}"]')).to_be_checked()
    expect(form.locator("input[name=findings]:checked")).to_have_count(1)
    expect(form.locator("#facts")).not_to_have_value("")

    form.locator("#receiver").select_option("discipline")
    form.locator("#kind").select_option("clue")
    form.locator("#title").fill(NEW_TITLE)
    form.locator("#persons").fill(NEW_PERSONS)
    form.locator("button[type=submit]").click()

    expect(staff).to_have_url(re.compile(re.escape(live_server("/referrals/")) + r"[^/?#]+$"))
    referral_path = path_of(staff.url, r"(/referrals/[^/?#]+)$")
    assert referral_path not in ("/referrals/new", "/referrals/inbox", "/approvals")
    expect(staff.locator(".flash-success")).to_have_count(1)
    expect(staff.locator("h1")).to_have_text(NEW_TITLE)
    expect(staff.locator("main .badge.state-draft")).to_have_count(1)
    expect(staff.locator("ul.persons")).to_contain_text("陈某某")
    expect(staff.locator("#findings")).to_contain_text(FINDING_TITLE)
    # A draft has no clocks yet.
    expect(staff.locator("#clock-acknowledge .clock")).to_have_count(0)

    # ... and submits it for the leader's approval.
    staff.locator("form.action-submit button").click()
    expect(staff).to_have_url(live_server(referral_path))
    expect(staff.locator(".flash-success")).to_have_count(1)
    expect(staff.locator("main .badge.state-pending_approval")).to_have_count(1)
    expect(staff.locator("form.action-submit")).to_have_count(0)

    # 2. The leader finds it in the approval queue, persons masked, and approves it.
    leader = new_page()
    sign_in(leader, live_server, "audit.leader")
    leader.locator('#nav a[href="/approvals"]').click()
    expect(leader).to_have_url(live_server("/approvals"))
    row = queue_row(leader, NEW_TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("陈**")
    expect(row).to_contain_text("刘**")
    expect(row).not_to_contain_text("陈某某")
    expect(row).not_to_contain_text("刘某某")
    row.locator("td:first-child > a").click()
    expect(leader).to_have_url(live_server(referral_path))

    leader.locator("form.action-approve button").click()
    expect(leader).to_have_url(live_server(referral_path))
    expect(leader.locator(".flash-success")).to_have_count(1)
    expect(leader.locator("main .badge.state-sent")).to_have_count(1)
    # Both clocks run from now. Three working days to acknowledge are fewer than the five
    # days of the default warning, so the acknowledge clock is "due soon" at once (as
    # tests/referrals/test_workflow.py::test_clocks_start_when_the_referral_is_sent has it);
    # the three months to answer are on time.
    ack_clock = leader.locator("#clock-acknowledge .clock")
    expect(ack_clock).to_have_count(1)
    expect(ack_clock).to_have_class(clock_class("due_soon"))
    expect(leader.locator("#clock-answer .clock")).to_have_class(clock_class("on_time"))
    # The queue is empty of it now.
    leader.goto("/approvals")
    expect(queue_row(leader, NEW_TITLE)).to_have_count(0)

    # 3. Back to the staff member: the tracking board counts and filters by clock.
    staff.locator('#nav a[href="/referrals"]').click()
    expect(staff).to_have_url(live_server("/referrals"))
    expect(referral_row(staff, NEW_TITLE).locator(".badge.state-sent")).to_have_count(1)
    overdue_tile = staff.locator(".tiles a.tile.clock-overdue")
    expect(overdue_tile).to_have_count(1)
    overdue_count = int(overdue_tile.locator(".tile-n").inner_text())
    assert overdue_count >= 1
    all_count = int(staff.locator(".tiles a.tile.current .tile-n").inner_text())
    assert all_count == sum(r[0] == "audit.staff" for r in DEMO_REFERRALS) + 1
    expect(staff.locator("table.referrals tbody tr")).to_have_count(all_count)

    overdue_tile.click()
    expect(staff).to_have_url(live_server("/referrals?clock=overdue"))
    expect(staff.locator(".tiles a.tile.clock-overdue")).to_have_class(re.compile(r"\bcurrent\b"))
    rows = staff.locator("table.referrals tbody tr")
    expect(rows).to_have_count(overdue_count)
    expect(referral_row(staff, NEW_TITLE)).to_have_count(0)

    row = referral_row(staff, OVERDUE_TITLE)
    expect(row).to_have_count(1)
    expect(row.locator(".clock-overdue")).to_be_visible()
    expect(row.locator(".badge.state-sent")).to_have_count(1)
    overdue_id = path_of(row.locator("td:first-child > a").get_attribute("href"),
                         r"/referrals/([^/?#]+)$")
    chasers = row.locator("td:last-child span.small")
    expect(chasers).to_have_text(re.compile(r"^\s*2\D"))

    # The chaser opens a short form whose text fits what is awaited (the acknowledgement),
    # edited before it goes.
    row.locator("details.chase summary").click()
    message = row.locator("form.chase-form textarea")
    expect(message).to_be_visible()
    expect(message).to_have_value(re.compile("签收"))
    message.fill("已逾期，请今日内签收。")
    row.locator("form.chase-form button").click()
    expect(staff.locator(".flash-success")).to_have_count(1)
    expect(staff.locator(".flash-error")).to_have_count(0)
    # Back on the same filtered board.
    expect(staff).to_have_url(live_server("/referrals?clock=overdue"))
    row = referral_row(staff, OVERDUE_TITLE)
    expect(row).to_have_count(1)
    expect(row.locator("td:last-child span.small")).to_have_text(re.compile(r"^\s*3\D"))
    expect(row.locator(".clock-overdue")).to_be_visible()

    # 4. The event log has it all, without the names of the persons involved.
    new_id = referral_path.rsplit("/", 1)[1]
    with app.app_context():
        new_events = events_by_action(new_id)
        overdue_events = events_by_action(overdue_id)
        everything = all_event_details()
    assert [e["actor"] for e in new_events.get("referral.create", [])] == ["audit.staff"]
    assert [(e["actor"], e.get("to")) for e in new_events.get("referral.submit", [])] == [
        ("audit.staff", "pending_approval")]
    assert [(e["actor"], e.get("to")) for e in new_events.get("referral.approve", [])] == [
        ("audit.leader", "sent")]
    # The demo's two chasers and this one.
    assert [e["actor"] for e in overdue_events.get("referral.chase", [])] == ["audit.staff"] * 3
    for name in ("陈某某", "刘某某", OVERDUE_PERSON):
        assert name not in everything


def test_commission_acknowledges_assigns_and_answers(
        app, page, new_page, live_server, demo_data, tmp_path):
    staff = page
    # 1. The commission's staff member acknowledges the overdue referral from the inbox.
    sign_in(staff, live_server, "discipline.staff")
    staff.locator('#nav a[href="/referrals/inbox"]').click()
    expect(staff).to_have_url(live_server("/referrals/inbox"))
    expect(staff.locator('nav.tabs a[href*="tab=acknowledge"]')).to_have_attribute(
        "aria-current", "page")
    row = referral_row(staff, OVERDUE_TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("区审计局")
    expect(row).to_contain_text("赵**")
    expect(row).not_to_contain_text(OVERDUE_PERSON)
    expect(row.locator(".clock-overdue")).to_be_visible()
    row.locator("td:first-child > a").click()
    expect(staff).to_have_url(re.compile(re.escape(live_server("/referrals/")) + r"[^/?#]+$"))
    referral_path = path_of(staff.url, r"(/referrals/[^/?#]+)$")
    expect(staff.locator("h1")).to_have_text(OVERDUE_TITLE)
    expect(staff.locator("ul.persons")).to_contain_text(OVERDUE_PERSON)
    expect(staff.locator("main .badge.state-sent")).to_have_count(1)
    expect(staff.locator("#clock-acknowledge .clock")).to_have_class(clock_class("overdue"))

    staff.locator("form.action-acknowledge button").click()
    expect(staff).to_have_url(live_server(referral_path))
    expect(staff.locator(".flash-success")).to_have_count(1)
    expect(staff.locator("main .badge.state-acknowledged")).to_have_count(1)
    expect(staff.locator("form.action-acknowledge")).to_have_count(0)
    # Acknowledged after its deadline.
    expect(staff.locator("#clock-acknowledge .clock")).to_have_class(clock_class("met_late"))
    expect(staff.locator("#clock-answer .clock")).to_have_class(clock_class("on_time"))
    # Only a leader assigns a handler.
    expect(staff.locator("form.action-assign")).to_have_count(0)

    # 2. The commission's leader assigns the handler.
    leader = new_page()
    sign_in(leader, live_server, "discipline.leader")
    leader.goto(referral_path)
    expect(leader.locator("h1")).to_have_text(OVERDUE_TITLE)
    assign = leader.locator("form.action-assign")
    assign.locator("select[name=handler]").select_option("discipline.staff")
    assign.locator("button").click()
    expect(leader).to_have_url(live_server(referral_path))
    expect(leader.locator(".flash-success")).to_have_count(1)
    expect(leader.locator("main .badge.state-in_handling")).to_have_count(1)
    expect(leader.locator("section.clocks dl.facts")).to_contain_text("孙监察")

    # 3. The handler answers, with a written result and a PDF.
    staff.goto(referral_path)
    expect(staff.locator("main .badge.state-in_handling")).to_have_count(1)
    answer = staff.locator("form.action-answer")
    disposition = answer.locator("select[name=disposition]")
    disposition.select_option("case_opened")
    disposition_label = disposition.locator('option[value="case_opened"]').inner_text().strip()
    assert disposition_label
    answer.locator("textarea[name=result]").fill(RESULT)
    pdf = tmp_path / "处理结果.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    answer.locator("input[name=files]").set_input_files(str(pdf))
    answer.locator("button[type=submit]").click()

    expect(staff).to_have_url(live_server(referral_path))
    expect(staff.locator(".flash-success")).to_have_count(1)
    expect(staff.locator(".flash-error")).to_have_count(0)
    expect(staff.locator("main .badge.state-answered")).to_have_count(1)
    expect(staff.locator("section.clocks .prose")).to_have_text(RESULT)
    expect(staff.locator("section.clocks dl.facts")).to_contain_text(disposition_label)
    expect(staff.locator("#clock-answer .clock")).to_have_class(clock_class("met"))
    expect(staff.locator("#clock-acknowledge .clock")).to_have_class(clock_class("met_late"))
    # The answer's document goes with the answer in the timeline, not with the sender's evidence.
    expect(staff.locator("#timeline li.action-answer a", has_text="处理结果.pdf")).to_have_count(1)
    expect(staff.locator("#evidence ul.attachments a", has_text="处理结果.pdf")).to_have_count(0)
    expect(staff.locator("#actions form.action-answer")).to_have_count(0)

    # 4. The audit bureau sees the outcome on the finding the referral cites.
    auditor = new_page()
    sign_in(auditor, live_server, "audit.staff")
    auditor.goto(referral_path)
    expect(auditor.locator("main .badge.state-answered")).to_have_count(1)
    expect(auditor.locator("section.clocks .prose")).to_have_text(RESULT)
    document = auditor.locator("#timeline li.action-answer a", has_text="处理结果.pdf")
    with auditor.expect_download() as info:
        document.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == "处理结果.pdf"
    with open(download.path(), "rb") as fh:
        assert fh.read() == b"%PDF-1.4\n%%EOF\n"
    auditor.locator("#findings a", has_text=re.compile(f"^{re.escape(OVERDUE_FINDING)}$")).click()
    expect(auditor.locator("h1")).to_have_text(OVERDUE_FINDING)
    use = auditor.locator("#uses li").filter(has=auditor.locator(f'a[href="{referral_path}"]'))
    expect(use).to_have_count(1)
    expect(use.locator("a")).to_have_text(OVERDUE_TITLE)
    expect(use.locator(".badge.state-answered")).to_have_count(1)
    expect(use).to_contain_text(disposition_label)

    # 5. The event log has each step, without the names of the persons involved.
    referral_id = referral_path.rsplit("/", 1)[1]
    with app.app_context():
        events = events_by_action(referral_id)
        everything = all_event_details()
    assert [(e["actor"], e.get("from"), e.get("to"))
            for e in events.get("referral.acknowledge", [])] == [
        ("discipline.staff", "sent", "acknowledged")]
    assert [(e["actor"], e.get("handler"), e.get("to"))
            for e in events.get("referral.assign", [])] == [
        ("discipline.leader", "discipline.staff", "in_handling")]
    assert [(e["actor"], e.get("disposition"), e.get("to"))
            for e in events.get("referral.answer", [])] == [
        ("discipline.staff", "case_opened", "answered")]
    assert [e["actor"] for e in events.get("referral.chase", [])] == ["audit.staff"] * 2
    assert [(e["actor"], e.get("type")) for e in events.get("attachment.upload", [])] == [
        ("discipline.staff", "pdf")]
    assert [e["actor"] for e in events.get("attachment.download", [])] == ["audit.staff"]
    assert {e["actor"] for e in events.get("referral.read", [])} >= {
        "discipline.staff", "discipline.leader", "audit.staff"}
    for name in (OVERDUE_PERSON, "陈某某"):
        assert name not in everything
