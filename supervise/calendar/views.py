"""Calendar pages: the deadline calculator for users, the year's arrangement for the security
administrator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from supervise import policy
from supervise.accounts.models import User
from supervise.calendar import deadlines, operations
from supervise.calendar.deadlines import DayKind, Unit
from supervise.calendar.models import load_calendar
from supervise.calendar.operations import AMOUNT_MAX, MAX_YEAR, MIN_YEAR, ArrangementRefused
from supervise.database import BEIJING_TIME
from supervise.errors import InvalidInput, OperationError
from supervise.extensions import db
from supervise.money import whole_number
from supervise.policy import Permission
from supervise.web import current_actor

blueprint = Blueprint("calendar", __name__)

UNIT_LABELS = {
    Unit.WORKING_DAYS: _l("working days"),
    Unit.DAYS: _l("days"),
    Unit.MONTHS: _l("months"),
}

TIME_TEXT = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$", re.ASCII)


# --- the deadline calculator ----------------------------------------------------------------


@dataclass(frozen=True)
class Calculation:
    start: datetime
    amount: int
    unit: Unit
    result: deadlines.Deadline
    counting_from: date  # the first day counted
    last_day: date  # the day the period ends on before a day off moves it

    @property
    def moved(self) -> bool:
        return self.last_day != self.result.due_date

    @property
    def period_text(self) -> str:
        if self.unit == Unit.WORKING_DAYS:
            return ngettext("%(num)d working day", "%(num)d working days", self.amount)
        if self.unit == Unit.DAYS:
            return ngettext("%(num)d day", "%(num)d days", self.amount)
        return ngettext("%(num)d month", "%(num)d months", self.amount)

    @property
    def due_local(self) -> datetime:
        return self.result.due_at.astimezone(BEIJING_TIME)


def _read_calculator(form: dict) -> tuple[tuple[datetime, int, Unit] | None, dict]:
    errors: dict[str, str] = {}
    start_day = None
    try:
        start_day = date.fromisoformat(form["start_date"].strip())
    except ValueError:
        errors["start_date"] = _("Enter a date as YYYY-MM-DD.")
    else:
        if not MIN_YEAR <= start_day.year <= MAX_YEAR:
            errors["start_date"] = _("Choose a date from %(min)d to %(max)d.", min=MIN_YEAR,
                                     max=MAX_YEAR)
    start_time = time(0, 0)
    if form["start_time"].strip():
        match = TIME_TEXT.match(form["start_time"].strip())
        try:
            if match is None:
                raise ValueError
            start_time = time(*(int(part) for part in match.groups() if part is not None))
        except ValueError:
            errors["start_time"] = _("Enter a time as HH:MM.")
    amount = None
    try:
        amount = whole_number(form["amount"])
    except ValueError:
        errors["amount"] = _("Enter a whole number.")
    else:
        if not 1 <= amount <= AMOUNT_MAX:
            errors["amount"] = _("Enter a number from %(min)d to %(max)d.", min=1,
                                 max=AMOUNT_MAX)
    try:
        unit = Unit(form["unit"])
    except ValueError:
        unit = None
        errors["unit"] = _("Choose working days, days or months.")
    if errors:
        return None, errors
    return (datetime.combine(start_day, start_time, tzinfo=BEIJING_TIME), amount, unit), {}


def _calculate(start: datetime, amount: int, unit: Unit) -> Calculation:
    cal = load_calendar()
    result = deadlines.deadline(start, amount, unit, cal)
    first = deadlines.local_date(start) + timedelta(days=1)
    if unit == Unit.WORKING_DAYS:
        counting_from = deadlines.next_working_day(first, cal)
        last_day = result.due_date
    else:
        counting_from = first
        last_day = (deadlines.local_date(start) + timedelta(days=amount) if unit == Unit.DAYS
                    else deadlines.add_months_to_date(deadlines.local_date(start), amount))
    return Calculation(start, amount, unit, result, counting_from, last_day)


@blueprint.route("/calendar")
@policy.requires(Permission.CASE_CONTENT)
def calculator():
    """How long a period runs: the due date and time in Asia/Shanghai."""
    now = datetime.now(BEIJING_TIME)
    form = {
        "start_date": request.args.get("start_date", now.date().isoformat()),
        "start_time": request.args.get("start_time", now.strftime("%H:%M")),
        "amount": request.args.get("amount", ""),
        "unit": request.args.get("unit", Unit.WORKING_DAYS.value),
    }
    calculation, errors = None, {}
    if "amount" in request.args:
        parsed, errors = _read_calculator(form)
        if parsed is not None:
            calculation = _calculate(*parsed)
    return render_template(
        "calendar/calculator.html", form=form, errors=errors, calculation=calculation,
        units=UNIT_LABELS, known=operations.year_spans(operations.known_years()),
        format_date=format_date), 400 if errors else 200


# --- the security administrator's calendar --------------------------------------------------


def _runs(days: list[date]) -> str:
    """[16, 17, 18, 19, 20, 23] -> "16–20, 23" (days of one month)."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day.day - 1:
            runs[-1].append(day.day)
        else:
            runs.append([day.day])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _months(year: int, days) -> list[dict]:
    months = []
    for month in range(1, 13):
        in_month = [d for d in days if d.day.month == month]
        holidays: dict[str, list[date]] = {}
        for d in in_month:
            if d.kind == DayKind.HOLIDAY:
                holidays.setdefault(d.name, []).append(d.day)
        months.append({
            "label": format_date(date(year, month, 1), "LLLL"),
            "holidays": [(operations.holiday_name(name), _runs(ds), len(ds))
                         for name, ds in holidays.items()],
            "workdays": [(d.day, format_date(d.day, "EEEE"), operations.holiday_name(d.name))
                         for d in in_month if d.kind == DayKind.WORKDAY],
        })
    return months


