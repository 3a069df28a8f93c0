"""The API skeleton: tokens, the caller, JSON errors in the caller's language."""

from datetime import timedelta

import time_machine

from supervise.database import now_utc
from tests.conftest import TEST_PASSWORD
from tests.factories import UserFactory
from tests.helpers import events


def token_for(client, username, password=TEST_PASSWORD):
    return client.post("/api/v1/tokens", json={"username": username, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_then_me(client):
    user = UserFactory(username="wang", display_name="王审计", roles=["staff", "leader"])
    response = token_for(client, "wang")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert body["expires_at"].endswith("+08:00")
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json() == {
        "username": "wang", "display_name": "王审计", "roles": ["leader", "staff"],
        "agency": {"code": user.agency.code, "name": user.agency.name, "kind": "audit"},
    }
    assert [e.action for e in events()][-1] == "auth.token_issued"


def test_every_bad_credential_gets_the_same_401(client):
    UserFactory(username="wang")
    UserFactory(username="gone", active=False)
    answers = [token_for(client, "wang", "wrong"), token_for(client, "nobody", "wrong"),
               token_for(client, "gone", TEST_PASSWORD)]
    assert {a.status_code for a in answers} == {401}
    assert len({a.get_json()["message"] for a in answers}) == 1
    assert "用户名、密码或验证码不正确" in answers[0].get_json()["message"]


def test_lock_out_applies_to_tokens(client):
    UserFactory(username="wang")
    for _ in range(5):
        token_for(client, "wang", "wrong")
    assert token_for(client, "wang").status_code == 401
    assert len(events("auth.lock_out")) == 1


def test_token_expires_after_twelve_hours(client):
    UserFactory(username="wang")
    with time_machine.travel(now_utc(), tick=False) as traveller:
        token = token_for(client, "wang").get_json()["token"]
        traveller.shift(timedelta(hours=11, minutes=59))
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        traveller.shift(timedelta(minutes=2))
        response = client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(client):
    UserFactory(username="wang")
    token = token_for(client, "wang").get_json()["token"]
    assert client.delete("/api/v1/tokens/current", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert len(events("auth.token_revoked")) == 1


def test_token_is_stored_hashed(client):
    from supervise.accounts.models import Credential
    from supervise.extensions import db

    UserFactory(username="wang")
    token = token_for(client, "wang").get_json()["token"]
    stored = db.session.query(Credential).one()
    assert token not in (stored.token_hash,)
    assert len(stored.token_hash) == 64


def test_disabling_or_role_change_revokes_tokens(client, app):
    from supervise.accounts import operations
    from supervise.extensions import db

    admin = UserFactory(roles=["secadmin"])
    user = UserFactory(username="wang")
    token = token_for(client, "wang").get_json()["token"]
    operations.set_roles(admin, user, ["leader"])
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_garbage_bearer_token_is_refused(client):
    assert client.get("/api/v1/me", headers=bearer("nonsense")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer "}).status_code == 401


def test_bearer_requests_need_no_csrf_but_cookie_requests_do(client):
    UserFactory(username="wang")
    token = token_for(client, "wang").get_json()["token"]
    assert client.delete("/api/v1/tokens/current", headers=bearer(token)).status_code == 204

    client.sign_in("wang")
    refused = client.delete("/api/v1/tokens/current")
    assert refused.status_code == 400
    assert "安全令牌" in refused.get_json()["message"]
    with_token = client.delete("/api/v1/tokens/current",
                               headers={"X-CSRFToken": client.csrf_token()})
    assert with_token.status_code == 400  # passes CSRF; a cookie session has no token to revoke
    assert "令牌" in with_token.get_json()["message"]


def test_cookie_session_reads_the_api(client):
    UserFactory(username="wang")
    client.sign_in("wang")
    assert client.get("/api/v1/me").get_json()["username"] == "wang"


def test_forced_password_change_blocks_the_api(client):
    UserFactory(username="wang", must_change_password=True)
    response = token_for(client, "wang")
    assert response.status_code == 403
    assert "修改密码" in response.get_json()["message"]


def test_malformed_json_gets_a_clear_message(client):
    response = client.post("/api/v1/tokens", data="{not json",
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == "请求正文不是有效的JSON。"


def test_missing_field_is_named(client):
    response = client.post("/api/v1/tokens", json={"username": "wang"})
    assert response.status_code == 422
    body = response.get_json()
    assert "password" in body["errors"]
    assert body["errors"]["password"] == ["必填字段缺少数据。"]


def test_errors_are_json_in_english_on_request(client):
    response = client.post("/api/v1/tokens", json={"username": "x", "password": "y"},
                           headers={"Accept-Language": "en"})
    assert response.get_json()["message"].startswith(
        "The user name, password or code is not correct")
    assert client.get("/api/v1/nowhere").get_json() == {"status": 404, "message": "未找到。"}


def test_openapi_document_is_served(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "supervise"
    assert {"/api/v1/tokens", "/api/v1/tokens/current", "/api/v1/me"} <= set(spec["paths"])


def test_validator_messages_are_translated_too(client):
    from supervise.errors import _translate_messages

    with client.application.test_request_context():
        assert _translate_messages(["Must be one of: own, shared_with_us."]) == [
            "必须是以下之一：own, shared_with_us。"]
        assert _translate_messages({"per_page": [
            "Must be greater than or equal to 1 and less than or equal to 100."]}) == {
            "per_page": ["取值范围为 1 至 100。"]}
