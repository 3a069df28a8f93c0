"""The ledgers (台账, /api/v1/ledgers/*.xlsx): each holds exactly the rows of its list for the same
filter, typed as a spreadsheet should be, laid out to be printed and filed; a filter that does
not parse is refused with nothing exported; every export is an event; and no ledger carries what
its reader may not see (markers planted in every sensitive field are searched for in the raw
files)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.worksheet import _writer as openpyxl_sheet_writer

from supervise.accounts.models import AgencyKind
from supervise.attachments.models import Attachment
from supervise.database import BEIJING_TIME, now_utc
from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings.models import Comment, Finding, FindingStatus, Handling, Share
from supervise.ledgers import api as ledgers_api
from supervise.ledgers.workbook import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    XLSX_MIMETYPE,
    YUAN_FORMAT,
)
from supervise.rectifications import operations as rectification_operations
from supervise.rectifications.models import (
    Plan,
    Rectification,
    RectificationReport,
    RectificationState,
    RectificationStep,
)
from supervise.referrals.models import Disposition, TimelineEntry
from tests.factories import AgencyFactory, FindingFactory, ProjectFactory, UserFactory
from tests.referrals.factories import S, make_world, referral_in
from tests.support.api import statements_per_caller
from tests.support.files import package_text

LEDGERS = ("findings", "referrals", "rectifications")
NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


# --- reading a ledger -----------------------------------------------------------------------


class Sheet:
    """A downloaded ledger: the workbook as openpyxl reads it, and the raw files."""

    def __init__(self, data: bytes):
        self.data = data
        self.wb = load_workbook(io.BytesIO(data))
        self.ws = self.wb.worksheets[0]
        rows = list(self.ws.iter_rows())
        self.title = rows[0][0].value
        self.headers = [c.value for c in rows[1]]
        self.rows, total = rows[2:-1], rows[-1]
        assert total[0].value == "合计", "a ledger ends with its total row"
        self.total = dict(zip(self.headers, (c.value for c in total), strict=True))

    def column(self, header: str) -> list:
        i = self.headers.index(header)
        return [row[i].value for row in self.rows]

    def cells(self, header: str) -> list:
        i = self.headers.index(header)
        return [row[i] for row in self.rows]

    def raw_text(self) -> str:
        return package_text(self.data)

    def raw_values(self, header: str) -> list[str | None]:
        """A column's values exactly as the file carries them (<v> of each cell)."""
        letter = self.cells(header)[0].column_letter if self.rows else None
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            root = ElementTree.fromstring(  # noqa: S314 (a file the app just wrote)
                archive.read("xl/worksheets/sheet1.xml"))
        values = []
        for row in root.iterfind("x:sheetData/x:row", NS):
            if not 3 <= int(row.get("r")) < 3 + len(self.rows):
                continue
            cell = row.find(f"x:c[@r='{letter}{row.get('r')}']", NS)
            v = cell.find("x:v", NS) if cell is not None else None
            values.append(v.text if v is not None else None)
        return values


def download(caller, ledger, **params):
    response = caller.get(f"/ledgers/{ledger}.xlsx", query_string=params)
    try:
        return response.status_code, response.get_data(), response.headers.copy()
    finally:
        response.close()


def ledger_of(caller, ledger, **params) -> Sheet:
    status, data, headers = download(caller, ledger, **params)
    assert status == 200, data[:500]
    assert headers["Content-Type"] == XLSX_MIMETYPE
    return Sheet(data)


def local_today() -> date:
    return datetime.now(UTC).astimezone(BEIJING_TIME).date()


def list_titles(caller, url, **params) -> list[str]:
    """Every title of a list API, page after page, in order."""
    titles, page = [], 1
    while True:
        response = caller.get(url, query_string={**params, "page": page, "per_page": 100})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        titles += [item["title"] for item in body["items"]]
        if page * 100 >= body["total"]:
            return titles
        page += 1


def exports() -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(
        sa.select(Event).where(Event.action == "ledger.export").order_by(Event.seq)))


# --- the district ---------------------------------------------------------------------------


@pytest.fixture
def world(client):
    """The district, with a second audited unit, a system administrator and a project."""
    w = make_world(client)
    w.health = AgencyFactory(code="health", name="区卫健委", kind=AgencyKind.AUDITED_UNIT)
    w.health_contact = UserFactory(username="health.contact", agency=w.health)
    w.sysadmin = UserFactory(username="sys.admin", agency=w.audit, roles=["sysadmin"])
    w.project = ProjectFactory(lead_agency=w.audit, year=2020,
                               name="2020年度区教育局部门预算执行审计",
                               created_by_id=w.audit_staff.id)
    return w


def finding(w, *, owner=None, unit=None, **kwargs):
    owner = owner or w.audit
    creator = {w.audit.id: w.audit_staff, w.inspection.id: w.insp_staff}[owner.id]
    return FindingFactory(owner_agency=owner, unit=unit or w.edu, created_by=creator, **kwargs)


def share(w, target, agency, handling=Handling.MAY_REFER, **kwargs):
    by = w.audit_staff if target.owner_agency_id == w.audit.id else w.insp_staff
    share = Share(finding=target, agency=agency, handling=handling, shared_by=by, **kwargs)
    db.session.add(share)
    db.session.commit()
    return share


