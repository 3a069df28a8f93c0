"""Ledgers (台账): .xlsx downloads of the lists, under /api/v1/ledgers.

Each ledger takes the filters of its list (GET /findings, /referrals, /rectifications), checked
by the list's own schema, and holds exactly the rows that list would show for them, in the same
order, without pagination (`page` and `per_page` are ignored). The rows come from the same
queries, so from the same policy scope: a ledger never holds a record its reader could not open.
A filter that does not parse answers 422 and writes nothing.

Columns a reader may not see are absent, not blank:
- findings: the owner's columns (how many agencies it was shared with, the rectification state,
  report-by date and clock) only where the reader's agency records findings of its own and the
  filter includes them; the recipient's column (the handling code of the share to it) only where
  the filter includes findings shared with it. Never facts, comments, notes, attachments.
- referrals: only the two parties ever reach one, and they may read the persons involved: the
  ledger names them in full. Never the facts or other content, the answer's text, or the
  receiver's internal notes.
- rectifications: the audited unit's contact gets its own unit's items, with what its portal
  shows it (the text as issued, plan, state, deadline and clock, its own reports' sums and
  dates, the chasers sent to it); the issuing agency also the internal columns (issuing agency
  and date, sign-off date, project, category, who issued and who approved the sign-off).
- the audited unit's contact gets no findings or referrals ledger at all (404), as it gets no
  findings or referrals pages.

Headers and words are Chinese whatever the reader's language: the ledger is a Chinese document
that is printed and filed. Every export is an event naming the ledger, the filter (a search
text only as "given", never its words), the columns and the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import flash, jsonify, redirect, url_for
from flask_babel import gettext as _
from marshmallow import pre_load
from sqlalchemy.orm import joinedload

from supervise import policy
from supervise.accounts.models import Agency, User
from supervise.calendar.deadlines import ClockStatus, clock_status
from supervise.database import now_utc
from supervise.documents.models import Document, DocumentKind
from supervise.documents.operations import latest_numbers as document_numbers
from supervise.errors import InvalidInput
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings import queries as finding_queries
from supervise.findings.models import Finding, FindingStatus
from supervise.findings.schemas import FindingQuerySchema
from supervise.ledgers import jobs
from supervise.ledgers.exports_api import ExportJobSchema
from supervise.ledgers.workbook import (
    XLSX_MIMETYPE,
    Column,
    Heading,
    Kind,
    local,
    send_ledger,
    write_ledger,
)
from supervise.policy import Capability, Permission
from supervise.policy import findings as finding_access
from supervise.policy import rectifications as rectification_access
from supervise.projects.models import Project
from supervise.rectifications import queries as rectification_queries
from supervise.rectifications.models import (
    Rectification,
    RectificationState,
)
from supervise.rectifications.schemas import RectificationQuerySchema
from supervise.referrals import queries as referral_queries
from supervise.referrals.api import SORTS as REFERRAL_SORTS
from supervise.referrals.models import Referral, ReferralState
from supervise.referrals.schemas import ReferralQuerySchema
from supervise.settings.models import Category, get_setting
from supervise.vocabulary import chinese
from supervise.web import Blueprint, bearer_token, current_actor

blueprint = Blueprint("ledgers_api", __name__, description="Excel ledgers of the lists")

# Rows are read from the database this many at a time (a server-side cursor on PostgreSQL);
# what a row needs from other tables is read once per batch.
BATCH = 500

PAGING = ("page", "per_page")

BACKGROUND = ("A ledger longer than the settings allow in a request: the export job that the "
              "worker builds it in (the same job for the same filters while one is live)")

# --- the words of a Chinese ledger ----------------------------------------------------------
# A state, a kind or a clock reads as on the Chinese screens (`vocabulary.chinese`); the words of
# the filters are the ledger's own.

WEEKENDS_ONLY = "（仅按周末计算）"
CLOCK_FILTER = {"due_soon": "即将到期", "overdue": "已逾期", "running": "待报送整改情况"}
FINDING_SCOPE = {"own": "本单位的问题", "shared_with_us": "共享给本单位的问题"}
FINDING_SORT = {"created_at": "按记录时间从早到晚", "amount": "按金额从低到高",
                "-amount": "按金额从高到低", "title": "按标题"}
REFERRAL_ROLE = {"sent": "本单位移送的", "received": "移送给本单位的"}
REFERRAL_SORT = {"created_at": "按创建时间从早到晚", "acknowledge_by": "按签收期限",
                 "answer_by": "按反馈期限"}


def _clock_word(status: ClockStatus | None, complete: bool) -> str:
    if status is None:
        return ""
    return chinese(status) + ("" if complete else WEEKENDS_ONLY)


# --- filters: the lists' own schemas, without paging ----------------------------------------


class _PageFilters:
    """A page links to its ledger with its own query string, whose form sends the filters it
    leaves at "All" as empty values (`year=`): an empty filter is no filter, as on the page."""

    EMPTY_IS_ABSENT = True

    class Meta:
        exclude = PAGING

    @pre_load
    def _drop_empty(self, data, **kwargs):
        """An empty filter is no filter; the list's paging, carried over from its page, is
        nothing to a ledger, which holds every matching row."""
        return {name: data[name] for name in data
                if data[name] not in ("", None) and name not in PAGING}


class FindingLedgerQuerySchema(_PageFilters, FindingQuerySchema):
    pass


class ReferralLedgerQuerySchema(_PageFilters, ReferralQuerySchema):
    pass


class RectificationLedgerQuerySchema(_PageFilters, RectificationQuerySchema):
    pass


def _given(args: dict, names) -> dict:
    """The filter as the event records it: a search text only as given, never its words."""
    given = {}
    for name in names:
        value = args.get(name)
        if value in (None, ""):
            continue
        given[name] = True if name == "q" else value
    return given


# --- building a ledger ----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A column and how a row's value is read: value(item, extra), where `extra` is what was
    read for the item with its batch (a rectification, a chaser count, …)."""

    column: Column
    value: Callable[[Any, Any], Any]


