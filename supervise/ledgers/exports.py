"""The worker's part of background exports: build the ledgers that were requested, and delete
them a day after they are ready.

A worker claims one job at a time (SELECT … FOR UPDATE SKIP LOCKED where the database has it,
and on every database an UPDATE that succeeds for one claimant only), marks it `building` for a
lease and commits; then it builds the ledger as its requester would get it now: the same
builder as the synchronous download, with the requester as the reader, so the same policy scope
and the same columns (the persons involved exactly where that reader's ledger has them). The
file is written to a temporary file (the workbook streams row by row, batch by batch), stored in
the storage backend, and in one transaction the job becomes `ready`, the requester is notified
(EXPORT_READY) and the event recorded. A worker that dies mid-build leaves the job `building`
until its lease runs out, when another takes it again; after MAX_ATTEMPTS it fails. A requester
no longer allowed to read the ledger (disabled, or the role changed) gets a failed job, no file.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from supervise.attachments import storage
from supervise.database import now_utc
from supervise.errors import InvalidInput
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.ledgers import api
from supervise.ledgers.exports_api import may_read
from supervise.ledgers.jobs import SUBJECT, ExportJob, ExportState
from supervise.notifications.models import Kind
from supervise.notifications.outbox import notify

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)
MAX_ATTEMPTS = 3
SWEEP_BATCH = 100


def _claimable(now: datetime):
    return sa.or_(ExportJob.state == ExportState.PENDING,
                  sa.and_(ExportJob.state == ExportState.BUILDING,
                          ExportJob.lease_until <= now))


def _claim(now: datetime) -> int | None:
    """Take one job that is waiting (or whose builder's lease ran out), for this worker alone,
    and commit."""
    candidates = list(db.session.scalars(
        sa.select(ExportJob.id).where(_claimable(now)).order_by(ExportJob.id).limit(5)
        .with_for_update(skip_locked=True)))
    mine = None
    for job_id in candidates:
        claimed = db.session.execute(
            sa.update(ExportJob).where(ExportJob.id == job_id, _claimable(now))
            .values(state=ExportState.BUILDING, lease_until=now + LEASE,
                    attempts=ExportJob.attempts + 1))
        if claimed.rowcount == 1:
            mine = job_id
            break
    db.session.commit()
    return mine


def _fail(job: ExportJob, error: str) -> None:
    job.state = ExportState.FAILED
    job.error = error
    job.active_key = None  # the same ledger may be requested again
    job.lease_until = None
    job.expires_at = now_utc() + current_app.config["EXPORT_LIFETIME"]
    record_event("ledger.export_fail", object_type="ledger", object_id=job.ledger,
                 details={"export": job.public_id, "error": error})
    db.session.commit()


def build(job: ExportJob) -> None:
    """Build a claimed job's ledger as its requester, store it, mark it ready, tell the
    requester; one transaction once the file is written."""
    user = job.requester
    if not user.is_active or not may_read(user, job):
        _fail(job, "not_permitted")
        return
    _endpoint, builder = api.BUILDERS[job.ledger]
    now = now_utc()
    try:
        ledger = builder(user, json.loads(job.query), now)
    except InvalidInput:
        _fail(job, "filter")
        return
    with tempfile.TemporaryFile() as out:
        rows = api.write(out, user, ledger, now)
        storage_name, size, sha256 = storage.store_file(out)
    job.state = ExportState.READY
    job.rows, job.size, job.sha256 = rows, size, sha256
    job.storage_name = storage_name
    job.filename = api.download_name(ledger, now)
    job.ready_at = now_utc()
    job.expires_at = job.ready_at + current_app.config["EXPORT_LIFETIME"]
    job.lease_until, job.error = None, None
    record_event("ledger.export_build", actor=user, object_type="ledger", object_id=job.ledger,
                 details={"export": job.public_id, "filter": ledger.filter_details,
                          "rows": rows, "columns": [c.key for c in api.columns_of(ledger)]})
    notify(Kind.EXPORT_READY, SUBJECT, job, [user])
    db.session.commit()


def build_next(now: datetime | None = None) -> ExportJob | None:
    """Claim and build one waiting job; the job, or None when none waits. A build that fails
    is tried again later, up to MAX_ATTEMPTS."""
    job_id = _claim(now or now_utc())
    if job_id is None:
        return None
    job = db.session.get(ExportJob, job_id)
    if job.attempts > MAX_ATTEMPTS:
        _fail(job, "attempts")
        return job
    try:
        build(job)
    except Exception:
        db.session.rollback()
        log.exception("export %s could not be built", job_id)
        job = db.session.get(ExportJob, job_id)
        if job.attempts >= MAX_ATTEMPTS:
            _fail(job, "error")
        else:
            job.state, job.lease_until = ExportState.PENDING, None
            db.session.commit()
    return job


def sweep(now: datetime | None = None) -> int:
    """Delete the jobs, and their files, whose day is over; how many."""
    now = now or now_utc()
    deleted = 0
    while True:
        expired = list(db.session.scalars(
            sa.select(ExportJob).where(ExportJob.expires_at <= now,
                                       ExportJob.state.in_((ExportState.READY,
                                                            ExportState.FAILED)))
            .order_by(ExportJob.id).limit(SWEEP_BATCH).with_for_update(skip_locked=True)))
        if not expired:
            return deleted
        for job in expired:
            if job.storage_name:
                storage.remove(job.storage_name)
            record_event("ledger.export_delete", object_type="ledger", object_id=job.ledger,
                         details={"export": job.public_id})
            db.session.delete(job)
        db.session.commit()
        deleted += len(expired)
