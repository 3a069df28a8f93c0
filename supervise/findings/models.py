"""Findings (问题), their categories, shares, comment threads and links between findings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from supervise.accounts.models import Agency, User
from supervise.attachments.models import Attachment
from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.extensions import db
from supervise.projects.models import Project
from supervise.settings.models import Category
from supervise.vocabulary import LabelledEnum


class FindingStatus(LabelledEnum):
    DRAFT = "draft", _l("Draft")
    PENDING_ISSUE = "pending_issue", _l("Awaiting issue")
    ISSUED = "issued", _l("Issued")


class Sensitivity(LabelledEnum):
    NORMAL = "normal", _l("Normal")
    SENSITIVE = "sensitive", _l("Sensitive")


class Handling(LabelledEnum):
    """What the receiving agency may do with a shared finding."""

    READ_ONLY = "read_only", _l("Read only, do not pass on")
    MAY_REFER = "may_refer", _l("May be cited in a referral")


class Finding(PublicIdMixin, db.Model):
    __tablename__ = "findings"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.Index("ix_findings_owner_created", "owner_agency_id", "created_at"),
        # An agency's findings in one state, newest first: the leader's queue of findings to
        # issue, the list filtered by status (at 100,000 findings a count of them takes 0.1 ms
        # with it and 115 ms without, on SQLite).
        sa.Index("ix_findings_owner_status", "owner_agency_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    facts: Mapped[str] = mapped_column(sa.Text)
    category_code: Mapped[str] = mapped_column(sa.ForeignKey("categories.code"))
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    recommendation: Mapped[str] = mapped_column(sa.Text, default="")
    sensitivity: Mapped[Sensitivity] = mapped_column(
        enum_column(Sensitivity, "sensitivity"), default=Sensitivity.NORMAL)
    status: Mapped[FindingStatus] = mapped_column(
        enum_column(FindingStatus, "finding_status"), default=FindingStatus.DRAFT)
    state = synonym("status")  # as the workflow engine reads every record
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for issue, last
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    sent_back_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    owner_agency: Mapped[Agency] = relationship(foreign_keys=[owner_agency_id])
    unit: Mapped[Agency] = relationship(foreign_keys=[unit_id])
    project: Mapped[Project | None] = relationship()
    category: Mapped[Category] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    shares: Mapped[list[Share]] = relationship(back_populates="finding",
                                               order_by="Share.shared_at")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.uploaded_at")

    # A concurrent change between read and write fails the UPDATE instead of overwriting it.
    __mapper_args__ = {"version_id_col": version}

    @property
    def is_issued(self) -> bool:
        return self.status == FindingStatus.ISSUED


class Share(PublicIdMixin, db.Model):
    """A finding made visible to another agency. Withdrawn shares stay as history."""

    __tablename__ = "shares"
    __table_args__ = (
        sa.Index("uq_shares_active_finding_agency", "finding_id", "agency_id", unique=True,
                 sqlite_where=sa.text("withdrawn_at IS NULL"),
                 postgresql_where=sa.text("withdrawn_at IS NULL")),
        sa.Index("ix_shares_agency_id", "agency_id", "withdrawn_at"),
        sa.Index("ix_shares_finding_id", "finding_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    handling: Mapped[Handling] = mapped_column(enum_column(Handling, "handling"))
    shared_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    finding: Mapped[Finding] = relationship(back_populates="shares")
    agency: Mapped[Agency] = relationship()
    shared_by: Mapped[User] = relationship(foreign_keys=[shared_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class FindingAccess(db.Model):
    """Who reads a finding: a row for each agency that may (its owner; each agency it is shared
    with while issued and not withdrawn), carrying what the lists filter, count and sort by, so
    that an index of one agency's rows answers them without reading every finding. Derived, never
    written by hand: supervise.policy.findings keeps it in step with findings, shares and project
    years in the transaction that changes them."""

    __tablename__ = "finding_access"
    __table_args__ = (
        # A list newest first, by scope and by each filter (the id breaks ties, so that the
        # index gives the order and the page is read from its first rows).
        sa.Index("ix_finding_access_listed", "agency_id", "own", "created_at", "finding_id"),
        sa.Index("ix_finding_access_newest", "agency_id", "created_at", "finding_id"),
        sa.Index("ix_finding_access_status", "agency_id", "status", "created_at",
                 "finding_id"),
        sa.Index("ix_finding_access_unit", "agency_id", "unit_id", "created_at",
                 "finding_id"),
        sa.Index("ix_finding_access_project", "agency_id", "project_id", "created_at",
                 "finding_id"),
        sa.Index("ix_finding_access_category", "agency_id", "category_code", "created_at",
                 "finding_id"),
        sa.Index("ix_finding_access_year", "agency_id", "year", "created_at",
                 "finding_id"),
        sa.Index("ix_finding_access_finding_id", "finding_id"),
    )

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id", ondelete="CASCADE"),
                                            primary_key=True)
    own: Mapped[bool]
    status: Mapped[FindingStatus] = mapped_column(enum_column(FindingStatus, "finding_status"))
    unit_id: Mapped[int]
    project_id: Mapped[int | None]
    category_code: Mapped[str] = mapped_column(sa.String(40))
    # The project's year; for a finding without a project, the year it was recorded in (Beijing).
    year: Mapped[int]
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FindingTotal(db.Model):
    """How many findings an agency reads and their amount, by whether they are its own, state,
    year and category: a list's count and total for any filter of those without reading a row
    per finding (a few hundred rows per agency). Maintained with the access table, by the
    difference each change makes (an atomic add, so concurrent changes of one agency's findings
    wait for each other instead of losing one)."""

    __tablename__ = "finding_totals"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    own: Mapped[bool] = mapped_column(primary_key=True)
    status: Mapped[FindingStatus] = mapped_column(enum_column(FindingStatus, "finding_status"),
                                                  primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    findings: Mapped[int]
    cents: Mapped[int] = mapped_column(sa.BigInteger)


class Comment(db.Model):
    """One message in the thread between a finding's owner and one agency it was shared with."""

    __tablename__ = "finding_comments"
    __table_args__ = (sa.Index("ix_finding_comments_thread", "finding_id", "thread_agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"))
    thread_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    author: Mapped[User] = relationship()
    thread_agency: Mapped[Agency] = relationship()


class FindingLink(db.Model):
    """"Related": an agency links one of its own findings to a finding it can see."""

    __tablename__ = "finding_links"
    __table_args__ = (
        sa.UniqueConstraint("finding_id", "related_id"),
        sa.CheckConstraint("finding_id <> related_id", name="not_self"),
        sa.Index("ix_finding_links_related_id", "related_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"))
    related_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    finding: Mapped[Finding] = relationship(foreign_keys=[finding_id])
    related: Mapped[Finding] = relationship(foreign_keys=[related_id])
    created_by: Mapped[User] = relationship()


class ImportMapping(db.Model):
    """How an agency's spreadsheets name the fields of a finding: the column heading chosen for
    each field at its last import, offered again at the next (findings.importing)."""

    __tablename__ = "finding_import_mappings"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    # {"title": "问题标题", "unit": "被审计单位", ...}: a field to the heading of its column.
    columns: Mapped[dict] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
