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


RACE_TIMEOUT = 30  # seconds: a deadlock fails the test instead of hanging it


def race(requests, timeout: float = RACE_TIMEOUT) -> list:
    """Run each zero-argument callable in a thread of its own, all released at the same moment;
    return their results in order (a callable's exception is raised here). The caller's session
    holds no transaction while they run."""
    import threading

    db.session.remove()
    barrier = threading.Barrier(len(requests), timeout=timeout)
    results: list = [None] * len(requests)

    def run(i, request):
        try:
            barrier.wait()
            results[i] = request()
        except BaseException as exc:  # re-raised in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, r), name=f"race-{i}")
               for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    for outcome in results:
        if isinstance(outcome, BaseException):
            raise outcome
    return results
