"""The publication of a project's results in a real browser (issue 11): the audit bureau's leader
opens the preview of the announcement, where each item's public result is prefilled from what the
bureau verified, types a text naming a person involved in a referral of the finding and is refused
with the reason next to the field and nothing published; corrects it and publishes, confirming;
and anyone then reads the announcement, under the name of the bureau, in the public words only,
with the text as corrected.

Buttons and fields are found by ids, names, hrefs and CSS selectors, not by their (translated)
text; the titles and names asserted are the demo data's own, or were typed by the test.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from supervise.demo import DEMO_FINDINGS, DEMO_PROJECTS, DEMO_RECTIFICATIONS
from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.projects.models import Project
from supervise.referrals.models import PersonInvolved, referral_findings

from .conftest import sign_in

pytestmark = pytest.mark.browser

# The demo's published project, and its item signed off with money recovered.
PROJECT = DEMO_PROJECTS[1][3]
TITLE = "疫情防控补助资金发放不精准"
UNVERIFIED = "疫情防控物资采购价格明显偏高"  # sent back: publishing it needs a confirmation
CORRECTED = "违规发放的补助资金已全部清退，补助发放审核机制已完善。"
PUBLIC_WORDS = {"已整改", "整改中", "持续整改", "未下达整改"}
INTERNAL_WORDS = ["已销号", "核实通过", "销号待审批", "已整改待核实", "长期整改", "未整改"]
UNIT_TEXTS = [fields["measures"] for _title, _plan, _days, steps in DEMO_RECTIFICATIONS
              for _action, _ago, _actor, fields in steps if "measures" in fields]


def test_expected_demo_data():
    """The journey relies on these facts of the demo data."""
    findings = {finding[2]: finding for finding in DEMO_FINDINGS}
    assert findings[TITLE][0] == 1 and findings[TITLE][-1] is True  # issued, in PROJECT
    steps = {title: steps for title, _plan, _days, steps in DEMO_RECTIFICATIONS}
    assert steps[TITLE][-1][0] == "approve-sign-off"  # signed off
    assert any(fields.get("amount_recovered") for _a, _d, _u, fields in steps[TITLE])
    assert steps[UNVERIFIED][-1][0] == "send-back" and findings[UNVERIFIED][0] == 1


def exactly(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def test_leader_is_refused_a_name_then_publishes_the_public_words(
        app, page, new_page, live_server, demo_data):
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.public_id).where(
            Project.name == PROJECT))
        finding_id, person = db.session.execute(
            sa.select(Finding.public_id, PersonInvolved)
            .join(referral_findings, referral_findings.c.finding_id == Finding.id)
            .join(PersonInvolved, PersonInvolved.referral_id == referral_findings.c.referral_id)
            .where(Finding.title == TITLE)).first()
        name = person.name
        published_before = db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
            Event.action == "announcement.publish"))
    public_path = f"/public/announcements/{project_id}"
    anonymous = new_page()
    anonymous.goto(public_path)
    expect(anonymous.locator("body")).not_to_contain_text(CORRECTED)

    # 1. The leader opens the preview from the project's page.
    leader = page
    sign_in(leader, live_server, "audit.leader")
    leader.goto(f"/projects/{project_id}")
    preview_link = leader.locator(f'#announcement a[href="/projects/{project_id}/announcement"]')
    expect(preview_link).to_have_count(1)
    preview_link.click()
    expect(leader).to_have_url(live_server(f"/projects/{project_id}/announcement"))
    field = leader.locator(f'textarea[name="result-{finding_id}"]')
    expect(field).to_have_count(1)
    prefill = field.input_value()
    assert prefill and "95,300.00" in prefill  # from the amount the bureau verified
    main = leader.locator("main")
    for text in UNIT_TEXTS + INTERNAL_WORDS:
        expect(main).not_to_contain_text(text)
    badges = {text.strip() for text in leader.locator("main .badge").all_inner_texts()}
    assert badges and badges <= PUBLIC_WORDS

    # 2. A text naming a person involved in the finding's referral is refused.
    typed = f"已对{name}进行谈话提醒，违规资金已全部清退。"
    field.fill(typed)
    confirm = leader.locator('input[type=checkbox][name="confirm"]')
    confirm.check()  # one item of the project is not verified
    dialogs = []
    leader.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    publish = leader.locator("main form button[type=submit][data-confirm]")
    with leader.expect_response(lambda r: r.request.method == "POST") as posted:
        publish.click()
    assert posted.value.status == 422
    assert len(dialogs) == 1 and PROJECT in dialogs[0]  # the confirmation names the record
    error = leader.locator(f"#result-{finding_id}-error")
    expect(error).to_contain_text(TITLE)
    expect(error).to_contain_text("涉及人员姓名")
    expect(error).not_to_contain_text(name)
    expect(leader.locator(".field-error")).to_have_count(1)
    expect(field).to_have_value(typed)  # what was typed stays, to be corrected
    anonymous.reload()
    expect(anonymous.locator("body")).not_to_contain_text(name)

    # 3. Corrected, it is published.
    field.fill(CORRECTED)
    expect(confirm).to_be_checked()  # kept, as the text was
    publish.click()
    expect(leader).to_have_url(live_server(f"/projects/{project_id}#announcement"))
    expect(leader.locator(".flash-success")).to_have_count(1)
    assert len(dialogs) == 2

    # 4. Anyone reads it: under the bureau's name, in the public words, with the text as
    # corrected, and nothing of the unit's reports or of the referral.
    anonymous.goto("/public/announcements")
    anonymous.locator(f'table tbody td a[href="{public_path}"]').click()
    expect(anonymous).to_have_url(live_server(public_path))
    expect(anonymous.locator(".announcement-head .issuer")).to_have_text(
        exactly("区审计局 · 审计结果公告"))
    expect(anonymous.locator("h1")).to_have_text(exactly(PROJECT))
    expect(anonymous).to_have_title(re.compile(re.escape("区审计局")))
    row = anonymous.locator("table.list tbody tr").filter(
        has=anonymous.locator("td:first-child", has_text=exactly(TITLE)))
    expect(row.locator(".prose")).to_have_text(CORRECTED)
    expect(row.locator(".badge")).to_have_text("已整改")
    states = {text.strip() for text in
              anonymous.locator("table.list tbody .badge").all_inner_texts()}
    assert states and states <= PUBLIC_WORDS
    body = anonymous.locator("body")
    for text in [name, typed, *UNIT_TEXTS, *INTERNAL_WORDS]:
        expect(body).not_to_contain_text(text)

    # 5. One publication more, by the leader, in the event log.
    with app.app_context():
        rows = db.session.execute(sa.select(Event.actor_username, Event.details).where(
            Event.action == "announcement.publish").order_by(Event.seq)).all()
    assert len(rows) == published_before + 1
    actor, details = rows[-1]
    assert actor == "audit.leader" and json.loads(details)["republished"] is True
