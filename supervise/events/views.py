"""The audit administrator's read-only view of the event log."""

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from supervise import policy
from supervise.database import BEIJING_TIME
from supervise.events.models import Event, Outcome
from supervise.pagination import paginate
from supervise.policy import Permission

blueprint = Blueprint("events", __name__, url_prefix="/audit")


def _local_day_start(text: str) -> datetime | None:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=BEIJING_TIME)


@blueprint.route("/events")
@policy.requires(Permission.READ_EVENTS)
def events():
    args = request.args
    query = sa.select(Event).order_by(Event.seq.desc())
    errors = []
    filters = {key: (args.get(key) or "").strip() for key in
               ("actor", "action", "outcome", "object_type", "object_id", "ip", "from", "to")}
    if filters["actor"]:
        query = query.where(Event.actor_username == filters["actor"].lower())
    if filters["action"]:
        query = query.where(Event.action.startswith(filters["action"], autoescape=True))
    if filters["outcome"]:
        if filters["outcome"] in {o.value for o in Outcome}:
            query = query.where(Event.outcome == filters["outcome"])
        else:
            errors.append(_("Unknown outcome."))
    if filters["object_type"]:
        query = query.where(Event.object_type == filters["object_type"])
    if filters["object_id"]:
        query = query.where(Event.object_id == filters["object_id"])
    if filters["ip"]:
        query = query.where(Event.ip == filters["ip"])
    for key, op in (("from", "ge"), ("to", "lt")):
        if filters[key]:
            start = _local_day_start(filters[key])
            if start is None:
                errors.append(_("Dates are written as YYYY-MM-DD."))
            elif op == "ge":
                query = query.where(Event.occurred_at >= start)
            else:
                query = query.where(Event.occurred_at < start + timedelta(days=1))
    if errors:
        query = query.where(sa.false())
    return render_template("events/list.html", page=paginate(query), filters=filters,
                           errors=errors, outcomes=list(Outcome),
                           outcome_labels={o.value: o.label for o in Outcome},
                           actions=sorted(EVENT_ACTIONS))


# Offered as suggestions in the action filter; modules add theirs as they record new actions.
EVENT_ACTIONS = {
    "auth.sign_in", "auth.sign_out", "auth.lock_out", "auth.token_issued",
    "auth.token_revoked", "access.denied", "agency.create", "agency.update", "agency.enable",
    "agency.disable", "user.create", "user.update", "user.enable", "user.disable",
    "user.reset_password", "user.set_roles", "user.change_password",
}
