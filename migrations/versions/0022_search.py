"""Full-text search (全文检索) over the title and facts of findings, referrals and rectification
items. Never over the persons involved: they are sealed, and found by their blind index only.

SQLite: one FTS5 table per kind with the trigram tokenizer (substrings of three characters and
more, any case), an external-content index over a view of the record's own table (no second
copy of the text), kept in step by triggers, so that a change and its index entry commit or roll
back together; and an fts5vocab table of its terms, through which a two-character word is
found as the trigrams that begin with it. A later migration that rebuilds one of these tables (batch "move and copy") drops its
triggers with it: it must create them again (supervise.search.schema lists them).

PostgreSQL: pg_trgm and a GIN trigram index on each of those columns; the index is the table's
own, nothing to keep in step. CREATE EXTENSION needs a superuser (or a trusted extension).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# The tables searched and, for each, the text columns indexed.
TABLES = ('findings', 'referrals', 'rectifications')
COLUMNS = ('title', 'facts')


# What the SQLite index reads of a row: each column with a newline after it, so that a
# two-character word at a column's end is still the start of a trigram ("问题\n"), and the
# trigram terms beginning with a word (fts5vocab) find every row holding it.
PAD = "char(10)"


def _sqlite_upgrade():
    for table in TABLES:
        fts = f'{table}_fts'
        columns = ', '.join(COLUMNS)
        padded = ', '.join(f'{c} || {PAD} AS {c}' for c in COLUMNS)
        new = ', '.join(f'new.{c} || {PAD}' for c in COLUMNS)
        old = ', '.join(f'old.{c} || {PAD}' for c in COLUMNS)
        op.execute(f'CREATE VIEW {fts}_source AS SELECT id, {padded} FROM {table}')
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({columns}, content='{fts}_source', "
                   f"content_rowid='id', tokenize='trigram')")
        op.execute(f"CREATE VIRTUAL TABLE {fts}_terms USING fts5vocab({fts}, 'row')")
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO {fts}(rowid, {columns}) VALUES (new.id, {new}); END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {columns}) "
                   f"VALUES ('delete', old.id, {old}); END")
        op.execute(f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {columns} ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {columns}) "
                   f"VALUES ('delete', old.id, {old}); "
                   f"INSERT INTO {fts}(rowid, {columns}) VALUES (new.id, {new}); END")
        # The rows there are.
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _sqlite_downgrade():
    for table in TABLES:
        fts = f'{table}_fts'
        for trigger in ('insert', 'delete', 'update'):
            op.execute(f'DROP TRIGGER IF EXISTS {fts}_{trigger}')
        op.execute(f'DROP TABLE IF EXISTS {fts}_terms')
        op.execute(f'DROP TABLE IF EXISTS {fts}')
        op.execute(f'DROP VIEW IF EXISTS {fts}_source')


def _postgresql_upgrade():
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for table in TABLES:
        for column in COLUMNS:
            # Built over the rows there are.
            op.execute(f'CREATE INDEX ix_{table}_{column}_trgm ON {table} '
                       f'USING gin ({column} gin_trgm_ops)')


def _postgresql_downgrade():
    for table in TABLES:
        for column in COLUMNS:
            op.execute(f'DROP INDEX IF EXISTS ix_{table}_{column}_trgm')
    # The extension stays: another database object may use it, and dropping it needs the
    # superuser again.


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        _sqlite_upgrade()
    elif dialect == 'postgresql':
        _postgresql_upgrade()


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        _sqlite_downgrade()
    elif dialect == 'postgresql':
        _postgresql_downgrade()
