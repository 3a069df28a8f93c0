"""The persons involved (name and position) and the commission's internal handling notes are
sealed at rest (supervise.crypto: SM4-GCM or AES-256-GCM under DATA_KEY), each bound to a random
row identity (`seal_id`); the name gets a blind index (HMAC-SM3) for exact lookups. Every event
names the hash of its HMAC (`hash_algorithm`: the rows so far are SHA-256).

Upgrade seals the rows there are, downgrade opens them again: both need the DATA_KEY that the
application is configured with (and downgrade any retired key still in use).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

persons = sa.table('referral_persons', sa.column('id', sa.Integer),
                   sa.column('seal_id', sa.String), sa.column('name', sa.Text),
                   sa.column('title', sa.Text), sa.column('name_index', sa.String))
timeline = sa.table('referral_timeline', sa.column('id', sa.Integer),
                    sa.column('seal_id', sa.String), sa.column('comment', sa.Text),
                    sa.column('internal', sa.Boolean))


def _rows(query):
    return op.get_bind().execute(query).all()


def _update(table, row_id, **values):
    op.get_bind().execute(sa.update(table).where(table.c.id == row_id).values(**values))


def upgrade():
    from supervise.crypto import keyring
    from supervise.database import new_public_id

    ring = keyring()
    with op.batch_alter_table('referral_persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_id', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('name_index', sa.String(length=64), nullable=True))
        batch_op.alter_column('name', existing_type=sa.String(length=50), type_=sa.Text(),
                              existing_nullable=False)
        batch_op.alter_column('title', existing_type=sa.String(length=100), type_=sa.Text(),
                              existing_nullable=False)
    for row in _rows(sa.select(persons.c.id, persons.c.name, persons.c.title)):
        seal_id = new_public_id()
        _update(persons, row.id, seal_id=seal_id, name_index=ring.blind_index(row.name),
                name=ring.seal(row.name, ('referral_persons', 'name', seal_id)),
                title=ring.seal(row.title, ('referral_persons', 'title', seal_id)))
    with op.batch_alter_table('referral_persons', schema=None) as batch_op:
        batch_op.alter_column('seal_id', existing_type=sa.String(length=24), nullable=False)
        batch_op.alter_column('name_index', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_referral_persons_seal_id'), ['seal_id'])
        batch_op.create_index(batch_op.f('ix_referral_persons_name_index'), ['name_index'],
                              unique=False)

    with op.batch_alter_table('referral_timeline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_id', sa.String(length=24), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_referral_timeline_seal_id'),
                                          ['seal_id'])
    for row in _rows(sa.select(timeline.c.id, timeline.c.comment)
                     .where(timeline.c.internal.is_(True))):
        seal_id = new_public_id()
        _update(timeline, row.id, seal_id=seal_id,
                comment=ring.seal(row.comment, ('referral_timeline', 'comment', seal_id)))

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_algorithm', sa.String(length=8),
                                      server_default='sha256', nullable=False))


def downgrade():
    from supervise.crypto import keyring

    ring = keyring()
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM events WHERE hash_algorithm <> 'sha256'")
                    ).scalar():
        # Before this revision every row was SHA-256: rows of another hash would no longer
        # verify, and the log would read as altered.
        raise RuntimeError("events were chained with another hash than SHA-256 "
                           "(EVENT_CHAIN_HASH): the event log cannot go back before 0013")
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('hash_algorithm')

    for row in _rows(sa.select(timeline.c.id, timeline.c.seal_id, timeline.c.comment)
                     .where(timeline.c.internal.is_(True))):
        _update(timeline, row.id, seal_id=None, comment=ring.open(
            row.comment, ('referral_timeline', 'comment', row.seal_id)))
    with op.batch_alter_table('referral_timeline', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_referral_timeline_seal_id'), type_='unique')
        batch_op.drop_column('seal_id')

    for row in _rows(sa.select(persons.c.id, persons.c.seal_id, persons.c.name,
                               persons.c.title)):
        _update(persons, row.id,
                name=ring.open(row.name, ('referral_persons', 'name', row.seal_id)),
                title=ring.open(row.title, ('referral_persons', 'title', row.seal_id)))
    with op.batch_alter_table('referral_persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_persons_name_index'))
        batch_op.drop_constraint(batch_op.f('uq_referral_persons_seal_id'), type_='unique')
        batch_op.alter_column('title', existing_type=sa.Text(), type_=sa.String(length=100),
                              existing_nullable=False)
        batch_op.alter_column('name', existing_type=sa.Text(), type_=sa.String(length=50),
                              existing_nullable=False)
        batch_op.drop_column('name_index')
        batch_op.drop_column('seal_id')
