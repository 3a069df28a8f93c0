"""Every page in Chinese: each demo account, with the interface in Chinese (the default), opens
every page `app.url_map` has that its permissions admit, filled in with the demo records it can
see (every record's own page, lists with their tabs and filters), and forms refused after a
POST show their errors; no English word may be left in what a person reads there, nor a
half-width mark in Chinese text ("状态:", "(2天)"). A page added tomorrow is walked without
anyone remembering to add it here. The compiled catalogue, the plurals and the notification
emails are checked too.

"What a person reads": each block of text of the page (its inline elements joined in), without
scripts, styles and code, and the values a person sees (title, placeholder, aria-label, alt, a
button's label or question before it acts, the column names a narrow screen shows, text filled
into a field). What is not the interface's own text is taken out before the check: the demo
records' own data (names, codes, usernames, addresses, file names, record ids), numbers, dates,
file extensions, and the few Latin names in ALLOWED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from supervise.accounts.models import Agency, User
from supervise.announcements.models import Announcement
from supervise.attachments.models import Attachment
from supervise.demo import DEMO_USERS
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.notifications.models import Notification
from supervise.policy import findings as finding_access
from supervise.policy import projects as project_access
from supervise.policy import rectifications as rectification_access
from supervise.policy import referrals as referral_access
from supervise.projects.models import Project
from supervise.rectifications.models import Rectification
from supervise.referrals.models import Referral
from supervise.settings.models import Category
from tests.support.walk import Account, admitted, fill, path_values, routes, seed_demo

# Latin words a Chinese page may show, each with why. Keep it short: a word here is one the
# check never sees again, on any page.
ALLOWED = {
    # File formats, named so in Chinese too (OFD: the Chinese standard for electronic documents)
    "PDF": "a file format", "JPEG": "a file format", "PNG": "a file format",
    "DOCX": "a file format", "XLSX": "a file format", "OFD": "a file format",
    "CSV": "a file format",
    "Excel": "the spreadsheet program, called so in Chinese too (从Excel导入)",
    "KB": "kilobytes, the unit of a file's size", "MB": "megabytes, the unit of a file's size",
    "IP": "an IP address, called so in Chinese too (the event log's column)",
    "LibreOffice": "the office suite the server makes PDFs with, a product name",
    "Word": "the word processor's document (.docx), called so in Chinese too",
    "chinesecalendar": "the library the seeded holiday arrangements come from, named as their "
                       "source",
}

# Not read as prose: scripts, styles, and code (an event's action and details as recorded, a
# category's code, a command to type).
NOT_PROSE = {"script", "style", "code"}
# Attributes whose values a person reads.
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm", "data-label"}
# Inputs whose value a person reads: a button's label, a field's text filled in beforehand.
SHOWN_INPUTS = {"submit", "button", "reset", "text", "search", "email", "number", "date", "time",
                "url", "tel"}


# Elements read as part of the text around them: "待签收 (3)" is one text, whatever tags hold it.
INLINE = {"a", "abbr", "b", "bdi", "cite", "code", "data", "em", "i", "kbd", "mark", "q", "s",
          "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class VisibleText(HTMLParser):
    """The texts of a page a person reads, in order: each block's text, its inline elements
    joined into it, and the visible attribute values. Text marked as another language
    (lang="en": the language switch's "English") is that language on purpose, and not read."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.strings: list[str] = []
        self._block: list[str] = []
        self._open: list[tuple[str, bool]] = []  # the elements open, and whether each hides

    def _flush(self):
        self.strings.append("".join(self._block))
        self._block = []

    def _hidden(self) -> bool:
        return any(hides for _tag, hides in self._open)

    def handle_starttag(self, tag, attrs):
        if tag not in INLINE:
            self._flush()
        attrs = dict(attrs)
        hides = tag in NOT_PROSE or not (attrs.get("lang") or "zh").startswith("zh")
        if hides:
            self._block.append(" ")
        if not (hides or self._hidden()):
            for name in sorted(VISIBLE_ATTRIBUTES & attrs.keys()):
                self.strings.append(attrs[name] or "")
            if tag == "input" and (attrs.get("type") or "text").lower() in SHOWN_INPUTS:
                self.strings.append(attrs.get("value") or "")
        if tag not in VOID:
            self._open.append((tag, hides))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self._open.pop()

    def handle_endtag(self, tag):
        if any(open_tag == tag for open_tag, _hides in self._open):
            while self._open.pop()[0] != tag:
                pass
        if tag not in INLINE:
            self._flush()

    def handle_data(self, data):
        if not self._hidden():
            self._block.append(data)

    def close(self):
        super().close()
        self._flush()


def visible_strings(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return [" ".join(s.split()) for s in parser.strings if s.strip()]


# A chunk of printable ASCII between spaces (or Chinese text); a word is a chunk of letters only,
# once the punctuation around it is taken off. Chunks with digits, dots (but a sentence's last),
# dashes, underscores, @ or slashes are codes, numbers, dates, addresses and file names (".pdf").
CHUNK = re.compile(r"[!-~]+")
LEADING = "([{<\"'`*"
TRAILING = ")]}>,.;:!?\"'`*"
WORD = re.compile(r"[A-Za-z][A-Za-z']*[A-Za-z]")


def english_words(text: str) -> list[str]:
    """The words of `text` (its data taken out) that are English and not allowed."""
    found = []
    for chunk in CHUNK.findall(text):
        word = chunk.lstrip(LEADING).rstrip(TRAILING)
        if WORD.fullmatch(word) and word not in ALLOWED:
            found.append(word)
    return found


# Chinese text takes full-width punctuation: a half-width mark with a Chinese character on
# either side (or a bracket a space away from one) is a slip: "状态:" for "状态：", "(2天)" for
# "（2天）", "待签收 (3)" for "待签收（3）".
CJK = "\u3400-\u4dbf\u4e00-\u9fff"
HALF_WIDTH = re.compile(rf"[{CJK}][,.:;?!()]|[,.:;?!()][{CJK}]|[{CJK}] \(|\) [{CJK}]")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdf]|%[sd]")  # in a catalogue's messages


def half_width_marks(text: str) -> list[str]:
    return HALF_WIDTH.findall(text)


class DemoData:
    """What the demo records themselves say, shown as entered, in whatever script: names,
    codes, usernames, addresses, file names and record ids. `without(text)` puts a stand-in in
    each one's place: a Chinese character for a value in Chinese, so that the punctuation around
    it is still checked ("区审计局 (audit)" reads "数 (0)"), and a digit for any other."""

    def __init__(self):
        values: set[str] = set()
        for mapper in db.Model.registry.mappers:  # every record's public id
            if "public_id" in mapper.columns:
                values.update(db.session.scalars(sa.select(mapper.columns["public_id"])))
        values.update(db.session.scalars(sa.select(Attachment.filename)))
        for category in db.session.scalars(sa.select(Category)):  # its English name too
            values.update((category.code, category.name_en))
        for user in db.session.scalars(sa.select(User)):
            values.update(v for v in (user.username, user.display_name, user.email) if v)
        for agency in db.session.scalars(sa.select(Agency)):
            values.update((agency.code, agency.name))
        # The longest first, so that a name is taken out before its parts; a Latin value as a
        # whole word only ("other", a category's code, is not taken out of "another").
        self.pattern = re.compile("|".join(
            re.escape(v) if re.search(f"[{CJK}]", v)
            else rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])"
            for v in sorted((v for v in values if v), key=len, reverse=True)))

    def without(self, text: str) -> str:
        return self.pattern.sub(lambda m: "数" if re.search(f"[{CJK}]", m.group()) else "0", text)


