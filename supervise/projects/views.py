"""Projects of the user's agency: the list, a new project, one project with its findings."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from supervise import policy
from supervise.accounts.models import Agency, AgencyKind, User
from supervise.errors import InvalidInput
from supervise.extensions import db
from supervise.findings import queries
from supervise.pagination import paginate
from supervise.policy import Permission
from supervise.projects import operations
from supervise.projects.forms import ProjectForm
from supervise.projects.models import Project

blueprint = Blueprint("projects", __name__)


def _recorder():
    user = current_user._get_current_object()
    if not policy.records_findings(user):
        abort(404)
    return user


@blueprint.route("/projects")
@policy.requires(Permission.CASE_CONTENT)
def projects():
    user = _recorder()
    page = paginate(policy.visible_projects(user)
                    .order_by(Project.year.desc(), Project.created_at.desc())
                    .options(selectinload(Project.units)))
    return render_template("projects/list.html", page=page)


@blueprint.route("/projects/new", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT)
def new_project():
    user = _recorder()
    form = ProjectForm()
    form.units.choices = [SelectChoice(a.code, a.name) for a in db.session.scalars(
        sa.select(Agency).where(Agency.kind == AgencyKind.AUDITED_UNIT,
                                Agency.active.is_(True)).order_by(Agency.name))]
    form.team.choices = [SelectChoice(u.username, u.display_name) for u in db.session.scalars(
        sa.select(User).where(User.agency_id == user.agency_id, User.active.is_(True))
        .order_by(User.display_name))]
    status = 200
    if request.method == "GET":
        form.team.data = [user.username]
    elif form.validate_on_submit():
        try:
            project = operations.create_project(
                user, year=form.year.data, kind=form.kind.data, name=form.name.data,
                unit_codes=form.units.data, member_usernames=form.team.data)
            db.session.commit()
            flash(_("Project created."), "success")
            return redirect(url_for("projects.project", public_id=project.public_id))
        except InvalidInput as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                getattr(form, name).errors = [message]
            status = 400
    else:
        status = 400
    return render_template("projects/form.html", form=form), status


@blueprint.route("/projects/<public_id>")
@policy.requires(Permission.CASE_CONTENT)
def project(public_id: str):
    user = _recorder()
    project = db.session.scalar(policy.visible_projects(user).where(
        Project.public_id == public_id))
    if project is None:
        abort(404)
    f = queries.FindingFilter(scope="own", project=public_id)
    matching = queries.matching(user, f)
    return render_template("projects/detail.html", project=project,
                           page=paginate(queries.for_list(matching, f.sort)),
                           total=queries.count_and_total(matching)[1])
