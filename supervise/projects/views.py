"""Projects of the user's agency: the list and a new project. A project's own page lists its
findings, so it lives with the findings (`findings.project`)."""

import sqlalchemy as sa
from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from supervise import policy
from supervise.accounts.models import Agency, AgencyKind, User
from supervise.extensions import db
from supervise.pages import attempt, done
from supervise.pagination import paginate
from supervise.policy import Capability, Permission
from supervise.policy import projects as project_access
from supervise.projects import operations
from supervise.projects.forms import ProjectForm
from supervise.projects.models import Project
from supervise.web import current_actor

blueprint = Blueprint("projects", __name__)


@blueprint.route("/projects")
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def projects():
    user = current_actor()
    page = paginate(project_access.visible_projects(user)
                    .order_by(Project.year.desc(), Project.created_at.desc())
                    .options(selectinload(Project.units)))
    return render_template("projects/list.html", page=page)


@blueprint.route("/projects/new", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def new_project():
    user = current_actor()
    form = ProjectForm()
    form.units.choices = [SelectChoice(a.code, a.name) for a in db.session.scalars(
        sa.select(Agency).where(Agency.kind == AgencyKind.AUDITED_UNIT,
                                Agency.active.is_(True)).order_by(Agency.name))]
    form.team.choices = [SelectChoice(u.username, u.display_name) for u in db.session.scalars(
        sa.select(User).where(User.agency_id == user.agency_id, User.active.is_(True))
        .order_by(User.display_name))]
    if request.method == "GET":
        form.team.data = [user.username]
    return attempt(
        lambda: operations.create_project(
            user, year=form.year.data, kind=form.kind.data, name=form.name.data,
            unit_codes=form.units.data, member_usernames=form.team.data),
        done=lambda project: done(_("Project created."),
                                  url_for("findings.project", public_id=project.public_id)),
        show=lambda status, _errors: (render_template("projects/form.html", form=form), status),
        form=form)
