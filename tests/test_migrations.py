"""Migrations: one head, up from empty, down and up again, models equal to migrations.

Runs on a database of its own: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.
"""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from supervise.extensions import db
from supervise.search.schema import is_search_object
from tests.conftest import make_app


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
