"""What the findings API reads and writes.

Requests: the schemas check shapes (unknown fields are refused, text is text, a required field is
present); the domain rules (a unit is an audited unit, an amount has at most two decimals, …) are
the operations' job, so that the pages and the API refuse the same things with the same words.

Responses: records are named by their random public id, never by their integer key.
"""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, missing, validate

from supervise.findings.models import FindingStatus, Handling, Sensitivity
from supervise.findings.operations import COMMENT_LIMIT, FIELDS, NOTE_LIMIT, TEXT_LIMITS
from supervise.policy import findings as finding_access
from supervise.projects.models import ProjectKind
from supervise.schemas import (
    AgencyRefSchema,
    AmountField,
    AsRead,
    LocalDateTime,
    PageQuerySchema,
    PageSchema,
    Version,
    WholeNumber,
    Yuan,
)

# --- requests -------------------------------------------------------------------------------


def _text(field: str, **kwargs) -> fields.String:
    return fields.String(metadata={"maxLength": TEXT_LIMITS[field]}, **kwargs)


class FindingInputSchema(Schema):
    """The fields of a finding a client may send; all optional here."""

    unit = fields.String(metadata={"description": "Code of the audited unit"})
    project = fields.String(allow_none=True,
                            metadata={"description": "Id of a project your agency leads, or null"})
    title = _text("title")
    facts = _text("facts")
    category = fields.String(metadata={"description": "Category code, see /categories"})
    amount = AmountField(metadata={"description": "Amount involved in yuan, as a string"})
    legal_basis = _text("legal_basis", allow_none=True)
    recommendation = _text("recommendation", allow_none=True)
    sensitivity = fields.String(
        allow_none=True, metadata={"enum": [s.value for s in Sensitivity]})


class FindingCreateSchema(FindingInputSchema):
    unit = fields.String(required=True, metadata={"description": "Code of the audited unit"})
    title = _text("title", required=True)
    facts = _text("facts", required=True)
    category = fields.String(required=True,
                             metadata={"description": "Category code, see /categories"})


class FindingUpdateSchema(FindingInputSchema):
    version = Version(required=True)


class FindingQuerySchema(PageQuerySchema):
    unit = fields.String(metadata={"description": "Code of the audited unit"})
    project = fields.String(metadata={"description": "Project id"})
    year = WholeNumber(
        validate=validate.Range(2000, 2100),
        metadata={"description": "The project's year; for a finding recorded without a project, "
                                 "the year (Asia/Shanghai) in which it was recorded"})
    category = fields.String(metadata={"description": "Category code"})
    status = fields.String(validate=validate.OneOf([s.value for s in FindingStatus]))
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "Text in the title or the facts, any case"})
    scope = fields.String(
        validate=validate.OneOf(["own", "shared_with_us"]),
        metadata={"description": "own: your agency's findings; shared_with_us: findings other "
                                 "agencies shared with yours; default: both"})
    sort = fields.String(
        load_default="-created_at",
        validate=validate.OneOf(["created_at", "-created_at", "amount", "-amount", "title"]),
        metadata={"description": "Default: newest first"})


class SimilarQuerySchema(Schema):
    unit = fields.String(required=True, metadata={"description": "Code of the audited unit"})
    title = fields.String(required=True, validate=validate.Length(max=TEXT_LIMITS["title"]))


class SendBackSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=COMMENT_LIMIT),
                           metadata={"description": "Why, for the drafter"})
    version = Version()


class ShareRequestSchema(Schema):
    agency = fields.String(required=True, metadata={"description": "Code of the agency"})
    note = fields.String(allow_none=True, metadata={"maxLength": NOTE_LIMIT})
    handling = fields.String(required=True, metadata={"enum": [h.value for h in Handling]})


class UploadSchema(Schema):
    file = Upload(required=True, metadata={
        "description": "PDF, JPEG, PNG, DOCX, XLSX or OFD; the type is judged from the content"})


class CommentRequestSchema(Schema):
    body = fields.String(required=True, metadata={"maxLength": COMMENT_LIMIT})
    thread = fields.String(
        allow_none=True,
        metadata={"description": "Owner only: code of the recipient agency whose thread this "
                                 "answers"})


class LinkRequestSchema(Schema):
    related = fields.String(required=True,
                            metadata={"description": "Id of one of your agency's findings"})


class ProjectRequestSchema(Schema):
    year = fields.Integer(required=True, strict=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in ProjectKind]})
    name = fields.String(required=True, metadata={"maxLength": 200})
    units = fields.List(fields.String(), required=True,
                        metadata={"description": "Codes of the audited units covered"})
    team = fields.List(fields.String(), load_default=list,
                       metadata={"description": "User names of your agency; default: you"})


# --- responses ------------------------------------------------------------------------------


class PersonSchema(Schema):
    username = fields.String()
    display_name = fields.String()


class ProjectRefSchema(Schema):
    id = fields.String(attribute="public_id")
    name = fields.String()
    year = fields.Integer()


class ProjectSchema(ProjectRefSchema):
    kind = fields.Enum(ProjectKind, by_value=True)
    kind_name = fields.Function(lambda project: project.kind.label)
    lead_agency = fields.Nested(AgencyRefSchema)
    units = fields.List(fields.Nested(AgencyRefSchema))
    team = fields.List(fields.Nested(PersonSchema))
    created_at = LocalDateTime()


class ProjectPageSchema(PageSchema):
    items = fields.List(fields.Nested(ProjectSchema))


class AttachmentSchema(Schema):
    id = fields.String(attribute="public_id")
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    content_type = fields.String()


