"""No single administrator can enter an account (issue 12): the takeover walk a system
administrator would try, step by step, and what each reset tells whom."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import current_app
from flask_babel import force_locale

from supervise.accounts import operations, twofactor
from supervise.accounts.models import AgencyKind, User
from supervise.accounts.operations import RESET_APPROVAL_LIFETIME
from supervise.database import now_utc
from supervise.errors import OperationError
from supervise.extensions import db
from supervise.notifications.models import Kind, Notification
from supervise.policy.notifications import listed
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import events
from tests.referrals.factories import make_world
from tests.support.twofactor import enrol
from tests.test_chinese_everywhere import (
    DemoData,
    english_words,
    half_width_marks,
    visible_strings,
)


def _holder(world) -> User:
    holder = world.disc_staff
    enrol(holder)
    db.session.commit()
    return holder


ADMIN_NAMES = {"sysadmin": "系统管理员甲", "secadmin": "安全管理员乙", "auditadmin": "审计管理员丙"}


def _admins():
    admin_agency = AgencyFactory(kind=AgencyKind.DEPARTMENT)
    return {role: UserFactory(username=role, display_name=ADMIN_NAMES[role], roles=[role],
                              agency=admin_agency)
            for role in ("sysadmin", "secadmin", "auditadmin")}


def _reset_password(client, holder) -> str:
    page = client.post_form(f"/admin/users/{holder.id}/password")
    assert page.status_code == 200
    return re.search(r'id="temporary-password">(\w{14})<', page.get_data(as_text=True)).group(1)


def _notices(user, kind):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.recipient_id == user.id, Notification.kind == kind)))


def test_a_password_reset_does_not_let_the_system_administrator_in(client, new_client):
    world = make_world(client)
    holder = _holder(world)
    _admins()
    admin = new_client()
    admin.sign_in("sysadmin")
    temporary = _reset_password(admin, holder)
    assert _notices(holder, Kind.PASSWORD_RESET)  # the holder hears of it

    # The administrator signs in with the temporary password: a code is asked, and without
    # the holder's phone there is none to give.
    thief = new_client()
    step = thief.post_form("/login", {"username": holder.username, "password": temporary})
    assert step.headers["Location"] == "/login/code"
    for guess in ("000000", "123456", "111111", "654321", "999999"):
        thief.post_form("/login/code", {"code": guess})
    for url in ("/", "/referrals/inbox", "/account/password", "/notifications"):
        assert thief.get(url).status_code == 302, url
    assert thief.get("/").headers["Location"].startswith("/login")
    # Nor by the API, with or without a code.
    for body in ({}, {"otp": "123456"}):
        token = thief.post("/api/v1/tokens", json={"username": holder.username,
                                                   "password": temporary, **body})
        assert token.status_code == 401
    # Nor can the system administrator take the second factor away: that is not theirs.
    assert admin.post_form(f"/admin/roles/{holder.id}/second-factor").status_code in (403, 404)
    db.session.refresh(holder)
    assert holder.otp_enrolled_at is not None


def test_the_security_administrator_resets_a_second_factor_and_the_holder_enrols_again(
        client, new_client):
    world = make_world(client)
    holder = _holder(world)
    _admins()
    sec = new_client()
    sec.sign_in("secadmin")
    page = sec.get(f"/admin/roles/{holder.id}")
    assert "已设置" in page_text(page) and "重置第二因素" in page_text(page)
    done = sec.post_form(f"/admin/roles/{holder.id}/second-factor")
    assert done.headers["Location"] == f"/admin/roles/{holder.id}"
    db.session.refresh(holder)
    assert holder.otp_secret is None and holder.otp_enrolled_at is None
    [event] = events("user.reset_second_factor")
    assert event.actor_username == "secadmin"
    assert _notices(holder, Kind.SECOND_FACTOR_RESET)
    # The security administrator does not know the password: the holder, with it, enrols anew.
    step = new_client().post_form("/login", {"username": holder.username,
                                             "password": TEST_PASSWORD})
    assert step.headers["Location"] == "/login/enrol"
    # A second reset has nothing to reset, and says so.
    again = sec.post_form(f"/admin/roles/{holder.id}/second-factor", follow_redirects=True)
    assert again.status_code == 400 and "没有可重置的第二因素" in page_text(again)
    # One's own cannot be reset by oneself.
    me = db.session.scalar(sa.select(User).where(User.username == "secadmin"))
    enrol(me)
    db.session.commit()
    assert sec.post_form(f"/admin/roles/{me.id}/second-factor").status_code == 400


def _both_reset(new_client, holder, apart: timedelta, between=lambda: None) -> None:
    """The system administrator resets the password, the security administrator the second
    factor `apart` later (`between` is checked in between)."""
    with time_machine.travel(now_utc(), tick=False) as traveller:
        admin = new_client()
        admin.sign_in("sysadmin")
        _reset_password(admin, holder)
        between()
        traveller.shift(apart)
        sec = new_client()
        sec.sign_in("secadmin")
        sec.post_form(f"/admin/roles/{holder.id}/second-factor")


def test_both_resets_within_a_day_are_flagged_to_the_audit_administrator(client, new_client):
    world = make_world(client)
    holder = _holder(world)
    admins = _admins()

    def not_flagged_yet():
        assert not _notices(admins["auditadmin"], Kind.RESETS_FLAGGED)

    _both_reset(new_client, holder, timedelta(hours=20), between=not_flagged_yet)
    [flag] = _notices(admins["auditadmin"], Kind.RESETS_FLAGGED)
    [event] = events("user.resets_flagged")
    assert (event.object_id, event.outcome) == (str(holder.id), "denied")
    auditor = new_client()
    auditor.sign_in("auditadmin")
    shown = page_text(auditor.get("/notifications"))
    assert f"账号 {holder.username}" in shown
    # The holder hears of both resets.
    assert _notices(holder, Kind.PASSWORD_RESET) and _notices(holder, Kind.SECOND_FACTOR_RESET)
    with force_locale("zh_CN"), current_app.test_request_context():
        titles = {n.title for n in listed(holder, _notices(holder, Kind.PASSWORD_RESET))}
    assert titles == {"您的账号"}


def test_resets_a_week_apart_are_not_flagged(client, new_client):
    world = make_world(client)
    holder = _holder(world)
    admins = _admins()
    _both_reset(new_client, holder, timedelta(days=7))
    assert not _notices(admins["auditadmin"], Kind.RESETS_FLAGGED)
    assert not events("user.resets_flagged")


def test_the_administrators_own_sign_ins_need_their_second_factor(new_client):
    _admins()
    for role in ("sysadmin", "secadmin", "auditadmin"):
        step = new_client().post_form("/login", {"username": role, "password": TEST_PASSWORD})
        assert step.headers["Location"] == "/login/enrol", role


# --- an account without a second factor: two people reset its password ----------------------

def _plain_holder(world) -> User:
    """An audit-bureau account: by default it needs no second factor and has none."""
    holder = world.audit_staff
    assert not twofactor.needed(holder)
    return holder


def _signed_in(new_client, role):
    client = new_client()
    client.sign_in(role)
    return client


def _reset_columns(user) -> tuple:
    db.session.expire_all()
    user = db.session.get(User, user.id)
    return (user.password_reset_requested_at, user.password_reset_requested_by_id,
            user.password_reset_approved_at, user.password_reset_approved_by_id)


def _holder_signs_in(new_client, holder, password=TEST_PASSWORD) -> bool:
    response = new_client().sign_in(holder.username, password)
    return response.status_code == 302 and response.headers["Location"] == "/"


def _in_chinese(response) -> str:
    """The page's text, after checking that what a person reads there is Chinese (as the walk
    of tests/test_chinese_everywhere.py checks the demo's pages, in every state of a reset)."""
    assert response.status_code < 500
    data = DemoData()
    wrong = [text for text in visible_strings(response.get_data(as_text=True))
             if english_words(data.without(text)) or half_width_marks(data.without(text))]
    assert wrong == []
    return page_text(response)