@dataclass
class Walk:
    """What one account read: the pages opened and, for each page, the texts with English
    words or half-width marks. (A redirection's own little page is never shown: the browser
    follows it.)"""

    username: str
    opened: list[str] = field(default_factory=list)
    wrong: dict[str, list[str]] = field(default_factory=dict)

    def read(self, url: str, response, data: DemoData) -> None:
        content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith("text/html") or 300 <= response.status_code < 400:
            response.close()
            return
        self.opened.append(url)
        for text in visible_strings(response.get_data(as_text=True)):
            interface = data.without(text)
            words, marks = english_words(interface), half_width_marks(interface)
            if words:
                self.wrong.setdefault(url, []).append(f"English {words}: {text[:200]}")
            if marks:
                self.wrong.setdefault(url, []).append(f"half-width {marks}: {text[:200]}")

    def report(self) -> str:
        return "\n".join(f"{self.username} {url}\n    " + "\n    ".join(dict.fromkeys(texts))
                         for url, texts in self.wrong.items())


# --- the pages ------------------------------------------------------------------------------

# Record pages: opened for every record of the kind the account can see, since what a record
# page says follows the record's state.
def _every_record(user: User, endpoint: str) -> list[str] | None:
    if endpoint == "findings.finding":
        query = finding_access.visible_findings(user).order_by(Finding.id)
    elif endpoint == "referrals.referral":
        query = referral_access.visible_referrals(user).order_by(Referral.id)
    elif endpoint == "rectifications.rectification":
        query = rectification_access.visible_rectifications(user).order_by(Rectification.id)
    elif endpoint in ("findings.project", "announcements.publish"):
        query = project_access.visible_projects(user).order_by(Project.id)
    elif endpoint == "announcements.public_page":
        query = sa.select(Project).join(Announcement, Announcement.project_id == Project.id)
    else:
        return None
    return [record.public_id for record in db.session.scalars(query)]


