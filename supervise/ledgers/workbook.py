
"""Writing a ledger (台账) as an .xlsx workbook, streamed.

A ledger is a Chinese document that people print and file: its title row, headers and words are
Chinese whatever language the user reads the screens in. Row 1 is the title (agency, ledger,
filter, time of export), row 2 the headers, data from row 3, and after the data the total row
(合计: how many rows, and the sum of every amount column); the panes are frozen below the headers
and an auto-filter covers headers and data.

Printed, a ledger is A4 landscape at its own size (10.5 pt, 五号), never shrunk to fit: a ledger
wider than a page prints several pages across, each page of a row after the other, with the
header row and the row number (序号) repeated on every page and every text wrapped within its
column (a long title or state is never cut off). The title row is for the screen; on paper the
page header carries it (ledger, filter, time of export) on every page, and the footer "第 N 页
共 M 页".

The workbook is openpyxl's write-only kind: each row goes to disk as it is appended, so a ledger
of any length needs the memory of one batch of rows. Amounts are written as the exact decimals
they are, times as naive local times in Asia/Shanghai, texts always as texts (a title beginning
with "=" is not a formula).

Amounts: openpyxl writes a number through "%.16g" % value, which goes through binary floating
point: Decimal("8.20") would reach the file as 8.199999999999999. A ledger's amounts are written
as their exact decimal digits instead (the cell's value the digits, its type a number), which
Excel and openpyxl read as the number.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask import send_file
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter

from supervise.database import BEIJING_TIME
from supervise.extensions import db

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = '#,##0.00"元"'
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
RATE_FORMAT = "0.0%"
DECIMAL_FORMAT = "0.0#"

TITLE_ROW, HEADER_ROW, FIRST_DATA_ROW = 1, 2, 3
FONT = "宋体"
POINTS = 10.5  # 五号, the size of an official document's text
TITLE_POINTS = 13
TOTAL_LABEL = "合计"
# The title is merged over the first columns up to this width, what a screen shows at once.
TITLE_WIDTH = 110
# A page header's part is cut to this many characters (a header holds 255 in all).
HEADER_PART = 70


class Kind(StrEnum):
    TEXT = "text"  # wrapped within its column
    INT = "int"
    AMOUNT = "amount"  # yuan, an exact Decimal
    DATE = "date"  # a day (a deadline is the end of its day: the day is what counts)
    DATETIME = "datetime"  # a moment, to the minute
    RATE = "rate"  # a share as an exact Decimal fraction (0.6667), shown in per cent
    DECIMAL = "decimal"  # another exact Decimal, such as a median of days (2.5)


@dataclass(frozen=True)
class Column:
    key: str  # named in the export event, never shown
    header: str
    width: float  # in Excel's units (the width of a "0"; a Chinese character takes about two)
    kind: Kind = Kind.TEXT


def _side():
    return Side(style="thin", color="A6A6A6")


def _border():
    return Border(left=_side(), right=_side(), top=_side(), bottom=_side())


def _styles() -> dict[str, NamedStyle]:
    """One named style per kind of cell: a cell takes all its formatting in one assignment."""
    top = Alignment(vertical="top", wrap_text=True)
    font, bold = Font(name=FONT, size=POINTS), Font(name=FONT, size=POINTS, bold=True)

    def style(name: str, number_format: str, **extra) -> NamedStyle:
        extra.setdefault("font", font)
        extra.setdefault("alignment", top)
        return NamedStyle(name=name, border=_border(), number_format=number_format, **extra)

    return {
        "title": NamedStyle(name="台账标题", font=Font(name=FONT, size=13, bold=True),
                            alignment=Alignment(wrap_text=True, vertical="center")),
        "header": style("台账表头", "@", font=bold, fill=PatternFill("solid", fgColor="DDEBF7"),
                        alignment=Alignment(horizontal="center", vertical="center",
                                            wrap_text=True)),
        "total": style("台账合计", "@", font=bold),
        "total_amount": style("台账合计金额", YUAN_FORMAT, font=bold),
        Kind.TEXT: style("台账文本", "@"),
        Kind.INT: style("台账整数", "0"),
        Kind.AMOUNT: style("台账金额", YUAN_FORMAT),
        Kind.DATE: style("台账日期", DATE_FORMAT),
        Kind.DATETIME: style("台账时间", DATETIME_FORMAT),
        Kind.RATE: style("台账比率", RATE_FORMAT),
        Kind.DECIMAL: style("台账小数", DECIMAL_FORMAT),
    }


def clean_text(value: Any) -> str:
    """Text as a cell may hold it: without the control characters XML cannot carry."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:32767]


