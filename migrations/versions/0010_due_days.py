"""A rectification item keeps the period its report-by date was counted with (days from the
issue), so that a change of the calendar counts it again; a date the auditor chose has none and
stays. Items issued before have none: their dates stay as they were.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_days', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_column('due_days')
