"""The security administrator's settings and finding categories."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from supervise import policy
from supervise.accounts import twofactor
from supervise.accounts.models import ADMIN_ROLES, AgencyKind, Role
from supervise.extensions import db
from supervise.pages import attempt, done
from supervise.policy import Permission
from supervise.settings import operations
from supervise.settings.models import DEFINITIONS, Category, get_setting
from supervise.web import current_actor

blueprint = Blueprint("settings", __name__, url_prefix="/settings")


@blueprint.route("/", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def settings():
    def show(status, errors):
        values = {key: request.form.get(key, get_setting(key)) for key in DEFINITIONS}
        return render_template("settings/settings.html", definitions=DEFINITIONS.values(),
                               values=values, errors=errors,
                               storage=current_app.config.get("FILE_STORAGE", "folder")), status

    if request.method != "POST":
        return show(200, {})
    return attempt(
        lambda: [key for key in DEFINITIONS if key in request.form
                 and operations.set_setting(current_actor(), key, request.form[key])],
        done=lambda changed: done(_("Saved.") if changed else _("Nothing was changed."),
                                  url_for("settings.settings")),
        show=show)


@blueprint.route("/two-factor", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def two_factor():
    """Who must sign in with a second factor: by role and by agency kind."""
    def show(status, _errors):
        chosen = twofactor.rules()
        if request.method == "POST":
            chosen = {("role", r) for r in request.form.getlist("role")} | {
                ("agency_kind", k) for k in request.form.getlist("agency_kind")}
        return render_template("settings/two_factor.html", roles=list(Role),
                               kinds=list(AgencyKind), chosen=chosen,
                               admin_roles=ADMIN_ROLES), status

    if request.method != "POST":
        return show(200, {})
    return attempt(
        lambda: twofactor.set_rules(current_actor(), request.form.getlist("role"),
                                    request.form.getlist("agency_kind")),
        done=lambda changed: done(_("Saved. Accounts that now need a second factor set it up "
                                    "at their next sign-in.") if changed
                                  else _("Nothing was changed."),
                                  url_for("settings.two_factor")),
        show=show)


@blueprint.route("/categories", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def categories():
    def show(status, errors):
        rows = db.session.scalars(sa.select(Category).order_by(Category.position)).all()
        return render_template("settings/categories.html", categories=rows, errors=errors,
                               form=request.form), status

    if request.method != "POST":
        return show(200, {})
    return attempt(
        lambda: operations.create_category(current_actor(), request.form.get("code"),
                                           request.form.get("name"), request.form.get("name_en")),
        done=lambda category: done(_("Category %(name)s added.", name=category.name),
                                   url_for("settings.categories")),
        show=show)


@blueprint.route("/categories/<code>/active", methods=["POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def category_active(code: str):
    category = db.session.get(Category, code)
    if category is None:
        abort(404)
    operations.set_category_active(current_actor(), category,
                                   request.form.get("active") == "1")
    db.session.commit()
    return redirect(url_for("settings.categories"))