def rectify(w, target, plan=Plan.STAGED, *, state=None, due_at=None, **fields):
    """Issue a finding for rectification as the operation does, then move it as told."""
    item = rectification_operations.issue_rectification(w.audit_staff, target, plan.value)
    if state is not None:
        item.state = state
    if due_at is not None:  # a date chosen here, counted with no calendar
        item.due_at, item.warn_at = due_at, due_at - timedelta(days=7)
        item.calendar_complete = True
    for name, value in fields.items():
        setattr(item, name, value)
    db.session.commit()
    return item


@pytest.fixture
def many(world):
    """Findings of both agencies in every shape the filters and sorts tell apart."""
    w = world
    old_project = ProjectFactory(lead_agency=w.audit, year=2019, name="2019年度专项审计",
                                 created_by_id=w.audit_staff.id)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    specs = [
        ("ABC公司违规发放津补贴", w.edu, w.project, "allowances", "100.10", base),
        ("公务接待超标准", w.edu, w.project, "three_public", "0.20", base + timedelta(hours=1)),
        ("政府采购未公开招标", w.health, old_project, "procurement", None,
         base + timedelta(hours=2)),
        ("固定资产账实不符", w.health, None, "state_assets", "8.20", base + timedelta(hours=3)),
        ("跨年记录的问题 100%完成", w.edu, None, "other", "1234567.89",
         datetime(2019, 12, 31, 17, 0, tzinfo=UTC)),
        ("=1+1 以等号开头的标题", w.edu, w.project, "other", "5000.00",
         base + timedelta(hours=4)),
    ]
    w.made = {}
    for title, unit, project, category, amount, created_at in specs:
        w.made[title] = finding(w, title=title, unit=unit, project=project,
                                category_code=category, created_at=created_at,
                                amount=Decimal(amount) if amount else None,
                                facts=f"{title}的事实。")
    w.made["草稿问题"] = finding(w, title="草稿问题", status=FindingStatus.DRAFT, issued_at=None,
                             created_at=base + timedelta(hours=5))
    w.made["巡察发现的问题"] = finding(w, owner=w.inspection, title="巡察发现的问题",
                                 created_at=base + timedelta(hours=6))
    share(w, w.made["ABC公司违规发放津补贴"], w.inspection, Handling.READ_ONLY)
    share(w, w.made["ABC公司违规发放津补贴"], w.org)
    share(w, w.made["固定资产账实不符"], w.inspection)
    share(w, w.made["巡察发现的问题"], w.audit)
    w.rectified = rectify(w, w.made["ABC公司违规发放津补贴"], state=RectificationState.IN_PROGRESS,
                          due_at=now_utc() - timedelta(days=1))
    w.old_project = old_project
    return w


# --- findings -------------------------------------------------------------------------------


FINDING_FILTERS = [
    {}, {"unit": "edu"}, {"unit": "health", "sort": "title"}, {"year": 2020}, {"year": 2019},
    {"category": "other"}, {"q": "abc"}, {"q": "100%"}, {"q": "账实不符的事实"},
    {"scope": "own"}, {"scope": "shared_with_us"}, {"sort": "-amount"}, {"sort": "amount"},
    {"sort": "created_at"}, {"unit": "nowhere"}, {"q": "没有这样的问题"},
]


@pytest.mark.parametrize("who", ["audit_staff", "insp_staff", "org_staff"])
def test_the_findings_ledger_holds_the_rows_of_the_list(many, as_, who):
    caller = as_(who)
    for params in FINDING_FILTERS:
        sheet = ledger_of(caller, "findings", **params)
        assert sheet.column("问题标题") == list_titles(caller, "/findings", **params), params
        assert sheet.column("序号") == list(range(1, len(sheet.rows) + 1))
    project = ledger_of(caller, "findings", project=many.project.public_id)
    assert project.column("问题标题") == list_titles(caller, "/findings",
                                                 project=many.project.public_id)
    assert ledger_of(as_("audit_staff"), "findings", scope="own", unit="nowhere").rows == []


def test_filters_a_page_leaves_at_all_are_no_filters(many, rectifications, referrals, as_):
    """A page's form sends `year=` for "All"; the page links to its ledger with its query."""
    caller = as_("audit_staff")
    page_query = {"scope": "own", "unit": "", "project": "", "year": "", "category": "",
                  "q": "", "sort": "-amount"}
    assert ledger_of(caller, "findings", **page_query).column("问题标题") == \
        list_titles(caller, "/findings", scope="own", sort="-amount")
    assert ledger_of(caller, "referrals", role="sent", state="", clock="").column(
        "移送事项") == list_titles(caller, "/referrals", role="sent")
    assert ledger_of(caller, "rectifications", state="", clock="", unit="").column(
        "问题标题（下达时）") == list_titles(caller, "/rectifications")
    assert download(caller, "findings", year=" ")[0] == 422


def list_items(caller, url, **params) -> list[dict]:
    items, page = [], 1
    while True:
        body = caller.get(url, query_string={**params, "page": page, "per_page": 100}).get_json()
        items += body["items"]
        if page * 100 >= body["total"]:
            return items
        page += 1


