"""Notifications by email: an optional address on the account, the kinds a holder does not want
by email, each notification's delivery (state, attempts, next try); the reminders raised once
per clock and threshold.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:10:58.678736

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reminders',
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('clock', sa.String(length=20), nullable=False),
    sa.Column('threshold', sa.String(length=20), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('subject_type', 'subject_id', 'clock', 'threshold', name=op.f('pk_reminders'))
    )
    op.create_table('email_opt_outs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('submitted_for_issue', 'sent_back', 'finding_shared', 'referral_pending', 'referral_received', 'referral_withdrawn', 'returned', 'acknowledged', 'assigned', 'answered', 'reopened', 'closed', 'chased', 'extension_requested', 'extension_decided', 'rectification_issued', 'report_submitted', 'rework', 'sign_off_pending', 'signed_off', 'due_soon', 'overdue', 'escalated', 'export_ready', 'calendar_missing', name='notification_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_opt_outs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_email_opt_outs'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_state', sa.Enum('pending', 'sending', 'sent', 'failed', 'skipped', name='email_state', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch_op.add_column(sa.Column('email_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('email_next_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_error', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_notifications_email_due', ['email_state', 'email_next_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_email_due')
        batch_op.drop_constraint(op.f('ck_notifications_email_state'), type_='check')
        batch_op.drop_column('email_error')
        batch_op.drop_column('email_sent_at')
        batch_op.drop_column('email_next_at')
        batch_op.drop_column('email_attempts')
        batch_op.drop_column('email_state')

    op.drop_table('email_opt_outs')
    op.drop_table('reminders')
