"""Signing in through a real browser: every demo account, errors, language, phone, sign-out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from supervise.demo import DEMO_AGENCIES, DEMO_USERS

from .conftest import DEMO_PASSWORD, answer_second_factor

pytestmark = pytest.mark.browser

AGENCY_NAMES = {code: name for code, name, _kind in DEMO_AGENCIES}
ACCOUNTS = {username: (display_name, AGENCY_NAMES[agency], roles)
            for username, display_name, agency, roles in DEMO_USERS}

# The navigation links that depend on a role or an agency, and who may see which of them.
ROLE_LINKS = ["/findings", "/referrals", "/referrals/inbox", "/approvals",
              "/rectifications", "/statistics",
              "/projects", "/calendar", "/admin/agencies", "/admin/users", "/admin/mail",
              "/admin/roles",
              "/settings/", "/audit/events", "/exports"]
# Whoever may download a ledger has the list of the ledgers built for them in the background.
# Whoever reads cases has the statistics of what the agency may see.
RECORDER = {"/findings", "/referrals", "/referrals/inbox", "/rectifications", "/projects",
            "/calendar", "/exports", "/statistics"}
READER = {"/findings", "/referrals/inbox", "/calendar", "/exports", "/statistics"}
EXPECTED_ROLE_LINKS = {
    "sysadmin": {"/admin/agencies", "/admin/users", "/admin/mail"},
    "secadmin": {"/admin/roles", "/settings/"},
    "auditadmin": {"/audit/events"},
    # agencies that record findings send referrals and run projects; their leaders approve
    "audit.staff": RECORDER,
    "audit.leader": RECORDER | {"/approvals"},
    "inspect.staff": RECORDER,
    "inspect.leader": RECORDER | {"/approvals"},
    "discipline.staff": READER,
    "discipline.leader": READER,
    "org.staff": READER,
    "unit.contact": {"/rectifications", "/calendar", "/exports"},
    "street.contact": {"/rectifications", "/calendar", "/exports"},
}


@pytest.fixture
def demo_accounts(app):
    """The demo agencies and accounts, created by the real `flask seed-demo` command."""
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output
    return ACCOUNTS


def nav_hrefs(page: Page) -> list[str]:
    return page.locator("#nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")


# The sign-in form's labels and button, as each language shows them.
SIGN_IN_FORM = {
    "zh_CN": ("用户名", "密码", "登录"),
    "en": ("User name", "Password", "Sign in"),
}


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD, *,
            language: str = "zh_CN") -> None:
    """Fill in the sign-in form on the current page and send it."""
    user_label, password_label, button = SIGN_IN_FORM[language]
    page.get_by_label(user_label, exact=True).fill(username)
    page.get_by_label(password_label, exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()
    answer_second_factor(page, username, language)


def test_the_demo_accounts_are_the_expected_ones():
    assert list(ACCOUNTS) == [
        "audit.staff", "audit.leader", "inspect.staff", "inspect.leader", "discipline.staff",
        "discipline.leader", "org.staff", "unit.contact", "street.contact", "sysadmin",
        "secadmin", "auditadmin",
    ]


@pytest.mark.parametrize("username", list(ACCOUNTS))
def test_every_demo_account_signs_in_and_sees_its_navigation(page, live_server, demo_accounts,
                                                             username):
    display_name, agency_name, _roles = demo_accounts[username]

    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    sign_in(page, username)

    expect(page).to_have_url(live_server("/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # The home page is the to-do centre (工作台), greeting its reader.
    expect(page).to_have_title(re.compile(r"^工作台 · "))
    expect(page.get_by_role("heading", level=1)).to_have_text("工作台")
    expect(page.locator("main .heading-row p")).to_contain_text(f"欢迎您，{display_name}")
    expect(page.locator("header .who")).to_have_text(f"{display_name} · {agency_name}")
    expect(page.locator("header").get_by_role("button", name="退出登录")).to_be_visible()
    expect(page.locator("header").get_by_role("button", name="English")).to_be_visible()

    hrefs = nav_hrefs(page)
    assert "/" in hrefs and "/account/password" in hrefs and "/account/sessions" in hrefs
    allowed = EXPECTED_ROLE_LINKS.get(username, set())
    assert {href for href in hrefs if href in ROLE_LINKS} == allowed
    assert len(hrefs) == len(set(hrefs)) == 3 + len(allowed)


def test_wrong_password_shows_the_error_and_stays_on_login(page, live_server, demo_accounts):
    page.goto("/login")
    sign_in(page, "audit.staff", "not-the-password")

    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("用户名或密码不正确")
    expect(page).to_have_url(live_server("/login"))
    expect(page.locator("header .who")).to_have_count(0)
    expect(page.locator("#nav")).to_have_count(0)
    # The password is not sent back; the user name is kept.
    expect(page.get_by_label("密码", exact=True)).to_have_value("")
    expect(page.get_by_label("用户名", exact=True)).to_have_value("audit.staff")


def test_switching_to_english_before_signing_in(page, live_server, demo_accounts):
    page.goto("/login")
    page.get_by_role("button", name="English", exact=True).click()

    expect(page).to_have_url(live_server("/login"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="中文", exact=True)).to_be_visible()

    sign_in(page, "audit.staff", language="en")

    expect(page).to_have_url(live_server("/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workbench")
    expect(page.locator("main .heading-row p")).to_contain_text("Welcome, 王审计")
    expect(page.locator("#nav").get_by_role("link", name="Workbench")).to_be_visible()
    expect(page.locator("header").get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("header .who")).to_have_text("王审计 · 区审计局")


def test_phone_navigation_is_behind_the_menu_button(page, live_server, demo_accounts):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/login")
    sign_in(page, "sysadmin")
    expect(page).to_have_url(live_server("/"))

    menu = page.get_by_role("button", name="菜单", exact=True)
    links = page.locator("#nav a")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(links).to_have_count(6)
    for i in range(6):
        expect(links.nth(i)).to_be_hidden()

    menu.click()

    expect(menu).to_have_attribute("aria-expanded", "true")
    for i in range(6):
        expect(links.nth(i)).to_be_visible()
    expect(page.locator("#nav").get_by_role("link", name="单位", exact=True)).to_be_visible()
    assert nav_hrefs(page) == ["/", "/admin/agencies", "/admin/users", "/admin/mail",
                               "/account/password", "/account/sessions"]

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(links.first).to_be_hidden()


def test_wide_screen_shows_the_navigation_without_a_menu_button(page, live_server,
                                                               demo_accounts):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/login")
    sign_in(page, "sysadmin")
    expect(page).to_have_url(live_server("/"))

    expect(page.get_by_role("button", name="菜单", exact=True)).to_be_hidden()
    expect(page.locator("#nav a").first).to_be_visible()


def test_sign_out_returns_to_login_and_home_needs_signing_in_again(page, live_server,
                                                                   demo_accounts):
    page.goto("/login")
    sign_in(page, "audit.leader")
    expect(page).to_have_url(live_server("/"))

    page.locator("header").get_by_role("button", name="退出登录").click()

    expect(page).to_have_url(live_server("/login"))
    expect(page.get_by_role("status")).to_have_text("您已退出登录。")
    expect(page.locator("header .who")).to_have_count(0)

    # The browser's back button does not show the signed-in page again...
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(live_server("/login")) + r"(\?|$)"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    # ...and neither does opening the home page.
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(live_server("/login?next=")) + r"(/|%2F)$"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.locator("header .who")).to_have_count(0)