@pytest.mark.parametrize("params", [{}, {"unit": "edu"}, {"q": "abc"}, {"unit": "nowhere"}])
def test_the_total_row_counts_and_sums_what_the_list_holds(many, rectifications, as_, params):
    caller = as_("audit_staff")
    for ledger, amounts in (("findings", ["涉及金额"]),
                            ("rectifications", ["问题金额", "已追回（退还）金额"])):
        query = params if ledger == "findings" else {
            k: v for k, v in params.items() if k == "unit"}
        sheet = ledger_of(caller, ledger, **query)
        items = list_items(caller, f"/{ledger}", **query)
        assert sheet.total["序号"] == "合计"
        assert sheet.total[sheet.headers[1]] == f"共{len(items)}项"
        for header in amounts:
            assert Decimal(str(sheet.total[header])) == sum(
                (Decimal(v) for v in sheet.raw_values(header) if v), Decimal(0))
        listed = sum((Decimal(i["amount"]) for i in items if i.get("amount")), Decimal(0))
        assert Decimal(str(sheet.total[amounts[0]])) == listed, ledger
        # Nothing else is summed: a year or a count of chasers is not a total.
        assert {h for h, v in sheet.total.items() if v is not None} == {
            "序号", sheet.headers[1], *amounts}


def test_an_empty_ledger_totals_nothing(world, as_):
    sheet = ledger_of(as_("audit_staff"), "findings", unit="nowhere")
    assert sheet.rows == []
    assert sheet.total["问题标题"] == "共0项" and sheet.total["涉及金额"] == 0
    with zipfile.ZipFile(io.BytesIO(sheet.data)) as archive:
        assert "<v>0.00</v>" in archive.read("xl/worksheets/sheet1.xml").decode()


def test_paging_is_ignored(many, as_):
    caller = as_("audit_staff")
    sheet = ledger_of(caller, "findings", page=3, per_page=1000)
    assert len(sheet.rows) == len(list_titles(caller, "/findings")) == 8


def test_the_findings_ledger_in_batches_holds_the_same_rows(many, as_, monkeypatch):
    monkeypatch.setattr(ledgers_api, "BATCH", 2)
    caller = as_("audit_staff")
    sheet = ledger_of(caller, "findings", sort="-amount")
    assert sheet.column("问题标题") == list_titles(caller, "/findings", sort="-amount")
    # What is read per batch (the rectification) still lands on its own row.
    states = dict(zip(sheet.column("问题标题"), sheet.column("整改状态"), strict=True))
    assert states["ABC公司违规发放津补贴"] == "整改中"
    assert {t for t, s in states.items() if s} == {"ABC公司违规发放津补贴"}


def test_the_findings_ledger_layout_and_types(many, as_):
    caller = as_("audit_staff")
    status, data, headers = download(caller, "findings", unit="edu", year=2020, sort="-amount")
    assert status == 200
    assert headers["Content-Type"] == XLSX_MIMETYPE
    disposition = headers["Content-Disposition"]
    today = local_today()
    assert f"filename*=UTF-8''{quote('问题台账')}-{today:%Y%m%d}.xlsx" in disposition
    assert headers["Cache-Control"] == "no-store"
    assert int(headers["Content-Length"]) == len(data)
    sheet = Sheet(data)
    ws = sheet.ws

    # Row 1: the agency, the ledger, the filter in words, the time of export.
    assert sheet.title.startswith("区审计局问题台账")
    assert "筛选条件：被审计单位：区教育局；年度：2020；按金额从高到低" in sheet.title
    assert re.search(r"导出时间：\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", sheet.title)
    assert "A1:" in str(ws.merged_cells)
    # Row 2: Chinese headers; the owner's columns and, as the filter takes in findings shared
    # with the audit bureau too, the recipient's.
    assert sheet.headers == ["序号", "问题标题", "被审计单位", "所属项目", "年度", "问题类别",
                             "涉及金额", "敏感程度", "状态", "所属单位", "共享单位数",
                             "共享处理要求", "整改状态", "整改期限", "整改期限状态", "记录时间",
                             "签发时间"]
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == f"A2:Q{2 + len(sheet.rows)}"
    assert ws.column_dimensions["B"].width == 30
    assert all(ws.column_dimensions[letter].width for letter in "ABCDEFGHIJKLMNOPQ")
    # Printed: A4 landscape at full size, headers and row numbers on every page, the title in
    # the page header, the page numbers in the footer (tests/ledgers/test_printing.py prints it).
    assert (ws.page_setup.orientation, ws.page_setup.paperSize) == ("landscape", 9)
    assert not ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.scale == 100
    assert (ws.print_title_rows, ws.print_title_cols) == ("$2:$2", "$A:$A")
    assert ws.print_area == f"'问题台账'!$A$2:$Q${3 + len(sheet.rows)}"
    assert ws.oddHeader.left.text == "区审计局问题台账"
    assert ws.oddHeader.center.text.startswith("筛选条件：被审计单位：区教育局")
    assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    # Every text wraps, and each row is as high as its longest text needs.
    assert all(c.alignment.wrap_text for c in sheet.cells("问题标题"))
    heights = [ws.row_dimensions[3 + i].height for i in range(4)]
    assert heights[0] < heights[1] == heights[3]  # the project's name takes two lines

    assert sheet.column("问题标题") == ["跨年记录的问题 100%完成", "=1+1 以等号开头的标题",
                                    "ABC公司违规发放津补贴", "公务接待超标准"]
    assert sheet.column("年度") == [2020, 2020, 2020, 2020]
    assert sheet.column("问题类别") == ["其他", "其他", "违规发放津补贴", "“三公”经费"]
    assert sheet.column("所属项目") == [None, *[many.project.name] * 3]
    assert sheet.column("状态") == ["已签发"] * 4
    assert sheet.column("共享单位数") == [0, 0, 2, 0]
    # Amounts: numbers in yuan, and exactly the stored decimals in the file.
    for cell in sheet.cells("涉及金额"):
        assert cell.data_type == "n" and cell.number_format == YUAN_FORMAT
    assert sheet.raw_values("涉及金额") == ["1234567.89", "5000.00", "100.10", "0.20"]
    assert sheet.column("涉及金额") == [1234567.89, 5000, 100.1, 0.2]
    # Times: spreadsheet dates, in Shanghai time (17:00 UTC on 31 Dec is 01:00 on 1 Jan).
    recorded = sheet.cells("记录时间")
    assert all(isinstance(c.value, datetime) and c.number_format == DATETIME_FORMAT
               for c in recorded)
    assert recorded[0].value == datetime(2020, 1, 1, 1, 0)
    assert sheet.column("签发时间")[0].date() >= today - timedelta(days=1)
    # The rectification of a finding: its state, report-by date and clock.
    row = sheet.column("问题标题").index("ABC公司违规发放津补贴")
    due = sheet.cells("整改期限")[row]
    assert due.number_format == DATE_FORMAT and isinstance(due.value, datetime)
    assert due.value.date() == many.rectified.due_at.astimezone(
        BEIJING_TIME).date()
    assert sheet.column("整改状态")[row] == "整改中"
    assert sheet.column("整改期限状态")[row] == "已逾期"
    assert [s for i, s in enumerate(sheet.column("整改状态")) if i != row] == [None] * 3
    # A title that begins with "=" is text, not a formula.
    formula_cell = sheet.cells("问题标题")[1]
    assert formula_cell.data_type == "s"
    assert "<f>" not in sheet.raw_text()


