"""Hostile and careless input on every route, generated from `app.url_map`: a route added
tomorrow is covered without anyone remembering to add it here.

Each kind of input is sent to every rule and method, as every demo account whose permissions the
route's access rule admits, with the path filled in from records that account can reach (so the
request gets past the record lookup and into the view). Whatever the input, the answer is never
a server error, an API answer is a JSON error body in the caller's language, and input that can
never be valid changes nothing (no event other than a reading is written).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from supervise import policy
from supervise.accounts import auth
from supervise.accounts.models import CredentialKind, User
from supervise.attachments.models import Attachment
from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings.models import Finding, FindingLink, Share
from supervise.policy import findings as finding_access
from supervise.policy import projects as project_access
from supervise.policy import rectifications as rectification_access
from supervise.policy import referrals as referral_access
from supervise.rectifications.models import Rectification, RectificationReport
from supervise.referrals.models import Extension, Referral
from supervise.settings.models import Category

DEMO_PASSWORD = "demo-pass-2026"
# One account for each kind of access: a sender's staff and leader, a receiver, an audited unit,
# the three administrators (and, below, a visitor who is not signed in).
ACCOUNTS = ("audit.staff", "audit.leader", "discipline.staff", "unit.contact", "sysadmin",
            "secadmin", "auditadmin")
# Events that a refused request may still write: readings, and the record of a refusal or of a
# failed sign-in (the lock-out must count those).
HARMLESS_EVENTS = (".read", ".download", "ledger.export", "event.export", "access.denied",
                   "auth.sign_in")

# Field names the forms and the API use, each given a plausible value: with these a request
# passes the shape checks and reaches the code that a hostile part of it is aimed at.
PLAUSIBLE = {
    "comment": "请抓紧办理", "reason": "材料不全", "handler": "discipline.staff",
    "disposition": "talk_or_inquiry", "result": "已谈话", "until": "2027-03-01",
    "decision": "approve", "title": "标题", "facts": "事实", "receiver": "discipline",
    "kind": "clue", "name": "名称", "code": "code-x", "username": "audit.staff",
    "display_name": "名字", "password": "wrong password", "amount": "12.50",
    "category": "other", "unit": "unit-education", "year": "2026", "note": "说明",
    "handling": "read_only", "agency": "inspection", "text": "正文", "next": "board",
    "persons": "张某 科长", "q": "违规",
}


@dataclass
class Request:
    method: str
    url: str
    kwargs: dict
    never_valid: bool  # nothing may change, whoever sends it


def _fill(rule, values: dict) -> str | None:
    args = {}
    for name in rule.arguments:
        if name not in values:
            return None
        args[name] = values[name]
    return rule.build(args, append_unknown=False)[1]


FINDING_ENDPOINTS = ("rectifications.issue", "rectifications_api.issue_rectification")


def _record_kind(endpoint: str) -> str:
    blueprint = endpoint.split(".")[0].removesuffix("_api")
    if endpoint in FINDING_ENDPOINTS:
        return "findings"
    return blueprint


def _path_values(user: User, endpoint: str) -> dict:
    """Ids of records this user can reach, for the kind of record the endpoint is about. The
    accounts and agencies named are ones whose change would not end the walk's own sessions."""
    street = db.session.scalar(sa.select(User).where(User.username == "street.contact"))
    values: dict = {"agency_id": street.agency_id, "user_id": street.id,
                    "code": db.session.scalar(sa.select(Category.code).order_by(Category.code)),
                    "attachment_id": "no-such-file"}
    kind = _record_kind(endpoint)
    if kind == "findings":
        finding = db.session.scalar(finding_access.visible_findings(user).order_by(Finding.id))
        if finding is None:
            return values
        values.update(public_id=finding.public_id, finding_id=finding.public_id)
        values["attachment_id"] = db.session.scalar(sa.select(Attachment.public_id).where(
            Attachment.finding_id == finding.id)) or "no-such-file"
        values["share_id"] = db.session.scalar(sa.select(Share.public_id).where(
            Share.finding_id == finding.id)) or "no-such-share"
        link = db.session.scalar(sa.select(FindingLink).where(sa.or_(
            FindingLink.finding_id == finding.id, FindingLink.related_id == finding.id)))
        values["related_id"] = "no-such-finding"
        if link is not None:
            other = link.related_id if link.finding_id == finding.id else link.finding_id
            values["related_id"] = db.session.get(Finding, other).public_id
    elif kind == "referrals":
        referral = db.session.scalar(referral_access.visible_referrals(user).order_by(Referral.id))
        if referral is None:
            return values
        actions = referral_access.available_actions(user, referral)
        values.update(public_id=referral.public_id, referral_id=referral.public_id,
                      action=actions[0].value if actions else "chase", decision="approve")
        values["attachment_id"] = db.session.scalar(sa.select(Attachment.public_id).where(
            Attachment.referral_id == referral.id)) or "no-such-file"
        values["extension_id"] = db.session.scalar(sa.select(Extension.public_id).where(
            Extension.referral_id == referral.id)) or "no-such-extension"
    elif kind == "rectifications":
        rectification = db.session.scalar(
            rectification_access.visible_rectifications(user).order_by(Rectification.id))
        if rectification is None:
            return values
        actions = rectification_access.rectification_actions(user, rectification)
        values.update(public_id=rectification.public_id,
                      rectification_id=rectification.public_id,
                      action=actions[0].value if actions else "verify")
        values["attachment_id"] = db.session.scalar(
            sa.select(Attachment.public_id)
            .join(RectificationReport, Attachment.rectification_report_id == RectificationReport.id)
            .where(RectificationReport.rectification_id == rectification.id)) or "no-such-file"
    elif kind in ("projects", "announcements"):
        project = db.session.scalar(project_access.visible_projects(user))
        if project is not None:
            values["public_id"] = project.public_id
    return values


