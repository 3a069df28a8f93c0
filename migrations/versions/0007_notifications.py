"""Notifications (one row a recipient, naming the record, never its text); a draft finding is
submitted for issue (pending_issue) and may be sent back with a reason.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:38:58.849691

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


STATUSES = "'draft', 'pending_issue', 'issued'"
STATUSES_BEFORE = "'draft', 'issued'"
STATUS_CHECK = "status IN ({})"


def upgrade():
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('submitted_for_issue', 'sent_back', 'finding_shared', 'referral_pending', 'referral_received', 'referral_withdrawn', 'returned', 'acknowledged', 'assigned', 'answered', 'reopened', 'closed', 'chased', 'extension_requested', 'extension_decided', 'rectification_issued', 'report_submitted', 'rework', 'sign_off_pending', 'signed_off', 'due_soon', 'overdue', 'escalated', 'export_ready', 'calendar_missing', name='notification_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('subject_public_id', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('key', sa.String(length=120), nullable=True),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_notifications_recipient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('public_id', name=op.f('uq_notifications_public_id')),
    sa.UniqueConstraint('recipient_id', 'key', name='uq_notifications_recipient_id_key')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_recipient', ['recipient_id', 'id'], unique=False)
        batch_op.create_index('ix_notifications_unread', ['recipient_id', 'read_at'], unique=False)

    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('submitted_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_back_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_findings_submitted_by_id_users'), 'users', ['submitted_by_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_findings_finding_status'), type_='check')
        batch_op.create_check_constraint('finding_status', STATUS_CHECK.format(STATUSES))



def downgrade():
    # A finding awaiting issue was a draft before there was such a state.
    op.execute("UPDATE findings SET status = 'draft' WHERE status = 'pending_issue'")
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_findings_finding_status'), type_='check')
        batch_op.create_check_constraint('finding_status', STATUS_CHECK.format(STATUSES_BEFORE))
        batch_op.drop_constraint(batch_op.f('fk_findings_submitted_by_id_users'), type_='foreignkey')
        batch_op.drop_column('sent_back_reason')
        batch_op.drop_column('submitted_by_id')
        batch_op.drop_column('submitted_at')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_unread')
        batch_op.drop_index('ix_notifications_recipient')

    op.drop_table('notifications')
