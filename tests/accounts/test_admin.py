"""The system administrator's accounts and agencies, the security administrator's roles."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from supervise.accounts.models import Agency, RoleConflict, User, UserRole, check_role_set
from supervise.extensions import db
from tests.accounts.test_sign_in import _cookie, _replay
from tests.conftest import TEST_PASSWORD, page_text
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import events
from tests.support.resets import approved_reset


@pytest.fixture
def sysadmin(client):
    user = UserFactory(username="sys", roles=["sysadmin"])
    client.sign_in("sys")
    return user


@pytest.fixture
def secadmin(client):
    user = UserFactory(username="sec", roles=["secadmin"])
    client.sign_in("sec")
    return user


def _temporary_password(response) -> str:
    return re.search(r'id="temporary-password">([^<]+)<', response.get_data(as_text=True)).group(1)


def test_sysadmin_creates_an_agency(client, sysadmin):
    response = client.post_form("/admin/agencies", {"code": "unit-finance", "name": "区财政局",
                                                    "kind": "department"})
    assert response.status_code == 302
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == "unit-finance"))
    assert agency.name == "区财政局"
    [event] = events("agency.create")
    assert event.actor_username == "sys"
    assert "区财政局" in page_text(client.get("/admin/agencies"))


@pytest.mark.parametrize("data, message", [
    ({"code": "Bad Code", "name": "x", "kind": "audit"}, "代码"),
    ({"code": "dup", "name": "x", "kind": "audit"}, "已存在"),
    ({"code": "ok-code", "name": "x" * 101, "kind": "audit"}, None),
    ({"code": "ok-code", "name": "", "kind": "audit"}, "必填"),
    ({"code": "ok-code", "name": "x", "kind": "martian"}, None),
])
def test_bad_agency_input_is_refused_and_changes_nothing(client, sysadmin, data, message):
    AgencyFactory(code="dup")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Agency))
    seq_before = len(events())
    response = client.post_form("/admin/agencies", data)
    assert response.status_code == 400
    if message:
        assert message in page_text(response)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == before
    assert len(events()) == seq_before


def test_disabling_an_agency_signs_its_users_out(client, sysadmin, app):
    member = UserFactory(username="member")
    other = app.test_client()
    other.sign_in("member")
    cookie = _cookie(other)
    response = client.post_form(f"/admin/agencies/{member.agency_id}/active", {"active": "0"})
    assert response.status_code == 302
    assert _replay(app, cookie).status_code == 302
    assert app.test_client().sign_in("member").status_code == 403


def test_sysadmin_creates_an_account_that_must_change_its_password(client, sysadmin, app):
    agency = AgencyFactory(code="audit")
    response = client.post_form("/admin/users", {"username": "new.staff", "display_name": "新同事",
                                                 "agency": agency.id})
    assert response.status_code == 200
    password = _temporary_password(response)
    user = db.session.scalar(sa.select(User).where(User.username == "new.staff"))
    assert user.must_change_password and user.roles == frozenset()
    assert password not in str([e.details for e in events()])

    newcomer = app.test_client()
    response = newcomer.sign_in("new.staff", password)
    assert response.headers["Location"] == "/account/password"
    # Everything else sends them back to the password page until it is changed.
    assert newcomer.get("/").headers["Location"] == "/account/password"
    response = newcomer.post_form("/account/password", {
        "current_password": password, "new_password": "A brand new secret 7",
        "confirm_password": "A brand new secret 7"})
    assert response.headers["Location"] == "/"
    assert newcomer.get("/").status_code == 200


def test_reset_password_signs_the_user_out_and_forces_a_change(client, sysadmin, app):
    user = UserFactory(username="forgetful")
    other = app.test_client()
    other.sign_in("forgetful")
    cookie = _cookie(other)
    response = approved_reset(client, user)
    password = _temporary_password(response)
    assert _replay(app, cookie).status_code == 302
    assert app.test_client().sign_in("forgetful", TEST_PASSWORD).status_code == 401
    assert app.test_client().sign_in("forgetful", password).headers["Location"] == \
        "/account/password"
    assert [e.object_id for e in events("user.reset_password")] == [str(user.id)]


def test_disabling_an_account_ends_its_sessions(client, sysadmin, app):
    user = UserFactory(username="leaver")
    other = app.test_client()
    other.sign_in("leaver")
    cookie = _cookie(other)
    client.post_form(f"/admin/users/{user.id}/active", {"active": "0"})
    assert _replay(app, cookie).status_code == 302
    assert len(events("user.disable")) == 1


def test_sysadmin_cannot_disable_itself(client, sysadmin):
    response = client.post_form(f"/admin/users/{sysadmin.id}/active", {"active": "0"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, sysadmin.id).active


def test_sysadmin_cannot_assign_roles(client, sysadmin):
    user = UserFactory()
    assert client.post_form(f"/admin/roles/{user.id}", {"roles": ["leader"]}).status_code == 403


def test_secadmin_assigns_roles_and_the_old_session_ends(client, secadmin, app):
    user = UserFactory(username="promoted", roles=["staff"])
    other = app.test_client()
    other.sign_in("promoted")
    cookie = _cookie(other)
    response = client.post_form(f"/admin/roles/{user.id}", {"roles": ["staff", "leader"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert {r.value for r in db.session.get(User, user.id).roles} == {"staff", "leader"}
    assert _replay(app, cookie).status_code == 302
    [event] = events("user.set_roles")
    assert event.details == '{"added": ["leader"], "removed": []}'


@pytest.mark.parametrize("roles", [
    ["sysadmin", "secadmin"],
    ["secadmin", "auditadmin"],
    ["sysadmin", "auditadmin"],
    ["auditadmin", "staff"],
])
def test_no_account_holds_two_administrator_roles(client, secadmin, roles):
    user = UserFactory(roles=["staff"])
    seq_before = len(events())
    response = client.post_form(f"/admin/roles/{user.id}", {"roles": roles})
    assert response.status_code == 400
    assert "管理员" in page_text(response)
    db.session.expire_all()
    assert {r.value for r in db.session.get(User, user.id).roles} == {"staff"}
    assert len(events()) == seq_before


def test_secadmin_cannot_change_own_roles(client, secadmin):
    response = client.post_form(f"/admin/roles/{secadmin.id}", {"roles": ["sysadmin"]})
    assert response.status_code == 400


def test_role_separation_is_enforced_by_the_model():
    with pytest.raises(RoleConflict):
        check_role_set(["sysadmin", "auditadmin"])
    user = UserFactory(roles=["secadmin"])
    with pytest.raises(RoleConflict):
        user.set_roles(["secadmin", "sysadmin"])


def test_role_separation_is_enforced_by_the_database():
    user = UserFactory(roles=["secadmin"])
    db.session.add(UserRole(user_id=user.id, role="sysadmin"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_change_own_password_ends_other_sessions(client, app):
    UserFactory(username="wang")
    client.sign_in("wang")
    other = app.test_client()
    other.sign_in("wang")
    response = client.post_form("/account/password", {
        "current_password": TEST_PASSWORD, "new_password": "Another long secret 8",
        "confirm_password": "Another long secret 8"})
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other.get("/").status_code == 302
    assert app.test_client().sign_in("wang", "Another long secret 8").status_code == 302


@pytest.mark.parametrize("current, new, confirm, message", [
    ("wrong password", "Another long secret 8", "Another long secret 8", "当前密码不正确"),
    (TEST_PASSWORD, "short", "short", "至少"),
    (TEST_PASSWORD, "Another long secret 8", "Different long secret 9", "不一致"),
    (TEST_PASSWORD, TEST_PASSWORD, TEST_PASSWORD, "中的至少3类"),  # see test_passwords
])
def test_bad_password_change_is_refused(client, current, new, confirm, message):
    UserFactory(username="wang")
    client.sign_in("wang")
    response = client.post_form("/account/password", {
        "current_password": current, "new_password": new, "confirm_password": confirm})
    assert response.status_code == 400
    assert message in page_text(response)
    assert app_sign_in_still_works(client.application)


def app_sign_in_still_works(app):
    return app.test_client().sign_in("wang", TEST_PASSWORD).status_code == 302


def test_user_list_runs_the_same_number_of_queries_for_5_and_50_users(client, sysadmin,
                                                                       count_queries):
    def measure():
        with count_queries() as statements:
            assert client.get("/admin/users").status_code == 200
        return len(statements)

    agency = AgencyFactory()
    UserFactory.create_batch(4, agency=agency)
    few = measure()
    UserFactory.create_batch(45, agency=agency, roles=["leader"])
    many = measure()
    assert few == many
