"""Import of findings from a spreadsheet: the template round trip, every refusal with its reason,
the preview that changes nothing, one transaction, the remembered mapping, hostile files."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings import importing, operations
from supervise.findings.models import Finding, FindingStatus, ImportMapping
from supervise.settings.models import Setting
from tests.factories import FindingFactory
from tests.helpers import events

HEAD = ["被审计单位", "问题标题", "问题描述", "问题类别", "涉及金额（元）"]


def xlsx(rows, head=HEAD) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    ws.append(head)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, head=HEAD, encoding="utf-8-sig") -> bytes:
    lines = [",".join(head)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def good(i=1, unit="区教育局", category="违规发放津补贴", amount="1000.50"):
    return [unit, f"第{i}个问题：违规列支会议费用于宴请{i}号", f"经查，该单位事实{i}。", category,
            amount]


def counts():
    db.session.expire_all()
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Finding)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Event)))


def api_import(caller, content, filename="findings.xlsx", dry_run=False, **fields):
    url = "/findings/import" + ("?dry_run=1" if dry_run else "")
    return caller.upload(url, {"file": (content, filename), **fields})


def reasons(answer, line):
    return " ".join(next(r for r in answer["rows"] if r["line"] == line)["problems"])


def sign_in(world, who="audit_staff"):
    client = world.client.application.test_client()
    assert client.sign_in(getattr(world, who).username).status_code == 302
    return client


# --- the template --------------------------------------------------------------------------


def test_the_filled_template_imports_as_it_is(world, as_):
    client = sign_in(world)
    response = client.get("/findings/import/template")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    ws = workbook["问题清单"]
    assert [c.value for c in ws[1]][:3] == ["被审计单位*", "所属项目", "问题标题*"]
    assert workbook["选项"].sheet_state == "hidden"
    assert "填写说明" in workbook.sheetnames
    formulas = {str(dv.sqref)[0]: dv.formula1
                for dv in ws.data_validations.dataValidation}
    assert formulas["A"].startswith("'选项'!$A$2")  # units
    assert set(formulas) == {"A", "B", "E", "I"}  # unit, project, category, sensitivity
    units = [c.value for c in workbook["选项"]["A"][1:] if c.value]
    assert units == ["区卫健委", "区教育局"]
    ws.append(["区教育局", world.project.name, "违规发放津补贴问题", "事实一。", "违规发放津补贴",
               1234.5, "《会计法》", "退回资金", "敏感"])
    ws.append(["health", "", "政府采购未公开招标", "事实二。", "procurement", None, "", "", ""])
    out = io.BytesIO()
    workbook.save(out)
    answer = api_import(as_("audit_staff"), out.getvalue()).get_json()
    assert (answer["good"], answer["refused"]) == (2, 0), answer
    first, second = (db.session.get(Finding, db.session.scalar(
        sa.select(Finding.id).where(Finding.public_id == pid))) for pid in answer["findings"])
    assert (first.unit.code, first.category_code, str(first.amount), first.sensitivity.value,
            first.project_id, first.status) == ("edu", "allowances", "1234.50", "sensitive",
                                                world.project.id, FindingStatus.DRAFT)
    assert (first.legal_basis, first.recommendation) == ("《会计法》", "退回资金")
    assert (second.unit.code, second.category_code, second.amount,
            second.sensitivity.value) == ("health", "procurement", None, "normal")


# --- each bad row with its reason ----------------------------------------------------------


def test_each_bad_row_is_refused_with_its_reason(world, as_):
    FindingFactory(owner_agency=world.audit, unit=world.edu, title="挪用专项资金用于发放奖金",
                   created_by=world.audit_staff)
    rows = [
        good(1),
        ["某某单位", "未知单位的问题", "事实。", "违规发放津补贴", ""],  # 3: unknown unit
        ["区教育局", "未知类别的问题", "事实。", "不存在的类别", ""],  # 4: unknown category
        ["区教育局", "金额写错的问题", "事实。", "其他", "一千元"],  # 5: malformed amount
        ["区教育局", "负数金额的问题", "事实。", "其他", "-5"],  # 6: negative amount
        ["区教育局", "", "没有标题。", "其他", ""],  # 7: missing title
        ["区教育局", "太长" * 101, "事实。", "其他", ""],  # 8: title over 200
        ["区教育局", "公式金额的问题", "事实。", "其他", "=SUM(A1:A2)"],  # 9: a formula
        ["区教育局", "挪用专项资金用于发放奖金", "重复。", "其他", ""],  # 10: a likely duplicate
        good(1),  # 11: the same as row 2
        ["区教育局", "没有事实的问题", "", "其他", "3.333"],  # 12: no facts, three decimals
    ]
    before = counts()
    answer = api_import(as_("audit_staff"), xlsx(rows), dry_run=True).get_json()
    assert counts() == before
    assert (answer["total"], answer["good"], answer["refused"]) == (11, 1, 10)
    assert answer["rows"][0] == {"line": 2, "ok": True, "values": answer["rows"][0]["values"],
                                 "problems": [], "warnings": []}
    assert reasons(answer, 3) == "被审计单位：未知的被审计单位。"
    assert reasons(answer, 4) == "问题类别：未知的问题类别。"
    assert "金额不是有效的数字" in reasons(answer, 5)
    assert "金额不能为负数" in reasons(answer, 6)
    assert reasons(answer, 7) == "标题：此项为必填项。"
    assert "最多 200 个字符" in reasons(answer, 8)
    assert "金额不是有效的数字" in reasons(answer, 9)
    assert next(r for r in answer["rows"] if r["line"] == 9)["values"]["amount"] == "=SUM(A1:A2)"
    assert "疑似与区审计局的问题“挪用专项资金用于发放奖金”重复" in reasons(answer, 10)
    assert reasons(answer, 11) == "与第2行的被审计单位和标题相同。"
    assert "问题事实：此项为必填项。" in reasons(answer, 12)
    assert "两位小数" in reasons(answer, 12)


def test_a_likely_duplicate_is_imported_when_asked_with_a_warning(world, as_):
    FindingFactory(owner_agency=world.audit, unit=world.edu, title="挪用专项资金用于发放奖金",
                   created_by=world.audit_staff)
    rows = [["区教育局", "挪用专项资金用于发放奖金", "重复。", "其他", ""]]
    answer = api_import(as_("audit_staff"), xlsx(rows), allow_duplicates="true").get_json()
    assert answer["good"] == 1 and len(answer["findings"]) == 1
    assert "重复" in answer["rows"][0]["warnings"][0]


def test_importing_the_same_file_twice_refuses_the_second(world, as_):
    content = xlsx([good(1), good(2)])
    assert len(api_import(as_("audit_staff"), content).get_json()["findings"]) == 2
    response = api_import(as_("audit_staff"), content)
    assert response.status_code == 422
    assert "每一行都未通过检查" in response.get_json()["message"]
    assert counts()[0] == 2


# --- what an import does -------------------------------------------------------------------


def test_a_dry_run_changes_nothing(world, as_, upload_dir):
    before = counts()
    answer = api_import(as_("audit_staff"), xlsx([good(1), good(2)]), dry_run=True).get_json()
    assert (answer["dry_run"], answer["good"], answer["findings"]) == (True, 2, [])
    assert counts() == before
    assert db.session.get(ImportMapping, world.audit.id) is None
    assert list(upload_dir.iterdir()) == []


def test_one_event_per_finding_and_one_for_the_import(world, as_):
    answer = api_import(as_("audit_staff"), xlsx([good(i) for i in range(1, 4)])).get_json()
    created = events("finding.create")
    assert sorted(e.object_id for e in created) == sorted(answer["findings"])
    (summary,) = events("finding.import")
    assert summary.object_type == "finding_import"
    assert '"imported": 3' in summary.details and '"refused": 0' in summary.details


def test_the_import_is_one_transaction(world, as_, monkeypatch):
    real, calls = operations.create_finding, []

    def fail_on_the_third(user, data):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return real(user, data)

    monkeypatch.setattr(operations, "create_finding", fail_on_the_third)
    before = counts()
    with pytest.raises(RuntimeError):
        api_import(as_("audit_staff"), xlsx([good(i) for i in range(1, 6)]))
    assert len(calls) == 3
    assert counts() == before


def test_the_mapping_is_remembered_per_agency(world, as_):
    head = ["单位名称", "我们的标题", "情况", "问题类型"]
    rows = [["区教育局", "自定义表头的问题", "事实。", "其他"]]
    mapping = '{"title": "我们的标题", "facts": "情况"}'
    answer = api_import(as_("audit_staff"), xlsx(rows, head), mapping=mapping).get_json()
    assert answer["mapping"] == {"unit": "单位名称", "title": "我们的标题", "facts": "情况",
                                 "category": "问题类型"}
    assert len(answer["findings"]) == 1
    remembered = db.session.get(ImportMapping, world.audit.id).columns
    assert remembered["title"] == "我们的标题"
    rows = [["区教育局", "第二次导入的问题", "事实。", "其他"]]
    again = api_import(as_("audit_staff"), xlsx(rows, head), dry_run=True).get_json()
    assert again["mapping"]["title"] == "我们的标题" and again["good"] == 1
    other = api_import(as_("insp_staff"), xlsx(rows, head), dry_run=True).get_json()
    assert "title" not in other["mapping"] and other["good"] == 0
    assert "标题：此项为必填项。" in other["rows"][0]["problems"]


def test_a_mapping_naming_no_column_is_a_422(world, as_):
    response = api_import(as_("audit_staff"), xlsx([good(1)]), dry_run=True,
                          mapping='{"title": "没有这一列"}')
    assert response.status_code == 422
    assert "title" in response.get_json()["errors"]
    for bad in ('["title"]', "{", '{"title": 1}'):
        response = api_import(as_("audit_staff"), xlsx([good(1)]), mapping=bad)
        assert response.status_code in (400, 422), bad
    assert counts()[0] == 0


# --- CSV -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_in_gb18030(world, as_, encoding):
    content = csv_bytes([good(1), good(2, amount="=1+1")], encoding=encoding)
    answer = api_import(as_("audit_staff"), content, filename="问题.xlsx").get_json()
    assert (answer["format"], answer["good"], answer["refused"]) == ("csv", 1, 1), answer
    assert answer["headings"][0] == "被审计单位"
    assert "金额不是有效的数字" in reasons(answer, 3)


# --- hostile files -------------------------------------------------------------------------


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))
    return out.getvalue()


def docx_like() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def shared_strings_xlsx(rows) -> bytes:
    """A workbook as Excel writes one, every cell a shared string: there an escape such as
    _x0001_ reads back as the character it names (openpyxl refuses to write one itself)."""
    from xml.sax.saxutils import escape

    strings = [c for row in rows for c in row]
    cells = "".join(
        f'<row r="{r}">' + "".join(
            f'<c r="{chr(65 + c)}{r}" t="s"><v>{(r - 1) * len(rows[0]) + c}</v></c>'
            for c in range(len(row))) + "</row>" for r, row in enumerate(rows, 1))
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            f'<workbook {ns} xmlns:r="{rel}"><sheets><sheet name="Sheet1" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": f"<worksheet {ns}><sheetData>{cells}</sheetData></worksheet>",
        "xl/sharedStrings.xml": f'<sst {ns} count="{len(strings)}">' + "".join(
            f"<si><t>{escape(t)}</t></si>" for t in strings) + "</sst>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def control_characters() -> bytes:
    """XML cannot carry U+0001: a workbook whose part holds one is damaged."""
    return shared_strings_xlsx([HEAD, good(1),
                                ["区教育局", "含有控制字符\x01的标题", "事实。", "其他", ""]])


HOSTILE = {
    "not_xlsx": (b"this is not a workbook at all \x00\x01\x02", "x.xlsx", 415, "不是Excel工作簿"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n\xff\xfe\x00", "x.xlsx", 415,
            "不是Excel工作簿"),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "x.xls", 415, ".xls"),
    "docx": (docx_like(), "x.xlsx", 415, "不是Excel工作簿"),
    "broken_zip": (b"PK\x03\x04" + b"\0" * 200, "x.xlsx", 415, "不是Excel工作簿"),
    "bomb": (zip_bomb(), "x.xlsx", None, "拒绝"),
    "empty": (b"", "x.xlsx", 400, "文件为空"),
    "blank_csv": (b"\r\n,,,\r\n", "x.csv", 400, "没有内容"),
    "no_heading": (xlsx([["a", "b"], ["c", "d"]], head=["甲", "乙"]), "x.xlsx", 400,
                   "未找到表头行"),
    "headings_only": (xlsx([]), "x.xlsx", 400, "表头下没有"),
    "binary_csv": (bytes(range(256)) * 4, "x.csv", 415, "不是Excel工作簿"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_file_is_refused_with_a_clear_message(world, as_, upload_dir, kind):
    content, filename, status, words = HOSTILE[kind]
    before = counts()
    for dry_run in (True, False):
        response = api_import(as_("audit_staff"), content, filename, dry_run=dry_run)
        assert response.status_code == status if status else 400 <= response.status_code < 500
        assert words in response.get_json()["message"], response.get_json()
    assert counts() == before
    page = sign_in(world)
    response = page.post_form("/findings/import", {"file": (io.BytesIO(content), filename)},
                              content_type="multipart/form-data")
    assert 400 <= response.status_code < 500
    assert words in response.get_data(as_text=True)
    assert counts()[0] == before[0]
    assert {e.action for e in events()[before[1]:]} == {"auth.sign_in"}
    assert list(upload_dir.iterdir()) == []


def test_formulas_are_text_never_results(world, as_):
    rows = [["区教育局", "=HYPERLINK(\"http://x\",\"点我\")", "=1+1", "其他", ""]]
    answer = api_import(as_("audit_staff"), xlsx(rows)).get_json()
    finding = db.session.scalar(sa.select(Finding).where(
        Finding.public_id == answer["findings"][0]))
    assert (finding.title, finding.facts) == ('=HYPERLINK("http://x","点我")', "=1+1")


def test_a_control_character_in_a_cell_refuses_its_row(world, as_):
    response = api_import(as_("audit_staff"), control_characters(), dry_run=True)
    assert response.status_code == 415 and "不是Excel工作簿" in response.get_json()["message"]
    escaped = shared_strings_xlsx([HEAD, ["区教育局", "转义_x0001_照原样", "事实。", "其他", ""]])
    answer = api_import(as_("audit_staff"), escaped, dry_run=True).get_json()
    assert answer["rows"][0]["values"]["title"] == "转义_x0001_照原样"  # text, as it stands
    csv_answer = api_import(as_("audit_staff"), csv_bytes(
        [good(1), ["区教育局", "标题\x07响铃", "事实。", "其他", ""]]), dry_run=True).get_json()
    assert "控制字符" in reasons(csv_answer, 3) and csv_answer["good"] == 1
    surrogate = "被审计单位,问题标题\r\n区教育局,".encode() + b"\xed\xa0\x80\r\n"
    response = api_import(as_("audit_staff"), surrogate, "x.csv", dry_run=True)
    assert response.status_code in (200, 400, 415)
    assert counts()[0] == 0


def test_a_file_over_the_size_limit_is_a_413(world, as_):
    db.session.add(Setting(key="import_max_mb", value=1))
    db.session.commit()
    big = xlsx([good(1)]) + b"\0" * (1024 * 1024)
    response = api_import(as_("audit_staff"), big)
    assert response.status_code == 413
    assert "1 MB" in response.get_json()["message"]
    assert counts()[0] == 0


def test_too_many_rows_are_refused(world, as_):
    db.session.add(Setting(key="import_max_rows", value=3))
    db.session.commit()
    response = api_import(as_("audit_staff"), xlsx([good(i) for i in range(1, 5)]))
    assert response.status_code == 400
    assert "超过3行" in response.get_json()["message"]
    assert api_import(as_("audit_staff"), xlsx([good(i) for i in range(1, 4)])).status_code == 200


def test_the_package_check_refuses_before_anything_unpacks(app):
    from supervise.ooxml import PackageError, check_package

    with app.test_request_context():
        with pytest.raises(PackageError) as refused:
            check_package(io.BytesIO(zip_bomb()), 10 * 1024 * 1024)
        assert refused.value.status == 413
        with pytest.raises(PackageError):
            check_package(io.BytesIO(zip_bomb()), 10**12)  # the ratio alone
        with pytest.raises(PackageError) as refused:
            check_package(io.BytesIO(b"not a zip"), 10**6)
        assert refused.value.status == 415
        check_package(io.BytesIO(xlsx([good(1)])), 10**6, required=("xl/workbook.xml",))


# --- who may import ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["disc_staff", "org_staff", "unit_contact"])
def test_an_agency_that_records_no_findings_has_no_import(world, as_, who):
    response = api_import(as_(who), xlsx([good(1)]))
    assert response.status_code == 404
    client = sign_in(world, who)
    for url in ("/findings/import", "/findings/import/template"):
        assert client.get(url).status_code == 404
    assert counts()[0] == 0


def test_the_inspection_office_imports_its_own_findings(world, as_):
    answer = api_import(as_("insp_staff"), xlsx([good(1)])).get_json()
    finding = db.session.scalar(sa.select(Finding).where(
        Finding.public_id == answer["findings"][0]))
    assert finding.owner_agency_id == world.inspection.id


# --- the pages -----------------------------------------------------------------------------


def _token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_upload_preview_confirm_result_and_the_refused_rows(world, upload_dir):
    client = sign_in(world)
    assert "从Excel导入" in client.get("/findings").get_data(as_text=True)
    rows = [good(i) for i in range(1, 5)] + [["区教育局", "", "无标题", "其他", ""]]
    response = client.post_form("/findings/import",
                                {"file": (io.BytesIO(xlsx(rows)), "问题.xlsx")},
                                content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "问题.xlsx：共5行，可导入4行，不导入1行。" in html
    assert "标题：此项为必填项。" in html
    token = _token(html)
    mapping = {f"map_{f}": h for f, h in (("unit", "被审计单位"), ("title", "问题标题"),
                                         ("facts", "问题描述"), ("category", "问题类别"),
                                         ("amount", "涉及金额（元）"))}
    assert counts()[0] == 0
    again = client.post_form("/findings/import/preview", {"token": token, **mapping})
    assert again.status_code == 200 and "可导入4行" in again.get_data(as_text=True)
    # Another user cannot use the token.
    other = sign_in(world, "audit_leader")
    refused = other.post_form("/findings/import/confirm", {"token": token, **mapping})
    assert refused.status_code == 404 and counts()[0] == 0
    done = client.post_form("/findings/import/confirm", {"token": token, **mapping})
    assert done.status_code == 302, done.get_data(as_text=True)
    assert counts()[0] == 4
    result = client.get(done.headers["Location"])
    text = result.get_data(as_text=True)
    assert "4个问题已记录为草稿" in text and "1行未导入" in text
    link = re.search(r'href="(/findings/import/refused\?t=[^"]+)"', text).group(1)
    download = client.get(link.replace("&amp;", "&"))
    assert download.status_code == 200
    content = download.data
    download.close()
    sheet = load_workbook(io.BytesIO(content)).active
    assert [c.value for c in sheet[1]][:3] == ["原行号", "未导入原因", "被审计单位"]
    assert sheet[2][0].value == 6 and "标题：此项为必填项。" in sheet[2][1].value
    assert sheet.max_row == 2
    # The same upload cannot be imported twice.
    twice = client.post_form("/findings/import/confirm", {"token": token, **mapping})
    assert twice.status_code == 404 and counts()[0] == 4
    assert "已过期或已导入" in twice.get_data(as_text=True)
    assert other.get(link.replace("&amp;", "&")).status_code == 404


def test_a_forged_or_missing_token_changes_nothing(world):
    client = sign_in(world)
    for token in ("", "abc", "x" * 5000, "eyJ.forged.token"):
        response = client.post_form("/findings/import/confirm", {"token": token})
        assert response.status_code in (404, 422)
    assert client.get("/findings/import/result?t=nope").status_code == 404
    assert client.get("/findings/import/refused").status_code == 422
    assert counts()[0] == 0


def test_kept_uploads_are_swept_after_their_day(world, upload_dir):
    client = sign_in(world)
    response = client.post_form("/findings/import",
                                {"file": (io.BytesIO(xlsx([good(1)])), "a.xlsx")},
                                content_type="multipart/form-data")
    assert response.status_code == 200
    assert len(list(upload_dir.iterdir())) == 1
    import time

    assert importing.sweep_uploads() == 0
    assert importing.sweep_uploads(time.time() + importing.KEEP_SECONDS + 10) == 1
    db.session.commit()
    assert list(upload_dir.iterdir()) == []


def test_on_the_database_backend_a_second_server_imports_the_kept_upload(
        world, app, app_factory, monkeypatch, upload_dir):
    """The upload kept by one server (its rows in stored_files) is imported through another:
    the token is bound to the user, not to a server or a session."""
    from supervise.attachments.models import StoredPart

    monkeypatch.setitem(app.config, "FILE_STORAGE", "database")
    client = sign_in(world)
    rows = [good(1), good(2), ["区教育局", "", "无标题", "其他", ""]]
    response = client.post_form("/findings/import", {"file": (io.BytesIO(xlsx(rows)), "a.xlsx")},
                                content_type="multipart/form-data")
    assert response.status_code == 200
    token = _token(response.get_data(as_text=True))
    assert list(upload_dir.iterdir()) == []

    def kept():
        db.session.expire_all()
        return set(db.session.scalars(sa.select(StoredPart.storage_name).distinct()))

    (upload,) = kept()
    assert upload.startswith("import-")
    other = app_factory(FILE_STORAGE="database").test_client()
    assert other.sign_in(world.audit_staff.username).status_code == 302
    done = other.post_form("/findings/import/confirm", {
        "token": token, "map_unit": "被审计单位", "map_title": "问题标题",
        "map_facts": "问题描述", "map_category": "问题类别", "map_amount": "涉及金额（元）"})
    assert done.status_code == 302, done.get_data(as_text=True)
    assert counts()[0] == 2
    (refused,) = kept()  # the upload is gone; the refused rows are kept for their day
    assert refused != upload and refused.startswith("import-")
    download = client.get(done.headers["Location"].replace("/result?", "/refused?"))
    assert download.status_code == 200
    download.close()
    import time

    assert importing.sweep_uploads(time.time() + importing.KEEP_SECONDS + 10) == 1
    db.session.commit()
    assert kept() == set()


def test_two_confirmations_at_once_import_once(world, app):
    """A double click, or two tabs: the second confirmation finds the first's import."""
    from tests.helpers import race

    client = sign_in(world)
    response = client.post_form("/findings/import",
                                {"file": (io.BytesIO(xlsx([good(1), good(2)])), "a.xlsx")},
                                content_type="multipart/form-data")
    form = {"token": _token(response.get_data(as_text=True)), "map_unit": "被审计单位",
            "map_title": "问题标题", "map_facts": "问题描述", "map_category": "问题类别"}
    csrf = client.csrf_token()
    answers = race([lambda: client.post("/findings/import/confirm",
                                        data={**form, "csrf_token": csrf})] * 2)
    assert sorted(a.status_code for a in answers)[0] == 302
    assert counts()[0] == 2
    assert len(events("finding.import")) == 1


