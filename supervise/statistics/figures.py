"""The figures leaders report (统计口径, domain.md), computed in SQL from the live records and
scoped by what the reader may see: referrals its agency is a party to (the sent side and the
received side apart), rectification items its agency issued, findings through the access table.

Every countable figure is a named clause (`REFERRAL_FIGURES`, `RECTIFICATION_FIGURES`,
`FINDING_FIGURES`, and the families `kind:<value>`, `state:<value>`, `disposition:<value>`,
`project_year:<year>`). The figures count with those clauses (COUNT … FILTER, grouped), and
`records(user, subject, figure, q)` answers the query of exactly the records one figure counts,
so that a figure and the list it links to can never disagree. A row of a breakdown by unit or
category carries `filters` instead: the same figure, with the query narrowed to that unit or
category (`q.narrowed(**row.filters)`).

What belongs to a period (inclusive dates, Asia/Shanghai):
- a referral: first sent in it (`first_sent_at`). A returned referral revised as a new version
  (`previous_id`) is one matter: the items (`sent`, by kind, by state, the answer clock, the open
  items, chasers, dispositions) count each chain once, as its latest version that was sent (to
  the receiving agency, on the received side: a revision sent elsewhere leaves the first
  receiver's record of what it returned). The acknowledgement clock is the receiver's reply to
  each sending, so `sendings` and the acknowledgement figures count every version sent.
- a rectification item: issued in it (`issued_at`); `signed_off_in_period` counts the items
  signed off in it, whenever issued.
- a finding: recorded in it (`created_at`); the figures are of the agency's own findings,
  `shared_with_us` counts those other agencies shared with it.

Rates (`Rate`) have no value where there is nothing to count (the page shows "—"). Amounts are
exact decimals, summed in cents as the lists sum them. Ages and durations are given in working
days (the product's calendar, `supervise.calendar`) and in calendar days, both counted between
dates in Asia/Shanghai: acknowledged on the day of sending is 0 days, on the next working day 1
working day.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from supervise.accounts.models import Agency, AgencyKind
from supervise.calendar.deadlines import WorkingCalendar, local_date
from supervise.calendar.models import load_calendar
from supervise.database import BEIJING_TIME, DAY_ZERO, beijing_day, beijing_month, now_utc
from supervise.extensions import db
from supervise.findings.models import Finding, FindingAccess, FindingStatus, Share
from supervise.money import CENT
from supervise.policy import findings as finding_access
from supervise.policy import projects as project_access
from supervise.policy import rectifications as rectification_access
from supervise.policy import referrals as referral_access
from supervise.projects.models import Project
from supervise.rectifications import queries as rectification_queries
from supervise.rectifications.models import (
    Rectification,
    RectificationReport,
    RectificationState,
    RectificationStep,
)
from supervise.rectifications.workflow import Action as RAction
from supervise.referrals import queries as referral_queries
from supervise.referrals.models import (
    CitedFinding,
    Disposition,
    Extension,
    ExtensionDecision,
    Referral,
    ReferralKind,
    ReferralState,
    TimelineEntry,
    referral_findings,
)
from supervise.referrals.workflow import DELIVERED, Action
from supervise.settings.models import Category
from supervise.web import bad_text

S = ReferralState
R = RectificationState

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_RANGE_YEARS = 10  # a date range spans at most this many years
ARGS = ("year", "quarter", "start", "end", "unit", "category", "receiver", "project")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{16}$", re.ASCII)
CODE_LIMIT = 40

# The subjects `records` answers for, each the records one table of figures counts.
REFERRALS_SENT, REFERRALS_RECEIVED = "referrals_sent", "referrals_received"
RECTIFICATIONS, FINDINGS = "rectifications", "findings"
SUBJECTS = (REFERRALS_SENT, REFERRALS_RECEIVED, RECTIFICATIONS, FINDINGS)
SIDES = {REFERRALS_SENT: "sent", REFERRALS_RECEIVED: "received"}


# --- the query: period and filters ---------------------------------------------------------


def _start_of(day: date) -> datetime:
    """00:00 of that day in Asia/Shanghai, as UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=BEIJING_TIME).astimezone(UTC)