# Lists opened once for each of their tabs and filters as well as plainly.
VARIANTS = {
    "referrals.board": ["state=draft", "state=sent", "state=returned", "state=answered",
                        "clock=overdue", "clock=due_soon", "need=approve", "state=某某"],
    "referrals.inbox": ["tab=all", "tab=handling", "tab=due_soon", "tab=overdue",
                        "tab=answered", "tab=returned", "q=违规", "mine=1", "need=某某"],
    "rectifications.rectifications": ["clock=overdue", "clock=due_soon", "clock=running",
                                      "state=某某"],
    "findings.findings": ["scope=own", "scope=shared_with_us", "scope=某某"],
    "notifications.notifications": ["show=all"],
    "calendar.calculator": ["amount=2&unit=days", "amount=1&unit=days",
                            "amount=2&unit=working_days", "amount=1&unit=working_days",
                            "amount=2&unit=months", "amount=1&unit=months",
                            "amount=三&unit=days"],
    "calendar.arrangement": ["year=2020", "year=2021", "year=2099"],
    "events.events": ["outcome=denied", "from=某某"],
    "admin.users": ["q=audit"],
}


def pages(app, account: Account) -> list[str]:
    """Every page the account may open, as URLs."""
    urls = []
    for rule, method, _access in routes(app):
        if method != "GET" or rule.rule.startswith("/api/") or not admitted(
                app, account, rule.endpoint):
            continue
        records = _every_record(account.user, rule.endpoint) if account.user else None
        if rule.endpoint == "announcements.public_page":
            records = _every_record(None, rule.endpoint)
        if records is not None:
            urls += [fill(rule, {"public_id": public_id}) for public_id in records]
            continue
        values = path_values(account.user, rule.endpoint) if account.user else {}
        if rule.endpoint == "notifications.notification":
            values["public_id"] = db.session.scalar(sa.select(Notification.public_id).where(
                Notification.recipient_id == account.user.id).order_by(Notification.id))
        url = fill(rule, values) if all(values.get(a) for a in rule.arguments) else None
        if url is None:
            continue
        urls.append(url)
        urls += [f"{url}?{query}" for query in VARIANTS.get(rule.endpoint, [])]
    return urls


def walk(app, username: str | None) -> Walk:
    account = Account(app, username)
    data = DemoData()
    seen = Walk(username or "anonymous")
    for url in pages(app, account):
        db.session.expire_all()
        seen.read(url, account.page.get(url), data)
    return seen


# Demo records by what they say.
def _id(model, **where) -> str:
    return db.session.scalar(sa.select(model.public_id).filter_by(**where))


def _user_id(username: str) -> int:
    return db.session.scalar(sa.select(User.id).where(User.username == username))


def _rectification_of(finding_title: str) -> str:
    return db.session.scalar(sa.select(Rectification.public_id).join(
        Finding, Rectification.finding_id == Finding.id).where(Finding.title == finding_title))


# --- the tests ------------------------------------------------------------------------------

def test_what_a_person_reads():
    html = """<html lang="zh-CN"><head><title>工作台</title><style>p {color: red}</style>
    <script src="/static/js/app.js"></script></head><body>
    <h2><a href="/x">待签收</a> <span class="muted">(3)</span></h2>
    <p>后台任务（<code>flask --app wsgi worker</code>）发送邮件。</p>
    <button lang="en">English</button><button data-confirm="确定删除？">删除</button>
    <input type="hidden" name="next" value="board"><input type="submit" value="保存">
    <input name="q" value="违规" placeholder="搜索"><img src="/a.png" alt="图片">
    <td data-label="状态">已签收</td><br>第二行</body></html>"""
    assert visible_strings(html) == [
        "工作台", "待签收 (3)", "后台任务（ ）发送邮件。", "确定删除？", "删除", "保存", "搜索",
        "违规", "图片", "状态", "已签收", "第二行"]