NUMBER = Column("no", "序号", 5, Kind.INT)


@dataclass
class Ledger:
    key: str  # findings | referrals | rectifications
    name: str  # 问题台账
    fields: list[Field]
    batches: Generator[tuple[list, Callable[[Any], Any]]]  # (items, extra for an item)
    filter_words: str
    filter_details: dict
    count: Callable[[], int]  # how many rows it will hold, in one statement


def _counter(query: sa.Select) -> Callable[[], int]:
    return lambda: db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0


def _batches(statement: sa.Select) -> Iterator[list]:
    """The rows of a statement, BATCH at a time, without holding them all."""
    result = db.session.scalars(statement.execution_options(yield_per=BATCH))
    try:
        yield from result.partitions()
    finally:
        result.close()


def _rows(ledger: Ledger) -> Iterator[list]:
    number = 0
    try:
        for items, extra_for in ledger.batches:
            for item in items:
                number += 1
                extra = extra_for(item)
                yield [number, *(f.value(item, extra) for f in ledger.fields)]
    finally:
        ledger.batches.close()  # and with it the database cursor, whatever happened


def columns_of(ledger: Ledger) -> list[Column]:
    return [NUMBER, *(f.column for f in ledger.fields)]


def download_name(ledger: Ledger, now: datetime) -> str:
    return f"{ledger.name}-{local(now):%Y%m%d}.xlsx"


def write(out, user: User, ledger: Ledger, now: datetime) -> int:
    """Write the ledger's workbook into `out`; its number of rows."""
    heading = Heading.of(f"{user.agency.name}{ledger.name}", ledger.filter_words, now)
    return write_ledger(out, sheet_title=ledger.name, heading=heading,
                        columns=columns_of(ledger), rows=_rows(ledger))


def _export(user: User, ledger: Ledger):
    """Write the ledger, record the export, and send the file."""
    now = now_utc()
    return send_ledger(
        download_name(ledger, now),
        lambda out: write(out, user, ledger, now),
        lambda rows: record_event(
            "ledger.export", actor=user, object_type="ledger", object_id=ledger.key,
            details={"filter": ledger.filter_details, "rows": rows,
                     "columns": [c.key for c in columns_of(ledger)]}))


