"""Lock-out that costs the attacker, not the holder: failures are counted per user name and per
address; five wrong passwords lock the address out of that name and guard the name (an address
that has failed on it waits; one that has not still gets its try); the holder, signing in from
an address that has not failed, gets in and lifts the guard. The change-password form counts its
failures the same way and ends the session at the limit.
"""

from __future__ import annotations

import json
import time

import pytest

from supervise.accounts import auth
from supervise.extensions import db
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import UserFactory
from tests.helpers import events, race

ATTACKER, HOLDER, OTHER = "203.0.113.7", "10.1.2.3", "198.51.100.9"


def sign_in(app, address: str, username: str = "wang", password: str = "wrong"):  # noqa: S107
    client = app.test_client()
    return client, client.sign_in(username, password, environ_base={"REMOTE_ADDR": address})


def test_an_attacker_locks_only_their_own_address_and_the_holder_unlocks(app):
    UserFactory(username="wang")
    for _ in range(4):
        assert sign_in(app, ATTACKER)[1].status_code == 401
    locked = sign_in(app, ATTACKER)[1]
    assert locked.status_code == 403 and "锁定" in page_text(locked)
    # The attacker's address stays locked out of the name, even with the right password.
    assert sign_in(app, ATTACKER, password=TEST_PASSWORD)[1].status_code == 403
    [lock] = events("auth.lock_out")
    assert json.loads(lock.details)["scope"] == ["address", "name"]

    # The holder, at a desk that has not failed, signs in: the name's guard is lifted.
    client, response = sign_in(app, HOLDER, password=TEST_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    [unlock] = events("auth.unlock")
    assert unlock.actor_username == "wang" and unlock.ip == HOLDER
    assert client.get("/").status_code == 200
    # ...and the attacker is still locked out.
    assert sign_in(app, ATTACKER, password=TEST_PASSWORD)[1].status_code == 403


def test_while_the_name_is_guarded_a_new_address_gets_one_try(app):
    UserFactory(username="wang")
    for _ in range(5):
        sign_in(app, ATTACKER)
    # A second address of the attacker's: one guess, then it waits too.
    refused = sign_in(app, OTHER)[1]
    assert refused.status_code == 403 and "锁定" in page_text(refused)
    assert sign_in(app, OTHER, password=TEST_PASSWORD)[1].status_code == 403
    # The holder's own desk is untouched by all this.
    assert sign_in(app, HOLDER, password=TEST_PASSWORD)[1].status_code == 302


def test_many_addresses_guessing_a_little_each_guard_the_name(app):
    UserFactory(username="wang")
    for i in range(10):  # ten addresses, one wrong password each: no address reaches five
        assert sign_in(app, f"192.0.2.{i}")[1].status_code in (401, 403)
    [lock] = events("auth.lock_out")
    assert json.loads(lock.details)["scope"] == ["name"]
    # Each of them has failed on the guarded name: none may try again.
    assert sign_in(app, "192.0.2.3", password=TEST_PASSWORD)[1].status_code == 403
    assert sign_in(app, HOLDER, password=TEST_PASSWORD)[1].status_code == 302


def test_an_address_trying_many_names_is_locked_out_of_all(app):
    UserFactory(username="wang")
    for i in range(20):
        sign_in(app, ATTACKER, username=f"guess{i}")
    lock = events("auth.lock_out")[-1]
    assert "address_all_names" in json.loads(lock.details)["scope"]
    assert sign_in(app, ATTACKER, password=TEST_PASSWORD)[1].status_code == 403
    assert sign_in(app, HOLDER, password=TEST_PASSWORD)[1].status_code == 302


def test_failures_are_written_to_the_log_with_their_address(app):
    UserFactory(username="wang")
    for _ in range(5):
        sign_in(app, ATTACKER)
    failures = [e for e in events("auth.sign_in") if e.outcome == "failure"]
    assert len(failures) == 5 and {e.ip for e in failures} == {ATTACKER}


# --- the change-password form ---------------------------------------------------------------


def test_wrong_current_passwords_end_the_session_at_the_limit(app):
    UserFactory(username="wang")
    client, response = sign_in(app, HOLDER, password=TEST_PASSWORD)
    assert response.status_code == 302

    def change(current):
        return client.post_form("/account/password", {
            "current_password": current, "new_password": "A brand new secret 7",
            "confirm_password": "A brand new secret 7"},
            environ_base={"REMOTE_ADDR": HOLDER})

    for _ in range(4):
        wrong = change("guess")
        assert wrong.status_code == 400
        assert "当前密码不正确" in page_text(wrong)
    ended = change("guess")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    # The session is over, and the right password no longer helps from here.
    assert client.get("/").status_code == 302
    assert client.sign_in("wang", TEST_PASSWORD,
                          environ_base={"REMOTE_ADDR": HOLDER}).status_code == 403
    checks = events("user.password_check")
    assert [e.outcome for e in checks] == ["failure"] * 5
    assert events("auth.lock_out") and events("auth.sign_out")
    # The password did not change.
    assert sign_in(app, OTHER, password=TEST_PASSWORD)[1].status_code == 302


def test_a_right_current_password_resets_the_count(app):
    UserFactory(username="wang")
    client, _ = sign_in(app, HOLDER, password=TEST_PASSWORD)
    for _ in range(3):
        client.post_form("/account/password", {
            "current_password": "guess", "new_password": "A brand new secret 7",
            "confirm_password": "A brand new secret 7"}, environ_base={"REMOTE_ADDR": HOLDER})
    changed = client.post_form("/account/password", {
        "current_password": TEST_PASSWORD, "new_password": "A brand new secret 7",
        "confirm_password": "A brand new secret 7"}, environ_base={"REMOTE_ADDR": HOLDER})
    assert changed.status_code == 302 and changed.headers["Location"] == "/"
    for _ in range(4):
        assert sign_in(app, HOLDER)[1].status_code == 401


# --- simultaneous guesses -------------------------------------------------------------------


@pytest.fixture
def slow_checks(monkeypatch):
    """Each password check lingers, so that simultaneous attempts overlap; counts the checks."""
    real = auth.verify_password
    checked = []

    def slow(user, password):
        checked.append(password)
        time.sleep(0.2)
        return real(user, password)

    monkeypatch.setattr(auth, "verify_password", slow)
    return checked


def test_twelve_simultaneous_guesses_get_five_checked(app, slow_checks):
    UserFactory(username="wang")
    clients = [app.test_client() for _ in range(12)]

    def guess(client, i):
        return lambda: client.post("/api/v1/tokens", json={"username": "wang",
                                                          "password": f"guess {i}"})

    responses = race([guess(c, i) for i, c in enumerate(clients)])
    assert [r.status_code for r in responses] == [401] * 12
    # At most five passwords were checked (which attempts count first is the database's
    # order, so an attempt in flight may be refused as well); the others were refused unchecked.
    checked = len(slow_checks)
    assert 1 <= checked <= 5
    # Locked: the right password is refused from here too, unchecked.
    assert app.test_client().post("/api/v1/tokens", json={
        "username": "wang", "password": TEST_PASSWORD}).status_code == 401
    assert len(slow_checks) == checked
    db.session.remove()
    assert len([e for e in events("auth.sign_in") if e.outcome == "failure"]) == checked
    assert events("auth.lock_out")