def test_recipients_read_their_handling_code_and_no_owner_columns(many, as_):
    sheet = ledger_of(as_("insp_staff"), "findings", scope="shared_with_us")
    assert sheet.headers == ["序号", "问题标题", "被审计单位", "所属项目", "年度", "问题类别",
                             "涉及金额", "敏感程度", "状态", "所属单位", "共享处理要求", "记录时间",
                             "签发时间"]
    assert dict(zip(sheet.column("问题标题"), sheet.column("共享处理要求"), strict=True)) == {
        "ABC公司违规发放津补贴": "仅供阅知，不得转送", "固定资产账实不符": "可用于移送"}
    # The organisation department records no findings: never the owner's columns.
    org = ledger_of(as_("org_staff"), "findings")
    assert not {"共享单位数", "整改状态", "整改期限"} & set(org.headers)
    assert org.column("问题标题") == ["ABC公司违规发放津补贴"]
    # The inspection office's own and shared findings together: both kinds of column.
    both = ledger_of(as_("insp_staff"), "findings")
    assert {"共享单位数", "共享处理要求", "整改状态"} <= set(both.headers)
    rows = dict(zip(both.column("问题标题"),
                    zip(both.column("共享单位数"), both.column("共享处理要求"), strict=True),
                    strict=True))
    assert rows["巡察发现的问题"] == (1, None)
    assert rows["ABC公司违规发放津补贴"] == (None, "仅供阅知，不得转送")
    # The inspection office does not see the audit bureau's rectification items.
    assert set(both.column("整改状态")) == {None}


# --- referrals ------------------------------------------------------------------------------


@pytest.fixture
def referrals(world):
    w = world
    now = now_utc()
    made = {
        "draft": referral_in(w, S.DRAFT, title="草稿移送"),
        "sent": referral_in(w, S.SENT, title="待签收的线索"),
        "late": referral_in(w, S.SENT, title="逾期未签收的线索", sent_at=now - timedelta(days=30)),
        "handling": referral_in(w, S.IN_HANDLING, title="办理中的线索",
                                sent_at=now - timedelta(days=80)),
        "closed": referral_in(w, S.CLOSED, title="已办结的线索",
                              persons=(("王某某", "局长"), ("赵某", ""))),
        "returned": referral_in(w, S.RETURNED, title="被退回的线索"),
    }
    # The commission's own referral to the finance bureau: the audit bureau is no party.
    made["other"] = referral_in(w, S.SENT, title="纪委移送财政局的事项",
                                sender_agency=w.discipline, receiver_agency=w.finance,
                                created_by=w.disc_staff)
    for _ in range(2):
        db.session.add(TimelineEntry(referral=made["late"], action="chase", actor=w.audit_staff,
                                     agency=w.audit, comment="请尽快签收",
                                     at=now - timedelta(days=2)))
    db.session.commit()
    w.referrals = made
    return w


REFERRAL_FILTERS = [
    {}, {"role": "sent"}, {"role": "received"}, {"state": "sent"}, {"state": "closed"},
    {"clock": "overdue"}, {"clock": "due_soon"}, {"sort": "answer_by"},
    {"sort": "acknowledge_by"}, {"sort": "created_at"}, {"state": "withdrawn"},
    {"role": "received", "state": "sent"},
]


@pytest.mark.parametrize("who", ["audit_staff", "disc_staff", "disc_leader"])
def test_the_referrals_ledger_holds_the_rows_of_the_list(referrals, as_, who):
    caller = as_(who)
    for params in REFERRAL_FILTERS:
        sheet = ledger_of(caller, "referrals", **params)
        assert sheet.column("移送事项") == list_titles(caller, "/referrals", **params), params


