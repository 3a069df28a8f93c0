"""What the rectifications API reads and writes.

Requests: the schemas check shapes only (unknown fields are refused, text is text, an amount is a
string); the domain rules (a plan is one of three, the report-by date lies ahead, an amount has
at most two decimals and is not negative, a send-back has a reason) are the operations' job, so
that the pages and the API refuse the same things with the same words.

Responses are role-shaped: one schema, and a named view (`only=`) per audience. The audited
unit's contact reads the text issued to it, its plan, state and clock, its own reports and the
messages addressed to it (send-backs and chasers); it never reaches a serializer for the finding
it came from, the history of the issuing agency, or who in that agency did what beyond a name.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from supervise import policy
from supervise import schemas as shared
from supervise.calendar.deadlines import ClockStatus
from supervise.findings.schemas import AttachmentSchema
from supervise.policy import rectifications as rectification_access
from supervise.rectifications import queries
from supervise.rectifications.models import Plan, RectificationState
from supervise.rectifications.operations import TEXT_LIMIT
from supervise.rectifications.workflow import Action
from supervise.schemas import AmountField, LocalDateTime, PageQuerySchema, PageSchema, Version, Yuan

COMMENT_LIMIT = 4000
RULES_LIMIT = 5000
CLOCK_STATUSES = [s.value for s in ClockStatus]

# --- requests -------------------------------------------------------------------------------


class RectificationIssueSchema(Schema):
    plan = fields.String(required=True, metadata={
        "enum": [p.value for p in Plan],
        "description": "immediate (立行立改), staged (分阶段整改) or long_term (持续整改)"})
    due_at = fields.Date(allow_none=True, metadata={
        "description": "The report-by date, YYYY-MM-DD, after today; by default 60 days after "
                       "issue (30 for an immediate plan) moved to a working day, as the "
                       "settings say"})


class RectificationQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf([s.value for s in RectificationState]))
    clock = fields.String(validate=validate.OneOf(list(queries.CLOCK_FILTERS)),
                          metadata={"description": "A running report-by clock that is due "
                                                   "soon, or overdue"})
    unit = fields.String(validate=validate.Length(max=40),
                         metadata={"description": "Code of the audited unit"})


class RectificationReportRequestSchema(Schema):
    """A progress report of the audited unit."""

    measures = fields.String(allow_none=True, validate=validate.Length(max=TEXT_LIMIT),
                             metadata={"description": "The measures taken (required)"})
    amount_recovered = AmountField(metadata={
        "description": "Money recovered or returned in yuan, as a string such as '1234.56'; "
                       "not negative, at most two decimals"})
    rules = fields.String(allow_none=True, validate=validate.Length(max=RULES_LIMIT),
                          metadata={"description": "Rules made or mended"})
    final = fields.Boolean(load_default=False, metadata={
        "description": "True when the rectification is done: it then waits for verification"})
    version = Version()


class RectificationReportFormSchema(RectificationReportRequestSchema):
    """The same, sent as multipart form fields with the evidence in `files`."""

    amount_recovered = fields.String(allow_none=True)
    version = Version(strict=False)


class RectificationActionSchema(Schema):
    """What a step of the issuing agency may carry; each step reads the fields it needs."""

    comment = fields.String(allow_none=True, validate=validate.Length(max=COMMENT_LIMIT),
                            metadata={"description": "Required to chase: the message"})
    reason = fields.String(allow_none=True, validate=validate.Length(max=COMMENT_LIMIT),
                           metadata={"description": "Required to send back"})
    version = Version()


# --- responses ------------------------------------------------------------------------------


class RectificationReportSchema(Schema):
    id = fields.String(attribute="public_id")
    measures = fields.String()
    amount_recovered = Yuan(allow_none=True)
    rules = fields.String()
    final = fields.Boolean()
    submitted_at = LocalDateTime()
    submitted_by = fields.Function(lambda report: report.submitted_by.display_name)
    attachments = fields.List(fields.Nested(AttachmentSchema))


# Steps whose text is addressed to the unit: why its work was sent back, and the chasers.
MESSAGE_ACTIONS = (Action.SEND_BACK.value, Action.CHASE.value)


class RectificationMessageSchema(Schema):
    action = fields.String()
    at = LocalDateTime()
    text = fields.String(attribute="comment")
    by = fields.Function(lambda step: step.actor.display_name if step.actor else None)


class RectificationSchema(shared.WorkflowRecordSchema):
    """Every field; each audience reads a view of it (UNIT_VIEW, OWNER_VIEW, …)."""

    finding = fields.String(attribute="finding.public_id",
                            metadata={"description": "The issuing agency only"})
    unit = fields.Nested(shared.AgencyRefSchema)
    owner = fields.Nested(shared.AgencyRefSchema, attribute="owner_agency")
    plan = fields.Enum(Plan, by_value=True)
    plan_name = fields.Function(lambda r: r.plan.label)
    state = fields.Enum(RectificationState, by_value=True)
    title = fields.String()
    facts = fields.String()
    legal_basis = fields.String()
    recommendation = fields.String()
    amount = Yuan(allow_none=True)
    amount_recovered = Yuan(metadata={
        "description": "The sum of the reports' amounts"})
    issued_at = LocalDateTime()
    issued_by = fields.Function(lambda r: r.issued_by.display_name)
    due_at = LocalDateTime(metadata={"description": "Report by (23:59:59 Asia/Shanghai)"})
    clock = fields.Function(lambda r: queries.clock(r).value, metadata={
        "description": f"The report-by clock: one of {', '.join(CLOCK_STATUSES)}"})
    calendar_complete = fields.Boolean(metadata={
        "description": "False when the deadline falls in a year without official calendar "
                       "data: weekends only were counted"})
    rectified_at = LocalDateTime(allow_none=True, metadata={
        "description": "When the unit's first final report came in"})
    signed_off_at = LocalDateTime(allow_none=True)
    signed_off_by = fields.Function(
        lambda r: r.signed_off_by.display_name if r.signed_off_by else None)
    reports = fields.List(fields.Nested(RectificationReportSchema))
    steps = fields.List(fields.Nested(shared.StepSchema),
                        metadata={"description": "The history"})
    messages = fields.Method("_messages", metadata={
        "description": "The unit only: send-backs and chasers addressed to it"})
    actions = fields.List(fields.String(), metadata={"description": "What you may do now"})

    def _messages(self, rectification):
        return RectificationMessageSchema(many=True).dump(
            [s for s in rectification.steps if s.action in MESSAGE_ACTIONS])


# The audited unit's contact: the text as issued, plan, state, clock, its reports and what is
# addressed to it. Nothing of the finding, the issuing agency's history or its people.
UNIT_REPORT = ("id", "measures", "amount_recovered", "rules", "final", "submitted_at",
               "attachments")
UNIT_SUMMARY = ("id", "title", "amount", "plan", "plan_name", "state", "state_name", "due_at",
                "clock", "calendar_complete")
UNIT_VIEW = (*UNIT_SUMMARY, "facts", "legal_basis", "recommendation",
             *(f"reports.{name}" for name in UNIT_REPORT), "messages", "actions")
# The issuing agency: all of it (it reads the steps themselves rather than the messages).
OWNER_SUMMARY = (*UNIT_SUMMARY, "finding", "unit", "owner", "version", "issued_at",
                 "rectified_at", "signed_off_at", "amount_recovered")
OWNER_EXCLUDE = ("messages",)

VIEWS = {
    ("unit", False): RectificationSchema(only=UNIT_VIEW),
    ("unit", True): RectificationSchema(only=UNIT_SUMMARY, many=True),
    ("owner", False): RectificationSchema(exclude=OWNER_EXCLUDE),
    ("owner", True): RectificationSchema(only=OWNER_SUMMARY, many=True),
}


def audience(user) -> str:
    return "unit" if policy.is_unit_contact(user) else "owner"


def dump_for(user, rectification) -> dict:
    """A rectification item as this caller may read it, with the steps they may take."""
    actions = [a.value for a in rectification_access.rectification_actions(user, rectification)]
    return VIEWS[audience(user), False].dump(shared.AsRead(rectification, actions=actions))


def dump_list_for(user, rectifications) -> list[dict]:
    return VIEWS[audience(user), True].dump(rectifications)


# For the OpenAPI document: the issuing agency's views; the unit's are subsets of them.
ALL_FIELDS = tuple(RectificationSchema().fields)


class RectificationDetailSchema(RectificationSchema):
    """A rectification item as the issuing agency reads it. The audited unit's contact reads
    only: id, title, facts, legal_basis, recommendation, amount, plan, state, due_at, clock,
    calendar_complete, its reports (without submitted_by), messages and actions."""

    class Meta:
        exclude = OWNER_EXCLUDE


class RectificationSummarySchema(RectificationSchema):
    """A list row as the issuing agency reads it; the unit's rows hold the fields of
    UNIT_SUMMARY only."""

    class Meta:
        exclude = tuple(name for name in ALL_FIELDS if name not in OWNER_SUMMARY)


class RectificationPageSchema(PageSchema):
    items = fields.List(fields.Nested(RectificationSummarySchema))