def _answer(user: User, ledger: Ledger, args: dict):
    """A ledger of at most `export_background_rows` rows is written and sent now; a longer one
    is requested from the worker (one job for the same filters while one is waiting or ready):
    202 with the job for an API client, the exports page with a word for a browser."""
    rows = ledger.count()
    if rows <= get_setting("export_background_rows"):
        return _export(user, ledger)
    ledger.batches.close()
    job, new = jobs.request_export(user, ledger.key, args, rows=rows,
                                   filter_words=ledger.filter_words,
                                   filter_details=ledger.filter_details)
    db.session.commit()
    if bearer_token() is None:
        flash(_("This ledger has %(rows)d rows: it is being prepared, and you will be notified "
                "when it is ready to download here.", rows=rows) if new else
              _("This ledger was already requested: it is listed here."), "success")
        return redirect(url_for("exports.exports"))
    response = jsonify(ExportJobSchema().dump(job))
    response.status_code = 202
    response.headers["Location"] = url_for("exports_api.export_job", export_id=job.public_id)
    return response


def _agency_name(code: str) -> str:
    return db.session.scalar(sa.select(Agency.name).where(Agency.code == code)) or code


# --- findings -------------------------------------------------------------------------------


def _finding_year(finding: Finding) -> int:
    """The year the year filter matches: the project's, or the (local) year of recording."""
    if finding.project is not None:
        return finding.project.year
    return local(finding.created_at).year


def _share_count(user: User):
    def value(finding: Finding, _extra):
        if finding.owner_agency_id != user.agency_id:
            return None
        return sum(1 for share in finding.shares if share.active)

    return value


def _handling(user: User):
    def value(finding: Finding, _extra):
        share = None if finding.owner_agency_id == user.agency_id else \
            finding_access.active_share(user, finding)
        return chinese(share.handling) if share is not None else None

    return value


@dataclass(frozen=True)
class _RectificationOfFinding:
    state: RectificationState
    due_at: datetime
    clock: ClockStatus | None
    calendar_complete: bool


def _rectifications_of(user: User, findings: list[Finding], now: datetime) -> dict:
    """The rectification items the reader may see of a batch of findings, in one statement."""
    ids = [f.id for f in findings]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Rectification.finding_id, Rectification.state, Rectification.due_at,
                  Rectification.warn_at, Rectification.rectified_at,
                  Rectification.calendar_complete)
        .where(rectification_access.visible_rectifications_clause(user),
               Rectification.finding_id.in_(ids)))
    return {row.finding_id: _RectificationOfFinding(
        row.state, row.due_at, clock_status(row.due_at, row.warn_at, row.rectified_at, now),
        row.calendar_complete) for row in rows}


def _finding_filter_words(user: User, f: finding_queries.FindingFilter) -> str:
    parts = []
    if f.scope in FINDING_SCOPE:
        parts.append(FINDING_SCOPE[f.scope])
    if f.unit:
        parts.append(f"被审计单位：{_agency_name(f.unit)}")
    if f.project:
        # Named only if the reader sees a finding of it (the list shows its name there).
        visible = finding_access.visible_findings(user).with_only_columns(Finding.project_id)
        name = db.session.scalar(sa.select(Project.name).where(
            Project.public_id == f.project, Project.id.in_(visible)))
        parts.append(f"项目：{name or f.project}")
    if f.year:
        parts.append(f"年度：{f.year}")
    if f.category:
        name = db.session.scalar(sa.select(Category.name).where(Category.code == f.category))
        parts.append(f"问题类别：{name or f.category}")
    if f.status:
        parts.append(f"状态：{chinese(FindingStatus(f.status))}")
    if f.q:
        parts.append(f"关键词：“{f.q}”")
    if f.sort in FINDING_SORT:
        parts.append(FINDING_SORT[f.sort])
    return "；".join(parts) or "全部"


@blueprint.route("/ledgers/findings.xlsx", methods=["GET"])
@blueprint.arguments(FindingLedgerQuerySchema, location="query")
@blueprint.response(200, description="The findings ledger (问题台账), an .xlsx file",
                    content_type=XLSX_MIMETYPE)
@blueprint.alt_response(202, schema=ExportJobSchema, description=BACKGROUND)
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def findings_ledger(args):
    """The findings of GET /findings for the same filters (unit, project, year, category, q,
    scope, sort), every page, with their rectification status, as an Excel ledger.

    Columns: title, audited unit, project, year, category, amount, sensitivity, status, owner;
    for the reader's own findings the number of agencies they are shared with and the
    rectification state, report-by date and clock; for findings shared with the reader the
    handling code; recorded and issued times. The audited unit's contact gets 404.

    A ledger longer than the settings' `export_background_rows` is built by the worker
    instead: 202 with the export job (GET /exports/{id}), whose file its requester downloads
    once it is ready."""
    user = current_actor()
    return _answer(user, build_findings(user, args, now_utc()), args)


