"""Work finds the people it waits for (issue 10), in a real browser: the commission's staff
member sees the bell count rise when the audit bureau's leader approves a referral, opens it
from the to-do centre and acknowledges it; the notification is read once it is opened."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from supervise.demo import DEMO_REFERRALS

from .conftest import sign_in

pytestmark = pytest.mark.browser

# The demo referral that waits for the audit bureau's leader.
PENDING_TITLE = "关于区教育局政府采购项目规避公开招标问题线索的移送"


def unread(page: Page) -> int:
    label = page.locator("header a.bell").get_attribute("aria-label")
    match = re.search(r"(\d+)", label or "")
    assert match, label
    return int(match[1])


def test_expected_demo_data():
    [steps] = [r[8] for r in DEMO_REFERRALS if r[5] == PENDING_TITLE]
    assert [action for action, _days, _fields in steps] == ["submit"]


def test_a_referral_approved_reaches_the_commission_and_is_acknowledged(
        demo_data, page, new_page, live_server):
    staff = page
    sign_in(staff, live_server, "discipline.staff")
    before = unread(staff)
    waiting = int(staff.locator("#todo-referrals_acknowledge .count").inner_text())

    leader = new_page()
    sign_in(leader, live_server, "audit.leader")
    leader.locator('#nav a[href="/approvals"]').click()
    leader.locator("table.queue tbody td:first-child > a", has_text=PENDING_TITLE).click()
    leader.locator("form.action-approve button").click()
    expect(leader.locator("main .badge.state-sent")).to_have_count(1)

    staff.reload()
    assert unread(staff) == before + 1
    expect(staff.locator("header a.bell .count")).to_have_text(str(before + 1))
    tile = staff.locator("#todo-referrals_acknowledge a")
    expect(tile.locator(".count")).to_have_text(str(waiting + 1))
    tile.click()
    expect(staff).to_have_url(live_server("/referrals/inbox?need=acknowledge"))
    staff.locator("table.referrals tbody td:first-child > a", has_text=PENDING_TITLE).click()
    expect(staff.locator("h1")).to_have_text(PENDING_TITLE)
    staff.locator("form.action-acknowledge button").click()
    expect(staff.locator(".flash-success")).to_have_count(1)
    expect(staff.locator("main .badge.state-acknowledged")).to_have_count(1)

    # The notification of the approval, opened from the bell, leads to the referral and is
    # read from then on.
    staff.locator("header a.bell").click()
    item = staff.locator("ul.notifications li.unread", has_text=PENDING_TITLE)
    expect(item).to_have_count(1)
    item.locator("a").first.click()
    expect(staff.locator("h1")).to_have_text(PENDING_TITLE)
    assert unread(staff) == before
    staff.goto("/")
    expect(staff.locator("#todo-referrals_acknowledge .count")).to_have_text(str(waiting))
