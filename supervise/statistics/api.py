"""The leader's figures under /api/v1/statistics: the same objects the statistics page shows
and its downloads write (`supervise.statistics.figures`), as JSON.

Every answer takes the same period and filters: `year` (and `quarter`), or `start` and `end`
(days in Asia/Shanghai, both included), default the current year; `unit` (an audited unit's
code), `category` (a category's code), `receiver` (a receiving agency's code, for referrals),
`project` (a project's id). A value that does not parse, names nothing, or a period that makes
no sense answers 422 with the reason, field by field; an argument not listed, 422 too.

Rates are {numerator, denominator, value}, `value` null when there is nothing to count; amounts
are strings of exact decimals ("1234.50"); days are numbers (a median may end in .5).

Staff and leaders of case-reading agencies only: for an audited unit's contact these addresses
do not exist (404), an administrator may not (403), as for every case route.
"""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from supervise import policy
from supervise.calendar.deadlines import local_date
from supervise.database import now_utc
from supervise.errors import InvalidInput
from supervise.policy import Capability, Permission
from supervise.schemas import LocalDateTime, WholeNumber, Yuan
from supervise.statistics import figures
from supervise.statistics.figures import CODE_LIMIT, MAX_YEAR, MIN_YEAR, StatisticsQuery
from supervise.web import Blueprint, current_actor

blueprint = Blueprint("statistics_api", __name__,
                      description="The leader's figures (统计口径), within what the caller sees")


# --- the query ------------------------------------------------------------------------------


class FilterSchema(Schema):
    unit = fields.String(validate=validate.Length(max=CODE_LIMIT),
                         metadata={"description": "Code of the audited unit"})
    category = fields.String(validate=validate.Length(max=CODE_LIMIT),
                             metadata={"description": "Category code"})
    receiver = fields.String(validate=validate.Length(max=CODE_LIMIT), metadata={
        "description": "Code of the receiving agency (referrals only)"})
    project = fields.String(validate=validate.Length(max=16),
                            metadata={"description": "Project id"})


class StatisticsQuerySchema(FilterSchema):
    year = WholeNumber(validate=validate.Range(MIN_YEAR, MAX_YEAR),
                       metadata={"description": "The calendar year; default the current year"})
    quarter = WholeNumber(validate=validate.Range(1, 4),
                          metadata={"description": "A quarter of `year` (1 to 4)"})
    start = fields.Date(metadata={"description": "First day of a range (with `end`, instead of "
                                                 "`year`)"})
    end = fields.Date(metadata={"description": "Last day of the range, included; at most "
                                               f"{figures.MAX_RANGE_YEARS} years after `start`"})


class AnnualQuerySchema(FilterSchema):
    year = WholeNumber(validate=validate.Range(MIN_YEAR, MAX_YEAR),
                       metadata={"description": "The year; default the current year"})


def _today() -> date:
    return local_date(now_utc())


def parse_query(args: dict) -> StatisticsQuery:
    """The query of checked arguments; 422 for what `StatisticsQuery.from_args` refuses."""
    text = {name: value.isoformat() if isinstance(value, date) else str(value)
            for name, value in args.items()}
    q = StatisticsQuery.from_args(text, _today())
    if q.errors:
        raise InvalidInput(dict(q.errors))
    return q


# --- the answers ----------------------------------------------------------------------------


class RateSchema(Schema):
    numerator = fields.Integer()
    denominator = fields.Integer()
    value = fields.Float(allow_none=True, metadata={
        "description": "numerator / denominator (4 decimals); null when there is nothing to "
                       "count"})


class AmountRateSchema(Schema):
    numerator = Yuan()
    denominator = Yuan()
    value = fields.Float(allow_none=True, metadata={
        "description": "numerator / denominator (4 decimals); null when there is nothing to "
                       "count"})


class SpreadSchema(Schema):
    count = fields.Integer()
    median = fields.Float(allow_none=True)
    p90 = fields.Float(allow_none=True, metadata={"description": "90th percentile (nearest "
                                                                 "rank)"})


class DurationsSchema(Schema):
    working_days = fields.Nested(SpreadSchema)
    calendar_days = fields.Nested(SpreadSchema)


class CountSchema(Schema):
    key = fields.String()
    label = fields.String()
    figure = fields.String(metadata={"description": "The figure's name, for its records"})
    count = fields.Integer()


class PeriodSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    label = fields.String()
    args = fields.Function(lambda q: q.to_args(), metadata={
        "description": "The canonical query arguments of the period and filters"})


COUNTS = fields.Dict(keys=fields.String(), values=fields.Integer(),
                     metadata={"description": "Every figure by its name"})


class ReferralSideSchema(Schema):
    subject = fields.String()
    counts = COUNTS
    by_kind = fields.List(fields.Nested(CountSchema))
    by_state = fields.List(fields.Nested(CountSchema))
    by_disposition = fields.List(fields.Nested(CountSchema))
    acknowledge_rate = fields.Nested(RateSchema)
    answer_rate = fields.Nested(RateSchema)
    to_acknowledge = fields.Nested(DurationsSchema)
    to_answer = fields.Nested(DurationsSchema)
    open_by_age = fields.List(fields.Nested(CountSchema))
    chasers = fields.Integer()
    chasers_per_item = fields.Nested(RateSchema)


