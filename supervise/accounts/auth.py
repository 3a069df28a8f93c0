"""Signing in: password hashing, lock-out, server-side sessions and API tokens.

A browser session and an API token are both a `Credential` row: the client keeps a random
secret, the server keeps its hash, and revoking the row signs the client out at once, on every
worker. The Flask session cookie carries only that secret (and the CSRF token and language).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, session
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from supervise.accounts.models import Credential, CredentialKind, LoginThrottle, User
from supervise.database import now_utc
from supervise.events.log import client_ip, record_event
from supervise.events.models import Outcome
from supervise.extensions import db, login_manager
from supervise.policy import bearer_token

SESSION_KEY = "sid"
# Refresh a session's last-seen time at most this often, to spare a write on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; for an unknown user, spend the same time and say no."""
    hasher = _hasher()
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _dummy_hash() -> str:
    cache = current_app.extensions.setdefault("supervise_dummy_hash", {})
    if "hash" not in cache:
        cache["hash"] = _hasher().hash(secrets.token_urlsafe(16))
    return cache["hash"]


def generate_password() -> str:
    """A temporary password an administrator reads out once; unambiguous characters only."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(14))


class SignIn(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass
class SignInResult:
    outcome: SignIn
    user: User | None = None
    locked_until: datetime | None = None


def _throttle_for(username: str, create: bool = False) -> LoginThrottle | None:
    """The throttle row for a user name, locked for this transaction.

    With `create`, the row is made first if missing; INSERT … ON CONFLICT DO NOTHING lets two
    simultaneous first failures for one name both go on to count.
    """
    if create:
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[
            db.session.get_bind().dialect.name
        ]
        db.session.execute(
            insert(LoginThrottle)
            .values(username=username, failures=0, window_started_at=now_utc())
            .on_conflict_do_nothing()
        )
    return db.session.scalar(
        sa.select(LoginThrottle).where(LoginThrottle.username == username).with_for_update()
    )


def authenticate(username: str, password: str) -> SignInResult:
    """Check credentials, count failures and lock out; records the events. Never commits.

    Unknown user and wrong password give the same result, and lock-out applies to any user name,
    so that neither reveals which accounts exist.
    """
    cfg = current_app.config
    username = (username or "").strip().lower()[:64]
    now = now_utc()
    throttle = _throttle_for(username)
    user = db.session.scalar(sa.select(User).where(User.username == username))

    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        record_event("auth.sign_in", actor=None, obj=user,
                     outcome=Outcome.DENIED, details={"reason": "locked"})
        return SignInResult(SignIn.LOCKED, locked_until=throttle.locked_until)

    if not verify_password(user, password):
        throttle = throttle or _throttle_for(username, create=True)
        if now - throttle.window_started_at > cfg["LOGIN_FAILURE_WINDOW"]:
            throttle.failures = 0
            throttle.window_started_at = now
        throttle.failures += 1
        record_event("auth.sign_in", obj=user, outcome=Outcome.FAILURE,
                     details={"reason": "bad_credentials"})
        if throttle.failures >= cfg["LOGIN_MAX_FAILURES"]:
            throttle.locked_until = now + cfg["LOGIN_LOCKOUT"]
            throttle.failures = 0
            record_event("auth.lock_out", obj=user, outcome=Outcome.DENIED,
                         details={"until": throttle.locked_until.isoformat()})
            return SignInResult(SignIn.LOCKED, locked_until=throttle.locked_until)
        return SignInResult(SignIn.BAD_CREDENTIALS)

    if throttle is not None:
        db.session.delete(throttle)
    if not user.is_active:
        record_event("auth.sign_in", actor=None, obj=user, outcome=Outcome.DENIED,
                     details={"reason": "disabled"})
        return SignInResult(SignIn.DISABLED)
    return SignInResult(SignIn.OK, user=user)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_credential(user: User, kind: CredentialKind) -> tuple[str, Credential]:
    lifetime = current_app.config[
        "SESSION_ABSOLUTE_TIMEOUT" if kind == CredentialKind.SESSION else "API_TOKEN_LIFETIME"
    ]
    token = secrets.token_urlsafe(32)
    now = now_utc()
    credential = Credential(
        kind=kind,
        token_hash=_hash_token(token),
        user=user,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ip=client_ip(),
    )
    db.session.add(credential)
    return token, credential


def sign_in(user: User) -> Credential:
    """Start a browser session: a fresh cookie (no fixation) naming a new server-side session."""
    locale = session.get("locale")
    session.clear()
    token, credential = issue_credential(user, CredentialKind.SESSION)
    session[SESSION_KEY] = token
    if locale and not user.locale:
        user.locale = locale
    record_event("auth.sign_in", actor=user, obj=user)
    return credential


def sign_out(user: User) -> None:
    credential = g.get("credential")
    if credential is not None:
        credential.revoked_at = now_utc()
    session.clear()
    record_event("auth.sign_out", actor=user, obj=user)


def revoke_all_credentials(user: User) -> int:
    """Sign the user out everywhere: every session and every API token."""
    result = db.session.execute(
        sa.update(Credential)
        .where(Credential.user_id == user.id, Credential.revoked_at.is_(None))
        .values(revoked_at=now_utc())
    )
    return result.rowcount


def find_credential(token: str, kind: CredentialKind) -> Credential | None:
    """The live credential for a token, or None when unknown, revoked, expired or idle."""
    if not token:
        return None
    credential = db.session.scalar(
        sa.select(Credential).where(
            Credential.token_hash == _hash_token(token), Credential.kind == kind
        )
    )
    if credential is None or credential.revoked_at is not None:
        return None
    now = now_utc()
    if credential.expires_at <= now:
        return None
    if kind == CredentialKind.SESSION and (
        now - credential.last_seen_at > current_app.config["SESSION_IDLE_TIMEOUT"]
    ):
        return None
    if not credential.user.is_active:
        return None
    return credential


@login_manager.request_loader
def load_user_from_request(request):
    """Who is calling: a bearer token on the API, else the session cookie."""
    token = bearer_token()
    if token is not None:
        credential = find_credential(token, CredentialKind.API)
    elif SESSION_KEY in session:
        credential = find_credential(session[SESSION_KEY], CredentialKind.SESSION)
        if credential is None:
            session.pop(SESSION_KEY, None)
            g.session_expired = True
    else:
        return None
    if credential is None:
        return None
    g.credential = credential
    if now_utc() - credential.last_seen_at > TOUCH_INTERVAL:
        # Nothing else is pending yet at this point of the request, so this commit carries only
        # the touch.
        credential.last_seen_at = now_utc()
        db.session.commit()
    return credential.user
