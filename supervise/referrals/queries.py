"""Referral lists and clocks, shared by the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from supervise import workflow
from supervise.calendar.deadlines import ClockStatus, clock_status
from supervise.database import now_utc
from supervise.extensions import db
from supervise.policy import referrals as referral_access
from supervise.referrals.models import Referral, ReferralState, TimelineEntry

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
