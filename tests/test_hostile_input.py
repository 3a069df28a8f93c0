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

from supervise.events.models import Event
from supervise.extensions import db
from tests.support.walk import Account, admitted, fill, path_values, routes, seed_demo

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
    seed_demo(app)
    return {name: Account(app, name) for name in (None, *ACCOUNTS)}


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_input_on_every_route(app, demo, kind):
    from supervise.announcements.models import Announcement
    from supervise.projects.models import Project

    published = db.session.scalar(sa.select(Project.public_id).join(
        Announcement, Announcement.project_id == Project.id))
    failures = []
    sent = 0
    for rule, method, _access in routes(app):
        for name, account in demo.items():
            if not admitted(app, account, rule.endpoint):
                continue
            if rule.endpoint in ("accounts.logout", "accounts_api.revoke_token"):
                continue  # would end the session the walk goes on with
            values = path_values(account.user, rule.endpoint) if account.user else {}
            if rule.endpoint == "announcements.public_page":
                values["public_id"] = published
            url = fill(rule, values)
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
