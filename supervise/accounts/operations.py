"""Administrative changes to agencies and accounts, and a user's own password.

Each operation checks its rule, makes the change, records its event and flushes; the caller
commits once. A rule that fails raises `OperationError` with a message for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from blinker import Namespace
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from supervise.accounts import passwords, twofactor
from supervise.accounts.auth import (
    SignIn,
    authenticate,
    generate_password,
    hash_password,
    live_credentials,
    revoke,
    revoke_all_credentials,
)
from supervise.accounts.models import (
    Agency,
    AgencyKind,
    Credential,
    LoginSourceThrottle,
    LoginThrottle,
    RoleConflict,
    User,
    check_role_set,
)
from supervise.database import now_utc
from supervise.errors import InvalidInput, OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.i18n import local_time

# Sent as account_reset.send(actor, user=…, what="password" | "second_factor") once a reset is
# flushed and not committed; the receivers (notifications) tell the holder, in the same
# transaction.
account_reset = Namespace().signal("account-reset")
RESETS_WINDOW = timedelta(days=1)
# How long the security administrator's approval of a password reset may wait to be used.
RESET_APPROVAL_LIFETIME = timedelta(hours=24)

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")


def _clean_text(value: str | None, limit: int, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise OperationError(_("%(field)s is required.", field=label))
    if len(value) > limit:
        raise OperationError(_("%(field)s is too long (at most %(n)d characters).",
                               field=label, n=limit))
    return value


def clean_email(value) -> str | None:
    """An email address as typed, normalised (None for none), or InvalidInput. No lookup of
    the domain: the intranet may have no DNS for it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > 254:
        raise InvalidInput({"email": _("Enter a valid email address.")})
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidInput({"email": _("Enter a valid email address.")}) from None


def set_email(actor: User, user: User, value) -> bool:
    """Set the address notifications are emailed to; True when it changed. The event names
    who changed it, never the address."""
    email = clean_email(value)
    if email == user.email:
        return False
    user.email = email
    record_event("user.email", actor=actor, obj=user, details={"set": email is not None})
    return True


# --- agencies -----------------------------------------------------------------------------

def create_agency(actor: User, code: str, name: str, kind: str) -> Agency:
    code = (code or "").strip().lower()
    if not CODE_PATTERN.match(code):
        raise OperationError(_("The code must be 2–40 lower-case letters, digits or hyphens, "
                               "starting with a letter."))
    if db.session.scalar(sa.select(Agency.id).where(Agency.code == code)):
        raise OperationError(_("An agency with this code already exists."))
    name = _clean_text(name, 100, _("Name"))
    try:
        kind = AgencyKind(kind)
    except ValueError:
        raise OperationError(_("Unknown agency kind.")) from None
    agency = Agency(code=code, name=name, kind=kind, active=True)
    db.session.add(agency)
    db.session.flush()
    record_event("agency.create", actor=actor, obj=agency,
                 details={"code": code, "name": name, "kind": kind.value})
    return agency


def update_agency(actor: User, agency: Agency, name: str) -> Agency:
    name = _clean_text(name, 100, _("Name"))
    if name != agency.name:
        old = agency.name
        agency.name = name
        record_event("agency.update", actor=actor, obj=agency,
                     details={"name": {"from": old, "to": name}})
    db.session.flush()
    return agency


def set_agency_active(actor: User, agency: Agency, active: bool) -> Agency:
    if agency.active == active:
        raise OperationError(_("The agency is already enabled.") if active
                             else _("The agency is already disabled."))
    if not active and agency.id == actor.agency_id:
        raise OperationError(_("You cannot disable your own agency."))
    agency.active = active
    revoked = 0
    if not active:
        for user in agency.users:
            revoked += revoke_all_credentials(user)
    record_event("agency.enable" if active else "agency.disable", actor=actor, obj=agency,
                 details={"sessions_revoked": revoked} if not active else {})
    db.session.flush()
    return agency


# --- users --------------------------------------------------------------------------------

def _agency_for_user(agency: Agency | None) -> Agency:
    if agency is None:
        raise OperationError(_("Unknown agency."))
    if not agency.active:
        raise OperationError(_("The agency is disabled."))
    return agency


