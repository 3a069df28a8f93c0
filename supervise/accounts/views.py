"""Signing in and out, one's own password and language, and the home page."""

from urllib.parse import urlsplit

import ua_parser
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from supervise import policy
from supervise.accounts import auth, operations, passwords, twofactor
from supervise.accounts.forms import (
    ActionForm,
    ChangePasswordForm,
    CodeForm,
    EnrolForm,
    LanguageForm,
    SignInForm,
)
from supervise.accounts.models import User
from supervise.database import now_utc
from supervise.errors import OperationError
from supervise.extensions import db
from supervise.i18n import local_time
from supervise.pages import attempt, done
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
            if result.outcome == auth.SignIn.OK and twofactor.needed(result.user):
                db.session.commit()  # a rehashed password
                _await_second_factor(result.user)
                step = "second_factor" if twofactor.enrolled(result.user) else "enrol"
                return redirect(url_for(f"accounts.{step}"))
            if result.outcome == auth.SignIn.OK:
                return _signed_in(result.user, request.args.get("next"))
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


def _open_session(user) -> None:
    """Sign in; a password past its lifetime must be changed first, as a temporary one."""
    passwords.expire_if_due(user)
    auth.sign_in(user)


def _signed_in(user, target: str | None):
    _open_session(user)
    db.session.commit()
    if user.must_change_password:
        return redirect(url_for("accounts.change_password"))
    return redirect(_safe_next(target))


# --- the second step of a sign-in: a code, or enrolment --------------------------------------
# Between the password and the code, the session holds only whose password was right, when, and
# where to go after; it signs nobody in (no `sid`), and it lapses after a few minutes.
PENDING_KEY = "pending_sign_in"


def _await_second_factor(user) -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    session[PENDING_KEY] = {"user": user.id, "since": now_utc().timestamp(),
                            "next": request.args.get("next") or ""}


def _pending_user():
    """The account whose password was just right, or None (none, lapsed, or now disabled)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    since = pending.get("since")
    if not isinstance(since, int | float) or \
            now_utc().timestamp() - since > twofactor.PENDING_LIFETIME.total_seconds():
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, pending.get("user")) if isinstance(pending.get("user"), int) \
        else None
    return user if user is not None and user.is_active else None


def _back_to_sign_in():
    session.pop(PENDING_KEY, None)
    flash(_("Sign in with your user name and password first."), "error")
    return redirect(url_for("accounts.login"))


def _complete(user):
    target = session.pop(PENDING_KEY, {}).get("next")
    return _signed_in(user, target)


@blueprint.route("/login/code", methods=["GET", "POST"])
@policy.public
def second_factor():
    user = _pending_user()
    if user is None or not twofactor.enrolled(user):
        return _back_to_sign_in()
    form = CodeForm()
    error, status = None, 200
    if request.method == "POST":
        if form.validate():
            check = twofactor.CodeCheck(form.code.data)
            result = auth.attempt(user.username, check, event="auth.second_factor")
            if result.outcome == auth.SignIn.OK and check.spend(result.user):
                return _complete(result.user)
            db.session.commit()  # keep the failure count and the events
            if result.outcome == auth.SignIn.LOCKED:
                session.pop(PENDING_KEY, None)
                flash(_("Too many failed attempts. Sign-in for this user name is locked "
                        "until %(time)s.", time=local_time(result.locked_until, "%H:%M")),
                      "error")
                return redirect(url_for("accounts.login"))
            error, status = _("The code is not correct, or it has been used already."), 401
        else:
            error, status = _("Enter the code."), 400
    form.code.data = None
    return render_template("accounts/second_factor.html", form=form, error=error), status


@blueprint.route("/login/enrol", methods=["GET", "POST"])
@policy.public
def enrol():
    """Add the platform to an authenticator app: its QR code, then a first code; then the
    recovery codes, shown once."""
    user = _pending_user()
    if user is None or twofactor.enrolled(user):
        return _back_to_sign_in()
    form = EnrolForm()
    error, status = None, 200
    secret = twofactor.pending_secret(user)
    if request.method == "POST":
        if form.validate():
            codes = twofactor.enrol(user, form.code.data)
            if codes is not None:
                session.pop(PENDING_KEY, None)
                _open_session(user)
                db.session.commit()
                response = make_response(render_template(
                    "accounts/recovery_codes.html", codes=codes,
                    next_url=url_for("accounts.change_password") if user.must_change_password
                    else url_for("todo.home")))
                response.headers["Cache-Control"] = "no-store"
                return response
            error, status = _("The code is not correct. Check the time on your phone and try "
                              "again with the code it shows now."), 400
        else:
            error, status = _("Enter the code."), 400
    db.session.commit()  # the secret being enrolled, kept across reloads
    uri = twofactor.provisioning_uri(user, secret)
    form.code.data = None
    response = make_response(render_template(
        "accounts/enrol.html", form=form, error=error, secret=secret, qr=twofactor.qr_svg(uri)),
        status)
    response.headers["Cache-Control"] = "no-store"
    return response


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
    forced = None
    if user.must_change_password:
        forced = "expired" if passwords.expired(user) else "temporary"
    return render_template("accounts/change_password.html", form=form, forced=forced,
                           policy=passwords.current_policy()), status


# --- one's own sessions and tokens ----------------------------------------------------------

@blueprint.route("/account/sessions")
@policy.signed_in
def sessions():
    """The account's live sessions and API tokens: the device, where from, when last used."""
    return _sessions_page(200)


def _sessions_page(status: int):
    current = g.get("credential")
    rows = [(c, _device(c.user_agent), current is not None and c.id == current.id)
            for c in db.session.scalars(auth.live_credentials(current_actor()))]
    return render_template("accounts/sessions.html", rows=rows,
                           action_form=ActionForm(formdata=None),
                           limit=current_app.config["MAX_SESSIONS"]), status


def _device(user_agent: str | None) -> str:
    """"Chrome 131 · Windows 10" from what the browser or program named itself."""
    if not user_agent:
        return _("Unknown device")
    found = ua_parser.parse(user_agent)
    parts = []
    for part in (found.user_agent, found.os):
        if part is not None and part.family != "Other":
            parts.append(" ".join(p for p in (part.family, part.major) if p))
    return " · ".join(parts) or user_agent[:60]


@blueprint.route("/account/sessions/<public_id>/end", methods=["POST"])
@policy.signed_in
def end_session(public_id: str):
    user = current_actor()
    current = g.get("credential")
    return attempt(
        lambda: operations.end_own_credential(user, public_id),
        done=lambda ended: (_signed_out() if current is not None and ended.id == current.id
                            else done(_("That session has ended."),
                                      url_for("accounts.sessions"))),
        show=lambda status, _errors: _sessions_page(status), form=ActionForm())


def _signed_out():
    session.clear()
    flash(_("This session has ended. Sign in again to continue."), "info")
    return redirect(url_for("accounts.login"))


@blueprint.route("/account/sessions/end-others", methods=["POST"])
@policy.signed_in
def end_other_sessions():
    user = current_actor()
    return attempt(
        lambda: operations.end_other_credentials(user, g.get("credential")),
        done=lambda ended: done(ngettext("%(num)d other session or token has ended.",
                                         "%(num)d other sessions and tokens have ended.",
                                         ended), url_for("accounts.sessions")),
        show=lambda status, _errors: _sessions_page(status), form=ActionForm())


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
