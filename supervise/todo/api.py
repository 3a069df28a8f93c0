"""The to-do centre under /api/v1: the same counts and links as the home page."""

from __future__ import annotations

from marshmallow import Schema, fields

from supervise import policy
from supervise.todo.items import items_for
from supervise.web import Blueprint, current_actor

blueprint = Blueprint("todo_api", __name__, description="What waits for the caller")


class ItemSchema(Schema):
    kind = fields.String()
    label = fields.String()
    count = fields.Integer()
    url = fields.String(metadata={"description": "The page listing the records counted"})


class TodoSchema(Schema):
    items = fields.List(fields.Nested(ItemSchema))


@blueprint.route("/todo", methods=["GET"])
@blueprint.response(200, TodoSchema)
@policy.signed_in
def todo():
    """What waits for the caller or the caller's agency, by kind: how many, and where they are
    listed."""
    return {"items": items_for(current_actor())}