def build_findings(user: User, args: dict, now: datetime) -> Ledger:
    f = finding_queries.FindingFilter.from_args(args)
    if f.errors:
        raise InvalidInput(f.errors)
    owner_columns = policy.records_findings(user) and f.scope != "shared_with_us"
    recipient_columns = f.scope != "own"

    fields = [
        Field(Column("title", "问题标题", 30), lambda x, _: x.title),
        Field(Column("unit", "被审计单位", 12), lambda x, _: x.unit.name),
        Field(Column("project", "所属项目", 20),
              lambda x, _: x.project.name if x.project else None),
        Field(Column("year", "年度", 6, Kind.INT), lambda x, _: _finding_year(x)),
        Field(Column("category", "问题类别", 12), lambda x, _: x.category.name),
        Field(Column("amount", "涉及金额", 16, Kind.AMOUNT), lambda x, _: x.amount),
        Field(Column("sensitivity", "敏感程度", 8),
              lambda x, _: chinese(x.sensitivity)),
        Field(Column("status", "状态", 9), lambda x, _: chinese(x.status)),
        Field(Column("owner", "所属单位", 11), lambda x, _: x.owner_agency.name),
    ]
    if owner_columns:
        fields.append(Field(Column("shares", "共享单位数", 8, Kind.INT), _share_count(user)))
    if recipient_columns:
        fields.append(Field(Column("handling", "共享处理要求", 14), _handling(user)))
    if owner_columns:
        fields += [
            Field(Column("rectification_state", "整改状态", 11),
                  lambda x, r: chinese(r.state) if r else None),
            Field(Column("rectification_due", "整改期限", 11, Kind.DATE),
                  lambda x, r: r.due_at if r else None),
            Field(Column("rectification_clock", "整改期限状态", 11),
                  lambda x, r: _clock_word(r.clock, r.calendar_complete) if r else None),
        ]
    fields += [
        Field(Column("created_at", "记录时间", 17, Kind.DATETIME), lambda x, _: x.created_at),
        Field(Column("issued_at", "签发时间", 17, Kind.DATETIME), lambda x, _: x.issued_at),
    ]

    matching = finding_queries.matching(user, f)
    statement = finding_queries.for_list(matching, f.sort)

    def batches():
        for items in _batches(statement):
            found = _rectifications_of(user, items, now) if owner_columns else {}
            yield items, lambda finding, found=found: found.get(finding.id)

    return Ledger(
        key="findings", name="问题台账", fields=fields, batches=batches(),
        filter_words=_finding_filter_words(user, f),
        filter_details=_given(args, ("scope", "unit", "project", "year", "category", "q",
                                     "sort")),
        count=lambda: finding_queries.count_and_total(user, f)[0])  # from the maintained totals


# --- referrals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ReferralExtra:
    chasers: int
    last_chased_at: datetime | None
    clocks: referral_queries.Clocks
    number: str | None  # of its referral letter (移送处理书)


def _persons(referral: Referral) -> str:
    return "、".join(f"{p.name}（{p.title}）" if p.title else p.name for p in referral.persons)


@blueprint.route("/ledgers/referrals.xlsx", methods=["GET"])
@blueprint.arguments(ReferralLedgerQuerySchema, location="query")
@blueprint.response(200, description="The referrals ledger (移送事项台账), an .xlsx file",
                    content_type=XLSX_MIMETYPE)
@blueprint.alt_response(202, schema=ExportJobSchema, description=BACKGROUND)
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def referrals_ledger(args):
    """The referrals of GET /referrals for the same filters (role, state, clock, sort), every
    page, with both clocks and their outcome, as an Excel ledger.

    Columns: title, kind, sender, receiver, state, sent, acknowledge-by and its clock, answer-by
    and its clock, chasers (how many, the last), disposition, answered, and the persons
    involved in full: only the two parties reach a referral. Never its facts, the answer's text
    or the receiver's internal notes. The audited unit's contact gets 404.

    A ledger longer than the settings' `export_background_rows` is built by the worker
    instead: 202 with the export job."""
    user = current_actor()
    return _answer(user, build_referrals(user, args, now_utc()), args)


