"""The audit administrator's read-only view of the event log, in words, its export, and the
check of an export.

The page and the exports take the same filters, among them "sensitive reads only" (who opened a
referral's persons involved, downloaded a referral's file, exported a ledger with persons, or
looked a person up). An export is an .xlsx written by the ledgers' workbook (a Chinese document,
as every ledger) or the same rows as CSV, and is itself an event naming the filter and the
number of rows. It names the chain's head when it was made (the last event's number and hash)
and every row's hash, and holds no event after that head: uploaded later to the check page, the
rows are compared with the log, and the log's chain is verified up to that head, so that an
export shows whether it, or the log since, was changed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import load_workbook

from supervise import policy
from supervise.database import BEIJING_TIME, now_utc
from supervise.events import words
from supervise.events.log import record_event, verify_chain
from supervise.events.models import Event, EventChainHead, Outcome
from supervise.extensions import db
from supervise.i18n import combine_args
from supervise.ledgers.workbook import (
    CSV_MIMETYPE,
    TOTAL_LABEL,
    XLSX_MIMETYPE,
    Column,
    Heading,
    Kind,
    local,
    send_ledger,
    write_csv,
    write_ledger,
)
from supervise.pagination import count, paginate
from supervise.policy import Permission
from supervise.vocabulary import DOCUMENT_LOCALE
from supervise.web import current_actor

blueprint = Blueprint("events", __name__, url_prefix="/audit")

FILTERS = ("actor", "action", "outcome", "object_type", "object_id", "ip", "from", "to", "reads")

# Reads of sensitive records: each is already an event of its own; this selects them.
SENSITIVE_READS = sa.or_(
    Event.action.in_(("referral.read", "referral.person_lookup")),
    sa.and_(Event.action == "attachment.download", Event.object_type == "referrals"),
    sa.and_(Event.action.in_(("ledger.export", "ledger.export_download")),
            Event.object_id == "referrals"),
)
# A log of a million events is counted to here (500 pages), then said to be longer.
EVENTS_COUNTED = 10_000
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
    if filters["reads"]:
        if filters["reads"] == "1":
            query = query.where(SENSITIVE_READS)
        else:
            errors.append(_("Unknown filter value."))
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
    page = paginate(query, bound=EVENTS_COUNTED)
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
    Column("hash", "哈希", 30),
]
HEAD_NOTE = "链头：#{seq} {hash}"  # the chain's head when the export was made
HEAD_PATTERN = re.compile(r"链头：#(\d+) ([0-9a-f]{64})")


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
        elif key == "reads":
            value = str(words.SENSITIVE_READS_WORDS)
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
                       row.details_text, e.action, e.hash]
    finally:
        result.close()


@blueprint.route("/events.xlsx")
@policy.requires(Permission.READ_EVENTS)
def export():
    """The filtered list as an .xlsx, every page of it; recorded as an event."""
    return _export("xlsx")


@blueprint.route("/events.csv")
@policy.requires(Permission.READ_EVENTS)
def export_csv():
    """The filtered list as a .csv, every page of it; recorded as an event."""
    return _export("csv")


def _export(form: str):
    """The filtered list up to the chain's head of now, which the export names."""
    query, filters, errors = _filtered()
    back = url_for("events.events", **combine_args(filters))
    if errors:
        for error in errors:
            flash(error, "error")
        return redirect(back)
    head = db.session.execute(sa.select(EventChainHead.seq, EventChainHead.hash)).one()
    query = query.where(Event.seq <= head.seq)
    total = count(query)
    if total > EXPORT_MAX_ROWS:
        flash(_("%(n)d events match: one file holds at most %(max)d. Narrow the filter, for "
                "example by dates.", n=total, max=EXPORT_MAX_ROWS), "error")
        return redirect(back)
    now = now_utc()
    user = current_actor()
    with force_locale(DOCUMENT_LOCALE):
        heading = Heading.of("操作日志", _filter_words(filters), now,
                             note=HEAD_NOTE.format(seq=head.seq, hash=head.hash))

    def write(out) -> int:
        with force_locale(DOCUMENT_LOCALE):
            if form == "csv":
                return write_csv(out, heading=heading, columns=COLUMNS, rows=_export_rows(query))
            return write_ledger(out, sheet_title="操作日志", heading=heading, columns=COLUMNS,
                                rows=_export_rows(query))

    return send_ledger(
        f"操作日志-{local(now):%Y%m%d}.{form}", write,
        lambda rows: record_event("event.export", actor=user, object_type="events",
                                  details={"filter": {k: v for k, v in filters.items() if v},
                                           "rows": rows, "format": form, "head": head.seq}),
        mimetype=CSV_MIMETYPE if form == "csv" else XLSX_MIMETYPE)


# --- the check of an export -----------------------------------------------------------------

