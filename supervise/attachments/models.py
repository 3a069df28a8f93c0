"""Evidence files. The bytes live in the storage backend (a folder, or the database) under random
names; the row says whose they are."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import User
from supervise.database import PublicIdMixin, UTCDateTime, now_utc
from supervise.extensions import db


class Attachment(PublicIdMixin, db.Model):
    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN finding_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN referral_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN rectification_report_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN document_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The record it is evidence for; later kinds of record add their own column.
    finding_id: Mapped[int | None] = mapped_column(sa.ForeignKey("findings.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    # Set for a file attached to a step of the referral's timeline, such as the answer.
    timeline_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referral_timeline.id"))
    # Set for a copy, made at the sending, of the evidence of a finding the referral cites.
    cited_finding_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("referral_cited_findings.id"), index=True)
    rectification_report_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rectification_reports.id"), index=True)
    # A file of an official document made from a record (supervise.documents): its .docx, its PDF.
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    uploaded_by: Mapped[User] = relationship()


class StoredPart(db.Model):
    """A part of a stored file, for the database storage backend (FILE_STORAGE=database):
    the file is its parts in order (attachments.storage)."""

    __tablename__ = "stored_files"

    storage_name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    part: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
