"""Rectification of findings with reports and steps; attachments of reports; announcements.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:19:09.078224

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ONE_OF_THREE = ("(CASE WHEN finding_id IS NULL THEN 0 ELSE 1 END"
                " + CASE WHEN referral_id IS NULL THEN 0 ELSE 1 END"
                " + CASE WHEN rectification_report_id IS NULL THEN 0 ELSE 1 END) = 1")


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_announcements_project_id_projects')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_announcements_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements')),
    sa.UniqueConstraint('project_id', name=op.f('uq_announcements_project_id'))
    )
    op.create_table('rectifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('owner_agency_id', sa.Integer(), nullable=False),
    sa.Column('plan', sa.Enum('immediate', 'staged', 'long_term', name='rectification_plan', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('state', sa.Enum('not_started', 'in_progress', 'long_term', 'pending_verification', 'verified', 'sign_off_pending', 'signed_off', name='rectification_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('calendar_complete', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('rectified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_off_by_id', sa.Integer(), nullable=True),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_rectifications_finding_id_findings')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_rectifications_issued_by_id_users')),
    sa.ForeignKeyConstraint(['owner_agency_id'], ['agencies.id'], name=op.f('fk_rectifications_owner_agency_id_agencies')),
    sa.ForeignKeyConstraint(['signed_off_by_id'], ['users.id'], name=op.f('fk_rectifications_signed_off_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['agencies.id'], name=op.f('fk_rectifications_unit_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectifications')),
    sa.UniqueConstraint('finding_id', name=op.f('uq_rectifications_finding_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_rectifications_public_id'))
    )
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectifications_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_owner_agency_id'), ['owner_agency_id'], unique=False)
        batch_op.create_index('ix_rectifications_unit_state', ['unit_id', 'state'], unique=False)

    op.create_table('rectification_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rectification_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('amount_recovered', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.CheckConstraint('amount_recovered >= 0', name=op.f('ck_rectification_reports_amount_not_negative')),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id'], name=op.f('fk_rectification_reports_rectification_id_rectifications')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_rectification_reports_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_reports')),
    sa.UniqueConstraint('public_id', name=op.f('uq_rectification_reports_public_id'))
    )
    with op.batch_alter_table('rectification_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_reports_rectification_id'), ['rectification_id'], unique=False)

    op.create_table('rectification_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rectification_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_rectification_steps_actor_id_users')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_rectification_steps_agency_id_agencies')),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id'], name=op.f('fk_rectification_steps_rectification_id_rectifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_steps'))
    )
    with op.batch_alter_table('rectification_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_steps_rectification_id'), ['rectification_id'], unique=False)

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rectification_report_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_rectification_report_id'), ['rectification_report_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attachments_rectification_report_id_rectification_reports'), 'rectification_reports', ['rectification_report_id'], ['id'])
        # Evidence belongs to exactly one record: a finding, a referral or a rectification report.
        batch_op.drop_constraint(op.f('ck_attachments_one_owner'), type_='check')
        batch_op.create_check_constraint('one_owner', ONE_OF_THREE)



def downgrade():
    op.execute("DELETE FROM attachments WHERE rectification_report_id IS NOT NULL")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_one_owner'), type_='check')
        batch_op.create_check_constraint('one_owner', '(finding_id IS NULL) <> (referral_id IS NULL)')
        batch_op.drop_constraint(batch_op.f('fk_attachments_rectification_report_id_rectification_reports'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_rectification_report_id'))
        batch_op.drop_column('rectification_report_id')

    with op.batch_alter_table('rectification_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_steps_rectification_id'))

    op.drop_table('rectification_steps')
    with op.batch_alter_table('rectification_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_reports_rectification_id'))

    op.drop_table('rectification_reports')
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index('ix_rectifications_unit_state')
        batch_op.drop_index(batch_op.f('ix_rectifications_owner_agency_id'))
        batch_op.drop_index(batch_op.f('ix_rectifications_due_at'))

    op.drop_table('rectifications')
    op.drop_table('announcements')