def _quarter_dates(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, last - timedelta(days=1)


@dataclass(frozen=True)
class StatisticsQuery:
    """What a table of figures counts: a period of whole days (Asia/Shanghai, both ends
    included), given as a year, a quarter of a year or a range of dates, and filters by the
    identifiers the lists use: `unit` an audited unit's code, `category` a category's code,
    `receiver` a receiving agency's code (referrals only), `project` a project's public id.

    `from_args` never raises: input it cannot take is left out (the period falls back to the
    current year) and said in `errors`, field by field, in the reader's language."""

    start: date
    end: date
    year: int | None = None
    quarter: int | None = None
    unit: str = ""
    category: str = ""
    receiver: str = ""
    project: str = ""
    errors: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    # -- making one

    @classmethod
    def for_year(cls, year: int, **filters) -> StatisticsQuery:
        return cls(date(year, 1, 1), date(year, 12, 31), year=year, **filters)

    @classmethod
    def for_quarter(cls, year: int, quarter: int, **filters) -> StatisticsQuery:
        first, last = _quarter_dates(year, quarter)
        return cls(first, last, year=year, quarter=quarter, **filters)

    @classmethod
    def from_args(cls, args: Mapping[str, Any], today: date) -> StatisticsQuery:
        """From query arguments (a page's or the API's): `year=2026`, `year=2026&quarter=1`, or
        `start=2026-01-01&end=2026-06-30`; by default the current year. Argument names not in
        ARGS are not read here (the API refuses them before)."""
        errors: dict[str, str] = {}
        raw = {}
        for name in ARGS:
            value = args.get(name)
            value = "" if value is None else str(value).strip()
            if bad_text(value) or len(value) > 100:
                errors[name] = _("This value cannot be read.")
                value = ""
            raw[name] = value

        year = quarter = None
        if raw["year"]:
            year = _year(raw["year"])
            if year is None:
                errors["year"] = _("Enter a year from %(first)d to %(last)d, such as %(year)d.",
                                   first=MIN_YEAR, last=MAX_YEAR, year=today.year)
        if raw["quarter"]:
            if raw["quarter"] in ("1", "2", "3", "4"):
                quarter = int(raw["quarter"])
            else:
                errors["quarter"] = _("The quarter is 1, 2, 3 or 4.")
        start = end = None
        if raw["start"] or raw["end"]:
            start, end = _day(raw["start"]), _day(raw["end"])
            if not (raw["start"] and raw["end"]):
                errors["start" if not raw["start"] else "end"] = _(
                    "Give both the first and the last day.")
            elif start is None or end is None:
                errors["start" if start is None else "end"] = _(
                    "Give the day as YYYY-MM-DD, from %(first)d to %(last)d.",
                    first=MIN_YEAR, last=MAX_YEAR)
            elif end < start:
                errors["end"] = _("The last day is before the first.")
            elif end >= _years_later(start, MAX_RANGE_YEARS):
                errors["end"] = _("A period spans at most %(n)d years.", n=MAX_RANGE_YEARS)
            if year is not None or quarter is not None:
                errors.setdefault("start", _("Choose a year (and quarter) or a range of days, "
                                             "not both."))
            if errors.keys() & {"start", "end"}:
                start = end = None

        filters = {name: raw[name] for name in ("unit", "category", "receiver", "project")}
        for name, message in _check_filters(filters).items():
            errors[name] = message
            filters[name] = ""

        if start is not None and end is not None:
            return cls(start, end, **filters, errors=errors)
        if year is None:
            if "year" in errors or "start" in errors or "end" in errors:
                quarter = None  # the safe default is the whole current year
            year = today.year
        if quarter is not None and "year" not in errors:
            return cls.for_quarter(year, quarter, **filters, errors=errors)
        return cls.for_year(year, **filters, errors=errors)

    # -- reading one

    @property
    def messages(self) -> list[str]:
        return list(self.errors.values())

    @property
    def start_at(self) -> datetime:
        """The first moment of the period, UTC (included)."""
        return _start_of(self.start)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period, UTC (excluded)."""
        return _start_of(self.end + timedelta(days=1))

    @property
    def filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in ("unit", "category", "receiver",
                                                       "project") if getattr(self, name)}

    @property
    def label(self) -> str:
        """The period as a heading names it."""
        if self.quarter is not None:
            return _("Q%(quarter)d %(year)d", quarter=self.quarter, year=self.year)
        if self.year is not None:
            return _("Year %(year)d", year=self.year)
        return _("%(start)s to %(end)s", start=self.start.isoformat(), end=self.end.isoformat())

    def to_args(self) -> dict[str, str]:
        """The canonical query arguments of this query (links, downloads); `from_args` of them
        gives the same query."""
        if self.year is not None:
            args = {"year": str(self.year)}
            if self.quarter is not None:
                args["quarter"] = str(self.quarter)
        else:
            args = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        return {**args, **self.filters}

    def narrowed(self, **filters: str) -> StatisticsQuery:
        """The same period with these filters set (a row of a breakdown: `row.filters`)."""
        unknown = set(filters) - {"unit", "category", "receiver", "project"}
        if unknown:
            raise TypeError(f"not a filter: {sorted(unknown)}")
        return replace(self, **filters, errors={})

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of every month the period touches, in order."""
        found, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            found.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    def for_month(self, year: int, month: int) -> StatisticsQuery:
        """The part of the period in that month, with the same filters (a trend's drill-down)."""
        first = max(self.start, date(year, month, 1))
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        last = min(self.end, following - timedelta(days=1))
        return StatisticsQuery(first, last, **self.filters)


def _year(text: str) -> int | None:
    if text.isascii() and text.isdigit() and MIN_YEAR <= int(text) <= MAX_YEAR:
        return int(text)
    return None


def _day(text: str) -> date | None:
    if not ISO_DATE.match(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_filters(filters: dict[str, str]) -> dict[str, str]:
    """The filters that name nothing that exists, with why (one small lookup each)."""
    errors = {}
    for name in ("unit", "category", "receiver"):
        if len(filters[name]) > CODE_LIMIT:
            errors[name] = _("Too long: at most %(n)d characters.", n=CODE_LIMIT)
    if filters["project"] and not PUBLIC_ID.match(filters["project"]):
        errors["project"] = _("Unknown project.")
    if filters["unit"] and "unit" not in errors and db.session.scalar(
            sa.select(Agency.id).where(Agency.code == filters["unit"],
                                       Agency.kind == AgencyKind.AUDITED_UNIT)) is None:
        errors["unit"] = _("Unknown audited unit.")
    if filters["category"] and "category" not in errors and db.session.scalar(
            sa.select(Category.code).where(Category.code == filters["category"])) is None:
        errors["category"] = _("Unknown category.")
    if filters["receiver"] and "receiver" not in errors and db.session.scalar(
            sa.select(Agency.id).where(Agency.code == filters["receiver"],
                                       Agency.kind != AgencyKind.AUDITED_UNIT)) is None:
        errors["receiver"] = _("Unknown receiving agency.")
    return errors


# --- values ---------------------------------------------------------------------------------

RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Rate:
    """numerator / denominator; `value` None when there is nothing to count (shown as "—",
    never as 0 %). Counts give ints, amounts Decimals; `value` is a Decimal of 4 places."""

    numerator: int | Decimal
    denominator: int | Decimal

    @property
    def value(self) -> Decimal | None:
        if not self.denominator:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(
            RATE_PLACES, rounding=ROUND_HALF_UP)

    @property
    def percent(self) -> Decimal | None:
        """The value in per cent, one decimal (66.7)."""
        value = self.value
        if value is None:
            return None
        return (Decimal(self.numerator) * 100 / Decimal(self.denominator)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Spread:
    """How long, over `count` records: the median and the 90th percentile (nearest rank: the
    smallest value that at least 90 % of them do not exceed); None when there is none."""

    count: int
    median: Decimal | None
    p90: Decimal | None

    @classmethod
    def of(cls, values: Iterable[int]) -> Spread:
        ordered = sorted(values)
        n = len(ordered)
        if not n:
            return cls(0, None, None)
        middle = n // 2
        median = Decimal(ordered[middle]) if n % 2 else \
            Decimal(ordered[middle - 1] + ordered[middle]) / 2
        return cls(n, median, Decimal(ordered[math.ceil(0.9 * n) - 1]))


@dataclass(frozen=True)
class Durations:
    """The same durations in working days and in calendar days."""

    working_days: Spread
    calendar_days: Spread


@dataclass(frozen=True)
class Count:
    """One line of a breakdown: `key` the value counted by (a kind, a state...), `figure` the
    name `records` takes for exactly these records."""

    key: str
    label: str
    figure: str
    count: int


@dataclass(frozen=True)
class ReferralSide:
    """The figures of one side: the referrals the agency sent, or those sent to it."""

    subject: str  # REFERRALS_SENT or REFERRALS_RECEIVED, for `records`
    side: str  # "sent" or "received"
    counts: Mapping[str, int]  # every name of REFERRAL_FIGURES
    by_kind: list[Count]  # every kind, zeros included
    by_state: list[Count]  # the states a sent referral can be in, zeros included
    by_disposition: list[Count]  # the dispositions recorded, of the answered items
    acknowledge_rate: Rate  # ack_on_time / (ack_on_time + ack_late + ack_overdue)
    answer_rate: Rate  # answer_on_time / (answer_on_time + answer_late + answer_overdue)
    to_acknowledge: Durations  # sending to acknowledgement or return, per sending acted on
    to_answer: Durations  # sending to answer, per item answered
    open_by_age: list[Count]  # open_0_30, open_31_90, open_91_180, open_over_180
    chasers: int  # chasers sent to the items (the sender's and the platform's)
    chasers_per_item: Rate  # chasers / sent


@dataclass(frozen=True)
class ReferralFigures:
    query: StatisticsQuery
    now: datetime
    sent: ReferralSide
    received: ReferralSide


@dataclass(frozen=True)
class RectificationRow:
    """A unit's or a category's line: `filters` narrows the query to it (`q.narrowed`)."""

    key: str
    label: str
    filters: Mapping[str, str]
    issued: int
    signed_off: int
    rate: Rate  # signed_off / issued
    amount_involved: Decimal
    amount_recovered: Decimal
    amount_rate: Rate  # amount_recovered / amount_involved


@dataclass(frozen=True)
class RectificationFigures:
    query: StatisticsQuery
    now: datetime
    counts: Mapping[str, int]  # every name of RECTIFICATION_FIGURES
    rate: Rate  # 整改率: signed_off / issued
    amount_involved: Decimal
    amount_recovered: Decimal  # recovered or returned, as the unit's reports give it
    amount_rate: Rate  # 金额整改率: amount_recovered / amount_involved
    rules_reports: int  # reports that made or mended rules
    to_sign_off: Durations  # issue to sign-off, per item signed off
    by_unit: list[RectificationRow]
    by_category: list[RectificationRow]


@dataclass(frozen=True)
class FindingRow:
    key: str
    label: str
    figure: str  # what `records` takes for this line (with `filters`)
    filters: Mapping[str, str]
    count: int
    amount: Decimal


@dataclass(frozen=True)
class FindingFigures:
    query: StatisticsQuery
    counts: Mapping[str, int]  # every name of FINDING_FIGURES
    amount: Decimal  # of the findings recorded
    by_category: list[FindingRow]
    by_unit: list[FindingRow]
    by_year: list[FindingRow]  # by the project's year (a finding without one: recorded)


@dataclass(frozen=True)
class Month:
    """One month of a trend; `query` is that month's part of the period, for the drill-down
    (findings `recorded`, referrals `sent`, rectifications `issued` and
    `signed_off_in_period`)."""

    year: int
    month: int
    query: StatisticsQuery
    findings_recorded: int
    referrals_sent: int
    referrals_received: int
    rectifications_issued: int
    rectifications_signed_off: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class AnnualFigures:
    """What an annual work summary quotes, for the user's agency, of one calendar year (the
    period figures of `StatisticsQuery.for_year(year)`; projects by their year)."""

    year: int
    query: StatisticsQuery
    projects: int
    findings: int
    amount_involved: Decimal  # of the findings recorded
    referrals_sent: int
    referrals_answered: int
    referral_results: list[Count]  # the answered referrals by disposition
    rectifications_issued: int
    rectifications_signed_off: int
    rectification_rate: Rate
    rectification_amount_involved: Decimal
    amount_recovered: Decimal
    amount_rate: Rate
    rules_reports: int  # reports that made or mended rules
    rules_items: int  # items with such a report


# --- figures as clauses ---------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a figure's clause may read: the reader, the query, the moment, the side."""

    user: Any
    q: StatisticsQuery
    now: datetime
    side: str = ""

    @property
    def today(self) -> date:
        return local_date(self.now)


@dataclass(frozen=True)
class Figure:
    label: Any
    clause: Callable[[Context], sa.ColumnElement]


class UnknownFigure(LookupError):
    """`records` was asked for a subject or a figure that does not exist (a page answers 404)."""


ANSWER_RUNNING = referral_queries.ANSWER_RUNNING
# The states a sent referral can be in.
SENT_STATES = (S.SENT, S.ACKNOWLEDGED, S.IN_HANDLING, S.ANSWERED, S.CLOSED, S.RETURNED,
               S.WITHDRAWN)


def _returned_at():
    """When the receiver returned the referral (its `return` step)."""
    return sa.select(sa.func.min(TimelineEntry.at)).where(
        TimelineEntry.referral_id == Referral.id,
        TimelineEntry.action == Action.RETURN.value).scalar_subquery()


def acted_at():
    """When the receiver acted on a sending: acknowledged it, or returned it."""
    return sa.case((Referral.acknowledged_at.is_not(None), Referral.acknowledged_at),
                   (Referral.state == S.RETURNED, _returned_at()), else_=None)


_LATER = aliased(Referral, name="later_version")


def _item(ctx: Context):
    """The latest sent version of its chain, as this side knows it. Only a returned referral is
    ever revised, and it stays returned: the revision is looked for only then (so the figures
    of open or answered items never run the subquery)."""
    later = _LATER
    revision = sa.select(later.id).where(later.previous_id == Referral.id,
                                         later.first_sent_at.is_not(None))
    if ctx.side == "received":
        revision = revision.where(later.receiver_agency_id == Referral.receiver_agency_id)
    # A scalar subquery, not NOT EXISTS: inside an OR, PostgreSQL would hash every sent
    # referral for each figure that asks; this probes the unique index on previous_id for the
    # returned ones alone.
    return sa.or_(Referral.state != S.RETURNED,
                  revision.limit(1).scalar_subquery().is_(None))


def _sent_before(days: int, ctx: Context):
    """Sent before the start of the day `days` days before today."""
    return Referral.sent_at < _start_of(ctx.today - timedelta(days=days))


def _open(ctx: Context):
    return sa.and_(_item(ctx), Referral.state.in_(ANSWER_RUNNING))


def _acted(on_time: bool):
    def clause(ctx):
        at = acted_at()
        return sa.and_(at.is_not(None),
                       at <= Referral.acknowledge_by if on_time else at > Referral.acknowledge_by)
    return clause


def _answered(on_time: bool):
    def clause(ctx):
        return sa.and_(_item(ctx), Referral.answered_at.is_not(None),
                       Referral.answered_at <= Referral.answer_by if on_time
                       else Referral.answered_at > Referral.answer_by)
    return clause


REFERRAL_FIGURES: dict[str, Figure] = {
    # Every version sent in the period; the acknowledgement clock runs on each.
    "sendings": Figure(_l("Sendings"), lambda ctx: sa.true()),
    "sent": Figure(_l("Referrals"), _item),
    "ack_on_time": Figure(_l("Acknowledged or returned on time"), _acted(True)),
    "ack_late": Figure(_l("Acknowledged or returned late"), _acted(False)),
    "ack_overdue": Figure(_l("Acknowledgement overdue"), lambda ctx: sa.and_(
        Referral.state == S.SENT, Referral.acknowledge_by < ctx.now)),
    "ack_waiting": Figure(_l("Awaiting acknowledgement, not yet due"), lambda ctx: sa.and_(
        Referral.state == S.SENT, Referral.acknowledge_by >= ctx.now)),
    "acknowledged": Figure(_l("Acknowledged"),
                           lambda ctx: Referral.acknowledged_at.is_not(None)),
    "returned": Figure(_l("Returned"), lambda ctx: Referral.state == S.RETURNED),
    "withdrawn": Figure(_l("Withdrawn"), lambda ctx: Referral.state == S.WITHDRAWN),
    "answered": Figure(_l("Answered"), lambda ctx: sa.and_(
        _item(ctx), Referral.answered_at.is_not(None))),
    "answer_on_time": Figure(_l("Answered on time"), _answered(True)),
    "answer_late": Figure(_l("Answered late"), _answered(False)),
    "answer_overdue": Figure(_l("Answer overdue"), lambda ctx: sa.and_(
        _open(ctx), Referral.answer_by < ctx.now)),
    "extended": Figure(_l("Extension approved"), lambda ctx: sa.and_(
        _item(ctx), Referral.extensions.any(Extension.decision == ExtensionDecision.APPROVED))),
    "chased": Figure(_l("Chased"), lambda ctx: sa.and_(
        _item(ctx), Referral.entries.any(TimelineEntry.action == Action.CHASE.value))),
    "open": Figure(_l("Open"), _open),
    "open_0_30": Figure(_l("Open up to 30 days"), lambda ctx: sa.and_(
        _open(ctx), ~_sent_before(30, ctx))),
    "open_31_90": Figure(_l("Open 31 to 90 days"), lambda ctx: sa.and_(
        _open(ctx), _sent_before(30, ctx), ~_sent_before(90, ctx))),
    "open_91_180": Figure(_l("Open 91 to 180 days"), lambda ctx: sa.and_(
        _open(ctx), _sent_before(90, ctx), ~_sent_before(180, ctx))),
    "open_over_180": Figure(_l("Open more than 180 days"), lambda ctx: sa.and_(
        _open(ctx), _sent_before(180, ctx))),
}
AGE_BUCKETS = ("open_0_30", "open_31_90", "open_91_180", "open_over_180")


def _issued(ctx: Context):
    return sa.and_(Rectification.issued_at >= ctx.q.start_at,
                   Rectification.issued_at < ctx.q.end_at)


def _rect_overdue(ctx: Context):
    return rectification_queries.overdue_clause(ctx.now)


RECTIFICATION_FIGURES: dict[str, Figure] = {
    "issued": Figure(_l("Issued for rectification"), _issued),
    "signed_off": Figure(_l("Signed off"), lambda ctx: sa.and_(
        _issued(ctx), Rectification.state == R.SIGNED_OFF)),
    # Not signed off: overdue (the report-by date passed with no final report), or in progress.
    "in_progress": Figure(_l("In progress"), lambda ctx: sa.and_(
        _issued(ctx), Rectification.state != R.SIGNED_OFF, ~_rect_overdue(ctx))),
    "overdue": Figure(_l("Overdue"), lambda ctx: sa.and_(_issued(ctx), _rect_overdue(ctx))),
    "sent_back": Figure(_l("Sent back for rework"), lambda ctx: sa.and_(
        _issued(ctx), Rectification.steps.any(
            RectificationStep.action == RAction.SEND_BACK.value))),
    "with_rules": Figure(_l("Rules made or mended"), lambda ctx: sa.and_(
        _issued(ctx), Rectification.reports.any(
            sa.func.trim(RectificationReport.rules) != ""))),
    # Signed off in the period, whenever issued (the trend's second line).
    "signed_off_in_period": Figure(_l("Signed off in the period"), lambda ctx: sa.and_(
        Rectification.signed_off_at >= ctx.q.start_at,
        Rectification.signed_off_at < ctx.q.end_at)),
}


def _own():
    return FindingAccess.own.is_(True)


def _shared(ctx: Context):
    return sa.exists().where(Share.finding_id == FindingAccess.finding_id,
                             Share.withdrawn_at.is_(None))


def _referred(ctx: Context):
    """Cited by a referral that was sent and that the reader is a party to."""
    return sa.exists().where(
        referral_findings.c.finding_id == FindingAccess.finding_id,
        referral_findings.c.referral_id == Referral.id, Referral.first_sent_at.is_not(None),
        Referral.state.in_(DELIVERED), referral_access.visible_referrals_clause(ctx.user))


def _rectified(ctx: Context):
    return sa.exists().where(Rectification.finding_id == FindingAccess.finding_id,
                             Rectification.owner_agency_id == ctx.user.agency_id)


FINDING_FIGURES: dict[str, Figure] = {
    "recorded": Figure(_l("Findings recorded"), lambda ctx: _own()),
    "issued": Figure(_l("Issued"), lambda ctx: sa.and_(
        _own(), FindingAccess.status == FindingStatus.ISSUED)),
    "shared": Figure(_l("Shared"), lambda ctx: sa.and_(_own(), _shared(ctx))),
    "referred": Figure(_l("Referred"), lambda ctx: sa.and_(_own(), _referred(ctx))),
    "rectification": Figure(_l("Issued for rectification"), lambda ctx: sa.and_(
        _own(), _rectified(ctx))),
    "shared_with_us": Figure(_l("Shared with us"), lambda ctx: FindingAccess.own.is_(False)),
}

# Figures named with a value: `kind:clue`, `state:answered`, `disposition:case_opened` (of the
# referral items), `project_year:2025` (of the findings recorded).
FAMILIES = {
    "referrals": {"kind": ReferralKind, "state": ReferralState, "disposition": Disposition},
    FINDINGS: {"project_year": None},
}


def _family_clause(subject: str, name: str, ctx: Context):
    family, _sep, value = name.partition(":")
    if subject in SIDES:
        enum = FAMILIES["referrals"].get(family)
        if enum is None or value not in {m.value for m in enum}:
            return None
        if family == "kind":
            return sa.and_(_item(ctx), Referral.kind == ReferralKind(value))
        if family == "state":
            return sa.and_(_item(ctx), Referral.state == ReferralState(value))
        return sa.and_(_item(ctx), Referral.answered_at.is_not(None),
                       Referral.disposition == Disposition(value))
    if subject == FINDINGS and family == "project_year":
        year = _year(value)
        return None if year is None else sa.and_(_own(), FindingAccess.year == year)
    return None


def figure_clause(subject: str, name: str, ctx: Context) -> sa.ColumnElement:
    """The clause of a figure of a subject; UnknownFigure for none."""
    table = {REFERRALS_SENT: REFERRAL_FIGURES, REFERRALS_RECEIVED: REFERRAL_FIGURES,
             RECTIFICATIONS: RECTIFICATION_FIGURES, FINDINGS: FINDING_FIGURES}.get(subject)
    if table is None:
        raise UnknownFigure(subject)
    if name in table:
        return table[name].clause(ctx)
    clause = _family_clause(subject, name, ctx) if ":" in name else None
    if clause is None:
        raise UnknownFigure(name)
    return clause


def figure_label(subject: str, name: str) -> str:
    """What a list of a figure's records is headed with."""
    table = {REFERRALS_SENT: REFERRAL_FIGURES, REFERRALS_RECEIVED: REFERRAL_FIGURES,
             RECTIFICATIONS: RECTIFICATION_FIGURES, FINDINGS: FINDING_FIGURES}.get(subject, {})
    if name in table:
        return str(table[name].label)
    family, _sep, value = name.partition(":")
    enum = FAMILIES["referrals"].get(family) if subject in SIDES else None
    if enum is not None and value in {m.value for m in enum}:
        return enum(value).label
    if subject == FINDINGS and family == "project_year" and _year(value) is not None:
        return _("Project year %(year)d", year=int(value))
    raise UnknownFigure(name)


# --- the records behind the figures ---------------------------------------------------------


def _agency_id(code: str):
    return sa.select(Agency.id).where(Agency.code == code).scalar_subquery()


def _project_id(public_id: str):
    return sa.select(Project.id).where(Project.public_id == public_id).scalar_subquery()


def referral_base(ctx: Context) -> list:
    """The referrals of one side sent in the period, narrowed by the filters: the unit, the
    category and the project of a finding the referral cites (as it was sent)."""
    user, q = ctx.user, ctx.q
    conditions = [referral_access.visible_referrals_clause(user),
                  referral_queries.side_clause(user, ctx.side),
                  Referral.state.in_(DELIVERED),
                  Referral.first_sent_at >= q.start_at, Referral.first_sent_at < q.end_at]
    if q.receiver:
        conditions.append(Referral.receiver_agency_id == _agency_id(q.receiver))
    cited = []
    if q.unit:
        cited.append(CitedFinding.unit_id == _agency_id(q.unit))
    if q.category:
        cited.append(CitedFinding.category_code == q.category)
    if q.project:
        cited.append(CitedFinding.finding.has(Finding.project_id == _project_id(q.project)))
    if cited:
        conditions.append(Referral.cited.any(sa.and_(*cited)))
    return conditions


# An item's finding as the access table holds it for the issuing agency (which always reads its
# own findings): the category and the project from a small row, not from the finding's.
ITEM_FINDING = (FindingAccess, sa.and_(FindingAccess.agency_id == Rectification.owner_agency_id,
                                      FindingAccess.finding_id == Rectification.finding_id))


def _with_finding(query: sa.Select, q: StatisticsQuery) -> sa.Select:
    """A query of items joined to their findings only where a filter reads the finding (its
    category, its project): a period's thousands of items without a lookup each."""
    if q.category or q.project:
        return query.join(*ITEM_FINDING)
    return query


def rectification_base(ctx: Context) -> list:
    """The items the reader's agency issued, narrowed by the filters (the category and the
    project are the finding's); the period is each figure's own (issued, or signed off)."""
    q = ctx.q
    conditions = [rectification_access.visible_rectifications_clause(ctx.user)]
    if q.unit:
        conditions.append(Rectification.unit_id == _agency_id(q.unit))
    if q.category:
        conditions.append(FindingAccess.category_code == q.category)
    if q.project:
        conditions.append(FindingAccess.project_id == _project_id(q.project))
    return conditions


def finding_base(ctx: Context) -> list:
    """The reader's agency's rows of the access table recorded in the period, narrowed as the
    findings list narrows them."""
    q = ctx.q
    conditions = [finding_access.visible_access_clause(ctx.user),
                  FindingAccess.created_at >= q.start_at, FindingAccess.created_at < q.end_at]
    if q.unit:
        conditions.append(FindingAccess.unit_id == _agency_id(q.unit))
    if q.category:
        conditions.append(FindingAccess.category_code == q.category)
    if q.project:
        conditions.append(FindingAccess.project_id == _project_id(q.project))
    return conditions


def _context(user, subject: str, q: StatisticsQuery, now: datetime | None) -> Context:
    return Context(user, q, now or now_utc(), SIDES.get(subject, ""))


def records(user, subject: str, figure: str, q: StatisticsQuery,
            now: datetime | None = None) -> sa.Select:
    """The query of exactly the records `figure` of `subject` counts, unsorted: Referral rows
    for the referral subjects, Rectification rows, Finding rows. UnknownFigure for a subject
    or figure that does not exist."""
    if subject not in SUBJECTS:
        raise UnknownFigure(subject)
    ctx = _context(user, subject, q, now)
    clause = figure_clause(subject, figure, ctx)
    if subject in SIDES:
        return sa.select(Referral).where(*referral_base(ctx), clause)
    if subject == RECTIFICATIONS:
        return (sa.select(Rectification).join(*ITEM_FINDING)
                .where(*rectification_base(ctx), clause))
    return (sa.select(Finding).select_from(FindingAccess)
            .join(Finding, Finding.id == FindingAccess.finding_id)
            .where(*finding_base(ctx), clause))


def count_records(user, subject: str, figure: str, q: StatisticsQuery,
                  now: datetime | None = None) -> int:
    """How many records `records` answers (a list's total)."""
    query = records(user, subject, figure, q, now).order_by(None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(query))


# --- computing the figures ------------------------------------------------------------------


def _cents_to_yuan(cents) -> Decimal:
    return (Decimal(int(round(cents or 0))) * CENT).quantize(CENT)


def _cents(column):
    return sa.func.round(column * 100)


class _DayCounter:
    """Days between two moments, by their days in Asia/Shanghai (day numbers, `beijing_day`):
    calendar days, and working days after the first day up to the second (the product's
    calendar; a year it has no data for counts weekends only, as the deadlines do)."""

    def __init__(self, cal: WorkingCalendar):
        self.cal = cal
        self._first = 0
        self._running: list[int] = []

    def _prepare(self, first: int, last: int) -> None:
        self._first = first
        running, total = [], 0
        day = DAY_ZERO + timedelta(days=first)
        for i in range(last - first + 1):
            total += self.cal.is_working_day(day + timedelta(days=i))
            running.append(total)
        self._running = running

    def spans(self, pairs: Iterable[tuple[int | None, int | None]]) -> Durations:
        dated = [(a, b) for a, b in pairs if a is not None and b is not None and b >= a]
        if not dated:
            return Durations(Spread.of(()), Spread.of(()))
        self._prepare(min(a for a, _b in dated), max(b for _a, b in dated))
        first, running = self._first, self._running
        return Durations(Spread.of(running[b - first] - running[a - first] for a, b in dated),
                         Spread.of(b - a for a, b in dated))


def referral_figures(user, q: StatisticsQuery, now: datetime | None = None) -> ReferralFigures:
    """Both sides' figures: three statements a side whatever the data size (the counts grouped
    by kind, state and disposition; the moments of sending, acting and answering; the
    chasers)."""
    now = now or now_utc()
    cal = _DayCounter(load_calendar())
    return ReferralFigures(q, now, _referral_side(user, q, now, REFERRALS_SENT, cal),
                           _referral_side(user, q, now, REFERRALS_RECEIVED, cal))


def _referral_side(user, q, now, subject, cal: _DayCounter) -> ReferralSide:
    ctx = _context(user, subject, q, now)
    base = referral_base(ctx)
    names = list(REFERRAL_FIGURES)
    columns = [sa.func.count().filter(REFERRAL_FIGURES[name].clause(ctx)).label(name)
               for name in names]
    rows = db.session.execute(
        sa.select(Referral.kind, Referral.state, Referral.disposition, *columns)
        .where(*base).group_by(Referral.kind, Referral.state, Referral.disposition)).all()

    counts = {name: 0 for name in names}
    kinds = {k: 0 for k in ReferralKind}
    states = {s: 0 for s in SENT_STATES}
    dispositions: dict[Disposition, int] = {}
    for row in rows:
        for name in names:
            counts[name] += getattr(row, name)
        kinds[ReferralKind(row.kind)] += row.sent
        states[ReferralState(row.state)] = states.get(ReferralState(row.state), 0) + row.sent
        if row.disposition is not None and row.answered:
            d = Disposition(row.disposition)
            dispositions[d] = dispositions.get(d, 0) + row.answered

    # The moments, for the durations: per sending acted on, and per item answered.
    item = _item(ctx)
    moments = db.session.execute(
        sa.select(beijing_day(Referral.sent_at), beijing_day(acted_at()),
                  beijing_day(sa.case((item, Referral.answered_at), else_=None)))
        .where(*base, sa.or_(acted_at().is_not(None),
                             sa.and_(item, Referral.answered_at.is_not(None))))).all()
    to_acknowledge = cal.spans((sent, acted) for sent, acted, _answered in moments)
    to_answer = cal.spans((sent, answered) for sent, _acted, answered in moments)

    # Each item's chasers through the timeline's index (never a pass over the timeline).
    chasers = db.session.scalar(
        sa.select(sa.func.count()).select_from(TimelineEntry).where(
            TimelineEntry.referral_id.in_(sa.select(Referral.id).where(*base, item)),
            TimelineEntry.action == Action.CHASE.value)) or 0

    def count_of(family, member):
        return Count(member.value, member.label, f"{family}:{member.value}", 0)

    return ReferralSide(
        subject=subject, side=ctx.side, counts=counts,
        by_kind=[replace(count_of("kind", k), count=n) for k, n in kinds.items()],
        by_state=[replace(count_of("state", s), count=n) for s, n in states.items()],
        by_disposition=[replace(count_of("disposition", d), count=dispositions[d])
                        for d in Disposition if d in dispositions],
        acknowledge_rate=Rate(counts["ack_on_time"],
                              counts["ack_on_time"] + counts["ack_late"] + counts["ack_overdue"]),
        answer_rate=Rate(counts["answer_on_time"], counts["answer_on_time"]
                         + counts["answer_late"] + counts["answer_overdue"]),
        to_acknowledge=to_acknowledge, to_answer=to_answer,
        open_by_age=[Count(name, str(REFERRAL_FIGURES[name].label), name, counts[name])
                     for name in AGE_BUCKETS],
        chasers=chasers, chasers_per_item=Rate(chasers, counts["sent"]))


def rectification_figures(user, q: StatisticsQuery,
                          now: datetime | None = None) -> RectificationFigures:
    """Three statements: the items' counts and amounts involved grouped by unit and category,
    the reports' amounts and rules grouped the same way, the moments of issue and sign-off."""
    now = now or now_utc()
    ctx = _context(user, RECTIFICATIONS, q, now)
    base = [*rectification_base(ctx), _issued(ctx)]
    names = [n for n in RECTIFICATION_FIGURES if n != "signed_off_in_period"]
    columns = [sa.func.count().filter(RECTIFICATION_FIGURES[n].clause(ctx)).label(n)
               for n in names]
    joined = sa.select().select_from(Rectification).join(*ITEM_FINDING)
    groups = db.session.execute(joined.add_columns(
        Rectification.unit_id, FindingAccess.category_code, *columns,
        sa.func.sum(_cents(Rectification.amount)).label("involved"))
        .where(*base).group_by(Rectification.unit_id, FindingAccess.category_code)).all()
    reports = db.session.execute(
        sa.select(Rectification.unit_id, FindingAccess.category_code,
                  sa.func.sum(_cents(RectificationReport.amount_recovered)).label("recovered"),
                  sa.func.count().filter(
                      sa.func.trim(RectificationReport.rules) != "").label("rules"))
        .select_from(RectificationReport)
        .join(Rectification, Rectification.id == RectificationReport.rectification_id)
        .join(*ITEM_FINDING)
        .where(*base).group_by(Rectification.unit_id, FindingAccess.category_code)).all()
    pairs = db.session.execute(_with_finding(
        sa.select(beijing_day(Rectification.issued_at), beijing_day(Rectification.signed_off_at))
        .select_from(Rectification), q)
        .where(*base, Rectification.state == R.SIGNED_OFF)).all()

    counts = {n: 0 for n in RECTIFICATION_FIGURES}
    counts["signed_off_in_period"] = db.session.scalar(
        _with_finding(sa.select(sa.func.count()).select_from(Rectification), q)
        .where(*rectification_base(ctx),
               RECTIFICATION_FIGURES["signed_off_in_period"].clause(ctx))) or 0
    by_unit: dict[int, list] = {}
    by_category: dict[str, list] = {}
    for g in groups:
        for n in names:
            counts[n] += getattr(g, n)
        for table, key in ((by_unit, g.unit_id), (by_category, g.category_code)):
            line = table.setdefault(key, [0, 0, 0, 0])
            line[0] += g.issued
            line[1] += g.signed_off
            line[2] += int(round(g.involved or 0))
    rules_reports = 0
    for r in reports:
        rules_reports += r.rules
        for table, key in ((by_unit, r.unit_id), (by_category, r.category_code)):
            table.setdefault(key, [0, 0, 0, 0])[3] += int(round(r.recovered or 0))
    involved = sum(line[2] for line in by_unit.values())
    recovered = sum(line[3] for line in by_unit.values())

    units = dict(db.session.execute(sa.select(Agency.id, Agency).where(
        Agency.id.in_(list(by_unit)))).all()) if by_unit else {}
    categories = {c.code: c for c in db.session.scalars(sa.select(Category))}

    def row(key, label, filters, line) -> RectificationRow:
        return RectificationRow(key, label, filters, line[0], line[1], Rate(line[1], line[0]),
                                _cents_to_yuan(line[2]), _cents_to_yuan(line[3]),
                                Rate(_cents_to_yuan(line[3]), _cents_to_yuan(line[2])))

    unit_rows = sorted((row(units[i].code, units[i].name, {"unit": units[i].code}, line)
                        for i, line in by_unit.items()), key=lambda r: (-r.issued, r.key))
    order = {c.code: (c.position, c.code) for c in categories.values()}
    category_rows = [row(code, categories[code].label if code in categories else code,
                         {"category": code}, by_category[code])
                     for code in sorted(by_category, key=lambda c: order.get(c, (0, c)))]
    return RectificationFigures(
        query=q, now=now, counts=counts, rate=Rate(counts["signed_off"], counts["issued"]),
        amount_involved=_cents_to_yuan(involved), amount_recovered=_cents_to_yuan(recovered),
        amount_rate=Rate(_cents_to_yuan(recovered), _cents_to_yuan(involved)),
        rules_reports=rules_reports,
        to_sign_off=_DayCounter(load_calendar()).spans(pairs),
        by_unit=unit_rows, by_category=category_rows)


def finding_figures(user, q: StatisticsQuery, now: datetime | None = None) -> FindingFigures:
    """One statement: the access rows of the period grouped by unit, category and project
    year, each group's figures counted with their clauses."""
    ctx = _context(user, FINDINGS, q, now)
    names = list(FINDING_FIGURES)
    columns = [sa.func.count().filter(FINDING_FIGURES[n].clause(ctx)).label(n) for n in names]
    groups = db.session.execute(
        sa.select(FindingAccess.unit_id, FindingAccess.category_code, FindingAccess.year,
                  *columns,
                  sa.func.sum(_cents(FindingAccess.amount)).filter(_own()).label("cents"))
        .where(*finding_base(ctx))
        .group_by(FindingAccess.unit_id, FindingAccess.category_code, FindingAccess.year)).all()
    counts = {n: 0 for n in names}
    lines: dict[str, dict] = {"unit": {}, "category": {}, "year": {}}
    for g in groups:
        for n in names:
            counts[n] += getattr(g, n)
        if not g.recorded:
            continue
        for kind, key in (("unit", g.unit_id), ("category", g.category_code),
                          ("year", g.year)):
            line = lines[kind].setdefault(key, [0, 0])
            line[0] += g.recorded
            line[1] += int(round(g.cents or 0))
    units = dict(db.session.execute(sa.select(Agency.id, Agency).where(
        Agency.id.in_(list(lines["unit"])))).all()) if lines["unit"] else {}
    categories = {c.code: c for c in db.session.scalars(sa.select(Category))}
    order = {c.code: (c.position, c.code) for c in categories.values()}
    by_unit = sorted((FindingRow(units[i].code, units[i].name, "recorded",
                                 {"unit": units[i].code}, n, _cents_to_yuan(cents))
                      for i, (n, cents) in lines["unit"].items()),
                     key=lambda r: (-r.count, r.key))
    by_category = [FindingRow(code, categories[code].label if code in categories else code,
                              "recorded", {"category": code}, n, _cents_to_yuan(cents))
                   for code, (n, cents) in sorted(lines["category"].items(),
                                                  key=lambda i: order.get(i[0], (0, i[0])))]
    by_year = [FindingRow(str(year), str(year), f"project_year:{year}", {}, n,
                          _cents_to_yuan(cents))
               for year, (n, cents) in sorted(lines["year"].items(), reverse=True)]
    amount = _cents_to_yuan(sum(cents for _n, cents in lines["category"].values()))
    return FindingFigures(q, counts, amount, by_category, by_unit, by_year)


def monthly_trends(user, q: StatisticsQuery, now: datetime | None = None) -> list[Month]:
    """Per month of the period: findings recorded, referrals sent and received (items), items
    issued and signed off; five grouped statements. Each month's numbers are the figures of
    `q.for_month(...)` (`Month.query`)."""
    now = now or now_utc()
    months = q.months()

    def grouped(subject, column, figure) -> dict[int, int]:
        ctx = _context(user, subject, q, now)
        index = beijing_month(column).label("month")
        if subject in SIDES:
            query = sa.select(index, sa.func.count()).where(
                *referral_base(ctx), figure_clause(subject, figure, ctx))
        elif subject == RECTIFICATIONS:
            query = _with_finding(sa.select(index, sa.func.count()).select_from(Rectification),
                                  q).where(
                *rectification_base(ctx), figure_clause(subject, figure, ctx))
        else:
            query = sa.select(index, sa.func.count()).where(
                *finding_base(ctx), figure_clause(subject, figure, ctx))
        return dict(db.session.execute(query.group_by(sa.literal_column("month"))).all())

    findings = grouped(FINDINGS, FindingAccess.created_at, "recorded")
    sent = grouped(REFERRALS_SENT, Referral.first_sent_at, "sent")
    received = grouped(REFERRALS_RECEIVED, Referral.first_sent_at, "sent")
    issued = grouped(RECTIFICATIONS, Rectification.issued_at, "issued")
    signed_off = grouped(RECTIFICATIONS, Rectification.signed_off_at, "signed_off_in_period")
    keys = [year * 100 + month for year, month in months]
    return [Month(year, month, q.for_month(year, month), findings.get(i, 0), sent.get(i, 0),
                  received.get(i, 0), issued.get(i, 0), signed_off.get(i, 0))
            for i, (year, month) in zip(keys, months, strict=True)]


def annual_figures(user, year: int, now: datetime | None = None, **filters) -> AnnualFigures:
    """The numbers of an annual work summary: the figures of the calendar year, and the
    projects the agency led with that year."""
    now = now or now_utc()
    q = StatisticsQuery.for_year(year, **filters)
    referrals = _referral_side(user, q, now, REFERRALS_SENT, _DayCounter(load_calendar()))
    rectifications = rectification_figures(user, q, now)
    findings = finding_figures(user, q, now)
    projects = db.session.scalar(
        project_access.visible_projects(user).where(Project.year == year)
        .with_only_columns(sa.func.count(Project.id)).order_by(None)) or 0
    return AnnualFigures(
        year=year, query=q, projects=projects, findings=findings.counts["recorded"],
        amount_involved=findings.amount, referrals_sent=referrals.counts["sent"],
        referrals_answered=referrals.counts["answered"],
        referral_results=referrals.by_disposition,
        rectifications_issued=rectifications.counts["issued"],
        rectifications_signed_off=rectifications.counts["signed_off"],
        rectification_rate=rectifications.rate,
        rectification_amount_involved=rectifications.amount_involved,
        amount_recovered=rectifications.amount_recovered,
        amount_rate=rectifications.amount_rate, rules_reports=rectifications.rules_reports,
        rules_items=rectifications.counts["with_rules"])