def create_user(actor: User, username: str, display_name: str,
                agency: Agency | None) -> tuple[User, str]:
    """Create an account with a temporary password, to be changed at first sign-in."""
    username = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise OperationError(_("The user name must be 3–64 lower-case letters, digits, dots, "
                               "hyphens or underscores, starting with a letter."))
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise OperationError(_("This user name is taken."))
    display_name = _clean_text(display_name, 100, _("Display name"))
    agency = _agency_for_user(agency)
    password = generate_password()
    user = User(username=username, display_name=display_name, agency=agency,
                password_hash=hash_password(password), must_change_password=True, active=True)
    db.session.add(user)
    db.session.flush()
    record_event("user.create", actor=actor, obj=user,
                 details={"username": username, "agency": agency.code})
    return user, password


def update_user(actor: User, user: User, display_name: str, agency: Agency | None,
                email=None) -> User:
    display_name = _clean_text(display_name, 100, _("Display name"))
    set_email(actor, user, email)
    agency = _agency_for_user(agency)
    changes = {}
    if display_name != user.display_name:
        changes["display_name"] = {"from": user.display_name, "to": display_name}
        user.display_name = display_name
    if agency.id != user.agency_id:
        changes["agency"] = {"from": user.agency.code, "to": agency.code}
        user.agency = agency
        # What a user may see follows the agency: end sessions opened under the old one.
        revoke_all_credentials(user)
    if changes:
        record_event("user.update", actor=actor, obj=user, details=changes)
    db.session.flush()
    return user


def set_user_active(actor: User, user: User, active: bool) -> User:
    if user.id == actor.id:
        raise OperationError(_("You cannot disable or enable your own account."))
    if user.active == active:
        raise OperationError(_("The account is already enabled.") if active
                             else _("The account is already disabled."))
    user.active = active
    if not active:
        revoke_all_credentials(user)
    record_event("user.enable" if active else "user.disable", actor=actor, obj=user)
    db.session.flush()
    return user


def _clear_lockout(user: User) -> None:
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.username == user.username))
    db.session.execute(sa.delete(LoginSourceThrottle).where(
        LoginSourceThrottle.username == user.username))


# --- password resets: one person with a second factor, two without -----------------------

class ResetApproval(StrEnum):
    """Where the two-person rule stands for an account's password reset."""

    NONE = "none"  # nothing asked
    PENDING = "pending"  # asked by the system administrator, awaiting the security administrator
    APPROVED = "approved"  # approved: good for one reset until it runs out
    EXPIRED = "expired"  # approved, but not used in time: to be asked again


@dataclass(frozen=True)
class ResetStatus:
    """What the administrators' pages say of an account's password reset. `needs_approval`:
    the account has no second factor, so a temporary password alone would let its holder
    (whoever that is) in, and one administrator must not be able to issue it alone."""

    needs_approval: bool
    approval: ResetApproval
    expires_at: datetime | None


def reset_needs_approval(user: User) -> bool:
    return not twofactor.enrolled(user)


def reset_approval(user: User, now: datetime | None = None) -> ResetApproval:
    if user.password_reset_requested_at is None:
        return ResetApproval.NONE
    if user.password_reset_approved_at is None:
        return ResetApproval.PENDING
    if (now or now_utc()) >= user.password_reset_approved_at + RESET_APPROVAL_LIFETIME:
        return ResetApproval.EXPIRED
    return ResetApproval.APPROVED


def reset_status(user: User) -> ResetStatus:
    approved = user.password_reset_approved_at
    return ResetStatus(needs_approval=reset_needs_approval(user), approval=reset_approval(user),
                       expires_at=approved + RESET_APPROVAL_LIFETIME if approved else None)


def _username(user: User | None) -> str | None:
    return user.username if user is not None else None


def _clear_reset_request(user: User) -> None:
    user.password_reset_requested_at = user.password_reset_requested_by_id = None
    user.password_reset_approved_at = user.password_reset_approved_by_id = None


def reset_or_request_password(actor: User, user: User) -> str | None:
    """What the system administrator's reset button does: the temporary password, when the
    account has a second factor or the security administrator has approved the reset; else a
    request for that approval (None), and the password stays as it is."""
    if reset_needs_approval(user) and reset_approval(user) != ResetApproval.APPROVED:
        request_password_reset(actor, user)
        return None
    return reset_password(actor, user)


