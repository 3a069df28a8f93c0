"""The interface shell: language, assets served locally, security headers and cookies."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from supervise.accounts.models import Role
from supervise.extensions import db
from tests.conftest import page_text
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "supervise/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def test_chinese_is_the_default(client):
    page = page_text(client.get("/login"))
    assert "登录" in page and "Sign in" not in page


def test_english_on_request_and_remembered_per_user(client, app):
    user = UserFactory(username="wang")
    response = client.post_form("/language", {"locale": "en", "next": "/login"})
    assert response.headers["Location"] == "/login"
    assert "Sign in" in page_text(client.get("/login"))
    client.sign_in("wang")
    assert "Welcome" in page_text(client.get("/"))
    db.session.expire_all()
    assert user.locale == "en"
    # A new browser, signing in as the same user, gets English after sign-in.
    other = app.test_client()
    assert "登录" in page_text(other.get("/login"))
    other.sign_in("wang")
    assert "Welcome" in page_text(other.get("/"))


def test_language_switch_refuses_other_sites_and_unknown_languages(client):
    response = client.post_form("/language", {"locale": "fr", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"
    assert "登录" in page_text(client.get("/login"))


def test_every_string_in_the_code_is_translated_to_chinese():
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None,
                "ngettext": (1, 2)}
    method_map = [("supervise/**.py", "python"), ("supervise/templates/**.html", "jinja2"),
                  ("supervise/templates/**.txt", "jinja2")]
    missing, untranslated = [], []
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=keywords):
        msgid = message if isinstance(message, str) else message[0]
        entry = catalog.get(msgid)
        if entry is None:
            missing.append(msgid)
        elif entry.fuzzy or not (all(entry.string) if isinstance(entry.string, tuple)
                                 else entry.string):  # each plural form too
            untranslated.append(msgid)
    assert missing == [], "run `make extract-messages` and translate"
    assert untranslated == []


def _pages_for(role, user, client):
    client.sign_in(user.username)
    urls = ["/", "/account/password"]
    if role == Role.SYSADMIN:
        urls += ["/admin/agencies", "/admin/users", f"/admin/users/{user.id}",
                 f"/admin/agencies/{user.agency_id}"]
    if role == Role.SECADMIN:
        urls += ["/admin/roles"]
    if role == Role.AUDITADMIN:
        urls += ["/audit/events"]
    return [(url, client.get(url)) for url in urls]


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:)?//""", re.I)


@pytest.mark.parametrize("role", list(Role))
def test_no_page_refers_to_another_host_or_runs_inline_code(client, role):
    user = UserFactory(roles=[role])
    pages = [("/login", client.get("/login"))] + _pages_for(role, user, client)
    for url, response in pages:
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert not EXTERNAL.search(html), url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert not re.search(r"\sstyle\s*=", html), url
        assert "<style" not in html, url


def test_static_assets_refer_to_no_other_host(client):
    for asset in ("/static/css/app.css", "/static/js/app.js", "/static/js/charts.js"):
        response = client.get(asset)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text)
        response.close()


def test_security_headers(client):
    UserFactory(username="wang")
    anonymous = client.get("/login")
    csp = anonymous.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert anonymous.headers["X-Content-Type-Options"] == "nosniff"
    assert anonymous.headers["Referrer-Policy"] == "same-origin"
    client.sign_in("wang")
    signed_in = client.get("/")
    assert signed_in.headers["Cache-Control"] == "no-store"
    api = client.get("/api/v1/me")
    assert api.headers["Cache-Control"] == "no-store"
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_flags(client, app_factory):
    UserFactory(username="wang")
    response = client.sign_in("wang")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https_app = app_factory(SESSION_COOKIE_SECURE=True)
    cookie = https_app.test_client().sign_in("wang").headers["Set-Cookie"]
    assert "Secure" in cookie


def test_https_setting_comes_from_the_environment(monkeypatch, tmp_path):
    from supervise.config import load_config

    assert load_config(str(tmp_path))["SUPERVISE_HTTPS"] is False
    monkeypatch.setenv("SUPERVISE_HTTPS", "1")
    config = load_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True and config["SUPERVISE_HTTPS"] is True
    assert config["PREFERRED_URL_SCHEME"] == "https"


def test_hsts_only_over_https(client, app_factory):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    https = app_factory(SUPERVISE_HTTPS=True, SESSION_COOKIE_SECURE=True).test_client()
    for url in ("/login", "/api/v1/openapi.json", "/static/css/app.css", "/nowhere"):
        response = https.get(url, base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"), url
        response.close()


def test_forwarded_headers_are_believed_only_from_the_configured_proxies(app_factory):
    from supervise.events.models import Event

    UserFactory(username="wang")
    db.session.commit()
    spoofed = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}

    def sign_in_ip(app, headers, peer="10.0.0.2"):
        client = app.test_client()
        client.post_form("/login", {"username": "wang", "password": "wrong password"},
                         headers=headers, environ_base={"REMOTE_ADDR": peer})
        db.session.expire_all()
        return db.session.scalars(sa.select(Event.ip).where(
            Event.action == "auth.sign_in").order_by(Event.seq.desc())).first()

    direct = app_factory()
    assert sign_in_ip(direct, spoofed) == "10.0.0.2"
    behind_one = app_factory(SUPERVISE_PROXIES=1)
    assert sign_in_ip(behind_one, {"X-Forwarded-For": "192.168.5.9"}) == "192.168.5.9"
    # The client wrote a header of its own before the proxy added the real address: only the
    # proxy's hop is believed.
    assert sign_in_ip(behind_one, {"X-Forwarded-For": "6.6.6.6, 192.168.5.9"}) == "192.168.5.9"


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "１"])
def test_a_malformed_proxy_count_refuses_to_start(monkeypatch, tmp_path, value):
    from supervise.config import ConfigError, load_config

    monkeypatch.setenv("SUPERVISE_PROXIES", value)
    with pytest.raises(ConfigError, match="SUPERVISE_PROXIES must be a whole number"):
        load_config(str(tmp_path))


def test_navigation_shows_only_what_the_role_may_use(client):
    user = UserFactory(roles=["staff"])
    client.sign_in(user.username)
    html = client.get("/").get_data(as_text=True)
    for link in ("/admin/agencies", "/admin/users", "/admin/roles", "/audit/events"):
        assert f'href="{link}"' not in html


def test_phone_sized_screens_get_a_viewport_and_a_collapsible_menu(client):
    user = UserFactory(roles=["staff"])
    client.sign_in(user.username)
    html = client.get("/").get_data(as_text=True)
    assert 'name="viewport"' in html and "nav-toggle" in html
    css = client.get("/static/css/app.css")
    assert "@media (max-width" in css.get_data(as_text=True)
    css.close()


def test_error_pages_are_in_the_users_language(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "未找到" in page_text(response)


def test_no_fixed_api_path_answers_for_the_methods_of_a_variable_one(app):
    """A fixed API path such as /api/v1/referrals/named must not also match /referrals/<id>:
    its Allow header (OPTIONS, 405) would then advertise the methods of another resource, which
    the OpenAPI document does not list. (Web pages have no such contract.)"""
    adapter = app.url_map.bind("localhost")
    shadowed = {}
    for rule in app.url_map.iter_rules():
        if rule.arguments or not rule.rule.startswith("/api/"):
            continue
        own = set().union(*(r.methods for r in app.url_map.iter_rules() if r.rule == rule.rule))
        advertised = set(adapter.allowed_methods(rule.rule))
        if advertised != own:
            shadowed[rule.rule] = sorted(advertised - own)
    assert not shadowed