def test_the_referrals_ledger_in_batches_holds_the_same_rows(referrals, as_, monkeypatch):
    monkeypatch.setattr(ledgers_api, "BATCH", 2)
    caller = as_("audit_staff")
    sheet = ledger_of(caller, "referrals", sort="created_at")
    assert sheet.column("移送事项") == list_titles(caller, "/referrals", sort="created_at")
    chased = dict(zip(sheet.column("移送事项"), sheet.column("催办次数"), strict=True))
    assert chased["逾期未签收的线索"] == 2
    assert {chased[t] for t in chased if t != "逾期未签收的线索"} == {0}


def test_the_referrals_ledger_columns_and_clocks(referrals, as_):
    w = referrals
    sheet = ledger_of(as_("audit_staff"), "referrals")
    assert sheet.title.startswith("区审计局移送事项台账") and "筛选条件：全部" in sheet.title
    assert sheet.headers == ["序号", "移送事项", "移送文号", "移送类型", "移送单位", "接收单位",
                             "状态", "移送时间", "签收期限", "签收期限状态", "反馈期限",
                             "反馈期限状态", "催办次数", "最近催办时间", "处置方式", "反馈时间",
                             "涉及人员"]
    ws = sheet.ws
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref == f"A2:Q{2 + len(sheet.rows)}"
    rows = {row[1].value: {h: c for h, c in zip(sheet.headers, row, strict=True)}
            for row in sheet.rows}
    late, closed, draft = rows["逾期未签收的线索"], rows["已办结的线索"], rows["草稿移送"]
    assert late["状态"].value == "已移送待签收" and late["移送类型"].value == "问题线索"
    assert late["签收期限状态"].value == "已逾期"
    assert late["催办次数"].value == 2 and isinstance(late["最近催办时间"].value, datetime)
    assert late["签收期限"].number_format == DATE_FORMAT
    assert late["签收期限"].value.date() == w.referrals["late"].acknowledge_by.astimezone(
        BEIJING_TIME).date()
    assert late["移送时间"].number_format == DATETIME_FORMAT
    assert closed["处置方式"].value == "初步核实"
    # A deadline counted without the official calendar of its year says so.
    assert closed["签收期限状态"].value == "按期" + ("" if w.referrals[
        "closed"].acknowledge_calendar_complete else "（仅按周末计算）")
    assert closed["反馈期限状态"].value == "按期" + ("" if w.referrals[
        "closed"].answer_calendar_complete else "（仅按周末计算）")
    assert isinstance(closed["反馈时间"].value, datetime)
    assert closed["涉及人员"].value == "王某某（局长）、赵某"
    assert draft["移送时间"].value is None and draft["签收期限状态"].value is None
    assert rows["被退回的线索"]["签收期限状态"].value.startswith("已停止")
    assert "纪委移送财政局的事项" not in rows
    # The receiver never sees a draft; it reads the same persons.
    received = ledger_of(as_("disc_staff"), "referrals", role="received")
    assert "草稿移送" not in received.column("移送事项")
    assert "王某某（局长）、赵某" in received.column("涉及人员")


# --- rectifications -------------------------------------------------------------------------


@pytest.fixture
def rectifications(world):
    w = world
    now = now_utc()
    items = {}
    specs = [
        ("教育局未整改问题", w.edu, RectificationState.NOT_STARTED, now + timedelta(days=40)),
        ("教育局逾期问题", w.edu, RectificationState.IN_PROGRESS, now - timedelta(days=3)),
        ("教育局即将到期问题", w.edu, RectificationState.LONG_TERM, now + timedelta(days=2)),
        ("卫健委已销号问题", w.health, RectificationState.SIGNED_OFF, now - timedelta(days=10)),
        ("卫健委待核实问题", w.health, RectificationState.PENDING_VERIFICATION,
         now + timedelta(days=20)),
    ]
    for title, unit, state, due_at in specs:
        target = finding(w, title=title, unit=unit, project=w.project,
                         amount=Decimal("1000.10"))
        items[title] = rectify(w, target, Plan.LONG_TERM if state == RectificationState.LONG_TERM
                               else Plan.STAGED, state=state, due_at=due_at)
    done = items["卫健委已销号问题"]
    done.rectified_at, done.signed_off_at = now - timedelta(days=12), now - timedelta(days=11)
    done.signed_off_by = w.audit_leader
    for amount in ("300.10", "0.20"):
        db.session.add(RectificationReport(rectification=done, submitted_by=w.health_contact,
                                           measures="已追回", amount_recovered=Decimal(amount),
                                           final=True))
    db.session.add(RectificationStep(rectification=items["教育局逾期问题"], action="chase",
                                     actor=w.audit_staff, agency_id=w.audit.id,
                                     comment="请尽快整改"))
    # Another audit bureau's item about the same unit.
    other = FindingFactory(owner_agency=w.audit2, unit=w.edu, created_by=w.audit2_staff,
                           title="邻区审计局的问题")
    items["邻区审计局的问题"] = rectification_operations.issue_rectification(
        w.audit2_staff, other, "staged")
    db.session.commit()
    w.items = items
    return w


RECTIFICATION_FILTERS = [
    {}, {"unit": "edu"}, {"unit": "health"}, {"state": "signed_off"}, {"state": "in_progress"},
    {"clock": "overdue"}, {"clock": "due_soon"}, {"unit": "nowhere"}, {"state": "verified"},
]

UNIT_HEADERS = ["序号", "问题标题（下达时）", "整改通知书文号", "整改单位", "整改方式", "整改状态",
                "整改期限", "期限状态", "催办次数", "问题金额", "已追回（退还）金额",
                "整改完成报告日期"]
