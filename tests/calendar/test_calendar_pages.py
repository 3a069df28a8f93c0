"""The deadline calculator (page and API) and the security administrator's calendar page.

Imports change the kept calendar tables; the suite puts the seed back after each such test.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from supervise.calendar import operations
from supervise.calendar.deadlines import DayKind
from supervise.calendar.models import CalendarDay, CalendarYear, load_calendar
from supervise.database import BEIJING_TIME
from supervise.events.models import Event
from supervise.extensions import db
from tests.factories import UserFactory
from tests.helpers import events

EN = {"Accept-Language": "en"}

ARRANGEMENT_2027 = """\
# 2027 元旦
2027-01-01 休 元旦

# 春节: 2月7日（星期日）上班
2027-02-07 班 春节
2027-02-08 holiday 春节
2027-02-09 放假 春节
2027-02-10 休 春节
2027-02-11 休 春节
2027-02-12 休 春节
2027-02-13 休 春节
2027-02-14 休 春节
2027-02-20 上班 春节
"""


@pytest.fixture(autouse=True)
def seeded_calendar(app_context):
    """The seeded calendar, whatever the previous test left. (On PostgreSQL the suite's
    `TRUNCATE users … CASCADE` also empties calendar_years, which refers to users, after the
    calendar was checked: every other test would start without any known year.)"""
    from tests.conftest import _restore_calendar

    _restore_calendar()
    db.session.commit()
    db.session.remove()
    yield


@pytest.fixture
def secadmin(app):
    UserFactory(username="sec", roles=["secadmin"])
    client = app.test_client()
    client.sign_in("sec")
    return client


@pytest.fixture
def staff(app):
    UserFactory(username="wang", roles=["staff"])
    client = app.test_client()
    client.sign_in("wang")
    return client


def calendar_state():
    """Everything an import may change: the rows of both tables and the events."""
    db.session.expire_all()
    years = db.session.execute(sa.select(CalendarYear.year, CalendarYear.source,
                                         CalendarYear.updated_by_id)
                               .order_by(CalendarYear.year)).all()
    days = db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
                              .order_by(CalendarDay.day)).all()
    events = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    return years, days, events


def days_of(year: int) -> dict[date, tuple[str, str]]:
    db.session.expire_all()
    return {row.day: (row.kind.value, row.name) for row in db.session.scalars(
        sa.select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1),
                                                             date(year, 12, 31))))}


def deadline(client, **params):
    return client.get("/api/v1/calendar/deadline", query_string=params, headers=EN)


def due_time(response) -> str | None:
    match = re.search(r'<time datetime="([^"]+)"', response.get_data(as_text=True))
    return match[1] if match else None


def bad_lines(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-line="(\d+)"', response.get_data(as_text=True))]


def assert_no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert "<style" not in html


# --- the API --------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "due_at"), [
    # Spring Festival 2026: Saturday 14 February works, 15–23 February off.
    ({"start": "2026-02-13T10:00:00+08:00", "amount": 3, "unit": "working_days"},
     "2026-02-25T23:59:59+08:00"),
    # National Day 2026: 1–7 October off, Saturday 10 October works.
    ({"start": "2026-09-30T10:00:00+08:00", "amount": 3, "unit": "working_days"},
     "2026-10-10T23:59:59+08:00"),
    # 31 January + 1 month: Saturday 28 February 2026, a working day.
    ({"start": "2026-01-31T10:00:00+08:00", "amount": 1, "unit": "months"},
     "2026-02-28T23:59:59+08:00"),
    # 10 days from 21 September: 1 October, moved to the 8th.
    ({"start": "2026-09-21T10:00:00+08:00", "amount": 10, "unit": "days"},
     "2026-10-08T23:59:59+08:00"),
    # Without a time zone: Asia/Shanghai.
    ({"start": "2026-02-13T10:00:00", "amount": 3, "unit": "working_days"},
     "2026-02-25T23:59:59+08:00"),
    # A date alone.
    ({"start": "2026-02-13", "amount": 3, "unit": "working_days"},
     "2026-02-25T23:59:59+08:00"),
    # Late at night UTC is the next day in Shanghai (Friday 13th, not Thursday 12th).
    ({"start": "2026-02-12T17:30:00Z", "amount": 3, "unit": "working_days"},
     "2026-02-25T23:59:59+08:00"),
    ({"start": "2026-02-12T15:30:00Z", "amount": 3, "unit": "working_days"},
     "2026-02-24T23:59:59+08:00"),
    # "+08:00" sent unencoded arrives as " 08:00".
    ({"start": "2026-02-13T10:00:00 08:00", "amount": 3, "unit": "working_days"},
     "2026-02-25T23:59:59+08:00"),
])
def test_api_answers_known_deadlines(staff, params, due_at):
    response = deadline(staff, **params)
    assert response.status_code == 200, response.json
    assert response.json["due_at"] == due_at
    assert response.json["calendar_complete"] is True
    assert response.json["years_without_data"] == []


def test_api_reads_a_naive_start_in_shanghai_and_echoes_it(staff):
    response = deadline(staff, start="2026-02-13T10:00", amount=1, unit="days")
    assert response.json["start"] == "2026-02-13T10:00:00+08:00"
    response = deadline(staff, start="2026-02-12T17:30:00Z", amount=1, unit="days")
    assert response.json["start"] == "2026-02-13T01:30:00+08:00"


def test_api_starts_now_by_default(staff):
    response = deadline(staff, amount=1, unit="months")
    assert response.status_code == 200
    start = datetime.fromisoformat(response.json["start"])
    assert abs(start - datetime.now(BEIJING_TIME)) < timedelta(minutes=1)


def test_api_says_when_a_year_has_no_data(staff):
    response = deadline(staff, start="2026-12-30T10:00:00+08:00", amount=3,
                        unit="working_days")
    assert response.json == {"start": "2026-12-30T10:00:00+08:00",
                             "due_at": "2027-01-04T23:59:59+08:00",
                             "calendar_complete": False, "years_without_data": [2027]}
    response = deadline(staff, start="2026-11-30T10:00:00+08:00", amount=24, unit="months")
    assert response.json["years_without_data"] == [2027, 2028]


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"amount": -3, "unit": "working_days"}, "amount", "Must be from 1 to 1000."),
    ({"amount": 0, "unit": "days"}, "amount", "Must be from 1 to 1000."),
    ({"amount": 1001, "unit": "days"}, "amount", "Must be from 1 to 1000."),
    ({"amount": "three", "unit": "days"}, "amount", "Not a valid integer."),
    ({"amount": "2.5", "unit": "days"}, "amount", "Not a valid integer."),
    ({"unit": "days"}, "amount", "Missing data for required field."),
    ({"amount": 3, "unit": "weeks"}, "unit",
     "Must be one of: working_days, days, months."),
    ({"amount": 3}, "unit", "Missing data for required field."),
    ({"start": "yesterday", "amount": 3, "unit": "days"}, "start",
     "Not a valid date and time."),
    ({"start": "2027-02-30T10:00", "amount": 3, "unit": "days"}, "start",
     "Not a valid date and time."),
    ({"start": "2250-01-01T10:00", "amount": 3, "unit": "days"}, "start",
     "Give a time from 2000 to 2100."),
])
def test_api_refuses_bad_input_with_422(staff, params, field, message):
    response = deadline(staff, **{"start": "2026-02-13T10:00:00+08:00", **params})
    assert response.status_code == 422
    assert response.json["errors"][field] == [message]


def test_api_needs_case_content(app, secadmin):
    params = {"start": "2026-02-13", "amount": 3, "unit": "days"}
    assert deadline(secadmin, **params).status_code == 403
    assert deadline(app.test_client(), **params).status_code == 401


# --- the calculator page --------------------------------------------------------------------


def test_calculator_page_shows_the_form_with_now_as_the_start(staff):
    response = staff.get("/calendar")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'value="{datetime.now(BEIJING_TIME).date().isoformat()}"' in html
    assert 'id="result"' not in html
    assert_no_inline_code(html)


def test_calculator_page_answers_a_known_case(staff):
    response = staff.get("/calendar", query_string={
        "start_date": "2026-02-13", "start_time": "10:00", "amount": "3",
        "unit": "working_days"})
    assert response.status_code == 200
    assert due_time(response) == "2026-02-25T23:59:59+08:00"
    assert 'id="calendar-warning"' not in response.get_data(as_text=True)

    response = staff.get("/calendar", query_string={
        "start_date": "2026-09-21", "start_time": "", "amount": "10", "unit": "days"})
    assert due_time(response) == "2026-10-08T23:59:59+08:00"


def test_calculator_page_warns_when_a_year_has_no_data(staff):
    response = staff.get("/calendar", query_string={
        "start_date": "2026-12-30", "start_time": "10:00", "amount": "3",
        "unit": "working_days"})
    assert response.status_code == 200
    assert due_time(response) == "2027-01-04T23:59:59+08:00"
    html = response.get_data(as_text=True)
    assert 'id="calendar-warning"' in html and "2027" in html
    assert_no_inline_code(html)


@pytest.mark.parametrize("params", [
    {"start_date": "2026-02-30", "amount": "3", "unit": "days"},
    {"start_date": "soon", "amount": "3", "unit": "days"},
    {"start_date": "2026-02-13", "start_time": "25:00", "amount": "3", "unit": "days"},
    {"start_date": "2026-02-13", "amount": "-3", "unit": "days"},
    {"start_date": "2026-02-13", "amount": "0", "unit": "days"},
    {"start_date": "2026-02-13", "amount": "x", "unit": "days"},
    {"start_date": "2026-02-13", "amount": "3", "unit": "weeks"},
    {"start_date": "9999-12-31", "amount": "1000", "unit": "months"},
])
def test_calculator_page_refuses_bad_input(staff, params):
    response = staff.get("/calendar", query_string=params)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html and 'id="result"' not in html


def test_calculator_page_needs_case_content(app, secadmin):
    assert secadmin.get("/calendar").status_code == 403
    response = app.test_client().get("/calendar")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the security administrator's page ------------------------------------------------------


def test_secadmin_sees_this_year_by_default(secadmin):
    response = secadmin.get("/settings/calendar")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    this_year = datetime.now(BEIJING_TIME).year
    assert f'name="year" value="{this_year}"' in html
    assert f'href="/settings/calendar?year={this_year - 1}"' in html
    assert f'href="/settings/calendar?year={this_year + 1}"' in html
    assert_no_inline_code(html)


def test_secadmin_sees_a_known_years_holidays_and_working_weekends(secadmin):
    response = secadmin.get("/settings/calendar?year=2026")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="year-known"' in html and 'id="months"' in html
    for working_weekend in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09",
                            "2026-09-20", "2026-10-10"):
        assert f'<time datetime="{working_weekend}">' in html
    assert "16–20, 23" in html  # the Spring Festival's weekdays off
    # The textarea holds the year in the import format, ready to correct, in Chinese.
    assert "2026-10-10 班 国庆节" in html and "workday" not in html.split("<textarea")[1]


def test_secadmin_sees_that_a_year_is_unknown(secadmin):
    html = secadmin.get("/settings/calendar?year=2027").get_data(as_text=True)
    assert 'id="year-unknown"' in html and 'id="months"' not in html
    assert 'id="remove"' not in html


@pytest.mark.parametrize("year", ["abc", "1999", "2101", ""])
def test_a_bad_year_is_refused(secadmin, year):
    assert secadmin.get("/settings/calendar", query_string={"year": year}).status_code == 400


def test_staff_cannot_reach_the_calendar_settings(app, staff):
    assert staff.get("/settings/calendar").status_code == 403
    before = calendar_state()
    response = staff.post_form("/settings/calendar", {"year": "2027", "text": ARRANGEMENT_2027})
    assert response.status_code == 403
    assert staff.post_form("/settings/calendar/remove",
                           {"year": "2026", "confirm": "1"}).status_code == 403
    after = calendar_state()
    assert after[:2] == before[:2]
    assert [e.action for e in events("calendar.import")] == []

    anonymous = app.test_client()
    response = anonymous.get("/settings/calendar")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_import_needs_the_csrf_token(secadmin):
    before = calendar_state()
    response = secadmin.post("/settings/calendar",
                             data={"year": "2027", "text": ARRANGEMENT_2027})
    assert response.status_code == 400
    assert calendar_state() == before


# --- importing ------------------------------------------------------------------------------


def test_secadmin_imports_2027_and_deadlines_follow_it(secadmin, staff):
    # Before: weekends only, and said so.
    response = deadline(staff, start="2026-12-30T10:00:00+08:00", amount=3,
                        unit="working_days")
    assert response.json["due_at"] == "2027-01-04T23:59:59+08:00"
    assert response.json["calendar_complete"] is False
    response = deadline(staff, start="2027-02-05T10:00:00+08:00", amount=3,
                        unit="working_days")
    assert response.json["due_at"] == "2027-02-10T23:59:59+08:00"

    response = secadmin.post_form("/settings/calendar",
                                  {"year": "2027", "text": ARRANGEMENT_2027})
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/calendar?year=2027"

    row = db.session.get(CalendarYear, 2027)
    sec = db.session.scalar(sa.select(CalendarYear.updated_by_id).where(CalendarYear.year == 2027))
    assert row is not None and sec is not None and "sec" in row.source
    # Weekday holidays and working weekend days are stored; weekend holidays are not. The
    # names chinesecalendar knows are stored in its words, to show in each reader's language.
    assert days_of(2027) == {
        date(2027, 1, 1): ("holiday", "New Year's Day"),
        date(2027, 2, 7): ("workday", "Spring Festival"),
        **{date(2027, 2, d): ("holiday", "Spring Festival") for d in (8, 9, 10, 11, 12)},
        date(2027, 2, 20): ("workday", "Spring Festival"),
    }
    [event] = events("calendar.import")
    assert json.loads(event.details) == {"year": 2027, "holidays": 6, "workdays": 2,
                                         "weekend_holidays": 2, "moved": 0}
    assert event.actor_username == "sec" and event.object_id == "2027"

    # After: the official days count, and the answer is complete.
    response = deadline(staff, start="2026-12-30T10:00:00+08:00", amount=3,
                        unit="working_days")
    assert response.json["due_at"] == "2027-01-05T23:59:59+08:00"
    assert response.json["calendar_complete"] is True
    assert response.json["years_without_data"] == []
    # Friday 5 February 2027: Sunday the 7th works, 8–14 off, so 7, 15, 16.
    response = deadline(staff, start="2027-02-05T10:00:00+08:00", amount=3,
                        unit="working_days")
    assert response.json["due_at"] == "2027-02-16T23:59:59+08:00"
    assert response.json["calendar_complete"] is True
    # The calculator page no longer warns.
    page = staff.get("/calendar", query_string={
        "start_date": "2026-12-30", "start_time": "10:00", "amount": "3",
        "unit": "working_days"})
    assert due_time(page) == "2027-01-05T23:59:59+08:00"
    assert 'id="calendar-warning"' not in page.get_data(as_text=True)

    # The year's page shows it.
    html = secadmin.get("/settings/calendar?year=2027").get_data(as_text=True)
    assert 'id="year-known"' in html
    assert '<time datetime="2027-02-07">' in html and '<time datetime="2027-02-20">' in html


def test_an_import_replaces_the_whole_year(secadmin):
    secadmin.post_form("/settings/calendar", {"year": "2027", "text": ARRANGEMENT_2027})
    response = secadmin.post_form("/settings/calendar", {
        "year": "2027", "text": "2027-01-01 holiday New Year's Day\n2027-01-02 休\n"})
    assert response.status_code == 302
    assert days_of(2027) == {date(2027, 1, 1): ("holiday", "New Year's Day")}
    assert [json.loads(e.details)["holidays"] for e in events("calendar.import")] == [6, 1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarYear)
                             .where(CalendarYear.year == 2027)) == 1
    # Other years are untouched.
    assert days_of(2026) == {r["day"]: (r["kind"], r["name"])
                             for r in seed_rows_of(2026)}


def test_a_year_imported_as_shown_stays_as_it_was(app, secadmin):
    """The text the page shows, in Chinese or in English, imported again, changes nothing: the
    holiday names stay as chinesecalendar gives them, whatever language they were shown in."""
    seeded = {r["day"]: (r["kind"], r["name"]) for r in seed_rows_of(2026)}
    html = secadmin.get("/settings/calendar?year=2026").get_data(as_text=True)
    chinese = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1)
    assert "2026-01-01 休 元旦\n" in chinese
    assert secadmin.post_form("/settings/calendar",
                              {"year": "2026", "text": chinese}).status_code == 302
    assert days_of(2026) == seeded
    secadmin.post_form("/language", {"locale": "en", "next": "/"})
    html = secadmin.get("/settings/calendar?year=2026").get_data(as_text=True)
    english = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1)
    assert "2026-01-01 holiday New Year&#39;s Day\n" in english
    assert secadmin.post_form("/settings/calendar", {
        "year": "2026", "text": english.replace("&#39;", "'")}).status_code == 302
    assert days_of(2026) == seeded


def seed_rows_of(year: int) -> list[dict]:
    from supervise.calendar.models import seed_rows

    return [r for r in seed_rows()[1] if r["day"].year == year]


def test_a_correction_of_a_seeded_year_is_possible(secadmin, staff):
    # Suppose 9 October 2026 had been announced as an extra day off.
    text = operations.as_text(operations.days_of_year(2026)) + "2026-10-09 休 国庆节\n"
    assert secadmin.post_form("/settings/calendar",
                              {"year": "2026", "text": text}).status_code == 302
    response = deadline(staff, start="2026-09-30T10:00:00+08:00", amount=3,
                        unit="working_days")
    assert response.json["due_at"] == "2026-10-12T23:59:59+08:00"  # 8, 10, 12 October


GOOD_LINES = ["2027-01-01 休 元旦", "2027-02-07 班 春节"]


@pytest.mark.parametrize(("bad", "why"), [
    ("2027-02-30 休", "no such day"),
    ("2027-13-01 休", "no such month"),
    ("27-01-01 休", "not a date"),
    ("2027/01/01 休", "not a date"),
    ("元旦 休", "not a date"),
    ("2027-01-04 rest", "unknown kind"),
    ("2027-01-04", "no kind"),
    ("2027-01-01 休 元旦", "the date twice"),
    ("2026-12-31 休", "another year"),
    ("2028-01-03 休", "another year"),
    ("2027-01-04 班", "a Monday made a working day"),
    ("2027-01-08 workday", "a Friday made a working day"),
    ("2027-01-05 休 " + "长" * 51, "a name too long"),
])
def test_each_bad_line_refuses_the_whole_import(secadmin, bad, why):
    before = calendar_state()
    # Line 3 is a comment and line 4 blank: the bad line is line 5 of what was pasted.
    text = "\n".join([GOOD_LINES[0], GOOD_LINES[1], "# 备注", "", bad]) + "\n"
    response = secadmin.post_form("/settings/calendar", {"year": "2027", "text": text})
    assert response.status_code == 400, why
    assert bad_lines(response) == [5], why
    assert calendar_state() == before, why
    # What was pasted stays in the form to correct.
    assert bad.split()[0] in response.get_data(as_text=True)


def test_every_bad_line_is_named(secadmin):
    before = calendar_state()
    text = "2027-02-30 休\n2027-01-01 休\n\n2027-01-01 班\n2027-01-09 假期\n2026-05-01 休\n"
    response = secadmin.post_form("/settings/calendar", {"year": "2027", "text": text})
    assert response.status_code == 400
    assert bad_lines(response) == [1, 4, 5, 6]
    assert calendar_state() == before


@pytest.mark.parametrize(("year", "text"), [
    ("2027", ""),
    ("2027", "# only a comment\n\n"),
    ("2027", "".join(f"{date(2027, 1, 1) + timedelta(days=i)} 休\n" for i in range(367))),
    ("2027", "# x\n" * 20_000),
    ("twenty", "2027-01-01 休"),
    ("1999", "1999-01-01 休"),
])
def test_an_empty_oversized_or_yearless_import_is_refused(secadmin, year, text):
    before = calendar_state()
    response = secadmin.post_form("/settings/calendar", {"year": year, "text": text})
    assert response.status_code == 400
    assert 'id="import-errors"' in response.get_data(as_text=True)
    assert calendar_state() == before


def test_a_whole_year_of_lines_is_accepted(secadmin):
    # Every weekday of 2027 a holiday: 261 lines, not more than a year has days.
    weekdays = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
    text = "".join(f"{d} 休\n" for d in weekdays if d.weekday() < 5)
    response = secadmin.post_form("/settings/calendar", {"year": "2027", "text": text})
    assert response.status_code == 302
    assert len(days_of(2027)) == 261


def test_too_many_errors_are_summarised(secadmin):
    text = "".join(f"2027-02-{30 + i % 2} 休\n" for i in range(30))
    response = secadmin.post_form("/settings/calendar", {"year": "2027", "text": text})
    assert response.status_code == 400
    assert bad_lines(response) == list(range(1, 21))


# --- removing -------------------------------------------------------------------------------


def test_secadmin_removes_a_year_entered_by_mistake(secadmin, staff):
    secadmin.post_form("/settings/calendar", {"year": "2027", "text": ARRANGEMENT_2027})
    response = secadmin.post_form("/settings/calendar/remove", {"year": "2027"})
    assert response.status_code == 400  # not confirmed
    assert db.session.get(CalendarYear, 2027) is not None

    response = secadmin.post_form("/settings/calendar/remove",
                                  {"year": "2027", "confirm": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CalendarYear, 2027) is None
    assert days_of(2027) == {}
    [event] = events("calendar.remove")
    assert json.loads(event.details) == {"year": 2027, "holidays": 6, "workdays": 2,
                                         "moved": 0}
    response = deadline(staff, start="2026-12-30T10:00:00+08:00", amount=3,
                        unit="working_days")
    assert response.json["calendar_complete"] is False

    # Removing what is not there.
    response = secadmin.post_form("/settings/calendar/remove",
                                  {"year": "2027", "confirm": "1"})
    assert response.status_code == 404


# --- the operations -------------------------------------------------------------------------


def test_parse_accepts_every_spelling_of_the_kinds():
    text = ("\ufeff2027-01-01 HOLIDAY New Year's Day\n"
            "2027-01-04\t休\n"
            "2027-1-5 放假 元旦 补休\n"
            "  # indented comment\n"
            "＃ full-width comment\n"
            "2027-02-07 班\n"
            "2027-02-20\u3000上班\u3000春节\n"
            "2027-02-21 Workday\n")
    days = operations.parse_arrangement(2027, text)
    assert [(d.day, d.kind, d.name, d.line) for d in days] == [
        (date(2027, 1, 1), DayKind.HOLIDAY, "New Year's Day", 1),
        (date(2027, 1, 4), DayKind.HOLIDAY, "", 2),
        (date(2027, 1, 5), DayKind.HOLIDAY, "元旦 补休", 3),
        (date(2027, 2, 7), DayKind.WORKDAY, "", 6),
        (date(2027, 2, 20), DayKind.WORKDAY, "Spring Festival", 7),  # a name it knows
        (date(2027, 2, 21), DayKind.WORKDAY, "", 8),
    ]


def test_parse_errors_are_keyed_by_line():
    with pytest.raises(operations.ArrangementRefused) as refused:
        operations.parse_arrangement(2027, "2027-01-01 休\n\n2027-02-30 休\n2027-01-01 班\n")
    assert set(refused.value.errors) == {"line 3", "line 4"}
    assert refused.value.lines.keys() == {3, 4}
    assert refused.value.status == 422


def test_import_flushes_but_does_not_commit(app):
    user = UserFactory(username="sec2", roles=["secadmin"])
    before = calendar_state()
    result = operations.import_year(user, 2027, ARRANGEMENT_2027)
    assert (result.holidays, result.workdays, result.weekend_holidays) == (6, 2, 2)
    assert 2027 in load_calendar().known_years  # the request's cached calendar is renewed
    db.session.rollback()
    assert calendar_state() == before
