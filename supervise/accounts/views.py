"""Signing in and out, one's own password and language, and the home page."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from supervise import policy
from supervise.accounts import auth, operations
from supervise.accounts.forms import ActionForm, ChangePasswordForm, LanguageForm, SignInForm
from supervise.errors import OperationError
from supervise.extensions import db
from supervise.i18n import local_time
from supervise.web import current_actor

blueprint = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("todo.home")


@blueprint.route("/login", methods=["GET", "POST"])
@policy.public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("todo.home"))
    form = SignInForm()
    error = None
    status = 200
    if request.method == "POST":
        if form.validate():
            result = auth.authenticate(form.username.data, form.password.data)
            if result.outcome == auth.SignIn.OK:
                auth.sign_in(result.user)
                db.session.commit()
                if result.user.must_change_password:
                    return redirect(url_for("accounts.change_password"))
                return redirect(_safe_next(request.args.get("next")))
            db.session.commit()  # keep the failure count and the events
            status = 401 if result.outcome == auth.SignIn.BAD_CREDENTIALS else 403
            if result.outcome == auth.SignIn.LOCKED:
                error = _("Too many failed attempts. Sign-in for this user name is locked "
                          "until %(time)s.", time=local_time(result.locked_until, "%H:%M"))
            elif result.outcome == auth.SignIn.DISABLED:
                error = _("This account is disabled. Ask your system administrator.")
            else:
                error = _("The user name or password is not correct.")
        else:
            status = 400
            error = _("Enter your user name and password.")
    elif request.args.get("expired"):
        error = _("Your session has ended. Please sign in again.")
    form.password.data = None
    return render_template("accounts/login.html", form=form, error=error), status


@blueprint.route("/logout", methods=["POST"])
@policy.signed_in(while_password_change=True)
def logout():
    auth.sign_out(current_actor())
    db.session.commit()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@blueprint.route("/account/password", methods=["GET", "POST"])
@policy.signed_in(while_password_change=True)
def change_password():
    form = ChangePasswordForm()
    user = current_actor()
    status = 200
    if form.validate_on_submit():
        try:
            if form.new_password.data != form.confirm_password.data:
                raise OperationError(_("The two new passwords are not the same."))
            operations.change_own_password(user, form.current_password.data,
                                           form.new_password.data)
            # Every session was ended; keep this browser signed in with a fresh one.
            auth.sign_in(user)
            db.session.commit()
            flash(_("Your password has been changed. Other sessions were signed out."), "success")
            return redirect(url_for("todo.home"))
        except operations.PasswordCheckFailed as exc:
            # A wrong current password is a failed sign-in: its events are kept.
            if exc.locked:
                auth.sign_out(user)
            db.session.commit()
            flash(exc.message, "error")
            if exc.locked:
                return redirect(url_for("accounts.login"))
            status = exc.status
        except OperationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("accounts/change_password.html", form=form,
                           forced=user.must_change_password), status


@blueprint.route("/language", methods=["POST"])
@policy.public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        locale = form.locale.data
        session["locale"] = locale
        if current_user.is_authenticated:
            operations.set_locale(current_actor(), locale)
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@blueprint.app_context_processor
def _layout_forms():
    # Never bound to the request: an error page may be built for a body that cannot be read.
    return {"language_form": LanguageForm(formdata=None),
            "sign_out_form": ActionForm(formdata=None)}
