"""The figures as tables: what the statistics page shows (each table with its chart) and what
its downloads write, built once from the objects of `supervise.statistics.figures`.

A table has typed columns (the label column first) and rows of cells; a cell holds its value
and, for a count, the address of the list of exactly the records it counts (the figure's
drill-down, `records`). The page formats the values for the reader; the workbook writes them as
numbers (counts, exact amounts, rates as per cent, days), so both show the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from supervise.ledgers.workbook import Kind
from supervise.money import format_yuan
from supervise.statistics import figures as f
from supervise.statistics.figures import Rate, Spread, StatisticsQuery


@dataclass(frozen=True)
class Col:
    header: str
    kind: Kind = Kind.INT
    drawn: bool = True  # a series of the chart (the label column and rates never are)
    width: float = 12  # in the workbook


@dataclass(frozen=True)
class Cell:
    value: Any  # int, Decimal (an amount, a rate as a fraction, days), str, or None
    link: str | None = None  # the list of the records counted
    kind: Kind | None = None  # where a column holds values of several kinds (the year's table)


def number(value: Any, kind: Kind) -> int | Decimal | None:
    """What a chart draws of a value: a rate in per cent, other numbers as they are."""
    if value is None or kind == Kind.TEXT:
        return None
    if kind == Kind.RATE:
        return (value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return value


def text(value: Any, kind: Kind) -> str:
    """A value as a reader reads it; "—" where there is nothing to count."""
    if value is None:
        return "—"
    if kind == Kind.TEXT:
        return str(value)
    if kind == Kind.INT:
        return f"{value:,}"
    if kind == Kind.AMOUNT:
        return format_yuan(value)
    if kind == Kind.RATE:
        return f"{number(value, kind)}%"
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


@dataclass(frozen=True)
class Table:
    key: str  # the download's name for it
    caption: str
    columns: list[Col]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: str | None = None  # bar, stacked, line, pie; None: a table alone

    @property
    def omitted(self) -> tuple[int, ...]:
        """Positions of the columns that stay out of the chart."""
        return tuple(i for i, c in enumerate(self.columns) if i and not c.drawn)


def label_col(header: str, width: float = 24) -> Col:
    return Col(header, Kind.TEXT, drawn=False, width=width)


def rate_col(header: str) -> Col:
    return Col(header, Kind.RATE, drawn=False)


def days_col(header: str) -> Col:
    return Col(header, Kind.DECIMAL, drawn=False)


def amount_col(header: str, drawn: bool = False) -> Col:
    return Col(header, Kind.AMOUNT, drawn=drawn, width=18)


def records_url(subject: str, figure: str, q: StatisticsQuery) -> str:
    return url_for("statistics.records", subject=subject, figure=figure, **q.to_args())


def _linker(subject: str, q: StatisticsQuery) -> Callable[[str, int], Cell]:
    def cell(figure: str, n: int, query: StatisticsQuery | None = None) -> Cell:
        return Cell(n, records_url(subject, figure, query or q) if n else None)

    return cell


def _label(row, unit: bool) -> Cell:
    """A breakdown's row label; an audited unit's links to its dossier (单位画像)."""
    return Cell(row.label, url_for("dossier.dossier", unit=row.key) if unit else None)


def _rate(rate: Rate) -> Cell:
    return Cell(rate.value, kind=Kind.RATE)


def _spread(spread: Spread) -> list[Cell]:
    return [Cell(spread.median), Cell(spread.p90)]


# --- referrals --------------------------------------------------------------------------------

def _side_name(side: f.ReferralSide) -> str:
    return _("Sent by us") if side.side == "sent" else _("Received by us")


def referral_tables(figures: f.ReferralFigures) -> list[Table]:
    q, sides = figures.query, (figures.sent, figures.received)
    days = [days_col(_("Median, working days")), days_col(_("90th percentile, working days")),
            days_col(_("Median, days")), days_col(_("90th percentile, days"))]

    acknowledge = Table("referrals_acknowledgement", _("Acknowledgement"), [
        label_col(_("Referrals")), Col(_("Sendings")), Col(_("On time")), Col(_("Late")),
        Col(_("Overdue")), Col(_("Not yet due")), Col(_("Returned")),
        rate_col(_("On-time rate")), *days])
    answer = Table("referrals_answer", _("Answer"), [
        label_col(_("Referrals")), Col(_("Referrals")), Col(_("Answered")), Col(_("On time")),
        Col(_("Late")), Col(_("Overdue")), Col(_("Extension approved")),
        rate_col(_("On-time rate")), *days, Col(_("Chased")), Col(_("Chasers")),
        Col(_("Chasers per referral"), Kind.DECIMAL, drawn=False)])
    for side in sides:
        cell = _linker(side.subject, q)
        c = side.counts
        acknowledge.rows.append([
            Cell(_side_name(side)), cell("sendings", c["sendings"]),
            cell("ack_on_time", c["ack_on_time"]), cell("ack_late", c["ack_late"]),
            cell("ack_overdue", c["ack_overdue"]), cell("ack_waiting", c["ack_waiting"]),
            cell("returned", c["returned"]), _rate(side.acknowledge_rate),
            *_spread(side.to_acknowledge.working_days),
            *_spread(side.to_acknowledge.calendar_days)])
        answer.rows.append([
            Cell(_side_name(side)), cell("sent", c["sent"]), cell("answered", c["answered"]),
            cell("answer_on_time", c["answer_on_time"]), cell("answer_late", c["answer_late"]),
            cell("answer_overdue", c["answer_overdue"]), cell("extended", c["extended"]),
            _rate(side.answer_rate), *_spread(side.to_answer.working_days),
            *_spread(side.to_answer.calendar_days), cell("chased", c["chased"]),
            Cell(side.chasers), Cell(_per_item(side.chasers_per_item))])

    def by(key: str, caption: str, header: str, lines: Callable[[f.ReferralSide], list],
           chart: str = "bar") -> Table:
        table = Table(key, caption, [label_col(header), Col(_("Sent by us")),
                                     Col(_("Received by us"))], chart=chart)
        sent, received = lines(figures.sent), lines(figures.received)
        order = list(dict.fromkeys([c.key for c in sent] + [c.key for c in received]))
        found = {(i, c.key): c for i, counts in enumerate((sent, received)) for c in counts}
        for key_ in order:
            first = found.get((0, key_)) or found.get((1, key_))
            row = [Cell(first.label)]
            for i, side in enumerate((figures.sent, figures.received)):
                count = found.get((i, key_))
                row.append(_linker(side.subject, q)(count.figure, count.count) if count
                           else Cell(0))
            table.rows.append(row)
        return table

    return [
        acknowledge, answer,
        by("referrals_by_kind", _("By kind"), _("Kind"), lambda s: s.by_kind),
        by("referrals_by_state", _("By state"), _("State"), lambda s: s.by_state),
        by("referrals_open_by_age", _("Open referrals by age"), _("Age"),
           lambda s: s.open_by_age),
        by("referrals_by_disposition", _("Answered clues by disposition"), _("Disposition"),
           lambda s: s.by_disposition),
    ]


def _per_item(rate: Rate) -> Decimal | None:
    value = rate.value
    return None if value is None else value.quantize(Decimal("0.01"))


# --- rectification ----------------------------------------------------------------------------

def rectification_tables(figures: f.RectificationFigures) -> list[Table]:
    q, c = figures.query, figures.counts
    cell = _linker(f.RECTIFICATIONS, q)
    overview = Table("rectification_overview", _("Rectification"), [
        label_col(_("Rectification items")), Col(_("Items issued")), Col(_("Signed off")),
        Col(_("In progress")),
        Col(_("Overdue")), Col(_("Sent back for rework")), Col(_("Rules made or mended")),
        rate_col(_("Rectification rate")), amount_col(_("Amount involved")),
        amount_col(_("Amount recovered or returned")), rate_col(_("Rate by amount")),
        days_col(_("Median days to sign-off, working days")),
        days_col(_("90th percentile, working days")), days_col(_("Median, days")),
        days_col(_("90th percentile, days")), Col(_("Signed off in the period"))])
    overview.rows.append([
        Cell(_("Issued in the period")), cell("issued", c["issued"]),
        cell("signed_off", c["signed_off"]), cell("in_progress", c["in_progress"]),
        cell("overdue", c["overdue"]), cell("sent_back", c["sent_back"]),
        cell("with_rules", c["with_rules"]), _rate(figures.rate),
        Cell(figures.amount_involved), Cell(figures.amount_recovered),
        _rate(figures.amount_rate), *_spread(figures.to_sign_off.working_days),
        *_spread(figures.to_sign_off.calendar_days),
        cell("signed_off_in_period", c["signed_off_in_period"])])

    def breakdown(key: str, caption: str, header: str,
                  rows: list[f.RectificationRow]) -> Table:
        table = Table(key, caption, [
            label_col(header), Col(_("Items issued")), Col(_("Signed off")),
            rate_col(_("Rectification rate")), amount_col(_("Amount involved")),
            amount_col(_("Amount recovered or returned")), rate_col(_("Rate by amount"))],
            chart="bar")
        for row in rows:
            narrowed = q.narrowed(**row.filters)
            table.rows.append([
                _label(row, header == _("Audited unit")), cell("issued", row.issued, narrowed),
                cell("signed_off", row.signed_off, narrowed), _rate(row.rate),
                Cell(row.amount_involved), Cell(row.amount_recovered), _rate(row.amount_rate)])
        return table

    return [overview,
            breakdown("rectification_by_unit", _("By audited unit"), _("Audited unit"),
                      figures.by_unit),
            breakdown("rectification_by_category", _("By category"), _("Category"),
                      figures.by_category)]


# --- findings ---------------------------------------------------------------------------------

def finding_tables(figures: f.FindingFigures) -> list[Table]:
    q, c = figures.query, figures.counts
    cell = _linker(f.FINDINGS, q)
    overview = Table("findings_overview", _("Findings and their uses"), [
        label_col(_("Findings")), Col(_("Findings recorded")),
        amount_col(_("Amount involved")), Col(_("Issued")), Col(_("Shared")),
        Col(_("Referred")), Col(_("Issued for rectification")), Col(_("Shared with us"))])
    overview.rows.append([
        Cell(_("Recorded in the period")), cell("recorded", c["recorded"]),
        Cell(figures.amount), cell("issued", c["issued"]), cell("shared", c["shared"]),
        cell("referred", c["referred"]), cell("rectification", c["rectification"]),
        cell("shared_with_us", c["shared_with_us"])])

    def breakdown(key: str, caption: str, header: str, rows: list[f.FindingRow],
                  chart: str) -> Table:
        table = Table(key, caption, [label_col(header), Col(_("Findings")),
                                     amount_col(_("Amount involved"))], chart=chart)
        for row in rows:
            table.rows.append([_label(row, "unit" in row.filters),
                               cell(row.figure, row.count, q.narrowed(**row.filters)),
                               Cell(row.amount)])
        return table

    return [overview,
            breakdown("findings_by_category", _("By category"), _("Category"),
                      figures.by_category, "pie"),
            breakdown("findings_by_unit", _("By audited unit"), _("Audited unit"),
                      figures.by_unit, "bar"),
            breakdown("findings_by_year", _("By project year"), _("Year"), figures.by_year,
                      "bar")]


# --- trends -----------------------------------------------------------------------------------

def trend_table(months: list[f.Month]) -> Table:
    table = Table("trends", _("By month"), [
        label_col(_("Month"), 12), Col(_("Findings recorded")), Col(_("Referrals sent")),
        Col(_("Referrals received")), Col(_("Items issued")), Col(_("Items signed off"))],
        chart="line")
    for m in months:
        table.rows.append([
            Cell(m.key),
            _linker(f.FINDINGS, m.query)("recorded", m.findings_recorded),
            _linker(f.REFERRALS_SENT, m.query)("sent", m.referrals_sent),
            _linker(f.REFERRALS_RECEIVED, m.query)("sent", m.referrals_received),
            _linker(f.RECTIFICATIONS, m.query)("issued", m.rectifications_issued),
            _linker(f.RECTIFICATIONS, m.query)("signed_off_in_period",
                                               m.rectifications_signed_off)])
    return table


# --- the year's summary -----------------------------------------------------------------------

def annual_table(figures: f.AnnualFigures) -> Table:
    """The numbers a year's work summary quotes, one a row."""
    q = figures.query
    table = Table("annual", _("Figures of %(year)d", year=figures.year), [
        label_col(_("Figure"), 30), Col(_("Value"), Kind.TEXT, drawn=False, width=20)])
    # The values are of several kinds: each cell says its own (`Cell.kind`).
    findings, sent = _linker(f.FINDINGS, q), _linker(f.REFERRALS_SENT, q)
    rectifications = _linker(f.RECTIFICATIONS, q)
    lines: list[tuple[str, Cell]] = [
        (_("Projects"), Cell(figures.projects)),
        (_("Findings recorded"), findings("recorded", figures.findings)),
        (_("Amount involved"), Cell(figures.amount_involved, kind=Kind.AMOUNT)),
        (_("Referrals sent"), sent("sent", figures.referrals_sent)),
        (_("Referrals answered"), sent("answered", figures.referrals_answered)),
        *((_("Answered: %(disposition)s", disposition=r.label), sent(r.figure, r.count))
          for r in figures.referral_results),
        (_("Items issued for rectification"),
         rectifications("issued", figures.rectifications_issued)),
        (_("Items signed off"), rectifications("signed_off", figures.rectifications_signed_off)),
        (_("Rectification rate"), _rate(figures.rectification_rate)),
        (_("Amount involved in rectification"),
         Cell(figures.rectification_amount_involved, kind=Kind.AMOUNT)),
        (_("Amount recovered or returned"), Cell(figures.amount_recovered, kind=Kind.AMOUNT)),
        (_("Rate by amount"), _rate(figures.amount_rate)),
        (_("Items with rules made or mended"), rectifications("with_rules", figures.rules_items)),
        (_("Reports with rules made or mended"), Cell(figures.rules_reports)),
    ]
    for label, value in lines:
        table.rows.append([Cell(label), value if value.kind else replace(value, kind=Kind.INT)])
    return table