class Account:
    """A demo account signed in twice: a browser session and an API token."""

    def __init__(self, app, username: str | None):
        self.username = username
        self.user = None
        self.page = app.test_client()
        self.api_headers = {}
        if username:
            self.user = db.session.scalar(sa.select(User).where(User.username == username))
            response = self.page.sign_in(username, DEMO_PASSWORD)
            assert response.status_code == 302, username
            token, _credential = auth.issue_credential(self.user, CredentialKind.API)
            db.session.commit()
            self.api_headers = {"Authorization": f"Bearer {token}"}

    def send(self, request: Request):
        kwargs = dict(request.kwargs)
        if request.url.startswith("/api/"):
            kwargs["headers"] = {**self.api_headers, **kwargs.get("headers", {})}
        elif request.method != "GET" and "form" in kwargs:
            form = kwargs.pop("form")
            if isinstance(form, str):  # already encoded, as a browser would send it
                kwargs["data"] = f"csrf_token={self.page.csrf_token()}&{form}"
                kwargs["content_type"] = "application/x-www-form-urlencoded"
            else:
                kwargs["data"] = {**form, "csrf_token": self.page.csrf_token()}
        return self.page.open(request.url, method=request.method, **kwargs)


def _admitted(app, account: Account, endpoint: str) -> bool:
    access = policy.access_for(endpoint)
    if access.public:
        return True
    return account.user is not None and access.permissions <= policy.permissions_of(account.user)


def _routes(app):
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
            if rule.endpoint == "static":
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, policy.access_for(rule.endpoint)


# --- the inputs -----------------------------------------------------------------------------

NESTED = "[" * 5000 + "]" * 5000
SURROGATE_BODY = "{" + ", ".join(f'"{name}": "\\ud800"' for name in PLAUSIBLE) + "}"
JUNK_QUERY = ("_method=DELETE&next=board&sort=nonsense&state=nonsense&clock=nonsense&tab=nonsense"
              "&role=nonsense&unit=nonsense&year=abc&page=abc&per_page=abc&zzz=1&scope=nonsense")


def _json_body(value) -> str:
    return json.dumps({name: value for name in PLAUSIBLE})


