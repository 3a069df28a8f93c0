"""The second factor as the tests meet it: an account enrolled with a known secret, and a code
that is accepted however many times the test signs in within one time step."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa

from supervise.accounts.models import User
from supervise.database import now_utc
from supervise.extensions import db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol(user: User, secret: str = SECRET) -> None:
    """Enrolled with `secret`, as if the holder had scanned it and confirmed a first code."""
    user.otp_secret = secret
    user.otp_enrolled_at = now_utc()
    user.otp_last_step = None


def code_for(username: str) -> str:
    """The account's current code, made acceptable again (the replay guard forgets the last
    step), enrolling the account with SECRET if it has not enrolled. Commits."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user.otp_enrolled_at is None:
        enrol(user)
    user.otp_last_step = None
    db.session.commit()
    return pyotp.TOTP(user.otp_secret).now()
