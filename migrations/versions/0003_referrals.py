"""Referrals with persons involved, timeline and extensions; the working-day calendar, seeded
from chinesecalendar (2004–2026); attachments that belong to a referral.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:38:41.686936

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('holiday', 'workday', name='day_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('calendar_years',
    sa.Column('year', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_calendar_years_updated_by_id_users')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_agency_id', sa.Integer(), nullable=False),
    sa.Column('receiver_agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('clue', 'handling', 'assistance', name='referral_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('state', sa.Enum('draft', 'pending_approval', 'sent', 'acknowledged', 'in_handling', 'answered', 'closed', 'returned', 'withdrawn', name='referral_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('audit_scope', sa.Text(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('classification', sa.Text(), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('feedback_request', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('disposition', sa.Enum('talk_or_inquiry', 'preliminary_verification', 'held', 'closed', 'case_opened', 'transferred', 'handled', name='disposition', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('acknowledge_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledge_warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_limit', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledge_calendar_complete', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('answer_calendar_complete', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_referrals_created_by_id_users')),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_referrals_handler_id_users')),
    sa.ForeignKeyConstraint(['receiver_agency_id'], ['agencies.id'], name=op.f('fk_referrals_receiver_agency_id_agencies')),
    sa.ForeignKeyConstraint(['sender_agency_id'], ['agencies.id'], name=op.f('fk_referrals_sender_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('public_id', name=op.f('uq_referrals_public_id'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_acknowledge_by'), ['acknowledge_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_answer_by'), ['answer_by'], unique=False)
        batch_op.create_index('ix_referrals_receiver_state', ['receiver_agency_id', 'state'], unique=False)
        batch_op.create_index('ix_referrals_sender_state', ['sender_agency_id', 'state'], unique=False)

    op.create_table('referral_extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('previous_answer_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_answer_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decision', sa.Enum('approved', 'refused', name='extension_decision', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_referral_extensions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_extensions_referral_id_referrals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_referral_extensions_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_extensions')),
    sa.UniqueConstraint('public_id', name=op.f('uq_referral_extensions_public_id'))
    )
    with op.batch_alter_table('referral_extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_extensions_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_persons_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_persons'))
    )
    with op.batch_alter_table('referral_persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_persons_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_timeline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('internal', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_referral_timeline_actor_id_users')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_referral_timeline_agency_id_agencies')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_timeline_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_timeline'))
    )
    with op.batch_alter_table('referral_timeline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_timeline_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_findings',
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_referral_findings_finding_id_findings')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_findings_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('referral_id', 'finding_id', name=op.f('pk_referral_findings'))
    )
    with op.batch_alter_table('referral_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_findings_finding_id'), ['finding_id'], unique=False)

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('timeline_entry_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_referral_id'), ['referral_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attachments_referral_id_referrals'), 'referrals', ['referral_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_attachments_timeline_entry_id_referral_timeline'), 'referral_timeline', ['timeline_entry_id'], ['id'])
        # Evidence belongs to exactly one record: a finding or a referral.
        batch_op.create_check_constraint('one_owner', '(finding_id IS NULL) <> (referral_id IS NULL)')

    # The official arrangement as the calendar package knows it; later years are entered by the
    # security administrator. Loaded here so that every installation starts with the same days.
    import chinese_calendar

    years = [{'year': y, 'source': 'chinesecalendar 1.11.0'}
             for y in sorted({d.year for d in chinese_calendar.holidays})]
    # Only the exceptions to Monday-to-Friday: weekday holidays and weekend working days.
    days = {d: {'day': d, 'kind': 'holiday', 'name': name or ''}
            for d, name in chinese_calendar.holidays.items() if d.weekday() < 5}
    days.update({d: {'day': d, 'kind': 'workday', 'name': name or ''}
                 for d, name in chinese_calendar.workdays.items() if d.weekday() >= 5})
    days = [days[d] for d in sorted(days)]
    op.bulk_insert(sa.table('calendar_years', sa.column('year', sa.SmallInteger),
                            sa.column('source', sa.String), sa.column('updated_at', sa.DateTime(timezone=True))),
                   [dict(y, updated_at=datetime.now(UTC)) for y in years])
    op.bulk_insert(sa.table('calendar_days', sa.column('day', sa.Date), sa.column('kind', sa.String),
                            sa.column('name', sa.String)), days)



def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_one_owner'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_attachments_timeline_entry_id_referral_timeline'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_attachments_referral_id_referrals'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_referral_id'))
        batch_op.drop_column('timeline_entry_id')
        batch_op.drop_column('referral_id')

    with op.batch_alter_table('referral_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_findings_finding_id'))

    op.drop_table('referral_findings')
    with op.batch_alter_table('referral_timeline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_timeline_referral_id'))

    op.drop_table('referral_timeline')
    with op.batch_alter_table('referral_persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_persons_referral_id'))

    op.drop_table('referral_persons')
    with op.batch_alter_table('referral_extensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_extensions_referral_id'))

    op.drop_table('referral_extensions')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_sender_state')
        batch_op.drop_index('ix_referrals_receiver_state')
        batch_op.drop_index(batch_op.f('ix_referrals_answer_by'))
        batch_op.drop_index(batch_op.f('ix_referrals_acknowledge_by'))

    op.drop_table('referrals')
    op.drop_table('calendar_years')
    op.drop_table('calendar_days')
