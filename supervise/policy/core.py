"""The access chokepoint's core: permissions granted to roles, capabilities that follow from a
user's roles and agency kind, the declarations every endpoint carries, and `enforce`, which runs
before every request and refuses anything undeclared.

Which records a user may see and what part the user plays in them are decided in this package
too, one module per domain (`supervise.policy.findings`, `.referrals`, `.rectifications`), as SQL
conditions and lookups that answer 404, so that no view, API function or template decides access
by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_login import current_user

from supervise.accounts.models import Agency, AgencyKind, Role, User, UserRole
from supervise.extensions import db
from supervise.web import Denied, bearer_token


class Permission(StrEnum):
    MANAGE_ACCOUNTS = "manage_accounts"  # agencies, users, password resets
    ASSIGN_ROLES = "assign_roles"
    RESET_SECOND_FACTOR = "reset_second_factor"  # never with a password reset: two people
    # The second person of a password reset of an account without a second factor; never
    # with MANAGE_ACCOUNTS, which asks for it.
    APPROVE_PASSWORD_RESET = "approve_password_reset"  # noqa: S105 (a name, not a password)
    MANAGE_SETTINGS = "manage_settings"  # settings and the working-day calendar
    READ_EVENTS = "read_events"
    CASE_CONTENT = "case_content"  # findings, referrals, rectifications
    APPROVE = "approve"  # what leaves an agency needs its leader


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.STAFF: frozenset({Permission.CASE_CONTENT}),
    Role.LEADER: frozenset({Permission.CASE_CONTENT, Permission.APPROVE}),
    Role.SYSADMIN: frozenset({Permission.MANAGE_ACCOUNTS}),
    Role.SECADMIN: frozenset({Permission.ASSIGN_ROLES, Permission.MANAGE_SETTINGS,
                              Permission.RESET_SECOND_FACTOR,
                              Permission.APPROVE_PASSWORD_RESET}),
    Role.AUDITADMIN: frozenset({Permission.READ_EVENTS}),
}


def permissions_of(user) -> frozenset[Permission]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    granted: set[Permission] = set()
    for role in user.roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def can(user, permission: Permission) -> bool:
    return permission in permissions_of(user)


# --- capabilities: what a user's agency kind lets its case roles do ------------------------

# Agencies whose staff record findings of their own.
FINDING_OWNER_KINDS = frozenset({AgencyKind.AUDIT, AgencyKind.INSPECTION})


class Capability(StrEnum):
    READS_CASES = "reads_cases"  # staff and leaders of any agency but an audited unit
    RECORDS_FINDINGS = "records_findings"  # ... of the audit bureau and the inspection office
    UNIT_PORTAL = "unit_portal"  # the audited unit's contact
    # Works on rectification: the agencies that issue items (they record findings), and the
    # audited unit's contact. For the others the rectification pages do not exist.
    RECTIFICATION = "rectification"


def reads_cases(user) -> bool:
    """Staff and leaders of any agency but an audited unit may read case content."""
    return can(user, Permission.CASE_CONTENT) and user.agency.kind != AgencyKind.AUDITED_UNIT


def case_partners(user) -> sa.Select:
    """The agencies the user's agency may share a finding with or send a referral to: active,
    not an audited unit, not its own, and with an active account that reads case content (an
    agency of administrators only, such as the IT bureau, is none)."""
    case_roles = [role for role, granted in ROLE_PERMISSIONS.items()
                  if Permission.CASE_CONTENT in granted]
    readers = (sa.select(User.id).join(UserRole, UserRole.user_id == User.id)
               .where(User.agency_id == Agency.id, User.active.is_(True),
                      UserRole.role.in_(case_roles)))
    return (sa.select(Agency)
            .where(Agency.kind != AgencyKind.AUDITED_UNIT, Agency.active.is_(True),
                   Agency.id != user.agency_id, readers.exists())
            .order_by(Agency.kind, Agency.name))


def records_findings(user) -> bool:
    return reads_cases(user) and user.agency.kind in FINDING_OWNER_KINDS


def is_unit_contact(user) -> bool:
    return can(user, Permission.CASE_CONTENT) and user.agency.kind == AgencyKind.AUDITED_UNIT


CAPABILITIES = {
    Capability.READS_CASES: reads_cases,
    Capability.RECORDS_FINDINGS: records_findings,
    Capability.UNIT_PORTAL: is_unit_contact,
    Capability.RECTIFICATION: lambda user: records_findings(user) or is_unit_contact(user),
}


def capabilities_of(user) -> frozenset[Capability]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    return frozenset(c for c, holds in CAPABILITIES.items() if holds(user))


def has(user, capability: Capability) -> bool:
    return getattr(user, "is_authenticated", False) and CAPABILITIES[capability](user)


# --- declarations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What an endpoint needs. `public` endpoints need no sign-in; the others need a signed-in
    user holding every permission and every capability listed. A missing permission answers
    403 (the role may not); a missing capability 404 (for that kind of agency the page does not
    exist). `csrf=False` only for endpoints that authenticate by credentials in the request body
    and set no cookie."""

    public: bool = False
    permissions: frozenset[Permission] = frozenset()
    capabilities: frozenset[Capability] = frozenset()
    while_password_change: bool = False
    csrf: bool = True


