"""Rectification items by the day they were issued and the day they were signed off, per issuing
agency: the leader's figures (issue 14) read one period's items from an index instead of every
item of the agency (20,000 at a province's size).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_rectifications_owner_issued', 'rectifications',
                    ['owner_agency_id', 'issued_at'])
    op.create_index('ix_rectifications_owner_signed_off', 'rectifications',
                    ['owner_agency_id', 'signed_off_at'])


def downgrade():
    op.drop_index('ix_rectifications_owner_signed_off', table_name='rectifications')
    op.drop_index('ix_rectifications_owner_issued', table_name='rectifications')
