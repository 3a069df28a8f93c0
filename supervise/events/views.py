"""The audit administrator's read-only view of the event log, in words, and its export.

The page and the export take the same filters; the export is an .xlsx written by the ledgers'
workbook (a Chinese document, as every ledger), and is itself an event naming the filter and
the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from supervise import policy
from supervise.database import BEIJING_TIME, now_utc
from supervise.events import words
from supervise.events.log import record_event
from supervise.events.models import Event, Outcome
from supervise.extensions import db
from supervise.i18n import combine_args
from supervise.ledgers.workbook import (
    Column,
    Heading,
    Kind,
    local,
    send_ledger,
    write_ledger,
)
from supervise.pagination import count, paginate
from supervise.policy import Permission
from supervise.vocabulary import DOCUMENT_LOCALE
from supervise.web import current_actor

blueprint = Blueprint("events", __name__, url_prefix="/audit")

FILTERS = ("actor", "action", "outcome", "object_type", "object_id", "ip", "from", "to")
EXPORT_BATCH = 1000
EXPORT_MAX_ROWS = 100_000  # one file; a longer list is narrowed by its filter first


def _local_day_start(text: str) -> datetime | None:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=BEIJING_TIME)


def _filtered() -> tuple[sa.Select, dict, list[str]]:
    """The events the request's filters select, newest first; the filters; their errors (a
    filter in error selects nothing)."""
    args = request.args
    query = sa.select(Event).order_by(Event.seq.desc())
    errors = []
    filters = {key: (args.get(key) or "").strip() for key in FILTERS}
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
    return query, filters, list(dict.fromkeys(errors))


@blueprint.route("/events")
@policy.requires(Permission.READ_EVENTS)
def events():
    query, filters, errors = _filtered()
    page = paginate(query)
    action_choices = words.action_choices()
    known = {prefix for prefix, _label, _codes in action_choices} | {
        code for _prefix, _label, codes in action_choices for code, _word in codes}
    return render_template(
        "events/list.html", page=page, rows=words.Describer(page.items).describe(),
        filters=filters, errors=errors, outcomes=list(Outcome), action_choices=action_choices,
        unknown_action=filters["action"] if filters["action"] not in known else "",
        object_types=[(key, str(label)) for key, label in words.OBJECT_TYPES.items()],
        export_args=combine_args(filters))


# --- the export -----------------------------------------------------------------------------

COLUMNS = [
    Column("seq", "编号", 8, Kind.INT),
    Column("occurred_at", "时间", 20),
    Column("actor", "用户", 22),
    Column("agency", "单位", 18),
    Column("ip", "IP", 16),
    Column("action", "操作", 26),
    Column("object", "操作对象", 28),
    Column("outcome", "结果", 8),
    Column("details", "详情", 60),
    Column("code", "事件代码", 24),
]


def _filter_words(filters: dict) -> str:
    """The filter in words, as the export's title names it (in the document's language)."""
    given = {k: v for k, v in filters.items() if v}
    if not given:
        return "全部"
    parts = []
    for key, value in given.items():
        if key == "outcome":
            value = words._enum_label(Outcome, value)
        elif key == "action":
            value = words.action_label(value) or (
                str(words.AREAS.get(value[:-1], value)) if value.endswith(".") else value)
        elif key == "object_type":
            value = str(words.OBJECT_TYPES.get(value, value))
        parts.append(f"{words.FILTER_KEYS[key]}：{value}")
    return "；".join(parts)


def _export_rows(query: sa.Select) -> Iterator[list]:
    result = db.session.scalars(query.execution_options(yield_per=EXPORT_BATCH))
    try:
        for batch in result.partitions():
            for row in words.Describer(batch).describe():
                e = row.event
                yield [e.seq, local(e.occurred_at).strftime("%Y-%m-%d %H:%M:%S"), row.actor,
                       row.agency, e.ip or "", row.action, row.object, row.outcome,
                       row.details_text, e.action]
    finally:
        result.close()


@blueprint.route("/events.xlsx")
@policy.requires(Permission.READ_EVENTS)
def export():
    """The filtered list as an .xlsx, every page of it; recorded as an event."""
    query, filters, errors = _filtered()
    back = url_for("events.events", **combine_args(filters))
    if errors:
        for error in errors:
            flash(error, "error")
        return redirect(back)
    total = count(query)
    if total > EXPORT_MAX_ROWS:
        flash(_("%(n)d events match: one file holds at most %(max)d. Narrow the filter, for "
                "example by dates.", n=total, max=EXPORT_MAX_ROWS), "error")
        return redirect(back)
    now = now_utc()
    user = current_actor()
    with force_locale(DOCUMENT_LOCALE):
        heading = Heading.of("操作日志", _filter_words(filters), now)
    return send_ledger(
        f"操作日志-{local(now):%Y%m%d}.xlsx",
        lambda out: _written(out, heading, query),
        lambda rows: record_event("event.export", actor=user, object_type="events",
                                  details={"filter": {k: v for k, v in filters.items() if v},
                                           "rows": rows}))


def _written(out, heading: Heading, query: sa.Select) -> int:
    with force_locale(DOCUMENT_LOCALE):
        return write_ledger(out, sheet_title="操作日志", heading=heading, columns=COLUMNS,
                            rows=_export_rows(query))
