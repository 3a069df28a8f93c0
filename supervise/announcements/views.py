"""The public announcement of rectification results, and its publication.

Leaders of the agency that leads a project publish and republish it from a preview of its own,
where they review the public result text of each item, and unpublish it from the project's page.
Anyone, without signing in, reads the list of published projects and each announcement; those
pages show the snapshot taken at publication and nothing else.
"""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from supervise import policy
from supervise.announcements import operations
from supervise.extensions import db
from supervise.pages import attempt, done
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

RESULT_FIELD = "result-"  # + the finding's public id: the public result text of that item


@blueprint.route("/projects/<public_id>/announcement", methods=["GET", "POST"])
@policy.requires(Permission.APPROVE)
def publish(public_id: str):
    """The preview of the announcement, where the leader reviews each item's public result text
    and confirms; posted, the publication (or the preview again with why not: nothing is
    published then)."""
    user = current_actor()
    project = project_access.project_or_404(user, public_id)
    posting = request.method == "POST"
    confirmed = request.form.get("confirm", "").strip().lower() in CONFIRMED

    def show(status: int, errors: dict):
        shown = operations.preview(user, project)
        texts = {item.finding: request.form.get(RESULT_FIELD + item.finding, item.prefill)
                 if posting else item.prefill for item in shown.items}
        return render_template(
            "announcements/preview.html", project=project, preview=shown, texts=texts,
            errors=errors, confirmed=confirmed, result_field=RESULT_FIELD,
            result_limit=operations.RESULT_LIMIT), status

    if not posting:
        return show(200, {})
    results = {name.removeprefix(RESULT_FIELD): value for name, value in request.form.items()
               if name.startswith(RESULT_FIELD)}
    republishing = operations.announcement_of(project) is not None
    return attempt(
        lambda: operations.publish(user, project, confirm_unverified=confirmed,
                                   results=results),
        done=lambda _announcement: done(
            _("The results were published again.") if republishing
            else _("The results were published."),
            url_for("findings.project", public_id=project.public_id, _anchor="announcement")),
        show=show, invalid_status=422)


@blueprint.route("/projects/<public_id>/announcement/delete", methods=["POST"])
@policy.requires(Permission.APPROVE)
def unpublish(public_id: str):
    user = current_actor()
    project = project_access.project_or_404(user, public_id)
    operations.unpublish(user, project)
    db.session.commit()
    return done(_("The announcement was taken off the public pages."),
                url_for("findings.project", public_id=project.public_id, _anchor="announcement"))


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
