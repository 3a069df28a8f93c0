"""An index on findings by owner, status and time: the leader's queue of findings to issue and
the list filtered by status read it instead of every finding of the agency.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 20:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_owner_status', ['owner_agency_id', 'status', 'created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_owner_status')
