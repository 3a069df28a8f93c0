"""Rectification lists and the report-by clock, shared by the pages, the API and the ledgers."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from supervise import workflow
from supervise.calendar.deadlines import ClockStatus, clock_status
from supervise.database import now_utc
from supervise.extensions import db
from supervise.policy import rectifications as rectification_access
from supervise.rectifications.models import (
    Rectification,
    RectificationState,
    RectificationStep,
)
from supervise.rectifications.workflow import OPEN

S = RectificationState
RUNNING = OPEN  # the report-by clock runs while the item is open


def clock(rectification: Rectification, now: datetime | None = None) -> ClockStatus:
    """The report-by clock: met when the unit's final report came in."""
    return clock_status(rectification.due_at, rectification.warn_at,
                        rectification.rectified_at, now or now_utc())


def overdue_clause(now: datetime):
    return sa.and_(Rectification.state.in_(RUNNING), Rectification.due_at < now)


def due_soon_clause(now: datetime):
    return sa.and_(Rectification.state.in_(RUNNING), Rectification.warn_at <= now,
                   Rectification.due_at >= now)


def running_clause(now: datetime):
    """Reports due: the clock runs until the unit's final report."""
    return Rectification.state.in_(RUNNING)


CLOCK_FILTERS = {"overdue": overdue_clause, "due_soon": due_soon_clause,
                 "running": running_clause}


def filtered(user, *, state: str = "", clock: str = "", unit: str = "",
             now: datetime | None = None) -> sa.Select:
    """Visible rectification items narrowed by state, clock (due_soon|overdue) and unit code;
    the caller has checked the values."""
    from supervise.accounts.models import Agency

    query = rectification_access.visible_rectifications(user)
    if state:
        query = query.where(Rectification.state == S(state))
    if clock:
        query = query.where(CLOCK_FILTERS[clock](now or now_utc()))
    if unit:
        query = query.where(Rectification.unit.has(Agency.code == unit))
    return query


def state_counts(user, **narrowed) -> dict[S, int]:
    """How many of the visible items (narrowed as `filtered` narrows, but not by state) are in
    each state: one statement."""
    query = filtered(user, **narrowed).order_by(None).subquery()
    rows = db.session.execute(sa.select(query.c.state, sa.func.count()).group_by(query.c.state))
    found = {S(state): count for state, count in rows}
    return {state: found.get(state, 0) for state in S}


def units(user) -> list:
    """The audited units of the items the user sees, for the unit filter."""
    from supervise.accounts.models import Agency

    ids = rectification_access.visible_rectifications(user).with_only_columns(
        Rectification.unit_id).distinct()
    return list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(ids))
                                   .order_by(Agency.name)))


def for_list(query: sa.Select) -> sa.Select:
    return query.order_by(Rectification.due_at, Rectification.id).options(
        joinedload(Rectification.unit), joinedload(Rectification.owner_agency),
        selectinload(Rectification.reports))


def chasers(rectification_ids) -> dict[int, tuple[int, datetime]]:
    """How many times each item was chased, and when last."""
    return workflow.chasers(RectificationStep, RectificationStep.rectification_id,
                            rectification_ids)
