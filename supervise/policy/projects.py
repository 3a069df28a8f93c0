"""Projects are internal to the agency that leads them; its leaders publish their
announcements."""

from __future__ import annotations

import sqlalchemy as sa

from supervise.accounts.models import Role
from supervise.extensions import db
from supervise.policy.core import Permission, can, one_or_404, records_findings
from supervise.projects.models import Project


def visible_projects(user) -> sa.Select:
    if not records_findings(user):
        return sa.select(Project).where(sa.false())
    return sa.select(Project).where(Project.lead_agency_id == user.agency_id)


def project_or_404(user, public_id: str) -> Project:
    return one_or_404(visible_projects(user), Project, public_id)


def may_publish(user, project: Project) -> bool:
    """A leader of the agency that leads the project publishes its announcement."""
    if not (can(user, Permission.APPROVE) and user.has_role(Role.LEADER)):
        return False
    return db.session.scalar(visible_projects(user).where(Project.id == project.id)
                             .with_only_columns(Project.id)) is not None
