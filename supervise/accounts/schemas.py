from marshmallow import Schema, fields, validate

from supervise.schemas import AgencyRefSchema, LocalDateTime


class TokenRequestSchema(Schema):
    username = fields.String(required=True, metadata={"description": "User name"})
    password = fields.String(required=True, load_only=True)
    otp = fields.String(load_only=True, allow_none=True, validate=validate.Length(max=40),
                        metadata={"description": "For an account that signs in with a second "
                                                 "factor: the code of its authenticator app, or "
                                                 "one of its recovery codes"})


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`"})
    expires_at = LocalDateTime()


class AgencySchema(AgencyRefSchema):
    kind = fields.String()


class MeSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    roles = fields.Method("_roles")
    agency = fields.Nested(AgencySchema)

    def _roles(self, user):
        return sorted(role.value for role in user.roles)


class ErrorSchema(Schema):
    status = fields.Integer()
    message = fields.String()
    errors = fields.Raw()
