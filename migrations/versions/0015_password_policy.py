"""The password policy: each account's previous passwords (argon2 hashes), so that a new password
may not repeat a recent one. The policy's numbers are settings (stored only once changed).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

SETTINGS = ('password_min_length', 'password_character_classes', 'password_history',
            'password_lifetime_days')


def upgrade():
    op.create_table(
        'password_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_password_history_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_history')),
    )
    with op.batch_alter_table('password_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_history_user_id'), ['user_id'],
                              unique=False)


def downgrade():
    op.execute(sa.text('DELETE FROM settings WHERE key IN :keys')
               .bindparams(sa.bindparam('keys', SETTINGS, expanding=True)))
    with op.batch_alter_table('password_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_history_user_id'))
    op.drop_table('password_history')
