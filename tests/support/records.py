"""Reading records back from the database in tests, past whatever the session holds."""

from contextlib import contextmanager

import sqlalchemy as sa

from supervise.extensions import db


def reload(model, record_or_public_id):
    """The row as stored now, by the record or its public id."""
    public_id = getattr(record_or_public_id, "public_id", record_or_public_id)
    db.session.expire_all()
    return db.session.scalar(sa.select(model).where(model.public_id == public_id))


def stored(model, record):
    """The row as stored now, and its column values: what a refused request must leave."""
    db.session.expire_all()
    row = db.session.get(model, record.id)
    return row, {c.key: getattr(row, c.key) for c in sa.inspect(model).column_attrs}


@contextmanager
def unchanged(snapshot, record):
    """The block, a request that must be refused, leaves `record` as `snapshot` reads it."""
    before = snapshot(record)
    yield
    assert snapshot(record) == before
