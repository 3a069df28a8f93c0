
"""Writing a ledger (台账) as an .xlsx workbook, streamed.

A ledger is a Chinese document that people print and file: its title row, headers and words are
Chinese whatever language the user reads the screens in. Row 1 is the title (agency, ledger,
filter, time of export), row 2 the headers, data from row 3; the panes are frozen below the
headers, an auto-filter covers headers and data, and the header row repeats on every printed page.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter

from supervise.database import BEIJING_TIME

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = '#,##0.00"元"'
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

TITLE_ROW, HEADER_ROW, FIRST_DATA_ROW = 1, 2, 3


class Kind(StrEnum):
    TEXT = "text"  # a short text on one line
    WRAP = "wrap"  # a longer text, wrapped within the column
    INT = "int"
    AMOUNT = "amount"  # yuan, an exact Decimal
    DATE = "date"  # a day (a deadline is the end of its day: the day is what counts)
    DATETIME = "datetime"  # a moment, to the minute


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
    top = Alignment(vertical="top")
    made = {
        "title": NamedStyle(name="台账标题", font=Font(bold=True, size=13),
                            alignment=Alignment(wrap_text=True, vertical="center")),
        "header": NamedStyle(name="台账表头", font=Font(bold=True), border=_border(),
                             fill=PatternFill("solid", fgColor="DDEBF7"),
                             alignment=Alignment(horizontal="center", vertical="center",
                                                 wrap_text=True)),
        Kind.TEXT: NamedStyle(name="台账文本", border=_border(), alignment=top,
                              number_format="@"),
        Kind.WRAP: NamedStyle(name="台账长文本", border=_border(), number_format="@",
                              alignment=Alignment(vertical="top", wrap_text=True)),
        Kind.INT: NamedStyle(name="台账整数", border=_border(), alignment=top,
                             number_format="0"),
        Kind.AMOUNT: NamedStyle(name="台账金额", border=_border(), alignment=top,
                                number_format=YUAN_FORMAT),
        Kind.DATE: NamedStyle(name="台账日期", border=_border(), alignment=top,
                              number_format=DATE_FORMAT),
        Kind.DATETIME: NamedStyle(name="台账时间", border=_border(), alignment=top,
                                  number_format=DATETIME_FORMAT),
    }
    return made


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
    if kind in (Kind.TEXT, Kind.WRAP):
        return clean_text(value)
    if kind == Kind.AMOUNT:
        if not isinstance(value, Decimal):
            raise TypeError("amounts are written as Decimal, never as float")
        return value
    if kind == Kind.INT:
        return int(value)
    if kind == Kind.DATE:
        if isinstance(value, datetime):
            return local_day(value)
        return value
    if kind == Kind.DATETIME:
        return local(value)
    raise ValueError(kind)


class _Sheet:
    def __init__(self, workbook: Workbook, sheet_title: str, columns: Sequence[Column]):
        self.columns = list(columns)
        self.styles = _styles()
        for style in self.styles.values():
            workbook.add_named_style(style)
        self.ws = workbook.create_sheet(sheet_title[:31])
        ws = self.ws
        # What precedes the rows in the file is set before the first row is appended.
        for i, column in enumerate(self.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        ws.row_dimensions[TITLE_ROW].height = 36
        ws.row_dimensions[HEADER_ROW].height = 30
        ws.freeze_panes = f"A{FIRST_DATA_ROW}"
        ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = 9  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.last_column = get_column_letter(len(self.columns))

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

    def title(self, text: str) -> None:
        if len(self.columns) > 1:
            self.ws.merged_cells.add(f"A{TITLE_ROW}:{self.last_column}{TITLE_ROW}")
        self.ws.append([self._cell("title", clean_text(text))])

    def headers(self) -> None:
        self.ws.append([self._cell("header", clean_text(c.header)) for c in self.columns])

    def row(self, values: Sequence[Any]) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        self.ws.append([self._cell(c.kind, _value(c.kind, v))
                        for c, v in zip(self.columns, values, strict=True)])

    def finish(self, rows: int) -> None:
        last_row = HEADER_ROW + max(rows, 0)
        self.ws.auto_filter.ref = f"A{HEADER_ROW}:{self.last_column}{last_row}"

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


def write_ledger(out: IO[bytes], *, sheet_title: str, title: str,
                 columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
    """Write the ledger to the binary file `out`, taking the rows as they come; return how many
    data rows were written. Each row holds one value per column, in column order."""
    workbook = Workbook(write_only=True)
    sheet = _Sheet(workbook, sheet_title, columns)
    written = 0
    try:
        sheet.title(title)
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