def _ask(admin, holder):
    """The system administrator presses the reset button: only a request."""
    asked = admin.post_form(f"/admin/users/{holder.id}/password", follow_redirects=True)
    assert asked.status_code == 200
    assert 'id="temporary-password"' not in asked.get_data(as_text=True)
    assert "须经安全管理员批准后才能签发临时密码" in _in_chinese(asked)
    return asked


def test_the_system_administrator_alone_cannot_enter_an_account_without_a_second_factor(
        client, new_client):
    world = make_world(client)
    holder = _plain_holder(world)
    _admins()
    password_hash = holder.password_hash
    admin = _signed_in(new_client, "sysadmin")
    page = _in_chinese(admin.get(f"/admin/users/{holder.id}"))
    assert "申请重置密码" in page and "须由两人完成" in page

    # 1. The reset is only a request: the password, the sessions and the holder stay as they
    #    were, nobody is told of a reset, and the system administrator has nothing to sign in
    #    with.
    holder_session = _signed_in(new_client, holder.username)
    _ask(admin, holder)
    db.session.expire_all()
    assert db.session.get(User, holder.id).password_hash == password_hash
    assert holder_session.get("/").status_code == 200
    assert _holder_signs_in(new_client, holder)
    assert not _notices(holder, Kind.PASSWORD_RESET)
    assert not events("user.reset_password")
    [asked] = events("user.request_password_reset")
    assert (asked.actor_username, asked.object_id) == ("sysadmin", str(holder.id))
    page = admin.get(f"/admin/users/{holder.id}")
    assert "系统管理员甲于" in _in_chinese(page) and "正在等待安全管理员批准" in page_text(page)
    # No button while it waits.
    assert f'action="/admin/users/{holder.id}/password"' not in page.get_data(as_text=True)

    # 2. Pressing again does not issue a password either: refused, and nothing changes.
    columns = _reset_columns(holder)
    again = admin.post_form(f"/admin/users/{holder.id}/password")
    assert again.status_code == 409
    assert "已在等待安全管理员批准" in _in_chinese(again)
    assert 'id="temporary-password"' not in again.get_data(as_text=True)
    assert _reset_columns(holder) == columns
    assert len(events("user.request_password_reset")) == 1

    # 3. Nor can the system administrator approve it: that is not theirs.
    for url in ("approve", "refuse"):
        assert admin.post_form(f"/admin/roles/{holder.id}/password-reset/{url}").status_code \
            == 403
    assert _reset_columns(holder) == columns

    # 4. The security administrator sees who asked and when, in the list and on the account.
    sec = _signed_in(new_client, "secadmin")
    assert "密码重置待批准" in _in_chinese(sec.get("/admin/roles"))
    page = sec.get(f"/admin/roles/{holder.id}")
    assert "系统管理员甲于" in _in_chinese(page) and "批准重置" in page_text(page)
    approved = sec.post_form(f"/admin/roles/{holder.id}/password-reset/approve",
                             follow_redirects=True)
    assert approved.status_code == 200 and "已批准" in _in_chinese(approved)
    assert 'id="temporary-password"' not in approved.get_data(as_text=True)
    [approval] = events("user.approve_password_reset")
    assert approval.actor_username == "secadmin"
    assert json.loads(approval.details) == {"requested_by": "sysadmin"}
    # An approval changes nothing about the password either.
    assert _holder_signs_in(new_client, holder)
    assert "密码重置待批准" not in _in_chinese(sec.get("/admin/roles"))

    # 5. Now the system administrator issues the temporary password, shown once.
    page = admin.get(f"/admin/users/{holder.id}")
    assert "已由安全管理员安全管理员乙于" in _in_chinese(page)
    assert "确定重置密码吗" in page.get_data(as_text=True)  # the reset button's question
    temporary = _reset_password(admin, holder)
    assert _notices(holder, Kind.PASSWORD_RESET)
    assert holder_session.get("/").status_code == 302  # signed out
    assert not _holder_signs_in(new_client, holder)
    assert new_client().sign_in(holder.username, temporary).headers["Location"] == \
        "/account/password"
    # Two people did it, and the log names both.
    [reset] = events("user.reset_password")
    assert reset.actor_username == "sysadmin"
    assert json.loads(reset.details) == {"requested_by": "sysadmin", "approved_by": "secadmin"}
    db.session.expire_all()
    user = db.session.get(User, holder.id)
    assert user.must_change_password and user.password_reset_at is not None

    # 6. One approval, one reset: the next press is a new request.
    assert _reset_columns(holder) == (None, None, None, None)
    _ask(admin, holder)
    assert len(events("user.reset_password")) == 1
    assert len(events("user.request_password_reset")) == 2


