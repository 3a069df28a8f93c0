"""A final step asks first and a refused step keeps what was typed (issue 11): the commission's
handler answers a referral without choosing a disposition; the page says what is missing next to
the field, keeps the result text and stays at the referral's own address; complete, the answer
asks first, naming the referral and the sender. The receiver's timeline starts at the sending:
none of the bureau's internal steps."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from supervise.extensions import db
from supervise.referrals.models import Referral, ReferralState

from .conftest import sign_in

pytestmark = pytest.mark.browser

IN_HANDLING = "关于某街道办事处社会捐赠款物管理问题线索的移送"
RESULT = "经核实，捐赠款已于2026年补记入账，相关人员已作检讨。"


def test_answering_asks_first_and_a_refused_answer_keeps_the_text(page, live_server, demo_data):
    referral = db.session.scalar(sa.select(Referral).where(Referral.title == IN_HANDLING))
    assert referral.state == ReferralState.IN_HANDLING
    url = f"/referrals/{referral.public_id}"
    sign_in(page, live_server, "discipline.staff")
    page.goto(url)

    timeline = page.locator("#timeline")
    expect(timeline.locator("li.action-sent")).to_have_count(1)
    expect(timeline.locator("li.action-create, li.action-submit, li.action-approve")) \
        .to_have_count(0)

    # The commission's own list of dispositions, nothing chosen at first.
    form = page.locator("form.action-answer")
    expect(form.locator("select[name=disposition]")).to_have_value("")
    options = form.locator("select[name=disposition] option")
    expect(options).to_have_count(7)  # "choose" and the commission's six
    form.locator("textarea[name=result]").fill(RESULT)
    form.locator("button[type=submit]").click()

    # Something is missing: nothing to confirm yet; the server says what, next to the field.
    expect(page.locator(".has-error select[name=disposition]")).to_be_visible()
    assert page.confirmations == []
    expect(page.locator("form.action-answer textarea[name=result]")).to_have_value(RESULT)
    expect(page.locator("form.action-answer .field-error")).to_have_text("请选择处置方式。")
    expect(page).to_have_url(live_server(url))
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).state == ReferralState.IN_HANDLING

    # Chosen now, the answer goes.
    page.locator("form.action-answer select[name=disposition]").select_option(
        "preliminary_verification")
    page.locator("form.action-answer button[type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator(".clocks .prose")).to_have_text(RESULT)
    [question] = page.confirmations
    assert IN_HANDLING in question and "区审计局" in question
