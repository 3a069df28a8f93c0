"""审计结果公告: a project's rectification results, published as a snapshot for the public."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import User
from supervise.database import UTCDateTime, now_utc
from supervise.extensions import db
from supervise.projects.models import Project


class Announcement(db.Model):
    """What was published, frozen at publication: later edits show only when republished. The
    snapshot holds public fields only (title, category, amount, rectification result), never
    persons, referrals, clues, comments, attachments or internal notes."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), unique=True)
    published_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    snapshot: Mapped[str] = mapped_column(sa.Text)  # JSON

    project: Mapped[Project] = relationship()
    published_by: Mapped[User] = relationship()
