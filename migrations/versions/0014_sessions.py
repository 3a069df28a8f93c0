"""Sessions the holder can see: each session and API token gets a public id (to be named on the
holder's page), the device it was opened from (its User-Agent) and the address it was last used
from.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

credentials = sa.table('credentials', sa.column('id', sa.Integer),
                       sa.column('public_id', sa.String), sa.column('ip', sa.String),
                       sa.column('last_ip', sa.String))


def upgrade():
    from supervise.database import new_public_id

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('last_ip', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=255), nullable=True))
    bind = op.get_bind()
    for (row_id,) in bind.execute(sa.select(credentials.c.id)).all():
        bind.execute(sa.update(credentials).where(credentials.c.id == row_id)
                     .values(public_id=new_public_id()))
    bind.execute(sa.update(credentials).values(last_ip=credentials.c.ip))
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=24), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_credentials_public_id'), ['public_id'])


def downgrade():
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_credentials_public_id'), type_='unique')
        batch_op.drop_column('user_agent')
        batch_op.drop_column('last_ip')
        batch_op.drop_column('public_id')
