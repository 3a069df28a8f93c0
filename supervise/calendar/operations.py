"""Entering a year's official holiday arrangement, and reading the calendar for the pages.

The security administrator pastes the State Council's arrangement as one date per line:

    # 2027 元旦
    2027-01-01 休 元旦
    2027-02-07 班 春节

`YYYY-MM-DD kind [name]`, the kind being `holiday` (休, 放假) or `workday` (班, 上班); blank lines
and lines starting with `#` are ignored. Any bad line refuses the whole import, with a message
per line, and nothing changes.

What is stored: the days that break the Monday-to-Friday rule, as the seed from `chinesecalendar`
stores them: holidays from Monday to Friday, and weekend days made working days (调休). A holiday
line for a Saturday or Sunday is accepted (the notice lists whole blocks such as 2月15日至23日) but
not stored: a weekend day is a day off anyway, and the deadline arithmetic reads nothing else.

A change of the calendar counts the running deadlines again: `calendar_changed` is sent, in the
same transaction, with the calendars before and after, and each workflow moves its own clocks
(their deadlines were counted weekends only, or by an arrangement now corrected).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from blinker import Namespace
from flask import g, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from supervise.calendar import deadlines
from supervise.calendar.deadlines import DayKind, Unit
from supervise.calendar.models import CalendarDay, CalendarYear, load_calendar
from supervise.database import BEIJING_TIME, now_utc
from supervise.errors import ConflictError, InvalidInput, OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.money import whole_number
from supervise.vocabulary import DOCUMENT_LOCALE

MIN_YEAR, MAX_YEAR = 2000, 2100

# Sent as calendar_changed.send(user, year=…, before=…, after=…) once a year's arrangement is
# stored or removed, flushed and not committed; its receivers write their changes in the same
# transaction and answer how many deadlines they moved.
calendar_changed = Namespace().signal("calendar-changed")
# Sent as running_clocks.send() to ask each workflow for its deadlines that still run: each
# receiver answers a list of (deadline column, clause selecting the records whose clock runs).
running_clocks = Namespace().signal("running-clocks")
MAX_LINES = 366  # date lines in one import; a year has no more days
MAX_TEXT = 50_000  # characters pasted, comments included
MAX_LISTED_ERRORS = 20
NAME_LENGTH = 50  # CalendarDay.name
AMOUNT_MAX = 1000  # the largest amount the calculator accepts, whatever the unit

KINDS: dict[str, DayKind] = {
    "holiday": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "放假": DayKind.HOLIDAY,
    "workday": DayKind.WORKDAY,
    "班": DayKind.WORKDAY,
    "上班": DayKind.WORKDAY,
}

DATE_TEXT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)

# The names `chinesecalendar` gives, shown in the user's language (and stored so when entered
# in Chinese, see `_stored_name`); other names entered by the administrator are shown as they
# were entered.
HOLIDAY_NAMES = {
    "New Year's Day": _l("New Year's Day"),
    "Spring Festival": _l("Spring Festival"),
    "Tomb-sweeping Day": _l("Tomb-sweeping Day"),
    "Labour Day": _l("Labour Day"),
    "Dragon Boat Festival": _l("Dragon Boat Festival"),
    "Mid-autumn Festival": _l("Mid-autumn Festival"),
    "National Day": _l("National Day"),
    "Anti-Fascist 70th Day": _l("70th anniversary of the victory over fascism"),
}


def holiday_name(name: str) -> str:
    return str(HOLIDAY_NAMES.get(name, name))


def _stored_name(name: str) -> str:
    """A holiday name as stored: one `chinesecalendar` knows, given in its words, in the user's
    language (as `as_text` writes it) or in Chinese (as the State Council's notice does), is
    stored in `chinesecalendar`'s words, to be shown in each reader's language; any other name
    as entered."""
    known = {str(label): key for key, label in HOLIDAY_NAMES.items()}
    with force_locale(DOCUMENT_LOCALE):
        known.update({str(label): key for key, label in HOLIDAY_NAMES.items()})
    known.update({key: key for key in HOLIDAY_NAMES})
    return known.get(name, name)


# The kind as `as_text` writes it, in the user's language (KINDS reads both languages).
KIND_WORDS = {DayKind.HOLIDAY: _l("holiday"), DayKind.WORKDAY: _l("workday")}


class ArrangementRefused(InvalidInput):
    """The pasted arrangement does not pass. `errors` maps "line 3" (or "text", "year") to a
    message, as the API shows it; `lines` maps each bad line's number to its message."""

    def __init__(self, errors: dict[str, str], lines: dict[int, str] | None = None):
        super().__init__(errors)
        self.lines = dict(lines or {})


@dataclass(frozen=True)
class ArrangementDay:
    day: date
    kind: DayKind
    name: str
    line: int

    @property
    def stored(self) -> bool:
        """Holidays on a weekend are no exception to Monday-to-Friday and are not stored."""
        return self.kind == DayKind.WORKDAY or self.day.weekday() < 5


@dataclass(frozen=True)
class ImportResult:
    year: int
    holidays: int  # stored: Monday-to-Friday holidays
    workdays: int  # weekend days made working days
    weekend_holidays: int  # accepted, not stored
    moved: int = 0  # running deadlines that the new arrangement moved


def check_year(value) -> int:
    """The year as an int, or InvalidInput naming the field `year`."""
    try:
        year = whole_number(value)
    except ValueError:
        year = None
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        raise ArrangementRefused({"year": _("Choose a year from %(min)d to %(max)d.",
                                            min=MIN_YEAR, max=MAX_YEAR)})
    return year


def _parse_date(text: str) -> tuple[date | None, str | None]:
    match = DATE_TEXT.match(text)
    if not match:
        return None, _("“%(text)s” is not a date: write it as YYYY-MM-DD.", text=text[:20])
    try:
        return date(*(int(part) for part in match.groups())), None
    except ValueError:
        return None, _("There is no such day as %(text)s.", text=text)


def parse_arrangement(year: int, text: str | None) -> list[ArrangementDay]:
    """The lines of a pasted arrangement, checked; ArrangementRefused lists every bad line."""
    text = (text or "").replace("\ufeff", "")
    if len(text) > MAX_TEXT:
        raise ArrangementRefused({"text": _("The text is too long: at most %(n)d characters.",
                                            n=MAX_TEXT)})
    numbered = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)]
    numbered = [(number, line) for number, line in numbered
                if line and not line.startswith(("#", "＃"))]
    if not numbered:
        raise ArrangementRefused({"text": _("Paste at least one line: a date and its kind.")})
    if len(numbered) > MAX_LINES:
        raise ArrangementRefused({"text": _(
            "Too many lines: %(count)d dates given, and a year has at most %(max)d days.",
            count=len(numbered), max=MAX_LINES)})

    days: list[ArrangementDay] = []
    seen: dict[date, int] = {}
    errors: dict[int, str] = {}
    for number, line in numbered:
        parts = line.split(maxsplit=2)
        day, error = _parse_date(parts[0])
        if error is None and day.year != year:
            error = _("%(date)s is not in %(year)d.", date=day.isoformat(), year=year)
        if error is None and day in seen:
            error = _("%(date)s is already given on line %(line)d.", date=day.isoformat(),
                      line=seen[day])
        if error is None and len(parts) < 2:
            error = _("Give the kind after the date: holiday (休) or workday (班).")
        kind = KINDS.get(parts[1].lower()) if error is None else None
        if error is None and kind is None:
            error = _("Unknown kind “%(kind)s”: write holiday (休, 放假) or workday (班, 上班).",
                      kind=parts[1][:20])
        if error is None and kind == DayKind.WORKDAY and day.weekday() < 5:
            error = _("%(date)s is a Monday-to-Friday day and already a working day: only a "
                      "Saturday or Sunday can be made a working day.", date=day.isoformat())
        name = parts[2].strip() if len(parts) > 2 else ""
        if error is None and len(name) > NAME_LENGTH:
            error = _("The name is too long: at most %(n)d characters.", n=NAME_LENGTH)
        if day is not None and day not in seen:
            seen[day] = number
        if error is not None:
            errors[number] = error
            continue
        days.append(ArrangementDay(day, kind, _stored_name(name), number))

    if errors:
        listed = dict(sorted(errors.items())[:MAX_LISTED_ERRORS])
        messages = {f"line {number}": message for number, message in listed.items()}
        if len(errors) > len(listed):
            messages["text"] = _("%(n)d more lines have errors; correct the ones listed and "
                                 "try again.", n=len(errors) - len(listed))
        raise ArrangementRefused(messages, listed)
    return days


