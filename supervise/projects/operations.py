"""Creating projects: the lead agency, the year, and the audited units it covers."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from supervise import policy
from supervise.accounts.models import Agency, AgencyKind, User
from supervise.errors import InvalidInput, OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.money import whole_number
from supervise.projects.models import Project, ProjectKind


def create_project(user: User, *, year, kind, name, unit_codes, member_usernames=()) -> Project:
    if not policy.records_findings(user):
        raise OperationError(_("Your agency does not run projects."), 403)
    errors = {}
    try:
        year = whole_number(year)
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        errors["year"] = _("Enter a year such as 2026.")
    try:
        kind = ProjectKind(kind)
    except ValueError:
        errors["kind"] = _("Choose a project type.")
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        errors["name"] = _("Required, at most %(n)d characters.", n=200)
    codes = sorted({str(c) for c in (unit_codes or [])})
    units = list(db.session.scalars(sa.select(Agency).where(
        Agency.code.in_(codes), Agency.kind == AgencyKind.AUDITED_UNIT)))
    if not codes:
        errors["units"] = _("Choose the audited units the project covers.")
    elif len(units) != len(codes):
        errors["units"] = _("Unknown audited unit.")
    names = sorted({str(u) for u in (member_usernames or [])})
    members = list(db.session.scalars(sa.select(User).where(
        User.username.in_(names), User.agency_id == user.agency_id)))
    if len(members) != len(names):
        errors["team"] = _("Team members must be accounts of your agency.")
    if errors:
        raise InvalidInput(errors)
    project = Project(year=year, kind=kind, name=name, lead_agency_id=user.agency_id,
                      created_by_id=user.id, units=units, team=members or [user])
    db.session.add(project)
    db.session.flush()
    record_event("project.create", actor=user, obj=project,
                 details={"units": codes, "year": year, "kind": kind.value})
    return project