def test_the_refused_rows_keep_a_formula_as_text(world, app):
    with app.test_request_context():
        table = importing.Table("xlsx", HEAD, 1, [importing.Row(2, ["区教育局", "标题", "事实",
                                                                    "其他", "=SUM(A1:A2)"])])
        checked = importing.Preview(table, {}, [importing.RowResult(2, {}, ["金额不对"])])
        out = io.BytesIO()
        importing.write_refused(out, checked)
    cell = load_workbook(io.BytesIO(out.getvalue())).active["G2"]
    assert (cell.value, cell.data_type) == ("=SUM(A1:A2)", "s")


def test_the_api_takes_the_columns_as_form_fields_too(world, as_):
    head = ["单位名称", "我们的标题", "情况", "问题类型"]
    rows = [["区教育局", "表单字段指定列的问题", "事实。", "其他"]]
    answer = api_import(as_("audit_staff"), xlsx(rows, head), dry_run=True,
                        map_title="我们的标题", map_facts="情况").get_json()
    assert answer["good"] == 1 and answer["mapping"]["title"] == "我们的标题"
    answer = api_import(as_("audit_staff"), xlsx(rows, head), dry_run=True,
                        mapping='{"title": "情况"}', map_title="我们的标题",
                        map_facts="").get_json()
    assert answer["mapping"]["title"] == "我们的标题" and "facts" not in answer["mapping"]
