"""Fields shared by every API schema."""

from zoneinfo import ZoneInfo

from marshmallow import fields


class LocalDateTime(fields.DateTime):
    """A time stored in UTC, written as ISO 8601 in Asia/Shanghai (+08:00) as users read it."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
