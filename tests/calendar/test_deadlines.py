"""Deadline arithmetic as pure functions: hand-built calendars, and the official data
(2004–2026) from `seed_rows()`, the same rows the migration puts in the table. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from supervise.calendar.deadlines import (
    ClockStatus,
    DayKind,
    Deadline,
    Unit,
    WorkingCalendar,
    add_days,
    add_months,
    add_months_to_date,
    add_working_days,
    clock_status,
    deadline,
    end_of_day,
    local_date,
    next_working_day,
    warning_start,
)
from supervise.calendar.models import seed_rows
from supervise.database import BEIJING_TIME


@pytest.fixture(autouse=True)
def app_context():
    """These tests need no application and no database (replaces the suite's fixture)."""
    yield


def official_calendar() -> WorkingCalendar:
    years, days = seed_rows()
    return WorkingCalendar(
        holidays=frozenset(d["day"] for d in days if d["kind"] == DayKind.HOLIDAY.value),
        workdays=frozenset(d["day"] for d in days if d["kind"] == DayKind.WORKDAY.value),
        known_years=frozenset(y["year"] for y in years),
    )


CAL = official_calendar()
WEEKENDS_ONLY = WorkingCalendar()


def at(text: str) -> datetime:
    """A time in Asia/Shanghai: at("2026-02-13 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING_TIME)


def due(day: str) -> datetime:
    """The end of that day in Asia/Shanghai, as the functions give it (UTC)."""
    return datetime.combine(date.fromisoformat(day), time(23, 59, 59),
                            tzinfo=BEIJING_TIME).astimezone(UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- the calendar ---------------------------------------------------------------------------


def test_the_seed_covers_2004_to_2026():
    assert CAL.known_years == frozenset(range(2004, 2027))


@pytest.mark.parametrize(("day", "working"), [
    ("2026-02-13", True),  # Friday before the Spring Festival
    ("2026-02-14", True),  # Saturday made a working day (调休)
    ("2026-02-15", False),  # Sunday, first day of the holiday
    ("2026-02-16", False), ("2026-02-20", False), ("2026-02-23", False),  # holiday weekdays
    ("2026-02-21", False), ("2026-02-22", False),  # the weekend inside the holiday
    ("2026-02-24", True),  # back to work
    ("2026-02-28", True),  # Saturday made a working day
    ("2026-03-01", False),  # an ordinary Sunday
    ("2026-09-20", True),  # Sunday made a working day before National Day
    ("2026-09-25", False),  # Mid-autumn Festival, a Friday
    ("2026-10-01", False), ("2026-10-02", False), ("2026-10-03", False),
    ("2026-10-05", False), ("2026-10-07", False),  # National Day 1–7 October
    ("2026-10-08", True),
    ("2026-10-10", True),  # Saturday made a working day
    ("2026-10-11", False),
    ("2027-01-01", True),  # no data for 2027: a Friday is a working day
    ("2027-01-02", False),
])
def test_working_days_of_the_official_calendar(day, working):
    assert CAL.is_working_day(d(day)) is working


def test_a_made_up_working_day_wins_over_the_weekend_and_a_holiday_over_a_weekday():
    cal = WorkingCalendar(holidays=frozenset({d("2030-05-01")}),
                          workdays=frozenset({d("2030-05-04")}), known_years=frozenset({2030}))
    assert not cal.is_working_day(d("2030-05-01"))  # Wednesday
    assert cal.is_working_day(d("2030-05-04"))  # Saturday
    assert not cal.is_working_day(d("2030-05-05"))  # Sunday
    assert cal.knows(d("2030-12-31")) and not cal.knows(d("2031-01-01"))


def test_next_working_day():
    assert next_working_day(d("2026-02-13"), CAL) == d("2026-02-13")
    assert next_working_day(d("2026-02-15"), CAL) == d("2026-02-24")
    assert next_working_day(d("2026-10-01"), CAL) == d("2026-10-08")
    assert next_working_day(d("2026-09-19"), CAL) == d("2026-09-20")  # a working Sunday


def test_local_date_and_end_of_day():
    assert local_date(datetime(2026, 2, 12, 16, 0, tzinfo=UTC)) == d("2026-02-13")
    assert local_date(datetime(2026, 2, 12, 15, 59, 59, tzinfo=UTC)) == d("2026-02-12")
    assert end_of_day(d("2026-02-25")) == datetime(2026, 2, 25, 15, 59, 59, tzinfo=UTC)
    assert end_of_day(d("2026-02-25")).tzinfo == UTC
    with pytest.raises(ValueError):
        local_date(datetime(2026, 2, 12, 10, 0))  # naive


# --- N working days -------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "n", "expected"), [
    # An ordinary week: sent on Monday, 3 working days -> Thursday.
    ("2026-03-02 09:00", 3, "2026-03-05"),
    # Sent on Friday: Monday is the first day.
    ("2026-03-06 17:00", 1, "2026-03-09"),
    ("2026-03-06 17:00", 3, "2026-03-11"),
    # Sent on a Saturday or Sunday: Monday is still the first day.
    ("2026-03-07 10:00", 1, "2026-03-09"),
    ("2026-03-08 23:59", 3, "2026-03-11"),
    # The day of sending never counts, even early in the morning.
    ("2026-03-02 00:00", 1, "2026-03-03"),
    # Spring Festival 2026: Saturday 14 February works, 15–23 February off.
    ("2026-02-13 10:00", 1, "2026-02-14"),
    ("2026-02-13 10:00", 2, "2026-02-24"),
    ("2026-02-13 10:00", 3, "2026-02-25"),
    ("2026-02-12 10:00", 3, "2026-02-24"),
    ("2026-02-14 10:00", 3, "2026-02-26"),  # sent on the working Saturday
    ("2026-02-16 10:00", 1, "2026-02-24"),  # sent during the holiday
    # Saturday 28 February works too: sent Thursday the 26th, 2 days -> Saturday.
    ("2026-02-26 10:00", 2, "2026-02-28"),
    # National Day 2026: Sunday 20 September works; 25 September, 1–7 October off; Saturday
    # 10 October works.
    ("2026-09-18 10:00", 1, "2026-09-20"),
    ("2026-09-18 10:00", 3, "2026-09-22"),
    ("2026-09-24 10:00", 1, "2026-09-28"),  # Friday 25th is Mid-autumn
    ("2026-09-30 10:00", 1, "2026-10-08"),
    ("2026-09-30 10:00", 3, "2026-10-10"),
    ("2026-09-30 10:00", 4, "2026-10-12"),
    # A longer period: 20 working days across National Day.
    ("2026-09-21 10:00", 20, "2026-10-26"),
])
def test_working_days_on_the_official_calendar(start, n, expected):
    result = add_working_days(at(start), n, CAL)
    assert result == Deadline(due(expected), True, ())
    assert result.due_date == d(expected)
    assert result.due_at.astimezone(BEIJING_TIME).time() == time(23, 59, 59)


def test_working_days_match_a_day_by_day_count():
    """Over a whole year of starts, the N-th working day found independently."""
    for offset in range(0, 365, 3):
        start = d("2025-01-01") + timedelta(days=offset)
        working = [start + timedelta(days=i) for i in range(1, 60)]
        working = [day for day in working if CAL.is_working_day(day)]
        for n in (1, 3, 5, 15):
            noon = datetime.combine(start, time(12), tzinfo=BEIJING_TIME)
            result = add_working_days(noon, n, CAL)
            assert result.due_date == working[n - 1], (start, n)


def test_a_start_late_at_night_utc_is_already_the_next_day_in_shanghai():
    # 17:30 UTC on Thursday 12 February is 01:30 on Friday 13 February in Shanghai.
    start = datetime(2026, 2, 12, 17, 30, tzinfo=UTC)
    assert add_working_days(start, 3, CAL).due_date == d("2026-02-25")
    # Half an hour earlier it is still Thursday there.
    start = datetime(2026, 2, 12, 15, 30, tzinfo=UTC)
    assert add_working_days(start, 3, CAL).due_date == d("2026-02-24")
    # The same holds for calendar days and months: 5 March 16:30 UTC is Friday 6 March in
    # Shanghai. One day later is Saturday (-> Monday 9th), not Friday.
    start = datetime(2026, 3, 5, 16, 30, tzinfo=UTC)
    assert add_days(start, 1, CAL).due_date == d("2026-03-09")
    # 9 March 16:30 UTC is 10 March: one month later is Friday 10 April, not the 9th.
    start = datetime(2026, 3, 9, 16, 30, tzinfo=UTC)
    assert add_months(start, 1, CAL).due_date == d("2026-04-10")


def test_a_start_in_another_zone_is_read_in_shanghai():
    new_york = datetime.fromisoformat("2026-02-12T12:30:00-05:00")  # 13 Feb 01:30 Shanghai
    assert add_working_days(new_york, 3, CAL).due_date == d("2026-02-25")


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 3, 2, 9, 0), 3, CAL)


@pytest.mark.parametrize("n", [0, -1])
def test_a_period_of_less_than_one_is_refused(n):
    for function in (add_working_days, add_days, add_months):
        with pytest.raises(ValueError):
            function(at("2026-03-02 09:00"), n, CAL)


# --- N days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "n", "expected"), [
    # From the next day: 1 day after Monday is Tuesday.
    ("2026-03-02 09:00", 1, "2026-03-03"),
    ("2026-03-02 09:00", 10, "2026-03-12"),
    # Ends on a Saturday: moves to Monday.
    ("2026-03-02 09:00", 5, "2026-03-09"),
    # Ends on a Sunday: moves to Monday.
    ("2026-03-02 09:00", 6, "2026-03-09"),
    # Ends on a working Saturday (调休): stays.
    ("2026-02-18 09:00", 10, "2026-02-28"),
    ("2026-09-10 09:00", 10, "2026-09-20"),  # a working Sunday
    ("2026-09-30 09:00", 10, "2026-10-10"),
    # Ends in the Spring Festival: moves past the whole holiday.
    ("2026-02-05 09:00", 10, "2026-02-24"),
    # Ends on National Day: moves to 8 October.
    ("2026-09-21 09:00", 10, "2026-10-08"),
    ("2026-09-06 09:00", 30, "2026-10-08"),
    # 60 days of rectification from 1 August 2026 end on 30 September, a Wednesday.
    ("2026-08-01 09:00", 60, "2026-09-30"),
    # Across a leap day.
    ("2024-02-01 09:00", 28, "2024-02-29"),
])
def test_calendar_days(start, n, expected):
    result = add_days(at(start), n, CAL)
    assert result == Deadline(due(expected), True, ())


# --- N months -------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "n", "expected"), [
    ("2026-01-15", 1, "2026-02-15"),
    ("2026-01-31", 1, "2026-02-28"),
    ("2028-01-31", 1, "2028-02-29"),  # leap year
    ("2026-03-31", 1, "2026-04-30"),
    ("2026-08-31", 6, "2027-02-28"),
    ("2026-11-30", 3, "2027-02-28"),
    ("2026-12-31", 2, "2027-02-28"),
    ("2026-10-15", 3, "2027-01-15"),
    ("2026-01-29", 1, "2026-02-28"),
    ("2026-05-31", 12, "2027-05-31"),
    ("2026-05-31", 24, "2028-05-31"),
    ("2024-02-29", 12, "2025-02-28"),
])
def test_the_corresponding_day_or_the_last_of_the_month(day, n, expected):
    assert add_months_to_date(d(day), n) == d(expected)


@pytest.mark.parametrize(("start", "n", "expected"), [
    # The corresponding day, a working day.
    ("2026-03-10 10:00", 1, "2026-04-10"),
    # 31 January + 1 month: 28 February 2026, a Saturday made a working day, stays.
    ("2026-01-31 10:00", 1, "2026-02-28"),
    # 15 January + 1 month: 15 February is in the Spring Festival, moves to the 24th.
    ("2026-01-15 10:00", 1, "2026-02-24"),
    # 1 September + 1 month: 1 October, National Day, moves to the 8th.
    ("2026-09-01 10:00", 1, "2026-10-08"),
    # 10 July + 3 months: 10 October 2026, a working Saturday, stays.
    ("2026-07-10 10:00", 3, "2026-10-10"),
    # 11 July + 3 months: Sunday 11 October, moves to Monday.
    ("2026-07-11 10:00", 3, "2026-10-12"),
    # 30 April 2026 + 1 month: 30 May, a Saturday, moves to 1 June.
    ("2026-04-30 10:00", 1, "2026-06-01"),
    # 31 January 2024 + 1 month: 29 February, a Thursday.
    ("2024-01-31 10:00", 1, "2024-02-29"),
])
def test_months_on_the_official_calendar(start, n, expected):
    result = add_months(at(start), n, CAL)
    assert result == Deadline(due(expected), True, ())


def test_the_default_answer_period_of_three_months():
    # A clue sent on 20 June 2026 is answered by 20 September, a working Sunday.
    assert add_months(at("2026-06-20 15:00"), 3, CAL).due_date == d("2026-09-20")
    # ... and with six months in all, by 20 December, a Sunday: Monday the 21st.
    assert add_months(at("2026-06-20 15:00"), 6, CAL).due_date == d("2026-12-21")


# --- a year without data --------------------------------------------------------------------


def test_a_year_without_data_counts_weekends_only_and_says_so():
    # 1 January 2027 is a Friday; without data it counts as a working day.
    result = add_working_days(at("2026-12-30 10:00"), 3, CAL)
    assert result.due_date == d("2027-01-04")  # 31 Dec, 1 Jan, 4 Jan
    assert result.complete is False
    assert result.years_without_data == (2027,)


def test_a_period_from_2026_into_2027_counts_2026_officially():
    # From Tuesday 29 September 2026: 30 Sep, 8 Oct, 9 Oct, 10 Oct (Saturday) ...
    result = add_working_days(at("2026-09-29 10:00"), 4, CAL)
    assert result.complete is True and result.due_date == d("2026-10-10")
    # Three months from 30 November 2026: 28 February 2027, a Sunday -> Monday 1 March.
    result = add_months(at("2026-11-30 10:00"), 3, CAL)
    assert result == Deadline(due("2027-03-01"), False, (2027,))
    # 60 days from 15 December 2026: 13 February 2027, a Saturday -> Monday 15 February.
    result = add_days(at("2026-12-15 10:00"), 60, CAL)
    assert result == Deadline(due("2027-02-15"), False, (2027,))


def test_a_period_that_stays_in_2026_is_complete():
    result = add_days(at("2026-12-01 10:00"), 30, CAL)
    assert result == Deadline(due("2026-12-31"), True, ())


def test_every_year_without_data_is_listed():
    result = add_months(at("2026-11-30 10:00"), 24, CAL)
    assert result.complete is False
    assert result.years_without_data == (2027, 2028)
    assert add_working_days(at("2030-03-01 10:00"), 3, CAL).years_without_data == (2030,)
    # Before the seed begins.
    assert add_days(at("2003-12-01 10:00"), 10, CAL).years_without_data == (2003,)


def test_a_year_entered_later_is_used_and_complete():
    cal = WorkingCalendar(holidays=CAL.holidays | {d("2027-01-01")},
                          workdays=CAL.workdays | {d("2027-02-07")},
                          known_years=CAL.known_years | {2027})
    result = add_working_days(at("2026-12-30 10:00"), 3, cal)
    assert result == Deadline(due("2027-01-05"), True, ())
    result = add_working_days(at("2027-02-05 10:00"), 1, cal)
    assert result.due_date == d("2027-02-07")


def test_without_any_data_only_weekends_are_days_off():
    result = add_working_days(at("2026-02-13 10:00"), 3, WEEKENDS_ONLY)
    assert result == Deadline(due("2026-02-18"), False, (2026,))


# --- the dispatcher -------------------------------------------------------------------------


def test_deadline_dispatches_by_unit():
    start = at("2026-02-13 10:00")
    assert deadline(start, 3, Unit.WORKING_DAYS, CAL) == add_working_days(start, 3, CAL)
    assert deadline(start, 3, "days", CAL) == add_days(start, 3, CAL)
    assert deadline(start, 3, "months", CAL) == add_months(start, 3, CAL)
    with pytest.raises(ValueError):
        deadline(start, 3, "weeks", CAL)


# --- due soon -------------------------------------------------------------------------------


def test_due_soon_begins_when_five_working_days_are_left():
    # Due Friday 13 March 2026: 9, 10, 11, 12, 13 March are the last five working days, so the
    # warning starts on Monday 9 March — from Saturday 7 March, in fact, since the weekend
    # leaves no more working days than Monday does.
    warn = warning_start(due("2026-03-13"), 5, CAL)
    assert warn == datetime(2026, 3, 7, tzinfo=BEIJING_TIME).astimezone(UTC)


def test_due_soon_counts_working_days_only():
    # Due Wednesday 25 February 2026: the five working days counting back are 25, 24, 14
    # (Saturday), 13, 12 February; the holiday between does not count.
    warn = warning_start(due("2026-02-25"), 5, CAL)
    assert warn == datetime(2026, 2, 12, tzinfo=BEIJING_TIME).astimezone(UTC)
    # Due Saturday 10 October 2026 (a working day): 10, 9, 8 October, 30, 29 September.
    warn = warning_start(due("2026-10-10"), 5, CAL)
    assert warn == datetime(2026, 9, 29, tzinfo=BEIJING_TIME).astimezone(UTC)


def test_due_soon_means_no_more_than_n_working_days_left_counting_today_and_the_due_day():
    """The definition checked day by day across holidays and 调休."""
    for due_day in [d("2026-02-25"), d("2026-10-10"), d("2026-10-12"), d("2026-03-13"),
                    d("2026-01-05"), d("2026-05-06"), d("2026-10-03")]:
        for n in (1, 3, 5):
            warn = warning_start(end_of_day(due_day), n, CAL)
            for back in range(0, 40):
                today = due_day - timedelta(days=back)
                left = sum(CAL.is_working_day(today + timedelta(days=i))
                           for i in range((due_day - today).days + 1))
                begun = datetime.combine(today, time(12), tzinfo=BEIJING_TIME) >= warn
                assert begun is (left <= n), (due_day, n, today)


def test_due_soon_with_one_working_day_starts_after_the_previous_working_day():
    # Due Tuesday 24 February 2026: the working day before is Saturday the 14th.
    warn = warning_start(due("2026-02-24"), 1, CAL)
    assert warn == datetime(2026, 2, 15, tzinfo=BEIJING_TIME).astimezone(UTC)


def test_due_soon_refuses_a_negative_number():
    with pytest.raises(ValueError):
        warning_start(due("2026-02-24"), -1, CAL)


# --- clock status ---------------------------------------------------------------------------


DUE = due("2026-02-25")
WARN = warning_start(DUE, 5, CAL)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("now", "met", "expected"), [
    (WARN - SECOND, None, ClockStatus.ON_TIME),
    (WARN, None, ClockStatus.DUE_SOON),
    (DUE - SECOND, None, ClockStatus.DUE_SOON),
    (DUE, None, ClockStatus.DUE_SOON),  # 23:59:59 of the due day is still in time
    (DUE + SECOND, None, ClockStatus.OVERDUE),  # the moment after
    (DUE + timedelta(days=30), None, ClockStatus.OVERDUE),
    (DUE + timedelta(days=30), DUE, ClockStatus.MET),
    (DUE + timedelta(days=30), WARN - timedelta(days=3), ClockStatus.MET),
    (DUE + timedelta(days=30), DUE + SECOND, ClockStatus.MET_LATE),
    (WARN - SECOND, WARN - timedelta(days=1), ClockStatus.MET),
])
def test_clock_status(now, met, expected):
    assert clock_status(DUE, WARN, met, now) == expected


def test_a_clock_that_has_not_started_has_no_status():
    assert clock_status(None, None, None, DUE) is None


def test_a_clock_without_a_warning_goes_from_on_time_to_overdue():
    assert clock_status(DUE, None, None, DUE - SECOND) == ClockStatus.ON_TIME
    assert clock_status(DUE, None, None, DUE + SECOND) == ClockStatus.OVERDUE


def test_deadline_times_are_utc_and_shown_in_shanghai():
    result = add_working_days(at("2026-02-13 10:00"), 3, CAL)
    assert result.due_at.utcoffset() == timedelta(0)
    assert result.due_at.astimezone(BEIJING_TIME).isoformat() == "2026-02-25T23:59:59+08:00"
