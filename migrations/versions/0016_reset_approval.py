"""The two-person password reset: for an account without a second factor the system
administrator's reset is a request, which the security administrator approves or refuses; who
asked and approved, and when, are kept on the account until the approval is used or refused.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_reset_requested_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('password_reset_requested_by_id', sa.Integer(),
                                      nullable=True))
        batch_op.add_column(sa.Column('password_reset_approved_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('password_reset_approved_by_id', sa.Integer(),
                                      nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_users_password_reset_requested_by_id_users'), 'users',
            ['password_reset_requested_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(
            batch_op.f('fk_users_password_reset_approved_by_id_users'), 'users',
            ['password_reset_approved_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_password_reset_approved_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_users_password_reset_requested_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('password_reset_approved_by_id')
        batch_op.drop_column('password_reset_approved_at')
        batch_op.drop_column('password_reset_requested_by_id')
        batch_op.drop_column('password_reset_requested_at')