# What the check sees, and what it lets pass.
@pytest.mark.parametrize(("text", "english"), [
    ("（2 day）", ["day"]),
    ("Please choose", ["Please", "choose"]),
    ("请选择 a unit.", ["unit"]),
    ("'某某' is not a valid choice for this field.", ["is", "not", "valid", "choice", "for",
                                                     "this", "field"]),
    ("支持 PDF、JPEG、PNG、DOCX、XLSX 或 OFD。", []),
    ("0.6 KB · SHA-256 80c715b37952… · 2026-12-03 16:07", []),
    ("下载台账（.xlsx）", []),
    ("请按 HH:MM 格式填写时间。日期（YYYY-MM-DD）", []),
    ("0 (0) · 0@supervise.example", []),  # demo data, taken out
    ("English", ["English"]),
])
def test_the_check_finds_english_words(text, english):
    assert english_words(text) == english


@pytest.mark.parametrize(("text", "marks"), [
    ("状态: 已签收", ["态:"]),
    ("期限(2天)", ["限(", "天)"]),
    ("待签收 (3)", ["收 ("]),
    ("请选择.", ["择."]),
    ("第2行,第3行", ["行,"]),
    ("状态：已签收，期限（2天）。", []),
    ("1.5 万元 · 95,300.00 元 · 23:59:59 星期一", []),
    ("下载台账（.xlsx）", []),
])
def test_the_check_finds_half_width_punctuation(text, marks):
    assert half_width_marks(text) == marks


def test_the_chinese_catalogue_uses_full_width_punctuation():
    """Every compiled Chinese translation, its placeholders taken out first ("%(n)d天" is
    read "天")."""
    from babel.messages.mofile import read_mo

    mo = Path(__file__).resolve().parent.parent / \
        "supervise/translations/zh_Hans_CN/LC_MESSAGES/messages.mo"
    with mo.open("rb") as fh:
        catalog = read_mo(fh)
    wrong = []
    for message in catalog:
        strings = message.string if isinstance(message.string, (list, tuple)) else [
            message.string]
        for text in strings:
            if message.id and half_width_marks(PLACEHOLDER.sub("", text or "")):
                wrong.append(text)
    assert len(catalog) > 500
    assert wrong == []


@pytest.fixture
def demo(app):
    seed_demo(app)


def test_plurals_read_as_chinese(app, demo):
    """A count of one and a count of many read alike in Chinese, and in Chinese words."""
    staff, secadmin = Account(app, "audit.staff"), Account(app, "secadmin")

    def texts(account, url):
        return visible_strings(account.page.get(url).get_data(as_text=True))

    year = texts(secadmin, "/settings/calendar?year=2026")
    assert "元旦：1–2（2天）" in year and "清明节：6（1天）" in year
    for amount, unit, period in [(1, "days", "1天"), (2, "days", "2天"),
                                 (1, "working_days", "1个工作日"),
                                 (2, "working_days", "2个工作日"), (1, "months", "1个月"),
                                 (2, "months", "2个月")]:
        assert period in texts(staff, f"/calendar?amount={amount}&unit={unit}"), period
    leader = Account(app, "audit.leader")
    project = _id(Project, name="2020年度区教育局部门预算执行审计")
    preview = " ".join(texts(leader, f"/projects/{project}/announcement"))
    assert re.search(r"\d+项中有\d+项尚未核实或销号", preview)


def test_every_page_is_in_chinese_for_every_account(app, demo):
    """The twelve demo accounts and a visitor, on one seeding of the demo (one walk takes a
    second or two, a seeding as long)."""
    walks = [walk(app, username) for username in [None] + [u[0] for u in DEMO_USERS]]
    opened = {seen.username: len(seen.opened) for seen in walks}
    assert min(opened.values()) >= 3 and sum(opened.values()) > 400, opened
    wrong = [seen.report() for seen in walks if seen.wrong]
    assert wrong == [], "English or half-width punctuation on Chinese pages:\n" + \
        "\n".join(wrong)


# --- forms shown again after a refused POST -------------------------------------------------

