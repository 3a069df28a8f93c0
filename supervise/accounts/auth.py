"""Signing in: password hashing, lock-out, server-side sessions and API tokens.

A browser session and an API token are both a `Credential` row: the client keeps a random
secret, the server keeps its hash, and revoking the row signs the client out at once, on every
worker. The Flask session cookie carries only that secret (and the CSRF token and language).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, has_request_context, request, session

from supervise.accounts.models import (
    Credential,
    CredentialKind,
    LoginSourceThrottle,
    LoginThrottle,
    User,
)
from supervise.database import now_utc, upsert
from supervise.events.log import client_ip, record_event
from supervise.events.models import Outcome
from supervise.extensions import db, login_manager
from supervise.web import bearer_token

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


def hash_matches(stored: str, password: str) -> bool:
    """Whether a password is the one an argon2 hash was made of (with the hash's own cost)."""
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; for an unknown user, spend the same time and say no."""
    stored = user.password_hash if user is not None else _dummy_hash()
    if not hash_matches(stored, password) or user is None:
        return False
    hasher = _hasher()
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


@dataclass(frozen=True)
class Count:
    """A counter after this attempt was added to it."""

    failures: int
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class Throttle:
    """The three counters of one attempt: this name from this address (`pair`), this name from
    anywhere (`name`), this address for any name (`address`).

    Each statement runs on a connection of its own and commits at once, so that simultaneous
    attempts see each other's counts while the password is still being checked (which takes a
    while on purpose), and a count survives whatever becomes of the request.
    """

    def __init__(self, username: str, source: str):
        self.keys = {
            "pair": (LoginSourceThrottle, {"source": source, "username": username}),
            "name": (LoginThrottle, {"username": username}),
            "address": (LoginSourceThrottle, {"source": source, "username": ""}),
        }

    @staticmethod
    def _run(statement):
        """Run and commit; the rows a RETURNING gives, or the number of rows changed."""
        with db.engine.begin() as connection:
            result = connection.execute(statement)
            return result.all() if result.returns_rows else result.rowcount

    def add(self, now: datetime) -> dict[str, Count]:
        """Count this attempt in each counter with one atomic statement each (INSERT … ON
        CONFLICT DO UPDATE … RETURNING), restarting a counter whose window has passed."""
        cutoff = now - current_app.config["LOGIN_FAILURE_WINDOW"]
        counts = {}
        for name, (model, keys) in self.keys.items():
            table = model.__table__
            stale = table.c.window_started_at < cutoff
            statement = upsert(db.engine.dialect.name, model).values(
                **keys, failures=1, window_started_at=now)
            statement = statement.on_conflict_do_update(
                index_elements=list(keys),
                set_={"failures": sa.case((stale, 1), else_=table.c.failures + 1),
                      "window_started_at": sa.case((stale, now),
                                                   else_=table.c.window_started_at)},
            ).returning(table.c.failures, table.c.locked_until)
            [(failures, locked_until)] = self._run(statement)
            counts[name] = Count(failures, locked_until)
        return counts

    def _where(self, name: str):
        model, keys = self.keys[name]
        return model, [getattr(model, key) == value for key, value in keys.items()]

    def take_back(self, *names: str) -> None:
        """This attempt was not a failure after all (refused unchecked, or right)."""
        for name in names:
            model, where = self._where(name)
            self._run(sa.update(model).where(*where, model.failures > 0)
                      .values(failures=model.failures - 1))

    def lock(self, name: str, until: datetime) -> bool:
        """Lock one counter unless it is locked already; True if this call locked it."""
        model, where = self._where(name)
        result = self._run(sa.update(model).where(
            *where, sa.or_(model.locked_until.is_(None), model.locked_until <= now_utc()))
            .values(locked_until=until))
        return result == 1

    def clear(self, name: str) -> None:
        model, where = self._where(name)
        self._run(sa.delete(model).where(*where))


def _lock_due(throttle: Throttle, pair: Count, name: Count, address: Count, guarded: bool,
              until: datetime) -> list[str]:
    """Lock what this failure brings to its limit; the scopes this call locked."""
    cfg = current_app.config
    locked = []
    if pair.failures >= cfg["LOGIN_MAX_FAILURES"] and throttle.lock("pair", until):
        locked.append("address")
    if not guarded and (pair.failures >= cfg["LOGIN_MAX_FAILURES"]
                        or name.failures >= cfg["LOGIN_NAME_MAX_FAILURES"]) \
            and throttle.lock("name", until):
        locked.append("name")
    if address.failures >= cfg["LOGIN_SOURCE_MAX_FAILURES"] and throttle.lock("address", until):
        locked.append("address_all_names")
    return locked


def _record_lock(user: User | None, scopes: list[str], until: datetime) -> None:
    if scopes:  # one event: what was locked, and until when
        record_event("auth.lock_out", obj=user, outcome=Outcome.DENIED,
                     details={"scope": scopes, "until": until.isoformat()})


def authenticate(username: str, password: str, event: str = "auth.sign_in") -> SignInResult:
    """Check a user name and password (see `attempt`)."""
    return attempt(username, lambda user: verify_password(user, password), event)


def attempt(username: str, check: Callable[[User | None], bool],
            event: str = "auth.sign_in") -> SignInResult:
    """Check one factor of a sign-in (`check` of the account, None when the name is unknown),
    count failures and lock out; records the events. Never commits the request's session (the
    counters commit on their own). A password and a second-factor code count against the same
    limits.

    Unknown user and wrong password give the same result, and lock-out applies to any user name,
    so that neither reveals which accounts exist. Locking costs an attacker: five wrong passwords
    lock out the address they came from, for that name only; the name is then guarded, so that
    an address that has failed on it waits, while an address that has not may still try once.
    The holder, signing in from their own desk, gets in and so lifts the guard. An address that
    fails twenty times on any names is locked out of all of them. Every attempt is counted
    before its password is checked, so simultaneous guesses cannot outrun the count.

    `event` names the attempts in the event log: a sign-in, its second factor, or the check of
    the current password before a change, which counts against the same limits.
    """
    cfg = current_app.config
    username = (username or "").strip().lower()[:64]
    now = now_utc()
    user = db.session.scalar(sa.select(User).where(User.username == username))
    throttle = Throttle(username, (client_ip() or "unknown")[:45])
    counts = throttle.add(now)
    pair, name, address = counts["pair"], counts["name"], counts["address"]
    guarded = name.locked(now)
    lockout = now + cfg["LOGIN_LOCKOUT"]

    refused, locked = None, []
    if pair.locked(now):
        refused = pair.locked_until
    elif address.locked(now):
        refused = address.locked_until
    elif pair.failures > cfg["LOGIN_MAX_FAILURES"]:
        # Attempts still in flight have used up this address's tries: lock now, whoever of
        # them fails last.
        refused = lockout
        locked = _lock_due(throttle, pair, name, address, guarded, lockout)
    elif guarded and pair.failures > 1:
        refused = name.locked_until  # this address has failed on a guarded name
    if refused is not None:
        throttle.take_back("pair", "name", "address")
        record_event(event, actor=None, obj=user,
                     outcome=Outcome.DENIED, details={"reason": "locked"})
        _record_lock(user, locked, lockout)
        return SignInResult(SignIn.LOCKED, locked_until=refused)

    if not check(user):
        # The counters first, the events after: on SQLite an event takes the database's write
        # lock until the request commits, which the counters' own connection would wait for.
        locked = _lock_due(throttle, pair, name, address, guarded, lockout)
        record_event(event, obj=user, outcome=Outcome.FAILURE,
                     details={"reason": "bad_credentials"})
        _record_lock(user, locked, lockout)
        if locked or pair.failures >= cfg["LOGIN_MAX_FAILURES"]:
            return SignInResult(SignIn.LOCKED, locked_until=lockout)
        if guarded:  # this address has now failed on a guarded name: it waits too
            return SignInResult(SignIn.LOCKED, locked_until=name.locked_until)
        return SignInResult(SignIn.BAD_CREDENTIALS)

    throttle.clear("pair")
    throttle.clear("name")
    throttle.take_back("address")
    if guarded:
        record_event("auth.unlock", actor=user if user.is_active else None, obj=user,
                     details={"by": "sign_in"})
    if not user.is_active:
        record_event(event, actor=None, obj=user, outcome=Outcome.DENIED,
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
        last_ip=client_ip(),
        user_agent=_user_agent(),
    )
    db.session.add(credential)
    return token, credential


def _user_agent() -> str | None:
    """The browser or program that asked, as it names itself (to tell one's sessions apart)."""
    if not has_request_context():
        return None
    text = "".join(ch for ch in request.headers.get("User-Agent", "") if ch.isprintable())
    return text[:255] or None


def sign_in(user: User) -> Credential:
    """Start a browser session: a fresh cookie (no fixation) naming a new server-side session.
    Beyond the limit of concurrent sessions (MAX_SESSIONS), the ones used longest ago end."""
    locale = session.get("locale")
    session.clear()
    token, credential = issue_credential(user, CredentialKind.SESSION)
    session[SESSION_KEY] = token
    if locale and not user.locale:
        user.locale = locale
    record_event("auth.sign_in", actor=user, obj=user)
    db.session.flush()
    _keep_within_limit(user, credential)
    return credential


def live_credentials(user: User) -> sa.Select:
    """The user's sessions and tokens that still let someone in, most recently used first."""
    now = now_utc()
    idle_since = now - current_app.config["SESSION_IDLE_TIMEOUT"]
    return (sa.select(Credential)
            .where(Credential.user_id == user.id, Credential.revoked_at.is_(None),
                   Credential.expires_at > now,
                   sa.or_(Credential.kind != CredentialKind.SESSION,
                          Credential.last_seen_at > idle_since))
            .order_by(Credential.last_seen_at.desc(), Credential.id.desc()))


def _keep_within_limit(user: User, new: Credential) -> None:
    limit = current_app.config["MAX_SESSIONS"]
    if not limit:
        return
    sessions = db.session.scalars(live_credentials(user).where(
        Credential.kind == CredentialKind.SESSION, Credential.id != new.id)).all()
    ended = sessions[limit - 1:]
    if ended:
        revoke(ended)
        record_event("auth.session_limit", actor=user, obj=user,
                     details={"ended": len(ended), "limit": limit})


def revoke(credentials) -> int:
    """End these sessions or tokens now."""
    ids = [c.id for c in credentials]
    if not ids:
        return 0
    return db.session.execute(
        sa.update(Credential).where(Credential.id.in_(ids), Credential.revoked_at.is_(None))
        .values(revoked_at=now_utc()).execution_options(synchronize_session="fetch")).rowcount


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
    address = client_ip()
    if now_utc() - credential.last_seen_at > TOUCH_INTERVAL or credential.last_ip != address:
        # Nothing else is pending yet at this point of the request, so this commit carries only
        # the touch.
        credential.last_seen_at = now_utc()
        credential.last_ip = address
        db.session.commit()
    return credential.user
