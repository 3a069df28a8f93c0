"""Referrals (移送事项): clues and matters sent from one agency to another, with two clocks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import Agency, AgencyKind, User
from supervise.attachments.models import Attachment
from supervise.crypto import SealedText
from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.settings.models import Category
from supervise.vocabulary import LabelledEnum
from supervise.workflow import StepMixin


class ReferralKind(LabelledEnum):
    CLUE = "clue", _l("Clue of a suspected violation")  # 问题线索, to the discipline commission
    HANDLING = "handling", _l("Referred for handling")  # 移送处理, for handling by a department
    ASSISTANCE = "assistance", _l("Request for assistance")  # 提请协助


class ReferralState(LabelledEnum):
    DRAFT = "draft", _l("Draft")
    PENDING_APPROVAL = "pending_approval", _l("Pending approval")
    SENT = "sent", _l("Sent, not acknowledged")
    ACKNOWLEDGED = "acknowledged", _l("Acknowledged")
    IN_HANDLING = "in_handling", _l("In handling")
    ANSWERED = "answered", _l("Answered")
    CLOSED = "closed", _l("Closed")
    RETURNED = "returned", _l("Returned")
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class Disposition(LabelledEnum):
    """How the receiver disposes of a referral: a commission by the rules of discipline
    inspection (监督执纪工作规则), a department by what it did with the request."""

    TALK_OR_INQUIRY = "talk_or_inquiry", _l("Talk or written inquiry")
    PRELIMINARY_VERIFICATION = "preliminary_verification", _l("Preliminary verification")
    HELD = "held", _l("Held for later")
    CLOSED = "closed", _l("Closed without action")
    CASE_OPENED = "case_opened", _l("Case opened for review and investigation")
    TRANSFERRED = "transferred", _l("Passed to another authority")
    HANDLED = "handled", _l("Handled")
    ADOPTED = "adopted", _l("Adopted")
    PARTLY_ADOPTED = "partly_adopted", _l("Partly adopted")
    NOT_ADOPTED = "not_adopted", _l("Not adopted")
    PASSED_ON = "passed_on", _l("Passed to another department")


COMMISSION_DISPOSITIONS = (Disposition.TALK_OR_INQUIRY, Disposition.PRELIMINARY_VERIFICATION,
                           Disposition.HELD, Disposition.CLOSED, Disposition.CASE_OPENED,
                           Disposition.TRANSFERRED)
DEPARTMENT_DISPOSITIONS = (Disposition.HANDLED, Disposition.ADOPTED, Disposition.PARTLY_ADOPTED,
                           Disposition.NOT_ADOPTED, Disposition.PASSED_ON)


def dispositions_for(receiver_kind: AgencyKind) -> tuple[Disposition, ...]:
    """The dispositions the receiving agency chooses from: the commission's own list, or the
    list of every other receiver (the organisation department, a bureau...)."""
    if receiver_kind == AgencyKind.DISCIPLINE:
        return COMMISSION_DISPOSITIONS
    return DEPARTMENT_DISPOSITIONS


referral_findings = sa.Table(
    "referral_findings",
    db.metadata,
    sa.Column("referral_id", sa.ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("finding_id", sa.ForeignKey("findings.id"), primary_key=True, index=True),
)


class Referral(PublicIdMixin, db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        # Each side's counts by state and clock read these alone (covering indexes: a count of
        # thousands reads no referral), and each side's list newest first from the first rows.
        sa.Index("ix_referrals_sender_state", "sender_agency_id", "state", "first_sent_at",
                 "acknowledge_by", "acknowledge_warn_at", "answer_by", "answer_warn_at",
                 "receiver_agency_id"),
        sa.Index("ix_referrals_receiver_state", "receiver_agency_id", "state", "first_sent_at",
                 "acknowledge_by", "acknowledge_warn_at", "answer_by", "answer_warn_at",
                 "sender_agency_id"),
        sa.Index("ix_referrals_sender_created", "sender_agency_id", "created_at", "id"),
        sa.Index("ix_referrals_receiver_sent", "receiver_agency_id", "sent_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    receiver_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    kind: Mapped[ReferralKind] = mapped_column(enum_column(ReferralKind, "referral_kind"))
    state: Mapped[ReferralState] = mapped_column(
        enum_column(ReferralState, "referral_state"), default=ReferralState.DRAFT)
    version: Mapped[int] = mapped_column(default=1)

    # The content the audit standards require of a referral.
    title: Mapped[str] = mapped_column(sa.String(200))
    audit_scope: Mapped[str] = mapped_column(sa.Text, default="")  # when and what was audited
    facts: Mapped[str] = mapped_column(sa.Text)
    classification: Mapped[str] = mapped_column(sa.Text, default="")  # nature and its basis
    opinion: Mapped[str] = mapped_column(sa.Text, default="")  # the sender's opinion
    basis: Mapped[str] = mapped_column(sa.Text, default="")  # legal basis for referring
    feedback_request: Mapped[str] = mapped_column(sa.Text, default="")  # report back in writing

    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # A referral that was returned is never changed: the sender revises it as a new draft,
    # which names the returned one here. At most one revision per returned referral.
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    disposition: Mapped[Disposition | None] = mapped_column(
        enum_column(Disposition, "disposition"))
    result: Mapped[str] = mapped_column(sa.Text, default="")

    # The two clocks, fixed when the referral is sent (and when an extension is approved).
    acknowledge_by: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    acknowledge_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_by: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    answer_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_limit: Mapped[datetime | None] = mapped_column(UTCDateTime)  # extensions up to here
    # Whether each deadline was counted with the official calendar of every year it spans, as
    # known when it was counted (False: weekends only for some year).
    acknowledge_calendar_complete: Mapped[bool] = mapped_column(default=True,
                                                                server_default=sa.true())
    answer_calendar_complete: Mapped[bool] = mapped_column(default=True,
                                                           server_default=sa.true())

    sender_agency: Mapped[Agency] = relationship(foreign_keys=[sender_agency_id])
    receiver_agency: Mapped[Agency] = relationship(foreign_keys=[receiver_agency_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    previous: Mapped[Referral | None] = relationship(
        remote_side=[id], foreign_keys=[previous_id], back_populates="revision")
    revision: Mapped[Referral | None] = relationship(
        foreign_keys=[previous_id], back_populates="previous", uselist=False)
    persons: Mapped[list[PersonInvolved]] = relationship(
        back_populates="referral", cascade="all, delete-orphan",
        order_by="PersonInvolved.position")
    findings: Mapped[list[Finding]] = relationship(secondary=referral_findings,
                                                   order_by="Finding.created_at")
    entries: Mapped[list[TimelineEntry]] = relationship(
        back_populates="referral", order_by="TimelineEntry.id")
    extensions: Mapped[list[Extension]] = relationship(
        back_populates="referral", order_by="Extension.id")
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="and_(Attachment.referral_id == Referral.id, "
                    "Attachment.timeline_entry_id.is_(None), "
                    "Attachment.cited_finding_id.is_(None))",
        order_by="Attachment.uploaded_at", viewonly=True)
    cited: Mapped[list[CitedFinding]] = relationship(
        back_populates="referral", order_by="CitedFinding.position")

    __mapper_args__ = {"version_id_col": version}

    @property
    def calendar_complete(self) -> bool:
        return self.acknowledge_calendar_complete and self.answer_calendar_complete


class CitedFinding(db.Model):
    """A finding the referral cites, as it was when the referral was sent: what the receiver
    reads of it, whatever the finding became afterwards. Its evidence files are copies made at
    the sending (Attachment.cited_finding_id)."""

    __tablename__ = "referral_cited_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    owner_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    category_code: Mapped[str] = mapped_column(sa.ForeignKey("categories.code"))
    title: Mapped[str] = mapped_column(sa.String(200))
    facts: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    recommendation: Mapped[str] = mapped_column(sa.Text, default="")

    referral: Mapped[Referral] = relationship(back_populates="cited")
    finding: Mapped[Finding] = relationship()
    owner_agency: Mapped[Agency] = relationship(foreign_keys=[owner_agency_id])
    unit: Mapped[Agency] = relationship(foreign_keys=[unit_id])
    category: Mapped[Category] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="Attachment.cited_finding_id == CitedFinding.id",
        foreign_keys="Attachment.cited_finding_id", order_by="Attachment.id", viewonly=True)

    @classmethod
    def copy_of(cls, finding: Finding, position: int) -> CitedFinding:
        return cls(finding=finding, position=position, owner_agency_id=finding.owner_agency_id,
                   unit_id=finding.unit_id, category_code=finding.category_code,
                   title=finding.title, facts=finding.facts, amount=finding.amount,
                   legal_basis=finding.legal_basis, recommendation=finding.recommendation)


class PersonInvolved(db.Model):
    """涉及人员: the most sensitive field of the system. Never logged, never in an event, masked in
    lists, shown only to staff and leaders of the two parties. The name and the position are
    sealed at rest (supervise.crypto); the name's blind index finds the referrals naming a
    person without a plaintext column."""

    __tablename__ = "referral_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)  # order in the list
    seal_id: Mapped[str] = mapped_column(sa.String(24), unique=True)
    sealed_name: Mapped[str] = mapped_column("name", sa.Text)
    sealed_title: Mapped[str] = mapped_column("title", sa.Text)  # 职务
    name_index: Mapped[str] = mapped_column(sa.String(64), index=True)

    name = SealedText("sealed_name", index="name_index")
    title = SealedText("sealed_title")

    referral: Mapped[Referral] = relationship(back_populates="persons")

    def __init__(self, *, name: str, title: str = "", **values):
        super().__init__(**values)
        self.name, self.title = name, title

    def __repr__(self) -> str:  # never the name, not even in a traceback
        return f"<PersonInvolved #{self.id}>"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


def mask_name(name: str) -> str:
    """张某某 -> 张**: the family name only."""
    name = (name or "").strip()
    return (name[:1] + "*" * max(len(name) - 1, 1)) if name else ""


class TimelineEntry(StepMixin, db.Model):
    """One step of a referral's history, with actor, time and comment. `internal` entries are the
    receiver's own handling notes and are never shown to the sender; `internal` is fixed when
    the step is written."""

    __tablename__ = "referral_timeline"

    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    internal: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # An internal note's comment is sealed at rest (supervise.crypto), bound to this id.
    seal_id: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    stored_comment: Mapped[str] = mapped_column("comment", sa.Text, default="")
    comment = SealedText("stored_comment", when="internal")

    referral: Mapped[Referral] = relationship(back_populates="entries")
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="Attachment.timeline_entry_id == TimelineEntry.id",
        order_by="Attachment.uploaded_at", viewonly=True)

    def __init__(self, *, comment: str = "", **values):
        super().__init__(**values)  # `internal` first: it decides whether the comment is sealed
        self.comment = comment


class ExtensionDecision(StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"


class Extension(PublicIdMixin, db.Model):
    """A receiver's request for more time to answer, and the sender's decision."""

    __tablename__ = "referral_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    previous_answer_by: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_answer_by: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.Text)
    decision: Mapped[ExtensionDecision | None] = mapped_column(
        enum_column(ExtensionDecision, "extension_decision"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str] = mapped_column(sa.Text, default="")

    referral: Mapped[Referral] = relationship(back_populates="extensions")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
