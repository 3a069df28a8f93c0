"""Agencies, user accounts, roles and the credentials that sign them in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from supervise.crypto import SealedText
from supervise.database import PublicIdMixin, UTCDateTime, enum_column, now_utc
from supervise.extensions import db
from supervise.vocabulary import LabelledEnum


class AgencyKind(LabelledEnum):
    AUDIT = "audit", _l("Audit bureau")
    INSPECTION = "inspection", _l("Inspection office")
    DISCIPLINE = "discipline", _l("Discipline commission")
    ORGANIZATION = "organization", _l("Organisation department")
    DEPARTMENT = "department", _l("Government department")
    AUDITED_UNIT = "audited_unit", _l("Audited unit")


class Role(LabelledEnum):
    STAFF = "staff", _l("Staff")
    LEADER = "leader", _l("Leader")
    SYSADMIN = "sysadmin", _l("System administrator")
    SECADMIN = "secadmin", _l("Security administrator")
    AUDITADMIN = "auditadmin", _l("Audit administrator")


# The three administrators of 三员分立: no account may hold two of them, and none of them
# may be combined with a case role (an administrator never reads case content).
ADMIN_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN})
CASE_ROLES = frozenset({Role.STAFF, Role.LEADER})


class RoleConflict(ValueError):
    """Raised when a set of roles breaks the separation of the three administrators."""


def check_role_set(roles) -> frozenset[Role]:
    roles = frozenset(Role(r) for r in roles)
    admin = roles & ADMIN_ROLES
    if len(admin) > 1:
        raise RoleConflict(_l("An account cannot hold two administrator roles."))
    if admin and roles - admin:
        raise RoleConflict(_l("An administrator role cannot be combined with any other role."))
    return roles


class Agency(db.Model):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[AgencyKind] = mapped_column(enum_column(AgencyKind, "agency_kind"))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    users: Mapped[list[User]] = relationship(back_populates="agency")

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    # Where notifications go by email (optional); set by the holder or the system administrator.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the system administrator last gave the account a temporary password.
    password_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A password reset of an account without a second factor takes two people: the system
    # administrator asks (`requested`), the security administrator approves; the approval is
    # good for one reset within a while (supervise.accounts.operations). Refusing or using it
    # clears all four; the event log keeps the story.
    password_reset_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_reset_requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    password_reset_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_reset_approved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    # The second factor (TOTP, RFC 6238): the shared secret, set when enrolment starts and
    # confirmed by a first code (`otp_enrolled_at`), sealed at rest like the persons involved
    # (supervise.crypto; bound to `seal_id`): whoever reads the database cannot make codes; the
    # time step of the last code accepted, so that no code is accepted twice; when the security
    # administrator last reset it.
    seal_id: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    sealed_otp_secret: Mapped[str | None] = mapped_column("otp_secret", sa.String(255))
    otp_secret = SealedText("sealed_otp_secret")
    otp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    otp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    otp_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency] = relationship(back_populates="users", lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    password_reset_requested_by: Mapped[User | None] = relationship(
        foreign_keys=[password_reset_requested_by_id], remote_side=[id])
    password_reset_approved_by: Mapped[User | None] = relationship(
        foreign_keys=[password_reset_approved_by_id], remote_side=[id])

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(row.role for row in self.role_rows)

    def set_roles(self, roles) -> None:
        wanted = check_role_set(roles)
        self.role_rows = [row for row in self.role_rows if row.role in wanted]
        for role in sorted(wanted - self.roles):
            self.role_rows.append(UserRole(role=role))

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active and self.agency.active

    @validates("username")
    def _normalise_username(self, key, value: str) -> str:
        return value.strip().lower()


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (
        # At most one administrator role per account, enforced by the database too.
        sa.Index(
            "uq_user_roles_one_admin_role",
            "user_id",
            unique=True,
            sqlite_where=sa.text("role IN ('sysadmin', 'secadmin', 'auditadmin')"),
            postgresql_where=sa.text("role IN ('sysadmin', 'secadmin', 'auditadmin')"),
        ),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class RecoveryCode(db.Model):
    """One of the ten one-time codes that stand in for the second factor; only a hash is kept
    (the codes are random and long, so a plain SHA-256 cannot be reversed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordHistory(db.Model):
    """A password an account had before its current one, as its argon2 hash, so that a new
    password may not repeat a recent one; only as many are kept as the security administrator's
    setting refuses (supervise.accounts.passwords)."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # When it stopped being the account's password.
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class TwoFactorRule(db.Model):
    """Who must sign in with a second factor, set by the security administrator: every holder
    of a role (`scope` "role"), or every account of an agency kind (`scope` "agency_kind")."""

    __tablename__ = "two_factor_rules"
    __table_args__ = (sa.CheckConstraint("scope IN ('role', 'agency_kind')", name="scope"),)

    scope: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(20), primary_key=True)


# By default the three administrators and every account of the discipline commission.
DEFAULT_TWO_FACTOR_RULES = [("role", Role.SYSADMIN.value), ("role", Role.SECADMIN.value),
                            ("role", Role.AUDITADMIN.value),
                            ("agency_kind", AgencyKind.DISCIPLINE.value)]


class CredentialKind(StrEnum):
    SESSION = "session"
    API = "api"


class Credential(PublicIdMixin, db.Model):
    """A browser session or an API token, kept on the server so that it can be revoked.

    The client holds a random secret; only its SHA-256 is stored. The holder sees each live
    one (the device it was opened from, the address it was last used from, when) and can end
    it; `public_id` names it there.
    """

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CredentialKind] = mapped_column(enum_column(CredentialKind, "credential_kind"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(sa.String(45))  # where it was opened
    last_ip: Mapped[str | None] = mapped_column(sa.String(45))  # where it was last used
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))

    user: Mapped[User] = relationship()


class FailureCounter:
    """Sign-in attempts counted in a window, and a lock. Kept in the database so that they hold
    across every worker and server; counted with one atomic statement (accounts.auth)."""

    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(FailureCounter, db.Model):
    """Failed sign-ins per user name, from any address, existing name or not (so lock-out does
    not reveal accounts). Its lock guards the name against addresses that have failed on it."""

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)


class LoginSourceThrottle(FailureCounter, db.Model):
    """Failed sign-ins from one address: for one user name, or, with `username` "", for every
    name (an address trying many names)."""

    __tablename__ = "login_source_throttles"

    source: Mapped[str] = mapped_column(sa.String(45), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
