"""Two-factor sign-in: each account's TOTP secret, enrolment and replay guard, its recovery
codes, the security administrator's rules of who needs a second factor (seeded: the three
administrators and the discipline commission), when a password or second factor was last reset,
and the notifications of resets.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

KINDS = ('submitted_for_issue', 'sent_back', 'finding_shared', 'referral_pending',
         'referral_received', 'referral_withdrawn', 'returned', 'acknowledged', 'assigned',
         'answered', 'reopened', 'closed', 'chased', 'extension_requested', 'extension_decided',
         'rectification_issued', 'report_submitted', 'rework', 'sign_off_pending', 'signed_off',
         'due_soon', 'overdue', 'escalated', 'export_ready', 'calendar_missing')
RESETS = ('password_reset', 'second_factor_reset', 'resets_flagged')
RULES = [('role', 'sysadmin'), ('role', 'secadmin'), ('role', 'auditadmin'),
         ('agency_kind', 'discipline')]


def _kinds(values):
    for table in ('notifications', 'email_opt_outs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_notification_kind'), type_='check')
            batch_op.create_check_constraint('notification_kind', sa.column('kind').in_(values))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_reset_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('seal_id', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('otp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('otp_enrolled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('otp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('otp_reset_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_seal_id'), ['seal_id'])

    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_codes_code_hash')),
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    rules = op.create_table(
        'two_factor_rules',
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('value', sa.String(length=20), nullable=False),
        sa.CheckConstraint("scope IN ('role', 'agency_kind')",
                           name=op.f('ck_two_factor_rules_scope')),
        sa.PrimaryKeyConstraint('scope', 'value', name=op.f('pk_two_factor_rules')),
    )
    op.bulk_insert(rules, [{'scope': scope, 'value': value} for scope, value in RULES])
    _kinds(KINDS + RESETS)


def downgrade():
    for table in ('notifications', 'email_opt_outs'):
        op.execute(sa.text(f'DELETE FROM {table} WHERE kind IN :kinds')
                   .bindparams(sa.bindparam('kinds', RESETS, expanding=True)))
    _kinds(KINDS)
    op.drop_table('two_factor_rules')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('otp_reset_at')
        batch_op.drop_column('otp_last_step')
        batch_op.drop_column('otp_enrolled_at')
        batch_op.drop_column('otp_secret')
        batch_op.drop_constraint(batch_op.f('uq_users_seal_id'), type_='unique')
        batch_op.drop_column('seal_id')
        batch_op.drop_column('password_reset_at')
