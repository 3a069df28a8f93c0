"""Deadline arithmetic (期限计算), as pure functions over a working-day calendar.

Counting rules (domain.md):
- "N working days" start on the first working day after the triggering event; the deadline is the
  end (23:59:59, Asia/Shanghai) of the N-th working day.
- "N days" and "N months" run in calendar time from the day after the event (民法典 Art. 201); a
  month period ends on the corresponding day of the last month, or its last day when it has none
  (Art. 202); a last day that is not a working day moves to the next working day (Art. 203).
- Working days follow the official arrangement, 调休 weekends included. A year the calendar has no
  data for counts weekends only, and the result says so (`complete` is False).
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from supervise.database import BEIJING_TIME
from supervise.vocabulary import LabelledEnum

END_OF_DAY = time(23, 59, 59)


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # a day off that would otherwise be a working day, or part of a holiday
    WORKDAY = "workday"  # a weekend day made a working day (调休)


@dataclass(frozen=True)
class WorkingCalendar:
    """Exceptions to "Monday to Friday", and the years for which they are known."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    known_years: frozenset[int] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def knows(self, day: date) -> bool:
        return day.year in self.known_years


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    DAYS = "days"
    MONTHS = "months"


@dataclass(frozen=True)
class Deadline:
    due_at: datetime  # aware, UTC
    complete: bool  # False when a year without calendar data was involved
    years_without_data: tuple[int, ...] = field(default=())

    @property
    def due_date(self) -> date:
        return self.due_at.astimezone(BEIJING_TIME).date()


def local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(BEIJING_TIME).date()


def end_of_day(day: date) -> datetime:
    """23:59:59 in Asia/Shanghai of that day, as UTC."""
    return datetime.combine(day, END_OF_DAY, tzinfo=BEIJING_TIME).astimezone(UTC)


def _result(cal: WorkingCalendar, first: date, last: date) -> Deadline:
    missing = tuple(sorted({y for y in range(first.year, last.year + 1)
                            if y not in cal.known_years}))
    return Deadline(end_of_day(last), not missing, missing)


def next_working_day(day: date, cal: WorkingCalendar) -> date:
    """The day itself if it is a working day, else the next one."""
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: datetime, n: int, cal: WorkingCalendar) -> Deadline:
    if n < 1:
        raise ValueError("the number of working days must be at least 1")
    day = local_date(start)
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
    return _result(cal, local_date(start), day)


def add_days(start: datetime, n: int, cal: WorkingCalendar) -> Deadline:
    if n < 1:
        raise ValueError("the number of days must be at least 1")
    last = next_working_day(local_date(start) + timedelta(days=n), cal)
    return _result(cal, local_date(start), last)


def add_months_to_date(day: date, n: int) -> date:
    """The corresponding day n months later, or that month's last day when it has none."""
    month_index = day.month - 1 + n
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def add_months(start: datetime, n: int, cal: WorkingCalendar) -> Deadline:
    if n < 1:
        raise ValueError("the number of months must be at least 1")
    last = next_working_day(add_months_to_date(local_date(start), n), cal)
    return _result(cal, local_date(start), last)


def deadline(start: datetime, amount: int, unit: Unit, cal: WorkingCalendar) -> Deadline:
    return {Unit.WORKING_DAYS: add_working_days, Unit.DAYS: add_days,
            Unit.MONTHS: add_months}[Unit(unit)](start, amount, cal)


def warning_start(due_at: datetime, working_days: int, cal: WorkingCalendar) -> datetime:
    """When "due soon" begins: the first day from which no more than `working_days` working
    days are left, counting that day and the due date."""
    if working_days < 0:
        raise ValueError("the number of working days must not be negative")
    day = local_date(due_at)
    left = 0
    while True:
        if cal.is_working_day(day):
            if left == working_days:
                break
            left += 1
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(0, 0),
                            tzinfo=BEIJING_TIME).astimezone(UTC)


def _working_days(first: date, last: date, cal: WorkingCalendar) -> int:
    """Working days from `first` to `last`, both counted."""
    return sum(cal.is_working_day(first + timedelta(days=i))
               for i in range((last - first).days + 1))


def recount(start: datetime, due_at: datetime, unit: Unit | None, before: WorkingCalendar,
            after: WorkingCalendar, amount: int | None = None) -> Deadline:
    """The deadline `due_at`, counted from `start` under the calendar `before`, counted again
    under `after`: the same number of working days, days or months (read back from the
    deadline itself where `amount` is not given; days must be given, since several periods
    end on the same working day). A fixed date (`unit` None) stays, only its `complete` is
    told again."""
    first, due = local_date(start), local_date(due_at)
    if unit == Unit.WORKING_DAYS:
        amount = amount or _working_days(first + timedelta(days=1), due, before)
    elif unit == Unit.MONTHS and amount is None:
        months = (due.year - first.year) * 12 + due.month - first.month
        amount = next((n for n in (months, months - 1) if n >= 1 and next_working_day(
            add_months_to_date(first, n), before) == due), None)
    if unit is None or not amount:
        return _result(after, first, due)
    return deadline(start, amount, unit, after)


def rewarn(warn_at: datetime, due_at: datetime, new_due_at: datetime,
           before: WorkingCalendar, after: WorkingCalendar) -> datetime:
    """When "due soon" begins for the deadline `new_due_at`, with the warning period that gave
    `warn_at` for `due_at` under `before` (the working days from one to the other)."""
    return warning_start(new_due_at, _working_days(local_date(warn_at), local_date(due_at),
                                                   before), after)


class ClockStatus(LabelledEnum):
    ON_TIME = "on_time", _l("On time")
    DUE_SOON = "due_soon", _l("Due soon")
    OVERDUE = "overdue", _l("Overdue")
    MET = "met", _l("Met")
    MET_LATE = "met_late", _l("Met late")
    STOPPED = "stopped", _l("Stopped")


def clock_status(due_at: datetime | None, warn_at: datetime | None, met_at: datetime | None,
                 now: datetime) -> ClockStatus | None:
    """A clock's state now; None when it has not started."""
    if due_at is None:
        return None
    if met_at is not None:
        return ClockStatus.MET if met_at <= due_at else ClockStatus.MET_LATE
    if now > due_at:
        return ClockStatus.OVERDUE
    if warn_at is not None and now >= warn_at:
        return ClockStatus.DUE_SOON
    return ClockStatus.ON_TIME
