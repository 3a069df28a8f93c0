"""Findings taken in from a spreadsheet (.xlsx or .csv) that an agency drafted them in.

The steps: `receive` the upload (bounded by the settings), `read_table` (the type sniffed from
the bytes, never from the name; formulas never evaluated: a cell holding one is read as its
text), `preview` every row with the same rules as the finding form (`clean_finding_input`) plus
the overlap hint, then `import_findings` the good rows as drafts, one `finding.create` event
each and one `finding.import` summary, in the caller's transaction.

Between the preview and the import the file is kept in the storage backend under a name that
begins with `import-<unix time>-` (so that a sweep finds and removes it after a day, on a folder
and on the database alike) and is named to the browser only through a signed, expiring token
bound to the user who uploaded it (`keep_upload`, `open_upload`).
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
import time
import unicodedata
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as day_time
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from supervise import policy
from supervise.accounts.models import Agency, AgencyKind
from supervise.attachments import storage
from supervise.cleaning import name_key
from supervise.database import now_utc
from supervise.errors import InvalidInput, OperationError
from supervise.events.log import record_event
from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings import operations, queries
from supervise.findings.models import Finding, ImportMapping, Sensitivity
from supervise.findings.operations import FIELDS, REQUIRED
from supervise.ooxml import PackageError, check_package
from supervise.policy import projects as project_access
from supervise.projects.models import Project
from supervise.settings.models import Category, get_setting

# The template's headings: a Chinese document, as the ledgers are, whatever the screen language.
HEADINGS = {
    "unit": "被审计单位",
    "project": "所属项目",
    "title": "问题标题",
    "facts": "问题描述",
    "category": "问题类别",
    "amount": "涉及金额（元）",
    "legal_basis": "定性依据",
    "recommendation": "审计建议",
    "sensitivity": "敏感程度",
}
# Other headings people give these columns (compared through `name_key`).
SYNONYMS = {
    "unit": ("被巡察单位", "单位", "单位名称", "被审计单位名称", "审计对象", "单位代码", "unit"),
    "project": ("项目", "审计项目", "项目名称", "巡察项目", "project"),
    "title": ("标题", "问题", "问题名称", "问题摘要", "问题概述", "title"),
    "facts": ("事实", "问题事实", "基本事实", "问题描述及事实", "具体问题", "描述", "情况描述",
              "问题详情", "facts"),
    "category": ("类别", "问题类型", "问题分类", "分类", "类型", "category"),
    "amount": ("涉及金额", "金额", "金额（元）", "问题金额", "问题金额（元）", "涉及金额(元)",
               "amount"),
    "legal_basis": ("法规依据", "依据", "法律依据", "定性及依据", "legal basis", "legal_basis"),
    "recommendation": ("建议", "处理意见", "整改建议", "处理建议", "处理意见及建议",
                       "recommendation"),
    "sensitivity": ("敏感", "敏感性", "密级", "sensitivity"),
}
FIELD_LABELS = {
    "unit": _l("Audited unit"),
    "project": _l("Project"),
    "title": _l("Title"),
    "facts": _l("Facts"),
    "category": _l("Category"),
    "amount": _l("Amount involved (yuan)"),
    "legal_basis": _l("Legal basis"),
    "recommendation": _l("Recommendation"),
    "sensitivity": _l("Sensitivity"),
}
SENSITIVITY_WORDS = {"一般": Sensitivity.NORMAL, "普通": Sensitivity.NORMAL,
                     "敏感": Sensitivity.SENSITIVE}

PREFIX = "import-"  # stored files of imports: uploads kept between steps, refused rows
UPLOAD_SECONDS = 3600  # an upload may be imported within the hour after its preview
REFUSED_SECONDS = 24 * 3600  # the refused rows stay downloadable for a day
KEEP_SECONDS = REFUSED_SECONDS + 3600  # what the sweep leaves alone
HEADING_SCAN = 10  # the heading row is looked for among the first rows that hold anything
MAX_COLUMNS = 60
MIN_HEADINGS = 2  # known headings a row needs to be taken for the heading row
DUPLICATE_SCORE = 0.8  # overlap-hint similarity from which a row is a likely duplicate
SIMILAR_SCORE = 0.5  # ... from which it is only mentioned
PACKAGE_FACTOR = 20  # a workbook may unpack to this many times the upload limit, at most
MAX_PACKAGE_BYTES = 200 * 1024 * 1024
CHUNK = 64 * 1024
XLSX = "xlsx"
CSV = "csv"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and encrypted workbooks

Lines = Generator[tuple[int, list[str]], None, None]  # a sheet's or file's rows, numbered


# --- receiving and reading -----------------------------------------------------------------


@dataclass
class Received:
    """An upload held in a temporary file of this process."""

    fh: IO[bytes]
    filename: str
    size: int
    sha256: str

    def close(self) -> None:
        self.fh.close()


def max_bytes() -> int:
    return get_setting("import_max_mb") * 1024 * 1024


def receive(stream, filename: str | None) -> Received:
    """Take an upload into a temporary file, refusing it (413) beyond the settings' limit and
    when it is empty."""
    spool, size, sha256 = storage.receive(stream, max_bytes())
    return Received(spool, (filename or "")[:200], size, sha256)


@dataclass
class Row:
    line: int  # the row's number in the sheet (or the line's in the CSV file)
    cells: list[str]


@dataclass
class Table:
    kind: str
    headings: list[str]
    heading_line: int
    rows: list[Row]

    def column(self, heading: str) -> int | None:
        key = heading_key(heading)
        return next((i for i, h in enumerate(self.headings) if heading_key(h) == key), None)


def heading_key(heading: str) -> str:
    """Headings are compared as names are (`name_key`), without the template's mark of a
    required column ("问题标题*")."""
    return name_key(heading).rstrip("*")


def _not_a_spreadsheet(filename: str) -> OperationError:
    if filename.lower().endswith(".xlsx"):
        return OperationError(_("The file is named .xlsx but is not an Excel workbook, or it "
                                "is damaged."), 415)
    return OperationError(_("The file is neither an Excel workbook (.xlsx) nor a CSV file in "
                            "UTF-8 or GB18030."), 415)


def read_table(received: Received, known: Iterable[str] = ()) -> Table:
    """The upload as a table: its heading row (the first of its first rows that names at least
    two columns as the template, a synonym or `known` do) and the rows below it that hold
    anything, each cell as text. Refuses (OperationError, in the user's language) what is not
    a workbook or CSV file, a file without a heading row, without rows, or with more rows than
    the settings allow."""
    fh = received.fh
    fh.seek(0)
    head = fh.read(8)
    fh.seek(0)
    if head.startswith(b"PK\x03\x04"):
        kind, lines = XLSX, _xlsx_rows(received)
    elif head.startswith(OLE_MAGIC):
        raise OperationError(_("This is an old Excel file (.xls) or a workbook with a password: "
                               "save it as .xlsx without a password and upload it again."), 415)
    else:
        kind, lines = CSV, _csv_rows(received)
    return _table(kind, lines, known)


def _xlsx_rows(received: Received) -> Lines:
    try:
        check_package(received.fh, min(max_bytes() * PACKAGE_FACTOR, MAX_PACKAGE_BYTES),
                      required=("[Content_Types].xml", "xl/workbook.xml"))
    except PackageError as exc:
        if exc.status == 415:
            raise _not_a_spreadsheet(received.filename) from None
        raise
    try:
        workbook = load_workbook(received.fh, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - whatever the library trips on in a hostile file
        raise _not_a_spreadsheet(received.filename) from None
    return _sheet_rows(workbook, received.filename)


def _sheet_rows(workbook, filename: str) -> Lines:
    try:
        sheets = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]
        if not sheets:
            return
        for number, values in enumerate(sheets[0].iter_rows(max_col=MAX_COLUMNS,
                                                            values_only=True), 1):
            yield number, [cell_text(v) for v in values]
    except OperationError:
        raise
    except Exception:  # noqa: BLE001 - a damaged sheet part
        raise _not_a_spreadsheet(filename) from None
    finally:
        workbook.close()


def cell_text(value: Any) -> str:
    """A cell's value as the text it shows: a formula as its text ("=SUM(A1)"), never its
    result; a number without a float's noise where it is whole."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | day_time):
        return value.isoformat()
    text = getattr(value, "text", None)  # an array formula
    return str(text if isinstance(text, str) else value)


def _decode(data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")  # what Chinese Excel and WPS save CSV in


def _csv_rows(received: Received) -> Lines:
    data = received.fh.read()
    received.fh.seek(0)
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise _not_a_spreadsheet(received.filename) from None
    if "\x00" in text:
        raise _not_a_spreadsheet(received.filename)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # Numbered by record, as a spreadsheet opening the file numbers its rows.
        for number, values in enumerate(reader, 1):
            yield number, values[:MAX_COLUMNS]
    except csv.Error:
        raise OperationError(_("The CSV file cannot be read: a field is too long or a quotation "
                               "mark is not closed.")) from None


def _known_keys(known: Iterable[str]) -> set[str]:
    keys = {heading_key(h) for h in HEADINGS.values()}
    keys |= {heading_key(s) for names in SYNONYMS.values() for s in names}
    keys |= {heading_key(h) for h in known if isinstance(h, str) and h}
    return keys


def _table(kind: str, lines: Lines, known: Iterable[str]) -> Table:
    try:
        return _read(kind, lines, _known_keys(known))
    finally:
        lines.close()  # the workbook too, when reading stops before its end


def _read(kind: str, lines: Lines, keys: set[str]) -> Table:
    limit = get_setting("import_max_rows")
    headings, heading_line, rows, scanned, blank = None, 0, [], 0, 0
    for line, cells in lines:
        if not any(c.strip() for c in cells):
            blank += 1
            if blank > limit + 10000:  # a sheet of endless styled but empty rows
                break
            continue
        if headings is None:
            scanned += 1
            if sum(1 for c in cells if c.strip() and heading_key(c) in keys) >= MIN_HEADINGS:
                headings, heading_line = [_printable(c).strip() for c in cells], line
            elif scanned >= HEADING_SCAN:
                break
            continue
        rows.append(Row(line, cells))
        if len(rows) > limit:
            raise OperationError(_("The file has more than %(n)d rows of findings; split it "
                                   "into files of at most %(n)d rows.", n=limit))
    if headings is None:
        if not scanned:
            raise OperationError(_("The file holds no data."))
        raise OperationError(_("No heading row was found: the first row must name the "
                               "columns, as the template does (被审计单位, 问题标题, ...)."))
    if not rows:
        raise OperationError(_("The file has no rows of findings below its headings."))
    width = len(headings)
    for row in rows:
        row.cells = (row.cells + [""] * width)[:width]
    return Table(kind, headings, heading_line, rows)


def _bad_character(text: str) -> bool:
    """A control character (other than tab and line breaks) or an unpaired surrogate, which
    no field may hold."""
    return any((unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
               or "\ud800" <= ch <= "\udfff" for ch in text)


def _printable(text: str) -> str:
    """Text with what `_bad_character` refuses replaced, for showing it and writing it out."""
    return "".join("\ufffd" if _bad_character(ch) else ch for ch in text)


# --- the mapping of fields to columns -------------------------------------------------------


def remembered_mapping(user) -> dict[str, str]:
    row = db.session.get(ImportMapping, user.agency_id)
    columns = row.columns if row is not None and isinstance(row.columns, dict) else {}
    return {f: h for f, h in columns.items() if f in FIELDS and isinstance(h, str) and h}


def remember_mapping(user, mapping: Mapping[str, str]) -> None:
    row = db.session.get(ImportMapping, user.agency_id)
    if row is None:
        row = ImportMapping(agency_id=user.agency_id)
        db.session.add(row)
    row.columns = dict(mapping)
    row.updated_at = now_utc()
    row.updated_by_id = user.id


def guess_mapping(table: Table, remembered: Mapping[str, str] | None = None) -> dict[str, str]:
    """Field -> heading: the agency's remembered heading where the file has it, then the
    template's heading or a synonym, then a heading that contains one (an amount in 万元 is
    never taken for yuan)."""
    mapping: dict[str, str] = {}
    taken: set[int] = set()

    def take(field_name: str, index: int) -> None:
        mapping[field_name] = table.headings[index]
        taken.add(index)

    for field_name, heading in (remembered or {}).items():
        index = table.column(heading)
        if field_name in FIELDS and index is not None and index not in taken:
            take(field_name, index)
    names = {f: [HEADINGS[f], *SYNONYMS[f]] for f in FIELDS}
    for field_name in FIELDS:
        if field_name in mapping:
            continue
        keys = {heading_key(n) for n in names[field_name]}
        index = next((i for i, h in enumerate(table.headings)
                      if i not in taken and h and heading_key(h) in keys), None)
        if index is not None:
            take(field_name, index)
    for field_name in FIELDS:
        if field_name in mapping:
            continue
        keys = [heading_key(n) for n in names[field_name] if len(heading_key(n)) >= 3]
        index = next((i for i, h in enumerate(table.headings)
                      if i not in taken and h and any(k in heading_key(h) for k in keys)
                      and not (field_name == "amount" and "万" in h)), None)
        if index is not None:
            take(field_name, index)
    return mapping


def check_mapping(table: Table, mapping: Mapping[str, Any]) -> dict[str, str]:
    """A mapping given by the user (a form, the API): known fields to headings of this file,
    each heading once; "" leaves a field out. InvalidInput otherwise."""
    errors, checked, used = {}, {}, {}
    for field_name, heading in mapping.items():
        if field_name not in FIELDS:
            errors[str(field_name)] = _("Unknown field.")
        elif heading in (None, ""):
            continue
        elif not isinstance(heading, str) or table.column(heading) is None:
            errors[field_name] = _("The file has no column with this heading.")
        elif heading_key(heading) in used:
            errors[field_name] = _("This column is already chosen for %(field)s.",
                                   field=FIELD_LABELS[used[heading_key(heading)]])
        else:
            checked[field_name] = table.headings[table.column(heading)]
            used[heading_key(heading)] = field_name
    if errors:
        raise InvalidInput(errors)
    return checked


# --- the preview ----------------------------------------------------------------------------


@dataclass
class RowResult:
    line: int
    values: dict[str, str]  # field -> the text in its column
    problems: list[str] = field(default_factory=list)  # why the row is refused
    warnings: list[str] = field(default_factory=list)  # worth a look, imported all the same
    input: dict | None = None  # what create_finding takes, when the row is good

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Preview:
    table: Table
    mapping: dict[str, str]
    rows: list[RowResult]
    allow_duplicates: bool = False

    @property
    def good(self) -> list[RowResult]:
        return [r for r in self.rows if r.ok]

    @property
    def refused(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]

    @property
    def missing(self) -> list[str]:
        """Required fields that no column is chosen for."""
        return [f for f in REQUIRED if f not in self.mapping]


class _Lookup:
    """Units, categories and projects by code or by name, read once per preview."""

    def __init__(self, user):
        self.units = self._index(db.session.execute(
            sa.select(Agency.code, Agency.code, Agency.name).where(
                Agency.kind == AgencyKind.AUDITED_UNIT, Agency.active.is_(True))))
        self.categories = self._index(db.session.execute(
            sa.select(Category.code, Category.code, Category.name, Category.name_en)
            .where(Category.active.is_(True))))
        self.projects = self._index(db.session.execute(
            project_access.visible_projects(user).with_only_columns(
                Project.public_id, Project.public_id, Project.name)))

    @staticmethod
    def _index(rows) -> dict[str, str | None]:
        """name_key of each code and name -> the code; None for a name two records share."""
        index: dict[str, str | None] = {}
        for code, *names in rows:
            for name in {name_key(n) for n in names if n}:
                index[name] = None if name in index and index[name] != code else code
        return index

    @staticmethod
    def find(index: dict[str, str | None], text: str) -> str:
        """The code that `text` names, or the text itself (which the form's rules refuse)."""
        return index.get(name_key(text)) or text


def _sensitivity(text: str) -> str:
    word = SENSITIVITY_WORDS.get(name_key(text))
    if word is not None:
        return word.value
    by_label = {name_key(str(s.label)): s.value for s in Sensitivity}
    return by_label.get(name_key(text), text.strip().lower())


def _labelled(field_name: str, message: str) -> str:
    label = FIELD_LABELS.get(field_name)
    return _("%(field)s: %(problem)s", field=label, problem=message) if label else message


def preview(user, table: Table, mapping: Mapping[str, str], *,
            allow_duplicates: bool = False) -> Preview:
    """Every row with its problems, by the finding form's rules (`clean_finding_input`), the
    same unit and title twice in the file, and the overlap hint with existing findings
    (`queries.similar_findings_many`, read once per unit): a row at least DUPLICATE_SCORE
    similar to a finding the user can see is a likely duplicate, refused unless
    `allow_duplicates` (then it is only a warning)."""
    lookup = _Lookup(user)
    columns = {f: table.column(h) for f, h in mapping.items()}
    seen: dict[tuple[str, str], int] = {}
    results, cleaned_rows = [], []
    for row in table.rows:
        values = {f: row.cells[i] for f, i in columns.items() if i is not None}
        result = RowResult(row.line, {f: _printable(v) for f, v in values.items()})
        results.append(result)
        bad = [f for f, v in values.items() if _bad_character(v)]
        for f in bad:
            result.problems.append(_labelled(f, _(
                "Contains a control character or an unpaired surrogate, which cannot be "
                "stored.")))
        if bad:
            continue
        data = _input(values, lookup)
        try:
            cleaned = operations.clean_finding_input(user, data, partial=False)
        except InvalidInput as exc:
            result.problems.extend(_labelled(f, str(m)) for f, m in exc.errors.items())
            continue
        key = (cleaned["unit"].code, name_key(cleaned["title"]))
        if key in seen:
            result.problems.append(_("The same audited unit and title as row %(line)d.",
                                     line=seen[key]))
            continue
        seen[key] = row.line
        result.input = data
        cleaned_rows.append((result, cleaned))
    by_unit: dict[str, list] = {}
    for result, cleaned in cleaned_rows:
        by_unit.setdefault(cleaned["unit"].code, []).append((result, cleaned["title"]))
    for unit_code, pairs in by_unit.items():
        hints = queries.similar_findings_many(user, unit_code, [title for _r, title in pairs])
        for (result, _title), hint in zip(pairs, hints, strict=True):
            best = hint[0] if hint else None
            if best is not None and best[0] >= DUPLICATE_SCORE:
                message = _("Likely a duplicate of the finding “%(title)s” of %(owner)s.",
                            title=best[1].title, owner=best[1].owner_name)
                if allow_duplicates:
                    result.warnings.append(message)
                else:
                    result.problems.append(message)
                    result.input = None
            elif best is not None and best[0] >= SIMILAR_SCORE:
                result.warnings.append(_("Similar to the finding “%(title)s” of %(owner)s.",
                                         title=best[1].title, owner=best[1].owner_name))
    return Preview(table, dict(mapping), results, allow_duplicates)


def _input(values: Mapping[str, str], lookup: _Lookup) -> dict:
    """A row's texts as the finding form would post them: a unit, category or project given
    by its name turned into its code; empty optional cells left out."""
    data = {}
    for f, raw in values.items():
        text = raw.strip()
        if f == "unit":
            data[f] = lookup.find(lookup.units, text) if text else ""
        elif f == "category":
            data[f] = lookup.find(lookup.categories, text) if text else ""
        elif f == "project":
            if text:
                data[f] = lookup.find(lookup.projects, text)
        elif f == "sensitivity":
            if text:
                data[f] = _sensitivity(text)
        elif f == "amount":
            data[f] = text
        else:
            data[f] = raw
    return data


# --- the import -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    findings: list[Finding]
    preview: Preview


def _imported_already(nonce: str) -> bool:
    return db.session.scalar(sa.select(Event.seq).where(
        Event.action == "finding.import", Event.object_type == "finding_import",
        Event.object_id == nonce).limit(1)) is not None


def import_findings(user, table: Table, mapping: Mapping[str, str], *, sha256: str,
                    allow_duplicates: bool = False, nonce: str | None = None) -> ImportResult:
    """The good rows as draft findings (the rows are checked again: the preview may be old),
    each through `create_finding`; one summary event; the mapping remembered for the agency.
    `nonce` names a kept upload: it is imported once only, even by two requests at once (the
    second sees the first's summary once the event chain lets it write). The caller commits
    once; a failure anywhere leaves nothing."""
    if not policy.records_findings(user):
        raise OperationError(_("Your agency does not record findings."), 403)
    if nonce and _imported_already(nonce):
        raise OperationError(_("This file has already been imported."), 409)
    checked = preview(user, table, mapping, allow_duplicates=allow_duplicates)
    if checked.missing:
        raise OperationError(_("Choose the column of each required field: %(fields)s.",
                               fields="、".join(str(FIELD_LABELS[f]) for f in checked.missing)),
                             422)
    good = checked.good
    if not good:
        raise OperationError(_("No row can be imported: every row was refused."), 422)
    findings = [operations.create_finding(user, row.input) for row in good]
    if nonce and _imported_already(nonce):  # the chain's head is held by now: a race is seen
        raise OperationError(_("This file has already been imported."), 409)
    record_event("finding.import", actor=user, object_type="finding_import",
                 object_id=nonce or storage.new_storage_name(),
                 details={"findings": [f.public_id for f in findings],
                          "rows": len(checked.rows), "imported": len(findings),
                          "refused": len(checked.refused), "sha256": sha256,
                          "format": table.kind})
    remember_mapping(user, checked.mapping)
    return ImportResult(findings, checked)


# --- keeping the upload between the steps ---------------------------------------------------


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"finding-import-{purpose}")


def _expired() -> OperationError:
    return OperationError(_("This upload has expired or has already been imported. Upload the "
                            "file again."), 404)


def keep_upload(user, received: Received) -> str:
    """Store the upload (in the caller's transaction) and return the token that names it to
    this user for UPLOAD_SECONDS."""
    name, _size, digest = storage.store_file(received.fh, prefix=f"{PREFIX}{int(time.time())}-")
    return _serializer("upload").dumps({"s": name, "h": digest, "u": user.id,
                                        "f": received.filename})


def _load(purpose: str, token: Any, user, max_age: int) -> dict:
    if token in (None, ""):  # as a required argument missing
        raise OperationError(_("This address needs the token of an import: start from the "
                               "upload."), 422)
    if not isinstance(token, str) or len(token) > 2000:
        raise _expired()
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:  # a forged, damaged or expired token
        raise _expired() from None
    if not isinstance(payload, dict) or payload.get("u") != user.id:
        raise _expired()
    return payload


def open_upload(user, token: Any) -> tuple[Received, str]:
    """The kept upload a token names, checked against its SHA-256, and its storage name (the
    import's nonce); 404 when it has expired, is gone, or is another user's."""
    payload = _load("upload", token, user, UPLOAD_SECONDS)
    try:
        fh = storage.open_verified(payload["s"], payload["h"])
    except (FileNotFoundError, storage.FileChanged, KeyError):
        raise _expired() from None
    return Received(fh, payload.get("f") or "", storage.size_of(fh), payload["h"]), payload["s"]


def forget_upload(storage_name: str) -> None:
    """Remove a kept upload once the transaction commits."""
    storage.remove(storage_name)


def keep_result(user, result: ImportResult) -> str:
    """The import's outcome for its result page: the counts, and the refused rows as a
    workbook, stored; a token that names them to the user for a day."""
    name = digest = None
    if result.preview.refused:
        spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed
        try:
            write_refused(spool, result.preview)
            name, _size, digest = storage.store_file(spool,
                                                     prefix=f"{PREFIX}{int(time.time())}-")
        finally:
            spool.close()
    return _serializer("result").dumps({"u": user.id, "i": len(result.findings),
                                        "n": len(result.preview.refused), "s": name,
                                        "h": digest})


def load_result(user, token: Any) -> dict:
    """{"i": findings imported, "n": rows refused, ...} of a result token; 404 otherwise."""
    payload = _load("result", token, user, REFUSED_SECONDS)
    if not isinstance(payload.get("i"), int) or not isinstance(payload.get("n"), int):
        raise _expired()
    return payload


def open_refused(user, token: Any) -> IO[bytes]:
    """The refused rows of an import, checked against their SHA-256; 404 when gone."""
    payload = load_result(user, token)
    if not payload.get("s"):
        raise OperationError(_("No row was refused."), 404)
    try:
        return storage.open_verified(payload["s"], payload["h"])
    except (FileNotFoundError, storage.FileChanged, KeyError, TypeError):
        raise _expired() from None


def sweep_uploads(now: float | None = None) -> int:
    """Remove the kept uploads and refused rows older than KEEP_SECONDS (once the caller
    commits); how many."""
    now = time.time() if now is None else now
    removed = 0
    for name in storage.stored_names(PREFIX):
        stamp = name[len(PREFIX):].split("-", 1)[0]
        if stamp.isdigit() and now - int(stamp) > KEEP_SECONDS:
            storage.remove(name)
            removed += 1
    return removed


# --- the files written ----------------------------------------------------------------------


def _text_cell(ws, value: str, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", _printable(value))[:32767])
    cell.data_type = "s"  # a text that begins with "=" stays a text
    for key, item in style.items():
        setattr(cell, key, item)
    return cell


def write_refused(out: IO[bytes], checked: Preview) -> None:
    """The refused rows as they were in the file, each with its line and its reasons first,
    to correct and import again."""
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("未导入的行")
    headings = ["原行号", "未导入原因", *checked.table.headings]
    for i, width in enumerate([8, 40] + [16] * len(checked.table.headings), 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "C2"
    bold = Font(bold=True)
    ws.append([_text_cell(ws, h, font=bold) for h in headings])
    cells = {row.line: row.cells for row in checked.table.rows}
    for row in checked.refused:
        ws.append([row.line, _text_cell(ws, "；".join(row.problems))]
                  + [_text_cell(ws, c) for c in cells[row.line]])
    workbook.save(out)


TEMPLATE_ROWS = 1000  # rows of the data sheet that carry the drop-downs


def write_template(out: IO[bytes], user) -> None:
    """The template: the headings on the first sheet with drop-downs (units, categories,
    sensitivity, the user's projects) that read a hidden sheet of lists, and a sheet of
    instructions."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = "问题清单"
    order = list(FIELDS)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for i, f in enumerate(order, 1):
        cell = ws.cell(row=1, column=i, value=HEADINGS[f] + ("*" if f in REQUIRED else ""))
        cell.font, cell.fill = Font(bold=True), header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = {
            "facts": 50, "title": 30, "legal_basis": 30, "recommendation": 30}.get(f, 18)
    ws.freeze_panes = "A2"
    ws.page_setup.orientation, ws.page_setup.paperSize = "landscape", 9  # A4, as a ledger
    ws.print_title_rows = "1:1"

    lists = workbook.create_sheet("选项")
    lists.sheet_state = "hidden"
    units = db.session.scalars(sa.select(Agency.name).where(
        Agency.kind == AgencyKind.AUDITED_UNIT, Agency.active.is_(True)).order_by(Agency.name))
    categories = db.session.scalars(sa.select(Category.name).where(Category.active.is_(True))
                                    .order_by(Category.position))
    projects = db.session.scalars(project_access.visible_projects(user).with_only_columns(
        Project.name).order_by(Project.year.desc(), Project.name))
    options = {"unit": list(units), "category": list(categories),
               "sensitivity": ["一般", "敏感"], "project": list(dict.fromkeys(projects))}
    for column, (f, values) in enumerate(options.items(), 1):
        letter = get_column_letter(column)
        lists.cell(row=1, column=column, value=HEADINGS[f])
        for r, value in enumerate(values, 2):
            lists.cell(row=r, column=column, value=value).data_type = "s"
        if not values:
            continue
        target = get_column_letter(order.index(f) + 1)
        validation = DataValidation(
            type="list", formula1=f"'选项'!${letter}$2:${letter}${len(values) + 1}",
            allow_blank=True, showDropDown=False, showErrorMessage=True,
            errorStyle="stop" if f == "sensitivity" else "warning",
            errorTitle=HEADINGS[f], error="请从下拉列表中选择。")
        validation.add(f"{target}2:{target}{TEMPLATE_ROWS + 1}")
        ws.add_data_validation(validation)

    notes = workbook.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 100
    for line in (
        "问题清单导入模板填写说明",
        "1. 每行填写一个问题，第1行为表头，请勿修改表头；带*的列必填。",
        "2. 被审计单位、问题类别请从下拉列表中选择，也可填写其代码。",
        "3. 涉及金额以元为单位，填写数字，最多两位小数，如 1234.56；不得为负数，不要填写公式。",
        f"4. 标题不超过{operations.TEXT_LIMITS['title']}字，问题描述不超过"
        f"{operations.TEXT_LIMITS['facts']}字。",
        "5. 敏感程度填写“一般”或“敏感”，不填为“一般”。所属项目可不填。",
        "6. 导入前系统会逐行检查并预览，有问题的行不会导入，可下载后修改再导入；"
        "与已有问题疑似重复的行默认不导入。",
        "7. 导入的问题均为草稿，经本单位领导签发后生效。",
    ):
        notes.append([line])
    notes["A1"].font = Font(bold=True, size=13)
    workbook.save(out)
