"""Two-factor sign-in (issue 12): enrolment by QR code and a first code, recovery codes, codes
that are refused when wrong, expired, replayed or malformed, the API's `otp`, and the security
administrator's rules of who needs a second factor."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from supervise.accounts.models import DEFAULT_TWO_FACTOR_RULES, AgencyKind, RecoveryCode
from supervise.accounts.twofactor import rules
from supervise.database import now_utc
from supervise.extensions import db
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import events
from tests.support.twofactor import SECRET, enrol

BAD_CODE = "验证码不正确"


def commission_staff(username="sun", enrolled=True):
    user = UserFactory(username=username, agency=AgencyFactory(kind=AgencyKind.DISCIPLINE))
    if enrolled:
        enrol(user)
        db.session.commit()
    return user


def password_step(client, username="sun", password=TEST_PASSWORD):
    return client.post_form("/login", {"username": username, "password": password})


def code_now(secret=SECRET, offset=0):
    return pyotp.TOTP(secret).at(time.time() + offset)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_an_enrolled_account_is_asked_for_a_code_after_its_password(client):
    commission_staff()
    response = password_step(client)
    assert (response.status_code, response.headers["Location"]) == (302, "/login/code")
    assert not signed_in(client)  # the password alone signs nobody in
    page = client.get("/login/code")
    assert "身份验证器应用当前显示的六位数字" in page_text(page)
    response = client.post_form("/login/code", {"code": code_now()})
    assert (response.status_code, response.headers["Location"]) == (302, "/")
    assert signed_in(client)
    assert [e.actor_username for e in events("auth.sign_in")] == ["sun"]


def test_an_account_nobody_asks_for_a_second_factor_signs_in_with_its_password(client):
    UserFactory(username="wang")  # staff of the audit bureau
    assert password_step(client, "wang").headers["Location"] == "/"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34",
                                  "0" * 41])
def test_a_malformed_code_is_refused_in_words(client, code):
    commission_staff()
    password_step(client)
    response = client.post_form("/login/code", {"code": code})
    assert response.status_code in (400, 401)
    assert "验证码" in page_text(response)
    assert not signed_in(client)


def test_a_wrong_or_expired_code_is_refused_and_counted_like_a_wrong_password(client):
    commission_staff()
    password_step(client)
    expired = code_now(offset=-90)
    assert client.post_form("/login/code", {"code": expired}).status_code == 401
    for _ in range(3):
        response = client.post_form("/login/code", {"code": "000000" if code_now() != "000000"
                                                    else "111111"})
        assert response.status_code == 401
        assert BAD_CODE in page_text(response)
    assert [e.outcome for e in events("auth.second_factor")] == ["failure"] * 4
    # The fifth wrong code locks the name out from this address, right code or not.
    locked = client.post_form("/login/code", {"code": "999999" if code_now() != "999999"
                                              else "888888"})
    assert locked.headers["Location"] == "/login"
    assert "已被锁定" in page_text(client.get("/login"))
    password_step(client)
    assert not signed_in(client)


def test_a_code_is_accepted_once(client, new_client):
    commission_staff()
    code = code_now()
    password_step(client)
    assert client.post_form("/login/code", {"code": code}).headers["Location"] == "/"
    other = new_client()
    password_step(other)
    response = other.post_form("/login/code", {"code": code})
    assert response.status_code == 401
    assert "已被使用" in page_text(response)
    assert not signed_in(other)


def test_the_step_between_password_and_code_lapses(client):
    commission_staff()
    with time_machine.travel(now_utc(), tick=False) as traveller:
        password_step(client)
        traveller.shift(timedelta(minutes=6))
        response = client.post_form("/login/code", {"code": code_now()})
    assert response.headers["Location"] == "/login"
    assert not signed_in(client)


def test_the_code_page_without_a_password_first_sends_to_the_sign_in_page(client):
    commission_staff()
    for url in ("/login/code", "/login/enrol"):
        assert client.get(url).headers["Location"] == "/login"
        response = client.post_form(url, {"code": code_now()})
        assert response.headers["Location"] == "/login"
    assert not signed_in(client)


def test_enrolment_shows_a_qr_code_asks_a_first_code_and_gives_recovery_codes_once(client):
    user = commission_staff(enrolled=False)
    response = password_step(client)
    assert response.headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "<svg" in html and "设置第二因素" in html  # drawn here, no outside service
    secret = re.search(r'id="otp-secret">(\w+)<', html).group(1)
    assert client.get("/login/enrol").get_data(as_text=True).count(secret) == 1  # kept on reload
    wrong = client.post_form("/login/enrol", {"code": "000000" if code_now(secret) != "000000"
                                              else "111111"})
    assert wrong.status_code == 400 and "请检查手机时间" in page_text(wrong)
    assert not signed_in(client)

    done = client.post_form("/login/enrol", {"code": code_now(secret)})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([A-Z0-9-]{19})</code></li>", done.get_data(as_text=True))
    assert len(codes) == len(set(codes)) == 10
    assert signed_in(client)
    db.session.refresh(user)
    assert user.otp_enrolled_at is not None and user.otp_secret == secret
    stored = list(db.session.scalars(sa.select(RecoveryCode.code_hash)))
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    assert [e.action for e in events() if e.action.startswith("user.")] == [
        "user.enrol_second_factor"]
    assert client.get("/login/enrol").status_code == 302  # nothing more to enrol


def test_a_recovery_code_signs_in_once(client, new_client):
    user = commission_staff(enrolled=False)
    password_step(client)
    secret = re.search(r'id="otp-secret">(\w+)<', client.get("/login/enrol").get_data(
        as_text=True)).group(1)
    page = client.post_form("/login/enrol", {"code": code_now(secret)})
    recovery = re.findall(r"<li><code>([A-Z0-9-]{19})</code></li>", page.get_data(as_text=True))
    first = new_client()
    password_step(first)
    # Typed in lower case and without its hyphens, it is still the code.
    response = first.post_form("/login/code", {"code": recovery[3].lower().replace("-", " ")})
    assert response.headers["Location"] == "/"
    [used] = events("user.recovery_code_used")
    assert json.loads(used.details) == {"left": 9} and used.object_id == str(user.id)
    again = new_client()
    password_step(again)
    assert again.post_form("/login/code", {"code": recovery[3]}).status_code == 401


# --- the API ------------------------------------------------------------------------------

def token(client, **body):
    return client.post("/api/v1/tokens", json={"username": "sun", "password": TEST_PASSWORD,
                                               **body})


def test_the_api_asks_the_same_for_every_bad_combination_and_takes_a_right_code(client):
    commission_staff()
    answers = [token(client), token(client, otp=None), token(client, otp="123"),
               token(client, otp=code_now(offset=-120)),
               token(client, password="wrong", otp=code_now())]
    assert {a.status_code for a in answers} == {401}
    assert len({a.get_json()["message"] for a in answers}) == 1
    assert "用户名、密码或验证码不正确" in answers[0].get_json()["message"]
    code = code_now()
    assert token(client, otp=code).status_code == 201
    assert token(client, otp=code).status_code == 401  # replayed


def test_the_api_sends_an_account_that_must_enrol_to_the_web(client):
    commission_staff(enrolled=False)
    response = token(client)
    assert response.status_code == 403
    assert "请先在网页上设置第二因素" in response.get_json()["message"]


@pytest.mark.parametrize("otp", [123456, ["123456"], {"a": 1}, "x" * 1000])
def test_a_mistyped_otp_is_refused_cleanly(client, otp):
    commission_staff()
    response = token(client, otp=otp)
    assert response.status_code in (401, 422)


# --- who needs one ------------------------------------------------------------------------

def test_by_default_the_administrators_and_the_commission_need_a_second_factor(client):
    assert rules() == set(DEFAULT_TWO_FACTOR_RULES)
    from importlib import import_module

    migration = import_module("migrations.versions.0012_second_factor")
    assert set(migration.RULES) == set(DEFAULT_TWO_FACTOR_RULES)
    for roles in (["sysadmin"], ["secadmin"], ["auditadmin"]):
        UserFactory(username=roles[0], roles=roles)
        fresh = client.__class__(client.application)
        assert password_step(fresh, roles[0]).headers["Location"] == "/login/enrol"


def test_the_security_administrator_chooses_who_needs_one(client, new_client):
    UserFactory(username="sec", roles=["secadmin"])
    UserFactory(username="wang")  # the audit bureau's staff
    client.sign_in("sec")
    page = client.get("/settings/two-factor")
    assert page.status_code == 200 and "哪些账号登录须第二因素" in page_text(page)
    response = client.post_form("/settings/two-factor", {
        "agency_kind": ["discipline", "audit"], "role": ["leader"]})
    assert response.headers["Location"] == "/settings/two-factor"
    assert ("agency_kind", "audit") in rules() and ("role", "leader") in rules()
    # The administrators cannot be let off, whatever the form sends.
    assert {("role", "sysadmin"), ("role", "secadmin"), ("role", "auditadmin")} <= rules()
    [event] = events("settings.two_factor")
    assert json.loads(event.details)["added"] == ["agency_kind:audit", "role:leader"]
    assert password_step(new_client(), "wang").headers["Location"] == "/login/enrol"


def test_an_unknown_rule_is_refused_in_words_and_changes_nothing(client):
    UserFactory(username="sec", roles=["secadmin"])
    client.sign_in("sec")
    before = rules()
    response = client.post_form("/settings/two-factor", {"agency_kind": ["nowhere"]})
    assert response.status_code == 400
    assert "未知的角色或单位类型" in page_text(response)
    assert rules() == before
    assert not events("settings.two_factor")
