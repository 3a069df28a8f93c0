"""A returned referral revised in a real browser (issue 8): the audit bureau revises the referral
the commission returned as a new draft, addresses it to the organisation department and submits
it; the commission still reads what it returned, as it was, and learns nothing of the revision;
the organisation department sees nothing until the leader approves.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from supervise.demo import DEMO_REFERRALS

from .conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

RETURNED_TITLE = "关于区教育局预算编制问题的移送"
RETURN_REASON = "该问题属于预算管理问题"


def test_expected_demo_data():
    [steps] = [r[8] for r in DEMO_REFERRALS if r[5] == RETURNED_TITLE]
    assert [action for action, _days, _fields in steps][-1] == "return"


def _shot(page, name):
    """Screenshots for a person to look at, when asked for (SCREENSHOTS=1)."""
    if os.environ.get("SCREENSHOTS"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"revision-{name}.png"), full_page=True)


def test_a_returned_referral_is_revised_and_sent_elsewhere(page, new_page, live_server,
                                                          demo_data):
    staff = page
    sign_in(staff, live_server, "audit.staff")
    staff.goto("/referrals?state=returned")
    staff.locator("table.referrals tbody a", has_text=RETURNED_TITLE).click()
    returned_url = staff.url
    expect(staff.locator("form.action-revise button")).to_be_visible()
    expect(staff.locator(".action-list a[href$='/edit']")).to_have_count(0)
    _shot(staff, "1-returned")

    # Revise: a new draft opens in the form, addressed as before; send it elsewhere.
    staff.locator("form.action-revise button").click()
    expect(staff).to_have_url(re.compile(r"/referrals/[\w-]{16}/edit$"))
    expect(staff.locator("#receiver")).to_have_value("discipline")
    staff.locator("#receiver").select_option("organization")
    staff.locator("main form button[type=submit]").click()
    expect(staff.locator("#previous a")).to_have_attribute(
        "href", returned_url.removeprefix(live_server.url))
    staff.locator("form.action-submit button").click()
    expect(staff.locator(".badge.state-pending_approval, .state-pending_approval").first
           ).to_be_visible()
    draft_url = staff.url
    _shot(staff, "2-revision-submitted")

    # The returned referral names its revision, for the sender only.
    staff.goto(returned_url)
    expect(staff.locator("#revision a")).to_have_attribute(
        "href", draft_url.removeprefix(live_server.url))

    # The commission reads what it returned, as it was; nothing of the revision.
    commission = new_page()
    sign_in(commission, live_server, "discipline.staff")
    commission.goto(returned_url)
    expect(commission.locator("h1")).to_have_text(RETURNED_TITLE)
    expect(commission.locator("#timeline")).to_contain_text(RETURN_REASON)
    expect(commission.locator("#revision")).to_have_count(0)
    expect(commission.locator("#timeline li")).to_have_count(2)  # sent, returned: from sending
    _shot(commission, "3-commission")
    assert commission.goto(draft_url).status == 404

    # The organisation department sees nothing before the leader approves.
    org = new_page()
    sign_in(org, live_server, "org.staff")
    assert org.goto(draft_url).status == 404
