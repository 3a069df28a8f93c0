"""审计结果公告: a project's rectification results, published as a snapshot for the public."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import User
from supervise.database import UTCDateTime, now_utc
from supervise.extensions import db
from supervise.projects.models import Project
from supervise.vocabulary import LabelledEnum


class PublicState(LabelledEnum):
    """The words the public reads for a rectification: the internal states (awaiting
    verification, sign-off awaiting approval...) are the bureau's business, not the public's."""

    RECTIFIED = "rectified", _l("Rectified")  # 已整改: verified by the audit bureau
    CONTINUING = "continuing", _l("Continuing rectification")  # 持续整改: a long-term plan
    RECTIFYING = "rectifying", _l("Rectifying")  # 整改中
    NOT_ISSUED = "not_issued", _l("Not issued for rectification")  # 未下达整改


class Announcement(db.Model):
    """What was published, frozen at publication: later edits show only when republished. The
    snapshot holds public fields only (title, category, amount, the public state of the
    rectification and the result text the leader reviewed), never persons, referrals, clues,
    comments, attachments, internal notes or the unit's own report texts."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), unique=True)
    published_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    snapshot: Mapped[str] = mapped_column(sa.Text)  # JSON

    project: Mapped[Project] = relationship()
    published_by: Mapped[User] = relationship()
