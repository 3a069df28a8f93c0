"""Sessions the holder can see and end: every live browser session and API token of the account,
with the device, where it was opened and last used; "end this", "end all others"; the system
administrator ends all of an account's without seeing them; a limit of concurrent sessions.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from supervise.accounts.models import Credential
from supervise.extensions import db
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import UserFactory
from tests.helpers import events

FIREFOX = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
           "Firefox/133.0")
CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Mobile Safari/537.36")


def browser(app, username, agent, address):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    assert client.sign_in(username).status_code == 302
    return client


def token(client, username, agent="python-requests/2.32.3"):
    answer = client.post("/api/v1/tokens", json={"username": username, "password": TEST_PASSWORD},
                         headers={"User-Agent": agent},
                         environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert answer.status_code == 201, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def signed_in(client) -> bool:
    return client.get("/account/sessions").status_code == 200


def end_urls(client) -> dict[str, str]:
    """The "end" form of each row of the page, by the row's device."""
    html = client.get("/account/sessions").get_data(as_text=True)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)[1:]
    return {re.search(r'data-label="[^"]*">([^<]*)</td>', row.split("</td>", 1)[1]).group(1):
            re.search(r'action="([^"]+/end)"', row).group(1) for row in rows}


def test_the_page_lists_the_accounts_live_sessions_and_tokens(app, client):
    UserFactory(username="wang")
    UserFactory(username="li")
    laptop = browser(app, "wang", FIREFOX, "10.1.1.1")
    phone = browser(app, "wang", CHROME, "10.2.2.2")
    browser(app, "li", FIREFOX, "10.3.3.3")
    token(client, "wang")
    page = laptop.get("/account/sessions")
    assert page.status_code == 200
    text = page_text(page)
    assert "Firefox 133 · Windows 10" in text and "Chrome Mobile 131 · Android 14" in text
    assert "Python Requests 2" in text and "接口令牌" in text
    assert "10.1.1.1" in text and "10.2.2.2" in text and "10.0.0.9" in text
    assert "10.3.3.3" not in text  # another account's
    assert text.count("本会话") == 1
    # The laptop's row is the current one; the phone sees itself as current.
    assert re.search(r'<tr class="current">.*?Firefox 133', page.get_data(as_text=True), re.S)
    assert re.search(r'<tr class="current">.*?Chrome Mobile 131',
                     phone.get("/account/sessions").get_data(as_text=True), re.S)
    # Used from elsewhere since: the last address shows.
    phone.environ_base["REMOTE_ADDR"] = "10.2.2.99"
    assert signed_in(phone)
    assert "10.2.2.99" in page_text(laptop.get("/account/sessions"))


def test_end_one_session_and_then_all_others(app, client):
    UserFactory(username="wang")
    laptop = browser(app, "wang", FIREFOX, "10.1.1.1")
    phone = browser(app, "wang", CHROME, "10.2.2.2")
    tablet = browser(app, "wang", FIREFOX.replace("133", "128"), "10.4.4.4")
    api = token(client, "wang")
    urls = end_urls(laptop)
    assert laptop.post_form(urls["Chrome Mobile 131 · Android 14"]).status_code == 302
    assert not signed_in(phone) and signed_in(tablet) and signed_in(laptop)
    [ended] = events("user.end_session")
    assert ended.actor_username == "wang"
    assert client.get("/api/v1/me", headers=api).status_code == 200

    answer = laptop.post_form("/account/sessions/end-others", follow_redirects=True)
    assert "已结束其他 2 个会话或令牌" in page_text(answer)
    assert not signed_in(tablet) and signed_in(laptop)
    assert client.get("/api/v1/me", headers=api).status_code == 401
    [others] = events("user.end_other_sessions")
    assert '"ended": 2' in others.details


def test_ending_this_session_signs_out_here(app):
    UserFactory(username="wang")
    laptop = browser(app, "wang", FIREFOX, "10.1.1.1")
    [url] = end_urls(laptop).values()
    answer = laptop.post_form(url)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert not signed_in(laptop)


def test_another_accounts_session_cannot_be_ended(app):
    UserFactory(username="wang")
    UserFactory(username="li")
    wang = browser(app, "wang", FIREFOX, "10.1.1.1")
    li = browser(app, "li", CHROME, "10.2.2.2")
    [li_url] = end_urls(li).values()
    answer = wang.post_form(li_url)
    assert answer.status_code == 404
    assert "该会话已结束" in page_text(answer)
    assert signed_in(li) and events("user.end_session") == []
    # Without the form's token nothing happens either.
    assert li.post(li_url).status_code in (400, 403)
    assert signed_in(li)


def test_the_system_administrator_ends_every_session_seeing_nothing_of_them(app, client):
    holder = UserFactory(username="wang")
    UserFactory(username="sys", roles=["sysadmin"])
    laptop = browser(app, "wang", FIREFOX, "10.1.1.1")
    api = token(client, "wang")
    admin = browser(app, "sys", CHROME, "10.9.9.9")
    page = page_text(admin.get(f"/admin/users/{holder.id}"))
    assert "2 个会话或令牌" in page
    assert "10.1.1.1" not in page and "Firefox" not in page and "Python" not in page
    answer = admin.post_form(f"/admin/users/{holder.id}/sessions/end", follow_redirects=True)
    assert answer.status_code == 200
    assert not signed_in(laptop)
    assert client.get("/api/v1/me", headers=api).status_code == 401
    [ended] = events("user.end_sessions")
    assert ended.actor_username == "sys" and '"ended": 2' in ended.details
    # A case account cannot.
    staff = browser(app, "wang", FIREFOX, "10.1.1.1")
    assert staff.post_form(f"/admin/users/{holder.id}/sessions/end").status_code == 403
    assert signed_in(staff)


def test_signing_in_beyond_the_limit_ends_the_session_used_longest_ago(app_factory):
    limited = app_factory(MAX_SESSIONS=2)
    UserFactory(username="wang")
    first = browser(limited, "wang", FIREFOX, "10.1.1.1")
    second = browser(limited, "wang", CHROME, "10.2.2.2")
    assert signed_in(first) and signed_in(second)
    third = browser(limited, "wang", FIREFOX, "10.3.3.3")
    assert not signed_in(first) and signed_in(second) and signed_in(third)
    [limit] = events("auth.session_limit")
    assert '"ended": 1' in limit.details and '"limit": 2' in limit.details
    live = db.session.scalar(sa.select(sa.func.count()).select_from(Credential).where(
        Credential.revoked_at.is_(None)))
    assert live == 2
    assert "最多同时 2 个浏览器会话" in page_text(third.get("/account/sessions"))
