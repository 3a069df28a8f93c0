"""Test fixtures: a migrated database once per run, emptied after every test.

SQLite in a temporary file by default; set TEST_DATABASE_URL to run the same suite on PostgreSQL.
Tests push an application context for their own data work, while every request made through the
test client runs in a context of its own, as it does in production (see IsolatedClient).
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import re
import shutil
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from supervise import create_app
from supervise.database import now_utc
from supervise.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# Row locks, and what concurrency tests prove with them, exist on PostgreSQL only.
ON_POSTGRES = bool(TEST_DATABASE_URL) and \
    sa.make_url(TEST_DATABASE_URL).get_backend_name() == "postgresql"
TEST_PASSWORD = "correct horse battery"

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "EVENT_LOG_KEY": "test-event-log-key",
    "DATA_KEY": "0123456789abcdef" * 4,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8,
    "ARGON2_PARALLELISM": 1,
}


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        reset_postgres(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


class IsolatedClient(FlaskClient):
    """Runs each request in an empty contextvars context, so that it gets its own application
    context, database session and `g`, even while the test holds an application context."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)

    def csrf_token(self) -> str:
        """The token a page would embed in its forms for this client's session."""
        with self.session_transaction() as sess:
            if "csrf_token" not in sess:
                sess["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 as Flask-WTF
            raw = sess["csrf_token"]
        return URLSafeTimedSerializer(self.application.secret_key,
                                      salt="wtf-csrf-token").dumps(raw)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def sign_in(self, username: str, password: str = TEST_PASSWORD, **kwargs):
        """Sign in as the sign-in page does; an account asked for a second factor answers
        with its current code (enrolled with a known secret if it had not enrolled)."""
        follow = kwargs.pop("follow_redirects", False)
        response = self.post_form("/login", {"username": username, "password": password},
                                  **kwargs)
        step = urlsplit(response.headers.get("Location", "")).path
        if response.status_code == 302 and step in ("/login/code", "/login/enrol"):
            code = contextvars.Context().run(self._code, username)
            response = self.post_form("/login/code", {"code": code}, **kwargs)
        if follow and response.status_code == 302:
            response = self.get(response.headers["Location"], follow_redirects=True)
        return response

    def _code(self, username: str) -> str:
        from tests.support.twofactor import code_for

        with self.application.app_context():
            return code_for(username)


def make_app(database_url: str, **overrides):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides})
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    app = make_app(database_url, UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads")))
    with app.app_context():
        upgrade()
    yield app
    dispose_engines(app)


def dispose_engines(app) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def app_factory(database_url, app):
    """Another application on the same database, e.g. a second worker or other settings."""
    made = []

    def factory(**overrides):
        overrides.setdefault("UPLOAD_DIR", app.config["UPLOAD_DIR"])
        made.append(make_app(database_url, **overrides))
        return made[-1]

    yield factory
    for other in made:
        contextvars.Context().run(dispose_engines, other)


@pytest.fixture
def empty_database_url(tmp_path):
    """A database of its own, empty: SQLite, or PostgreSQL when TEST_DATABASE_URL is set."""
    if not TEST_DATABASE_URL:
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    url = sa.make_url(TEST_DATABASE_URL)
    name = f"{url.database}_migrations"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Reference data the migrations seed and tests seldom touch: kept between tests, and put back
# only when a test changed it.
KEPT_TABLES = {"calendar_days", "calendar_years"}


def _restore_calendar() -> None:
    """Put the seeded calendar back where a test changed it (each table on its own: on
    PostgreSQL, TRUNCATE … CASCADE empties calendar_years, whose rows refer to users)."""
    from supervise.calendar.models import CalendarDay, CalendarYear, seed_rows

    years, days = seed_rows()
    year_rows = db.session.execute(sa.select(CalendarYear.year, CalendarYear.updated_by_id))
    if sorted((y, by) for y, by in year_rows) != [(y["year"], None) for y in years]:
        db.session.execute(sa.delete(CalendarYear))
        db.session.execute(sa.insert(CalendarYear),
                           [dict(y, updated_at=now_utc()) for y in years])
    if db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) != len(days) or \
            db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay).where(
                CalendarDay.day > max(d["day"] for d in days))):
        db.session.execute(sa.delete(CalendarDay))
        db.session.execute(sa.insert(CalendarDay), days)


def _empty_database() -> None:
    _restore_calendar()  # first: a year a test entered refers to a user about to go
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    from supervise.accounts.models import DEFAULT_TWO_FACTOR_RULES, TwoFactorRule
    from supervise.events.models import EventChainHead
    from supervise.settings.models import DEFAULT_CATEGORIES, Category

    # What the migrations seed, seeded again. (On PostgreSQL, TRUNCATE … CASCADE also empties
    # the kept calendar tables, which refer to users: restore after it.)
    _restore_calendar()
    db.session.add(EventChainHead(id=1, seq=0, hash="", mac=None))
    for i, (code, name, name_en) in enumerate(DEFAULT_CATEGORIES):
        db.session.add(Category(code=code, name=name, name_en=name_en, position=(i + 1) * 10))
    db.session.add_all(TwoFactorRule(scope=scope, value=value)
                       for scope, value in DEFAULT_TWO_FACTOR_RULES)
    db.session.commit()


@pytest.fixture(autouse=True)
def app_context(app):
    with app.app_context():
        yield
        db.session.remove()
        _empty_database()
        db.session.remove()


@pytest.fixture
def upload_dir(app, tmp_path_factory, monkeypatch):
    """An upload directory of the test's own, removed afterwards."""
    path = tmp_path_factory.mktemp("uploads")
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def client(app) -> IsolatedClient:
    return app.test_client()


@pytest.fixture
def new_client(app):
    return app.test_client


@pytest.fixture
def world(client):
    """The district of tests.referrals.factories.make_world. A test package or module that needs
    another district defines a `world` of its own, and `as_` follows it."""
    from tests.referrals.factories import make_world

    return make_world(client)


@pytest.fixture
def as_(world):
    """as_("disc_staff") -> a Caller for that user of `world`; its list() and ids() read
    /referrals."""
    from tests.support.api import callers

    return callers(world, listing="/referrals")


@pytest.fixture
def count_queries(app):
    """Count SQL statements run inside a `with count_queries() as counter:` block."""
    from contextlib import contextmanager

    @contextmanager
    def counter():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counter


def page_text(response) -> str:
    """Visible text of a page, tags removed, for assertions about what a user reads."""
    html = response.get_data(as_text=True)
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


@pytest.fixture(scope="session")
def office():
    """LibreOffice and poppler, for the tests that print (marker `print`): missing, the test
    fails naming what to install (`make test-print` runs them; .ci/run installs them)."""
    missing = [tool for tool in ("soffice", "pdfinfo", "pdftotext") if not shutil.which(tool)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install -y --no-install-recommends "
                    "libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils")
