"""A password reset as an account without a second factor gets it (issue 12): the system
administrator asks, the security administrator approves, the system administrator resets."""

from __future__ import annotations

import sqlalchemy as sa

from supervise.accounts.models import User
from supervise.extensions import db
from tests.factories import UserFactory

APPROVER = "reset.approver"


def approve_reset(app, user: User, approver: str = APPROVER) -> None:
    """The security administrator `approver` (made if missing) approves the pending request."""
    if db.session.scalar(sa.select(User.id).where(User.username == approver)) is None:
        UserFactory(username=approver, roles=["secadmin"])
    sec = app.test_client()
    sec.sign_in(approver)
    answer = sec.post_form(f"/admin/roles/{user.id}/password-reset/approve")
    assert answer.status_code == 302, answer.status_code


def approved_reset(admin, user: User):
    """`admin`, a signed-in system administrator's client, resets `user`'s password with the
    security administrator's approval; the page that shows the temporary password."""
    asked = admin.post_form(f"/admin/users/{user.id}/password")
    assert asked.status_code == 302, asked.status_code
    approve_reset(admin.application, user)
    return admin.post_form(f"/admin/users/{user.id}/password")
