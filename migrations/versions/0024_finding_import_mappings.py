"""The column headings an agency's spreadsheets give the fields of a finding, remembered from its
last import of findings (issue 15).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 23:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'finding_import_mappings',
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_finding_import_mappings_agency_id_agencies')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_finding_import_mappings_updated_by_id_users')),
        sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_finding_import_mappings')),
    )


def downgrade():
    op.drop_table('finding_import_mappings')
