"""The security administrator's settings and finding categories."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from supervise import policy
from supervise.errors import InvalidInput
from supervise.extensions import db
from supervise.findings.models import Category
from supervise.policy import Permission
from supervise.settings import operations
from supervise.settings.models import DEFINITIONS, get_setting

blueprint = Blueprint("settings", __name__, url_prefix="/settings")


@blueprint.route("/", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def settings():
    errors = {}
    status = 200
    if request.method == "POST":
        user = current_user._get_current_object()
        try:
            changed = [key for key in DEFINITIONS if key in request.form
                       and operations.set_setting(user, key, request.form[key])]
            db.session.commit()
            flash(_("Saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("settings.settings"))
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.errors
            status = 400
    values = {key: request.form.get(key, get_setting(key)) for key in DEFINITIONS}
    return render_template("settings/settings.html", definitions=DEFINITIONS.values(),
                           values=values, errors=errors), status


@blueprint.route("/categories", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def categories():
    errors = {}
    status = 200
    if request.method == "POST":
        try:
            category = operations.create_category(current_user._get_current_object(),
                                                  request.form.get("code"),
                                                  request.form.get("name"),
                                                  request.form.get("name_en"))
            db.session.commit()
            flash(_("Category %(name)s added.", name=category.name), "success")
            return redirect(url_for("settings.categories"))
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.errors
            status = 400
    rows = db.session.scalars(sa.select(Category).order_by(Category.position)).all()
    return render_template("settings/categories.html", categories=rows, errors=errors,
                           form=request.form), status


@blueprint.route("/categories/<code>/active", methods=["POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def category_active(code: str):
    category = db.session.get(Category, code)
    if category is None:
        abort(404)
    operations.set_category_active(current_user._get_current_object(), category,
                                   request.form.get("active") == "1")
    db.session.commit()
    return redirect(url_for("settings.categories"))
