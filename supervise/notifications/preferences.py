"""What a holder wants by email: the address, and the kinds that go there (every kind by
default; the table keeps the kinds turned off)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from supervise.accounts.models import User
from supervise.accounts.operations import set_email
from supervise.errors import OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.notifications.models import EmailOptOut, Kind


def email_kinds(user: User) -> set[Kind]:
    off = set(db.session.scalars(sa.select(EmailOptOut.kind)
                                 .where(EmailOptOut.user_id == user.id)))
    return set(Kind) - off


def set_preferences(user: User, email, kinds: Iterable) -> None:
    """The holder's address and kinds by email. An unknown kind is refused (400) before
    anything changes."""
    if isinstance(kinds, str | bytes) or not isinstance(kinds, Iterable):
        raise OperationError(_("Give the kinds as a list."), 400)
    wanted = set()
    for value in kinds:
        try:
            wanted.add(Kind(value))
        except (ValueError, TypeError):
            raise OperationError(_("Unknown kind of notification: %(kind)s",
                                   kind=str(value)[:40]), 400) from None
    set_email(user, user, email)
    off = set(Kind) - wanted
    before = set(Kind) - email_kinds(user)
    if off != before:
        db.session.execute(sa.delete(EmailOptOut).where(EmailOptOut.user_id == user.id))
        db.session.add_all(EmailOptOut(user_id=user.id, kind=kind) for kind in sorted(off))
        record_event("notification.preferences", actor=user, obj=user,
                     details={"email_off": sorted(k.value for k in off)})
    db.session.flush()