def request_password_reset(actor: User, user: User) -> None:
    """Ask the security administrator to approve a reset of the password of an account without
    a second factor. Nothing about the password changes yet."""
    if user.id == actor.id:
        raise OperationError(_("Change your own password from your account page."))
    if not reset_needs_approval(user):
        raise OperationError(_("This account has a second factor: its password is reset "
                               "without approval."), 409)
    state = reset_approval(user)
    if state == ResetApproval.PENDING:
        raise OperationError(_("A reset of this password is already waiting for the security "
                               "administrator's approval."), 409)
    if state == ResetApproval.APPROVED:
        raise OperationError(_("The reset is approved already: the password can be reset "
                               "now."), 409)
    _clear_reset_request(user)
    user.password_reset_requested_at = now_utc()
    user.password_reset_requested_by_id = actor.id
    record_event("user.request_password_reset", actor=actor, obj=user,
                 details={"earlier_approval_expired": True}
                 if state == ResetApproval.EXPIRED else {})
    db.session.flush()


def _decide_reset(actor: User, user: User) -> ResetApproval:
    """The checks shared by approving and refusing a reset request; its state."""
    if user.id == actor.id:
        raise OperationError(_("A reset of your own password is decided by someone else."))
    state = reset_approval(user)
    if state not in (ResetApproval.PENDING, ResetApproval.APPROVED):
        raise OperationError(_("No password reset of this account is waiting for approval."),
                             409)
    return state


def approve_password_reset(actor: User, user: User) -> None:
    """The security administrator lets the system administrator issue one temporary password
    within RESET_APPROVAL_LIFETIME. The approver never sees it."""
    state = _decide_reset(actor, user)
    if state == ResetApproval.APPROVED:
        raise OperationError(_("This reset is approved already."), 409)
    if user.password_reset_requested_by_id == actor.id:
        raise OperationError(_("You asked for this reset: someone else must approve it."))
    user.password_reset_approved_at = now_utc()
    user.password_reset_approved_by_id = actor.id
    record_event("user.approve_password_reset", actor=actor, obj=user,
                 details={"requested_by": _username(user.password_reset_requested_by)})
    db.session.flush()


def refuse_password_reset(actor: User, user: User) -> None:
    """Refuse a reset request, or withdraw an approval not used yet: the password stays."""
    state = _decide_reset(actor, user)
    details = {"requested_by": _username(user.password_reset_requested_by)}
    if state == ResetApproval.APPROVED:
        details["approved_by"] = _username(user.password_reset_approved_by)
    _clear_reset_request(user)
    record_event("user.refuse_password_reset", actor=actor, obj=user, details=details)
    db.session.flush()


def _take_approval(user: User) -> dict:
    """Use up the approval of a reset with one conditional UPDATE, so that of two resets racing
    for one approval only one issues a password; who asked and who approved, for the event."""
    details = {"requested_by": _username(user.password_reset_requested_by),
               "approved_by": _username(user.password_reset_approved_by)}
    taken = db.session.execute(
        sa.update(User).where(
            User.id == user.id,
            User.password_reset_approved_by_id == user.password_reset_approved_by_id,
            User.password_reset_approved_at == user.password_reset_approved_at)
        .values(password_reset_requested_at=None, password_reset_requested_by_id=None,
                password_reset_approved_at=None, password_reset_approved_by_id=None)
        .execution_options(synchronize_session=False)).rowcount
    if not taken:
        raise OperationError(_("This approval has just been used or withdrawn."), 409)
    db.session.expire(user, ["password_reset_requested_at", "password_reset_requested_by_id",
                             "password_reset_approved_at", "password_reset_approved_by_id",
                             "password_reset_requested_by", "password_reset_approved_by"])
    return details


def reset_password(actor: User, user: User) -> str:
    """Give the account a temporary password; it must be changed at the next sign-in. An
    account without a second factor needs the security administrator's approval first, which
    this uses up."""
    if user.id == actor.id:
        raise OperationError(_("Change your own password from your account page."))
    details = {}
    if reset_needs_approval(user):
        state = reset_approval(user)
        if state == ResetApproval.PENDING:
            raise OperationError(_("The reset is waiting for the security administrator's "
                                   "approval."), 409)
        if state != ResetApproval.APPROVED:
            raise OperationError(_("This account has no second factor: the security "
                                   "administrator must approve a reset of its password "
                                   "first."), 409)
        details = _take_approval(user)
    elif user.password_reset_requested_at is not None:
        _clear_reset_request(user)  # asked before the holder set up a second factor
    password = generate_password()
    passwords.retire_current_password(user)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = user.password_reset_at = now_utc()
    revoke_all_credentials(user)
    _clear_lockout(user)
    record_event("user.reset_password", actor=actor, obj=user, details=details)
    db.session.flush()
    account_reset.send(actor, user=user, what="password")
    return password


