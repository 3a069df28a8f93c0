"""Ledgers built in the background: the export jobs.

A ledger longer than the settings' `export_background_rows` is not written in the request (a
100,000-row ledger takes longer than a server's request timeout): the request records an
export job and the worker builds the file (`ledgers.exports`). The same ledger requested again
with the same filters, by the same person, while a job for it is waiting, being built or ready,
is that job, not a second one (`active_key`, unique per requester while it is set).

A job is its requester's alone: anyone else, an administrator included, gets 404 for it. Its file
is kept in the storage backend for EXPORT_LIFETIME (a day) after it is ready, then the worker's
sweep deletes it and the job.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import User
from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.policy.core import one_or_404
from supervise.vocabulary import LabelledEnum

# The subject type of an EXPORT_READY notification (its subject: the job).
SUBJECT = "export"

LEDGER_NAMES = {
    "findings": _l("Findings ledger"),
    "referrals": _l("Referrals ledger"),
    "rectifications": _l("Rectification ledger"),
}


class ExportState(LabelledEnum):
    PENDING = "pending", _l("Waiting for the worker")
    BUILDING = "building", _l("Being built")
    READY = "ready", _l("Ready to download")
    FAILED = "failed", _l("Could not be built")


ACTIVE = (ExportState.PENDING, ExportState.BUILDING, ExportState.READY)


class ExportJob(PublicIdMixin, db.Model):
    __tablename__ = "export_jobs"
    __table_args__ = (
        # One live job per requester and ledger with its filters; NULL once it failed.
        sa.UniqueConstraint("requester_id", "active_key",
                            name="uq_export_jobs_requester_id_active_key"),
        sa.Index("ix_export_jobs_state", "state", "lease_until"),
        sa.Index("ix_export_jobs_requester", "requester_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    ledger: Mapped[str] = mapped_column(sa.String(20))  # findings | referrals | rectifications
    query: Mapped[str] = mapped_column(sa.Text)  # the filters as the ledger's schema read them
    filter_words: Mapped[str] = mapped_column(sa.Text)  # as the ledger's title row says them
    active_key: Mapped[str | None] = mapped_column(sa.String(64))
    state: Mapped[ExportState] = mapped_column(enum_column(ExportState, "export_state"),
                                               default=ExportState.PENDING)
    rows: Mapped[int] = mapped_column()  # counted at the request; the built file's once ready
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # While a worker builds it: until when the claim holds (a worker that died lets it go).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    storage_name: Mapped[str | None] = mapped_column(sa.String(64))
    filename: Mapped[str | None] = mapped_column(sa.String(100))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.String(200))  # a short code, no content

    requester: Mapped[User] = relationship()

    @property
    def ledger_name(self) -> str:
        return str(LEDGER_NAMES.get(self.ledger, self.ledger))

    @property
    def title(self) -> str:
        return self.ledger_name


def _key(ledger: str, query: str) -> str:
    return hashlib.sha256(f"{ledger}\n{query}".encode()).hexdigest()


def own_exports(user) -> sa.Select:
    """The jobs of `user`: nobody else's, whoever asks."""
    return sa.select(ExportJob).where(ExportJob.requester_id == user.id)


def export_or_404(user, public_id: str) -> ExportJob:
    return one_or_404(own_exports(user), ExportJob, public_id)


def request_export(user: User, ledger: str, args: dict, *, rows: int, filter_words: str,
                   filter_details: dict) -> tuple[ExportJob, bool]:
    """The job for this ledger and filters of `user`: the live one if there is one, else a new
    one, recorded as an event (the filter as the synchronous export records it). Whether it is
    new. Two requests at once make one job: the second finds the first's (the unique key)."""
    query = json.dumps(args, sort_keys=True, ensure_ascii=False, default=str)
    key = _key(ledger, query)
    live = sa.select(ExportJob).where(ExportJob.requester_id == user.id,
                                      ExportJob.active_key == key)
    found = db.session.scalar(live)
    if found is not None:
        return found, False
    job = ExportJob(requester_id=user.id, ledger=ledger, query=query, filter_words=filter_words,
                    active_key=key, state=ExportState.PENDING, rows=rows,
                    requested_at=now_utc())
    try:
        with db.session.begin_nested():
            db.session.add(job)
    except sa.exc.IntegrityError:
        found = db.session.scalar(live)
        if found is None:
            raise
        return found, False
    record_event("ledger.export_request", actor=user, object_type="ledger", object_id=ledger,
                 details={"export": job.public_id, "filter": filter_details, "rows": rows})
    return job, True
