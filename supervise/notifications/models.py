"""What the platform tells a person: one row a recipient and a thing that happened.

A notification names its kind and the record it is about (type, key and public id), never the
record's text: the title is read from the record when the notification is shown, and only if the
recipient may still see it, so a notification can never carry more than its reader may read.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.extensions import db
from supervise.vocabulary import LabelledEnum

# The subject of a digest: how many records of one clock (subject_id the count, subject_public_id
# "workflow:clock"), for a person the reminder sweep would otherwise tell of each.
DIGEST = "digest"
# The subject of a reset's notice: a user account (subject_id the user's id).
ACCOUNT = "account"


class Kind(LabelledEnum):
    SUBMITTED_FOR_ISSUE = "submitted_for_issue", _l("Finding submitted for issue")
    SENT_BACK = "sent_back", _l("Sent back to you")
    FINDING_SHARED = "finding_shared", _l("Finding shared with your agency")
    REFERRAL_PENDING = "referral_pending", _l("Referral awaits approval")
    REFERRAL_RECEIVED = "referral_received", _l("Referral received")
    REFERRAL_WITHDRAWN = "referral_withdrawn", _l("Referral withdrawn")
    RETURNED = "returned", _l("Referral returned")
    ACKNOWLEDGED = "acknowledged", _l("Referral acknowledged")
    ASSIGNED = "assigned", _l("Referral assigned to you")
    ANSWERED = "answered", _l("Referral answered")
    REOPENED = "reopened", _l("Answer found insufficient")
    CLOSED = "closed", _l("Referral closed")
    CHASED = "chased", _l("Chaser received")
    EXTENSION_REQUESTED = "extension_requested", _l("Extension requested")
    EXTENSION_DECIDED = "extension_decided", _l("Extension request decided")
    RECTIFICATION_ISSUED = "rectification_issued", _l("Issued for rectification")
    REPORT_SUBMITTED = "report_submitted", _l("Rectification report submitted")
    REWORK = "rework", _l("Sent back for re-rectification")
    SIGN_OFF_PENDING = "sign_off_pending", _l("Sign-off awaits approval")
    SIGNED_OFF = "signed_off", _l("Signed off")
    DUE_SOON = "due_soon", _l("Deadline close")
    OVERDUE = "overdue", _l("Deadline passed")
    ESCALATED = "escalated", _l("Escalated")
    EXPORT_READY = "export_ready", _l("Export ready")
    CALENDAR_MISSING = "calendar_missing", _l("Calendar year missing")
    PASSWORD_RESET = "password_reset", _l("Your password was reset")
    SECOND_FACTOR_RESET = "second_factor_reset", _l("Your second factor was reset")
    RESETS_FLAGGED = "resets_flagged", _l("Password and second factor reset within a day")


class EmailState(LabelledEnum):
    PENDING = "pending", _l("Waiting to be sent")
    SENDING = "sending", _l("Being sent")
    SENT = "sent", _l("Sent")
    FAILED = "failed", _l("Refused by the mail server")
    SKIPPED = "skipped", _l("Not sent")


class Notification(PublicIdMixin, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_recipient", "recipient_id", "id"),
        sa.Index("ix_notifications_unread", "recipient_id", "read_at"),
        # A reminder is raised once per recipient, clock and threshold, however often the sweep
        # runs (NULL keys, the notices of steps, never collide).
        sa.UniqueConstraint("recipient_id", "key", name="uq_notifications_recipient_id_key"),
        sa.Index("ix_notifications_email_due", "email_state", "email_next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, "notification_kind"))
    subject_type: Mapped[str] = mapped_column(sa.String(20))  # the workflow: finding, referral...
    subject_id: Mapped[int] = mapped_column()
    subject_public_id: Mapped[str] = mapped_column(sa.String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    key: Mapped[str | None] = mapped_column(sa.String(120))
    # The email of this notification, when it goes by email: the outbox the worker delivers.
    # Its Message-ID is built from the public id, so a retried delivery is recognisably the same.
    email_state: Mapped[EmailState | None] = mapped_column(enum_column(EmailState, "email_state"))
    email_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    email_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_error: Mapped[str | None] = mapped_column(sa.String(200))  # the server's code, no text


class EmailOptOut(db.Model):
    """A kind of notification its holder does not want by email (every kind goes by default)."""

    __tablename__ = "email_opt_outs"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, "notification_kind"), primary_key=True)


class Reminder(db.Model):
    """A threshold a clock has crossed and that has been told (due soon, overdue, each step
    of the escalation ladder): at most once per clock and threshold, however often the sweep
    runs."""

    __tablename__ = "reminders"

    subject_type: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True)
    clock: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    threshold: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
