"""Documents, their numbers, the agencies' prefixes and the templates the security administrator
replaced."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import Agency, User
from supervise.attachments.models import Attachment
from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.extensions import db
from supervise.vocabulary import LabelledEnum


class DocumentKind(LabelledEnum):
    REFERRAL_LETTER = "referral_letter", _l("Audit referral letter")  # 审计移送处理书
    CHASER = "chaser", _l("Chaser letter")  # 催办函
    RECTIFICATION_NOTICE = "rectification_notice", _l("Rectification notice")  # 整改通知书
    SIGN_OFF_SHEET = "sign_off_sheet", _l("Rectification sign-off sheet")  # 审计整改对账销号单
    URGE_NOTICE = "urge_notice", _l("Letter urging rectification")  # 督促整改告知函


class NumberCounter(db.Model):
    """The last sequence number given to an agency's documents of one kind in one year. The row
    is taken with an atomic add (documents.numbers), so a number is given once: a transaction
    that rolls back gives its number back with it, and concurrent ones wait for each other."""

    __tablename__ = "document_number_counters"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"),
                                               primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int]


class NumberPrefix(db.Model):
    """The agency's prefix of a kind's document numbers, such as 区审移 in 区审移〔2026〕3号."""

    __tablename__ = "document_number_prefixes"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"),
                                               primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))


class Document(PublicIdMixin, db.Model):
    """One version of a document made from a referral or a rectification item. The number is
    the document's, given at its first version; a regenerated version keeps it, and every
    version stays."""

    __tablename__ = "documents"
    __table_args__ = (
        sa.CheckConstraint("(referral_id IS NULL) <> (rectification_id IS NULL)",
                           name="one_record"),
        sa.UniqueConstraint("agency_id", "kind", "year", "sequence", "version"),
        sa.Index("ix_documents_referral", "referral_id", "kind", "version", unique=True),
        sa.Index("ix_documents_rectification", "rectification_id", "kind", "version",
                 unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"))
    rectification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rectifications.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))  # the issuing body
    year: Mapped[int]
    sequence: Mapped[int]
    number: Mapped[str] = mapped_column(sa.String(60))  # as printed: 区审移〔2026〕3号
    version: Mapped[int] = mapped_column(default=1)
    generated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    agency: Mapped[Agency] = relationship()
    generated_by: Mapped[User] = relationship()
    files: Mapped[list[Attachment]] = relationship(
        primaryjoin="Attachment.document_id == Document.id",
        foreign_keys="Attachment.document_id", order_by="Attachment.id", viewonly=True)

    def file(self, extension: str) -> Attachment | None:
        return next((f for f in self.files if f.filename.endswith("." + extension)), None)


class DocumentTemplate(db.Model):
    """A template the security administrator uploaded in place of the built-in one of its
    kind (kept in the database: a few dozen kilobytes, read by every server)."""

    __tablename__ = "document_templates"

    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"),
                                               primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    uploaded_by: Mapped[User] = relationship()
