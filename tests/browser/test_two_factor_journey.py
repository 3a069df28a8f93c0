"""A commission account's second factor in a browser (issue 12): the security administrator
resets it for a lost phone; the holder signs in, scans the QR code, confirms a first code, keeps
the recovery codes, and signs in again, where a code already used is refused and a recovery code
lets them in."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, DEMO_PASSWORD, sign_in

pytestmark = pytest.mark.browser


def _password(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()


def test_a_commission_account_enrols_again_after_a_reset_and_signs_in_with_codes(
        new_page, live_server, demo_data):
    admin = new_page()
    sign_in(admin, live_server, "secadmin")
    admin.goto("/admin/roles")
    admin.get_by_role("link", name="discipline.staff", exact=True).click()
    section = admin.locator("#second-factor")
    expect(section).to_contain_text("已设置")
    section.get_by_role("button", name="重置第二因素").click()  # confirmed in the dialog
    expect(admin.get_by_role("status")).to_contain_text("第二因素已重置")
    expect(admin.locator("#second-factor")).to_contain_text("须设置，尚未设置")

    page = new_page()
    _password(page, "discipline.staff")
    expect(page).to_have_url(live_server("/login/enrol"))
    expect(page.get_by_role("heading", level=1)).to_have_text("设置第二因素")
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150  # big enough to scan from the screen
    key = page.locator("#otp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32}", key)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "two-factor-enrol.png"), full_page=True)

    totp = pyotp.TOTP(key)
    wrong = "000000" if totp.now() != "000000" else "111111"
    page.get_by_label("首个验证码", exact=True).fill(wrong)
    page.get_by_role("button", name="确认").click()
    expect(page.locator("#login-error")).to_contain_text("验证码不正确")

    code = totp.now()
    page.get_by_label("首个验证码", exact=True).fill(code)
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("您的恢复码")
    recovery = page.locator("#recovery-codes li").all_inner_texts()
    assert len(recovery) == 10 and all(re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", c)
                                       for c in recovery)
    page.get_by_role("link", name="已妥善保存，继续").click()
    expect(page).to_have_url(live_server("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("工作台")
    page.locator("header").get_by_role("button", name="退出登录").click()

    # Again: the code just used is refused; a recovery code lets the holder in, once.
    again = new_page()
    _password(again, "discipline.staff")
    expect(again).to_have_url(live_server("/login/code"))
    again.get_by_label("验证码", exact=True).fill(code)
    again.get_by_role("button", name="登录", exact=True).click()
    expect(again.locator("#login-error")).to_contain_text("验证码不正确，或已被使用")
    again.get_by_label("验证码", exact=True).fill(recovery[0])
    again.get_by_role("button", name="登录", exact=True).click()
    expect(again).to_have_url(live_server("/"))