def year_window(year: int) -> tuple[datetime, datetime]:
    """The first and the last moment of a year, in Asia/Shanghai, as UTC."""
    return (datetime.combine(date(year, 1, 1), time(0, 0), tzinfo=BEIJING_TIME),
            deadlines.end_of_day(date(year, 12, 31)))


def recount_clock(record, start: datetime, clock: tuple[str, str, str], unit: Unit | None,
                  before: deadlines.WorkingCalendar, after: deadlines.WorkingCalendar,
                  amount: int | None = None) -> tuple[date, date] | None:
    """Count one clock of a record again after a change of the calendar: `clock` names the
    record's deadline, warning start and completeness fields (see `deadlines.recount` for
    `unit` and `amount`). The old and new due dates when the deadline moved."""
    due_field, warn_field, complete_field = clock
    due, warn = getattr(record, due_field), getattr(record, warn_field)
    new = deadlines.recount(start, due, unit, before, after, amount)
    setattr(record, due_field, new.due_at)
    setattr(record, warn_field, deadlines.rewarn(warn, due, new.due_at, before, after))
    setattr(record, complete_field, new.complete)
    return (deadlines.local_date(due), new.due_date) if new.due_at != due else None


def recount_text(year: int, clock, moved: tuple[date, date]) -> str:
    """The history's words for a deadline the calendar moved (in Chinese, as the history
    is written)."""
    with force_locale(DOCUMENT_LOCALE):
        return _("%(clock)s deadline counted again with the %(year)d holiday arrangement: "
                 "%(old)s, now %(new)s.", clock=clock, year=year,
                 old=moved[0].isoformat(), new=moved[1].isoformat())