def _working_days_in(year: int) -> int:
    cal = load_calendar()
    day, count = date(year, 1, 1), 0
    while day.year == year:
        count += cal.is_working_day(day)
        day += timedelta(days=1)
    return count


def _render_year(year: int, *, text: str | None = None, refused: ArrangementRefused | None = None,
                 remove_error: str | None = None, status: int = 200):
    row = operations.year_row(year)
    days = operations.days_of_year(year)
    updated_by = db.session.get(User, row.updated_by_id) if row and row.updated_by_id else None
    line_errors = sorted((refused.lines if refused else {}).items())
    other_errors = [message for key, message in (refused.errors if refused else {}).items()
                    if not key.startswith("line ")]
    return render_template(
        "calendar/year.html", year=year, row=row, updated_by=updated_by,
        months=_months(year, days),
        holiday_count=sum(d.kind == DayKind.HOLIDAY for d in days),
        workday_count=sum(d.kind == DayKind.WORKDAY for d in days),
        working_days=_working_days_in(year),
        known=operations.year_spans(operations.known_years()),
        text=operations.as_text(days) if text is None else text,
        line_errors=line_errors, other_errors=other_errors, remove_error=remove_error,
        previous_year=year - 1 if year > MIN_YEAR else None,
        next_year=year + 1 if year < MAX_YEAR else None,
        this_year=operations.today().year,
        missing_years=operations.years_without_calendar(),
    ), status


def _year_from_args() -> int:
    if "year" not in request.args:
        return operations.today().year
    try:
        return operations.check_year(request.args["year"])
    except InvalidInput as exc:
        raise OperationError(exc.errors["year"], 400) from None


@blueprint.route("/settings/calendar", methods=["GET", "POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def arrangement():
    """A year's official arrangement: view it, and import it as one date per line."""
    if request.method == "GET":
        return _render_year(_year_from_args())
    text = request.form.get("text", "")
    try:
        result = operations.import_year(current_actor(), request.form.get("year"), text)
    except ArrangementRefused as exc:
        db.session.rollback()
        try:
            year = operations.check_year(request.form.get("year"))
        except InvalidInput:
            year = operations.today().year
        return _render_year(year, text=text, refused=exc, status=400)
    except OperationError:
        db.session.rollback()
        raise
    db.session.commit()
    flash(_("The arrangement for %(year)d is saved. Holidays from Monday to Friday: "
            "%(holidays)d; weekend working days: %(workdays)d.", year=result.year,
            holidays=result.holidays, workdays=result.workdays), "success")
    if result.moved:
        flash(_("Running deadlines counted again with this arrangement: %(n)d.",
                n=result.moved), "success")
    return redirect(url_for("calendar.arrangement", year=result.year))


@blueprint.route("/settings/calendar/remove", methods=["POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def remove():
    """Forget a year's arrangement (entered by mistake): its deadlines count weekends only."""
    try:
        year = operations.check_year(request.form.get("year"))
    except InvalidInput as exc:
        raise OperationError(exc.errors["year"], 400) from None
    if request.form.get("confirm") != "1":
        return _render_year(year, remove_error=_("Tick the box to confirm."), status=400)
    try:
        moved = operations.remove_year(current_actor(), year)
    except OperationError:
        db.session.rollback()
        raise
    db.session.commit()
    flash(_("The arrangement for %(year)d is removed. Deadlines in that year now count "
            "weekends only.", year=year), "success")
    if moved:
        flash(_("Running deadlines counted again with this arrangement: %(n)d.", n=moved),
              "success")
    return redirect(url_for("calendar.arrangement", year=year))