CHECK_MAX_BYTES = 64 * 1024 * 1024
CHECKED = ("seq", "occurred_at", "ip", "code", "hash")  # compared with the log, row by row
SHOWN_DIFFERENCES = 20


class NotAnExport(Exception):
    pass


def _sheet_rows(upload) -> Iterator[list[str]]:
    """The rows of an uploaded export, as texts, whichever of the two forms it is."""
    name = (upload.filename or "").lower()
    if name.endswith(".csv"):
        try:
            text = io.TextIOWrapper(upload.stream, encoding="utf-8-sig", newline="")
            yield from csv.reader(text)
        except (UnicodeDecodeError, csv.Error):
            raise NotAnExport from None
        return
    if not name.endswith(".xlsx"):
        raise NotAnExport
    try:
        workbook = load_workbook(upload.stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield ["" if v is None else str(v) for v in values]
        workbook.close()
    except Exception:  # noqa: BLE001 - whatever openpyxl makes of a file that is no workbook
        raise NotAnExport from None


@dataclass
class CheckResult:
    rows: int = 0
    matched: int = 0
    differing: list[int] = field(default_factory=list)  # event numbers, the first few
    missing: int = 0  # rows of the export the log does not hold
    head: int = 0
    head_found: bool = False
    chain_ok: bool = False
    chain_problem_at: int | None = None

    @property
    def ok(self) -> bool:
        return self.head_found and self.chain_ok and self.matched == self.rows


def _read_export(upload) -> tuple[int, str, list[dict]]:
    """The head (number and hash) and the rows (the CHECKED values) of an uploaded export."""
    rows = _sheet_rows(upload)
    title = next(rows, [""])
    found = HEAD_PATTERN.search(title[0] if title else "")
    headers = next(rows, [])
    wanted = {c.header: c.key for c in COLUMNS if c.key in CHECKED}
    if found is None or not set(wanted) <= set(headers):
        raise NotAnExport
    where = {wanted[h]: i for i, h in enumerate(headers) if h in wanted}
    read = []
    for row in rows:
        if not row or not row[0] or row[0] == TOTAL_LABEL:
            break
        if len(read) >= EXPORT_MAX_ROWS or len(row) < len(headers):
            raise NotAnExport
        read.append({key: row[i] for key, i in where.items()})
    return int(found.group(1)), found.group(2), read


def _checked(head_seq: int, head_hash: str, rows: list[dict]) -> CheckResult:
    result = CheckResult(rows=len(rows), head=head_seq)
    result.head_found = db.session.scalar(
        sa.select(Event.hash).where(Event.seq == head_seq)) == head_hash
    checked, problem = verify_chain()
    result.chain_ok = problem is None
    if problem is not None:
        result.chain_problem_at = problem.seq
    numbers = [int(r["seq"]) for r in rows if r["seq"].isdigit()]
    stored = {}
    for start in range(0, len(numbers), EXPORT_BATCH):
        for event in db.session.scalars(sa.select(Event).where(
                Event.seq.in_(numbers[start:start + EXPORT_BATCH]))):
            stored[event.seq] = {
                "seq": str(event.seq), "hash": event.hash, "code": event.action,
                "ip": event.ip or "",
                "occurred_at": local(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S")}
    for row in rows:
        event = stored.get(int(row["seq"])) if row["seq"].isdigit() else None
        if event is None:
            result.missing += 1
        elif all(event[k] == row[k] for k in CHECKED) and int(row["seq"]) <= head_seq:
            result.matched += 1
            continue
        if len(result.differing) < SHOWN_DIFFERENCES:
            result.differing.append(row["seq"])
    return result


@blueprint.route("/events/check", methods=["GET", "POST"])
@policy.requires(Permission.READ_EVENTS)
def check_export():
    """Upload an export of the event log: are its rows still those of the log, and is the log
    intact up to the head the export names? The check is recorded."""
    result, error = None, None
    if request.method == "POST":
        # The size first: the body is not parsed at all when it is too large.
        too_large = (request.content_length or 0) > CHECK_MAX_BYTES
        upload = None if too_large else request.files.get("file")
        if too_large:
            error = _("The file is larger than an export of the event log can be.")
        elif upload is None or not upload.filename:
            error = _("Choose the exported file (.xlsx or .csv).")
        else:
            try:
                head_seq, head_hash, rows = _read_export(upload)
            except NotAnExport:
                error = _("This is not an export of the event log (.xlsx or .csv, as exported "
                          "here, with the chain's head in its first row).")
            else:
                result = _checked(head_seq, head_hash, rows)
                record_event("event.export_check", actor=current_actor(), object_type="events",
                             outcome=Outcome.SUCCESS if result.ok else Outcome.FAILURE,
                             details={"rows": result.rows, "matched": result.matched,
                                      "head": head_seq})
                db.session.commit()
    return render_template("events/check.html", result=result, error=error), (
        422 if error else 200)
