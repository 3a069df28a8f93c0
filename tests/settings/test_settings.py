"""The security administrator's settings and categories."""

import sqlalchemy as sa

from supervise.events.models import Event
from supervise.extensions import db
from supervise.settings.models import Category, Setting
from tests.factories import UserFactory


def sign_in_secadmin(app):
    UserFactory(username="sec", roles=["secadmin"])
    client = app.test_client()
    client.sign_in("sec")
    return client


def test_secadmin_changes_the_attachment_limit(app):
    client = sign_in_secadmin(app)
    assert client.get("/settings/").status_code == 200
    response = client.post_form("/settings/", {"attachment_max_mb": "5"})
    assert response.status_code == 302
    assert db.session.get(Setting, "attachment_max_mb").value == 5
    [event] = db.session.scalars(sa.select(Event).where(Event.action == "settings.change"))
    assert event.details == '{"from": 20, "to": 5}'


def test_bad_setting_values_are_refused(app):
    client = sign_in_secadmin(app)
    for value in ("0", "1000", "five", ""):
        response = client.post_form("/settings/", {"attachment_max_mb": value})
        assert response.status_code == 400, value
    assert db.session.get(Setting, "attachment_max_mb") is None


def test_secadmin_adds_and_disables_a_category(app):
    client = sign_in_secadmin(app)
    response = client.post_form("/settings/categories", {
        "code": "poverty_funds", "name": "扶贫资金", "name_en": "Poverty alleviation funds"})
    assert response.status_code == 302
    assert db.session.get(Category, "poverty_funds").name == "扶贫资金"
    assert client.post_form("/settings/categories", {
        "code": "poverty_funds", "name": "x", "name_en": "y"}).status_code == 400
    assert client.post_form("/settings/categories", {
        "code": "Bad Code", "name": "x", "name_en": "y"}).status_code == 400
    client.post_form("/settings/categories/poverty_funds/active", {"active": "0"})
    db.session.expire_all()
    assert not db.session.get(Category, "poverty_funds").active


def test_staff_cannot_reach_settings(app):
    UserFactory(username="wang")
    client = app.test_client()
    client.sign_in("wang")
    assert client.get("/settings/").status_code == 403
    assert client.post_form("/settings/", {"attachment_max_mb": "99"}).status_code == 403


def test_the_export_threshold_and_the_storage_backend_are_on_the_settings_page(app,
                                                                              monkeypatch):
    from tests.conftest import page_text

    client = sign_in_secadmin(app)
    text = page_text(client.get("/settings/"))
    assert "台账：行数超过此数时在后台生成" in text and "保存在服务器的文件夹中" in text
    response = client.post_form("/settings/", {"export_background_rows": "10000"})
    assert response.status_code == 302
    assert db.session.get(Setting, "export_background_rows").value == 10000
    monkeypatch.setitem(app.config, "FILE_STORAGE", "database")
    assert "保存在数据库中" in page_text(client.get("/settings/"))
