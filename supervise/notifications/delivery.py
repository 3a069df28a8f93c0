"""Delivering the notifications' emails: the outbox is the notifications table itself.

A notification to be emailed waits as `pending` with the time it may next be tried. A worker
claims a batch (SELECT … FOR UPDATE SKIP LOCKED where the database has it, and on every database
an UPDATE that succeeds for one claimant only), marks it `sending` for a lease, commits, sends
each message and marks it `sent`. So several workers at once never send one delivery twice; a
worker that dies mid-batch leaves its rows `sending` until the lease runs out, when they are
tried again under the same Message-ID (at least once). A server that is down or answers 4xx puts
the rows back with an exponentially growing wait (capped), counting the attempts: nothing is
lost. A 5xx refusal of the recipient or the message is final (`failed`). A recipient disabled
meanwhile, or without an address now, is `skipped`, with the reason.
"""

from __future__ import annotations

import logging
import smtplib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from supervise.accounts.models import User
from supervise.database import now_utc
from supervise.extensions import db
from supervise.notifications.mail import SmtpSender, compose
from supervise.notifications.models import EmailState, Notification

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(minutes=10)
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
WAITING = (EmailState.PENDING, EmailState.SENDING)


@dataclass
class Delivered:
    """What one run of `deliver` did, by outcome."""

    counts: Counter = field(default_factory=Counter)

    def __getitem__(self, state: EmailState) -> int:
        return self.counts[state]


def backoff(attempts: int) -> timedelta:
    return min(FIRST_WAIT * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def _claim(now: datetime, limit: int) -> list[int]:
    """Take up to `limit` deliveries that are due, for this worker alone, and commit."""
    due = sa.and_(Notification.email_state.in_(WAITING), Notification.email_next_at <= now)
    candidates = list(db.session.scalars(
        sa.select(Notification.id).where(due)
        .order_by(Notification.email_next_at, Notification.id).limit(limit)
        .with_for_update(skip_locked=True)))
    mine = []
    for nid in candidates:
        claimed = db.session.execute(
            sa.update(Notification).where(Notification.id == nid, due)
            .values(email_state=EmailState.SENDING, email_next_at=now + LEASE))
        if claimed.rowcount == 1:
            mine.append(nid)
    db.session.commit()
    return mine


def _settle(notification: Notification, state: EmailState, now: datetime,
            error: str | None = None) -> None:
    notification.email_state = state
    notification.email_error = error
    if state == EmailState.SENT:
        notification.email_sent_at, notification.email_next_at = now, None
    elif state == EmailState.PENDING:
        notification.email_attempts += 1
        notification.email_next_at = now + backoff(notification.email_attempts)
    else:
        notification.email_next_at = None
    db.session.commit()


def _code(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = {code for code, _message in exc.recipients.values()}
        return f"SMTP {min(codes)}" if codes else type(exc).__name__
    code = getattr(exc, "smtp_code", None)
    return f"SMTP {code}" if code else type(exc).__name__


def _final(exc: Exception) -> bool:
    """A refusal that trying again will not change."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _message in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(exc, smtplib.SMTPResponseException) and code is not None and code >= 500 \
        and not isinstance(exc, smtplib.SMTPAuthenticationError)


def deliver(limit: int = BATCH, now: datetime | None = None) -> Delivered:
    """Send the emails that are due, up to `limit`; commits as it goes."""
    done = Delivered()
    if not current_app.config.get("SMTP_HOST"):
        return done
    now = now or now_utc()
    ids = _claim(now, limit)
    if not ids:
        return done
    rows = list(db.session.scalars(sa.select(Notification).where(Notification.id.in_(ids))
                                   .order_by(Notification.id)))
    recipients = {u.id: u for u in db.session.scalars(
        sa.select(User).where(User.id.in_({n.recipient_id for n in rows})))}
    to_send = []
    for n in rows:
        user = recipients.get(n.recipient_id)
        if user is None or not user.is_active:
            _settle(n, EmailState.SKIPPED, now, "recipient disabled")
        elif not user.email:
            _settle(n, EmailState.SKIPPED, now, "no address")
        else:
            to_send.append((n, user))
            continue
        done.counts[EmailState.SKIPPED] += 1
    if not to_send:
        return done
    try:
        with SmtpSender(current_app.config) as smtp:
            for n, user in to_send:
                try:
                    smtp.send(compose(n, user))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                        smtplib.SMTPSenderRefused) as exc:
                    state = EmailState.FAILED if _final(exc) else EmailState.PENDING
                    _settle(n, state, now, _code(exc))
                    done.counts[state] += 1
                    continue
                _settle(n, EmailState.SENT, now)
                done.counts[EmailState.SENT] += 1
    except (smtplib.SMTPException, OSError) as exc:
        # The connection failed: what was not sent waits and is tried again later.
        log.warning("mail server unavailable: %s", _code(exc))
        for n, _user in to_send:
            if n.email_state == EmailState.SENDING:
                _settle(n, EmailState.PENDING, now, _code(exc))
                done.counts[EmailState.PENDING] += 1
    return done


def status() -> dict[EmailState, int]:
    """How many emails are in each state (counts only: no content, no addresses)."""
    rows = db.session.execute(sa.select(Notification.email_state, sa.func.count())
                              .where(Notification.email_state.is_not(None))
                              .group_by(Notification.email_state))
    counts = {state: 0 for state in EmailState}
    counts.update({EmailState(state): n for state, n in rows})
    return counts