def _declare(access: Access):
    def decorator(view):
        view.access = access
        return view

    return decorator


def public(view=None, *, csrf: bool = True):
    decorator = _declare(Access(public=True, csrf=csrf, while_password_change=True))
    return decorator(view) if view is not None else decorator


def signed_in(view=None, *, while_password_change: bool = False):
    decorator = _declare(Access(while_password_change=while_password_change))
    return decorator(view) if view is not None else decorator


def requires(*needs: Permission | Capability):
    return _declare(Access(
        permissions=frozenset(n for n in needs if isinstance(n, Permission)),
        capabilities=frozenset(n for n in needs if isinstance(n, Capability))))


# Endpoints that Flask and extensions register themselves.
BUILTIN_ACCESS = {
    "static": Access(public=True, while_password_change=True),
    "api-docs.openapi_json": Access(public=True, while_password_change=True),
}


def access_for(endpoint: str | None) -> Access | None:
    if endpoint is None:
        return None
    if endpoint in BUILTIN_ACCESS:
        return BUILTIN_ACCESS[endpoint]
    view = current_app.view_functions.get(endpoint)
    access = getattr(view, "access", None)
    if access is None and hasattr(view, "view_class"):
        access = getattr(view.view_class, "access", None)
    return access


def enforce() -> None:
    """Run before every request: CSRF, sign-in, forced password change, permissions,
    capabilities."""
    if request.endpoint is None:
        return  # no route matched: Flask answers 404 itself
    access = access_for(request.endpoint)
    if access is None:
        current_app.logger.error("endpoint %s declares no access rule", request.endpoint)
        raise Denied(404, "undeclared")

    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and access.csrf
        and bearer_token() is None
    ):
        from supervise.extensions import csrf

        csrf.protect()

    denied = refusal(access, current_user)
    if denied is not None:
        raise denied


def refusal(access: Access, user) -> Denied | None:
    """Why `user` may not use an endpoint declared with `access`, or None when they may."""
    if access.public:
        return None
    if not getattr(user, "is_authenticated", False):
        return Denied(401, "sign-in required")
    if user.must_change_password and not access.while_password_change:
        return Denied(403, "password change required")
    if access.permissions - permissions_of(user):
        return Denied(403, "permission")
    if access.capabilities - capabilities_of(user):
        return Denied(404, "capability")
    return None


def reachable(endpoint: str) -> bool:
    """Whether the signed-in user may open this endpoint: templates show a link or a form only
    where the chokepoint would let the user through."""
    access = access_for(endpoint)
    return access is not None and refusal(access, current_user) is None


def init_app(app) -> None:
    app.before_request(enforce)
    app.jinja_env.globals["reachable"] = reachable
    app.jinja_env.globals["can"] = lambda permission: can(current_user, permission)


# --- records ------------------------------------------------------------------------------


def attachment_or_404(attachments, public_id: str):
    """The file with this public id among those the user may read of a record (each domain's
    `readable_attachments`); 404 otherwise."""
    found = next((a for a in attachments if a.public_id == public_id), None)
    if found is None:
        abort(404)
    return found


def one_or_404(scope: sa.Select, model, public_id: str, for_update: bool = False):
    """The record of `scope` with this public id, locked if asked; 404 when out of reach."""
    query = scope.where(model.public_id == public_id)
    if for_update:
        query = query.with_for_update(of=model)
    record = db.session.scalar(query)
    if record is None:
        abort(404)
    return record


class OtherPartysStep:
    """A step of a record's history as another party reads it: the same step without the comment
    that is the acting party's own (a leader's approval), under the name it has for the reader
    where that differs (`action`)."""

    comment = ""

    def __init__(self, step, action: str | None = None):
        self._step = step
        if action is not None:
            self.action = action

    def __getattr__(self, name):
        return getattr(self._step, name)