def exact_digits(amount: Decimal) -> str:
    """The digits of an amount in plain notation, as the file carries a number: "8.20"."""
    if not amount.is_finite():
        raise ValueError("an amount is a finite number")
    return format(amount, "f")


def local(value: datetime | None) -> datetime | None:
    """A stored (UTC) time as the naive Asia/Shanghai time a spreadsheet shows."""
    if value is None:
        return None
    if value.tzinfo is None:  # stored times are aware; a naive one is taken as UTC
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(BEIJING_TIME).replace(tzinfo=None)


def local_day(value: datetime | None) -> date | None:
    moment = local(value)
    return moment.date() if moment is not None else None


def _value(kind: Kind, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind == Kind.TEXT:
        return clean_text(value)
    if kind in (Kind.AMOUNT, Kind.RATE, Kind.DECIMAL):
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            raise TypeError("amounts, rates and decimals are written exact, never as float")
        return Decimal(value)
    if kind == Kind.INT:
        return int(value)
    if kind == Kind.DATE:
        if isinstance(value, datetime):
            return local_day(value)
        return value
    if kind == Kind.DATETIME:
        return local(value)
    raise ValueError(kind)


def _text_width(text: str) -> int:
    """A line's width in column units at POINTS as Excel and WPS measure it (LibreOffice a
    little less): a Chinese character takes two, another character one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _height(text: str, width: float, points: float = POINTS) -> float:
    """The height in points of a row whose cell of `width` holds `text`, wrapped.

    A spreadsheet program fits a row to its wrapped text only where it is asked to (LibreOffice
    does not on opening a file), so each row carries its height: the lines its text takes,
    each 1.3 times the font's size, with room to spare rather than a cut-off line."""
    room = max(width - 1, 1) * POINTS / points  # a larger font fits fewer characters
    lines = sum(max(1, math.ceil(_text_width(line) / room)) for line in text.split("\n"))
    return round(lines * points * 1.3 + 3, 1)


def _header_footer_text(text: str) -> str:
    """Text as a page header or footer carries it: "&" starts a code there, and no control
    character XML cannot carry (a filter's words hold what someone typed)."""
    text = clean_text(text)
    text = text if len(text) <= HEADER_PART else text[:HEADER_PART - 1] + "…"
    return text.replace("&", "&&")


@dataclass(frozen=True)
class Heading:
    """What heads a ledger: its name (区审计局问题台账), its filter in words, when it was made."""

    name: str
    filter: str
    made: str
    note: str = ""  # a third line of the title (the event log's export: the chain's head)

    @classmethod
    def of(cls, name: str, filter_words: str, now: datetime, note: str = "") -> Heading:
        return cls(name=name, filter=f"筛选条件：{filter_words}",
                   made=f"导出时间：{local(now):%Y-%m-%d %H:%M}（北京时间）", note=note)

    @property
    def title(self) -> str:
        title = f"{self.name}\n{self.filter}　　{self.made}"
        return f"{title}\n{self.note}" if self.note else title


class _Sheet:
    def __init__(self, workbook: Workbook, sheet_title: str, columns: Sequence[Column],
                 heading: Heading):
        self.columns = list(columns)
        self.styles = _styles()
        for style in self.styles.values():
            workbook.add_named_style(style)
        self.ws = workbook.create_sheet(sheet_title[:31])
        ws = self.ws
        # What precedes the rows in the file is set before the first row is appended.
        for i, column in enumerate(self.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        self.next_row = TITLE_ROW
        ws.freeze_panes = f"A{FIRST_DATA_ROW}"
        self._print_setup(heading)
        self.last_column = get_column_letter(len(self.columns))
        self.sums = {i: Decimal(0) for i, c in enumerate(self.columns) if c.kind == Kind.AMOUNT}

    def _print_setup(self, heading: Heading) -> None:
        ws = self.ws
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = 9  # A4
        ws.page_setup.scale = 100  # never shrunk: several pages across instead
        ws.page_setup.pageOrder = "overThenDown"  # a row's pages one after the other
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        ws.print_title_cols = "A:A"  # the row number ties a row's pages together
        ws.page_margins.left = ws.page_margins.right = 0.3  # inches
        ws.page_margins.top = ws.page_margins.bottom = 0.7
        ws.page_margins.header = ws.page_margins.footer = 0.25
        for part, text, size in ((ws.oddHeader.left, heading.name, 11),
                                 (ws.oddHeader.center, heading.filter, 9),
                                 (ws.oddHeader.right, heading.made, 9),
                                 (ws.oddFooter.center, "第 &P 页 共 &N 页", 9)):
            part.text = text if "&P" in text else _header_footer_text(text)
            part.size = size
        ws.oddHeader.left.font = f"{FONT},Bold"

    def _cell(self, style: str | Kind, value: Any):
        cell = WriteOnlyCell(self.ws)
        cell.style = self.styles[style].name
        if isinstance(value, Decimal):
            cell.value = exact_digits(value)
            cell.data_type = "n"
        elif value is not None:
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, never an error code
        return cell

    def _append(self, cells: list, texts: Sequence[tuple[str, float, float]]) -> None:
        """Append a row of cells, as high as the tallest of its (text, width, points)."""
        height = max((_height(*t) for t in texts), default=_height("", 1))
        self.ws.row_dimensions[self.next_row].height = height
        self.ws.append(cells)
        # The row is written out by now, its height with it: kept, the heights of 100,000 rows
        # would hold tens of megabytes for nothing.
        del self.ws.row_dimensions[self.next_row]
        self.next_row += 1

    def title(self, text: str) -> None:
        """The title, merged over the columns of the first printed page."""
        text = clean_text(text)
        span, width = 0, 0.0
        for column in self.columns:
            if span and width + column.width > TITLE_WIDTH:
                break
            span, width = span + 1, width + column.width
        if span > 1:
            self.ws.merged_cells.add(f"A{TITLE_ROW}:{get_column_letter(span)}{TITLE_ROW}")
        self._append([self._cell("title", text)], [(text, width, TITLE_POINTS)])

    def headers(self) -> None:
        texts = [clean_text(c.header) for c in self.columns]
        self._append([self._cell("header", t) for t in texts],
                     [(t, c.width, POINTS) for t, c in zip(texts, self.columns, strict=True)])

    def row(self, values: Sequence[Any]) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        cells = [_value(c.kind, v) for c, v in zip(self.columns, values, strict=True)]
        for i in self.sums:
            self.sums[i] += cells[i] or 0
        self._append([self._cell(c.kind, v) for c, v in zip(self.columns, cells, strict=True)],
                     [(v, c.width, POINTS) for c, v in zip(self.columns, cells, strict=True)
                      if isinstance(v, str)])

    def total(self, rows: int) -> None:
        """The total row: how many rows, and the sum of each amount column (0.00 for none)."""
        cells = [self._cell("total", None) for _ in self.columns]
        cells[0] = self._cell("total", TOTAL_LABEL)
        if len(cells) > 1:
            cells[1] = self._cell("total", f"共{rows}项")
        for i, amount in self.sums.items():
            cells[i] = self._cell("total_amount", amount.quantize(Decimal("0.01")))
        self._append(cells, [])

    def finish(self, rows: int) -> None:
        """After the data: the auto-filter over headers and data, then the total row below;
        what prints is all but the title row."""
        last_row = HEADER_ROW + max(rows, 0)
        self.ws.auto_filter.ref = f"A{HEADER_ROW}:{self.last_column}{last_row}"
        self.total(rows)
        self.ws.print_area = f"A{HEADER_ROW}:{self.last_column}{last_row + 1}"

    def discard(self) -> None:
        """After a failure: close the sheet's temporary file and remove it."""
        writer = getattr(self.ws, "_writer", None)
        if writer is None:
            return
        try:
            if not self.ws.closed:
                self.ws.close()
        finally:
            with contextlib.suppress(OSError, ValueError):
                writer.cleanup()


def write_ledger(out: IO[bytes], *, sheet_title: str, heading: Heading,
                 columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
    """Write the ledger to the binary file `out`, taking the rows as they come; return how many
    data rows were written. Each row holds one value per column, in column order."""
    workbook = Workbook(write_only=True)
    sheet = _Sheet(workbook, sheet_title, columns, heading)
    written = 0
    try:
        sheet.title(heading.title)
        sheet.headers()
        for values in rows:
            sheet.row(values)
            written += 1
        sheet.finish(written)
    except BaseException:
        sheet.discard()
        raise
    workbook.save(out)
    return written


CSV_MIMETYPE = "text/csv; charset=utf-8"


def _csv_text(kind: Kind, value: Any) -> str:
    value = _value(kind, value)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return exact_digits(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    # A spreadsheet opening the file would take a text beginning so for a formula.
    return "'" + text if kind == Kind.TEXT and text[:1] in ("=", "+", "-", "@") else text


def write_csv(out: IO[bytes], *, heading: Heading, columns: Sequence[Column],
              rows: Iterable[Sequence[Any]]) -> int:
    """The ledger as CSV, laid out as the workbook is: the title in row 1, the headers in row 2,
    data from row 3 (no total row). UTF-8 with a byte-order mark, which Excel and WPS need to
    read Chinese. Returns how many data rows were written."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow([heading.title])
        writer.writerow([c.header for c in columns])
        written = 0
        for values in rows:
            if len(values) != len(columns):
                raise ValueError(f"{len(values)} values for {len(columns)} columns")
            writer.writerow([_csv_text(c.kind, v) for c, v in zip(columns, values, strict=True)])
            written += 1
        text.flush()
    finally:
        text.detach()  # the caller's file stays open
    return written


# A ledger is built in memory up to this size, then in a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024


def send_ledger(download_name: str, write: Callable[[IO[bytes]], int],
                record: Callable[[int], None], mimetype: str = XLSX_MIMETYPE):
    """Write a ledger (`write(file)` returns its number of rows), record its export
    (`record(rows)`) and commit, and answer with the file. If anything fails, nothing is
    recorded and the file is gone."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        rows = write(spool)
    except BaseException:
        spool.close()
        db.session.rollback()
        raise
    return send_recorded(spool, download_name, lambda: record(rows), mimetype)


def send_recorded(fh: IO[bytes], download_name: str, record: Callable[[], None],
                  mimetype: str = XLSX_MIMETYPE):
    """Record the sending (`record()`) and commit, then answer with the open file, which the
    response closes once sent. If anything fails first, nothing is recorded and the file is
    closed."""
    try:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        fh.seek(0)
        record()
        db.session.commit()
        response = send_file(fh, mimetype=mimetype, as_attachment=True,
                             download_name=download_name, conditional=False, etag=False,
                             max_age=0)
    except BaseException:
        fh.close()
        db.session.rollback()
        raise
    response.content_length = size
    return response

