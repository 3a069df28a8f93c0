"""The access chokepoint.

Every endpoint declares what it needs with one of the decorators below; `enforce` runs before
every request and refuses anything undeclared. Permissions are granted to roles here and nowhere
else; record-level rules (which finding or referral a user may see) are added here as query scopes
by later modules, so that a view never decides access by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask import current_app, request
from flask_login import current_user

from supervise.accounts.models import Role


class Permission(StrEnum):
    MANAGE_ACCOUNTS = "manage_accounts"  # agencies, users, password resets
    ASSIGN_ROLES = "assign_roles"
    MANAGE_SETTINGS = "manage_settings"  # settings and the working-day calendar
    READ_EVENTS = "read_events"
    CASE_CONTENT = "case_content"  # findings, referrals, rectifications
    APPROVE = "approve"  # what leaves an agency needs its leader


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.STAFF: frozenset({Permission.CASE_CONTENT}),
    Role.LEADER: frozenset({Permission.CASE_CONTENT, Permission.APPROVE}),
    Role.SYSADMIN: frozenset({Permission.MANAGE_ACCOUNTS}),
    Role.SECADMIN: frozenset({Permission.ASSIGN_ROLES, Permission.MANAGE_SETTINGS}),
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


@dataclass(frozen=True)
class Access:
    """What an endpoint needs. `public` endpoints need no sign-in; the others need a signed-in
    user holding every permission listed. `csrf=False` only for endpoints that authenticate by
    credentials in the request body and set no cookie."""

    public: bool = False
    permissions: frozenset[Permission] = frozenset()
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


def requires(*permissions: Permission):
    return _declare(Access(permissions=frozenset(permissions)))


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


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def bearer_token() -> str | None:
    """The bearer token of an API request, or None. Pages never accept one."""
    if not is_api_request():
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or ""


class Denied(Exception):
    """Raised by the chokepoint; the error handlers turn it into the right answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def enforce() -> None:
    """Run before every request: CSRF, sign-in, forced password change, permissions."""
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

    if access.public:
        return
    if not current_user.is_authenticated:
        raise Denied(401, "sign-in required")
    if current_user.must_change_password and not access.while_password_change:
        raise Denied(403, "password change required")
    missing = access.permissions - permissions_of(current_user)
    if missing:
        raise Denied(403, "permission")
