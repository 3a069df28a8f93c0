
"""Settings, read from the environment once when the app is created."""

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from supervise.database import BEIJING_TIME


class ConfigError(RuntimeError):
    pass


def instance_secret(instance_path: str, name: str, make=lambda: secrets.token_hex(32)) -> str:
    """Return a secret kept in a file under instance/ (mode 0600), creating it on first use.

    Only used outside production, so that a developer's sessions and event chain survive restarts
    without anyone having to invent a key (and the demo password is the same after a reset).
    """
    path = Path(instance_path) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    env = os.environ
    overrides = dict(overrides or {})
    environment = overrides.get("SUPERVISE_ENV", env.get("SUPERVISE_ENV", "development"))
    production = environment == "production"

    def secret(name: str, file_name: str) -> str:
        if name in overrides:
            return overrides[name]
        if env.get(name):
            return env[name]
        if production:
            raise ConfigError(f"{name} must be set when SUPERVISE_ENV=production")
        return instance_secret(instance_path, file_name)

    def whole_number(name: str, default: str) -> int:
        text = env.get(name, default).strip()
        if not text.isdigit() or not text.isascii():
            raise ConfigError(f"{name} must be a whole number of 0 or more, not {text!r}")
        return int(text)

    default_db = "sqlite:///" + str(Path(instance_path) / "supervise.db")
    config = {
        "SUPERVISE_ENV": environment,
        "SECRET_KEY": secret("SECRET_KEY", "secret_key"),
        # The event chain is keyed with a secret that never enters the database, so that someone
        # able to write to the database still cannot rewrite the log unnoticed.
        "EVENT_LOG_KEY": secret("EVENT_LOG_KEY", "event_log_key"),
        # The event chain's HMAC: "sha256", or "sm3" (GB/T 32905). Each event records the one
        # it was written with, so a log that switched midway still verifies.
        "EVENT_CHAIN_HASH": env.get("EVENT_CHAIN_HASH", "sha256"),
        # The master key of the persons involved and the internal notes sealed at rest
        # (supervise.crypto): 64 hex digits, outside the database and its backups. Retired
        # master keys (comma-separated) still open what they sealed, until rotate-data-key.
        "DATA_KEY": secret("DATA_KEY", "data_key"),
        "DATA_KEYS_RETIRED": [k.strip() for k in env.get("DATA_KEYS_RETIRED", "").split(",")
                              if k.strip()],
        "DATA_CIPHER": env.get("DATA_CIPHER", "sm4-gcm"),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL", default_db),
        # Bound parameters never reach a log or an error message: they can hold the persons
        # involved in a referral.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "PORT": int(env.get("PORT", "5000")),
        "SESSION_COOKIE_NAME": "supervise_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Served over HTTPS (by a TLS front such as nginx): the session cookie is Secure and
        # every answer carries HSTS, so that browsers never come back over plain HTTP.
        "SUPERVISE_HTTPS": env.get("SUPERVISE_HTTPS", "0") == "1",
        "SESSION_COOKIE_SECURE": env.get("SUPERVISE_HTTPS", "0") == "1",
        "PREFERRED_URL_SCHEME": "https" if env.get("SUPERVISE_HTTPS", "0") == "1" else "http",
        "HSTS_MAX_AGE": whole_number("HSTS_MAX_AGE", "31536000"),
        # How many reverse proxies stand in front and set X-Forwarded-For/-Proto/-Host: only
        # then are those headers believed (ProxyFix), and only that many hops of them. 0: none,
        # the peer address is the client's.
        "SUPERVISE_PROXIES": whole_number("SUPERVISE_PROXIES", "0"),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=30),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=12),
        "API_TOKEN_LIFETIME": timedelta(hours=12),
        # Browser sessions one account may hold at once; signing in beyond, the session used
        # longest ago ends. 0: no limit.
        "MAX_SESSIONS": whole_number("MAX_SESSIONS", "3"),
        # Wrong passwords for one user name from one address, then that address is locked out
        # of that name (and the name is guarded: addresses that failed on it wait too); from
        # every address together; from one address for every name.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_NAME_MAX_FAILURES": 10,
        "LOGIN_SOURCE_MAX_FAILURES": 20,
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
        "LOGIN_LOCKOUT": timedelta(minutes=15),
        # argon2id cost; RFC 9106's second recommended option (64 MiB, 3 passes).
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "ARGON2_PARALLELISM": 4,
        # CSRF is checked by the access chokepoint (supervise.policy), not by Flask-WTF's hook,
        # so that bearer-token API requests can be exempted in one place.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": BEIJING_TIME.key,
        "LANGUAGES": ("zh_CN", "en"),
        "PAGE_SIZE": 50,
        "API_TITLE": "supervise",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        # Where stored files (evidence, ledgers built in the background) are kept:
        # "folder" (UPLOAD_DIR, the default) or "database" (the table stored_files, for several
        # servers on one database). supervise.attachments.storage.
        "FILE_STORAGE": env.get("FILE_STORAGE", "folder"),
        # The folder backend's files, outside static/, under random names.
        "UPLOAD_DIR": env.get("UPLOAD_DIR", str(Path(instance_path) / "uploads")),
        # A ledger built in the background is kept this long, then deleted by the worker.
        "EXPORT_LIFETIME": timedelta(hours=24),
        # A hard ceiling above the largest attachment the settings may allow (100 MB).
        "MAX_CONTENT_LENGTH": 101 * 1024 * 1024,
        # Email of notifications: off (in-app only) unless SMTP_HOST is set.
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("SMTP_PORT", "25")),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": env.get("SMTP_STARTTLS", "0") == "1",
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT", "30")),
        "MAIL_FROM": env.get("MAIL_FROM", "supervise@localhost"),
        # The address people open the platform at, for the links in emails.
        "PUBLIC_URL": env.get("PUBLIC_URL", f"http://127.0.0.1:{env.get('PORT', '5000')}"),
        # The program that makes PDFs of documents (LibreOffice's soffice): found on the PATH
        # unless named; "" turns PDFs off (supervise.documents.convert).
        "DOCUMENT_CONVERTER": env.get("DOCUMENT_CONVERTER"),
        # The worker: how often it looks for mail to send, and sweeps the clocks.
        "WORKER_POLL_SECONDS": float(env.get("WORKER_POLL_SECONDS", "5")),
        "REMINDER_SWEEP_SECONDS": float(env.get("REMINDER_SWEEP_SECONDS", "900")),
    }
    config.update(overrides)
    check_crypto_settings(config)
    return config


