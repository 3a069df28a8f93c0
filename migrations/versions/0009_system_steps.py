"""Steps of the platform itself (the escalation's automatic chasers) have no actor and no agency
in the referral timeline and the rectification steps.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:35:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TABLES = ('referral_timeline', 'rectification_steps')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ('actor_id', 'agency_id'):
                batch_op.alter_column(column, existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Before there were steps without an actor: the platform's own steps cannot be kept.
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE actor_id IS NULL OR agency_id IS NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ('agency_id', 'actor_id'):
                batch_op.alter_column(column, existing_type=sa.Integer(), nullable=False)
