"""Fields and schemas shared by every API schema."""


from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate

from supervise.database import BEIJING_TIME
from supervise.money import whole_number
from supervise.pagination import MAX_PAGE

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


class LocalDateTime(fields.DateTime):
    """A time stored in UTC, written as ISO 8601 in Asia/Shanghai (+08:00) as users read it."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(BEIJING_TIME).isoformat()


# How an amount in yuan is written in the API, both ways: a string of digits with two decimals,
# never a JSON number (which many clients pass through binary floating point).
AMOUNT_PATTERN = r"^[0-9]+\.[0-9]{2}$"


class Yuan(fields.Decimal):
    """An amount in yuan as the API writes it: "1234.50"."""

    def __init__(self, **kwargs):
        metadata = {"type": "string", "format": "decimal", "pattern": AMOUNT_PATTERN,
                    "example": "1234.50", **kwargs.pop("metadata", {})}
        super().__init__(places=2, as_string=True, metadata=metadata, **kwargs)


class AmountField(fields.Field):
    """An amount in yuan, sent as a string such as "1234.56". A JSON number is refused: many
    clients pass it through binary floating point, and the amount must stay exact. The value is
    checked by `supervise.money.parse_amount` in the operation, so that the pages and the API
    refuse the same amounts with the same words."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        metadata = {"type": "string", "nullable": True, "example": "1234.56",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return value
        raise ValidationError(_("Give the amount as a string such as '1234.56'."))


class WholeNumber(fields.Integer):
    """An integer, sent as a number or (in a query string or a form) as ASCII digits; not as
    full-width digits, the digits of another script, or a number too long for any column."""

    def _validated(self, value):
        if isinstance(value, str):
            try:
                value = whole_number(value)
            except ValueError:
                raise self.make_error("invalid", input=value) from None
        return super()._validated(value)


VERSION_HELP = {"description": "The version you read; a stale one answers 409"}


def Version(*, required: bool = False, strict: bool = True) -> fields.Integer:  # noqa: N802
    """The `version` a change carries (optimistic locking): a JSON integer; `strict=False`
    for a form, where it comes as digits."""
    field = fields.Integer if strict else WholeNumber
    return field(required=required, strict=strict, allow_none=not required,
                 metadata=VERSION_HELP)


class VersionSchema(Schema):
    """The body of a step that needs nothing but, optionally, the version read."""

    version = Version()


class PageQuerySchema(Schema):
    """`page` and `per_page` of every list; a query schema with filters extends it."""

    page = WholeNumber(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = WholeNumber(load_default=DEFAULT_PER_PAGE,
                           validate=validate.Range(1, MAX_PER_PAGE))


class PageSchema(Schema):
    """What every list answers beside its `items`."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class AgencyRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class WorkflowRecordSchema(Schema):
    """What every record of a workflow (supervise.workflow) answers with: its id, its state's
    label and the version a change must carry. Each declares its own `state`."""

    id = fields.String(attribute="public_id")
    state_name = fields.Function(lambda record: record.state.label)
    version = fields.Integer()


class StepSchema(Schema):
    """One step of a workflow's history (supervise.workflow.StepMixin): who did what, when,
    from which state to which, with the comment the step's readers may see."""

    action = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.Function(lambda step: step.actor.display_name if step.actor else None,
                            metadata={"description": "null for a step of the platform itself"})
    agency = fields.Nested(AgencyRefSchema, allow_none=True)
    at = LocalDateTime()
    comment = fields.String()


class AsRead:
    """A record as one caller reads it: the record's own attributes, and beside them what
    depends on who reads (the steps they may take, the history they may see). The API builds
    it with the caller in hand, so that no schema has to find out who is asking."""

    __slots__ = ("_record", "_read")

    def __init__(self, record, **read):
        self._record = record
        self._read = read

    def __getattr__(self, name):
        read = object.__getattribute__(self, "_read")
        if name in read:
            return read[name]
        return getattr(object.__getattribute__(self, "_record"), name)
