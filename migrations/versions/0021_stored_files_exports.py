"""Ledgers built in the background (export_jobs) and the database storage backend's files
(stored_files, in parts).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
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
    op.create_table(
        'export_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=False),
        sa.Column('ledger', sa.String(length=20), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('filter_words', sa.Text(), nullable=False),
        sa.Column('active_key', sa.String(length=64), nullable=True),
        sa.Column('state', sa.Enum('pending', 'building', 'ready', 'failed', name='export_state',
                                   native_enum=False, create_constraint=True, length=20),
                  nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('storage_name', sa.String(length=64), nullable=True),
        sa.Column('filename', sa.String(length=100), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.Column('public_id', sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id'],
                                name=op.f('fk_export_jobs_requester_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs')),
        sa.UniqueConstraint('public_id', name=op.f('uq_export_jobs_public_id')),
        sa.UniqueConstraint('requester_id', 'active_key',
                            name='uq_export_jobs_requester_id_active_key'),
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_state', ['state', 'lease_until'], unique=False)
        batch_op.create_index('ix_export_jobs_requester', ['requester_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_export_jobs_requester')
        batch_op.drop_index('ix_export_jobs_state')
    op.drop_table('export_jobs')
    op.drop_table('stored_files')
