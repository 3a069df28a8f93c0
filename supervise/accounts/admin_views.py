"""The system administrator's agencies and accounts, and the security administrator's roles.

Neither page shows any case content: administrators see who exists, not what they work on.
"""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from wtforms.fields.choices import SelectChoice

from supervise import policy
from supervise.accounts import auth, operations, twofactor
from supervise.accounts.forms import (
    ActionForm,
    AgencyEditForm,
    AgencyForm,
    RolesForm,
    UserEditForm,
    UserForm,
)
from supervise.accounts.models import Agency, User
from supervise.extensions import db
from supervise.pages import attempt, done
from supervise.pagination import count, paginate
from supervise.policy import Permission
from supervise.web import current_actor

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


def _get_or_404(model, ident: int):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def _agency_choices():
    agencies = db.session.scalars(
        sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.kind, Agency.code)
    )
    return [SelectChoice(a.id, _("%(name)s (%(code)s)", name=a.name, code=a.code))
            for a in agencies]


# --- agencies -----------------------------------------------------------------------------

@blueprint.route("/agencies", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def agencies():
    form = AgencyForm()

    def show(status, _errors):
        page = paginate(sa.select(Agency).order_by(Agency.kind, Agency.code))
        return render_template("admin/agencies.html", form=form, page=page,
                               action_form=ActionForm()), status

    return attempt(
        lambda: operations.create_agency(current_actor(), form.code.data, form.name.data,
                                         form.kind.data),
        done=lambda agency: done(_("Agency %(name)s created.", name=agency.name),
                                 url_for("admin.agencies")),
        show=show, form=form)


@blueprint.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def agency(agency_id: int):
    agency = _get_or_404(Agency, agency_id)
    form = AgencyEditForm(obj=agency)
    return attempt(
        lambda: operations.update_agency(current_actor(), agency, form.name.data),
        done=lambda _result: done(_("Saved."), url_for("admin.agency", agency_id=agency.id)),
        show=lambda status, _errors: (render_template(
            "admin/agency.html", agency=agency, form=form, action_form=ActionForm()), status),
        form=form)


@blueprint.route("/agencies/<int:agency_id>/active", methods=["POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def agency_active(agency_id: int):
    agency = _get_or_404(Agency, agency_id)
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        operations.set_agency_active(current_actor(), agency, active)
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

    def show(status, _errors):
        page, q = _user_list()
        return render_template("admin/users.html", form=form, page=page, q=q), status

    return attempt(
        lambda: operations.create_user(current_actor(), form.username.data,
                                       form.display_name.data,
                                       db.session.get(Agency, form.agency.data)),
        done=lambda created: render_template("admin/password_issued.html", user=created[0],
                                             password=created[1]),
        show=show, form=form)


def _user_form(user: User, **kwargs) -> UserEditForm:
    form = UserEditForm(obj=user, agency=user.agency_id, **kwargs)
    form.agency.choices = _agency_choices()
    if user.agency_id not in {c.value for c in form.agency.choices}:
        form.agency.choices.insert(0, SelectChoice(user.agency_id, user.agency.name))
    return form


@blueprint.route("/users/<int:user_id>", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def user(user_id: int):
    user = _get_or_404(User, user_id)
    form = _user_form(user)
    return attempt(
        lambda: operations.update_user(current_actor(), user, form.display_name.data,
                                       db.session.get(Agency, form.agency.data),
                                       form.email.data),
        done=lambda _result: done(_("Saved."), url_for("admin.user", user_id=user.id)),
        show=lambda status, _errors: (_user_page(user, form), status),
        form=form)


def _user_page(user: User, form):
    return render_template("admin/user.html", user=user, form=form, action_form=ActionForm(),
                           live_sessions=count(auth.live_credentials(user)),
                           reset=operations.reset_status(user))


@blueprint.route("/users/<int:user_id>/sessions/end", methods=["POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def user_end_sessions(user_id: int):
    """End every session and token of an account; the administrator sees how many, nothing of
    where or what."""
    user = _get_or_404(User, user_id)
    return attempt(
        lambda: operations.end_all_sessions(current_actor(), user),
        done=lambda ended: done(ngettext("%(num)d session or token ended.",
                                         "%(num)d sessions and tokens ended.", ended),
                                url_for("admin.user", user_id=user.id)),
        show=lambda status, _errors: redirect(url_for("admin.user", user_id=user.id)),
        form=ActionForm())


@blueprint.route("/users/<int:user_id>/active", methods=["POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def user_active(user_id: int):
    user = _get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        operations.set_user_active(current_actor(), user, active)
        db.session.commit()
        flash(_("Account enabled.") if active else _("Account disabled; it was signed out."),
              "success")
    return redirect(url_for("admin.user", user_id=user.id))


@blueprint.route("/users/<int:user_id>/password", methods=["POST"])
@policy.requires(Permission.MANAGE_ACCOUNTS)
def user_reset_password(user_id: int):
    """Reset a password: at once for an account with a second factor, or once the security
    administrator has approved it; otherwise ask for that approval."""
    user = _get_or_404(User, user_id)

    def issued(password):
        if password is None:
            return done(_("The reset was requested. The account has no second factor, so the "
                          "security administrator must approve it before a temporary password "
                          "is issued."), url_for("admin.user", user_id=user.id))
        return render_template("admin/password_issued.html", user=user, password=password)

    return attempt(
        lambda: operations.reset_or_request_password(current_actor(), user),
        done=issued,
        show=lambda status, _errors: (_user_page(user, _user_form(user, formdata=None)),
                                      status),
        form=ActionForm())


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
    return attempt(
        lambda: operations.set_roles(current_actor(), user, form.roles.data),
        done=lambda _result: done(_("Roles saved; the account was signed out everywhere."),
                            url_for("admin.roles")),
        show=lambda status, _errors: _user_roles_page(user, form, status),
        form=form)


def _user_roles_page(user, form, status):
    return render_template("admin/user_roles.html", user=user, form=form,
                           reset_form=ActionForm(formdata=None),
                           password_reset=operations.reset_status(user),
                           approval_hours=int(
                               operations.RESET_APPROVAL_LIFETIME.total_seconds() // 3600),
                           two_factor={"required": twofactor.required(user),
                                       "enrolled": twofactor.enrolled(user),
                                       "codes_left": twofactor.unused_recovery_codes(user)}), \
        status


@blueprint.route("/roles/<int:user_id>/second-factor", methods=["POST"])
@policy.requires(Permission.RESET_SECOND_FACTOR)
def user_reset_second_factor(user_id: int):
    """Forget an account's second factor (a lost phone): the holder enrols again."""
    user = _get_or_404(User, user_id)
    return attempt(
        lambda: operations.reset_second_factor(current_actor(), user),
        done=lambda _result: done(_("The second factor was reset; the holder sets up a new "
                                    "one at the next sign-in and has been told."),
                                  url_for("admin.user_roles", user_id=user.id)),
        show=lambda status, _errors: _user_roles_page(
            user, RolesForm(formdata=None, roles=[r.value for r in user.roles]), status),
        form=ActionForm())


def _decide_password_reset(user_id: int, decide, message: str):
    user = _get_or_404(User, user_id)
    return attempt(
        lambda: decide(current_actor(), user),
        done=lambda _result: done(message, url_for("admin.user_roles", user_id=user.id)),
        show=lambda status, _errors: _user_roles_page(
            user, RolesForm(formdata=None, roles=[r.value for r in user.roles]), status),
        form=ActionForm())


@blueprint.route("/roles/<int:user_id>/password-reset/approve", methods=["POST"])
@policy.requires(Permission.APPROVE_PASSWORD_RESET)
def user_approve_password_reset(user_id: int):
    """Approve the system administrator's request to reset the password of an account without
    a second factor: the second person of the reset, who never sees the password."""
    return _decide_password_reset(
        user_id, operations.approve_password_reset,
        _("Approved: the system administrator may now issue one temporary password."))


@blueprint.route("/roles/<int:user_id>/password-reset/refuse", methods=["POST"])
@policy.requires(Permission.APPROVE_PASSWORD_RESET)
def user_refuse_password_reset(user_id: int):
    """Refuse a request to reset a password, or withdraw an approval not used yet."""
    return _decide_password_reset(
        user_id, operations.refuse_password_reset,
        _("Refused: the password stays as it is."))