def build_referrals(user: User, args: dict, now: datetime) -> Ledger:
    role, state, clock = args.get("role", ""), args.get("state", ""), args.get("clock", "")
    sort = args["sort"]

    fields = [
        Field(Column("title", "移送事项", 26), lambda x, _: x.title),
        Field(Column("document_number", "移送文号", 12), lambda x, e: e.number),
        Field(Column("kind", "移送类型", 9), lambda x, _: chinese(x.kind)),
        Field(Column("sender", "移送单位", 11), lambda x, _: x.sender_agency.name),
        Field(Column("receiver", "接收单位", 11), lambda x, _: x.receiver_agency.name),
        Field(Column("state", "状态", 11), lambda x, _: chinese(x.state)),
        Field(Column("sent_at", "移送时间", 17, Kind.DATETIME), lambda x, _: x.sent_at),
        Field(Column("acknowledge_by", "签收期限", 11, Kind.DATE),
              lambda x, _: x.acknowledge_by),
        Field(Column("acknowledge_clock", "签收期限状态", 11),
              lambda x, e: _clock_word(e.clocks.acknowledge, x.acknowledge_calendar_complete)),
        Field(Column("answer_by", "反馈期限", 11, Kind.DATE), lambda x, _: x.answer_by),
        Field(Column("answer_clock", "反馈期限状态", 11),
              lambda x, e: _clock_word(e.clocks.answer, x.answer_calendar_complete)),
        Field(Column("chasers", "催办次数", 6, Kind.INT), lambda x, e: e.chasers),
        Field(Column("last_chased_at", "最近催办时间", 17, Kind.DATETIME),
              lambda x, e: e.last_chased_at),
        Field(Column("disposition", "处置方式", 11),
              lambda x, _: chinese(x.disposition)),
        Field(Column("answered_at", "反馈时间", 17, Kind.DATETIME), lambda x, _: x.answered_at),
        Field(Column("persons", "涉及人员", 18), lambda x, _: _persons(x)),
    ]

    query = referral_queries.filtered(user, role=role, state=state, clock=clock, now=now)
    statement = referral_queries.for_list(query).order_by(*REFERRAL_SORTS[sort])

    def batches():
        for items in _batches(statement):
            chased = referral_queries.chasers(r.id for r in items)
            letters = document_numbers([r.id for r in items], DocumentKind.REFERRAL_LETTER,
                                       Document.referral_id)
            yield items, lambda referral, chased=chased, letters=letters: _ReferralExtra(
                *chased.get(referral.id, (0, None)), referral_queries.clocks(referral, now),
                letters.get(referral.id))

    words = []
    if role:
        words.append(REFERRAL_ROLE[role])
    if state:
        words.append(f"状态：{chinese(ReferralState(state))}")
    if clock:
        words.append(f"期限：{CLOCK_FILTER[clock]}")
    if sort in REFERRAL_SORT:
        words.append(REFERRAL_SORT[sort])
    return Ledger(
        key="referrals", name="移送事项台账", fields=fields, batches=batches(),
        filter_words="；".join(words) or "全部",
        filter_details=_given(args, ("role", "state", "clock", "sort")),
        count=_counter(query))


# --- rectifications -------------------------------------------------------------------------


@blueprint.route("/ledgers/rectifications.xlsx", methods=["GET"])
@blueprint.arguments(RectificationLedgerQuerySchema, location="query")
@blueprint.response(200, description="The rectification ledger (整改台账), an .xlsx file",
                    content_type=XLSX_MIMETYPE)
@blueprint.alt_response(202, schema=ExportJobSchema, description=BACKGROUND)
@policy.requires(Permission.CASE_CONTENT)
def rectifications_ledger(args):
    """The rectification items of GET /rectifications for the same filters (state, clock,
    unit), every page, as an Excel ledger: for the audited unit's contact its own unit's items.

    Columns for every reader: title as issued, unit, plan, state, report-by date and clock,
    chasers, amount, amount recovered (the sum of the reports), date of the final report. The
    issuing agency also: issuing agency and date, sign-off date, project, category, issued by,
    sign-off approved by.

    A ledger longer than the settings' `export_background_rows` is built by the worker
    instead: 202 with the export job."""
    user = current_actor()
    return _answer(user, build_rectifications(user, args, now_utc()), args)


