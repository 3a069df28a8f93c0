"""The database storage backend's files (stored_files, in parts).

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stored_files',
        sa.Column('storage_name', sa.String(length=64), nullable=False),
        sa.Column('part', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('storage_name', 'part', name=op.f('pk_stored_files')),
    )


def downgrade():
    op.drop_table('stored_files')
