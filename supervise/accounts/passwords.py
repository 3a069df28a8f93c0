"""The password policy (等保 level 3): length, kinds of character, no common password, no
recent one, and a lifetime after which the holder must choose a new one.

The numbers are the security administrator's settings. Accounts sit below the settings
package, so the settings package registers a provider of the policy at start-up
(`app.extensions[POLICY_PROVIDER]`); without one, `DEFAULT_POLICY` holds.

Only new passwords are checked: a temporary password the system generates, and a password set
directly (the demo accounts), are not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from supervise.accounts.auth import hash_matches
from supervise.accounts.models import PasswordHistory, User
from supervise.database import now_utc
from supervise.errors import OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.web import bad_text

POLICY_PROVIDER = "password_policy"
MAX_LENGTH = 256
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
# Digits, punctuation, spaces and the like at either end: "Password123!" is "password".
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int
    # Of the four kinds: lower-case letters, upper-case letters, digits, anything else.
    character_classes: int
    # A new password may not be any of the last `history` ones, the current one included; the
    # current one is always refused.
    history: int
    # Days a password lasts; 0: it does not expire.
    lifetime_days: int


DEFAULT_POLICY = PasswordPolicy(min_length=10, character_classes=3, history=5, lifetime_days=0)


def current_policy() -> PasswordPolicy:
    provider = current_app.extensions.get(POLICY_PROVIDER)
    return provider() if provider is not None else DEFAULT_POLICY


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list (see the head of the file for its sources), read once."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines
                     if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """On the list whatever its case, also once the digits and symbols around it are taken
    away ("Dragon2024!")."""
    word = unicodedata.normalize("NFKC", password).strip().casefold()
    listed = common_passwords()
    return word in listed or _EDGES.sub("", word) in listed


def character_classes(password: str) -> int:
    kinds = {"lower" if c.islower() else "upper" if c.isupper() else
             "digit" if c.isdigit() else "other" for c in password}
    return len(kinds)


def check_new_password(username: str, new_password) -> None:
    """Refuse a new password that breaks a rule of the policy, naming the rule; the rules that
    need no account (see `check_not_reused` for the others)."""
    policy = current_policy()
    new_password = new_password if isinstance(new_password, str) else ""
    if bad_text(new_password):
        raise OperationError(_("The new password contains characters that cannot be used."))
    if len(new_password) > MAX_LENGTH:
        raise OperationError(_("The new password is too long (at most %(n)d characters).",
                               n=MAX_LENGTH))
    if len(new_password) < policy.min_length:
        raise OperationError(_("The new password must have at least %(n)d characters.",
                               n=policy.min_length))
    if new_password.strip().lower() == username:
        raise OperationError(_("The new password may not be your user name."))
    if character_classes(new_password) < policy.character_classes:
        raise OperationError(_("The new password must contain at least %(n)d of these four "
                               "kinds of character: upper-case letters, lower-case letters, "
                               "digits, symbols.", n=policy.character_classes))
    if is_common(new_password):
        raise OperationError(_("This password is too common and easy to guess. Choose "
                               "another."))


def _previous(user: User, count: int) -> list[PasswordHistory]:
    if count <= 0:
        return []
    return list(db.session.scalars(
        sa.select(PasswordHistory).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc()).limit(count)))


def check_not_reused(user: User, new_password: str) -> None:
    """Refuse the current password and, as the policy says, the ones before it."""
    policy = current_policy()
    if hash_matches(user.password_hash, new_password):
        raise OperationError(_("The new password must differ from the current one."))
    if any(hash_matches(row.password_hash, new_password)
           for row in _previous(user, policy.history - 1)):
        raise OperationError(_("The new password may not be any of your last %(n)d "
                               "passwords.", n=policy.history))


def retire_current_password(user: User) -> None:
    """Keep the current password's hash before it is replaced, and forget the ones the policy
    no longer needs."""
    keep = current_policy().history - 1
    if keep > 0:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
        db.session.flush()
    kept = [row.id for row in _previous(user, keep)]
    db.session.execute(sa.delete(PasswordHistory).where(
        PasswordHistory.user_id == user.id, PasswordHistory.id.not_in(kept)))


def expired(user: User) -> bool:
    """Whether the password is older than the policy's lifetime (a password never changed
    counts from the account's creation)."""
    days = current_policy().lifetime_days
    if days <= 0:
        return False
    since = user.password_changed_at or user.created_at
    return since is None or now_utc() - since >= timedelta(days=days)


def expire_if_due(user: User) -> bool:
    """At sign-in: a password past its lifetime must be changed before anything else, as a
    temporary one must. True when this call said so."""
    if user.must_change_password or not expired(user):
        return False
    user.must_change_password = True
    record_event("user.password_expired", obj=user,
                 details={"lifetime_days": current_policy().lifetime_days})
    db.session.flush()
    return True
