"""Each kind of bad input found from outside (issue 8), named: a clear 400 (or 409, 415, 422) in
the caller's language, and nothing changed. tests/test_hostile_input.py sends the same kinds to
every route; these pin the answers down where a user would meet them.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.projects.models import Project
from supervise.referrals.models import Referral
from tests.conftest import page_text
from tests.factories import FindingFactory, ProjectFactory
from tests.helpers import events
from tests.referrals.factories import S, referral_in, reload, snapshot
from tests.support.files import PNG
from tests.support.records import unchanged

HUGE = "99999999999999999999"


def signed_in(world, username):
    client = world.client.application.test_client()
    assert client.sign_in(username).status_code == 302
    return client


def rows(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- a page number beyond any list ----------------------------------------------------------

# The paginated lists. (The approvals queue is not paginated: it shows the oldest of each kind
# and links to the lists above for the rest.)
PAGES = ["/findings", "/projects", "/referrals", "/referrals/inbox", "/rectifications",
         "/notifications"]
API_LISTS = ["/findings", "/projects", "/referrals", "/rectifications", "/notifications"]


@pytest.mark.parametrize("page", [HUGE, "0", "-1", "abc", "１"])
def test_a_page_number_out_of_range_is_a_clear_400(world, as_, page):
    leader = signed_in(world, "audit.leader")
    for url in PAGES:
        response = leader.get(url, query_string={"page": page})
        assert response.status_code == 400, url
        assert "页码必须是 1 至 1000000 之间的整数" in page_text(response), url
    visitor = world.client.application.test_client()
    public = visitor.get("/public/announcements", query_string={"page": page})
    assert public.status_code == 400 and "页码" in page_text(public)
    for url in API_LISTS:
        response = as_("audit_leader").get(url, query_string={"page": page})
        assert response.status_code == 422, url
        assert response.get_json()["errors"]["page"]


def test_a_page_beyond_the_last_is_empty_not_an_error(world, as_):
    leader = signed_in(world, "audit.leader")
    assert leader.get("/findings?page=999999").status_code == 200
    assert as_("audit_staff").get("/findings?page=999999").get_json()["items"] == []


# --- bodies that cannot be read -------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 5000, '{"a": ' * 5000, "[" * 40 + "]" * 40],
                         ids=["arrays", "objects", "just-too-deep"])
def test_deeply_nested_json_is_a_400(world, as_, body):
    before = rows(Event)
    token = world.client.post("/api/v1/tokens", data=body, content_type="application/json")
    assert token.status_code == 400
    assert token.get_json() == {"status": 400, "message": "请求内容嵌套层数过多。"}
    referral = referral_in(world, S.DRAFT)
    step = as_("audit_staff").post(f"/referrals/{referral.public_id}/submit", data=body,
                                   content_type="application/json")
    assert step.status_code == 400 and reload(referral).state == S.DRAFT
    assert rows(Event) == before


SURROGATE = '"\\ud800"'


def test_a_lone_surrogate_is_refused_where_it_would_be_stored(world, as_):
    leader = as_("audit_leader")
    project = ProjectFactory(lead_agency=world.audit, units=[world.edu])
    before = {model: rows(model) for model in (Finding, Referral, Project, Event)}
    for url, body in [
        ("/findings", '{"unit": "edu", "title": BAD, "facts": "x"}'),
        ("/referrals", '{"receiver": "discipline", "kind": "clue", "title": "t", "facts": BAD}'),
        ("/projects", '{"year": 2026, "kind": "audit", "name": BAD, "units": ["edu"]}'),
        ("/findings", '{BAD: "x"}'),
    ]:
        response = leader.post(url, data=body.replace("BAD", SURROGATE),
                               content_type="application/json")
        assert response.status_code == 400, (url, response.get_json())
        assert "不允许的字符" in response.get_json()["message"]
    assert {model: rows(model) for model in before} == before
    assert project.public_id  # (the project exists: a refused write left it alone)


def test_a_nul_in_a_form_or_a_query_is_refused(world):
    staff = signed_in(world, "audit.staff")
    before = rows(Finding)
    response = staff.post_form("/findings/new", {"unit": "edu", "title": "a\x00b", "facts": "x"})
    assert response.status_code == 400 and "不允许的字符" in page_text(response)
    assert rows(Finding) == before
    assert staff.get("/findings?q=a%00b").status_code == 400


def test_an_error_page_after_a_failed_write_still_renders(world, app_factory, monkeypatch):
    """The error handler never reads through the failed session: the user gets the page."""
    from supervise.findings import operations

    def explode(*args, **kwargs):
        db.session.execute(sa.text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(operations, "create_finding", explode)
    app = app_factory(HANDLE_UNEXPECTED=True)
    client = app.test_client()
    assert client.sign_in("audit.staff").status_code == 302
    response = client.post_form("/findings/new", {"unit": "edu", "title": "t", "facts": "x",
                                                  "category": "other"})
    assert response.status_code == 500
    assert "系统内部出现错误，错误信息已记录。" in page_text(response)
    assert "审计员甲" in page_text(response)  # the page's own header, read after the rollback


# --- unknown arguments ----------------------------------------------------------------------


def test_an_unknown_sort_on_the_findings_page_is_a_400(world):
    response = signed_in(world, "audit.staff").get("/findings?sort=nonsense")
    assert response.status_code == 400
    assert "未知的排序方式" in page_text(response) or "排序" in page_text(response)


def test_a_chaser_from_the_board_comes_back_whatever_the_query(world):
    referral = referral_in(world, S.SENT)
    staff = signed_in(world, "audit.staff")
    response = staff.post_form(
        f"/referrals/{referral.public_id}/act/chase?_method=DELETE&next=board&state=sent"
        "&_external=1&zzz=1", {"next": "board", "comment": "请尽快签收"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/referrals?state=sent"
    assert len(events("referral.chase")) == 1


def test_an_api_endpoint_without_query_arguments_refuses_them(as_):
    response = as_("audit_staff").get("/me?zzz=1")
    assert response.status_code == 400
    assert response.get_json()["message"] == "该地址不接受查询参数。"


# --- bodies of the wrong type ---------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "data", "status"), [
    ("text/plain", "submit please", 415),
    ("application/xml", "<submit/>", 415),
    ("application/x-www-form-urlencoded", "version=1", 415),
    ("multipart/form-data; boundary=XX", b"--XX\r\nContent-Disposition: form-data; "
                                         b"name=\"comment\"\r\n\r\nbroken", 400),
    ("multipart/form-data", b"no boundary at all", 400),
    ("application/json", "{broken", 400),
])
def test_a_workflow_step_refuses_a_body_it_cannot_read(world, as_, content_type, data, status):
    referral = referral_in(world, S.DRAFT)
    with unchanged(snapshot, referral):
        response = as_("audit_staff").post(f"/referrals/{referral.public_id}/submit", data=data,
                                           content_type=content_type)
        assert response.status_code == status, response.get_json()
        assert response.get_json()["message"]


def test_a_stale_version_is_a_409_in_json_and_in_a_form(world, as_):
    referral = referral_in(world, S.DRAFT)
    stale = referral.version - 1
    before = snapshot(referral)
    caller = as_("audit_staff")
    url = f"/referrals/{referral.public_id}/submit"
    assert caller.post(url, json={"version": stale}).status_code == 409
    assert caller.upload(url, {"version": str(stale)}).status_code == 409
    assert snapshot(referral) == before
    # The finding's issue step carries a version too now.
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff)
    response = as_("audit_leader").post(f"/findings/{finding.public_id}/issue",
                                        json={"version": finding.version + 5})
    assert response.status_code == 409


def test_a_body_where_none_is_taken_is_refused(world, as_):
    response = as_("audit_staff").delete("/tokens/current", json={"anything": 1})
    assert response.status_code == 400
    assert response.get_json()["message"] == "该请求不接受请求内容。"


def test_an_upload_takes_its_file_and_nothing_else(world, as_, upload_dir):
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff)
    response = as_("audit_staff").upload(f"/findings/{finding.public_id}/attachments",
                                         {"file": (PNG, "a.png"), "extra": "42"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"extra": ["未知字段。"]}
    assert list(upload_dir.iterdir()) == []


def test_a_form_part_without_a_name_is_a_400(world, as_, upload_dir):
    """Found by schemathesis: a multipart part whose name does not parse (`name="\\"`) has no
    name at all, and the input check tripped over it."""
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff)
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="\\"\r\n\r\nx\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            f'\r\n').encode() + PNG + f"\r\n--{boundary}--\r\n".encode()
    response = as_("audit_staff").post(f"/findings/{finding.public_id}/attachments", data=body,
                                       content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400, response.get_json()
    assert list(upload_dir.iterdir()) == []


# --- numbers --------------------------------------------------------------------------------


def test_full_width_digits_are_not_numbers(world, as_):
    caller = as_("audit_staff")
    response = caller.post("/findings", json={"unit": "edu", "title": "t", "facts": "x",
                                              "category": "other", "amount": "１２３"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["amount"] == "请用半角数字 0-9 填写金额，例如“1234.56”。"
    assert caller.get("/findings", query_string={"year": "２０２６"}).status_code == 422
    assert caller.get("/calendar/deadline", query_string={
        "amount": "３", "unit": "days"}).status_code == 422
    referral = referral_in(world, S.DRAFT)
    assert caller.upload(f"/referrals/{referral.public_id}/submit",
                         {"version": "１"}).status_code == 422
    assert reload(referral).state == S.DRAFT


@pytest.mark.parametrize("value", ["1e400", "NaN", "Infinity", "1" * 5000])
def test_absurd_json_numbers_are_a_400(as_, value):
    response = as_("audit_staff").post("/findings", data='{"amount": ' + value + "}",
                                       content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] in ("请求中的数字超出范围。", "请求正文不是有效的JSON。")


# --- the answers are what the document says -------------------------------------------------


def test_error_bodies_match_the_documented_error_schema(world, as_):
    spec = world.client.get("/api/v1/openapi.json").get_json()
    schema = spec["components"]["schemas"]["Error"]
    answers = [
        as_("audit_staff").get("/referrals/nope"),
        as_("audit_staff").post("/referrals", json={"title": 1}),
        world.client.get("/api/v1/me"),
        as_("audit_staff").post("/referrals/nope/submit", data="x", content_type="text/plain"),
    ]
    types = {"integer": int, "string": str, "object": dict}
    for response in answers:
        body = response.get_json()
        assert set(schema["required"]) <= set(body) <= set(schema["properties"])
        for name, value in body.items():
            assert isinstance(value, types[schema["properties"][name]["type"]]), (name, body)
        assert body["status"] == response.status_code


def test_amounts_are_documented_as_the_decimal_strings_they_are(world, as_):
    spec = world.client.get("/api/v1/openapi.json").get_json()
    finding = spec["components"]["schemas"]["Finding"]["properties"]["amount"]
    assert finding["type"] == "string" and finding["format"] == "decimal"
    item = FindingFactory(owner_agency=world.audit, unit=world.edu,
                          created_by=world.audit_staff, amount="1234.5")
    amount = as_("audit_staff").get(f"/findings/{item.public_id}").get_json()["amount"]
    assert amount == "1234.50"
    assert re.fullmatch(finding["pattern"].strip("^$"), amount)