def refused_forms() -> list[tuple[str | None, str, dict]]:
    """(account, URL, form): each POST is refused, and the page shown again says why."""
    sent = _id(Referral, title="关于某街道办事处疫情防控物资采购价格偏高问题线索的移送")
    handling = _id(Referral, title="关于区教育局校舍维修工程管理问题线索的移送")
    draft = _id(Finding, title="下属学校国有资产出租未经审批")
    issued = _id(Finding, title="区教育局违规发放津补贴")
    rectification = _rectification_of("年初预算编制不细化，代编预算比例过高")  # in progress
    verified = _rectification_of("社会捐赠款物未及时入账")
    unverified = _id(Project, name="2020年度区教育局部门预算执行审计")
    street = _user_id("street.contact")
    agency = db.session.scalar(sa.select(Agency.id).where(Agency.code == "unit-street"))
    return [
        (None, "/login", {"username": "audit.staff", "password": "某某"}),
        (None, "/login", {"username": "某" * 100, "password": ""}),
        ("audit.staff", "/account/password", {"current_password": "wrong", "new_password": "a",
                                              "confirm_password": "b"}),
        ("audit.staff", "/findings/new", {}),
        ("audit.staff", "/findings/new", {"unit": "unit-education", "title": "标题" * 200,
                                          "amount": "某年", "category": "某某"}),
        ("audit.staff", f"/findings/{draft}/edit", {"title": "", "amount": "-1", "version": "1"}),
        ("audit.staff", f"/findings/{issued}/shares", {"agency": "某某"}),
        ("audit.staff", f"/findings/{issued}/comments", {"body": ""}),
        ("audit.staff", f"/findings/{issued}/links", {"related": "某某"}),
        ("audit.staff", "/projects/new", {"year": "某年", "kind": "某某"}),
        ("audit.staff", "/referrals/new", {}),
        ("audit.staff", "/search", {"q": "某"}),
        ("unit.contact", "/search", {"q": "某" * 101}),
        ("audit.staff", f"/rectifications/{verified}/act/send-back", {"reason": ""}),
        ("audit.leader", f"/projects/{unverified}/announcement", {}),
        ("discipline.staff", f"/referrals/{sent}/act/return", {"reason": ""}),
        ("discipline.staff", f"/referrals/{handling}/act/answer", {"disposition": "某某"}),
        ("discipline.staff", f"/referrals/{handling}/act/request-extension",
         {"until": "2000-01-01"}),
        ("unit.contact", f"/rectifications/{rectification}/act/report", {"measures": ""}),
        ("sysadmin", "/admin/agencies", {"code": "某 单位", "name": "", "kind": "某某"}),
        ("sysadmin", f"/admin/agencies/{agency}", {"name": ""}),
        ("sysadmin", "/admin/users", {"username": "", "display_name": "", "agency": "某年"}),
        ("sysadmin", f"/admin/users/{street}", {"display_name": "", "email": "某某"}),
        ("secadmin", f"/admin/roles/{street}", {"roles": "某某"}),
        ("secadmin", "/settings/", {"attachment_max_mb": "某年",
                                    "acknowledge_working_days": "999"}),
        ("secadmin", "/settings/categories", {"code": "某 单位", "name": "", "name_en": ""}),
        ("secadmin", "/settings/calendar", {"year": "2027", "text": "2027-13-01 休\n"
                                            "2027-01-04 假期\n2027-01-05 班\n某日"}),
        ("secadmin", "/settings/calendar/remove", {"year": "2020"}),
    ]


ERROR_SHOWN = re.compile(r'class="[^"]*(?:field-error|flash-error|error-message|has-error)')


def test_refused_forms_say_why_in_chinese(app, demo):
    data = DemoData()
    accounts: dict[str | None, Account] = {}
    failures, silent = [], []
    for username, url, form in refused_forms():
        account = accounts.get(username) or accounts.setdefault(username, Account(app, username))
        db.session.expire_all()
        response = account.page.post(url, data={**form, "csrf_token": account.page.csrf_token()},
                                     follow_redirects=True)
        assert response.status_code < 500, (username, url)
        html = response.get_data(as_text=True)
        if not ERROR_SHOWN.search(html):
            silent.append(f"{username} POST {url}: {response.status_code}, no error shown")
        seen = Walk(username or "anonymous")
        seen.read(f"POST {url} {form}"[:160], response, data)
        if seen.wrong:
            failures.append(seen.report())
    assert silent == []
    assert failures == [], "English or half-width punctuation on Chinese pages:\n" + \
        "\n".join(failures)


def test_notification_emails_are_in_chinese(app, demo):
    """The email of each kind of notification the demo raised, as a Chinese reader gets it."""
    from supervise.notifications.mail import compose

    data = DemoData()
    wrong = []
    notifications = db.session.scalars(sa.select(Notification).order_by(Notification.id))
    one_of_each = {n.kind: n for n in notifications}
    assert len(one_of_each) >= 5
    for kind, notification in sorted(one_of_each.items()):
        recipient = db.session.get(User, notification.recipient_id)
        message = compose(notification, recipient)
        texts = [message["Subject"]]
        for part in message.iter_parts():
            body = part.get_content()
            texts += visible_strings(body) if part.get_content_subtype() == "html" else \
                body.splitlines()
        for text in texts:
            interface = data.without(" ".join(text.split()))
            if english_words(interface) or half_width_marks(interface):
                wrong.append(f"{kind}: {text}")
    assert wrong == []