INTERNAL_HEADERS = ["下达单位", "下达日期", "销号日期", "所属项目", "问题类别", "下达人",
                    "销号审批人"]


@pytest.mark.parametrize("who", ["audit_staff", "audit_leader", "unit_contact",
                                 "health_contact", "audit2_staff"])
def test_the_rectifications_ledger_holds_the_rows_of_the_list(rectifications, as_, who):
    caller = as_(who)
    for params in RECTIFICATION_FILTERS:
        sheet = ledger_of(caller, "rectifications", **params)
        expected = list_titles(caller, "/rectifications", **params)
        assert sheet.column("问题标题（下达时）") == expected, params


def test_the_unit_contact_gets_only_its_own_units_items(rectifications, as_):
    edu = ledger_of(as_("unit_contact"), "rectifications")
    assert edu.column("问题标题（下达时）") == ["教育局逾期问题", "教育局即将到期问题",
                                          "教育局未整改问题", "邻区审计局的问题"]
    assert set(edu.column("整改单位")) == {"区教育局"}
    assert edu.title.startswith("区教育局整改台账")
    health = ledger_of(as_("health_contact"), "rectifications")
    assert health.column("问题标题（下达时）") == ["卫健委已销号问题", "卫健委待核实问题"]
    assert ledger_of(as_("health_contact"), "rectifications", unit="edu").rows == []
    # Columns it may not see are absent, not blank.
    assert edu.headers == UNIT_HEADERS
    raw = edu.raw_text()
    for internal in (*INTERNAL_HEADERS, "审计员甲", "审计局长", "区审计局", "邻区审计局",
                     "2020年度区教育局部门预算执行审计"):
        assert f">{internal}<" not in raw and f"{internal}（" not in raw, internal
    # It gets no findings or referrals ledger, and nothing is exported.
    for ledger in ("findings", "referrals"):
        status, _data, _headers = download(as_("unit_contact"), ledger)
        assert status == 404
    assert [e.object_id for e in exports()] == ["rectifications", "rectifications",
                                                "rectifications"]


def test_the_rectifications_ledger_columns(rectifications, as_):
    sheet = ledger_of(as_("audit_staff"), "rectifications")
    assert sheet.headers == ["序号", "问题标题（下达时）", "整改通知书文号", "整改单位", "下达单位",
                             "整改方式",
                             "整改状态", "下达日期", "整改期限", "期限状态", "催办次数", "问题金额",
                             "已追回（退还）金额", "整改完成报告日期", "销号日期", "所属项目",
                             "问题类别", "下达人", "销号审批人"]
    assert "邻区审计局的问题" not in sheet.column("问题标题（下达时）")
    rows = {row[1].value: {h: c for h, c in zip(sheet.headers, row, strict=True)}
            for row in sheet.rows}
    done, late = rows["卫健委已销号问题"], rows["教育局逾期问题"]
    assert done["整改状态"].value == "已销号" and done["期限状态"].value.startswith("按期")
    assert done["已追回（退还）金额"].number_format == YUAN_FORMAT
    assert done["已追回（退还）金额"].value == pytest.approx(300.3)
    assert done["销号审批人"].value == "审计局长" and done["下达人"].value == "审计员甲"
    assert isinstance(done["销号日期"].value, datetime)
    assert done["销号日期"].number_format == DATE_FORMAT
    assert late["期限状态"].value.startswith("已逾期") and late["催办次数"].value == 1
    assert rows["教育局即将到期问题"]["期限状态"].value.startswith("即将到期")
    assert rows["教育局即将到期问题"]["整改方式"].value == "持续整改"
    assert late["所属项目"].value == "2020年度区教育局部门预算执行审计"
    assert late["问题类别"].value == "违规发放津补贴"
    assert sheet.raw_values("已追回（退还）金额")[
        list(rows).index("卫健委已销号问题")] == "300.30"
    assert set(sheet.raw_values("问题金额")) == {"1000.10"}


# --- bad filters, who may download, the event -----------------------------------------------


@pytest.mark.parametrize("ledger, params", [
    ("findings", {"scope": "everything"}), ("findings", {"sort": "id"}),
    ("findings", {"year": "二〇二〇"}), ("findings", {"year": 1850}),
    ("findings", {"q": "x" * 201}),
    ("referrals", {"role": "both"}), ("referrals", {"state": "lost"}),
    ("referrals", {"clock": "late"}), ("referrals", {"sort": "title"}),
    ("rectifications", {"state": "done"}), ("rectifications", {"clock": "soon"}),
])
def test_a_filter_that_does_not_parse_is_a_422_and_exports_nothing(world, as_, ledger, params):
    response = as_("audit_staff").get(f"/ledgers/{ledger}.xlsx", query_string=params)
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(params) <= set(body["errors"]) and body["message"]
    assert exports() == []


def test_signed_out_and_administrators_get_nothing(world, as_, client):
    for ledger in LEDGERS:
        assert client.get(f"/api/v1/ledgers/{ledger}.xlsx").status_code == 401
        assert download(as_("sysadmin"), ledger)[0] == 403
    assert exports() == []


def test_a_signed_in_browser_downloads_with_its_session(many, client):
    assert client.sign_in("audit.staff").status_code == 302
    response = client.get("/api/v1/ledgers/findings.xlsx?unit=edu&page=2")
    try:
        assert response.status_code == 200 and response.mimetype == XLSX_MIMETYPE
        assert len(Sheet(response.get_data()).rows) == 6
    finally:
        response.close()


