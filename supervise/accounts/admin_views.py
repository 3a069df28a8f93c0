"""The system administrator's agencies and accounts, and the security administrator's roles.

Neither page shows any case content: administrators see who exists, not what they work on.
"""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from supervise import policy
from supervise.accounts import operations
from supervise.accounts.forms import (
    ActionForm,
    AgencyEditForm,
    AgencyForm,
    RolesForm,
    UserEditForm,
    UserForm,
)
from supervise.accounts.models import Agency, User
from supervise.errors import OperationError
from supervise.extensions import db
from supervise.pagination import paginate
from supervise.policy import Permission

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


def _get_or_404(model, ident: int):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def _actor():
    return current_user._get_current_object()


def _agency_choices():
    agencies = db.session.scalars(
        sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.kind, Agency.code)
    )
    return [SelectChoice(a.id, f"{a.name} ({a.code})") for a in agencies]


# --- agencies -----------------------------------------------------------------------------

@blueprint.route("/agencies", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def agencies():
    form = AgencyForm()
    status = 200
    if form.validate_on_submit():
        try:
            agency = operations.create_agency(_actor(), form.code.data, form.name.data,
                                              form.kind.data)
            db.session.commit()
            flash(_("Agency %(name)s created.", name=agency.name), "success")
            return redirect(url_for("admin.agencies"))
        except OperationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 400
    elif request.method == "POST":
        status = 400
    page = paginate(sa.select(Agency).order_by(Agency.kind, Agency.code))
    return render_template("admin/agencies.html", form=form, page=page,
                           action_form=ActionForm()), status


@blueprint.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def agency(agency_id: int):
    agency = _get_or_404(Agency, agency_id)
    form = AgencyEditForm(obj=agency)
    status = 200
    if form.validate_on_submit():
        try:
            operations.update_agency(_actor(), agency, form.name.data)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.agency", agency_id=agency.id))
        except OperationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("admin/agency.html", agency=agency, form=form,
                           action_form=ActionForm()), status


@blueprint.route("/agencies/<int:agency_id>/active", methods=["POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def agency_active(agency_id: int):
    agency = _get_or_404(Agency, agency_id)
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        operations.set_agency_active(_actor(), agency, active)
        db.session.commit()
        flash(_("Agency enabled.") if active else _("Agency disabled; its users were signed "
                                                    "out."), "success")
    return redirect(url_for("admin.agency", agency_id=agency.id))


# --- users --------------------------------------------------------------------------------

def _user_list():
    query = sa.select(User).join(User.agency).order_by(Agency.code, User.username)
    q = (request.args.get("q") or "").strip()
    if q:
        like = f"%{q}%"
        query = query.where(sa.or_(User.username.ilike(like), User.display_name.ilike(like)))
    return paginate(query), q


@blueprint.route("/users", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def users():
    form = UserForm()
    form.agency.choices = _agency_choices()
    status = 200
    if form.validate_on_submit():
        try:
            user, password = operations.create_user(
                _actor(), form.username.data, form.display_name.data,
                db.session.get(Agency, form.agency.data))
            db.session.commit()
            return render_template("admin/password_issued.html", user=user, password=password)
        except OperationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 400
    elif request.method == "POST":
        status = 400
    page, q = _user_list()
    return render_template("admin/users.html", form=form, page=page, q=q), status


@blueprint.route("/users/<int:user_id>", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def user(user_id: int):
    user = _get_or_404(User, user_id)
    form = UserEditForm(obj=user, agency=user.agency_id)
    form.agency.choices = _agency_choices()
    if user.agency_id not in {c.value for c in form.agency.choices}:
        form.agency.choices.insert(0, SelectChoice(user.agency_id, user.agency.name))
    status = 200
    if form.validate_on_submit():
        try:
            operations.update_user(_actor(), user, form.display_name.data,
                                   db.session.get(Agency, form.agency.data))
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.user", user_id=user.id))
        except OperationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("admin/user.html", user=user, form=form,
                           action_form=ActionForm()), status


@blueprint.route("/users/<int:user_id>/active", methods=["POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def user_active(user_id: int):
    user = _get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        operations.set_user_active(_actor(), user, active)
        db.session.commit()
        flash(_("Account enabled.") if active else _("Account disabled; it was signed out."),
              "success")
    return redirect(url_for("admin.user", user_id=user.id))


@blueprint.route("/users/<int:user_id>/password", methods=["POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def user_reset_password(user_id: int):
    user = _get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.user", user_id=user.id))
    password = operations.reset_password(_actor(), user)
    db.session.commit()
    return render_template("admin/password_issued.html", user=user, password=password)


# --- roles (security administrator) -------------------------------------------------------

@blueprint.route("/roles")
@policy.requires(Permission.ASSIGN_ROLES)
def roles():
    page, q = _user_list()
    return render_template("admin/roles.html", page=page, q=q)


@blueprint.route("/roles/<int:user_id>", methods=["GET", "POST"])
@policy.requires(Permission.ASSIGN_ROLES)
def user_roles(user_id: int):
    user = _get_or_404(User, user_id)
    form = RolesForm(roles=[r.value for r in user.roles])
    status = 200
    if form.validate_on_submit():
        try:
            operations.set_roles(_actor(), user, form.roles.data)
            db.session.commit()
            flash(_("Roles saved; the account was signed out everywhere."), "success")
            return redirect(url_for("admin.roles"))
        except OperationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("admin/user_roles.html", user=user, form=form), status
