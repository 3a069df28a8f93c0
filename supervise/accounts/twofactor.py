"""The second factor: time-based one-time codes (TOTP, RFC 6238) and one-time recovery codes.

Who needs one is the security administrator's choice (`TwoFactorRule`: by role, by agency
kind); whoever has enrolled needs one anyway. Enrolment shows a QR code drawn here (segno, no
outside service) and is confirmed by a first code; it then gives ten recovery codes, shown once
and kept only as hashes. A code is accepted once: the time step it belongs to is remembered,
and a code of that step or an earlier one is refused (no replay within its window).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from supervise.accounts.models import (
    ADMIN_ROLES,
    AgencyKind,
    RecoveryCode,
    Role,
    TwoFactorRule,
    User,
)
from supervise.database import now_utc
from supervise.errors import OperationError
from supervise.events.log import record_event
from supervise.extensions import db

ISSUER = "supervise"
STEP_SECONDS = 30
# A code of the step before or after the current one is still taken (clocks drift).
DRIFT_STEPS = 1
RECOVERY_CODES = 10
# Recovery codes: four groups of four from 32 unambiguous characters (80 bits).
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# How long the second step of a sign-in waits after the password was right.
PENDING_LIFETIME = timedelta(minutes=5)


def rules() -> set[tuple[str, str]]:
    return {(r.scope, r.value) for r in db.session.scalars(sa.select(TwoFactorRule))}


def required(user: User) -> bool:
    """The security administrator's rules ask this account for a second factor (an
    administrator's always do)."""
    if user.roles & ADMIN_ROLES:
        return True
    wanted = {("role", role.value) for role in user.roles}
    wanted.add(("agency_kind", user.agency.kind.value))
    return bool(wanted & rules())


def enrolled(user: User) -> bool:
    return user.otp_enrolled_at is not None


def needed(user: User) -> bool:
    """Sign-in asks this account for a code (or, not enrolled yet, to enrol)."""
    return enrolled(user) or required(user)


# --- enrolment ------------------------------------------------------------------------------

def pending_secret(user: User) -> str:
    """The secret being enrolled: kept across reloads of the enrolment page until confirmed."""
    if enrolled(user):
        raise ValueError("already enrolled")
    if not user.otp_secret:
        user.otp_secret = pyotp.random_base32()
    return user.otp_secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.username, issuer_name=current_app.config.get("OTP_ISSUER", ISSUER))


def qr_svg(uri: str) -> str:
    """The QR code of an otpauth:// address as inline SVG markup."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, omitsize=True)


def enrol(user: User, code: str) -> list[str] | None:
    """Confirm enrolment with a first code; the recovery codes, or None if the code is wrong."""
    step = matching_step(user.otp_secret or "", code, None)
    if step is None:
        return None
    user.otp_enrolled_at = now_utc()
    user.otp_last_step = step
    codes = replace_recovery_codes(user)
    record_event("user.enrol_second_factor", actor=user, obj=user)
    return codes


def remove(user: User) -> None:
    """Forget the second factor and its recovery codes (a reset: the holder enrols again)."""
    user.otp_secret = None
    user.otp_enrolled_at = None
    user.otp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- codes ----------------------------------------------------------------------------------

def _digits(code) -> str | None:
    code = "".join(str(code or "").split())
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def current_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def matching_step(secret: str, code, last_step: int | None, at: float | None = None) -> int | None:
    """The time step whose code this is, if it is near now and after `last_step`."""
    code = _digits(code)
    if code is None or not secret:
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now = current_step(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        # Every candidate is compared, so the time taken says nothing about which matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normal_recovery(code) -> str:
    return "".join(ch for ch in str(code or "").upper() if ch.isalnum())[:32]


def replace_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes in place of the old ones; shown once, kept as hashes."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4))
                      for _ in range(4)) for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(_normal_recovery(c)))
                       for c in codes)
    return codes


def unused_recovery_codes(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


class CodeCheck:
    """The check of one code at sign-in, in two parts. Calling it (within `auth.attempt`)
    only reads: whether the code is the authenticator's for a step after the last one taken, or
    one of the unused recovery codes; the sign-in counters are written on their own connection
    meanwhile, which a write of the request's transaction would block on SQLite. `spend` then
    takes the code for good with one conditional UPDATE, so that of two sign-ins racing with one
    code only one gets in."""

    def __init__(self, code):
        self.code = code
        self.step: int | None = None
        self.recovery: str | None = None

    def __call__(self, user: User | None) -> bool:
        if user is None or not enrolled(user):
            return False
        self.step = matching_step(user.otp_secret, self.code, user.otp_last_step)
        if self.step is not None:
            return True
        normal = _normal_recovery(self.code)
        if len(normal) == 16 and db.session.scalar(sa.select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(normal),
                RecoveryCode.used_at.is_(None))):
            self.recovery = _hash(normal)
            return True
        return False

    def spend(self, user: User) -> bool:
        """Take the code; False if another sign-in took it first."""
        if self.step is not None:
            taken = db.session.execute(
                sa.update(User).where(User.id == user.id, sa.or_(
                    User.otp_last_step.is_(None), User.otp_last_step < self.step))
                .values(otp_last_step=self.step)
                .execution_options(synchronize_session=False)).rowcount
            if taken:
                user.otp_last_step = self.step
            return bool(taken)
        if self.recovery is None:
            return False
        taken = db.session.execute(
            sa.update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                          RecoveryCode.code_hash == self.recovery,
                                          RecoveryCode.used_at.is_(None))
            .values(used_at=now_utc())).rowcount
        if taken:
            record_event("user.recovery_code_used", actor=user, obj=user,
                         details={"left": unused_recovery_codes(user)})
        return bool(taken)


def set_rules(actor: User, roles, agency_kinds) -> bool:
    """Replace the rules of who needs a second factor; True when they changed."""
    try:
        wanted = {("role", Role(r).value) for r in roles} | {
            ("agency_kind", AgencyKind(k).value) for k in agency_kinds}
    except ValueError:
        raise OperationError(_("Unknown role or agency kind.")) from None
    wanted |= {("role", role.value) for role in ADMIN_ROLES}  # never without
    before = rules()
    if wanted == before:
        return False
    db.session.execute(sa.delete(TwoFactorRule))
    db.session.add_all(TwoFactorRule(scope=scope, value=value) for scope, value in sorted(wanted))
    record_event("settings.two_factor", actor=actor, details={
        "added": sorted(f"{s}:{v}" for s, v in wanted - before),
        "removed": sorted(f"{s}:{v}" for s, v in before - wanted)})
    db.session.flush()
    return True
