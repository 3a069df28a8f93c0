"""The public announcement of rectification results, and its publication.

Leaders of the agency that leads a project publish, republish and unpublish it from the project's
page. Anyone, without signing in, reads the list of published projects and each announcement; those
pages show the snapshot taken at publication and nothing else.
"""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from supervise import policy
from supervise.announcements import operations
from supervise.extensions import db
from supervise.pagination import paginate
from supervise.policy import Permission
from supervise.policy import projects as project_access
from supervise.projects.models import Project
from supervise.web import current_actor

blueprint = Blueprint("announcements", __name__)

CONFIRMED = {"1", "on", "y", "yes", "true"}


@blueprint.app_template_global("announcement_panel")
def announcement_panel(project: Project):
    """What the project page shows a leader who may publish it: the announcement, if any, and
    how many items would be published and how many of them are not verified."""
    user = current_actor()
    if not project_access.may_publish(user, project):
        return None
    return {"announcement": operations.announcement_of(project),
            "readiness": operations.readiness(project)}


# --- the leader's controls ----------------------------------------------------------------------

@blueprint.route("/projects/<public_id>/announcement", methods=["POST"])
@policy.requires(Permission.APPROVE)
def publish(public_id: str):
    user = current_actor()
    project = project_access.project_or_404(user, public_id)
    confirmed = request.form.get("confirm", "").strip().lower() in CONFIRMED
    republishing = operations.announcement_of(project) is not None
    try:
        operations.publish(user, project, confirm_unverified=confirmed)
    except operations.UnverifiedItems as exc:
        db.session.rollback()
        return render_template("announcements/confirm.html", project=project,
                               message=exc.message, unverified=exc.unverified,
                               items=exc.items, republishing=republishing), 409
    db.session.commit()
    flash(_("The results were published again.") if republishing
          else _("The results were published."), "success")
    return redirect(url_for("findings.project", public_id=project.public_id,
                            _anchor="announcement"))


@blueprint.route("/projects/<public_id>/announcement/delete", methods=["POST"])
@policy.requires(Permission.APPROVE)
def unpublish(public_id: str):
    user = current_actor()
    project = project_access.project_or_404(user, public_id)
    operations.unpublish(user, project)
    db.session.commit()
    flash(_("The announcement was taken off the public pages."), "success")
    return redirect(url_for("findings.project", public_id=project.public_id,
                            _anchor="announcement"))


# --- open pages ---------------------------------------------------------------------------------

def _public(html: str):
    """An unpublished announcement must not linger in a cache."""
    response = make_response(html)
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


@blueprint.route("/public/announcements")
@policy.public
def public_list():
    page = paginate(operations.announced_projects())
    rows = [(a.project.public_id, operations.read_snapshot(a)) for a in page.items]
    return _public(render_template("announcements/list.html", page=page, rows=rows))


@blueprint.route("/public/announcements/<public_id>")
@policy.public
def public_page(public_id: str):
    announcement = operations.published_announcement(public_id)
    if announcement is None:
        abort(404)
    snapshot = operations.read_snapshot(announcement)
    total = sum((i["amount"] for i in snapshot["items"] if i["amount"] is not None), Decimal(0))
    recovered = sum((i["amount_recovered"] for i in snapshot["items"]
                     if i["amount_recovered"] is not None), Decimal(0))
    return _public(render_template("announcements/detail.html", snapshot=snapshot,
                                   total=total, recovered=recovered))
