"""Referral lists and clocks, shared by the pages and the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, joinedload, selectinload

from supervise import workflow
from supervise.calendar.deadlines import ClockStatus, clock_status
from supervise.crypto import keyring
from supervise.database import now_utc
from supervise.extensions import db
from supervise.notifications.models import Reminder
from supervise.policy import referrals as referral_access
from supervise.referrals.models import (
    Extension,
    PersonInvolved,
    Referral,
    ReferralState,
    TimelineEntry,
)
from supervise.referrals.workflow import HANDLING
from supervise.textsearch import text_matches

S = ReferralState
ANSWER_RUNNING = (S.SENT, S.ACKNOWLEDGED, S.IN_HANDLING)


@dataclass(frozen=True)
class Clocks:
    acknowledge: ClockStatus | None
    answer: ClockStatus | None


def clocks(referral: Referral, now: datetime | None = None) -> Clocks:
    """Each clock's status: running (on time, due soon, overdue), met, met late, stopped (by a
    return or a withdrawal), or None before the referral was first sent."""
    now = now or now_utc()
    if referral.sent_at is None:
        return Clocks(None, None)
    if referral.acknowledged_at is not None or referral.state == S.SENT:
        ack = clock_status(referral.acknowledge_by, referral.acknowledge_warn_at,
                           referral.acknowledged_at, now)
    else:
        ack = ClockStatus.STOPPED
    if referral.answered_at is not None or referral.state in ANSWER_RUNNING:
        answer = clock_status(referral.answer_by, referral.answer_warn_at, referral.answered_at,
                              now)
    else:
        answer = ClockStatus.STOPPED
    return Clocks(ack, answer)


def overdue_clause(now: datetime):
    return sa.or_(
        sa.and_(Referral.state == S.SENT, Referral.acknowledge_by < now),
        sa.and_(Referral.state.in_(ANSWER_RUNNING), Referral.answer_by < now),
    )


def due_soon_clause(now: datetime):
    return sa.and_(sa.not_(overdue_clause(now)), sa.or_(
        sa.and_(Referral.state == S.SENT, Referral.acknowledge_warn_at <= now),
        sa.and_(Referral.state.in_(ANSWER_RUNNING), Referral.answer_warn_at <= now),
    ))


CLOCK_FILTERS = {"overdue": overdue_clause, "due_soon": due_soon_clause}


# --- what waits for an agency --------------------------------------------------------------

@dataclass(frozen=True)
class Need:
    """Referrals that wait for something from one side: `side` is sent or received, `clause`
    (now) narrows that side's referrals. The to-do centre counts them, and the board and the
    inbox list the same rows (`?need=`)."""

    label: Any
    side: str
    clause: Callable[[datetime], sa.ColumnElement]
    leaders_only: bool = False


def _clock(states, warn_at, due_by, *, overdue: bool):
    def clause(now):
        state = Referral.state.in_(states)
        return sa.and_(state, due_by < now) if overdue else \
            sa.and_(state, warn_at <= now, due_by >= now)
    return clause


def _state(*states):
    return lambda now: Referral.state.in_(states)


def _not_revised():
    later = aliased(Referral)
    return ~sa.exists().where(later.previous_id == Referral.id)


ACK = ((S.SENT,), Referral.acknowledge_warn_at, Referral.acknowledge_by)
ANSWER = (ANSWER_RUNNING, Referral.answer_warn_at, Referral.answer_by)

NEEDS = {
    "acknowledge": Need(_l("To acknowledge"), "received", _state(S.SENT)),
    "answer": Need(_l("To answer"), "received", _state(*HANDLING)),
    "acknowledge_due_soon": Need(_l("Acknowledgement due soon"), "received",
                                 _clock(*ACK, overdue=False)),
    "acknowledge_overdue": Need(_l("Acknowledgement overdue"), "received",
                                _clock(*ACK, overdue=True)),
    "answer_due_soon": Need(_l("Answer due soon"), "received", _clock(*ANSWER, overdue=False)),
    "answer_overdue": Need(_l("Answer overdue"), "received", _clock(*ANSWER, overdue=True)),
    "chased": Need(_l("Chased by the sender"), "received", lambda now: sa.and_(
        Referral.state.in_(ANSWER_RUNNING),
        Referral.entries.any(TimelineEntry.action == "chase"))),
    "submit": Need(_l("Referral drafts to submit"), "sent", _state(S.DRAFT)),
    "approve": Need(_l("Referrals to approve"), "sent", _state(S.PENDING_APPROVAL),
                    leaders_only=True),
    "decide_extension": Need(_l("Extension requests to decide"), "sent", lambda now: sa.and_(
        Referral.state.in_(HANDLING), Referral.extensions.any(Extension.decision.is_(None)))),
    "confirm_answer": Need(_l("Answers to confirm"), "sent", _state(S.ANSWERED)),
    "revise": Need(_l("Returned referrals to revise"), "sent",
                   lambda now: sa.and_(Referral.state == S.RETURNED, _not_revised())),
    # The escalation list of the sender's leader: still open, and chased by the platform.
    "escalated": Need(_l("Escalated referrals"), "sent", lambda now: sa.and_(
        Referral.state.in_(ANSWER_RUNNING), sa.exists().where(
            Reminder.subject_type == "referral", Reminder.subject_id == Referral.id,
            Reminder.threshold.in_(("escalate_chase", "escalate_leader")))),
        leaders_only=True),
}


def side_clause(user, side: str):
    return Referral.sender_agency_id == user.agency_id if side == "sent" else \
        referral_access.received_clause(user.agency_id)


def needing(user, name: str, now: datetime | None = None) -> sa.Select:
    """The referrals visible to the user that wait for `name` (a key of NEEDS)."""
    need = NEEDS[name]
    return referral_access.visible_referrals(user).where(
        side_clause(user, need.side), need.clause(now or now_utc()))


def for_list(query: sa.Select) -> sa.Select:
    """What a list row shows, loaded eagerly: a fixed number of statements for any page size."""
    return query.options(joinedload(Referral.sender_agency), joinedload(Referral.receiver_agency),
                         selectinload(Referral.persons), joinedload(Referral.handler))


def sent_by(user) -> sa.Select:
    return referral_access.visible_referrals(user).where(
        Referral.sender_agency_id == user.agency_id)


def received_by(user) -> sa.Select:
    return referral_access.visible_referrals(user).where(
        referral_access.received_clause(user.agency_id))


def filtered(user, *, role: str = "", state: str = "", clock: str = "",
             now: datetime | None = None) -> sa.Select:
    """Visible referrals narrowed by role (sent|received), state and clock (due_soon|overdue);
    the caller has checked the values."""
    now = now or now_utc()
    scope = {"sent": sent_by, "received": received_by}.get(role,
                                                           referral_access.visible_referrals)
    query = scope(user)
    if state:
        query = query.where(Referral.state == ReferralState(state))
    if clock:
        query = query.where(CLOCK_FILTERS[clock](now))
    return query


def text_clause(text: str):
    """Referrals whose title or facts contain the text (never searched: the persons involved)."""
    return text_matches(Referral, [text])


def naming_clause(name: str):
    """Referrals that name this person involved, exactly as names compare (cleaning.name_key),
    found through the name's blind index (supervise.crypto): no plaintext column exists."""
    return Referral.id.in_(sa.select(PersonInvolved.referral_id).where(
        PersonInvolved.name_index.in_(keyring().blind_indexes(name))))


def state_counts(query: sa.Select) -> dict[ReferralState, int]:
    rows = db.session.execute(query.order_by(None).with_only_columns(
        Referral.state, sa.func.count(Referral.id)).group_by(Referral.state))
    return {ReferralState(state): n for state, n in rows}


def clock_counts(query: sa.Select, now: datetime | None = None) -> dict[str, int]:
    now = now or now_utc()
    base = query.order_by(None)
    return {name: db.session.scalar(base.where(clause(now)).with_only_columns(
        sa.func.count(Referral.id))) for name, clause in CLOCK_FILTERS.items()}


def chasers(referral_ids) -> dict[int, tuple[int, datetime]]:
    """How many times each referral was chased, and when last."""
    return workflow.chasers(TimelineEntry, TimelineEntry.referral_id, referral_ids)
