"""The event log in words (supervise.events.words): every action code recorded anywhere has a
label, objects and details read as words in the reader's language, nothing of a case reaches
the audit administrator, and the export holds what the page shows."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import load_workbook

from supervise.events import words
from supervise.events.log import record_event
from supervise.events.models import Event, Outcome
from supervise.extensions import db
from supervise.settings.models import Category
from tests.conftest import page_text
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import events

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo-pass-2026"

# Where an action code is built rather than written out, and how the test expands it: a new
# place like these fails `test_every_recorded_action_has_a_label` until it is listed here.
DYNAMIC_SITES = {
    "supervise/workflow.py",  # f"{self.name}.{action.value}": the workflows' steps
    "supervise/reminders.py",  # f"{subject_type}.escalate": the escalation of each clock
    "supervise/accounts/auth.py",  # authenticate(event=...): the codes passed to it
}


def _code(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def _written(node) -> set[str] | None:
    """The codes an argument writes out: a text, or either text of `a if c else b`."""
    if isinstance(node, ast.IfExp):
        body, orelse = _written(node.body), _written(node.orelse)
        return None if body is None or orelse is None else body | orelse
    code = _code(node)
    return {code} if code else None


def _codes_in_source() -> tuple[set[str], set[str]]:
    """Action codes written in supervise/ (record_event's first argument, the "action" of a
    record_events row, authenticate's `event`), and the files that build one instead."""
    codes, dynamic = set(), set()
    for path in sorted((ROOT / "supervise").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name == "supervise/events/log.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                    node.func, "id", None)
                if func == "record_event" and node.args:
                    found = _written(node.args[0])
                    codes.update(found) if found else dynamic.add(name)
                if func == "authenticate":
                    codes |= {_code(k.value) for k in node.keywords if k.arg == "event"} - {None}
            elif isinstance(node, ast.FunctionDef) and node.name == "authenticate":
                codes |= {_code(d) for d in node.args.defaults} - {None}
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if key is not None and _code(key) == "action":
                        code = _code(value)
                        if code and "." in code:
                            codes.add(code)
                        elif isinstance(value, ast.JoinedStr):
                            dynamic.add(name)
    return codes, dynamic


def _built_codes() -> set[str]:
    """The codes the dynamic sites build."""
    from supervise.findings.operations import WORKFLOW as FINDING
    from supervise.rectifications.operations import WORKFLOW as RECTIFICATION
    from supervise.referrals.operations import WORKFLOW as REFERRAL
    from supervise.reminders import CLOCKS

    codes = {f"{w.name}.{action.value}" for w in (FINDING, REFERRAL, RECTIFICATION)
             for action in w.transitions}
    return codes | {f"{clock.workflow.name}.escalate" for clock in CLOCKS}


def test_every_recorded_action_has_a_label(app):
    written, dynamic = _codes_in_source()
    assert dynamic == DYNAMIC_SITES, "a new place builds action codes: list it and expand it"
    codes = written | _built_codes()
    assert {"auth.sign_in", "user.password_check", "referral.approve", "referral.escalate",
            "ledger.export", "event.export"} <= codes  # the walk finds what it should
    assert sorted(c for c in codes if words.action_label(c) is None) == []
    assert sorted(codes - set(words.all_actions())) == []  # and the filter offers each


def _keys(node) -> set[str]:
    """The text keys of a dict literal (of either dict of `a if c else b`)."""
    if isinstance(node, ast.IfExp):
        return _keys(node.body) | _keys(node.orelse)
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if _code(k)}
    return set()


def _detail_keys_in_source() -> set[str]:
    """The keys the source writes into events' details: record_event's `details=`, a
    record_events row's "details", and what a workflow step puts in `step.details` (or an
    operation in the `changes` it records)."""
    keys = set()
    for path in sorted((ROOT / "supervise").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                    node.func, "id", None)
                if func == "record_event":
                    keys |= {k for kw in node.keywords if kw.arg == "details"
                             for k in _keys(kw.value)}
                if func == "update" and isinstance(node.func.value, ast.Attribute) \
                        and node.func.value.attr == "details":
                    keys |= {kw.arg for kw in node.keywords if kw.arg}
            elif isinstance(node, ast.Dict):
                pairs = {_code(k): v for k, v in zip(node.keys, node.values, strict=True)}
                if "action" in pairs and "details" in pairs:
                    keys |= _keys(pairs["details"])
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "details":
                        keys |= _keys(node.value)
                    elif isinstance(target, ast.Subscript) and _code(target.slice) and (
                            isinstance(target.value, ast.Attribute)
                            and target.value.attr == "details"
                            or isinstance(target.value, ast.Name)
                            and target.value.id == "changes"):
                        keys.add(target.slice.value)
    return keys


def test_every_detail_key_in_the_source_is_shown_or_withheld(app):
    found = _detail_keys_in_source()
    assert {"handler", "disposition", "amount_recovered", "display_name", "sha256",
            "working_days", "email_off", "filter"} <= found  # the walk finds what it should
    decided = set(words.DETAILS) | {key for _action, key in words.ACTION_DETAILS} | \
        words.WITHHELD
    assert sorted(found - decided) == [], "decide whether the audit administrator may read these"


def test_a_code_nobody_named_has_no_label(app):
    assert words.action_label("test.event") is None
    assert words.action_label("referral.no-such-step") is None


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output


def test_the_demo_seed_records_only_labelled_actions_and_known_detail_keys(demo):
    known = set(words.DETAILS) | {key for _action, key in words.ACTION_DETAILS} | \
        words.WITHHELD
    unlabelled, unknown = set(), set()
    for action, details in db.session.execute(sa.select(Event.action, Event.details)):
        if words.action_label(action) is None:
            unlabelled.add(action)
        unknown |= {(action, key) for key in json.loads(details) if key not in known}
    assert unlabelled == set()
    assert unknown == set(), "decide whether the audit administrator may read these keys"


def _admin(client, locale=None):
    admin = UserFactory(username="auditor", display_name="审计管理员甲", roles=["auditadmin"],
                        locale=locale)
    client.sign_in("auditor")
    return admin


def _sample_events():
    """A few events of several kinds, as the operations write them."""
    agency = AgencyFactory(code="unit-x", name="区教育局")
    user = UserFactory(username="zhang.san", display_name="张三", agency=agency)
    record_event("user.set_roles", actor=user, obj=user,
                 details={"added": ["leader"], "removed": ["staff"]})
    record_event("agency.update", actor=user, obj=agency,
                 details={"name": {"from": "教育局", "to": "区教育局"}})
    record_event("settings.change", actor=user, object_type="settings",
                 object_id="answer_months", details={"from": 3, "to": 4})
    db.session.add(Category(code="cat-x", name="专项资金", name_en="Special funds"))
    record_event("category.create", actor=user, object_type="categories", object_id="cat-x",
                 details={"name": "专项资金", "name_en": "Special funds"})
    record_event("auth.sign_in", obj=user, outcome=Outcome.FAILURE,
                 details={"reason": "bad_credentials"})
    db.session.commit()
    return user


def _rows(response) -> list[str]:
    html = response.get_data(as_text=True).split("<tbody>")[1].split("</tbody>")[0]
    return [page_text_of(row) for row in html.split("</tr>")[:-1]]


def page_text_of(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_page_reads_as_words_in_chinese(client):
    _sample_events()
    _admin(client)
    response = client.get("/audit/events")
    assert response.status_code == 200
    text = page_text(response)
    [failed] = [row for row in _rows(response) if "失败" in row]
    assert "登录 用户 张三（zhang.san） 失败 理由：用户名或密码错误" in failed
    assert "问题类别 专项资金" in text and "问题类别已添加" in text
    assert "系统设置 移送事项：反馈期限" in text and "值：3 → 4" in text
    assert "单位 区教育局" in text and "名称：教育局 → 区教育局" in text
    assert "角色已变更" in text and "增加的角色：领导" in text and "移除的角色：工作人员" in text
    # No codes and no JSON where words belong.
    body = text.split("详情", 1)[1]
    for code in ("auth.sign_in", "user.set_roles", "settings", "answer_months",
                 "bad_credentials", "{"):
        assert code not in body, code


def test_the_page_reads_as_words_in_english(client):
    _sample_events()
    _admin(client, locale="en")
    text = page_text(client.get("/audit/events"))
    assert "User 张三 (zhang.san)" in text and "Sign-in" in text and "Failure" in text
    assert "Reason: wrong user name or password" in text
    assert "Roles changed" in text and "Roles added: Leader" in text
    assert "Setting Referral: answer within" in text and "Value: 3 → 4" in text
    assert "Finding category Special funds" in text
    assert "bad_credentials" not in text and "user.set_roles" not in text


def test_the_action_filter_offers_words_and_keeps_working(client):
    _sample_events()
    _admin(client)
    page = client.get("/audit/events", query_string={"action": "user."})
    rows = _rows(page)
    assert len(rows) == 1 and "角色已变更" in rows[0]
    html = page.get_data(as_text=True)
    assert '<option value="user." selected>账号：全部</option>' in html
    assert '<option value="referral.approve">移送事项：审批并移送</option>' in html
    one = _rows(client.get("/audit/events", query_string={"action": "auth.sign_in",
                                                            "outcome": "failure"}))
    assert len(one) == 1 and "失败" in one[0]
    typed = client.get("/audit/events", query_string={"action": "test."})
    assert '<option value="test." selected>test.</option>' in typed.get_data(as_text=True)


def test_details_the_audit_administrator_may_not_read_stay_out(client):
    user = UserFactory()
    record_event("referral.answer", actor=user, object_type="referrals",
                 object_id="A" * 16, details={"disposition": "case_opened", "from": "in_handling",
                                              "to": "answered", "novel_key": "某某线索"})
    record_event("rectification.report", actor=user, object_type="rectifications",
                 object_id="B" * 16, details={"amount_recovered": "1234.56", "final": True})
    db.session.commit()
    _admin(client)
    text = page_text(client.get("/audit/events"))
    assert "移送事项 " + "A" * 16 in text and "状态：办理中 → 已反馈" in text
    assert "整改事项 " + "B" * 16 in text and "整改完成报告：是" in text
    with force_locale("zh_CN"):
        from supervise.referrals.models import Disposition

        opened = Disposition.CASE_OPENED.label
    for withheld in (opened, "case_opened", "1234.56", "1,234.56", "某某线索", "novel_key"):
        assert withheld not in text, withheld


def test_nothing_of_a_case_reaches_the_audit_administrator(demo, client):
    """Through the demo's whole story, neither the page nor the export names a person involved,
    a record's title or facts, or what became of a clue."""
    from supervise.findings.models import Finding
    from supervise.projects.models import Project
    from supervise.rectifications.models import Rectification
    from supervise.referrals.models import PersonInvolved, Referral

    secret = {p.name for p in db.session.scalars(sa.select(PersonInvolved))}
    assert secret, "the demo names persons involved"
    for model in (Referral, Finding, Rectification, Project):
        column = model.name if model is Project else model.title
        secret |= set(db.session.scalars(sa.select(column)))
    secret |= {facts[:12] for facts in db.session.scalars(sa.select(Referral.facts))}
    with force_locale("zh_CN"):
        labels = set(map(words.action_label, words.all_actions()))
        secret |= {r.disposition.label for r in db.session.scalars(sa.select(Referral))
                   if r.disposition is not None and r.disposition.label not in labels}
    client.sign_in("auditadmin", DEMO_PASSWORD)
    first = client.get("/audit/events")
    pages = [page_text(first)]
    for number in range(2, _page_count(pages[0]) + 1):
        pages.append(page_text(client.get("/audit/events", query_string={"page": number})))
    export = client.get("/audit/events.xlsx")
    cells = " ".join(str(c) for row in _sheet(export).iter_rows(values_only=True)
                     for c in row if c is not None)
    for text in (*pages, cells):
        assert [s for s in secret if s and s in text] == []
    assert "移送事项：审批并移送" in " ".join(pages)


def _page_count(text: str) -> int:
    import re

    found = re.search(r"第 ?\d+ ?页，共 ?(\d+) ?页", text)
    return int(found.group(1)) if found else 1


def _sheet(response):
    assert response.status_code == 200, response.status_code
    data = response.data
    response.close()  # the file streams from a temporary file until closed
    return load_workbook(io.BytesIO(data)).active


def test_the_export_holds_the_filtered_list_in_words_and_is_an_event(client):
    _sample_events()
    _admin(client, locale="en")  # the file is a Chinese document whatever the screens speak
    response = client.get("/audit/events.xlsx", query_string={"outcome": "failure"})
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(_sheet(response).iter_rows(values_only=True))
    assert "操作日志" in rows[0][0] and "结果：失败" in rows[0][0]
    assert rows[1] == ("编号", "时间", "用户", "单位", "IP", "操作", "操作对象", "结果", "详情",
                       "事件代码", "哈希")
    data, total = rows[2:-1], rows[-1]
    assert total[:2] == ("合计", "共1项")
    [failure] = [e for e in events() if e.outcome == "failure"]
    assert [r[0] for r in data] == [failure.seq]
    assert data[0][5:] == ("登录", "用户 张三（zhang.san）", "失败", "理由：用户名或密码错误",
                           "auth.sign_in", failure.hash)
    [export] = events("event.export")
    assert export.actor_username == "auditor" and export.object_type == "events"
    head = max(e.seq for e in events() if e.action != "event.export")
    assert f"链头：#{head} " in rows[0][0]
    assert json.loads(export.details) == {"filter": {"outcome": "failure"}, "rows": 1,
                                          "format": "xlsx", "head": head}
    text = page_text(client.get("/audit/events", query_string={"action": "event.export"}))
    assert "Event log exported" in text and "Filter: Outcome = Failure" in text
    assert "Rows: 1" in text


def test_the_export_takes_every_page_and_the_same_filters(client, app, count_queries):
    user = _sample_events()
    for i in range(app.config["PAGE_SIZE"] + 5):
        record_event("user.update", actor=user, obj=user,
                     details={"display_name": {"from": f"旧{i}", "to": f"新{i}"}})
    db.session.commit()
    _admin(client)
    with count_queries() as statements:
        rows = list(_sheet(client.get("/audit/events.xlsx", query_string={
            "action": "user.update", "actor": "zhang.san"})).iter_rows(values_only=True))[2:-1]
    assert len(rows) == app.config["PAGE_SIZE"] + 5
    assert rows[0][8] == f"姓名：旧{len(rows) - 1} → 新{len(rows) - 1}"
    assert len(statements) < 20  # names read once a batch, not once a row


def test_a_bad_filter_exports_nothing(client):
    _admin(client)
    response = client.get("/audit/events.xlsx", query_string={"from": "26/11/2026"})
    assert response.status_code == 302
    assert events("event.export") == []
    assert "YYYY-MM-DD" in page_text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("role", ["staff", "leader", "sysadmin", "secadmin"])
def test_only_the_audit_administrator_exports_the_log(client, role):
    user = UserFactory(roles=[role])
    client.sign_in(user.username)
    assert client.get("/audit/events.xlsx").status_code == 403
    assert events("event.export") == []
    html = client.get("/").get_data(as_text=True)
    assert "/audit/events" not in html


def test_the_export_needs_a_sign_in(client):
    response = client.get("/audit/events.xlsx")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_page_reads_a_fixed_number_of_statements_whatever_it_names(client, count_queries):
    _sample_events()
    _admin(client)

    def measure():
        with count_queries() as statements:
            assert client.get("/audit/events").status_code == 200
        return len(statements)

    few = measure()
    for i in range(20):
        agency = AgencyFactory()
        person = UserFactory(agency=agency)
        record_event("agency.update", actor=person, obj=agency,
                     details={"name": {"from": "甲", "to": "乙"}})
        record_event("user.create", actor=person, obj=person,
                     details={"username": person.username, "agency": agency.code})
        db.session.add(Category(code=f"c{i}", name=f"类别{i}", name_en=f"Category {i}"))
        record_event("category.create", actor=person, object_type="categories",
                     object_id=f"c{i}")
    db.session.commit()
    assert measure() <= few + 1  # the categories' statement, now that one is named
