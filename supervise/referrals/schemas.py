"""What the referrals API reads and writes.

Requests: the schemas check shapes only (unknown fields are refused, text is text, a list is a
list); the domain rules (the receiver is no audited unit, a finding may be cited, a reason is
given, …) are the operations' job, so that the pages and the API refuse the same things with the
same words. No message here ever repeats what was sent: a person's name must not come back in an
error.

Responses: records are named by their random public id. The persons involved are written in full
only in a referral's detail (GET), which only the two parties can open and whose every reading is
an event; a list, and the answer to a change, show them masked.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from supervise.calendar.deadlines import ClockStatus
from supervise.findings.schemas import (
    AttachmentSchema,
    CategorySchema,
    PersonSchema,
)
from supervise.policy import referrals as referral_access
from supervise.referrals import queries
from supervise.referrals.models import (
    COMMISSION_DISPOSITIONS,
    Disposition,
    ExtensionDecision,
    ReferralKind,
    ReferralState,
)
from supervise.referrals.operations import COMMENT_LIMIT, MAX_PERSONS, RESULT_LIMIT, TEXT_LIMITS
from supervise.referrals.workflow import Party
from supervise.schemas import (
    AgencyRefSchema,
    AsRead,
    LocalDateTime,
    PageQuerySchema,
    PageSchema,
    StepSchema,
    Version,
    WorkflowRecordSchema,
    Yuan,
)

CLOCK_STATUSES = [s.value for s in ClockStatus]

# --- requests -------------------------------------------------------------------------------


def _text(field: str, description: str = "", **kwargs) -> fields.String:
    metadata = {"description": description} if description else {}
    return fields.String(validate=validate.Length(max=TEXT_LIMITS[field]), metadata=metadata,
                         **kwargs)


class PersonInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(max=50))
    position = fields.String(allow_none=True, metadata={"maxLength": 100,
                                                        "description": "职务"})


class ReferralInputSchema(Schema):
    """The content of a referral a client may send; all optional here."""

    receiver = fields.String(metadata={"description": "Code of the receiving agency (not an "
                                                      "audited unit)"})
    kind = fields.String(metadata={"enum": [k.value for k in ReferralKind]})
    title = _text("title")
    audit_scope = _text("audit_scope", "When and what was audited", allow_none=True)
    facts = _text("facts")
    classification = _text("classification", allow_none=True)
    basis = _text("basis", "The legal basis for referring", allow_none=True)
    opinion = _text("opinion", allow_none=True)
    feedback_request = _text("feedback_request", allow_none=True)
    persons_involved = fields.List(
        fields.Nested(PersonInputSchema),
        metadata={"description": f"涉及人员, at most {MAX_PERSONS}: shown only to the staff and "
                                 "leaders of the two parties"})
    findings = fields.List(
        fields.String(),
        metadata={"description": "Ids of findings cited: your agency's issued findings, or "
                                 "findings shared with it as may_refer"})


class ReferralCreateSchema(ReferralInputSchema):
    receiver = fields.String(required=True,
                             metadata={"description": "Code of the receiving agency (not an "
                                                      "audited unit)"})
    kind = fields.String(required=True, metadata={"enum": [k.value for k in ReferralKind]})
    title = _text("title", required=True)
    facts = _text("facts", required=True)


class ReferralUpdateSchema(ReferralInputSchema):
    version = Version(required=True)


class ReferralQuerySchema(PageQuerySchema):
    role = fields.String(validate=validate.OneOf(["sent", "received"]),
                         metadata={"description": "sent: referrals your agency sent; received: "
                                                  "referrals sent to it; default: both"})
    state = fields.String(validate=validate.OneOf([s.value for s in ReferralState]))
    clock = fields.String(validate=validate.OneOf(list(queries.CLOCK_FILTERS)),
                          metadata={"description": "A running clock that is due soon, or "
                                                   "overdue"})
    sort = fields.String(
        load_default="-created_at",
        validate=validate.OneOf(["-created_at", "created_at", "acknowledge_by", "answer_by"]),
        metadata={"description": "Default: newest first; acknowledge_by and answer_by: "
                                 "earliest deadline first"})


class PersonLookupSchema(PageQuerySchema):
    name = fields.String(required=True, validate=validate.Length(max=50), metadata={
        "description": "The name of a person involved, exactly (spaces, full-width letters and "
                       "case aside)"})


class ActionRequestSchema(Schema):
    """What a step of the workflow may carry; each action reads the fields it needs."""

    comment = fields.String(allow_none=True, validate=validate.Length(max=COMMENT_LIMIT))
    reason = fields.String(allow_none=True, validate=validate.Length(max=COMMENT_LIMIT),
                           metadata={"description": "Required to return, send back or reopen"})
    handler = fields.String(allow_none=True, metadata={
        "description": "assign: user name of a staff member or leader of your agency"})
    disposition = fields.String(allow_none=True,
                                validate=validate.OneOf([d.value for d in Disposition]),
                                metadata={"description": "answer: a code from /dispositions"})
    result = fields.String(allow_none=True, validate=validate.Length(max=RESULT_LIMIT),
                           metadata={"description": "answer: the result, in words"})
    version = Version()


class ActionFormSchema(ActionRequestSchema):
    """The same, sent as multipart form fields (an answer with files)."""

    version = Version(strict=False)


class ChaserRequestSchema(Schema):
    comment = fields.String(required=True, metadata={"maxLength": COMMENT_LIMIT,
                                                     "description": "The message"})
    version = Version()


class ExtensionRequestSchema(Schema):
    until = fields.String(required=True, metadata={
        "format": "date", "description": "The new answer-by date, YYYY-MM-DD"})
    reason = fields.String(required=True, metadata={"maxLength": COMMENT_LIMIT})
    version = Version()


class DecisionRequestSchema(Schema):
    comment = fields.String(allow_none=True, metadata={"maxLength": COMMENT_LIMIT})
    version = Version()


# --- responses ------------------------------------------------------------------------------


def _clocks(referral) -> dict:
    clocks = queries.clocks(referral)
    return {"acknowledge": clocks.acknowledge.value if clocks.acknowledge else None,
            "answer": clocks.answer.value if clocks.answer else None}


class ReferralBaseSchema(WorkflowRecordSchema):
    """What every answer about a referral carries: its state and both clocks."""

    kind = fields.Enum(ReferralKind, by_value=True)
    kind_name = fields.Function(lambda referral: referral.kind.label)
    state = fields.Enum(ReferralState, by_value=True)
    title = fields.String()
    sender = fields.Nested(AgencyRefSchema, attribute="sender_agency")
    receiver = fields.Nested(AgencyRefSchema, attribute="receiver_agency")
    handler = fields.Nested(PersonSchema, allow_none=True)
    created_at = LocalDateTime()
    sent_at = LocalDateTime(allow_none=True)
    acknowledged_at = LocalDateTime(allow_none=True)
    answered_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    acknowledge_by = LocalDateTime(allow_none=True)
    answer_by = LocalDateTime(allow_none=True)
    calendar_complete = fields.Boolean(metadata={
        "description": "False when a deadline falls in a year without official calendar "
                       "data: weekends only were counted"})
    clocks = fields.Function(_clocks, metadata={
        "description": "{acknowledge, answer}: each clock's status, one of "
                       f"{', '.join(CLOCK_STATUSES)}; null before the referral was first "
                       "sent"})


class MaskedPersonSchema(Schema):
    name = fields.String(attribute="masked_name", metadata={"description": "张某某 → 张**"})


class ChasersSchema(Schema):
    count = fields.Integer()
    last_at = LocalDateTime(allow_none=True)


class ReferralSummarySchema(ReferralBaseSchema):
    """A list row: the persons involved masked, no facts or other long texts."""

    persons_involved = fields.List(fields.Nested(MaskedPersonSchema), attribute="persons")
    chasers = fields.Nested(ChasersSchema, metadata={"description": "Chasers sent so far"})


class ReferralPageSchema(PageSchema):
    items = fields.List(fields.Nested(ReferralSummarySchema))


class PersonInvolvedSchema(Schema):
    name = fields.String()
    position = fields.String(attribute="title")


class FindingRefSchema(Schema):
    id = fields.String(attribute="public_id")
    title = fields.String()


class CitedFindingSchema(Schema):
    """A cited finding as it was when the referral was sent."""

    id = fields.Function(lambda c: c.finding.public_id)
    title = fields.String()
    owner = fields.Nested(AgencyRefSchema, attribute="owner_agency")
    unit = fields.Nested(AgencyRefSchema)
    category = fields.Nested(CategorySchema)
    amount = Yuan(allow_none=True)
    facts = fields.String()
    legal_basis = fields.String()
    recommendation = fields.String()
    attachments = fields.List(fields.Nested(AttachmentSchema))


class TimelineEntrySchema(StepSchema):
    internal = fields.Boolean(metadata={"description": "The receiver's own handling note"})
    attachments = fields.List(fields.Nested(AttachmentSchema))


class ExtensionSchema(Schema):
    id = fields.String(attribute="public_id")
    requested_by = fields.Function(lambda ext: ext.requested_by.display_name)
    requested_at = LocalDateTime()
    previous_answer_by = LocalDateTime()
    requested_answer_by = LocalDateTime()
    reason = fields.String()
    decision = fields.Enum(ExtensionDecision, by_value=True, allow_none=True)
    decided_by = fields.Function(
        lambda ext: ext.decided_by.display_name if ext.decided_by else None)
    decided_at = LocalDateTime(allow_none=True)
    decision_comment = fields.String()


class ReferralSchema(ReferralBaseSchema):
    """A referral as its two parties read it."""

    audit_scope = fields.String()
    facts = fields.String()
    classification = fields.String()
    basis = fields.String()
    opinion = fields.String()
    feedback_request = fields.String()
    persons_involved = fields.List(fields.Nested(PersonInvolvedSchema), attribute="persons")
    findings = fields.List(fields.Nested(FindingRefSchema))
    cited_findings = fields.List(fields.Nested(CitedFindingSchema), attribute="cited", metadata={
        "description": "The findings cited, as they were when the referral was sent (empty "
                       "before), with copies of their evidence"})
    attachments = fields.List(fields.Nested(AttachmentSchema))
    disposition = fields.Method("_disposition", allow_none=True)
    result = fields.String()
    timeline = fields.List(fields.Nested(TimelineEntrySchema), metadata={
        "description": "The steps you may read: your agency's own, and the other party's "
                       "from the sending on (never its internal ones)"})
    extensions = fields.List(fields.Nested(ExtensionSchema))
    actions = fields.List(fields.String(), metadata={"description": "What you may do now"})
    previous = fields.String(allow_none=True, metadata={
        "description": "The returned referral this one revises (told to the sender only)"})
    revision = fields.String(allow_none=True, metadata={
        "description": "The draft this returned referral was revised as (told to the sender "
                       "only)"})

    def _disposition(self, referral):
        if referral.disposition is None:
            return None
        return {"code": referral.disposition.value, "name": referral.disposition.label}


def as_read(user, referral) -> AsRead:
    """The referral as `user` reads it: the timeline they may see, the steps they may take, and
    the revision links (the sender's only)."""
    sender = Party.SENDER in referral_access.parties(user, referral)
    return AsRead(
        referral,
        timeline=referral_access.timeline_for(user, referral),
        actions=[a.value for a in referral_access.available_actions(user, referral)],
        previous=referral.previous.public_id if sender and referral.previous else None,
        revision=referral.revision.public_id if sender and referral.revision else None)


def as_listed(referrals, chasers: dict) -> list[AsRead]:
    """A page of list rows with the chasers counted for the whole page (queries.chasers)."""
    rows = []
    for referral in referrals:
        count, last_at = chasers.get(referral.id, (0, None))
        rows.append(AsRead(referral, chasers={"count": count, "last_at": last_at}))
    return rows


class ReferralStepSchema(ReferralSchema):
    """A referral as a change to it answers: all of it, but the persons involved masked as in a
    list. They are read in full only by opening the referral, and every such reading is
    recorded."""

    persons_involved = fields.List(fields.Nested(MaskedPersonSchema), attribute="persons")


class DispositionSchema(Schema):
    code = fields.String(attribute="value")
    name = fields.String(attribute="label")
    receivers = fields.Method("_receivers", metadata={
        "description": "who records it: `discipline` (the commission) or `department` (every "
                       "other receiver)"})

    def _receivers(self, disposition):
        return "discipline" if disposition in COMMISSION_DISPOSITIONS else "department"
