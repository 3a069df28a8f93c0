"""Referrals: each side's counts by state and clock from covering indexes, and each side's list
newest first from an index in its order (issue 13: the board, the inbox and the to-do centre at
20,000 referrals).

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


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_receiver_sent')
        batch_op.drop_index('ix_referrals_sender_created')
        batch_op.drop_index('ix_referrals_receiver_state')
        batch_op.drop_index('ix_referrals_sender_state')
        batch_op.create_index('ix_referrals_sender_state', ['sender_agency_id', 'state'])
        batch_op.create_index('ix_referrals_receiver_state', ['receiver_agency_id', 'state'])
