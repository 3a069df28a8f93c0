"""No single administrator can enter an account (issue 12): the takeover walk a system
administrator would try, step by step, and what each reset tells whom."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
import time_machine
from flask import current_app
from flask_babel import force_locale

from supervise.accounts.models import AgencyKind, User
from supervise.database import now_utc
from supervise.extensions import db
from supervise.notifications.models import Kind, Notification
from supervise.policy.notifications import listed
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import events
from tests.referrals.factories import make_world
from tests.support.twofactor import enrol


def _holder(world) -> User:
    holder = world.disc_staff
    enrol(holder)
    db.session.commit()
    return holder


def _admins():
    admin_agency = AgencyFactory(kind=AgencyKind.DEPARTMENT)
    return {role: UserFactory(username=role, roles=[role], agency=admin_agency)
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
