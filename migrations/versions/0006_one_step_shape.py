"""Referral timeline and rectification steps share one shape (supervise.workflow.StepMixin):
the states they record are up to 24 characters in both.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referral_timeline', schema=None) as batch_op:
        for column in ('from_state', 'to_state'):
            batch_op.alter_column(column, existing_type=sa.String(length=20),
                                  type_=sa.String(length=24), existing_nullable=True)


def downgrade():
    # Every referral state is at most 16 characters: nothing is cut.
    with op.batch_alter_table('referral_timeline', schema=None) as batch_op:
        for column in ('from_state', 'to_state'):
            batch_op.alter_column(column, existing_type=sa.String(length=24),
                                  type_=sa.String(length=20), existing_nullable=True)
