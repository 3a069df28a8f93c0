"""The working-day calendar, kept in the product's own tables: seeded from `chinesecalendar`
(2004–2026) and extended by the security administrator as each year's arrangement is published."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from supervise.calendar.deadlines import DayKind, WorkingCalendar
from supervise.database import UTCDateTime, enum_column, now_utc
from supervise.extensions import db


class CalendarYear(db.Model):
    """A year whose official arrangement is known."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(sa.String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CalendarDay(db.Model):
    """A day that breaks the Monday-to-Friday rule: a holiday, or a 调休 working weekend day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind, "day_kind"))
    name: Mapped[str] = mapped_column(sa.String(50), default="")


def load_calendar() -> WorkingCalendar:
    """The whole calendar: a few hundred rows, read once per request that needs it."""
    from flask import g, has_app_context

    if has_app_context() and "working_calendar" in g:
        return g.working_calendar
    rows = db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind)).all()
    cal = WorkingCalendar(
        holidays=frozenset(d for d, k in rows if k == DayKind.HOLIDAY),
        workdays=frozenset(d for d, k in rows if k == DayKind.WORKDAY),
        known_years=frozenset(db.session.scalars(sa.select(CalendarYear.year))),
    )
    if has_app_context():
        g.working_calendar = cal
    return cal


def seed_rows() -> tuple[list[dict], list[dict]]:
    """Years and days from `chinesecalendar`, as rows for the tables (2004–2026)."""
    import chinese_calendar

    days = {}
    for day, name in chinese_calendar.holidays.items():
        if day.weekday() < 5:  # a weekend day off is no exception
            days[day] = {"day": day, "kind": DayKind.HOLIDAY.value, "name": name or ""}
    for day, name in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            days[day] = {"day": day, "kind": DayKind.WORKDAY.value, "name": name or ""}
    years = sorted({d.year for d in chinese_calendar.holidays})
    return ([{"year": y, "source": "chinesecalendar 1.11.0"} for y in years],
            [days[d] for d in sorted(days)])
