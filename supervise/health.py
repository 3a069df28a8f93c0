"""`/healthz` for a load balancer: is the database reachable, are its migrations at the head this
code expects, and how long ago did a worker last report. Public, and says nothing else: no
version, no host, no count of anything.

The worker (`flask worker`) writes its heartbeat every round (`beat`), one row per worker
process; the freshest counts.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from sqlalchemy.orm import Mapped, mapped_column

from supervise import policy
from supervise.database import UTCDateTime, now_utc
from supervise.extensions import db

blueprint = Blueprint("health", __name__)

# A worker quieter than this is reported stale (it sweeps every 15 minutes and looks for mail
# every few seconds; a round that sends much mail takes longer).
WORKER_STALE_SECONDS = 300


class WorkerHeartbeat(db.Model):
    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(sa.String(100), primary_key=True)  # host:pid
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


def beat() -> None:
    """The worker is alive: its row says so now (committed by the caller)."""
    name = f"{socket.gethostname()}:{os.getpid()}"[:100]
    row = db.session.get(WorkerHeartbeat, name)
    if row is None:
        db.session.add(WorkerHeartbeat(worker=name, beat_at=now_utc()))
    else:
        row.beat_at = now_utc()


def _expected_heads() -> set[str]:
    heads = current_app.extensions.get("migration_heads")
    if heads is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location",
                               str(Path(current_app.root_path).parent / "migrations"))
        heads = current_app.extensions["migration_heads"] = set(
            ScriptDirectory.from_config(config).get_heads())
    return heads


@blueprint.route("/healthz")
@policy.public
def healthz():
    """200 when the database answers and is migrated to the head; 503 otherwise. The worker's
    age is reported (`null`: no worker has reported yet) without failing the check: the web
    serves without it."""
    answer = {"database": False, "migrations": False, "worker_seconds": None,
              "worker": "missing"}
    try:
        revisions = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
        answer["database"] = True
        answer["migrations"] = revisions == _expected_heads()
        last = db.session.scalar(sa.select(sa.func.max(WorkerHeartbeat.beat_at)))
        if last is not None:
            age = max(0, int((now_utc() - last).total_seconds()))
            answer["worker_seconds"] = age
            answer["worker"] = "ok" if age <= WORKER_STALE_SECONDS else "stale"
    except sa.exc.SQLAlchemyError:
        pass
    finally:
        db.session.remove()  # nothing was written; a broken connection goes back to the pool
    healthy = answer["database"] and answer["migrations"]
    answer["status"] = "ok" if healthy else "unavailable"
    response = jsonify(answer)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