def test_the_security_administrator_refuses_a_reset_or_withdraws_an_approval(client,
                                                                            new_client):
    world = make_world(client)
    holder = _plain_holder(world)
    _admins()
    admin = _signed_in(new_client, "sysadmin")
    sec = _signed_in(new_client, "secadmin")
    _ask(admin, holder)
    refused = sec.post_form(f"/admin/roles/{holder.id}/password-reset/refuse",
                            follow_redirects=True)
    assert refused.status_code == 200 and "已驳回" in _in_chinese(refused)
    [refusal] = events("user.refuse_password_reset")
    assert refusal.actor_username == "secadmin"
    assert json.loads(refusal.details) == {"requested_by": "sysadmin"}
    assert _reset_columns(holder) == (None, None, None, None)
    assert "申请重置密码" in _in_chinese(admin.get(f"/admin/users/{holder.id}"))
    # The next press asks again; it does not issue a password.
    _ask(admin, holder)

    # An approval not used yet can be withdrawn, and then the reset needs asking again.
    sec.post_form(f"/admin/roles/{holder.id}/password-reset/approve")
    assert "撤回批准" in _in_chinese(sec.get(f"/admin/roles/{holder.id}"))
    sec.post_form(f"/admin/roles/{holder.id}/password-reset/refuse")
    [_first, withdrawal] = events("user.refuse_password_reset")
    assert json.loads(withdrawal.details) == {"requested_by": "sysadmin",
                                              "approved_by": "secadmin"}
    _ask(admin, holder)
    assert not events("user.reset_password")
    assert _holder_signs_in(new_client, holder)