class OwnShareSchema(Schema):
    """The share through which a recipient agency reads a finding."""

    handling = fields.Enum(Handling, by_value=True)
    note = fields.String()
    shared_at = LocalDateTime()


class ShareSchema(OwnShareSchema):
    id = fields.String(attribute="public_id")
    agency = fields.Nested(AgencyRefSchema)
    shared_by = fields.Function(lambda share: share.shared_by.display_name)
    withdrawn_at = LocalDateTime(allow_none=True)
    withdrawn_by = fields.Function(
        lambda share: share.withdrawn_by.display_name if share.withdrawn_by else None)
    active = fields.Boolean()


class FindingSchema(Schema):
    """A finding as its reader may see it: a recipient agency also gets `share`, its own share
    (handling code and note); the owner does not."""

    id = fields.String(attribute="public_id")
    status = fields.Enum(FindingStatus, by_value=True)
    version = fields.Integer()
    title = fields.String()
    facts = fields.String()
    category = fields.String(attribute="category_code")
    category_name = fields.Function(lambda finding: finding.category.label)
    amount = Yuan(allow_none=True)
    legal_basis = fields.String()
    recommendation = fields.String()
    sensitivity = fields.Enum(Sensitivity, by_value=True)
    unit = fields.Nested(AgencyRefSchema)
    owner = fields.Nested(AgencyRefSchema, attribute="owner_agency")
    project = fields.Nested(ProjectRefSchema, allow_none=True)
    created_at = LocalDateTime()
    issued_at = LocalDateTime(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema))
    share = fields.Nested(OwnShareSchema, metadata={"description": "Recipients only: your share"})


def as_read(user, finding) -> AsRead:
    """The finding as `user` reads it: a recipient sees the share it reads it through; the
    owner reads every share in the uses panel instead."""
    share = None
    if not finding_access.owns_finding(user, finding):
        share = finding_access.active_share(user, finding)
    return AsRead(finding, share=missing if share is None else share)


# In a list, a finding is shown without its long texts: they are read on the finding itself,
# where reading a sensitive finding is recorded.
LIST_EXCLUDE = ("facts", "legal_basis", "recommendation", "attachments")


class FindingSummarySchema(FindingSchema):
    class Meta:
        exclude = LIST_EXCLUDE


class FindingPageSchema(PageSchema):
    items = fields.List(fields.Nested(FindingSummarySchema))
    total_amount = Yuan(metadata={"description": "Sum of the amounts of every finding matching "
                                                 "the filters, in yuan"})


class CategorySchema(Schema):
    code = fields.String()
    name = fields.String(attribute="label")


class CommentSchema(Schema):
    thread = fields.Nested(AgencyRefSchema, attribute="thread_agency")
    author = fields.Function(lambda comment: comment.author.display_name)
    author_agency = fields.Nested(AgencyRefSchema, attribute="author.agency")
    body = fields.String()
    created_at = LocalDateTime()


class LinkSchema(Schema):
    finding = fields.String(attribute="finding.public_id")
    related = fields.String(attribute="related.public_id")
    created_at = LocalDateTime()


class RelatedSchema(Schema):
    """A linked finding. One the reader may not open shows only its owner's name."""

    visible = fields.Boolean()
    id = fields.String()
    title = fields.String()
    status = fields.String()
    owner = fields.Nested(AgencyRefSchema)
    unit = fields.Nested(AgencyRefSchema)
    linked_at = LocalDateTime()


class UsesSchema(Schema):
    shares = fields.List(fields.Nested(ShareSchema))
    related = fields.List(fields.Nested(RelatedSchema))


class SimilarSchema(Schema):
    id = fields.String()
    title = fields.String()
    owner = fields.Nested(AgencyRefSchema)
    similarity = fields.Float()


# --- import from a spreadsheet --------------------------------------------------------------


class ImportQuerySchema(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "Check every row and answer as an import would, importing nothing"})


ImportRequestSchema = Schema.from_dict({
    "file": Upload(required=True, metadata={
        "description": "An .xlsx workbook or a CSV file (UTF-8, or GB18030), one finding a "
                       "row below a heading row; the type is judged from the content"}),
    "mapping": fields.String(metadata={
        "description": 'A JSON object of field to column heading, e.g. {"title": "问题标题"}; '
                       "fields it leaves out are taken from the agency's last import or "
                       'guessed from the headings; "" leaves one out'}),
    "allow_duplicates": fields.Boolean(load_default=False, metadata={
        "description": "Import rows that are likely duplicates of existing findings too "
                       "(refused by default)"}),
    # The same, one form field a field, as the import page posts it; these win over `mapping`.
    **{f"map_{name}": fields.String(metadata={
        "description": f"The heading of the column that holds `{name}` (\"\" for none)"})
       for name in FIELDS},
}, name="ImportRequestSchema")


class ImportRowSchema(Schema):
    line = fields.Integer(metadata={"description": "The row's number in the sheet or file"})
    ok = fields.Boolean(metadata={"description": "Whether the row is (or would be) imported"})
    values = fields.Dict(keys=fields.String(), values=fields.String())
    problems = fields.List(fields.String(), metadata={"description": "Why it is refused"})
    warnings = fields.List(fields.String())


class ImportAnswerSchema(Schema):
    dry_run = fields.Boolean()
    format = fields.String(metadata={"enum": ["xlsx", "csv"]})
    headings = fields.List(fields.String())
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    total = fields.Integer(metadata={"description": "Rows read below the headings"})
    good = fields.Integer()
    refused = fields.Integer()
    findings = fields.List(fields.String(), metadata={
        "description": "Ids of the drafts recorded (none on a dry run)"})
    rows = fields.List(fields.Nested(ImportRowSchema))
