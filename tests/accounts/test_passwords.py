"""The password policy: length, kinds of character, the common list, the last passwords, expiry;
its settings; every refusal names its rule, in the user's language, and changes nothing."""

from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from supervise.accounts import passwords
from supervise.accounts.auth import hash_password
from supervise.accounts.models import PasswordHistory, User
from supervise.database import now_utc
from supervise.errors import OperationError
from supervise.extensions import db
from supervise.settings.models import Setting
from tests.accounts.test_admin import _temporary_password
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import UserFactory
from tests.helpers import events
from tests.support.resets import approved_reset

FIRST, SECOND, THIRD, FOURTH, FIFTH, SIXTH = (f"Tea garden {n}, west hill" for n in
                                              ("one", "two", "three", "four", "five", "six"))


def configure(**values) -> None:
    for key, value in values.items():
        db.session.merge(Setting(key=key, value=value))
    db.session.commit()


def change(client, current, new, confirm=None):
    return client.post_form("/account/password", {
        "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm})


def password_hash(username: str) -> str:
    db.session.expire_all()
    return db.session.scalar(sa.select(User.password_hash).where(User.username == username))


@pytest.fixture
def wang(client):
    user = UserFactory(username="wang")
    client.sign_in("wang")
    return user


@pytest.mark.parametrize(("new", "message"), [
    ("Short 1", "新密码至少须包含10个字符。"),
    ("only lower-case words", "新密码需包含大写字母、小写字母、数字、符号中的至少3类。"),
    ("ALL CAPITALS AND 123", None),  # upper-case, digits and spaces: three kinds, accepted
    ("password123!", "该密码过于常见，容易被猜中，请换一个。"),
    ("Aa123456789", "该密码过于常见"),
    ("Dragon2024!!", "该密码过于常见"),  # a listed word with digits and symbols around it
    ("Ｐａｓｓｗｏｒｄ１２３！", "该密码过于常见"),  # the same in full-width characters
    ("Woaini1314!", "该密码过于常见"),
    ("x" * 10_000, "新密码过长（至多256个字符）。"),
])
def test_each_rule_is_refused_with_its_message_and_nothing_changes(client, wang, new, message):
    before = password_hash("wang")
    response = change(client, TEST_PASSWORD, new)
    if message is None:
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert message in page_text(response)
    assert password_hash("wang") == before
    assert events("user.change_password") == []
    assert client.get("/").status_code == 200  # still signed in, on this session


def test_the_rules_follow_the_settings(client, wang):
    configure(password_min_length=14, password_character_classes=4)
    assert "新密码至少须包含14个字符。" in page_text(change(client, TEST_PASSWORD, "Abc-defg-123"))
    response = change(client, TEST_PASSWORD, "Tea garden one, west hill")
    assert "中的至少4类" in page_text(response)
    assert "至少14个字符，须包含大写字母、小写字母、数字、符号中的至少4类" in page_text(
        client.get("/account/password"))
    assert change(client, TEST_PASSWORD, "Tea garden 1, west hill").status_code == 302


def test_an_english_user_reads_the_rule_in_english(client):
    UserFactory(username="smith", locale="en")
    client.sign_in("smith")
    response = change(client, TEST_PASSWORD, "only lower-case words")
    assert "The new password must contain at least 3 of these four kinds of character: " \
           "upper-case letters, lower-case letters, digits, symbols." in page_text(response)
    response = change(client, TEST_PASSWORD, "Password123!")
    assert "This password is too common and easy to guess. Choose another." in \
        page_text(response)


def test_the_current_password_is_refused(client):
    UserFactory(username="wang", password_hash=hash_password(FIRST))
    client.sign_in("wang", FIRST)
    response = change(client, FIRST, FIRST)
    assert response.status_code == 400
    assert "新密码不能与当前密码相同。" in page_text(response)


def test_the_last_five_passwords_are_refused_and_older_ones_forgotten(client, wang):
    current = TEST_PASSWORD
    for new in (FIRST, SECOND, THIRD, FOURTH):
        assert change(client, current, new).status_code == 302
        current = new
    before = password_hash("wang")
    response = change(client, FOURTH, FIRST)  # the fourth of the last five, counting back
    assert response.status_code == 400
    assert "新密码不能使用最近5次用过的密码。" in page_text(response)
    assert password_hash("wang") == before
    # Only the four before the current one are kept.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordHistory)) == 4

    assert change(client, FOURTH, FIFTH).status_code == 302
    assert change(client, FIFTH, FIRST).status_code == 400
    assert change(client, FIFTH, SIXTH).status_code == 302
    assert change(client, SIXTH, FIRST).status_code == 302  # six passwords ago now
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordHistory)) == 4


def test_no_history_refuses_only_the_current_password(client, wang):
    configure(password_history=0)
    assert change(client, TEST_PASSWORD, FIRST).status_code == 302
    assert change(client, FIRST, SECOND).status_code == 302
    assert change(client, SECOND, FIRST).status_code == 302
    assert "新密码不能与当前密码相同" in page_text(change(client, FIRST, FIRST))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordHistory)) == 0


def test_a_reset_keeps_the_password_it_replaced(client, app, wang):
    assert change(client, TEST_PASSWORD, FIRST).status_code == 302
    UserFactory(username="admin", roles=["sysadmin"])
    admin = app.test_client()
    admin.sign_in("admin")
    temporary = _temporary_password(approved_reset(admin, wang))
    holder = app.test_client()
    assert holder.sign_in("wang", temporary).headers["Location"] == "/account/password"
    response = change(holder, temporary, FIRST)
    assert response.status_code == 400
    assert "新密码不能使用最近5次用过的密码。" in page_text(response)
    assert change(holder, temporary, SECOND).status_code == 302


