"""Notifications under /api/v1: the caller's own, newest first, and marking them read.

An item names its kind, its record (type and id) and the link to the record's page; the title
only while the caller may read the record. Another user's notification answers 404.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from supervise import policy
from supervise.extensions import db
from supervise.notifications.models import Kind, Notification
from supervise.notifications.outbox import mark_all_read, mark_read
from supervise.notifications.preferences import email_kinds, set_preferences
from supervise.pagination import count
from supervise.policy import notifications as notification_access
from supervise.schemas import LocalDateTime, PageQuerySchema, PageSchema
from supervise.web import Blueprint, current_actor

blueprint = Blueprint("notifications_api", __name__, description="The caller's notifications")


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only the unread"})


class SubjectSchema(Schema):
    type = fields.String(attribute="subject_type")
    id = fields.String(attribute="subject_public_id")


class NotificationSchema(Schema):
    id = fields.String(attribute="public_id")
    kind = fields.Enum(Kind, by_value=True)
    kind_name = fields.Function(lambda n: n.kind.label)
    record = fields.Function(lambda n: SubjectSchema().dump(n))
    title = fields.String(allow_none=True, metadata={
        "description": "The record's title, null when the caller may no longer read it"})
    url = fields.String(allow_none=True)
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)


class NotificationPageSchema(PageSchema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer()


class MarkedSchema(Schema):
    marked = fields.Integer()


@blueprint.route("/notifications", methods=["GET"])
@blueprint.arguments(NotificationQuerySchema, location="query")
@blueprint.response(200, NotificationPageSchema)
@policy.signed_in
def list_notifications(args):
    """The caller's notifications, newest first; `unread=1` for the unread only."""
    user = current_actor()
    mine = notification_access.own_notifications(user)
    unread = mine.where(Notification.read_at.is_(None))
    query = unread if args["unread"] else mine
    page, per_page = args["page"], args["per_page"]
    rows = db.session.scalars(query.order_by(Notification.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return {"items": notification_access.listed(user, rows), "page": page,
            "per_page": per_page, "total": count(query), "unread": count(unread)}


class PreferencesSchema(Schema):
    email = fields.String(allow_none=True, metadata={
        "description": "Where notifications are also emailed; null or empty for nowhere"})
    email_kinds = fields.List(fields.String(metadata={"enum": [k.value for k in Kind]}),
                              required=True,
                              metadata={"description": "The kinds that also go by email"})


@blueprint.route("/notifications/preferences", methods=["GET"])
@blueprint.response(200, PreferencesSchema)
@policy.signed_in
def get_preferences():
    """The caller's email address and the kinds of notification that also go there."""
    user = current_actor()
    return {"email": user.email, "email_kinds": sorted(k.value for k in email_kinds(user))}


@blueprint.route("/notifications/preferences", methods=["PUT"])
@blueprint.arguments(PreferencesSchema)
@blueprint.response(200, PreferencesSchema)
@policy.signed_in
def put_preferences(data):
    """Set the address and the kinds by email; an unknown kind answers 400 and changes
    nothing."""
    user = current_actor()
    set_preferences(user, data.get("email"), data["email_kinds"])
    db.session.commit()
    return {"email": user.email, "email_kinds": sorted(k.value for k in email_kinds(user))}


@blueprint.route("/notifications/<notification_id>/read", methods=["POST"])
@blueprint.response(200, NotificationSchema)
@policy.signed_in
def read_notification(notification_id):
    """Mark one read (again: it stays read from the first time)."""
    user = current_actor()
    notification = notification_access.notification_or_404(user, notification_id,
                                                           for_update=True)
    mark_read([notification])
    db.session.commit()
    [shown] = notification_access.listed(user, [notification])
    return shown


@blueprint.route("/notifications/read", methods=["POST"])
@blueprint.response(200, MarkedSchema)
@policy.signed_in
def read_all_notifications():
    """Mark every unread notification of the caller read."""
    marked = mark_all_read(current_actor())
    db.session.commit()
    return {"marked": marked}
