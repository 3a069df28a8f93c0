"""Referrals: each side's counts by state and clock from covering indexes, and each side's list
newest first from an index in its order; rectification items: the issuing agency's list, counts
and unit choices from indexes (issue 13: the board, the inbox, the to-do centre and the
rectification list at 20,000 referrals and items).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 22:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

CLOCKS = ['first_sent_at', 'acknowledge_by', 'acknowledge_warn_at', 'answer_by',
          'answer_warn_at']


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_sender_state')
        batch_op.drop_index('ix_referrals_receiver_state')
        batch_op.create_index('ix_referrals_sender_state',
                              ['sender_agency_id', 'state', *CLOCKS, 'receiver_agency_id'])
        batch_op.create_index('ix_referrals_receiver_state',
                              ['receiver_agency_id', 'state', *CLOCKS, 'sender_agency_id'])
        batch_op.create_index('ix_referrals_sender_created', ['sender_agency_id', 'created_at', 'id'])
        batch_op.create_index('ix_referrals_receiver_sent', ['receiver_agency_id', 'sent_at', 'id'])
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.create_index('ix_rectifications_owner_due', ['owner_agency_id', 'due_at', 'id'])
        batch_op.create_index('ix_rectifications_owner_state',
                              ['owner_agency_id', 'state', 'unit_id'])
        batch_op.create_index('ix_rectifications_owner_unit', ['owner_agency_id', 'unit_id'])


def downgrade():
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index('ix_rectifications_owner_unit')
        batch_op.drop_index('ix_rectifications_owner_state')
        batch_op.drop_index('ix_rectifications_owner_due')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_receiver_sent')
        batch_op.drop_index('ix_referrals_sender_created')
        batch_op.drop_index('ix_referrals_receiver_state')
        batch_op.drop_index('ix_referrals_sender_state')
        batch_op.create_index('ix_referrals_sender_state', ['sender_agency_id', 'state'])
        batch_op.create_index('ix_referrals_receiver_state', ['receiver_agency_id', 'state'])
