"""Command-line tasks: demo data, the first administrator, configuration."""

import contextvars
import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from supervise.accounts.models import Agency, User
from supervise.config import ConfigError, load_config
from supervise.demo import DEMO_AGENCIES, DEMO_USERS
from supervise.extensions import db


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_demo_is_idempotent_and_every_account_signs_in(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--password", "demo-pass-2026"])
    assert first.exit_code == 0, first.output
    agencies, users = count(Agency), count(User)
    assert (agencies, users) == (len(DEMO_AGENCIES), len(DEMO_USERS))
    keys = dict(re.findall(r"^ +(\S+) .*second factor key (\w+)$", first.output, re.M))
    # The administrators and the discipline commission are enrolled, their keys printed.
    assert set(keys) == {"discipline.staff", "discipline.leader", "sysadmin", "secadmin",
                         "auditadmin"}
    second = runner.invoke(args=["seed-demo", "--password", "demo-pass-2026"])
    assert second.exit_code == 0
    assert (count(Agency), count(User)) == (agencies, users)
    assert dict(re.findall(r"^ +(\S+) .*second factor key (\w+)$", second.output, re.M)) == keys
    for username, *_ in DEMO_USERS:
        client = app.test_client()
        body = {"username": username, "password": "demo-pass-2026"}
        if username in keys:  # the code demo-otp prints is the key's, and it signs in
            code = runner.invoke(args=["demo-otp", username]).output.strip()
            assert code in {pyotp.TOTP(keys[username]).at(time.time() + d) for d in (-30, 0)}
            body["otp"] = code
        token = client.post("/api/v1/tokens", json=body)
        assert token.status_code == 201, username
        assert client.sign_in(username, "demo-pass-2026").headers["Location"] == "/", username


def test_demo_otp_is_refused_in_production_and_for_an_account_without_a_key(app, app_factory):
    assert app.test_cli_runner().invoke(args=["demo-otp", "nobody"]).exit_code != 0
    runner = app_factory(SUPERVISE_ENV="production").test_cli_runner()
    result = contextvars.Context().run(runner.invoke, args=["demo-otp", "sysadmin"])
    assert result.exit_code != 0
    assert "production" in result.output


def test_seed_demo_agencies_and_roles_are_as_specified(app):
    app.test_cli_runner().invoke(args=["seed-demo", "--password", "demo-pass-2026"])
    codes = set(db.session.scalars(sa.select(Agency.code)))
    assert {"audit", "inspection", "discipline", "organization", "unit-education",
            "unit-street"} <= codes
    contact = db.session.scalar(sa.select(User).where(User.username == "unit.contact"))
    assert contact.agency.code == "unit-education"
    assert contact.agency.kind == "audited_unit"


def test_seed_demo_uses_the_environment_password(app, monkeypatch):
    monkeypatch.setenv("SUPERVISE_DEMO_PASSWORD", "from-the-environment")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert "from-the-environment" in result.output
    assert app.test_client().sign_in("audit.staff", "from-the-environment").status_code == 302


def test_seed_demo_is_refused_in_production(app_factory):
    app = app_factory(SUPERVISE_ENV="production")
    runner = app.test_cli_runner()
    # An empty context, so the command loads this app rather than the test's current one.
    result = contextvars.Context().run(runner.invoke, args=["seed-demo", "--password", "x"])
    assert result.exit_code != 0
    assert "production" in result.output
    assert count(User) == 0


def test_create_admin_asks_for_the_password(app):
    result = app.test_cli_runner().invoke(args=["create-admin"],
                                          input="First admin secret 1\nFirst admin secret 1\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "sysadmin"))
    assert {r.value for r in user.roles} == {"sysadmin"}
    assert app.test_client().sign_in("sysadmin", "First admin secret 1").status_code == 302
    twice = "another secret\nanother secret\n"
    again = app.test_cli_runner().invoke(args=["create-admin"], input=twice)
    assert again.exit_code != 0
    assert "exists already" in again.output


@pytest.mark.parametrize(("password", "message"), [
    ("short", "至少须包含10个字符"),
    ("first admin secret", "中的至少3类"),  # two kinds of character
    ("Password123!", "过于常见"),
])
def test_create_admin_refuses_a_weak_password(app, password, message):
    result = app.test_cli_runner().invoke(args=["create-admin", "--role", "secadmin"],
                                          input=f"{password}\n{password}\n")
    assert result.exit_code != 0
    assert message in result.output
    assert count(User) == 0


def test_production_requires_secrets(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "EVENT_LOG_KEY", "DATA_KEY", "DATA_KEYS_RETIRED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPERVISE_ENV", "production")
    with pytest.raises(ConfigError):
        load_config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    with pytest.raises(ConfigError, match="EVENT_LOG_KEY"):
        load_config(str(tmp_path))
    monkeypatch.setenv("EVENT_LOG_KEY", "e" * 32)
    with pytest.raises(ConfigError, match="DATA_KEY must be set when SUPERVISE_ENV=production"):
        load_config(str(tmp_path))
    monkeypatch.setenv("DATA_KEY", "ab" * 32)
    assert load_config(str(tmp_path))["DATA_KEY"] == "ab" * 32
    assert not (tmp_path / "data_key").exists()


def test_production_without_a_data_key_refuses_to_start(tmp_path, monkeypatch):
    from supervise import create_app

    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.setenv("SUPERVISE_ENV", "production")
    with pytest.raises(ConfigError, match="DATA_KEY"):
        create_app({"SECRET_KEY": "k" * 32, "EVENT_LOG_KEY": "e" * 32,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("DATA_KEY", "ab" * 31, "DATA_KEY must be 64 hexadecimal digits"),
    ("DATA_KEY", "zz" * 32, "DATA_KEY must be 64 hexadecimal digits"),
    ("DATA_KEY", "ab" * 32 + "\n", "DATA_KEY must be 64 hexadecimal digits"),
    ("DATA_KEYS_RETIRED", "cd" * 32 + ",nonsense", r"DATA_KEYS_RETIRED \(key 2\) must be 64"),
    ("DATA_CIPHER", "des", "DATA_CIPHER must be one of sm4-gcm, aes-gcm"),
    ("EVENT_CHAIN_HASH", "md5", "EVENT_CHAIN_HASH must be one of sha256, sm3"),
])
def test_malformed_crypto_settings_refuse_to_start(tmp_path, monkeypatch, setting, value,
                                                   message):
    monkeypatch.setenv("DATA_KEY", "ab" * 32)
    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigError, match=message) as refused:
        load_config(str(tmp_path))
    assert "nonsense" not in str(refused.value) and "zz" not in str(refused.value)


def test_crypto_settings_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_KEY", "AB" * 32)
    monkeypatch.setenv("DATA_KEYS_RETIRED", f" {'cd' * 32} , {'ef' * 32},")
    monkeypatch.setenv("DATA_CIPHER", "aes-gcm")
    monkeypatch.setenv("EVENT_CHAIN_HASH", "sm3")
    config = load_config(str(tmp_path))
    assert config["DATA_KEYS_RETIRED"] == ["cd" * 32, "ef" * 32]
    assert (config["DATA_CIPHER"], config["EVENT_CHAIN_HASH"]) == ("aes-gcm", "sm3")
    for name in ("DATA_KEYS_RETIRED", "DATA_CIPHER", "EVENT_CHAIN_HASH"):
        monkeypatch.delenv(name)
    config = load_config(str(tmp_path))
    assert (config["DATA_KEYS_RETIRED"], config["DATA_CIPHER"], config["EVENT_CHAIN_HASH"]) \
        == ([], "sm4-gcm", "sha256")


def test_development_secrets_are_generated_once_into_instance(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "EVENT_LOG_KEY", "DATA_KEY", "SUPERVISE_ENV"):
        monkeypatch.delenv(name, raising=False)
    first = load_config(str(tmp_path))
    second = load_config(str(tmp_path))
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["DATA_KEY"] == second["DATA_KEY"]
    assert len({first["SECRET_KEY"], first["EVENT_LOG_KEY"], first["DATA_KEY"]}) == 3
    assert len(bytes.fromhex(first["DATA_KEY"])) == 32
    for name in ("secret_key", "data_key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_settings_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example/supervise")
    monkeypatch.setenv("PORT", "8080")
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db.example/supervise"
    assert config["PORT"] == 8080
    monkeypatch.delenv("DATABASE_URL")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