def test_hostile_passwords_get_a_message_never_a_500(client, wang):
    # A form carries bytes: an encoded surrogate arrives replaced, and is an odd password only.
    fields = {"csrf_token": client.csrf_token(), "current_password": TEST_PASSWORD}
    body = "&".join(f"{key}={quote(value)}" for key, value in fields.items()) + \
        "&new_password=Abc%ED%A0%80defgh123&confirm_password=Abc%ED%A0%80defgh123"
    response = client.post("/account/password", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (302, 400)
    # A string from elsewhere (a terminal's undecodable bytes) may hold one: refused, in words.
    for value, message in [("Abc\ud800defgh123", "新密码含有不能使用的字符。"),
                           ("Abc\x00defgh123", "新密码含有不能使用的字符。"),
                           (None, "新密码至少须包含10个字符。")]:
        with pytest.raises(OperationError) as refused:
            passwords.check_new_password("wang", value)
        assert refused.value.message == message


def test_the_common_list_is_bundled_and_read_once():
    listed = passwords.common_passwords()
    assert len(listed) > 10_000
    assert {"password", "123456", "5201314", "woaini1314", "qwer1234", "aa123456"} <= listed
    assert not any(word.startswith("#") for word in listed)
    assert passwords.common_passwords() is listed
    assert passwords.is_common("QWER1234") and passwords.is_common("!!Summer2024!!")
    assert not passwords.is_common(TEST_PASSWORD) and not passwords.is_common(FIRST)


# --- expiry -------------------------------------------------------------------------------

def age(user, days: int) -> None:
    db.session.execute(sa.update(User).where(User.id == user.id)
                       .values(password_changed_at=now_utc() - timedelta(days=days)))
    db.session.commit()


def test_an_expired_password_must_be_changed_at_sign_in(client, app):
    configure(password_lifetime_days=90)
    user = UserFactory(username="wang")
    age(user, 91)
    response = client.sign_in("wang")
    assert response.headers["Location"] == "/account/password"
    page = page_text(client.get("/account/password"))
    assert "您的密码已超过90日未修改，已过期，请先设置新密码再继续。" in page
    assert client.get("/").headers["Location"] == "/account/password"
    [event] = events("user.password_expired")
    assert event.object_id == str(user.id)

    assert change(client, TEST_PASSWORD, FIRST).status_code == 302
    assert client.get("/").status_code == 200
    again = app.test_client()
    assert again.sign_in("wang", FIRST).headers["Location"] == "/"
    assert len(events("user.password_expired")) == 1


def test_a_password_within_its_lifetime_or_without_one_lets_the_user_in(client, app):
    user = UserFactory(username="wang")
    age(user, 400)
    assert client.sign_in("wang").headers["Location"] == "/"  # no lifetime by default
    configure(password_lifetime_days=90)
    age(user, 89)
    assert app.test_client().sign_in("wang").headers["Location"] == "/"
    assert events("user.password_expired") == []


def test_a_password_never_changed_counts_from_the_account_creation(client):
    configure(password_lifetime_days=30)
    user = UserFactory(username="wang")
    db.session.execute(sa.update(User).where(User.id == user.id).values(
        password_changed_at=None, created_at=now_utc() - timedelta(days=31)))
    db.session.commit()
    assert client.sign_in("wang").headers["Location"] == "/account/password"


def test_an_expired_password_gets_no_api_token(client):
    configure(password_lifetime_days=90)
    user = UserFactory(username="wang")
    age(user, 100)
    response = client.post("/api/v1/tokens", json={"username": "wang",
                                                   "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "您的密码已过期，使用API前须先在网页端修改密码。" in response.get_json()["message"]
    assert len(events("user.password_expired")) == 1
    english = client.post("/api/v1/tokens", json={"username": "wang", "password": TEST_PASSWORD},
                          headers={"Accept-Language": "en"})
    assert english.status_code == 403
    assert "Your password has expired. Change it on the web" in english.get_json()["message"]
    assert events("auth.token_issued") == []


# --- settings -------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "refused", "accepted"), [
    ("password_min_length", ["7", "65", "ten"], "8"),
    ("password_character_classes", ["0", "5"], "4"),
    ("password_history", ["-1", "25"], "0"),
    ("password_lifetime_days", ["-1", "366"], "365"),
])
def test_the_security_administrator_sets_the_policy_within_bounds(app, key, refused, accepted):
    UserFactory(username="sec", roles=["secadmin"])
    client = app.test_client()
    client.sign_in("sec")
    page = page_text(client.get("/settings/"))
    assert "密码：最短长度" in page and "密码：有效期" in page
    for value in refused:
        assert client.post_form("/settings/", {key: value}).status_code == 400, value
    assert db.session.get(Setting, key) is None
    assert client.post_form("/settings/", {key: accepted}).status_code == 302
    assert db.session.get(Setting, key).value == int(accepted)
    [event] = events("settings.change")
    assert event.object_id == key
    assert getattr(passwords.current_policy(), {
        "password_min_length": "min_length", "password_character_classes": "character_classes",
        "password_history": "history", "password_lifetime_days": "lifetime_days"}[key]) \
        == int(accepted)


def test_without_the_settings_provider_the_defaults_hold(app):
    provider = app.extensions.pop(passwords.POLICY_PROVIDER)
    try:
        configure(password_min_length=20)
        assert passwords.current_policy() == passwords.DEFAULT_POLICY
    finally:
        app.extensions[passwords.POLICY_PROVIDER] = provider
    assert passwords.current_policy().min_length == 20
