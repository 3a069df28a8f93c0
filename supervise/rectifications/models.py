"""Rectification (整改) of an issued finding by its audited unit, until the audit bureau signs it
off (销号)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import Agency, User
from supervise.attachments.models import Attachment
from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.vocabulary import LabelledEnum
from supervise.workflow import StepMixin


class Plan(LabelledEnum):
    IMMEDIATE = "immediate", _l("Immediate (立行立改)")  # 立行立改
    STAGED = "staged", _l("Staged (分阶段整改)")  # 分阶段整改
    LONG_TERM = "long_term", _l("Long-term (持续整改)")  # 持续整改


class RectificationState(LabelledEnum):
    NOT_STARTED = "not_started", _l("Not started")  # 未整改
    IN_PROGRESS = "in_progress", _l("Rectifying")  # 整改中
    LONG_TERM = "long_term", _l("Long-term rectification")  # 长期整改: periodic reports
    PENDING_VERIFICATION = "pending_verification", _l("Rectified, to be verified")  # 已整改待核实
    VERIFIED = "verified", _l("Verified")  # 核实通过, sign-off to be requested
    SIGN_OFF_PENDING = "sign_off_pending", _l("Sign-off awaiting approval")  # 销号待审批
    SIGNED_OFF = "signed_off", _l("Signed off")  # 已销号


class Rectification(PublicIdMixin, db.Model):
    """A finding issued to its audited unit for rectification. The unit sees only the text as
    issued (copied here at issue), the deadline and its own reports."""

    __tablename__ = "rectifications"
    __table_args__ = (
        sa.Index("ix_rectifications_unit_state", "unit_id", "state"),
        # The issuing agency's list in its order, its counts by state and its unit choices,
        # each from an index alone (20,000 items).
        sa.Index("ix_rectifications_owner_due", "owner_agency_id", "due_at", "id"),
        sa.Index("ix_rectifications_owner_state", "owner_agency_id", "state", "unit_id"),
        sa.Index("ix_rectifications_owner_unit", "owner_agency_id", "unit_id"),
        # One period's items, by the day of issue or of sign-off (the leader's figures).
        sa.Index("ix_rectifications_owner_issued", "owner_agency_id", "issued_at"),
        sa.Index("ix_rectifications_owner_signed_off", "owner_agency_id", "signed_off_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    owner_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    plan: Mapped[Plan] = mapped_column(enum_column(Plan, "rectification_plan"))
    state: Mapped[RectificationState] = mapped_column(
        enum_column(RectificationState, "rectification_state"),
        default=RectificationState.NOT_STARTED)
    version: Mapped[int] = mapped_column(default=1)

    # The text as issued to the unit.
    title: Mapped[str] = mapped_column(sa.String(200))
    facts: Mapped[str] = mapped_column(sa.Text)
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    recommendation: Mapped[str] = mapped_column(sa.Text, default="")
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))

    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    calendar_complete: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The report-by period in days from the issue, when the deadline is the settings' default
    # (counted again when the calendar changes); None for a date the auditor chose, which stays.
    due_days: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # final report in
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_off_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    finding: Mapped[Finding] = relationship()
    unit: Mapped[Agency] = relationship(foreign_keys=[unit_id])
    owner_agency: Mapped[Agency] = relationship(foreign_keys=[owner_agency_id])
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])
    reports: Mapped[list[RectificationReport]] = relationship(
        back_populates="rectification", order_by="RectificationReport.id")
    steps: Mapped[list[RectificationStep]] = relationship(
        back_populates="rectification", order_by="RectificationStep.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def amount_recovered(self) -> Decimal:
        return sum((r.amount_recovered or Decimal(0) for r in self.reports), Decimal(0))


class RectificationReport(PublicIdMixin, db.Model):
    """A progress report of the unit: measures, money recovered or returned, rules made."""

    __tablename__ = "rectification_reports"
    __table_args__ = (sa.CheckConstraint("amount_recovered >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(sa.ForeignKey("rectifications.id"),
                                                  index=True)
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    measures: Mapped[str] = mapped_column(sa.Text)
    amount_recovered: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    rules: Mapped[str] = mapped_column(sa.Text, default="")
    final: Mapped[bool] = mapped_column(default=False)  # the unit says it is done

    rectification: Mapped[Rectification] = relationship(back_populates="reports")
    submitted_by: Mapped[User] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="Attachment.rectification_report_id == RectificationReport.id",
        order_by="Attachment.uploaded_at", viewonly=True)


class RectificationStep(StepMixin, db.Model):
    """One step of the history: issue, report, verification, send-back, chaser, sign-off."""

    __tablename__ = "rectification_steps"

    rectification_id: Mapped[int] = mapped_column(sa.ForeignKey("rectifications.id"),
                                                  index=True)

    rectification: Mapped[Rectification] = relationship(back_populates="steps")