def test_an_export_is_an_event(many, as_):
    ledger_of(as_("audit_staff"), "findings", unit="edu", q="张某某", year=2020)
    ledger_of(as_("audit_staff"), "findings", unit="edu", q="的事实", year=2020)
    ledger_of(as_("unit_contact"), "rectifications", state="in_progress")
    nothing, findings, rectifications = exports()
    assert json.loads(nothing.details)["rows"] == 0
    assert (findings.actor_username, findings.object_type, findings.object_id) == \
        ("audit.staff", "ledger", "findings")
    assert "张某某" not in nothing.details and "的事实" not in findings.details
    details = json.loads(findings.details)
    assert details["filter"] == {"unit": "edu", "q": True, "year": 2020, "sort": "-created_at"}
    assert details["rows"] == 4
    assert details["columns"][:3] == ["no", "title", "unit"]
    assert (rectifications.actor_username, rectifications.object_id) == \
        ("unit.contact", "rectifications")
    assert json.loads(rectifications.details) == {
        "filter": {"state": "in_progress"}, "rows": 1,
        "columns": ["no", "title", "document_number", "unit", "plan", "state", "due_at",
                    "clock", "chasers", "amount", "amount_recovered", "rectified_at"]}


def test_no_temporary_file_stays_behind(many, as_):
    before = list(openpyxl_sheet_writer.ALL_TEMP_FILES)
    for ledger in LEDGERS:
        ledger_of(as_("audit_staff"), ledger)
    assert before == openpyxl_sheet_writer.ALL_TEMP_FILES


def test_a_failure_while_writing_leaves_no_file_and_no_event(many, as_, monkeypatch):
    def broken(finding):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ledgers_api, "_finding_year", broken)
    before = list(openpyxl_sheet_writer.ALL_TEMP_FILES)
    with pytest.raises(RuntimeError):
        as_("audit_staff").get("/ledgers/findings.xlsx")
    assert before == openpyxl_sheet_writer.ALL_TEMP_FILES
    assert exports() == []


# --- what no ledger may carry ---------------------------------------------------------------

PERSON_MARKERS = ("MARK-PERSON-1", "MARK-POSITION-1")
NEVER_MARKERS = ("MARK-FACTS-1", "MARK-FINDING-FACTS-1", "MARK-COMMENT-1", "MARK-NOTE-1",
                 "MARK-FILE-1", "MARK-FILE-2", "MARK-FILE-3", "MARK-RESULT-1",
                 "MARK-SHARE-NOTE-1", "MARK-MEASURES-1", "MARK-CHASER-1", "MARK-BASIS-1")
READERS = ("audit_staff", "audit_leader", "disc_staff", "disc_leader", "insp_staff",
           "org_staff", "unit_contact", "audit2_staff")


def _file(owner: dict, name: str, user) -> Attachment:
    return Attachment(**owner, filename=name, content_type="application/pdf", size=1,
                      sha256="0" * 64, storage_name=name.lower(), uploaded_by=user)


@pytest.fixture
def planted(world):
    """Markers in every sensitive field of a finding shared with the inspection office and
    the organisation department, referred to the commission, and issued for rectification."""
    w = world
    target = finding(w, title="市场监管专项资金问题", facts="MARK-FINDING-FACTS-1",
                     legal_basis="MARK-BASIS-1", project=w.project)
    share(w, target, w.inspection, note="MARK-SHARE-NOTE-1")
    share(w, target, w.org)
    db.session.add(Comment(finding_id=target.id, thread_agency_id=w.inspection.id,
                           author_id=w.insp_staff.id, body="MARK-COMMENT-1"))
    db.session.add(_file({"finding_id": target.id}, "MARK-FILE-1.pdf", w.audit_staff))
    referral = referral_in(w, S.ANSWERED, title="专项资金问题线索", findings=[target],
                           facts="MARK-FACTS-1", persons=(("MARK-PERSON-1", "MARK-POSITION-1"),),
                           result="MARK-RESULT-1",
                           disposition=Disposition.PRELIMINARY_VERIFICATION)
    db.session.add(TimelineEntry(referral=referral, action="note", internal=True,
                                 actor=w.disc_staff, agency=w.discipline,
                                 comment="MARK-NOTE-1"))
    db.session.add(_file({"referral_id": referral.id}, "MARK-FILE-2.pdf", w.audit_staff))
    item = rectify(w, target, state=RectificationState.IN_PROGRESS)
    report = RectificationReport(rectification=item, submitted_by=w.unit_contact,
                                 measures="MARK-MEASURES-1", amount_recovered=Decimal("1.00"))
    db.session.add(report)
    db.session.add(RectificationStep(rectification=item, action="chase", actor=w.audit_staff,
                                     agency_id=w.audit.id, comment="MARK-CHASER-1"))
    db.session.flush()
    db.session.add(_file({"rectification_report_id": report.id}, "MARK-FILE-3.pdf",
                         w.unit_contact))
    db.session.commit()
    return w