def test_an_approval_runs_out_after_a_day(client, new_client):
    world = make_world(client)
    holder = _plain_holder(world)
    _admins()
    with time_machine.travel(now_utc(), tick=False) as traveller:
        admin = _signed_in(new_client, "sysadmin")
        sec = _signed_in(new_client, "secadmin")
        _ask(admin, holder)
        sec.post_form(f"/admin/roles/{holder.id}/password-reset/approve")
        # (A day later the sessions have timed out: the administrators sign in afresh.)
        traveller.shift(RESET_APPROVAL_LIFETIME - timedelta(minutes=1))
        admin = _signed_in(new_client, "sysadmin")
        assert "已由安全管理员" in _in_chinese(admin.get(f"/admin/users/{holder.id}"))
        traveller.shift(timedelta(minutes=2))
        page = _in_chinese(admin.get(f"/admin/users/{holder.id}"))
        assert "过期且未使用" in page and "申请重置密码" in page
        sec = _signed_in(new_client, "secadmin")
        assert "过期且未使用" in _in_chinese(sec.get(f"/admin/roles/{holder.id}"))
        # Pressing reset now asks again; nothing is issued.
        _ask(admin, holder)
        [_first, again] = events("user.request_password_reset")
        assert json.loads(again.details) == {"earlier_approval_expired": True}
        assert not events("user.reset_password")
        assert _holder_signs_in(new_client, holder)
        # An expired approval is not there to withdraw; the new request waits for approval.
        assert _reset_columns(holder)[2] is None


def test_who_may_approve_a_reset(client, new_client):
    world = make_world(client)
    holder = _plain_holder(world)
    _admins()
    _ask(_signed_in(new_client, "sysadmin"), holder)
    columns = _reset_columns(holder)
    for username in ("sysadmin", "auditadmin", world.audit_staff.username,
                     world.audit_leader.username):
        someone = _signed_in(new_client, username)
        for url in ("approve", "refuse"):
            answer = someone.post_form(f"/admin/roles/{holder.id}/password-reset/{url}")
            assert answer.status_code == 403, (username, url)
    assert _reset_columns(holder) == columns
    assert not events("user.approve_password_reset") + events("user.refuse_password_reset")
    # Nobody decides on a reset of their own password, not even a security administrator.
    sec = db.session.scalar(sa.select(User).where(User.username == "secadmin"))
    sec.password_reset_requested_at = now_utc()
    sec.password_reset_requested_by_id = db.session.scalar(
        sa.select(User.id).where(User.username == "sysadmin"))
    db.session.commit()
    sec_client = _signed_in(new_client, "secadmin")
    assert "批准重置" not in _in_chinese(sec_client.get(f"/admin/roles/{sec.id}"))
    own = sec_client.post_form(f"/admin/roles/{sec.id}/password-reset/approve")
    assert own.status_code == 400 and "须由他人决定" in _in_chinese(own)
    assert _reset_columns(sec)[2] is None


