"""The append-only, tamper-evident event log."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from supervise.database import UTCDateTime
from supervise.extensions import db
from supervise.vocabulary import LabelledEnum


class Outcome(LabelledEnum):
    SUCCESS = "success", _l("Success")
    FAILURE = "failure", _l("Failure")
    DENIED = "denied", _l("Denied")


class Event(db.Model):
    """One thing that happened. Rows are chained: each `hash` is an HMAC over the row's content
    and the previous row's hash, under a key kept outside the database, with the hash function
    the row names.

    Who did it is stored as text as well as by id, so a row stays readable on its own.
    """

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_occurred_at", "occurred_at"),
        sa.Index("ix_events_actor_id_occurred_at", "actor_id", "occurred_at"),
        sa.Index("ix_events_object", "object_type", "object_id"),
        sa.Index("ix_events_action", "action"),
    )

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column()
    actor_username: Mapped[str | None] = mapped_column(sa.String(64))
    agency_code: Mapped[str | None] = mapped_column(sa.String(40))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    # The HMAC's hash function: "sha256" or "sm3" (supervise.events.log.MACS).
    hash_algorithm: Mapped[str] = mapped_column(sa.String(8), server_default="sha256")


class EventChainHead(db.Model):
    """The single row naming the last event; `mac` lets verification notice a cut-off tail.

    Every append updates this row first, which serialises writers of the chain on every database.
    """

    __tablename__ = "event_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    hash: Mapped[str] = mapped_column(sa.String(64), default="")
    mac: Mapped[str | None] = mapped_column(sa.String(64))
