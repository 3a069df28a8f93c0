"""Tokens and the caller's own account, under /api/v1."""

from flask import g
from flask_babel import gettext as _
from flask_login import current_user

from supervise import policy
from supervise.accounts import auth, passwords, twofactor
from supervise.accounts.models import CredentialKind
from supervise.accounts.schemas import MeSchema, TokenRequestSchema, TokenSchema
from supervise.database import now_utc
from supervise.errors import OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.web import Blueprint

blueprint = Blueprint("accounts_api", __name__, description="Sign-in tokens and the caller")


@blueprint.route("/tokens", methods=["POST"])
@blueprint.arguments(TokenRequestSchema)
@blueprint.response(201, TokenSchema)
@policy.public(csrf=False)
def create_token(credentials):
    """Exchange a user name and password, and for an account with a second factor its code
    (`otp`), for a bearer token.

    Every bad combination gets the same 401; lock-out applies as on the sign-in page. An
    account that must enrol a second factor first does so on the web.
    """
    refused = OperationError(_("The user name, password or code is not correct, or sign-in is "
                               "locked or disabled for this account."), 401)
    result = auth.authenticate(credentials["username"], credentials["password"])
    if result.outcome == auth.SignIn.OK and twofactor.needed(result.user):
        if not twofactor.enrolled(result.user):
            db.session.commit()
            raise OperationError(_("Set up your second factor on the web before using the "
                                   "API."), 403)
        check = twofactor.CodeCheck(credentials.get("otp") or "")
        result = auth.attempt(result.user.username, check, event="auth.second_factor")
        if result.outcome == auth.SignIn.OK and not check.spend(result.user):
            result = auth.SignInResult(auth.SignIn.BAD_CREDENTIALS)
    if result.outcome != auth.SignIn.OK:
        db.session.commit()  # keep the failure count and the events
        raise refused
    user = result.user
    passwords.expire_if_due(user)
    if user.must_change_password:
        db.session.commit()
        raise OperationError(_("Your password has expired. Change it on the web before using "
                               "the API.") if passwords.expired(user) else
                             _("You must change your password on the web before using the "
                               "API."), 403)
    token, credential = auth.issue_credential(user, CredentialKind.API)
    db.session.flush()
    record_event("auth.token_issued", actor=user, obj=user, details={"credential": credential.id})
    db.session.commit()
    return {"token": token, "expires_at": credential.expires_at}


@blueprint.route("/tokens/current", methods=["DELETE"])
@blueprint.response(204)
@policy.signed_in
def revoke_token():
    """Revoke the bearer token this request carries."""
    credential = g.get("credential")
    if credential is None or credential.kind != CredentialKind.API:
        raise OperationError(_("This request does not carry a bearer token."), 400)
    credential.revoked_at = now_utc()
    record_event("auth.token_revoked", actor=current_user, obj=current_user,
                 details={"credential": credential.id})
    db.session.commit()


@blueprint.route("/me", methods=["GET"])
@blueprint.response(200, MeSchema)
@policy.signed_in
def me():
    """Who the caller is: user name, roles and agency."""
    return current_user