class ReferralFiguresSchema(Schema):
    period = fields.Nested(PeriodSchema, attribute="query")
    at = LocalDateTime(attribute="now")
    sent = fields.Nested(ReferralSideSchema)
    received = fields.Nested(ReferralSideSchema)


class RectificationRowSchema(Schema):
    key = fields.String()
    label = fields.String()
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    issued = fields.Integer()
    signed_off = fields.Integer()
    rate = fields.Nested(RateSchema)
    amount_involved = Yuan()
    amount_recovered = Yuan()
    amount_rate = fields.Nested(AmountRateSchema)


class RectificationFiguresSchema(Schema):
    period = fields.Nested(PeriodSchema, attribute="query")
    at = LocalDateTime(attribute="now")
    counts = COUNTS
    rate = fields.Nested(RateSchema)
    amount_involved = Yuan()
    amount_recovered = Yuan()
    amount_rate = fields.Nested(AmountRateSchema)
    rules_reports = fields.Integer()
    to_sign_off = fields.Nested(DurationsSchema)
    by_unit = fields.List(fields.Nested(RectificationRowSchema))
    by_category = fields.List(fields.Nested(RectificationRowSchema))


class FindingRowSchema(Schema):
    key = fields.String()
    label = fields.String()
    figure = fields.String()
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    count = fields.Integer()
    amount = Yuan()


class MonthSchema(Schema):
    month = fields.String(attribute="key", metadata={"example": "2026-03"})
    findings_recorded = fields.Integer()
    referrals_sent = fields.Integer()
    referrals_received = fields.Integer()
    rectifications_issued = fields.Integer()
    rectifications_signed_off = fields.Integer()


class FindingFiguresSchema(Schema):
    period = fields.Nested(PeriodSchema, attribute="query")
    counts = COUNTS
    amount = Yuan()
    by_category = fields.List(fields.Nested(FindingRowSchema))
    by_unit = fields.List(fields.Nested(FindingRowSchema))
    by_year = fields.List(fields.Nested(FindingRowSchema))


class TrendsSchema(Schema):
    months = fields.List(fields.Nested(MonthSchema))


class AnnualFiguresSchema(Schema):
    year = fields.Integer()
    period = fields.Nested(PeriodSchema, attribute="query")
    projects = fields.Integer()
    findings = fields.Integer()
    amount_involved = Yuan()
    referrals_sent = fields.Integer()
    referrals_answered = fields.Integer()
    referral_results = fields.List(fields.Nested(CountSchema))
    rectifications_issued = fields.Integer()
    rectifications_signed_off = fields.Integer()
    rectification_rate = fields.Nested(RateSchema)
    rectification_amount_involved = Yuan()
    amount_recovered = Yuan()
    amount_rate = fields.Nested(AmountRateSchema)
    rules_reports = fields.Integer()
    rules_items = fields.Integer()


# --- the endpoints --------------------------------------------------------------------------


@blueprint.route("/statistics/referrals", methods=["GET"])
@blueprint.arguments(StatisticsQuerySchema, location="query")
@blueprint.response(200, ReferralFiguresSchema)
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def referral_statistics(args):
    """The referrals the caller's agency sent, and those sent to it, first sent in the period:
    by kind, state and disposition; the acknowledgement and answer on-time rates; how long
    acknowledging and answering took, in working and calendar days; open items by age;
    chasers."""
    return figures.referral_figures(current_actor(), parse_query(args))


@blueprint.route("/statistics/rectifications", methods=["GET"])
@blueprint.arguments(StatisticsQuerySchema, location="query")
@blueprint.response(200, RectificationFiguresSchema)
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def rectification_statistics(args):
    """The rectification items the caller's agency issued in the period: signed off, in
    progress, overdue, sent back; 整改率 by count and by amount, overall, by unit and by
    category; time to sign-off."""
    return figures.rectification_figures(current_actor(), parse_query(args))


@blueprint.route("/statistics/findings", methods=["GET"])
@blueprint.arguments(StatisticsQuerySchema, location="query")
@blueprint.response(200, FindingFiguresSchema)
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def finding_statistics(args):
    """The findings the caller's agency recorded in the period, by category, unit and project
    year, with their amounts and their uses (shared, referred, issued for rectification)."""
    return figures.finding_figures(current_actor(), parse_query(args))


@blueprint.route("/statistics/trends", methods=["GET"])
@blueprint.arguments(StatisticsQuerySchema, location="query")
@blueprint.response(200, TrendsSchema)
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def monthly_statistics(args):
    """Per month of the period: findings recorded, referrals sent and received, rectification
    items issued and signed off."""
    return {"months": figures.monthly_trends(current_actor(), parse_query(args))}


@blueprint.route("/statistics/annual", methods=["GET"])
@blueprint.arguments(AnnualQuerySchema, location="query")
@blueprint.response(200, AnnualFiguresSchema)
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def annual_statistics(args):
    """The numbers an annual work summary quotes, of one calendar year: projects, findings and
    their amount, referrals sent and their results, rectification rates, amounts recovered,
    rules made or mended."""
    q = parse_query(args)
    return figures.annual_figures(current_actor(), q.year, **q.filters)