def build_rectifications(user: User, args: dict, now: datetime) -> Ledger:
    owner = not policy.is_unit_contact(user)
    state, clock, unit = args.get("state", ""), args.get("clock", ""), args.get("unit", "")

    def internal(field: Field) -> list[Field]:
        return [field] if owner else []

    fields = [
        Field(Column("title", "问题标题（下达时）", 30), lambda x, _: x.title),
        Field(Column("document_number", "整改通知书文号", 18), lambda x, e: e[1]),
        Field(Column("unit", "整改单位", 12), lambda x, _: x.unit.name),
        *internal(Field(Column("owner", "下达单位", 11), lambda x, _: x.owner_agency.name)),
        Field(Column("plan", "整改方式", 9), lambda x, _: chinese(x.plan)),
        Field(Column("state", "整改状态", 11), lambda x, _: chinese(x.state)),
        *internal(Field(Column("issued_at", "下达日期", 11, Kind.DATE), lambda x, _: x.issued_at)),
        Field(Column("due_at", "整改期限", 11, Kind.DATE), lambda x, _: x.due_at),
        Field(Column("clock", "期限状态", 11),
              lambda x, _: _clock_word(rectification_queries.clock(x, now),
                                       x.calendar_complete)),
        Field(Column("chasers", "催办次数", 6, Kind.INT), lambda x, e: e[0]),
        Field(Column("amount", "问题金额", 16, Kind.AMOUNT), lambda x, _: x.amount),
        Field(Column("amount_recovered", "已追回（退还）金额", 16, Kind.AMOUNT),
              lambda x, _: x.amount_recovered),
        Field(Column("rectified_at", "整改完成报告日期", 11, Kind.DATE),
              lambda x, _: x.rectified_at),
        *internal(Field(Column("signed_off_at", "销号日期", 11, Kind.DATE),
                        lambda x, _: x.signed_off_at)),
        *internal(Field(Column("project", "所属项目", 20),
                        lambda x, _: x.finding.project.name if x.finding.project else None)),
        *internal(Field(Column("category", "问题类别", 12), lambda x, _: x.finding.category.name)),
        *internal(Field(Column("issued_by", "下达人", 9), lambda x, _: x.issued_by.display_name)),
        *internal(Field(Column("signed_off_by", "销号审批人", 9),
                        lambda x, _: x.signed_off_by.display_name if x.signed_off_by else None)),
    ]

    query = rectification_queries.filtered(user, state=state, clock=clock, unit=unit, now=now)
    statement = rectification_queries.for_list(query)
    if owner:
        finding = joinedload(Rectification.finding)
        statement = statement.options(
            finding.joinedload(Finding.project), finding.joinedload(Finding.category),
            joinedload(Rectification.issued_by), joinedload(Rectification.signed_off_by))

    def batches():
        for items in _batches(statement):
            chased = rectification_queries.chasers(r.id for r in items)
            notices = document_numbers([r.id for r in items], DocumentKind.RECTIFICATION_NOTICE,
                                       Document.rectification_id)
            yield items, lambda item, chased=chased, notices=notices: (
                chased.get(item.id, (0, None))[0], notices.get(item.id))

    words = []
    if state:
        words.append(f"整改状态：{chinese(RectificationState(state))}")
    if clock:
        words.append(f"期限：{CLOCK_FILTER[clock]}")
    if unit:
        words.append(f"整改单位：{_agency_name(unit)}")
    return Ledger(
        key="rectifications", name="整改台账", fields=fields, batches=batches(),
        filter_words="；".join(words) or "全部",
        filter_details=_given(args, ("state", "clock", "unit")),
        count=_counter(query))


# The ledgers by key: the endpoint whose access rule their reader must pass, and the builder.
BUILDERS: dict[str, tuple[str, Callable[[User, dict, datetime], Ledger]]] = {
    "findings": ("ledgers_api.findings_ledger", build_findings),
    "referrals": ("ledgers_api.referrals_ledger", build_referrals),
    "rectifications": ("ledgers_api.rectifications_ledger", build_rectifications),
}