CHAIN_HASHES = ("sha256", "sm3")
DATA_CIPHERS = ("sm4-gcm", "aes-gcm")
HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


FILE_STORAGES = ("folder", "database")


def check_crypto_settings(config: dict) -> None:
    """Refuse to start with a data key, an algorithm or a storage backend that is not one (the
    message never repeats a key)."""
    if config["FILE_STORAGE"] not in FILE_STORAGES:
        raise ConfigError(f"FILE_STORAGE must be one of {', '.join(FILE_STORAGES)}")
    if config["EVENT_CHAIN_HASH"] not in CHAIN_HASHES:
        raise ConfigError(f"EVENT_CHAIN_HASH must be one of {', '.join(CHAIN_HASHES)}")
    if config["DATA_CIPHER"] not in DATA_CIPHERS:
        raise ConfigError(f"DATA_CIPHER must be one of {', '.join(DATA_CIPHERS)}")
    keys = [("DATA_KEY", config["DATA_KEY"])]
    keys += [(f"DATA_KEYS_RETIRED (key {n})", key)
             for n, key in enumerate(config["DATA_KEYS_RETIRED"], start=1)]
    for name, key in keys:
        if not isinstance(key, str) or not HEX_KEY.fullmatch(key):
            raise ConfigError(f"{name} must be 64 hexadecimal digits (a 256-bit key), such as "
                              "python3 -c 'import secrets; print(secrets.token_hex(32))' "
                              "prints")