def test_a_security_administrator_cannot_approve_a_request_they_made(client):
    """They cannot make one (no account holds both roles); were one to slip through, say after
    a change of roles, it still takes someone else."""
    _admins()
    sec = db.session.scalar(sa.select(User).where(User.username == "secadmin"))
    holder = UserFactory()
    holder.password_reset_requested_at = now_utc()
    holder.password_reset_requested_by_id = sec.id
    db.session.commit()
    client.sign_in("secadmin")
    answer = client.post_form(f"/admin/roles/{holder.id}/password-reset/approve")
    assert answer.status_code == 400 and "须由他人批准" in _in_chinese(answer)
    assert _reset_columns(holder)[2] is None
    assert not events("user.approve_password_reset")


def test_decisions_from_the_wrong_state_say_so_and_change_nothing(client, new_client):
    world = make_world(client)
    holder = _plain_holder(world)
    _admins()
    sec = _signed_in(new_client, "secadmin")
    admin = _signed_in(new_client, "sysadmin")
    before = len(events())
    # Nothing asked: nothing to approve or refuse.
    for url in ("approve", "refuse"):
        answer = sec.post_form(f"/admin/roles/{holder.id}/password-reset/{url}")
        assert answer.status_code == 409, url
        assert "没有等待批准的密码重置申请" in _in_chinese(answer)
    assert len(events()) == before
    assert _reset_columns(holder) == (None, None, None, None)
    # An account that does not exist.
    assert sec.post_form("/admin/roles/999999/password-reset/approve").status_code == 404
    assert admin.post_form("/admin/users/999999/password").status_code == 404
    # Approved once: a second approval is refused and changes nothing.
    _ask(admin, holder)
    sec.post_form(f"/admin/roles/{holder.id}/password-reset/approve")
    columns = _reset_columns(holder)
    twice = sec.post_form(f"/admin/roles/{holder.id}/password-reset/approve")
    assert twice.status_code == 409 and "已获批准" in _in_chinese(twice)
    assert _reset_columns(holder) == columns
    assert len(events("user.approve_password_reset")) == 1
    # Approved, the system administrator's request to ask again is refused too.
    with pytest.raises(OperationError, match="approved already"), force_locale("en"):
        operations.request_password_reset(db.session.get(User, columns[1]),
                                          db.session.get(User, holder.id))
    db.session.rollback()
    assert _reset_columns(holder) == columns


def test_two_resets_on_one_approval_issue_one_password(client, new_client):
    """The approval is taken with a conditional UPDATE: a reset whose reading of it is stale
    (another reset took it meanwhile) issues nothing."""
    world = make_world(client)
    holder = _plain_holder(world)
    _admins()
    admin = _signed_in(new_client, "sysadmin")
    _ask(admin, holder)
    _signed_in(new_client, "secadmin").post_form(
        f"/admin/roles/{holder.id}/password-reset/approve")
    db.session.expire_all()
    user = db.session.get(User, holder.id)
    actor = db.session.scalar(sa.select(User).where(User.username == "sysadmin"))
    assert operations.reset_approval(user) == operations.ResetApproval.APPROVED
    # The other reset, as the database sees it: the approval is gone.
    db.session.execute(sa.update(User).where(User.id == user.id).values(
        password_reset_requested_at=None, password_reset_approved_at=None,
        password_reset_requested_by_id=None, password_reset_approved_by_id=None)
        .execution_options(synchronize_session=False))
    hash_before = user.password_hash
    with pytest.raises(OperationError) as refused, force_locale("en"):
        operations.reset_password(actor, user)
    assert refused.value.status == 409
    db.session.rollback()
    assert db.session.get(User, holder.id).password_hash == hash_before
    assert not events("user.reset_password")


def test_an_account_that_enrols_meanwhile_is_reset_in_one_step(client, new_client):
    world = make_world(client)
    holder = _plain_holder(world)
    _admins()
    admin = _signed_in(new_client, "sysadmin")
    _ask(admin, holder)
    enrol(holder)
    db.session.commit()
    _reset_password(admin, holder)  # the second factor still guards it: one step, as ever
    [reset] = events("user.reset_password")
    assert json.loads(reset.details) == {}
    assert _reset_columns(holder) == (None, None, None, None)
    assert not events("user.approve_password_reset")