def reset_second_factor(actor: User, user: User) -> None:
    """Forget the account's second factor (the security administrator's, for a lost phone):
    the holder enrols again at the next sign-in, with the password only they know."""
    if user.id == actor.id:
        raise OperationError(_("You cannot reset your own second factor."))
    if not twofactor.enrolled(user) and not user.otp_secret:
        raise OperationError(_("This account has no second factor to reset."))
    twofactor.remove(user)
    user.otp_reset_at = now_utc()
    revoke_all_credentials(user)
    record_event("user.reset_second_factor", actor=actor, obj=user)
    db.session.flush()
    account_reset.send(actor, user=user, what="second_factor")


# --- sessions and tokens -------------------------------------------------------------------

def end_own_credential(user: User, public_id: str) -> Credential:
    """End one of one's own live sessions or tokens (a lost laptop, a token no longer used)."""
    credential = db.session.scalar(live_credentials(user).where(
        Credential.public_id == str(public_id or "")))
    if credential is None:
        raise OperationError(_("This session has already ended."), 404)
    revoke([credential])
    record_event("user.end_session", actor=user, obj=user,
                 details={"kind": credential.kind.value})
    db.session.flush()
    return credential


def end_other_credentials(user: User, current: Credential | None) -> int:
    """End every live session and token of one's own but the one in use."""
    others = [c for c in db.session.scalars(live_credentials(user))
              if current is None or c.id != current.id]
    ended = revoke(others)
    record_event("user.end_other_sessions", actor=user, obj=user, details={"ended": ended})
    db.session.flush()
    return ended


def end_all_sessions(actor: User, user: User) -> int:
    """The system administrator ends every session and token of an account (a stolen laptop,
    a holder who left) without seeing them."""
    ended = revoke_all_credentials(user)
    record_event("user.end_sessions", actor=actor, obj=user, details={"ended": ended})
    db.session.flush()
    return ended


def resets_close_together(user: User) -> bool:
    """Password and second factor both reset within a day of each other: what two
    administrators acting together would do to enter the account."""
    if user.password_reset_at is None or user.otp_reset_at is None:
        return False
    return abs(user.password_reset_at - user.otp_reset_at) <= RESETS_WINDOW


def set_roles(actor: User, user: User, roles) -> User:
    if user.id == actor.id:
        raise OperationError(_("You cannot change your own roles."))
    try:
        wanted = check_role_set(roles)
    except RoleConflict as exc:
        raise OperationError(str(exc)) from None
    except ValueError:
        raise OperationError(_("Unknown role.")) from None
    before = user.roles
    if wanted == before:
        return user
    user.set_roles(wanted)
    revoke_all_credentials(user)
    record_event("user.set_roles", actor=actor, obj=user, details={
        "added": sorted(r.value for r in wanted - before),
        "removed": sorted(r.value for r in before - wanted),
    })
    db.session.flush()
    return user


class PasswordCheckFailed(OperationError):
    """The current password was wrong: the failure counts as a failed sign-in and its events
    are kept. `locked`: the limit is reached, the session is to end."""

    def __init__(self, message: str, locked: bool = False):
        super().__init__(message, 403 if locked else 400)
        self.locked = locked


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    """Change one's own password; every other session and token of the user ends. Wrong
    current passwords count against the sign-in limits: whoever holds a session but not the
    password gets no more guesses here than at the sign-in page."""
    result = authenticate(user.username, current_password or "", event="user.password_check")
    if result.outcome == SignIn.LOCKED:
        raise PasswordCheckFailed(_("Too many wrong passwords. You have been signed out; sign "
                                    "in again after %(time)s.",
                                    time=local_time(result.locked_until, "%H:%M")), locked=True)
    if result.outcome != SignIn.OK:
        raise PasswordCheckFailed(_("The current password is not correct."))
    passwords.check_new_password(user.username, new_password)
    passwords.check_not_reused(user, new_password)
    passwords.retire_current_password(user)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = now_utc()
    revoke_all_credentials(user)
    record_event("user.change_password", actor=user, obj=user)
    db.session.flush()


def set_locale(user: User, locale: str) -> None:
    if locale not in current_app.config["LANGUAGES"]:
        raise OperationError(_("Unknown language."))
    user.locale = locale
    db.session.flush()