def test_markers_appear_only_where_their_reader_may_see_them(planted, as_):
    found: dict[tuple[str, str], str] = {}
    for who in READERS:
        for ledger in LEDGERS:
            status, data, _headers = download(as_(who), ledger)
            if status == 200:
                found[who, ledger] = Sheet(data).raw_text()
            else:
                assert (status, who, ledger) in {(404, "unit_contact", "findings"),
                                                 (404, "unit_contact", "referrals")}
    # The search finds what is there: the finding's and the referral's titles.
    for who in ("audit_staff", "insp_staff", "org_staff"):
        assert "市场监管专项资金问题" in found[who, "findings"]
    assert "市场监管专项资金问题" in found["unit_contact", "rectifications"]
    for (who, ledger), text in found.items():
        for marker in NEVER_MARKERS:
            assert marker not in text, (who, ledger, marker)
        party = who in ("audit_staff", "audit_leader", "disc_staff", "disc_leader")
        for marker in PERSON_MARKERS:
            assert (marker in text) == (party and ledger == "referrals"), (who, ledger, marker)
    # No event carries them either.
    details = " ".join(e.details for e in exports())
    assert not any(m in details for m in PERSON_MARKERS + NEVER_MARKERS)


# --- size -----------------------------------------------------------------------------------


def _bulk(w, n: int, start: int) -> None:
    """n issued findings, each shared, every third issued for rectification, in a few
    statements."""
    base = datetime(2026, 3, 1, tzinfo=UTC)
    made = [Finding(owner_agency=w.audit, unit=w.edu if i % 2 else w.health,
                    project=w.project if i % 3 else None, title=f"批量问题{start + i:04d}",
                    facts="事实", category_code=("allowances", "budget", "other")[i % 3],
                    amount=Decimal(f"{i}.05"), status=FindingStatus.ISSUED,
                    created_by=w.audit_staff, issued_at=base,
                    created_at=base + timedelta(minutes=start + i)) for i in range(n)]
    db.session.add_all(made)
    db.session.flush()
    for i, item in enumerate(made):
        db.session.add(Share(finding=item, agency=w.inspection, handling=Handling.MAY_REFER,
                             shared_by=w.audit_staff))
        if i % 3 == 0:
            db.session.add(Rectification(
                finding=item, unit_id=item.unit.id, owner_agency_id=w.audit.id,
                plan=Plan.STAGED, title=item.title, facts="事实", amount=item.amount,
                issued_by=w.audit_staff, due_at=base + timedelta(days=60),
                warn_at=base + timedelta(days=53)))
    db.session.commit()


def test_a_ledger_of_300_findings_runs_as_many_statements_as_one_of_5(world, as_,
                                                                      count_queries):
    callers = [as_("audit_staff"), as_("insp_staff")]

    def counts():
        return statements_per_caller(callers, count_queries,
                                     lambda caller: len(ledger_of(caller, "findings").rows))

    _bulk(world, 5, 0)
    five = counts()
    _bulk(world, 295, 5)
    three_hundred = counts()
    assert [rows for rows, _ in five] == [5, 5]
    assert [rows for rows, _ in three_hundred] == [300, 300]
    assert [n for _, n in five] == [n for _, n in three_hundred]


def test_referral_and_rectification_ledgers_do_not_query_per_row(referrals, rectifications,
                                                                 as_, count_queries):
    w = rectifications
    caller = as_("audit_staff")

    def statements(ledger):
        ledger_of(caller, ledger)
        with count_queries() as run:
            ledger_of(caller, ledger)
        return len(run)

    before = {ledger: statements(ledger) for ledger in ("referrals", "rectifications")}
    for i in range(12):
        referral_in(w, S.IN_HANDLING, title=f"批量线索{i}",
                    persons=(("甲某", "科长"), ("乙某", "")))
        rectify(w, finding(w, title=f"批量整改{i}", project=w.project if i % 2 else None))
    after = {ledger: statements(ledger) for ledger in ("referrals", "rectifications")}
    assert after == before


def test_ledgers_are_named_by_kind_and_day(world, as_):
    for ledger, name in (("findings", "问题台账"), ("referrals", "移送事项台账"),
                         ("rectifications", "整改台账")):
        _status, _data, headers = download(as_("audit_staff"), ledger)
        disposition = headers["Content-Disposition"]
        assert disposition.startswith("attachment")
        assert f"filename*=UTF-8''{quote(name)}-{local_today():%Y%m%d}.xlsx" in disposition


def test_a_state_reads_the_same_in_the_ledger_as_on_the_page(rectifications, as_):
    """One vocabulary: the ledger's words are the Chinese screens' words (核实通过 was 已核实)."""
    w = rectifications
    w.items["卫健委待核实问题"].state = RectificationState.VERIFIED
    db.session.commit()
    page = w.client.application.test_client()
    assert page.sign_in(w.audit_staff.username).status_code == 302
    html = page.get("/rectifications").get_data(as_text=True)
    on_page = dict(re.findall(
        r'<a href="/rectifications/[^"]+">([^<]+)</a>.*?class="badge rstate-\w+">([^<]+)<',
        html, re.S))
    sheet = ledger_of(as_("audit_staff"), "rectifications")
    in_ledger = dict(zip(sheet.column("问题标题（下达时）"), sheet.column("整改状态"),
                         strict=True))
    assert in_ledger["卫健委待核实问题"] == "核实通过"
    assert in_ledger == on_page


def test_a_filter_with_control_characters_heads_a_ledger_without_them(world, as_):
    """What someone typed into a filter goes into the ledger's heading and its printed page
    header: the characters XML cannot carry are left out there (never a server error)."""
    sheet = ledger_of(as_("audit_staff"), "rectifications", unit="无此单位\x1f\x0b代码")
    assert "整改单位：无此单位代码" in sheet.title
    assert "\x1f" not in sheet.raw_text() and "\x0b" not in sheet.raw_text()
