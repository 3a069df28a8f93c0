"""The deadline calculator under /api/v1."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate

from supervise import policy
from supervise.calendar import operations
from supervise.calendar.deadlines import Unit
from supervise.calendar.operations import AMOUNT_MAX, MAX_YEAR, MIN_YEAR
from supervise.database import BEIJING_TIME
from supervise.policy import Permission
from supervise.schemas import LocalDateTime, WholeNumber
from supervise.web import Blueprint

blueprint = Blueprint("calendar_api", __name__, description="Working days and deadlines")

# "2026-02-13T10:00:00+08:00" sent unencoded in a query string arrives with a space for the "+".
UNENCODED_PLUS = re.compile(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$",
                            re.ASCII)


class StartField(fields.AwareDateTime):
    """An ISO 8601 time; one without a time zone is read as Asia/Shanghai."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=BEIJING_TIME, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = UNENCODED_PLUS.sub(r"\1+\2", value.strip())
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not MIN_YEAR <= moment.astimezone(BEIJING_TIME).year <= MAX_YEAR:
            raise ValidationError(_("Give a time from %(min)d to %(max)d.", min=MIN_YEAR,
                                    max=MAX_YEAR))
        return moment


class DeadlineQuerySchema(Schema):
    start = StartField(metadata={
        "description": "When the period starts (the triggering event), ISO 8601; without a "
                       "time zone, Asia/Shanghai. Default: now. Only the day in Asia/Shanghai "
                       "matters. The calendar covers 2000 to 2100: a year from 2001 to 2099 is "
                       "inside it in any time zone.",
        "pattern": "^20([0-9][1-9]|[1-9]0)-",
        "example": "2026-02-13T10:00:00+08:00"})
    amount = WholeNumber(required=True, validate=validate.Range(min=1, max=AMOUNT_MAX),
                         metadata={"example": 3})
    unit = fields.String(required=True, validate=validate.OneOf([u.value for u in Unit]),
                         metadata={"description": "working_days: from the first working day "
                                                  "after the start; days, months: calendar "
                                                  "time from the next day, a last day off "
                                                  "moving to the next working day"})


class DeadlineSchema(Schema):
    start = LocalDateTime()
    due_at = LocalDateTime(metadata={"description": "The end (23:59:59) of the last day, "
                                                    "Asia/Shanghai"})
    calendar_complete = fields.Boolean(
        metadata={"description": "False when the official arrangement of a year involved is "
                                 "not in the calendar: that year counts weekends only"})
    years_without_data = fields.List(fields.Integer())


@blueprint.route("/calendar/deadline", methods=["GET"])
@blueprint.arguments(DeadlineQuerySchema, location="query")
@blueprint.response(200, DeadlineSchema)
@policy.requires(Permission.CASE_CONTENT)
def deadline(args):
    """When a period of working days, days or months ends, on the official calendar."""
    start = args.get("start") or datetime.now(BEIJING_TIME)
    result = operations.calculate(start, args["amount"], args["unit"])
    return {"start": start, "due_at": result.due_at, "calendar_complete": result.complete,
            "years_without_data": list(result.years_without_data)}
