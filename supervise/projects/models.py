"""Projects: an audit, an inspection round or a joint project, and the units it covers."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervise.accounts.models import Agency, User
from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.extensions import db
from supervise.vocabulary import LabelledEnum


class ProjectKind(LabelledEnum):
    AUDIT = "audit", _l("Audit project")
    INSPECTION = "inspection", _l("Inspection round")
    JOINT = "joint", _l("Joint audit and inspection project")


project_units = sa.Table(
    "project_units",
    db.metadata,
    sa.Column("project_id", sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("agency_id", sa.ForeignKey("agencies.id"), primary_key=True),
)

project_members = sa.Table(
    "project_members",
    db.metadata,
    sa.Column("project_id", sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
)


class Project(PublicIdMixin, db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    kind: Mapped[ProjectKind] = mapped_column(enum_column(ProjectKind, "project_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    lead_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    lead_agency: Mapped[Agency] = relationship(foreign_keys=[lead_agency_id])
    units: Mapped[list[Agency]] = relationship(secondary=project_units,
                                               order_by="Agency.code")
    team: Mapped[list[User]] = relationship(secondary=project_members, order_by="User.username")

    def __str__(self) -> str:
        return self.name
