"""Small readers shared by the test modules."""

from __future__ import annotations

import sqlalchemy as sa

from supervise.events.models import Event
from supervise.extensions import db


def events(action: str | None = None) -> list[Event]:
    """The event log as it is now (in order), all of it or one action's rows."""
    db.session.expire_all()
    query = sa.select(Event).order_by(Event.seq)
    if action:
        query = query.where(Event.action == action)
    return list(db.session.scalars(query))


def integer_keys(value, path="$"):
    """Paths of every key in a JSON answer that looks like an integer primary key."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and not isinstance(item, str) or key.endswith("_id"):
                found.append(f"{path}.{key}")
            found += integer_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += integer_keys(item, f"{path}[{i}]")
    return found


def files(upload_dir) -> list[str]:
    """The names of the files stored in an upload directory."""
    return sorted(p.name for p in upload_dir.iterdir())