def _forget_cached_calendar() -> None:
    if has_app_context():
        g.pop("working_calendar", None)


def _recount(user, year: int, before: deadlines.WorkingCalendar) -> int:
    """Tell the workflows that the calendar changed; how many deadlines they moved."""
    return sum(moved or 0 for _receiver, moved in calendar_changed.send(
        user, year=year, before=before, after=load_calendar()))


def _year_bounds(year: int) -> sa.ColumnElement[bool]:
    return CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))


def import_year(user, year, text: str | None) -> ImportResult:
    """Replace a year's arrangement with the pasted one and mark the year as known. Flushes,
    never commits; any bad line refuses the whole import (ArrangementRefused)."""
    year = check_year(year)
    days = parse_arrangement(year, text)
    stored = [d for d in days if d.stored]
    before = load_calendar()

    values = {"source": f"entered by {user.username}"[:100], "updated_at": now_utc(),
              "updated_by_id": user.id}
    row = db.session.get(CalendarYear, year, with_for_update=True)
    if row is None:
        db.session.add(CalendarYear(year=year, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    try:
        db.session.flush()  # a second import of a new year waits here, then conflicts
    except IntegrityError:
        raise ConflictError() from None

    db.session.execute(sa.delete(CalendarDay).where(_year_bounds(year)),
                       execution_options={"synchronize_session": "fetch"})
    if stored:
        db.session.execute(sa.insert(CalendarDay), [
            {"day": d.day, "kind": d.kind, "name": d.name} for d in stored])
    db.session.flush()
    _forget_cached_calendar()
    moved = _recount(user, year, before)

    result = ImportResult(
        year=year,
        holidays=sum(d.kind == DayKind.HOLIDAY for d in stored),
        workdays=sum(d.kind == DayKind.WORKDAY for d in stored),
        weekend_holidays=sum(not d.stored for d in days), moved=moved,
    )
    record_event("calendar.import", actor=user, object_type="calendar_years", object_id=year,
                 details={"year": year, "holidays": result.holidays,
                          "workdays": result.workdays,
                          "weekend_holidays": result.weekend_holidays,
                          "moved": moved})
    return result


def remove_year(user, year) -> int:
    """Forget a year's arrangement: its deadlines count weekends only again, and say so. How
    many running deadlines moved."""
    year = check_year(year)
    row = db.session.get(CalendarYear, year, with_for_update=True)
    if row is None:
        raise OperationError(_("No arrangement is recorded for %(year)d.", year=year), 404)
    before = load_calendar()
    kinds = list(db.session.scalars(sa.select(CalendarDay.kind).where(_year_bounds(year))))
    db.session.execute(sa.delete(CalendarDay).where(_year_bounds(year)),
                       execution_options={"synchronize_session": "fetch"})
    db.session.delete(row)
    db.session.flush()
    _forget_cached_calendar()
    moved = _recount(user, year, before)
    record_event("calendar.remove", actor=user, object_type="calendar_years", object_id=year,
                 details={"year": year,
                          "holidays": sum(k == DayKind.HOLIDAY for k in kinds),
                          "workdays": sum(k == DayKind.WORKDAY for k in kinds),
                          "moved": moved})
    return moved


# --- reading ---------------------------------------------------------------------------------


def year_row(year: int) -> CalendarYear | None:
    return db.session.get(CalendarYear, year)


def known_years() -> list[int]:
    return list(db.session.scalars(sa.select(CalendarYear.year).order_by(CalendarYear.year)))


def days_of_year(year: int) -> list[CalendarDay]:
    return list(db.session.scalars(
        sa.select(CalendarDay).where(_year_bounds(year)).order_by(CalendarDay.day)))


def as_text(days: list[CalendarDay]) -> str:
    """A year's stored days in the import format, to correct and import again, in the user's
    language: "2026-10-10 班 国庆节"."""
    return "".join(f"{d.day.isoformat()} {KIND_WORDS[d.kind]}"
                   f"{' ' + holiday_name(d.name) if d.name else ''}\n" for d in days)


def year_spans(years: list[int]) -> list[tuple[int, int]]:
    """[2004, 2005, 2006, 2027] -> [(2004, 2006), (2027, 2027)]"""
    spans: list[tuple[int, int]] = []
    for year in sorted(years):
        if spans and spans[-1][1] == year - 1:
            spans[-1] = (spans[-1][0], year)
        else:
            spans.append((year, year))
    return spans


def years_without_calendar() -> list[tuple[int, int]]:
    """The years in which running deadlines fall (by their day, in Asia/Shanghai) and whose
    official arrangement is not entered, each with how many deadlines fall in it: those count
    weekends only until the year is entered. A count across agencies, naming no record.

    A few statements whatever the data: each clock's first and last deadline, then each clock's
    deadlines counted by year."""
    clocks = [clock for _receiver, answer in running_clocks.send(None) for clock in answer or ()]
    spans = []
    for due, running in clocks:
        low, high = db.session.execute(
            sa.select(sa.func.min(due), sa.func.max(due)).where(running)).one()
        if low is not None:
            spans.append((deadlines.local_date(low).year, deadlines.local_date(high).year))
    years = {year for low, high in spans for year in range(low, high + 1)}
    if not years:
        return []
    years -= set(db.session.scalars(sa.select(CalendarYear.year)
                                    .where(CalendarYear.year.in_(years))))
    years = sorted(years)
    if not years:
        return []
    counts = dict.fromkeys(years, 0)
    for due, running in clocks:
        row = db.session.execute(sa.select(*(
            sa.func.count().filter(due.between(*year_window(year))) for year in years))
            .where(running)).one()
        for year, n in zip(years, row, strict=True):
            counts[year] += n
    return [(year, n) for year, n in counts.items() if n]


def today() -> date:
    return datetime.now(BEIJING_TIME).date()


def calculate(start: datetime, amount: int, unit: Unit | str) -> deadlines.Deadline:
    """A deadline on the product's calendar."""
    return deadlines.deadline(start, amount, Unit(unit), load_calendar())