def requests_for(kind: str, method: str, url: str) -> list[Request]:
    api = url.startswith("/api/")
    write = method != "GET"
    made = []

    def add(never_valid=True, **kwargs):
        made.append(Request(method, url, kwargs, never_valid))

    if kind == "huge_page":
        for query in ("page=99999999999999999999&per_page=99999999999999999999", "page=-1",
                      "page=%EF%BC%91"):
            add(never_valid=not write, query_string=query)
    elif kind == "unknown_arguments":
        # A plausible body beside arguments nobody expects: the request may succeed, but the
        # answer must be built from known arguments only.
        if api:
            add(never_valid=False, query_string=JUNK_QUERY, json=PLAUSIBLE if write else None)
        else:
            add(never_valid=False, query_string=JUNK_QUERY, form=PLAUSIBLE) if write else \
                add(never_valid=False, query_string=JUNK_QUERY)
    elif kind == "nested_json":
        if write or api:
            add(data=NESTED, content_type="application/json")
            add(data='{"a": ' * 3000 + "1" + "}" * 3000, content_type="application/json")
    elif kind == "lone_surrogate":
        if write:
            add(data=SURROGATE_BODY, content_type="application/json")
            add(data='{"\\udfff": "x"}', content_type="application/json")
            if not api:
                # Invalid UTF-8 in a form reads as U+FFFD, which is text like any other.
                add(never_valid=False,
                    form="&".join(f"{name}=%ED%A0%80" for name in PLAUSIBLE))
        add(query_string="q=%ED%A0%80&title=%ED%A0%80&unit=%ED%A0%80")
    elif kind == "nul":
        if write:
            add(data=_json_body("a\u0000b"), content_type="application/json")
            if not api:
                add(form="&".join(f"{name}=a%00b" for name in PLAUSIBLE))
        add(query_string="q=a%00b&unit=a%00b&state=a%00b&year=20%0026")
    elif kind == "content_type":
        if write:
            add(data="hello", content_type="text/plain")
            add(data="<a>1</a>", content_type="application/xml")
            add(data="version=0&comment=x", content_type="application/x-www-form-urlencoded")
            add(data=b"--XX\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nx",
                content_type="multipart/form-data; boundary=XX")
            add(data=b"garbage", content_type="multipart/form-data")
            add(data=b'{"comment": "x"', content_type="application/json")
            add(data=b"\xff\xfe{}", content_type="application/json")
            add(never_valid=False, data=b"null", content_type="application/json")  # no body
            add(data=b"[1, 2]", content_type="application/json")
    elif kind == "absurd_numbers":
        if write:
            for value in ("1" * 5000, "1e400", "NaN", "123456789012345678901234567890"):
                for field in ("version", "amount"):
                    add(data=f'{{"{field}": {value}}}', content_type="application/json")
            add(data=json.dumps({"amount": "１２３", "version": "１"}),
                content_type="application/json")
        add(query_string="year=99999999999999999999&amount=1e400&per_page=-1&page=1.5")
    elif kind == "huge_text" and write:
        long = {name: PLAUSIBLE[name] for name in PLAUSIBLE}
        long.update({name: "长" * 100_000 for name in ("title", "facts", "comment", "reason",
                                                      "result", "name", "note")})
        add(never_valid=False, json=long)
    return made


KINDS = ["huge_page", "unknown_arguments", "nested_json", "lone_surrogate", "nul",
         "content_type", "absurd_numbers", "huge_text"]


def _events_after(seq: int) -> list[str]:
    return list(db.session.scalars(sa.select(Event.action).where(Event.seq > seq)))


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output
    return {name: Account(app, name) for name in (None, *ACCOUNTS)}


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_input_on_every_route(app, demo, kind):
    from supervise.announcements.models import Announcement
    from supervise.projects.models import Project

    published = db.session.scalar(sa.select(Project.public_id).join(
        Announcement, Announcement.project_id == Project.id))
    failures = []
    sent = 0
    for rule, method, _access in _routes(app):
        for name, account in demo.items():
            if not _admitted(app, account, rule.endpoint):
                continue
            if rule.endpoint in ("accounts.logout", "accounts_api.revoke_token"):
                continue  # would end the session the walk goes on with
            values = _path_values(account.user, rule.endpoint) if account.user else {}
            if rule.endpoint == "announcements.public_page":
                values["public_id"] = published
            url = _fill(rule, values)
            if url is None:
                continue
            for request in requests_for(kind, method, url):
                db.session.expire_all()
                seq = db.session.scalar(sa.select(sa.func.max(Event.seq))) or 0
                where = f"{name or 'anonymous'} {method} {url} {request.kwargs}"[:300]
                sent += 1
                try:
                    response = account.send(request)
                    response.close()  # a download streams its file until closed
                except Exception as exc:  # the test app lets unexpected errors through
                    failures.append(f"{type(exc).__name__}: {exc} -- {where}"[:400])
                    db.session.rollback()
                    continue
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {where}")
                    continue
                if url.startswith("/api/") and response.status_code >= 400:
                    body = response.get_json(silent=True)
                    if not isinstance(body, dict) or not body.get("message"):
                        failures.append(f"no JSON error body: {response.status_code} {where}")
                if request.never_valid:
                    if 200 <= response.status_code < 300 and method != "GET":
                        failures.append(f"accepted: {response.status_code} {where}")
                    written = [a for a in _events_after(seq)
                               if not any(h in a for h in HARMLESS_EVENTS)]
                    if written:
                        failures.append(f"changed {written}: {where}")
    assert sent > 0
    assert failures == [], f"{len(failures)} of {sent} requests:\n" + "\n".join(failures[:400])
