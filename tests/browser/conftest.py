"""Browser fixtures: the test application served on 127.0.0.1, and Debian's Chromium driven
through Playwright (`playwright install` cannot download browsers here).

`live_server` serves the session's `app` from a background thread; each request runs in that
server's own threads and so in its own application context, while the test keeps the one the
root conftest pushes. Data is created inside each test (or a function-scoped fixture) and emptied
after it by the root `app_context` fixture, as in every other test.

A failing test leaves a screenshot in test-artifacts/<test name>.png.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from tests.support.twofactor import code_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_PASSWORD = "demo-pass-2026"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class LiveServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __call__(self, path: str = "/") -> str:
        """The absolute address of a path on the server."""
        return self.url + path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer("127.0.0.1", server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def playwright_instance():
    playwright = sync_playwright().start()
    try:
        yield playwright
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


def _artifact_name(nodeid_name: str) -> str:
    return re.sub(r"[^\w.\-\[\]]+", "_", nodeid_name)


@pytest.fixture
def context_options() -> dict:
    """Options of each test's browser context; override in a module or test to change them."""
    return {"locale": "zh-CN"}


def _saying_yes(page: Page) -> Page:
    """A final step asks first (data-confirm): a journey says yes, and may read what it was
    asked in `page.confirmations`."""
    confirmations = []

    def answer(dialog):
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.confirmations = confirmations
    return page


@pytest.fixture
def page(request, browser, live_server, context_options):
    context = browser.new_context(base_url=live_server.url, **context_options)
    context.set_default_timeout(10_000)
    page = _saying_yes(context.new_page())
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{_artifact_name(request.node.name)}.png"),
                                full_page=True)
            except Exception as exc:  # a screenshot must not hide the test's own failure
                request.node.add_report_section("teardown", "screenshot", repr(exc))
        context.close()


# --- shared by the journeys -----------------------------------------------------------------

@pytest.fixture
def demo_data(app):
    """The demo agencies, accounts, findings and referrals, made by the real `flask seed-demo`."""
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output


@pytest.fixture
def new_page(request, browser, live_server, context_options) -> Callable[[], Page]:
    """A page in a browser context of its own, for each further actor of a journey."""
    made = []

    def open_page() -> Page:
        context = browser.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(10_000)
        made.append(context)
        return _saying_yes(context.new_page())

    yield open_page
    report = getattr(request.node, "rep_call", None)
    name = re.sub(r"[^\w.\-\[\]]+", "_", request.node.name)
    for number, context in enumerate(made, start=2):
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for page in context.pages:
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{name}-{number}.png"),
                                    full_page=True)
                except Exception as exc:  # a screenshot must not hide the test's own failure
                    request.node.add_report_section("teardown", "screenshot", repr(exc))
        context.close()


def sign_in(page: Page, live_server, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    answer_second_factor(page, username)
    expect(page).to_have_url(live_server("/"))


# The second step's field and button, as each language shows them.
CODE_FORM = {"zh_CN": ("验证码", "登录"), "en": ("Verification code", "Sign in")}


def answer_second_factor(page: Page, username: str, language: str = "zh_CN") -> None:
    """On the page that asks for a second-factor code, give the account's current one (see
    tests.support.twofactor.code_for); on any other page, nothing."""
    if urlsplit(page.url).path != "/login/code":
        return
    label, button = CODE_FORM[language]
    page.get_by_label(label, exact=True).fill(code_for(username))
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()
