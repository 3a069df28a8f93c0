"""Migrations: one head, up from empty, down and up again, models equal to migrations.

Runs on a database of its own: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.
"""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from supervise.extensions import db
from supervise.search.schema import is_search_object
from tests.conftest import TEST_DATABASE_URL, make_app


@pytest.fixture
def empty_database_url(tmp_path):
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


def _differences():
    with db.engine.connect() as conn:
        # The search structures are dialect-specific DDL of migration 0020, outside the
        # metadata (supervise.search.schema); the search tests check them.
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, type_, parents: not is_search_object(name, type_)})
        return compare_metadata(context, db.metadata)


def _tables():
    return {name for name in sa.inspect(db.engine).get_table_names()
            if not is_search_object(name, "table")} - {"alembic_version"}


def test_single_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgrade_downgrade_upgrade_and_models_match(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        assert _differences() == []
        assert {t.name for t in db.metadata.sorted_tables} == _tables()
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"} == set()
        upgrade()
        assert _differences() == []
        db.session.remove()
        db.engine.dispose()
