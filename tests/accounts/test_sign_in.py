"""Signing in and out: same answer for bad credentials, lock-out, sessions that really end."""

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from supervise.accounts.models import Credential, LoginThrottle
from supervise.database import now_utc
from supervise.extensions import db
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import UserFactory
from tests.helpers import events

BAD_CREDENTIALS = "用户名或密码不正确"


def test_sign_in_lands_on_home_page_with_who_you_are(client):
    user = UserFactory(username="wang", display_name="王审计")
    response = client.sign_in("wang")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "王审计" in page_text(home)
    assert user.agency.name in page_text(home)
    [event] = events("auth.sign_in")
    assert (event.actor_username, event.outcome, event.ip) == ("wang", "success", "127.0.0.1")


def test_user_name_is_case_insensitive(client):
    UserFactory(username="wang")
    assert client.sign_in("  WANG ").headers["Location"] == "/"


def test_unknown_user_and_wrong_password_get_the_same_answer(client):
    UserFactory(username="wang")
    wrong = client.sign_in("wang", "not the password")
    unknown = client.sign_in("nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert BAD_CREDENTIALS in page_text(wrong)
    assert page_text(wrong) == page_text(unknown)
    assert [e.outcome for e in events("auth.sign_in")] == ["failure", "failure"]
    # The user name typed for an unknown account is not written to the log: it may be a password.
    assert "nobody" not in str([(e.actor_username, e.details) for e in events()])


def test_next_parameter_only_follows_local_paths(client):
    UserFactory(username="wang")
    response = client.sign_in("wang", query_string={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    other = client.__class__(client.application)
    response = other.sign_in("wang", query_string={"next": "/account/password"})
    assert response.headers["Location"] == "/account/password"


def test_five_failures_lock_the_account_even_for_the_right_password(client):
    UserFactory(username="wang")
    for _ in range(4):
        assert client.sign_in("wang", "wrong").status_code == 401
    locked = client.sign_in("wang", "wrong")
    assert locked.status_code == 403
    assert "锁定" in page_text(locked)
    refused = client.sign_in("wang", TEST_PASSWORD)
    assert refused.status_code == 403
    assert "锁定" in page_text(refused)
    assert len(events("auth.lock_out")) == 1
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(Credential))


def test_lock_out_is_counted_in_the_database_across_workers(client, app_factory):
    """Two app instances stand for two gunicorn workers sharing the database."""
    UserFactory(username="wang")
    worker_a = client
    worker_b = app_factory().test_client()
    for i in range(5):
        (worker_a if i % 2 else worker_b).sign_in("wang", "wrong")
    assert worker_a.sign_in("wang", TEST_PASSWORD).status_code == 403
    assert worker_b.sign_in("wang", TEST_PASSWORD).status_code == 403


def test_lock_out_ends_after_fifteen_minutes(client):
    UserFactory(username="wang")
    with time_machine.travel(now_utc(), tick=False) as traveller:
        for _ in range(5):
            client.sign_in("wang", "wrong")
        traveller.shift(timedelta(minutes=14))
        assert client.sign_in("wang", TEST_PASSWORD).status_code == 403
        traveller.shift(timedelta(minutes=2))
        assert client.sign_in("wang", TEST_PASSWORD).status_code == 302


def test_failures_outside_the_window_do_not_add_up(client):
    UserFactory(username="wang")
    with time_machine.travel(now_utc(), tick=False) as traveller:
        for _ in range(4):
            client.sign_in("wang", "wrong")
        traveller.shift(timedelta(minutes=16))
        for _ in range(4):
            assert client.sign_in("wang", "wrong").status_code == 401
        assert client.sign_in("wang", TEST_PASSWORD).status_code == 302


def test_unknown_user_names_lock_out_too_so_lockout_reveals_nothing(client):
    for _ in range(5):
        client.sign_in("ghost", "wrong")
    assert "锁定" in page_text(client.sign_in("ghost", "wrong"))
    assert db.session.get(LoginThrottle, "ghost").locked_until is not None


def test_disabled_account_cannot_sign_in(client):
    UserFactory(username="wang", active=False)
    response = client.sign_in("wang")
    assert response.status_code == 403
    assert "停用" in page_text(response)
    assert events("auth.sign_in")[-1].outcome == "denied"


def test_disabled_agency_cannot_sign_in(client):
    user = UserFactory(username="wang")
    user.agency.active = False
    db.session.commit()
    assert client.sign_in("wang").status_code == 403


def test_sign_in_renews_the_session_cookie(client):
    UserFactory(username="wang")
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    client.sign_in("wang")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert "sid" in sess


def _cookie(client):
    return client.get_cookie("supervise_session").value


def _replay(app, cookie_value):
    replay = app.test_client()
    replay.set_cookie("supervise_session", cookie_value)
    return replay.get("/")


def test_old_cookie_is_dead_after_sign_out(client, app):
    UserFactory(username="wang")
    client.sign_in("wang")
    old = _cookie(client)
    assert _replay(app, old).status_code == 200
    response = client.post_form("/logout")
    assert response.headers["Location"] == "/login"
    assert _replay(app, old).status_code == 302
    assert len(events("auth.sign_out")) == 1


def test_sign_out_needs_a_post_with_csrf(client):
    UserFactory(username="wang")
    client.sign_in("wang")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_idle_session_expires_after_thirty_minutes(client):
    UserFactory(username="wang")
    with time_machine.travel(now_utc(), tick=False) as traveller:
        client.sign_in("wang")
        traveller.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200  # activity keeps it alive
        traveller.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get("/")
        assert response.status_code == 302
        assert "expired=1" in response.headers["Location"]
        assert "会话已结束" in page_text(client.get(response.headers["Location"]))


def test_session_ends_after_twelve_hours_however_active(client):
    UserFactory(username="wang")
    with time_machine.travel(now_utc(), tick=False) as traveller:
        client.sign_in("wang")
        for _ in range(26):  # 26 x 29 minutes is past twelve hours
            traveller.shift(timedelta(minutes=29))
            client.get("/")
        assert client.get("/").status_code == 302
