"""/healthz for a load balancer: the database answers and is at the migrations' head; the
worker's age is reported; public, and nothing else in it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from supervise.commands import worker
from supervise.extensions import db
from supervise.health import WorkerHeartbeat


def test_healthy_with_no_worker_yet(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "database": True, "migrations": True,
                                 "worker": "missing", "worker_seconds": None}
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers


def test_the_worker_reports_each_round(app, client):
    result = app.test_cli_runner().invoke(worker, ["--once"])
    assert result.exit_code == 0, result.output
    body = client.get("/healthz").get_json()
    assert body["worker"] == "ok" and 0 <= body["worker_seconds"] < 60
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkerHeartbeat)) == 1
    with time_machine.travel(timedelta(minutes=10)):
        body = client.get("/healthz").get_json()
    assert body["worker"] == "stale" and body["worker_seconds"] >= 600
    assert body["status"] == "ok"  # the web serves without its worker


def test_a_database_behind_the_code_answers_503(client):
    [current] = db.session.scalars(sa.text("SELECT version_num FROM alembic_version")).all()
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0015'"))
    db.session.commit()
    try:
        answer = client.get("/healthz")
        assert answer.status_code == 503
        assert answer.get_json()["migrations"] is False
        assert answer.get_json()["status"] == "unavailable"
    finally:
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :v"),
                           {"v": current})
        db.session.commit()


def test_an_unreachable_database_answers_503_not_500(app_factory, tmp_path):
    broken = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/none.db")
    answer = broken.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "database": False,
                                 "migrations": False, "worker": "missing",
                                 "worker_seconds": None}
