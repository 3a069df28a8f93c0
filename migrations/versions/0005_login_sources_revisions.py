"""Failed sign-ins counted per address (for one user name, and for every name); a referral
names the returned referral it revises.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # The per-name counters (login_throttles) stay as they are; this adds the per-address ones.
    op.create_table('login_source_throttles',
    sa.Column('source', sa.String(length=45), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'username', name=op.f('pk_login_source_throttles'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_referrals_previous_id'), ['previous_id'])
        batch_op.create_foreign_key(batch_op.f('fk_referrals_previous_id_referrals'),
                                    'referrals', ['previous_id'], ['id'])


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referrals_previous_id_referrals'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_referrals_previous_id'), type_='unique')
        batch_op.drop_column('previous_id')
    op.drop_table('login_source_throttles')
